"""Dutch time: the shop's calendar day for a moment the database or an API keeps in UTC.

The payment date of a type-3 booking and the day an alert counts for are both Dutch days, so
both come from here. Pure: no Flask, no I/O beyond reading the time zone data once.
"""

from __future__ import annotations

from datetime import UTC, date, datetime


def _zone():
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo("Europe/Amsterdam")
    except ZoneInfoNotFoundError:  # a system without tz data: pytz (Babel's) carries its own
        import pytz

        return pytz.timezone("Europe/Amsterdam")


ZONE = _zone()


def local(when: datetime) -> datetime:
    """A naive UTC moment (as the database keeps them) in Dutch local time."""
    return when.replace(tzinfo=UTC).astimezone(ZONE)


def local_day(when: datetime) -> date:
    """The Dutch calendar day of a naive UTC moment."""
    return local(when).date()
