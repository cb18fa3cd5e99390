"""Column helpers shared by the model modules."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """The current time in UTC, without tzinfo: every timestamp column stores naive UTC."""
    return datetime.now(UTC).replace(tzinfo=None)
