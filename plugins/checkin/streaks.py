"""Streaks from a member's check-in days: pure functions on local dates.

Days are the member's own local dates (``Checkin.day``), so a streak is a run of
consecutive calendar dates, whatever the UTC offsets were (DST changes included).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta


@dataclass(frozen=True)
class RunStats:
    """What a list of days adds up to: how many, the run ending at the last day, the
    longest run, and the last day (None when there are none)."""

    total: int
    current: int
    longest: int
    last_day: date | None


def run_stats(days: Iterable[date]) -> RunStats:
    """:class:`RunStats` of ``days`` (any order, duplicates counted once)."""
    ordered = sorted(set(days))
    longest = run = 0
    previous: date | None = None
    for day in ordered:
        run = run + 1 if previous is not None and day - previous == timedelta(days=1) else 1
        longest = max(longest, run)
        previous = day
    return RunStats(len(ordered), run, longest, previous)


def live_streak(current: int, last_day: date | None, today: date) -> int:
    """The streak as it stands ``today``: the run ending at ``last_day`` while that is today
    or yesterday (today can still be checked in), else 0."""
    if last_day is None or (today - last_day).days > 1:
        return 0
    return current
