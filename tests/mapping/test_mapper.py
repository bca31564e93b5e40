"""The mapper, case by case as a bookkeeper would check it: rows, ledgers, VAT codes, cents.

Every booked case also asserts the invariants: the rows add up to Plug&Pay's
``amount_with_tax``; the VAT e-Boekhouden computes per code over those rows (computed here,
independently of pp2eb) is Plug&Pay's VAT; all of Plug&Pay's VAT is accounted for; and both
request bodies validate against the e-Boekhouden OpenAPI subset.
"""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openapi_schema_validator import OAS30Validator

from pp2eb import jsonutil
from pp2eb.mapping.mapper import (
    Booking,
    Ledger,
    OriginalBooking,
    ReferenceData,
    Skip,
    Template,
    Wait,
    before_start_date,
    map_order,
    to_invoice_payload,
    to_mutation_payload,
)
from pp2eb.mapping.problems import MappingError
from pp2eb.mapping.readings import parse_order
from pp2eb.mapping.rows import split
from pp2eb.mapping.settings import DEFAULTS, USUAL_CODES, Settings
from tests.mapping.test_order import build, changed, item

# Found wherever the sandbox keeps it, so a move of the sandbox does not break this test.
SPEC_FILE = next((Path(__file__).parents[2] / "pp2eb").rglob("eboekhouden-v1-subset.openapi.json"))
SPEC = json.loads(SPEC_FILE.read_text())
LEDGERS = [
    Ledger(22206400, "1300", "Debiteuren", "DEB"),
    Ledger(22206410, "1100", "Bank", "FIN"),
    Ledger(22206440, "1640", "Btw België (OSS)", "BAL"),
    Ledger(22206441, "1641", "Btw Duitsland (OSS)", "BAL"),
    Ledger(22206442, "1642", "Btw Frankrijk (OSS)", "BAL"),
    Ledger(22206462, "8000", "Omzet", "VW"),
    Ledger(22206463, "8010", "Omzet cursussen", "VW"),
    Ledger(22206464, "8020", "Omzet boeken", "VW"),
    Ledger(22206470, "8050", "Verzendkosten", "VW"),
    Ledger(22206479, "8090", "Afrondingsverschillen", "VW"),
]
# Plug&Pay's own ledger codes on its products: 8030 does not exist in e-Boekhouden, product 4
# has none, product 5 has one typed as a number (the SDK allows int|string|null). Products 2
# and 5 are physical (goods), 1 and 3 are not (services); product 4 does not say.
REF = ReferenceData.build(
    LEDGERS,
    [Template(752296, "Standaard")],
    product_ledgers={1: "8010", 2: "8020", 3: "8030", 4: None, 5: 8020},
    product_physical={1: False, 2: True, 3: False, 5: True},
)
SETTINGS = Settings.from_dict(
    {
        **DEFAULTS,
        **USUAL_CODES,
        "start_date": "2026-01-01",
        "oss_ledgers": {"BE": "1640", "DE": "1641", "FR": "1642"},
    }
)
CREDITED = [{"id": 41, "invoice_number": "2026-00041", "payment_status": "credited"}]
ORIGINAL = OriginalBooking(relation_id=4711, invoice_number="2026-00041")
H, L, CENTS = "HOOG_VERK_21", "LAAG_VERK_9", Decimal("0.01")
RATES = {H: Decimal(21), L: Decimal(9)}  # written out here, not taken from pp2eb


def map_raw(raw: dict, ref: ReferenceData = REF, **overrides):
    return map_order(parse_order(raw), replace(SETTINGS, **overrides), ref)


def eboekhouden_vat(rows) -> dict[str, Decimal]:
    """VAT per code as e-Boekhouden computes it: over each code's gross total, half-up."""
    totals: dict[str, Decimal] = {}
    for row in rows:
        totals[row.vat_code] = totals.get(row.vat_code, Decimal(0)) + row.amount
    return {
        code: (gross * RATES.get(code, 0) / (100 + RATES.get(code, 0))).quantize(
            CENTS, rounding=ROUND_HALF_UP
        )
        for code, gross in totals.items()
    }


def validate(payload: dict, schema: str) -> None:
    wire = jsonutil.loads(jsonutil.dumps(payload))  # what the engine sends
    OAS30Validator({"$ref": f"#/components/schemas/{schema}", **SPEC}).validate(wire)


def two_courses_and_a_book() -> dict:
    lines = [item("Cursus A", "121.00"), item("Cursus B", "60.50"), item("Boek", "21.80", "NL:9")]
    for line in lines[2:]:
        line["product"] = 2
    return build(lines, shipping=("6.05", "NL:21"), discounts=[("10.00", "WELKOM")])


COURSE_AND_BOOK = [item("Cursus", "121.00"), item("Boek", "109.00", "NL:9", product=2)]
ROUNDING_21 = [item("Cursus", "45.38"), item("Werkboek", "15.13")]  # 37.50 + 12.50 net

