"""Keeping workspaces healthy: checks and safe repairs (`doctor`)."""
