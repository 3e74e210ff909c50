"""Metrics, baselines, intervals, probes, reports and the end-to-end pipeline (method §8)."""
