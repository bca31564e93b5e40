"""The OSS return from the books: rows that keep country and rate apart, and the quarter's report.

The return needs, per quarter, country and rate, the taxable amount and the VAT. e-Boekhouden
has one code for every OSS sale (AFST_VERK), so pp2eb keeps each rate on rows of its own, even
grouped, and writes the country and rate at the end of their descriptions.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from pp2eb.mapping.mapper import to_invoice_payload, to_mutation_payload
from pp2eb.mapping.order import Order
from pp2eb.mapping.readings import parse_order
from pp2eb.reports import oss_return
from pp2eb.web import reports
from tests.engine.test_credits import booked, original_and_credit, put_orders
from tests.engine_helpers import configure
from tests.mapping.test_mapper import SETTINGS, map_raw
from tests.mapping.test_order import build, item

D = Decimal
OSS = {"oss": "oss"}
SETTINGS_OSS = replace(SETTINGS, oss="oss")


def two_german_rates() -> dict:
    """A German consumer: two courses at 19% and a workbook at 7%, all three on the courses'
    ledger (8010), with shipping and an order discount."""
    lines = [
        item("Cursus A", "119.00", "DE:19"),
        item("Cursus B", "59.50", "DE:19"),
        item("Werkboek", "21.40", "DE:7"),
    ]
    return build(lines, country="DE", shipping=("5.95", "DE:19"), discounts=[("10.00", "HALLO")])


def described(booking) -> list[tuple[str, str, str, str | None]]:
    return [(r.ledger.code, r.vat_code, str(r.amount), r.description) for r in booking.rows]


def test_grouped_rows_keep_country_and_rate_apart():
    booking = map_raw(two_german_rates(), group_lines=True, **OSS)
    # One ledger and one VAT code (8010, AFST_VERK), two rates: two rows.
    assert described(booking) == [
        ("8010", "AFST_VERK", "142.63", "Omzet cursussen DE 19% (OSS)"),
        ("8010", "AFST_VERK", "18.86", "Omzet cursussen DE 7% (OSS)"),
        ("8050", "AFST_VERK", "5.00", "Verzendkosten DE 19% (OSS)"),
        ("1641", "GEEN", "28.04", "Btw DE 19% (OSS)"),
        ("1641", "GEEN", "1.32", "Btw DE 7% (OSS)"),
    ]
    assert booking.rows_total == booking.total
    invoice = map_raw(two_german_rates(), group_lines=True, insertion="invoice", **OSS)
    items = to_invoice_payload(invoice, relation_id=1)["items"]
    assert items[0]["description"] == "Omzet cursussen DE 19% (OSS)"


def test_ungrouped_oss_rows_end_with_their_country_and_rate():
    booking = map_raw(two_german_rates(), **OSS)
    assert [r.description for r in booking.rows] == [
        "Cursus A DE 19% (OSS)",
        "Cursus B DE 19% (OSS)",
        "Werkboek DE 7% (OSS)",
        "Verzendkosten DE 19% (OSS)",
        "Korting HALLO DE 19% (OSS)",
        "Korting HALLO DE 7% (OSS)",
        "Btw DE 19% (OSS)",
        "Btw DE 7% (OSS)",
    ]
    rows = to_mutation_payload(booking, relation_id=1)["rows"]
    assert rows[0]["description"] == "Cursus A DE 19% (OSS)"


def test_a_long_label_is_cut_before_the_country_and_rate():
    raw = build([item("Cursus " * 60, "119.00", "DE:19")], country="DE")
    description = map_raw(raw, **OSS).rows[0].description
    assert len(description) <= 200 and description.endswith("… DE 19% (OSS)")


@pytest.mark.parametrize("grouped", [False, True])
def test_domestic_rows_are_not_tagged(grouped):
    raw = build([item("Cursus", "121.00"), item("Boek", "21.80", "NL:9", product=2)])
    booking = map_raw(raw, group_lines=grouped, **OSS)
    assert all(r.description is None or "(OSS)" not in r.description for r in booking.rows)
    assert not any(r.oss for r in booking.rows)


# --- the report, pure: bookings in, lines per country and rate out ---------------------------

LEDGERS = {1641: "DE", 1642: "FR"}  # OSS ledger id -> country


def mutation(number: str, *rows: tuple[int, str, str, str | None], mid: int = 1) -> dict:
    return {
        "id": mid,
        "type": 2,
        "invoiceNumber": number,
        "rows": [
            {"ledgerId": ledger, "vatCode": code, "amount": D(amount), "description": text}
            for ledger, code, amount, text in rows
        ],
    }


def german_order(number: str, gross: str, rate: str = "DE:19", **kwargs) -> Order:
    order_id = int(number[-4:])
    raw = build(
        [item("Cursus", gross, rate)],
        country="DE",
        number=number,
        order_id=order_id,
        invoice_date="2026-02-10",
        **kwargs,
    )
    return parse_order(raw)


def report(orders, mutations, known=None) -> oss_return.OssReturn:
    return oss_return.oss_return(
        orders,
        mutations,
        SETTINGS_OSS,
        quarter=date(2026, 2, 1),
        oss_ledger_ids=LEDGERS,
        known_numbers=known or {},
    )


def lines(result) -> list[tuple]:
    return [
        (
            x.country,
            x.rate,
            str(x.eboekhouden_base),
            str(x.eboekhouden_vat),
            str(x.plugandpay_base),
            str(x.plugandpay_vat),
        )
        for x in result.lines
    ]


def test_marked_rows_are_placed_by_their_mark_and_credits_subtract():
    result = report(
        [
            german_order("2026-0001", "119.00"),
            german_order(
                "2026-0002",
                "119.00",
                payment_status="credit_invoice",
                related=[{"id": 1, "invoice_number": "2026-0001", "payment_status": "credited"}],
            ),
        ],
        [
            mutation(
                "2026-0001",
                (8010, "AFST_VERK", "100.00", "Cursus DE 19% (OSS)"),
                (1641, "GEEN", "19.00", "Btw DE 19% (OSS)"),
            ),
            mutation(
                "2026-0002",
                (8010, "AFST_VERK", "-100.00", "Cursus DE 19% (OSS)"),
                (1641, "GEEN", "-19.00", "Btw DE 19% (OSS)"),
                mid=2,
            ),
        ],
    )
    assert lines(result) == [("DE", "19", "0.00", "0.00", "0.00", "0.00")]
    assert result.in_balance and result.orders == []


def test_an_unmarked_booking_is_placed_by_its_oss_ledger_and_its_rate_shows_unknown():
    booked_by_hand = mutation(
        "2026-0003", (8000, "AFST_VERK", "50.00", None), (1642, "GEEN", "10.00", "btw")
    )
    result = report([], [booked_by_hand], known={})
    assert lines(result) == [("FR", "?", "50.00", "10.00", "0.00", "0.00")]
    assert result.unplaced == [1]  # the rate cannot be told without a mark
    assert [(d.kind, d.invoice_number, d.eboekhouden) for d in result.orders] == [
        ("extra", "2026-0003", D("60.00"))
    ]
    assert not result.in_balance


def test_an_unmarked_row_takes_the_one_rate_of_its_booking():
    rows = mutation(
        "2026-0004",
        (8000, "AFST_VERK", "100.00", None),
        (1641, "GEEN", "19.00", "Btw DE 19% (OSS)"),
    )
    result = report([german_order("2026-0004", "119.00")], [rows])
    assert lines(result) == [("DE", "19", "100.00", "19.00", "100.00", "19.00")]
    assert result.in_balance


def test_missing_and_different_orders_are_listed():
    result = report(
        [german_order("2026-0005", "119.00"), german_order("2026-0006", "107.00", "DE:7")],
        [mutation("2026-0006", (8000, "HOOG_VERK_21", "107.00", None))],
    )
    assert [(d.kind, d.invoice_number) for d in result.orders] == [
        ("different", "2026-0006"),
        ("missing", "2026-0005"),
    ]
    assert lines(result) == [
        ("DE", "19", "0.00", "0.00", "100.00", "19.00"),
        ("DE", "7", "0.00", "0.00", "100.00", "7.00"),
    ]


@pytest.mark.parametrize(
    ("text", "first"),
    [
        ("2026-Q3", date(2026, 7, 1)),
        ("2026-Q1", date(2026, 1, 1)),
        ("2026-Q5", date(2026, 10, 1)),
        ("", date(2026, 10, 1)),
        ("1999-Q2", date(2026, 10, 1)),
    ],
)
def test_the_quarter_is_read_from_its_name_else_this_quarter(text, first):
    assert oss_return.parse_quarter(text, date(2026, 11, 18)) == first
    assert oss_return.quarter_bounds(date(2026, 12, 31)) == (date(2026, 10, 1), date(2026, 12, 31))
    assert oss_return.quarter_name(date(2026, 4, 1)) == "2026-Q2"


# --- the whole path: sandbox orders → flask sync → bookings → the report and its CSV --------

# The first quarter of 2026 holds no demo order: only these are in the report.
Q1 = [
    {
        **two_german_rates(),
        "id": 9301,
        "invoice_number": "2026-09301",
        "invoice_date": "2026-02-10",
    },
    build(
        [item("Cours", "120.00", "FR:20")],
        country="FR",
        order_id=9302,
        number="2026-09302",
        invoice_date="2026-02-11",
    ),
    *original_and_credit(
        9303,
        0,
        0,
        "DE:19",
        email="lena@example.de",
        firstname="Lena",
        lastname="Koch",
        country="DE",
    ),
    build(
        [item("Cursus", "121.00")], order_id=9305, number="2026-09305", invoice_date="2026-02-13"
    ),  # domestic: not on the return
]
Q1[2]["invoice_date"], Q1[3]["invoice_date"] = "2026-02-12", "2026-03-02"  # 9304: its credit


@pytest.fixture(params=["mutation", "invoice"])
def quarter_booked(request, app, sandbox, client, auth):
    configure(app, start_date="2026-01-01", group_lines=True, insertion=request.param)
    put_orders(sandbox, Q1)
    result = app.test_cli_runner().invoke(args=["sync"])
    assert "order 2026-093" not in result.output, result.output  # the demo's refusals only
    auth.login()
    return client


def test_the_quarter_report_lists_base_and_vat_per_country_and_rate(app, quarter_booked, sandbox):
    # The grouped booking of the two German rates keeps them apart in e-Boekhouden itself.
    descriptions = [r["description"] for r in booked(sandbox, "2026-09301")["rows"]]
    assert descriptions == [
        "Omzet cursussen DE 19% (OSS)",
        "Omzet cursussen DE 7% (OSS)",
        "Verzendkosten DE 19% (OSS)",
        "Btw DE 19% (OSS)",
        "Btw DE 7% (OSS)",
    ]
    with app.app_context():
        result = reports.build_oss(date(2026, 1, 1))
    assert lines(result) == [
        ("DE", "19", "147.63", "28.04", "147.63", "28.04"),  # the credit invoice took 9303 out
        ("DE", "7", "18.86", "1.32", "18.86", "1.32"),
        ("FR", "20", "100.00", "20.00", "100.00", "20.00"),
    ]
    assert result.in_balance, result.orders
    html = quarter_booked.get("/reports/oss?quarter=2026-Q1").get_data(as_text=True)
    assert "OSS return" in html and "2026-Q1" in html and "In balance" in html
    assert '<option value="2026-Q1" selected>' in html


def test_the_quarter_csv_is_for_dutch_excel(quarter_booked):
    resp = quarter_booked.get("/reports/oss.csv?quarter=2026-Q1")
    assert resp.mimetype == "text/csv"
    assert 'filename="pp2eb-oss-2026-Q1.csv"' in resp.headers["Content-Disposition"]
    text = resp.get_data(as_text=True)
    assert text.startswith("\ufeff")
    rows = text[1:].split("\r\n")
    assert rows[1] == "Country and rate;DE;19;147,63;28,04;147,63;28,04;0,00;0,00"
    assert rows[4] == "Total;;;266,49;49,36;266,49;49,36;;"
