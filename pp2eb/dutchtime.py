"""Dutch time: the shop's calendar day for a moment the database or an API keeps in UTC.

The payment date of a type-3 booking, the day an alert counts for and "today" wherever pp2eb
needs one (the report's month, the OSS year, the payments' start) are all Dutch days, so they
all come from here. Pure: no Flask, no I/O beyond reading the time zone data once.
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


def today(now: datetime | None = None) -> date:
    """The Dutch calendar day now (or at the naive UTC moment ``now``).

    ``date.today()`` is the machine's day, which is not the shop's: a server in UTC is still on
    31 December during the first hour of 1 January in the Netherlands.
    """
    return local(now or datetime.now(UTC).replace(tzinfo=None)).date()
