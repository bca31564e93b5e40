"""OSS from a date: orders before ``oss_from``, and their credit invoices, keep Dutch VAT.

The mapper's decision per case, the wizard's OSS step and the threshold card that suggests the
date, then the whole path: sandbox orders, ``flask sync`` / ``flask backfill``, the bookings.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pp2eb.extensions import db
from pp2eb.mapping.booking import UNSEEN, Booking, OriginalBooking, OriginalNotBooked, Skip
from pp2eb.mapping.problems import MappingError
from pp2eb.mapping.readings import parse_order
from pp2eb.mapping.settings import Settings
from pp2eb.models import OrderRecord
from pp2eb.reports import oss_watch
from pp2eb.reports.reconcile import split_order
from pp2eb.setup import shopsettings
from tests.clock import DEMO_TODAY
from tests.engine.test_credits import booked, customer, put_orders
from tests.engine_helpers import configure, eb_state, the_link
from tests.mapping.test_mapper import CREDITED, REF, SETTINGS, consistent_orders, map_raw
from tests.mapping.test_order import build, item
from tests.reports.test_oss_watch import order_data, stored
from tests.web.test_wizard import connect, fragment, post

D = Decimal
H, DISTANCE = "HOOG_VERK_21", "AFST_VERK"
OSS = {"oss": "oss", "oss_from": date(2026, 7, 1)}
# The two ledgers every set-up needs before the dashboard counts it as finished.
REQUIRED = {"debtor_ledger": "1300", "revenue_ledger": "8000"}


def rows(booking: Booking) -> list[tuple[str, str, str]]:
    return [(r.ledger.code, r.vat_code, str(r.amount)) for r in booking.rows]


def german(gross: str, rate: str, day: str, **kwargs) -> dict:
    return build([item("Cursus", gross, rate)], country="DE", invoice_date=day, **kwargs)


@pytest.mark.parametrize(
    ("raw", "settings", "expected"),
    [
        pytest.param(
            german("121.00", "NL:21", "2026-06-30"),
            OSS,
            [("8010", H, "121.00")],
            id="before oss_from: Dutch VAT",
        ),
        pytest.param(
            german("119.00", "DE:19", "2026-07-01"),
            OSS,
            [("8010", DISTANCE, "100.00"), ("1641", "GEEN", "19.00")],
            id="on oss_from: OSS",
        ),
        pytest.param(
            german("119.00", "DE:19", "2026-03-01"),
            {"oss": "oss", "oss_from": None},
            [("8010", DISTANCE, "100.00"), ("1641", "GEEN", "19.00")],
            id="oss_from empty: always OSS",
        ),
        pytest.param(
            german("121.00", "NL:21", "2026-12-01"),
            {"oss": "home_country", "oss_from": date(2026, 7, 1)},
            [("8010", H, "121.00")],
            id="oss_from without OSS: Dutch VAT",
        ),
        pytest.param(
            build([item("Cursus", "121.00")], invoice_date="2026-08-01"),
            OSS,
            [("8010", H, "121.00")],
            id="domestic: unchanged",
        ),
    ],
)
def test_the_invoice_date_decides_whether_oss_applies(raw, settings, expected):
    assert rows(map_raw(raw, **settings)) == expected


def test_a_foreign_rate_before_oss_from_names_the_date_to_set():
    with pytest.raises(MappingError) as info:
        map_raw(german("119.00", "DE:19", "2026-06-30"), **OSS)
    assert info.value.reason == (
        "Order 42 to a consumer in DE was charged DE:19, not an NL rate, but it is dated "
        "2026-06-30, before OSS applies (from 2026-07-01): orders before then are booked with "
        "Dutch VAT."
    )
    assert info.value.fix == (
        "If OSS applied to this order, set 'OSS from' to 2026-06-30 or earlier on the OSS page; "
        "otherwise correct the rate in Plug&Pay."
    )
    assert info.value.setting == "oss_from"


CREDIT_AFTER = german(
    "121.00", "NL:21", "2026-08-01", payment_status="credit_invoice", related=CREDITED
)


@pytest.mark.parametrize(
    "original",
    [
        pytest.param(OriginalBooking(4711, "2026-00041", date(2026, 6, 20)), id="booked"),
        pytest.param(OriginalNotBooked(UNSEEN, date(2025, 12, 20)), id="before the start date"),
    ],
)
def test_a_credit_follows_the_vat_rules_of_its_originals_date(original):
    booking = map_raw(CREDIT_AFTER, REF.with_original(41, original), **OSS)
    assert rows(booking) == [("8010", H, "-121.00")]


def test_a_credit_of_an_oss_order_stays_oss():
    credit = german(
        "119.00", "DE:19", "2026-08-01", payment_status="credit_invoice", related=CREDITED
    )
    original = OriginalBooking(4711, "2026-00041", date(2026, 7, 20))
    booking = map_raw(credit, REF.with_original(41, original), **OSS)
    assert rows(booking) == [("8010", DISTANCE, "-100.00"), ("1641", "GEEN", "-19.00")]


def test_the_reconciliation_splits_by_the_same_date():
    settings = Settings.from_dict({**SETTINGS.to_dict(), "oss": "oss", "oss_from": "2026-07-01"})
    credit = parse_order(CREDIT_AFTER)
    codes, countries = split_order(credit, settings, day=date(2026, 6, 20))
    assert (codes, countries) == ({H: (D("-121.00"), D("-21.00"))}, {})
    assert split_order(credit, settings)[0] == {"?": (D("-121.00"), D("0.00"))}


# --- the threshold card suggests the date; the wizard's OSS step takes it ---------------------


def test_the_watch_knows_the_sale_that_passed_the_threshold():
    sales = [
        parse_order(order_data("6000.00", "DE", when="2026-02-01", order_id=1)),
        parse_order(order_data("4000.00", "FR", when="2026-03-01", order_id=2)),
        parse_order(order_data("0.02", "BE", when="2026-03-09", order_id=3)),
        parse_order(order_data("500.00", "BE", when="2026-04-01", order_id=4)),
    ]
    home = oss_watch.watch(reversed(sales), 2026, "home_country")
    assert home.passed_on == date(2026, 3, 9) == home.suggested_oss_from
    on_always = oss_watch.watch(sales, 2026, "oss")
    assert on_always.suggested_oss_from == date(2026, 3, 9)  # maybe Dutch VAT before it
    on_from_then = oss_watch.watch(sales, 2026, "oss", date(2026, 3, 9))
    assert on_from_then.suggested_oss_from is None
    assert oss_watch.watch(sales[:2], 2026, "home_country").suggested_oss_from is None
    last_year = [parse_order(order_data("10000.01", "DE", when="2025-05-01", order_id=5))]
    assert oss_watch.watch(last_year, 2026, "home_country").passed_on == date(2026, 1, 1)


def test_the_card_and_the_oss_step_suggest_the_date(app, client, auth, sandbox):
    connect(app, "plugandpay", "eboekhouden")
    with app.app_context():
        shopsettings.save_draft(
            the_link(), {"oss": "home_country", "start_date": "2026-01-01", **REQUIRED}
        )
    stored(
        app,
        order_data("9000.00", "DE", when="2026-05-01", order_id=1),
        order_data("1000.01", "FR", when="2026-06-15", order_id=2),
    )
    auth.login()
    card = fragment(client.get("/").get_data(as_text=True), "oss-from-hint")
    assert "invoiced on 15-06-2026" in card and 'href="/setup/oss"' in card
    html = client.get("/htmx/oss-ledgers?oss=oss", headers={"HX-Request": "true"})
    assert 'name="oss_from" type="date" value="2026-06-15"' in html.get_data(as_text=True)
    post(client, "oss", {"oss": "oss", "oss_DE": "1641", "oss_from": "2026-06-15"})
    with app.app_context():
        settings = shopsettings.load(the_link())
    assert (settings.oss, settings.oss_from) == ("oss", date(2026, 6, 15))
    assert 'id="oss-from-hint"' not in client.get("/").get_data(as_text=True)
    # Emptied, OSS applies always again.
    post(client, "oss", {"oss": "oss", "oss_DE": "1641", "oss_from": ""})
    with app.app_context():
        assert shopsettings.load(the_link()).oss_from is None


# --- the whole path --------------------------------------------------------------------------

START = DEMO_TODAY - timedelta(days=10)
SWITCH = START + timedelta(days=4)  # OSS from this day on
# Older than the demo shop's orders (90 days), so a backfill around it finds only the test's.
OLD = DEMO_TODAY - timedelta(days=100)
SINCE, UNTIL = (OLD - timedelta(days=5)).isoformat(), (OLD + timedelta(days=5)).isoformat()
JONAS = {"email": "jonas@example.de", "firstname": "Jonas", "lastname": "Weber", "country": "DE"}


def _order(order_id: int, day: date, gross: str, rate: str, **kwargs) -> dict:
    raw = build(
        [item("Cursus", gross, rate)],
        order_id=order_id,
        number=f"2026-{order_id:05d}",
        invoice_date=day.isoformat(),
        **kwargs,
    )
    return customer(raw, **JONAS)


def _with_credit(order_id: int, day: date, credit_day: date) -> list[dict]:
    """A German consumer's order at Dutch VAT and its credit invoice (``order_id + 1``)."""
    number, credit_number = f"2026-{order_id:05d}", f"2026-{order_id + 1:05d}"
    link = {"id": order_id + 1, "invoice_number": credit_number, "payment_status": "credit_invoice"}
    back = {"id": order_id, "invoice_number": number, "payment_status": "credited"}
    return [
        _order(order_id, day, "121.00", "NL:21", payment_status="credited", related=[link]),
        _order(
            order_id + 1,
            credit_day,
            "121.00",
            "NL:21",
            payment_status="credit_invoice",
            related=[back],
        ),
    ]


