"""The OSS threshold watch: what counts, the levels, the dashboard card and the sandbox's year."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from pp2eb import dutchtime, jsonutil
from pp2eb.apis.plugandpay import PlugAndPayClient
from pp2eb.engine import booking_path
from pp2eb.engine.store import Outcome, Store
from pp2eb.extensions import db
from pp2eb.mapping import vat
from pp2eb.mapping.countries import EU_COUNTRIES
from pp2eb.mapping.readings import parse_order
from pp2eb.models import OrderRecord, SyncRun, utcnow
from pp2eb.reports import oss_watch
from pp2eb.sandbox import PLUGANDPAY_KEY
from pp2eb.setup import shopsettings
from pp2eb.states import OrderState, RunStatus
from tests.clock import DEMO_TODAY
from tests.engine_helpers import configure, the_link
from tests.web.test_dashboard import sync_now

D = Decimal


def order_data(
    net: str,
    country: str = "DE",
    *,
    when: str = "2026-03-05",
    vat_id: str | None = None,
    mode: str = "live",
    status: str = "final",
    credit: bool = False,
    order_id: int = 7,
) -> dict:
    """A one-line order at 19% with ``net`` excl. VAT (negated for a credit invoice)."""
    sign = D(-1) if credit else D(1)
    amount = D(net) * sign
    vat = (D(net) * D("0.19")).quantize(D("0.01")) * sign
    rate = {"country": country, "percentage": "19"}
    return {
        "id": order_id,
        "invoice_number": f"F-{order_id}",
        "invoice_status": status,
        "invoice_date": when,
        "mode": mode,
        "amount": amount,
        "amount_with_tax": amount + vat,
        "payment": {"status": "credit_invoice" if credit else "paid"},
        "billing": {
            "address": {"country": country},
            "contact": {"tax_exempt": "reverse" if vat_id else "none", "vat_id_number": vat_id},
        },
        "items": [
            {
                "label": "Course",
                "quantity": 1,
                "amount": amount,
                "amount_with_tax": amount + vat,
                "tax": {"amount": vat, "rate": rate},
            }
        ],
        "taxes": [{"amount": vat, "rate": rate}],
    }


def orders(*data: dict):
    return [parse_order(d) for d in data]


@pytest.mark.parametrize(
    ("data", "counted"),
    [
        (order_data("100.00", "DE"), ("DE", D("100.00"))),
        (order_data("100.00", "BE", credit=True), ("BE", D("-100.00"))),
        (order_data("100.00", "NL"), None),  # a domestic sale
        (order_data("100.00", "DE", vat_id="DE123456789"), None),  # a business: reverse charge
        (order_data("100.00", "US"), None),  # outside the EU
        (order_data("100.00", "DE", mode="test"), None),
        (order_data("100.00", "DE", status="concept"), None),
    ],
    ids=["eu-consumer", "credit", "domestic", "eu-business", "outside-eu", "test", "concept"],
)
def test_only_live_final_sales_to_eu_consumers_count_net(data, counted):
    assert vat.cross_border_sale(parse_order(data)) == counted


def test_the_year_adds_up_every_country_and_subtracts_credits():
    result = oss_watch.watch(
        orders(
            order_data("5000.00", "DE", order_id=1),
            order_data("3000.00", "BE", order_id=2),
            order_data("500.00", "DE", credit=True, order_id=3),
            order_data("9000.00", "FR", when="2025-12-31", order_id=4),  # last year
            order_data("9000.00", "NL", order_id=5),
        ),
        2026,
        "oss",
    )
    assert result.total == D("7500.00")
    assert result.per_country == {"DE": D("4500.00"), "BE": D("3000.00")}
    assert result.previous_year_total == D("9000.00")
    assert (result.level, result.percent) == (oss_watch.APPROACHING, 75)


@pytest.mark.parametrize(
    ("this_year", "last_year", "level"),
    [
        ("7499.99", "0", oss_watch.OK),
        ("7500.00", "0", oss_watch.APPROACHING),
        ("10000.00", "0", oss_watch.APPROACHING),  # at most €10,000 is still below
        ("10000.01", "0", oss_watch.PASSED),
        ("100.00", "10000.01", oss_watch.PASSED),  # passed last year counts this year too
    ],
)
def test_levels(this_year, last_year, level):
    watch = oss_watch.OssWatch(2026, D(this_year), D(last_year))
    assert watch.level == level


def test_the_hint_is_for_home_country_vat_after_the_threshold_only():
    passed = orders(order_data("10000.01", "DE"))
    assert oss_watch.watch(passed, 2026, "home_country").needs_oss
    assert not oss_watch.watch(passed, 2026, "oss").needs_oss
    near = orders(order_data("9000.00", "DE"))
    assert not oss_watch.watch(near, 2026, "home_country").needs_oss


def stored(app, *data: dict) -> None:
    """Records of the orders ``data`` (Plug&Pay JSON), booked, as a release before 0014 left
    them: without what each adds to the OSS threshold."""
    with app.app_context():
        for d in data:
            db.session.add(
                OrderRecord(
                    link_id=the_link().id,
                    order_id=d["id"],
                    state=OrderState.BOOKED,
                    invoice_number=d["invoice_number"],
                    invoice_date=d["invoice_date"],
                    order_json=jsonutil.dumps(d),
                )
            )
        db.session.commit()


def _store(app, *data: dict, oss: str = "home_country") -> None:
    with app.app_context():
        shopsettings.save_draft(the_link(), {"oss": oss})
        db.session.add(SyncRun(link_id=the_link().id, kind="sync", status=RunStatus.FINISHED))
        db.session.commit()
    stored(app, *data)


def _dashboard(client, auth) -> str:
    auth.login()
    resp = client.get("/")
    assert resp.status_code == 200
    return resp.get_data(as_text=True)


@pytest.mark.dates
def test_the_dashboard_warns_as_the_threshold_comes_near(app, client, auth):
    this_year = dutchtime.today().year
    _store(app, order_data("8000.00", "DE", when=f"{this_year}-02-01", order_id=1))
    html = _dashboard(client, auth)
    assert 'id="oss-watch"' in html and "Threshold near" in html
    assert "€ 8000.00, 80% of the € 10000.00 threshold" in html
    assert '<progress max="100" value="80"' in html
    assert "Switch to OSS" not in html


@pytest.mark.dates
def test_the_dashboard_alerts_when_passed_and_hints_at_oss_with_home_country_vat(app, client, auth):
    this_year = dutchtime.today().year
    _store(
        app,
        order_data("6000.00", "DE", when=f"{this_year}-02-01", order_id=1),
        order_data("4000.01", "FR", when=f"{this_year}-03-01", order_id=2),
    )
    html = _dashboard(client, auth)
    assert "Threshold passed" in html and "€ 10000.01" in html
    assert "Switch to OSS" in html and 'href="/setup/oss"' in html


def test_no_card_below_75_percent_nor_a_hint_when_oss_is_on(app, client, auth):
    this_year = dutchtime.today().year
    _store(app, order_data("7000.00", "DE", when=f"{this_year}-02-01", order_id=1), oss="oss")
    assert 'id="oss-watch"' not in _dashboard(client, auth)


def test_after_a_sync_the_watch_counts_the_sandbox_eu_consumer_sales(app, sandbox, client, auth):
    configure(app)
    auth.login()
    sync_now(app, client)
    year = DEMO_TODAY.year
    # Read independently from the Plug&Pay sandbox's raw JSON.
    pp = PlugAndPayClient(PLUGANDPAY_KEY, sandbox.plugandpay_url, timeout=5.0)
    expected = D("0.00")
    for raw in pp.iter_orders(since_invoice_date=date(year, 1, 1)):
        billing = raw["billing"]
        country = (billing.get("address") or {}).get("country")
        live_final = raw["mode"] == "live" and raw["invoice_status"] == "final"
        consumer = billing["contact"].get("tax_exempt") != "reverse"
        eu_abroad = country in EU_COUNTRIES and country != "NL"
        if live_final and consumer and eu_abroad and raw["invoice_date"][:4] == str(year):
            expected += D(str(raw["amount"]))
    with app.app_context():
        result = oss_watch.current(the_link(), DEMO_TODAY)
        # The run kept on each record what its order adds: none is left to read from its JSON.
        unknown = db.select(db.func.count()).where(
            OrderRecord.order_json.is_not(None), OrderRecord.eu_sale_country.is_(None)
        )
        assert db.session.execute(unknown).scalar() == 0
    assert result.total == expected > 0
    assert len(result.per_country) >= 2 and "NL" not in result.per_country


def test_a_record_keeps_what_its_order_adds_so_the_threshold_is_summed_without_reading_it(
    app, monkeypatch
):
    this_year = dutchtime.today().year
    # Records from before the columns: worked out once from their JSON, then kept.
    _store(app, order_data("3000.00", "DE", when=f"{this_year}-02-01", order_id=1))
    _store(app, order_data("80.00", "NL", when=f"{this_year}-02-02", order_id=2))
    read = []
    monkeypatch.setattr(oss_watch, "parse_order", lambda raw: read.append(raw) or parse_order(raw))
    with app.app_context():
        assert oss_watch.current(the_link()).total == Decimal("3000.00")
        assert len(read) == 2
        kept = dict(
            db.session.execute(db.select(OrderRecord.order_id, OrderRecord.eu_sale_country)).all()
        )
        assert kept == {1: "DE", 2: ""}  # the Dutch sale does not count, and is not read again
        assert oss_watch.current(the_link()).total == Decimal("3000.00")
        assert len(read) == 2
        # A run writes an order's sale with its JSON (Store.describe): nothing to read later.
        store = Store(db.session, the_link().id)
        data = order_data("13000.00", "FR", when=f"{this_year}-03-01", order_id=3)
        rec = store.record(3)
        store.describe(rec, raw=data, summary=booking_path.read(data).shown)
        store.settle(rec, None, utcnow(), Outcome(OrderState.SKIPPED, "a test"), None)
        assert (rec.eu_sale_country, rec.eu_sale_net) == ("FR", "13000.00")
        watch = oss_watch.current(the_link())
        assert (watch.total, watch.level) == (Decimal("16000.00"), oss_watch.PASSED)
        assert len(read) == 2
