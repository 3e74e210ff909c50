"""Measurements that chose a default (docs/decisions.md names each); run each as `python -m experiments.NAME`."""