# (raw order, setting overrides, rows as (ledger, VAT code, amount), Plug&Pay's VAT per code,
#  Plug&Pay's VAT per OSS country)
BOOKED = [
    pytest.param(
        build([item("Online cursus", "121.00")]),
        {},
        [("8010", H, "121.00")],
        {H: "21.00"},
        {},
        id="NL 21%",
    ),
    pytest.param(
        build([item("Boek", "21.80", "NL:9", product=2)]),
        {},
        [("8020", L, "21.80")],
        {L: "1.80"},
        {},
        id="NL 9%",
    ),
    pytest.param(
        build([item("Cursus", "121.00"), item("Boek", "21.80", "NL:9", product=2)]),
        {},
        [("8010", H, "121.00"), ("8020", L, "21.80")],
        {H: "21.00", L: "1.80"},
        {},
        id="mixed 21% and 9%",
    ),
    pytest.param(
        build([item("Cadeaubon", "50.00", "NL:0", product=4)]),
        {},
        [("8000", "GEEN", "50.00")],
        {},
        {},
        id="NL 0%",
    ),
    pytest.param(
        build([item("Cursus", "121.00", discount="12.10", code="ZOMER")]),
        {},
        [("8010", H, "108.90")],
        {H: "18.90"},
        {},
        id="item discount lowers its own line",
    ),
    pytest.param(
        build(COURSE_AND_BOOK, discounts=[("23.00", "WELKOM")]),
        {},
        [("8010", H, "121.00"), ("8020", L, "109.00"), ("8010", H, "-11.51")]
        + [("8020", L, "-11.49")],
        {H: "19.00", L: "8.05"},
        {},
        id="order discount over two rates",
    ),
    pytest.param(
        build(COURSE_AND_BOOK, discounts=[("20.00", "WELKOM")], split="net"),
        {},
        [("8010", H, "121.00"), ("8020", L, "109.00"), ("8010", H, "-12.10")]
        + [("8020", L, "-10.90")],
        {H: "18.90", L: "8.10"},
        {},
        id="order discount over two rates, split excl. VAT",
    ),
    pytest.param(
        build(
            [item("Cursus", "121.00"), item("Boek", "60.50", product=2)], discounts=[("10.00", "")]
        ),
        {},
        # One rate, two ledgers: 10.00 in proportion 2 : 1, the spare cent to the larger remainder.
        [("8010", H, "121.00"), ("8020", H, "60.50"), ("8010", H, "-6.67"), ("8020", H, "-3.33")],
        {H: "29.76"},
        {},
        id="order discount split over the ledgers of its lines",
    ),
    pytest.param(
        build(COURSE_AND_BOOK, discounts=[("23.00", "WELKOM")]),
        {"discount_ledger": "8000"},
        [("8010", H, "121.00"), ("8020", L, "109.00"), ("8000", H, "-11.51")]
        + [("8000", L, "-11.49")],
        {H: "19.00", L: "8.05"},
        {},
        id="order discount on the discount ledger when one is set",
    ),
    pytest.param(
        build([item("Boek", "21.80", "NL:9", product=2)], shipping=("6.05", "NL:21")),
        {},
        [("8020", L, "21.80"), ("8050", H, "6.05")],
        {L: "1.80", H: "1.05"},
        {},
        id="shipping on its ledger with its VAT",
    ),
    pytest.param(
        two_courses_and_a_book(),
        {},
        [("8010", H, "121.00"), ("8010", H, "60.50"), ("8020", L, "21.80"), ("8050", H, "6.05")]
        + [("8010", H, "-8.79"), ("8020", L, "-1.21")],
        {H: "31.02", L: "1.70"},
        {},
        id="grouping off",
    ),
    pytest.param(
        two_courses_and_a_book(),
        {"group_lines": True},
        [("8010", H, "172.71"), ("8020", L, "20.59"), ("8050", H, "6.05")],
        {H: "31.02", L: "1.70"},
        {},
        id="grouping on",
    ),
    pytest.param(
        build(
            [item("Cursus", "100.00", "BE:0")],
            country="BE",
            company="Studio Peeters BV",
            tax_exempt="reverse",
            vat_id="BE0123456789",
        ),
        {},
        [("8010", "BI_EU_VERK_D", "100.00")],
        {},
        {},
        id="reverse charge BE business with VAT id",
    ),
    pytest.param(
        build([item("Cursus", "100.00", "US:0")], country="US"),
        {},
        [("8010", "GEEN", "100.00")],
        {},
        {},
        id="course to a US consumer: a service outside the EU, no Dutch box",
    ),
    pytest.param(
        build([item("Cursus", "119.00", "DE:19")], country="DE"),
        {"oss": "oss"},
        [("8010", "AFST_VERK", "100.00"), ("1641", "GEEN", "19.00")],
        {},
        {"DE": "19.00"},
        id="OSS consumer DE with oss",
    ),
    pytest.param(
        build([item("Cursus", "120.00", "FR:20")], country="FR"),
        {"oss": "oss"},
        [("8010", "AFST_VERK", "100.00"), ("1642", "GEEN", "20.00")],
        {},
        {"FR": "20.00"},
        id="OSS consumer FR with oss",
    ),
    pytest.param(
        build(
            [item("Cursus", "121.00", "BE:21"), item("Boek", "106.00", "BE:6", product=2)],
            country="BE",
            shipping=("6.05", "BE:21"),
            discounts=[("12.00", "X")],
        ),
        {"oss": "oss"},
        [("8010", "AFST_VERK", "100.00"), ("8020", "AFST_VERK", "100.00")]
        + [("8050", "AFST_VERK", "5.00"), ("8010", "AFST_VERK", "-4.95")]
        + [("8020", "AFST_VERK", "-5.67")]
        + [("1640", "GEEN", "21.01"), ("1640", "GEEN", "5.66")],
        {},
        {"BE": "26.67"},
        id="OSS consumer BE with oss, two rates, shipping and discount",
    ),
    *[
        pytest.param(
            build([item("Cursus", "121.00")], country=country),
            {"oss": "home_country"},
            [("8010", H, "121.00")],
            {H: "21.00"},
            {},
            id=f"EU consumer {country} with home_country",
        )
        for country in ("DE", "FR", "BE")
    ],
    pytest.param(
        build(ROUNDING_21),
        {},
        [
            ("8010", H, "45.38"),
            ("8010", H, "15.13"),
            ("8090", H, "0.02"),
            ("8090", "GEEN", "-0.02"),
        ],
        {H: "10.51"},
        {},
        id="rounding: per line 10.51, per total 10.50 at 21%",
    ),
    pytest.param(
        build(
            [item("Boek A", "19.95", "NL:9", product=2), item("Boek B", "19.95", "NL:9", product=2)]
        ),
        {},
        [
            ("8020", L, "19.95"),
            ("8020", L, "19.95"),
            ("8090", L, "0.01"),
            ("8090", "GEEN", "-0.01"),
        ],
        {L: "3.30"},
        {},
        id="rounding: per line 3.30, per total 3.29 at 9%",
    ),
    pytest.param(
        build(ROUNDING_21),
        {"group_lines": True},
        [("8010", H, "60.51"), ("8090", H, "0.02"), ("8090", "GEEN", "-0.02")],
        {H: "10.51"},
        {},
        id="rounding rows stay visible when grouped",
    ),
    pytest.param(
        build([item("Online cursus", "121.00")], payment_status="credit_invoice", related=CREDITED),
        {},
        [("8010", H, "-121.00")],
        {H: "-21.00"},
        {},
        id="credit invoice",
    ),
    pytest.param(
        build(ROUNDING_21, payment_status="credit_invoice", related=CREDITED),
        {},
        [("8010", H, "-45.38"), ("8010", H, "-15.13"), ("8090", H, "-0.02")]
        + [("8090", "GEEN", "0.02")],
        {H: "-10.51"},
        {},
        id="credit invoice with rounding rows",
    ),
    pytest.param(
        build([item("Cursus", "121.00", product=4)]),
        {"product_ledgers": {"4": "8020"}},
        [("8020", H, "121.00")],
        {H: "21.00"},
        {},
        id="product ledger from the settings",
    ),
    pytest.param(
        build([item("Cursus", "121.00", product=1)]),
        {"product_ledgers": {"1": "8000"}},
        [("8000", H, "121.00")],
        {H: "21.00"},
        {},
        id="settings win over the Plug&Pay ledger",
    ),
    pytest.param(
        build([item("Cursus", "121.00", product=3)]),
        {},
        [("8000", H, "121.00")],
        {H: "21.00"},
        {},
        id="Plug&Pay ledger missing in e-Boekhouden falls back to revenue",
    ),
    pytest.param(
        build([item("Boek", "121.00", product=5)]),
        {},
        [("8020", H, "121.00")],
        {H: "21.00"},
        {},
        id="Plug&Pay ledger given as a number",
    ),
    pytest.param(
        build([item("Maatwerk", "121.00", product=None)]),
        {},
        [("8000", H, "121.00")],
        {H: "21.00"},
        {},
        id="line without product on the revenue ledger",
    ),
    pytest.param(
        build([item("Cursus", "363.00", qty=3)]),
        {},
        [("8010", H, "363.00")],
        {H: "63.00"},
        {},
        id="three units on one line",
    ),
    pytest.param(
        build([item("Online cursus", "121.00")], payment_status="open"),
        {"orders": "final_invoices"},
        [("8010", H, "121.00")],
        {H: "21.00"},
        {},
        id="final but unpaid invoice with orders=final_invoices",
    ),
    pytest.param(
        build([item("Online cursus", "121.00")], payment_status="paid"),
        {"orders": "paid"},
        [("8010", H, "121.00")],
        {H: "21.00"},
        {},
        id="paid order with orders=paid",
    ),
    pytest.param(
        build([item("Online cursus", "121.00")], payment_status="credited"),
        {"orders": "paid"},
        [("8010", H, "121.00")],
        {H: "21.00"},
        {},
        id="credited original with orders=paid",
    ),
]


