"""The month's reconciliation: against the sandboxes after a sync, and the pure comparison."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

import pytest

from pp2eb.engine.sync import fetch_reference
from pp2eb.extensions import db
from pp2eb.mapping.settings import Settings
from pp2eb.models import OrderRecord
from pp2eb.reports import oss_return, reconcile
from pp2eb.states import OrderState
from pp2eb.web import reports
from tests.engine_helpers import DEMO_REFUSED, SETTINGS, clients, configure
from tests.web.test_dashboard import sync_now

D = Decimal


@pytest.fixture
def synced(app, sandbox, client, auth):
    configure(app)
    auth.login()
    sync_now(app, client)
    return client


def _records(app) -> list[OrderRecord]:
    with app.app_context():
        return list(db.session.execute(db.select(OrderRecord)).scalars())


def _month(text: str) -> date:
    return date(int(text[:4]), int(text[5:7]), 1)


def _failed_by_month(app) -> dict[date, list[OrderRecord]]:
    """The demo's refused orders by invoice month: one month or two, as the data has them."""
    by_month: dict[date, list[OrderRecord]] = defaultdict(list)
    for rec in _records(app):
        if rec.state == OrderState.FAILED:
            by_month[_month(rec.invoice_date)].append(rec)
    assert sum(map(len, by_month.values())) == DEMO_REFUSED
    return dict(by_month)


def _report(app, month: date) -> reconcile.Report:
    with app.app_context():
        return reports.build(month)


def _book_by_hand(sandbox, invoice_number: str, amount: str, when: str) -> None:
    """A booking made in e-Boekhouden by hand: one 21% row on revenue, on the debtor ledger."""
    _pp, eb = clients(sandbox)
    with eb:
        ids = reconcile.ledger_ids(eb, ["1300", "8000"])
        relation = next(eb.iter_relations())
        eb.create_mutation(
            {
                "type": 2,
                "date": when,
                "ledgerId": ids["1300"],
                "relationId": relation["id"],
                "invoiceNumber": invoice_number,
                "inExVat": "IN",
                "termOfPayment": 14,
                "rows": [{"ledgerId": ids["8000"], "vatCode": "HOOG_VERK_21", "amount": D(amount)}],
            }
        )


def test_every_month_without_failures_is_in_balance_after_a_sync(app, synced):
    booked = {_month(r.invoice_date) for r in _records(app) if r.invoice_date}
    months = booked - set(_failed_by_month(app))
    assert len(months) >= 2
    for month in months:
        report = _report(app, month)
        assert report.in_balance, (month, report)
        assert report.order_count == report.mutation_count > 0
        assert report.plugandpay_total == report.eboekhouden_total
        # The OSS orders show per destination country, booked on the country's ledger.
        assert all(t.plugandpay == t.eboekhouden for t in report.per_country)


def test_unbooked_orders_are_missing_and_the_rest_still_agrees(app, synced):
    for month, failed in _failed_by_month(app).items():
        _assert_missing(_report(app, month), failed)


def _assert_missing(report: reconcile.Report, failed: list[OrderRecord]) -> None:
    assert not report.in_balance
    missing = {(d.order_id, d.plugandpay) for d in report.orders}
    assert missing == {(r.order_id, D(r.amount_with_tax)) for r in failed}
    assert {d.kind for d in report.orders} == {reconcile.MISSING}
    # Only the orders pp2eb could not split (and so not book) differ; every VAT code agrees.
    unsplit = [t for t in report.per_code if t.difference]
    assert [t.key for t in unsplit] == [reconcile.UNSPLIT]
    assert unsplit[0].plugandpay == sum(D(r.amount_with_tax) for r in failed)
    assert report.plugandpay_total - report.eboekhouden_total == unsplit[0].plugandpay


def test_an_order_booked_by_hand_with_another_amount_is_cent_different(app, synced, sandbox):
    month, failed = next(iter(_failed_by_month(app).items()))
    order, others = failed[0], failed[1:]
    wrong = D(order.amount_with_tax) - D("0.01")
    _book_by_hand(sandbox, order.invoice_number, str(wrong), order.invoice_date)
    report = _report(app, month)
    by_order = {d.order_id: d for d in report.orders}
    assert by_order[order.order_id].kind == reconcile.DIFFERENT
    assert by_order[order.order_id].eboekhouden == wrong
    assert by_order[order.order_id].difference == D("-0.01")
    assert all(by_order[rec.order_id].kind == reconcile.MISSING for rec in others)