def booked_rows(sandbox, number: str) -> list[tuple[str, str, Decimal]]:
    """The booking's rows as (ledger code, VAT code, amount)."""
    codes = {ledger["id"]: ledger["code"] for ledger in eb_state(sandbox)["ledgers"]}
    rows = booked(sandbox, number)["rows"]
    return [(codes[r["ledgerId"]], r["vatCode"], D(str(r["amount"]))) for r in rows]


@pytest.fixture(params=["mutation", "invoice"])
def switched(request, app, sandbox):
    configure(
        app,
        start_date=START.isoformat(),
        oss_from=SWITCH.isoformat(),
        insertion=request.param,
    )
    return app


def test_a_switch_to_oss_mid_year_books_earlier_orders_and_their_credits_with_dutch_vat(
    switched, runner, sandbox
):
    put_orders(
        sandbox,
        [
            *_with_credit(9201, SWITCH - timedelta(days=2), SWITCH + timedelta(days=3)),
            _order(9203, SWITCH + timedelta(days=1), "119.00", "DE:19"),
        ],
    )
    result = runner.invoke(args=["sync"])
    assert result.exit_code == 0, result.output
    # Product 1's ledger in Plug&Pay is 8010 "Omzet cursussen".
    assert booked_rows(sandbox, "2026-09201") == [("8010", H, D("121.00"))]
    assert booked_rows(sandbox, "2026-09202") == [("8010", H, D("-121.00"))]
    assert (
        booked(sandbox, "2026-09202")["relationId"] == booked(sandbox, "2026-09201")["relationId"]
    )
    assert booked_rows(sandbox, "2026-09203") == [
        ("8010", DISTANCE, D("100.00")),
        ("1641", "GEEN", D("19.00")),
    ]