@pytest.mark.parametrize(("raw", "overrides", "rows", "vat", "oss"), BOOKED)
def test_booking(raw, overrides, rows, vat, oss):
    ref = REF.with_original(41, ORIGINAL)
    booking = map_raw(raw, ref, **overrides)
    assert isinstance(booking, Booking)
    assert [(r.ledger.code, r.vat_code, str(r.amount)) for r in booking.rows] == rows
    total = Decimal(raw["amount_with_tax"])
    assert booking.total == total == sum(row.amount for row in booking.rows)
    computed = eboekhouden_vat(booking.rows)
    assert booking.vat_expected == computed
    assert {code: v for code, v in computed.items() if code in RATES} == {
        code: Decimal(v) for code, v in vat.items()
    }
    assert booking.oss_vat == {country: Decimal(v) for country, v in oss.items()}
    oss_rows = sum(row.amount for row in booking.rows if row.kind == "oss_vat")
    plugandpay_vat = sum(Decimal(tax["amount"]) for tax in raw["taxes"])
    assert sum(computed.values()) + oss_rows == plugandpay_vat
    assert sum(booking.vat_plugandpay.values()) == plugandpay_vat
    validate(to_mutation_payload(booking, relation_id=4711), "CreateMutation")
    invoice = map_raw(raw, ref, **{**overrides, "insertion": "invoice"})
    assert invoice.rows == booking.rows
    validate(to_invoice_payload(invoice, relation_id=4711), "CreateInvoice")


