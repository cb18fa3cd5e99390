"""Calendar arithmetic for membership periods (days, calendar months and years, lifetime)."""

from __future__ import annotations

from calendar import monthrange
from datetime import datetime, timedelta

from flask_babel import ngettext


def add_period(start: datetime, unit: str, count: int) -> datetime | None:
    """``start`` plus ``count`` days, calendar months or years; None for ``lifetime``.

    Months are calendar months and keep the day of the month where it exists, else the
    month's last day: 31 January + 1 month is 28 (or 29) February, 29 February + 1 year is
    28 February.
    """
    if unit == "lifetime":
        return None
    if unit == "day":
        return start + timedelta(days=count)
    if unit not in ("month", "year"):
        raise ValueError(f"unknown period unit {unit!r}")
    months = count if unit == "month" else 12 * count
    years, month0 = divmod(start.month - 1 + months, 12)
    year = start.year + years
    day = min(start.day, monthrange(year, month0 + 1)[1])
    return start.replace(year=year, month=month0 + 1, day=day)


def describe(unit: str, count: int) -> str:
    """The period in words, for prices ("year", "3 months", "lifetime")."""
    if unit == "lifetime":
        return ngettext("lifetime", "lifetime", 1)
    if unit == "day":
        return ngettext("%(num)d day", "%(num)d days", count)
    if unit == "month":
        return ngettext("month", "%(num)d months", count)
    return ngettext("year", "%(num)d years", count)