def test_a_backfill_of_orders_from_before_the_switch_books_them_as_they_were(
    switched, runner, sandbox
):
    # The original lies before the start date too: a backfill books it, then its credit follows.
    put_orders(sandbox, _with_credit(9211, OLD, SWITCH + timedelta(days=2)))
    backfill = runner.invoke(args=["backfill", "--since", SINCE, "--until", UNTIL])
    assert backfill.exit_code == 0, backfill.output
    assert runner.invoke(args=["sync"]).exit_code == 0
    assert booked_rows(sandbox, "2026-09211") == [("8010", H, D("121.00"))]
    assert booked_rows(sandbox, "2026-09212") == [("8010", H, D("-121.00"))]
    assert (
        booked(sandbox, "2026-09212")["relationId"] == booked(sandbox, "2026-09211")["relationId"]
    )


def test_without_oss_from_the_same_backfill_fails_and_says_which_setting_helps(
    app, runner, sandbox
):
    configure(app, start_date=START.isoformat())  # OSS on, always: as before this setting
    put_orders(sandbox, _with_credit(9221, OLD, SWITCH))
    result = runner.invoke(args=["backfill", "--since", SINCE, "--until", UNTIL])
    assert result.exit_code == 1
    assert "set 'OSS from' to a date after this order's" in _fix(app, 9221)


