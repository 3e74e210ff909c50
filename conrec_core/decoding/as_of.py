"""The moment a score reads each user's log up to, as the CLI and the app take it (no heavy imports: the app's
form checks it before a job starts)."""

from __future__ import annotations

from datetime import datetime, timezone

from ..errors import ConrecError


def parse_as_of(text: str | None) -> datetime | None:
    """An ISO-8601 moment (UTC when it names no zone); None for the end of the log."""
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ConrecError(f"--as-of {text!r} is not an ISO-8601 time such as 2024-03-01 or 2024-03-01T12:00") \
            from None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)