def test_a_booking_of_a_known_order_that_is_no_live_invoice_is_extra(app, synced, sandbox):
    # A test-mode order pp2eb skipped, booked in e-Boekhouden by hand all the same.
    test_order = next(r for r in _records(app) if r.state == OrderState.SKIPPED)
    month = _month(test_order.invoice_date)
    _book_by_hand(sandbox, test_order.invoice_number, "10.00", test_order.invoice_date)
    # A booking pp2eb knows nothing about is none of the report's business.
    _book_by_hand(sandbox, "HAND-1", "20.00", month.replace(day=3).isoformat())
    report = _report(app, month)
    extra = [d for d in report.orders if d.kind == reconcile.EXTRA]
    assert [(d.order_id, d.invoice_number, d.eboekhouden) for d in extra] == [
        (test_order.order_id, test_order.invoice_number, D("10.00"))
    ]
    assert "HAND-1" not in {d.invoice_number for d in report.orders}


def test_the_page_shows_the_chart_the_differences_with_links_and_a_month_selector(app, synced):
    for month, failed in _failed_by_month(app).items():
        _assert_page(synced, month, failed)


def _assert_page(synced, month: date, failed: list[OrderRecord]) -> None:
    html = synced.get(f"/reports/reconciliation?month={month:%Y-%m}").get_data(as_text=True)
    assert "Not in balance" in html
    assert html.count("<rect ") >= 4  # two bars per VAT code, plus the legend
    for rec in failed:
        assert f'href="/orders/{rec.order_id}"' in html
    assert f'<option value="{month:%Y-%m}" selected>' in html
    assert f"/reports/reconciliation.csv?month={month:%Y-%m}" in html
    assert "/reports/reconciliation" in synced.get("/").get_data(as_text=True)


def test_csv_is_semicolon_separated_with_decimal_commas(app, synced):
    for month, failed in _failed_by_month(app).items():
        _assert_csv(synced, month, failed)


def _assert_csv(synced, month: date, failed: list[OrderRecord]) -> None:
    resp = synced.get(f"/reports/reconciliation.csv?month={month:%Y-%m}")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert f"pp2eb-reconciliation-{month:%Y-%m}.csv" in resp.headers["Content-Disposition"]
    text = resp.get_data(as_text=True)
    assert text.startswith("\ufeffSection;Code or number;Order;Plug&Pay;e-Boekhouden;Difference;")
    lines = text.splitlines()
    for rec in failed:
        amount = f"{D(rec.amount_with_tax):.2f}".replace(".", ",")
        assert f"missing;{rec.invoice_number};{rec.order_id};{amount};;-{amount};;;" in lines
    assert any(line.startswith("VAT code;HOOG_VERK_21;;") for line in lines)
    assert lines[-1].startswith("Total;;;")


def test_report_without_connections_says_what_is_missing(app, client, auth):
    auth.login()
    html = client.get("/reports/reconciliation?month=2026-01").get_data(as_text=True)
    assert "Connect" in html
    resp = client.get("/reports/reconciliation.csv?month=2026-01")
    assert resp.status_code == 302
    assert resp.headers["Location"].endswith("/reports/reconciliation?month=2026-01")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-03", date(2026, 3, 1)),
        ("2026-13", date(2026, 11, 1)),
        ("26-03", date(2026, 11, 1)),
        (None, date(2026, 11, 1)),
        ("2026-03-01", date(2026, 11, 1)),
    ],
)
def test_selected_month_falls_back_to_this_month(text, expected):
    assert reports.selected_month(text, today=date(2026, 11, 25)) == expected


def _mutation(number: str, rows: list[tuple[int, str, str]], vat: dict[str, str]) -> dict:
    return {
        "id": 1,
        "invoiceNumber": number,
        "inExVat": "IN",
        "rows": [{"ledgerId": led, "vatCode": code, "amount": D(a)} for led, code, a in rows],
        "vat": [{"vatCode": c, "amount": D(a)} for c, a in vat.items()],
    }