def _fix(app, order_id: int) -> str:
    with app.app_context():
        rec = db.session.execute(db.select(OrderRecord).filter_by(order_id=order_id)).scalar_one()
        return rec.fix or ""


# --- an install from before this change --------------------------------------------------------

# What `flask settings export` wrote before oss_from existed (the demo chart's ledgers).
OLD_EXPORT = {
    "book_payments": False,
    "customer_codes": "eboekhouden",
    "debtor_ledger": "1300",
    "group_lines": False,
    "insertion": "mutation",
    "invoice_template": "Standaard",
    "orders": "final_invoices",
    "oss": "oss",
    "oss_ledgers": {"BE": "1640", "DE": "1641", "FR": "1642"},
    "payment_fallback_ledger": None,
    "payment_ledgers": {},
    "payments_from": None,
    "product_ledgers": {},
    "reference": "invoice_number",
    "revenue_ledger": "8000",
    "rounding_ledger": "8090",
    "shipping_ledger": "8050",
    "start_date": START.isoformat(),
    "sync_interval_minutes": 15,
    "term_of_payment": 14,
    "vat_map": {
        "NL:0": "GEEN",
        "NL:21": "HOOG_VERK_21",
        "NL:9": "LAAG_VERK_9",
        "outside_eu": "BU_EU_VERK",
        "reverse_charge": "BI_EU_VERK_D",
    },
}


def test_an_export_from_before_oss_from_imports_unchanged(app, runner, sandbox, tmp_path):
    configure(app)
    path = tmp_path / "settings.json"
    path.write_text(json.dumps(OLD_EXPORT))
    result = runner.invoke(args=["settings", "import", str(path)])
    assert result.exit_code == 0, result.output
    again = json.loads(runner.invoke(args=["settings", "export"]).output)
    # Unchanged, but for the VAT rows of goods and services that the old keys became.
    kept = {key: value for key, value in OLD_EXPORT.items() if key != "vat_map"}
    assert {key: again[key] for key in kept} == kept
    old_map, new_map = OLD_EXPORT["vat_map"], again["vat_map"]
    assert new_map["reverse_charge_goods"] == new_map["reverse_charge_services"]
    assert new_map["reverse_charge_goods"] == old_map["reverse_charge"]
    assert new_map["outside_eu_goods"] == new_map["outside_eu_services"] == old_map["outside_eu"]
    assert again["oss_from"] is None  # empty: OSS applies always, as before
    with app.app_context():
        assert shopsettings.load(the_link()).oss_from is None


@settings(max_examples=200, deadline=None)
@given(consistent_orders(), st.booleans())
def test_a_domestic_order_is_grouped_and_described_as_before(case, oss_from):
    """Before: rows grouped per ledger and VAT code, discounts one row per ledger and VAT code,
    no marks. A domestic order has one rate per VAT code, so grouping per country and rate too
    changes nothing for it, whatever oss_from says."""
    raw, overrides = case
    if overrides["oss"] == "oss":
        return  # the German cases: OSS orders, not domestic
    extra = {"oss_from": date(2026, 7, 1)} if oss_from else {}
    ref = REF.with_original(41, OriginalBooking(4711, "2026-00041", date(2026, 1, 1)))
    ungrouped = map_raw(raw, ref, **extra)
    if isinstance(ungrouped, Skip):
        return
    assert not any(row.oss for row in ungrouped.rows)
    discounts = [(r.ledger.code, r.vat_code) for r in ungrouped.rows if r.kind == "discount"]
    assert len(discounts) == len(set(discounts))  # one discount row per ledger and VAT code
    grouped = map_raw(raw, ref, group_lines=True, **extra)
    per_code: dict[tuple[str, str], Decimal] = {}
    for row in ungrouped.rows:
        if row.kind != "rounding":
            key = (row.ledger.code, row.vat_code)
            per_code[key] = per_code.get(key, D(0)) + row.amount
    assert {
        (r.ledger.code, r.vat_code): r.amount for r in grouped.rows if r.kind != "rounding"
    } == {key: amount for key, amount in per_code.items() if amount}
    assert all(r.description is None for r in grouped.rows if r.kind != "rounding")