def test_mutation_payload():
    booking = map_raw(build([item("Online cursus", "121.00")]))
    assert to_mutation_payload(booking, relation_id=4711) == {
        "type": 2,
        "date": "2026-02-03",
        "ledgerId": 22206400,
        "relationId": 4711,
        "invoiceNumber": "2026-00042",
        "termOfPayment": 14,
        "description": "Plug&Pay factuur 2026-00042, Jan Jansen",
        "inExVat": "IN",
        "paymentReference": "pp2eb-42",
        "checkPaymentReference": True,
        "rows": [
            {
                "ledgerId": 22206463,
                "vatCode": H,
                "amount": Decimal("121.00"),
                "description": "Online cursus",
            }
        ],
    }


def test_invoice_payload():
    booking = map_raw(build([item("Online cursus", "121.00")]), insertion="invoice")
    payload = to_invoice_payload(booking, relation_id=4711)
    assert payload["templateId"] == 752296
    assert payload["inExVat"] == "IN"
    assert payload["termOfPayment"] == 14
    assert payload["mutation"] == {
        "ledgerId": 22206400,
        "description": "Plug&Pay factuur 2026-00042, Jan Jansen",
        "paymentReference": "pp2eb-42",
        "checkPaymentReference": True,
    }
    assert payload["items"] == [
        {
            "description": "Online cursus",
            "quantity": 1,
            "pricePerUnit": Decimal("121.00"),
            "vatCode": H,
            "ledgerId": 22206463,
        }
    ]


def test_grouped_invoice_items_are_described_by_their_ledger():
    booking = map_raw(two_courses_and_a_book(), group_lines=True, insertion="invoice")
    items = to_invoice_payload(booking, relation_id=1)["items"]
    assert [i["description"] for i in items] == [
        "Omzet cursussen",
        "Omzet boeken",
        "Verzendkosten",
    ]
    assert all(
        "description" not in row for row in to_mutation_payload(booking, relation_id=1)["rows"]
    )


def test_row_descriptions():
    raw = build(
        [
            item("Cursus", "363.00", qty=3, discount="36.30", code="ZOMER"),
            item("Boek", "21.80", "NL:9"),
        ],
        shipping=("6.05", "NL:21"),
        discounts=[("5.00", "WELKOM")],
    )
    booking = map_raw(raw)
    assert [row.description for row in booking.rows] == [
        "3x Cursus (korting ZOMER)",
        "Boek",
        "Verzendkosten",
        "Korting WELKOM",
        "Korting WELKOM",
    ]


def test_long_descriptions_are_cut_never_refused():
    raw = build([item("Zeer uitgebreide cursus " * 20, "121.00")], lastname="Van " * 30)
    booking = map_raw(raw)
    assert 190 < len(booking.rows[0].description) <= 200
    assert booking.rows[0].description.endswith("…")
    assert 40 < len(booking.description) <= 50
    assert booking.description.startswith("Plug&Pay factuur 2026-00042, Jan Van")
    validate(to_mutation_payload(booking, relation_id=1), "CreateMutation")


def test_non_ascii_names_pass_unchanged():
    raw = build([item("Cursus Ærø — déjà vu", "121.00")], firstname="Zoë", lastname="Müller")
    booking = map_raw(raw)
    assert booking.rows[0].description == "Cursus Ærø — déjà vu"
    assert booking.description == "Plug&Pay factuur 2026-00042, Zoë Müller"
    assert booking.relation.name == "Zoë Müller"