def _order(number: str, gross: str, vat: str) -> dict:
    return {
        "id": 7,
        "invoice_number": number,
        "invoice_status": "final",
        "invoice_date": "2026-03-05",
        "mode": "live",
        "amount": str(D(gross) - D(vat)),
        "amount_with_tax": gross,
        "payment": {"status": "paid"},
        "billing": {"address": {"country": "NL"}, "contact": {"tax_exempt": "none"}},
        "items": [
            {
                "label": "Course",
                "quantity": 1,
                "amount": str(D(gross) - D(vat)),
                "amount_with_tax": gross,
                "tax": {"amount": vat, "rate": {"country": "NL", "percentage": "21"}},
            }
        ],
        "taxes": [{"amount": vat, "rate": {"country": "NL", "percentage": "21"}}],
    }


def _pure(mutations: list[dict]) -> reconcile.Report:
    from pp2eb.mapping.readings import parse_order

    settings = Settings.from_dict({**SETTINGS, "start_date": "2026-01-01"})
    return reconcile.reconcile(
        [parse_order(_order("F-1", "121.00", "21.00"))],
        mutations,
        settings,
        month=date(2026, 3, 1),
        known_numbers={},
        oss_ledger_ids={},
        rounding_ledger_id=90,
    )


def test_rounding_pairs_are_shown_but_are_no_difference():
    rows = [(80, "HOOG_VERK_21", "121.00"), (90, "HOOG_VERK_21", "0.03"), (90, "GEEN", "-0.03")]
    report = _pure([_mutation("F-1", rows, {"HOOG_VERK_21": "21.00", "GEEN": "0.00"})])
    high = next(t for t in report.per_code if t.key == "HOOG_VERK_21")
    assert (high.eboekhouden, high.rounding, high.difference) == (D("121.03"), D("0.03"), 0)
    assert report.in_balance


def test_a_vat_difference_alone_breaks_the_balance():
    rows = [(80, "HOOG_VERK_21", "121.00")]
    report = _pure([_mutation("F-1", rows, {"HOOG_VERK_21": "20.99"})])
    assert not report.orders
    assert not report.in_balance


def test_a_booking_entered_excluding_vat_is_named():
    mutation = {**_mutation("F-1", [(80, "HOOG_VERK_21", "100.00")], {}), "inExVat": "EX"}
    report = _pure([mutation])
    assert report.excl_vat_mutations == [1]
    assert [d.kind for d in report.orders] == [reconcile.DIFFERENT]


def test_a_book_and_a_course_to_one_company_split_under_their_own_codes():
    from pp2eb.mapping.readings import parse_order
    from pp2eb.mapping.reference import read_reference
    from tests.mapping.test_vat import book, course, order

    lines = [book(), course()]
    extra = {"shipping": ("6.00", "BE:0"), "discounts": [("25.00", "X")]}
    raw = order(lines, "BE", reverse=True, vat_id="BE0123456789", **extra)
    settings = Settings.from_dict({**SETTINGS, "start_date": "2026-01-01"})
    # The products as Plug&Pay lists them, read the way a run reads them.
    products = [{"id": 1, "is_physical": False}, {"id": 2, "is_physical": True}]
    reference = read_reference(products=products)
    codes, countries = reconcile.split_order(parse_order(raw), settings, reference)
    assert codes == {"BI_EU_VERK": (D("26.00"), D(0)), "BI_EU_VERK_D": (D("80.00"), D(0))}
    assert countries == {}
    # Without the products' kinds both are services, the default of unknown_product_kind.
    codes, _ = reconcile.split_order(parse_order(raw), settings)
    assert codes == {"BI_EU_VERK_D": (D("106.00"), D(0))}


@pytest.mark.parametrize(
    ("module", "compare"), [(reconcile, "reconcile"), (oss_return, "oss_return")]
)
def test_the_reports_know_the_products_as_a_run_does(sandbox, monkeypatch, module, compare):
    # Each report splits the orders with reference data read the way a run reads it.
    given = {}
    pure = getattr(module, compare)

    def spy(*args, **kwargs):
        given.update(kwargs)
        return pure(*args, **kwargs)

    monkeypatch.setattr(module, compare, spy)
    pp, eb = clients(sandbox)
    settings = Settings.from_dict({**SETTINGS, "start_date": "2026-01-01"})
    with eb:
        module.run(pp, eb, settings, date(2026, 3, 1), {})
        run = fetch_reference(eb, pp)
    assert run.product_physical and run.product_ledgers  # the demo's products say both
    assert given["reference"].product_physical == run.product_physical
    assert given["reference"].product_ledgers == run.product_ledgers
