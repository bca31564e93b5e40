"""The tests' calendar, pinned: no test leans on the machine's date, clock or time zone.

The whole test process runs with its clock at ``DEMO_NOW`` (time-machine, started in
``conftest.py``; the clock ticks on from there), and the sandboxes serve the demo shop's orders
of the 90 days before ``DEMO_TODAY``. So the suite gives the same verdict on every day of the
year. Processes a test starts (``test_crash``) keep the real clock.

The tests marked ``dates`` run on the machine's real clock instead: their subject is the
product's own reading of the clock, and ``make test-dates`` (tests/date_runs.py) runs them with
the whole process's clock set to each of the days that break software.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

DEMO_TODAY = date(2026, 11, 18)
# The start date the engine tests book from: every demo order falls after it.
START_DATE = DEMO_TODAY - timedelta(days=120)
# The tests' "now": 10:00 Dutch (winter) time on DEMO_TODAY.
DEMO_NOW = datetime(2026, 11, 18, 9, 0, tzinfo=UTC)