def test_booking_date_is_the_invoice_date():
    booking = map_raw(build([item("Cursus", "121.00")], invoice_date="2025-12-31"))
    assert booking.date.isoformat() == "2025-12-31"


def test_reference_order_number():
    booking = map_raw(build([item("Cursus", "121.00")], order_id=1234), reference="order_number")
    assert booking.invoice_number == "1234"
    assert booking.description.startswith("Plug&Pay bestelling 1234")
    assert booking.payment_reference == "pp2eb-1234"


def test_order_number_fixes_fact_009():
    raw = build([item("Cursus", "121.00")], number="2026-0042-A")
    booking = map_raw(raw, insertion="invoice", reference="order_number")
    assert booking.invoice_number == "42"
    assert map_raw(raw).invoice_number == "2026-0042-A"  # a mutation takes it as it is


def test_rounding_notes_explain_the_rows():
    booking = map_raw(build(ROUNDING_21))
    assert booking.notes == (
        "HOOG_VERK_21: Plug&Pay's VAT (rounded per line) is 10.51; e-Boekhouden would compute "
        "10.50 over the total. Rounding rows of 0.02 at HOOG_VERK_21 and -0.02 at GEEN on "
        "ledger 8090 make it 10.51; the total is unchanged.",
    )
    assert [row.kind for row in booking.rows] == ["line", "line", "rounding", "rounding"]


def test_credit_invoice_uses_the_originals_relation():
    raw = build([item("Cursus", "121.00")], payment_status="credit_invoice", related=CREDITED)
    booking = map_raw(raw, REF.with_original(41, ORIGINAL))
    assert booking.relation_id == 4711
    assert booking.credit_of == "2026-00041"
    assert booking.invoice_number == "2026-00042"
    assert booking.description == "Plug&Pay creditfactuur 2026-00042 bij 2026-00041"
    assert to_mutation_payload(booking, relation_id=4711)["relationId"] == 4711
    with pytest.raises(ValueError, match="must be booked on relation 4711"):
        to_mutation_payload(booking, relation_id=99)


def test_credit_invoice_waits_for_its_original():
    raw = build([item("Cursus", "121.00")], payment_status="credit_invoice", related=CREDITED)
    result = map_raw(raw)
    assert result == Wait(
        "Credit invoice 2026-00042 waits for its original, order 41 (invoice 2026-00041), "
        "to be booked."
    )


@pytest.mark.parametrize(
    ("raw", "overrides", "reason"),
    [
        pytest.param(
            build([item("Cursus", "121.00")], mode="test"),
            {},
            "Test-mode order; only live orders are booked.",
            id="test mode",
        ),
        pytest.param(
            build([item("Cursus", "121.00")], invoice_status="concept", number=None),
            {},
            "Concept invoice; only final invoices are booked.",
            id="concept",
        ),
        pytest.param(
            build([item("Cursus", "121.00")], payment_status="open"),
            {"orders": "paid"},
            "Not paid (payment status open); only paid orders are booked.",
            id="unpaid with orders=paid",
        ),
        pytest.param(
            build([item("Cursus", "121.00")], payment_status="processing"),
            {"orders": "paid"},
            "Not paid (payment status processing); only paid orders are booked.",
            id="processing with orders=paid",
        ),
        pytest.param(
            build([item("Gratis webinar", "0.00")]),
            {},
            "Nothing to book: order 42 totals 0.00.",
            id="nothing to book",
        ),
    ],
)
def test_skipped(raw, overrides, reason):
    assert map_raw(raw, **overrides) == Skip(reason)


def test_before_start_date():
    order = parse_order(build([item("Cursus", "121.00")], invoice_date="2025-12-31"))
    assert before_start_date(order, SETTINGS)
    assert not before_start_date(order, replace(SETTINGS, start_date=order.invoice_date))


def _without(code: str) -> ReferenceData:
    return replace(REF, ledgers={c: v for c, v in REF.ledgers.items() if c != code})


NL21 = build([item("Online cursus", "121.00")])


def _vat_off_its_rate() -> dict:
    """NL21 with 20.00 VAT on 101.00: adds up, but is not 21%."""
    raw = changed(NL21, "items.0.amount", "101.00")
    raw = changed(raw, "items.0.tax.amount", "20.00")
    raw = changed(raw, "amount", "101.00")
    return changed(raw, "taxes.0.amount", "20.00")


