"""Long work as background processes: the job registry, the worker and the kinds of job it runs."""
