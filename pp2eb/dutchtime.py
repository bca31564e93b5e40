"""Dutch time: a moment the database or an API keeps in UTC, as the shop's day or as people read it.

The payment date of a type-3 booking, the day an alert counts for and "today" wherever pp2eb
needs one (the report's month, the OSS year, the payments' start) are all Dutch days, so they
all come from here; so does every time a person reads (pages, mails, CLI output), through
``show``. No Flask, no I/O beyond reading the time zone data once.
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
    """A moment in Dutch local time; a naive one is UTC, as the database keeps them."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(ZONE)


def local_day(when: datetime) -> date:
    """The Dutch calendar day of a naive UTC moment."""
    return local(when).date()


def today(now: datetime | None = None) -> date:
    """The Dutch calendar day now (or at the naive UTC moment ``now``).

    ``date.today()`` is the machine's day, which is not the shop's: a server in UTC is still on
    31 December during the first hour of 1 January in the Netherlands.
    """
    return local(now or datetime.now(UTC).replace(tzinfo=None)).date()


def show(when: datetime | None, seconds: bool = False) -> str:
    """A moment as Dutch people read it, e.g. ``04-12-2026 12:49 CET``; "" for None.

    Day-month-year and a 24-hour clock, as Dutch software writes a short date. The zone
    (CET in winter, CEST in summer) is always named: it says the time is not UTC, and the hour
    the clocks go back, which happens twice, reads as two different times.
    """
    if when is None:
        return ""
    return local(when).strftime("%d-%m-%Y %H:%M:%S %Z" if seconds else "%d-%m-%Y %H:%M %Z")