# (raw order, setting overrides, reference data, words the reason must contain, setting)
REFUSED = [
    pytest.param(
        changed(NL21, "amount", "99.00"),
        {},
        REF,
        ["items + shipping − discounts excl. VAT = 100.00", "the order's amount = 99.00"],
        None,
        id="does not add up excl. VAT",
    ),
    pytest.param(
        changed(changed(NL21, "amount_with_tax", "120.00"), "taxes.0.amount", "20.00"),
        {},
        REF,
        ["incl. VAT = 121.00", "amount_with_tax = 120.00"],
        None,
        id="does not add up incl. VAT",
    ),
    pytest.param(
        changed(NL21, "taxes.0.amount", "100.00"),
        {},
        REF,
        ["the VAT per rate (taxes) = 100.00", "amount_with_tax − amount = 21.00"],
        None,
        id="taxes are a base, not VAT",
    ),
    pytest.param(
        changed(NL21, "items.0.tax.amount", "20.00"),
        {},
        REF,
        ["items[0] (Online cursus) incl. VAT − excl. VAT = 21.00", "its VAT = 20.00"],
        None,
        id="line VAT is not incl. minus excl.",
    ),
    pytest.param(
        _vat_off_its_rate(),
        {},
        REF,
        ["The VAT on line 'Online cursus' is 20.00", "101.00 excl. VAT at NL:21 (about 21.21)"],
        None,
        id="line VAT does not fit its rate",
    ),
    pytest.param(
        build([item("Cursus", "112.00", "NL:12")]),
        {},
        REF,
        ["Unknown VAT rate NL:12"],
        "vat_map",
        id="unknown VAT rate",
    ),
    pytest.param(
        NL21,
        {"vat_map": {**SETTINGS.vat_map, "NL:21": L}},
        REF,
        ["books NL:21 with LAAG_VERK_9, which e-Boekhouden computes at 9%"],
        "vat_map",
        id="VAT code of the wrong rate",
    ),
    pytest.param(
        build([item("Cursus", "121.00", product=None)]),
        {},
        _without("8000"),
        ["The revenue ledger 8000 does not exist in e-Boekhouden"],
        "revenue_ledger",
        id="missing revenue ledger",
    ),
    pytest.param(
        NL21,
        {},
        _without("1300"),
        ["The debtor ledger 1300 does not exist"],
        "debtor_ledger",
        id="missing debtor ledger",
    ),
    pytest.param(
        NL21,
        {"debtor_ledger": "1100"},
        REF,
        ["ledger 1100 (Bank) has category FIN; it must be a debtor ledger (DEB)"],
        "debtor_ledger",
        id="debtor ledger of the wrong category",
    ),
    pytest.param(
        NL21,
        {"product_ledgers": {"1": "8099"}},
        REF,
        ["The product 1 ledger 8099 does not exist"],
        "product_ledgers",
        id="missing product ledger",
    ),
    pytest.param(
        build([item("Boek", "21.80", "NL:9", product=2)], shipping=("6.05", "NL:21")),
        {"shipping_ledger": "1640"},
        REF,
        ["The shipping ledger 1640 (Btw België (OSS)) has category BAL"],
        "shipping_ledger",
        id="shipping ledger of the wrong category",
    ),
    pytest.param(
        build(ROUNDING_21),
        {},
        _without("8090"),
        ["The rounding ledger 8090 does not exist"],
        "rounding_ledger",
        id="missing rounding ledger when rounding is needed",
    ),
    pytest.param(
        build(ROUNDING_21),
        {"rounding_ledger": None},
        REF,
        ["No rounding ledger is chosen (setting rounding_ledger)", "needs one for a VAT rounding"],
        "rounding_ledger",
        id="no rounding ledger chosen when rounding is needed",
    ),
    pytest.param(
        build([item("Boek", "21.80", "NL:9", product=2)], shipping=("6.05", "NL:21")),
        {"shipping_ledger": None},
        REF,
        ["No shipping ledger is chosen (setting shipping_ledger)", "for its shipping costs."],
        "shipping_ledger",
        id="no shipping ledger chosen for an order with shipping costs",
    ),
    pytest.param(
        build([item("Cursus", "100.00", "BE:0")], country="BE", company="X", tax_exempt="reverse"),
        {},
        REF,
        ["to BE is marked reverse charge but has no VAT id"],
        None,
        id="reverse charge without VAT id",
    ),
    pytest.param(
        build(
            [item("Cursus", "121.00", "BE:21")], country="BE", tax_exempt="reverse", vat_id="BE1"
        ),
        {},
        REF,
        ["to BE is a reverse-charge order but was charged VAT at BE:21"],
        None,
        id="reverse charge with VAT charged",
    ),
    pytest.param(
        build([item("Cursus", "121.00")], country="US"),
        {},
        REF,
        ["to US is a sale outside the EU but was charged VAT at NL:21 on the line 'Cursus'"],
        "dutch_vat_products",
        id="sale outside the EU with NL VAT charged",
    ),
    pytest.param(
        build([item("Cursus", "122.00", "AT:22")], country="AT"),
        {"oss": "oss"},
        REF,
        ["No OSS ledger is linked for AT"],
        "oss_ledgers",
        id="OSS country without a ledger",
    ),
    pytest.param(
        build([item("Cursus", "119.00", "DE:19")], country="DE"),
        {"oss": "home_country"},
        REF,
        ["consumer in DE was charged DE:19, not an NL rate"],
        "oss",
        id="home_country with a foreign rate",
    ),
    pytest.param(
        build([item("Cursus", "121.00")], country="DE"),
        {"oss": "oss"},
        REF,
        ["consumer in DE was charged NL:21 on the line 'Cursus', but the OSS setting books"],
        "dutch_vat_products",
        id="oss with NL VAT charged",
    ),
    pytest.param(
        build([item("Cursus", "121.00")], number="2026-0042-A"),
        {"insertion": "invoice"},
        REF,
        ["'2026-0042-A' does not end with a digit", "FACT_009"],
        "reference",
        id="FACT_009 invoice number without final digit",
    ),
    pytest.param(
        build([item("Cursus", "121.00")], number=None),
        {},
        REF,
        ["Order 42 has no invoice number"],
        "reference",
        id="no invoice number",
    ),
    pytest.param(
        build([item("Cursus", "121.00")], number="F" * 51),
        {},
        REF,
        ["longer than the 50 characters"],
        "reference",
        id="invoice number too long",
    ),
    pytest.param(
        NL21,
        {"insertion": "invoice", "invoice_template": "Luxe"},
        REF,
        ["no invoice template named 'Luxe'"],
        "invoice_template",
        id="missing invoice template",
    ),
    pytest.param(
        changed(NL21, "invoice_date", None),
        {},
        REF,
        ["final invoice without an invoice date"],
        None,
        id="final invoice without a date",
    ),
    pytest.param(
        build([item("Cursus", "121.00")], payment_status="credit_invoice"),
        {},
        REF,
        ["does not name the one order it credits"],
        None,
        id="credit invoice without its original",
    ),
]


