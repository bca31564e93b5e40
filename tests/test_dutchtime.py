"""Dutch time: stored UTC moments as the shop's day and as Dutch people read them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
import pytz

from pp2eb import dutchtime
from pp2eb.dutchtime import local_day, show


@pytest.mark.parametrize(
    ("utc", "shown"),
    [
        (datetime(2026, 12, 4, 11, 49), "04-12-2026 12:49 CET"),  # winter: UTC+1
        (datetime(2026, 7, 1, 10, 5), "01-07-2026 12:05 CEST"),  # summer: UTC+2
        (datetime(2026, 12, 31, 23, 30), "01-01-2027 00:30 CET"),  # already next year
        (datetime(2027, 3, 28, 0, 59), "28-03-2027 01:59 CET"),  # just before clocks go forward
        (datetime(2027, 3, 28, 1, 0), "28-03-2027 03:00 CEST"),  # and just after
        (datetime(2027, 10, 31, 0, 30), "31-10-2027 02:30 CEST"),  # 02:30 the first time
        (datetime(2027, 10, 31, 1, 30), "31-10-2027 02:30 CET"),  # and the second
    ],
)
def test_a_stored_utc_moment_reads_as_dutch_time(utc, shown):
    assert show(utc) == shown


def test_the_two_half_past_twos_of_the_night_the_clocks_go_back_differ():
    first, second = datetime(2027, 10, 31, 0, 30), datetime(2027, 10, 31, 1, 30)
    assert show(first) != show(second)
    assert show(first, seconds=True) != show(second, seconds=True)


def test_seconds_when_asked():
    assert show(datetime(2026, 12, 4, 11, 49, 7), seconds=True) == "04-12-2026 12:49:07 CET"


def test_nothing_reads_as_nothing():
    assert show(None) == ""
    assert show(None, seconds=True) == ""


def test_a_moment_with_a_zone_is_converted_not_relabelled():
    utc = datetime(2026, 7, 1, 10, 5, tzinfo=UTC)
    new_york = utc.astimezone(timezone(timedelta(hours=-4)))
    assert show(utc) == show(new_york) == "01-07-2026 12:05 CEST"


def test_the_dutch_day_of_a_late_utc_evening_is_the_next_day():
    assert local_day(datetime(2026, 12, 31, 23, 30)) == date(2027, 1, 1)
    assert local_day(datetime(2026, 6, 30, 21, 59)) == date(2026, 6, 30)
    assert local_day(datetime(2026, 6, 30, 22, 0)) == date(2026, 7, 1)


def test_the_same_without_system_time_zone_data(monkeypatch):
    monkeypatch.setattr(dutchtime, "ZONE", pytz.timezone("Europe/Amsterdam"))
    assert show(datetime(2027, 10, 31, 0, 30)) == "31-10-2027 02:30 CEST"
    assert show(datetime(2027, 10, 31, 1, 30)) == "31-10-2027 02:30 CET"
    assert show(datetime(2026, 12, 31, 23, 30)) == "01-01-2027 00:30 CET"
