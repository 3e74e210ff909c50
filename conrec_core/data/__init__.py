"""The data workspace: import logs into DuckDB, check them, cut them into samples (method §2)."""