@pytest.mark.parametrize(("raw", "overrides", "ref", "words", "setting"), REFUSED)
def test_refused(raw, overrides, ref, words, setting):
    with pytest.raises(MappingError) as info:
        map_raw(raw, ref, **overrides)
    for word in words:
        assert word in info.value.reason
    assert info.value.setting == setting
    assert info.value.fix


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(build(COURSE_AND_BOOK), id="no shipping"),
        pytest.param(build(COURSE_AND_BOOK, shipping=("0.00", "NL:21")), id="zero shipping"),
    ],
)
def test_orders_that_need_neither_book_without_shipping_and_rounding_ledgers(raw):
    booking = map_raw(raw, shipping_ledger=None, rounding_ledger=None)
    assert booking.rows_total == booking.total
    assert {row.ledger.code for row in booking.rows} == {"8010", "8020"}


def test_fact_009_fix_names_both_ways_out():
    with pytest.raises(MappingError) as info:
        map_raw(build([item("Cursus", "121.00")], number="INV-A"), insertion="invoice")
    assert "Switch the reference setting to order numbers" in info.value.fix
    assert "use the booking (mutation) insertion type" in info.value.fix


def test_discount_that_does_not_fit_the_vat():
    raw = build(COURSE_AND_BOOK, discounts=[("23.00", "WELKOM")])
    # Move 1.00 of discount VAT from the 21% rate to the 9% rate: totals still add up.
    raw["taxes"][0]["amount"] = str(Decimal(raw["taxes"][0]["amount"]) + 1)
    raw["taxes"][1]["amount"] = str(Decimal(raw["taxes"][1]["amount"]) - 1)
    with pytest.raises(MappingError, match="do not fit the VAT Plug&Pay took off per rate"):
        map_raw(raw)


def test_taxes_that_do_not_match_the_lines():
    raw = build([item("Cursus", "121.00"), item("Boek", "21.80", "NL:9", product=2)])
    raw["taxes"][0]["amount"] = "20.00"
    raw["taxes"][1]["amount"] = "2.80"
    with pytest.raises(MappingError, match="Plug&Pay's VAT at NL:21 is 20.00, but the lines"):
        map_raw(raw)


def test_booking_relation_draft():
    booking = map_raw(build([item("Cursus", "121.00")], company="Café Timmermans & Zn"))
    assert booking.relation.type == "B"
    assert booking.relation.name == "Café Timmermans & Zn"
    assert booking.relation_id is None and booking.credit_of is None


_RATE_SETS = {"NL": ["NL:21", "NL:9", "NL:0"], "DE": ["DE:19", "DE:7"]}


