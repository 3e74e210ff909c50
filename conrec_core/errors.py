"""Errors that conrec reports to people: each names the file, column and row it is about."""

from __future__ import annotations


class ConrecError(Exception):
    """Base class for problems a user can fix (bad input, wrong settings); never a bug."""


class ConfigError(ConrecError, ValueError):
    """A setting outside its bounds or at odds with another setting; names the setting."""


class DataError(ConrecError):
    """A problem in an input file, located as precisely as the reader could."""

    def __init__(self, message: str, *, file: str | None = None, column: str | None = None,
                 row: int | None = None):
        self.file = file
        self.column = column
        self.row = row
        self.detail = message
        super().__init__(self._format())

    def _format(self) -> str:
        where = []
        if self.file:
            where.append(str(self.file))
        if self.column:
            where.append(f"column '{self.column}'")
        if self.row is not None:
            where.append(f"row {self.row}")
        return (", ".join(where) + ": " if where else "") + self.detail


class StaleArtifact(ConrecError):
    """An artefact (checkpoint, codebook, table) made from other samples or another codebook than the current."""


class WorkspaceError(ConrecError):
    """A workspace file that is missing, locked, or not a conrec workspace."""


class WorkspaceBusy(WorkspaceError):
    """Another process holds the workspace's write lock past the wait: the file is fine, only in use."""
