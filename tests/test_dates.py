"""The product's own reading of the clock: "today" is the Dutch day, whatever the server's zone.

Every test here is marked ``dates``: it runs on the machine's clock, and ``make test-dates``
runs it with that clock at the year's last and first hour, both summer-time changes, a leap
day, and a month's end and start (tests/date_runs.py). Each test reads the clock before and
after the code under test, so that a run that passes midnight in between still passes.
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from pp2eb import dutchtime
from pp2eb.apis.plugandpay import PlugAndPayClient
from pp2eb.extensions import db
from pp2eb.models import OrderRecord
from pp2eb.reports import oss_watch
from pp2eb.runs import jobs, scheduler
from pp2eb.sandbox import PLUGANDPAY_KEY
from pp2eb.web import reports
from tests.engine_helpers import configure, eb_state, the_link

pytestmark = pytest.mark.dates

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def dutch_day() -> date:
    """The Dutch day now, worked out apart from pp2eb: the epoch seconds in Amsterdam."""
    return datetime.fromtimestamp(time.time(), AMSTERDAM).date()


def around(read):
    """``read()`` with the Dutch days just before and just after it."""
    before = dutch_day()
    value = read()
    return value, {before, dutch_day()}


def test_today_is_the_dutch_day_not_the_machines():
    today, days = around(dutchtime.today)
    assert today in days


def test_the_report_opens_on_the_dutch_month(app, client, auth):
    month, days = around(lambda: reports.selected_month(None))
    assert month in {day.replace(day=1) for day in days}
    auth.login()
    html = client.get("/reports/reconciliation").get_data(as_text=True)
    assert any(f'<option value="{d:%Y-%m}" selected>' in html for d in days)


def test_the_oss_watch_counts_the_dutch_calendar_year(app):
    with app.app_context():
        watch, days = around(lambda: oss_watch.current(the_link()))
    assert watch.year in {day.year for day in days}


def _paid_order_of_today(sandbox, order_id: int) -> dict:
    """A demo order paid through Mollie, invoiced today (Dutch day) and paid this very moment."""
    pp = PlugAndPayClient(PLUGANDPAY_KEY, sandbox.plugandpay_url, timeout=5.0)
    base = next(
        o
        for o in pp.iter_orders()
        if o["payment"]["status"] == "paid"
        and o["payment"]["provider"] == "mollie"
        and o["mode"] == "live"
        and o["invoice_status"] == "final"
        and o["billing"]["address"]["country"] == "NL"
    )
    paid_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000000Z")
    return {
        **base,
        "id": order_id,
        "invoice_number": f"DATES-{order_id}",
        "invoice_date": dutchtime.today().isoformat(),
        "payment": {**base["payment"], "paid_at": paid_at},
    }


def test_an_order_of_this_moment_is_booked_and_paid_on_its_dutch_day(app, sandbox):
    # Set up to book from today (the Dutch day): in the first hour of a Dutch day the UTC day
    # is still the one before, and the booking must not fall on it.
    today = dutchtime.today()
    configure(
        app,
        start_date=today.isoformat(),
        book_payments=True,
        payment_ledgers={"mollie": "1650", "stripe": "1660"},
    )
    order = _paid_order_of_today(sandbox, 9100)
    sandbox.control("plugandpay", "POST", "orders", json=[order])
    with app.app_context():
        result = jobs.run("sync", link=the_link())
        assert result.booked >= 1, result.message
        rec = db.session.execute(db.select(OrderRecord).filter_by(order_id=9100)).scalar_one()
        assert (rec.state, rec.payment_state) == ("booked", "booked"), rec.reason
        # A second run still sees today's orders (its look-back window) and books nothing twice.
        again = jobs.run("sync", link=the_link())
        assert again.booked == 0 and again.failed == 0
    mutations = [m for m in eb_state(sandbox)["mutations"] if m["invoiceNumber"] == "DATES-9100"]
    by_type = {m["type"]: m for m in mutations}
    assert sorted(by_type) == [2, 3] and len(mutations) == 2
    assert by_type[2]["date"] == order["invoice_date"]  # the invoice's date, as Plug&Pay has it
    paid = datetime.strptime(order["payment"]["paid_at"], "%Y-%m-%dT%H:%M:%S.%fZ")
    assert by_type[3]["date"] == dutchtime.local_day(paid).isoformat()


def test_the_next_run_is_never_in_the_past(app, sandbox):
    configure(app)
    with app.app_context():
        jobs.run("sync", link=the_link())
        now = datetime.now(UTC).replace(tzinfo=None)
        due = scheduler.next_run_at(the_link())
    assert due is not None and due >= now - timedelta(seconds=1)


def test_a_backfill_of_today_books_todays_order(app, sandbox, runner):
    configure(app)
    order = _paid_order_of_today(sandbox, 9101)
    sandbox.control("plugandpay", "POST", "orders", json=[order])
    day = order["invoice_date"]  # the Dutch day the order was made on
    shown = runner.invoke(args=["backfill", "--since", day, "--until", day, "--dry-run"])
    assert shown.exit_code == 0, shown.output
    assert f"order 9101 · invoice DATES-9101 · {day}" in shown.output
    done = runner.invoke(args=["backfill", "--since", day, "--until", day])
    assert done.exit_code == 0, done.output
    assert done.output.startswith("booked 1,")