@st.composite
def consistent_orders(draw):
    """Orders as Plug&Pay makes them: any lines, discounts and shipping, NL or OSS to DE."""
    country = draw(st.sampled_from(["NL", "DE"]))
    rates = _RATE_SETS[country]
    lines = []
    for _ in range(draw(st.integers(1, 6))):
        gross = draw(st.integers(1, 50_000))
        discount = draw(st.integers(0, gross // 2)) if draw(st.booleans()) else 0
        lines.append(
            item(
                "Regel",
                str(Decimal(gross) / 100),
                draw(st.sampled_from(rates)),
                qty=draw(st.integers(1, 4)),
                product=draw(st.sampled_from([1, 2, 3, None])),
                discount=str(Decimal(discount) / 100),
            )
        )
    lines_gross = sum(int((line["gross"] - line["discount"]) * 100) for line in lines)
    discounts = [
        (str(Decimal(draw(st.integers(1, max(1, lines_gross // 4)))) / 100), f"CODE{i}")
        for i in range(draw(st.integers(0, 2)))
    ]
    shipping = None
    if draw(st.booleans()):
        shipping = (str(Decimal(draw(st.integers(1, 2_000))) / 100), rates[0])
    credit = draw(st.booleans())
    raw = build(
        lines,
        shipping=shipping,
        discounts=discounts if lines_gross > 4 else [],
        split=draw(st.sampled_from(["gross", "net"])),
        country=country,
        payment_status="credit_invoice" if credit else "paid",
        related=CREDITED if credit else (),
    )
    return raw, {"oss": "oss" if country == "DE" else "home_country"}


@settings(max_examples=400, deadline=None)
@given(consistent_orders(), st.booleans())
def test_every_consistent_order_books_exactly(case, grouped):
    raw, overrides = case
    booking = map_raw(raw, REF.with_original(41, ORIGINAL), group_lines=grouped, **overrides)
    if isinstance(booking, Skip):
        assert Decimal(raw["amount_with_tax"]) == 0
        return
    assert sum(row.amount for row in booking.rows) == Decimal(raw["amount_with_tax"])
    computed = eboekhouden_vat(booking.rows)
    assert booking.vat_expected == computed
    plugandpay = {}
    for tax in raw["taxes"]:
        key = f"{tax['rate']['country']}:{Decimal(tax['rate']['percentage']).normalize():f}"
        plugandpay[key] = plugandpay.get(key, 0) + Decimal(tax["amount"])
    if overrides["oss"] == "oss":
        oss = [row.amount for row in booking.rows if row.kind == "oss_vat"]
        assert sum(oss) == sum(plugandpay.values())
        assert all(not v for v in computed.values())
    else:
        codes = {"NL:21": H, "NL:9": L}
        for key, vat in plugandpay.items():
            if key in codes:
                assert computed.get(codes[key], 0) == vat
    rounding = [row for row in booking.rows if row.kind == "rounding"]
    assert sum(row.amount for row in rounding) == 0
    assert all(abs(row.amount) <= Decimal("0.50") for row in rounding)
    validate(to_mutation_payload(booking, relation_id=4711), "CreateMutation")


RICH = build(
    [item("Cursus", "121.00", discount="12.10"), item("Boek", "21.80", "NL:9", product=2)],
    shipping=("6.05", "NL:21"),
    discounts=[("10.00", "WELKOM")],
)
MONEY_PATHS = [
    "amount",
    "amount_with_tax",
    "items.0.amount",
    "items.0.amount_with_tax",
    "items.0.tax.amount",
    "items.0.discounts.0.amount",
    "items.1.amount",
    "items.1.tax.amount",
    "taxes.0.amount",
    "taxes.1.amount",
    "total_discounts.0.amount",
    "total_discounts.0.amount_with_tax",
    "shipping.amount",
    "shipping.taxes.0.amount",
]


@settings(max_examples=500, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(MONEY_PATHS), st.integers(0, 20_000)), max_size=3))
def test_damaged_figures_are_refused_or_booked_exactly(damage):
    raw = RICH
    for path, cents in damage:
        raw = changed(raw, path, f"{Decimal(cents) / 100:.2f}")
    try:
        booking = map_raw(raw)
    except MappingError:
        return
    assert sum(row.amount for row in booking.rows) == Decimal(raw["amount_with_tax"])
    assert booking.vat_expected == eboekhouden_vat(booking.rows)
    plugandpay = {tax["rate"]["percentage"]: Decimal(tax["amount"]) for tax in raw["taxes"]}
    assert booking.vat_expected[H] == plugandpay["21.0"]
    assert booking.vat_expected[L] == plugandpay["9.0"]


def test_a_long_label_is_cut_short_in_the_reason():
    raw = changed(changed(NL21, "items.0.label", "Cursus " * 2000), "items.0.tax.amount", "20.00")
    with pytest.raises(MappingError) as info:
        map_raw(raw, REF)
    assert "items[0] (Cursus Cursus" in info.value.reason and "…)" in info.value.reason
    assert len(info.value.reason) < 400


@pytest.mark.parametrize(
    ("total", "weights", "parts"),
    [
        ("10.00", ["2", "1"], ["6.67", "3.33"]),
        ("10.00", ["1", "1", "1"], ["3.34", "3.33", "3.33"]),
        ("-10.00", ["-2", "-1"], ["-6.67", "-3.33"]),  # a credit invoice: everything negative
        ("0.01", ["1", "1"], ["0.01", "0.00"]),
        ("5.00", ["3", "0", "1"], ["3.75", "0.00", "1.25"]),  # a free line gets nothing
        ("5.00", ["3", "-1"], None),  # mixed signs: no proportion to follow
        ("5.00", ["0"], None),
    ],
)
def test_split_puts_the_spare_cents_on_the_largest_remainders(total, weights, parts):
    result = split(Decimal(total), [Decimal(w) for w in weights])
    if parts is None:
        assert result is None
    else:
        assert result == [Decimal(p) for p in parts]
        assert sum(result) == Decimal(total)
