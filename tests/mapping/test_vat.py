"""The VAT decisions of the mapper, one row per case a bookkeeper recognises: goods or services,
contradictions refused in words, Dutch VAT abroad (place of supply), and the currency.

Every booked case also checks the invariants of ``tests/mapping/test_mapper.py``: the rows make
Plug&Pay's total, e-Boekhouden computes Plug&Pay's VAT, and both request bodies validate.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from pp2eb.mapping.mapper import Booking, Skip, to_invoice_payload, to_mutation_payload
from pp2eb.mapping.problems import MappingError
from tests.mapping.test_mapper import (
    CREDITED,
    ORIGINAL,
    RATES,
    REF,
    eboekhouden_vat,
    map_raw,
    validate,
)
from tests.mapping.test_order import build, changed, item

H = "HOOG_VERK_21"
GOODS_EU, SERVICES_EU, GOODS_OUT = "BI_EU_VERK", "BI_EU_VERK_D", "BU_EU_VERK"
# Products of tests/mapping/test_mapper.py's REF: 1 is a course (not physical), 2 a book (physical),
# 4 says nothing of is_physical, 99 is unknown to Plug&Pay's product list.
BOOK, COURSE, SILENT, UNKNOWN = 2, 1, 4, 99
BE_VAT, DE_VAT, NL_VAT = "BE0123456789", "DE123456789", "NL123456789B01"


def order(lines, country="NL", *, zipcode=None, city=None, reverse=False, vat_id=None, **kw):
    """An order of ``lines`` billed to ``country`` (a company when it has a VAT id)."""
    raw = build(
        lines,
        country=country,
        company="Studio Peeters BV" if vat_id else None,
        tax_exempt="reverse" if reverse else "none",
        vat_id=vat_id,
        **kw,
    )
    if zipcode is not None:
        raw = changed(raw, "billing.address.zipcode", zipcode)
    if city is not None:
        raw = changed(raw, "billing.address.city", city)
    return raw


def book(rate="BE:0", gross="25.00", product=BOOK):
    return item("Boek", gross, rate, product=product)


def course(rate="BE:0", gross="100.00", product=COURSE):
    return item("Cursus", gross, rate, product=product)


def booked(raw, **overrides) -> Booking:
    """The booking of ``raw``, checked as tests/mapping/test_mapper.py checks every booking."""
    ref = REF.with_original(41, ORIGINAL)
    booking = map_raw(raw, ref, **overrides)
    assert isinstance(booking, Booking), booking
    assert booking.total == Decimal(raw["amount_with_tax"]) == booking.rows_total
    computed = eboekhouden_vat(booking.rows)
    oss_rows = sum(row.amount for row in booking.rows if row.kind == "oss_vat")
    assert sum(computed.values()) + oss_rows == sum(Decimal(t["amount"]) for t in raw["taxes"])
    assert {c: v for c, v in computed.items() if c not in RATES} == {
        c: Decimal("0.00") for c in computed if c not in RATES
    }
    validate(to_mutation_payload(booking, relation_id=4711), "CreateMutation")
    invoice = map_raw(raw, ref, **{**overrides, "insertion": "invoice"})
    assert invoice.rows == booking.rows
    validate(to_invoice_payload(invoice, relation_id=4711), "CreateInvoice")
    return booking


def rows_of(booking: Booking) -> list[tuple[str, str, str]]:
    return [(row.ledger.code, row.vat_code, str(row.amount)) for row in booking.rows]


OSS = {"oss": "oss"}
OLD_VAT_MAP = {"NL:21": H, "NL:9": "LAAG_VERK_9", "NL:0": "GEEN"} | {
    "reverse_charge_goods": SERVICES_EU,
    "reverse_charge_services": SERVICES_EU,
    "outside_eu_goods": GOODS_OUT,
    "outside_eu_services": GOODS_OUT,
}

# (raw order, setting overrides, rows as (ledger, VAT code, amount), words of the notes)
BOOKED = [
    pytest.param(
        order([book()], "BE", reverse=True, vat_id=BE_VAT),
        {},
        [("8020", GOODS_EU, "25.00")],
        [],
        id="book to a Belgian company: goods on the ICP declaration (BI_EU_VERK)",
    ),
    pytest.param(
        order([course()], "BE", reverse=True, vat_id=BE_VAT),
        {},
        [("8010", SERVICES_EU, "100.00")],
        [],
        id="course to a Belgian company: a service on the ICP declaration (BI_EU_VERK_D)",
    ),
    pytest.param(
        order([book(), course()], "BE", reverse=True, vat_id=BE_VAT, shipping=("6.00", "BE:0")),
        {},
        [("8020", GOODS_EU, "25.00"), ("8010", SERVICES_EU, "100.00")]
        + [("8050", GOODS_EU, "6.00")],
        [],
        id="book and course to one company: two codes, shipping with the goods",
    ),
    pytest.param(
        order([book(), course()], "BE", reverse=True, vat_id=BE_VAT, discounts=[("25.00", "X")]),
        {},
        [("8020", GOODS_EU, "25.00"), ("8010", SERVICES_EU, "100.00")]
        + [("8020", GOODS_EU, "-5.00"), ("8010", SERVICES_EU, "-20.00")],
        [],
        id="an order discount over goods and services: each code its share, on its ledger",
    ),
    pytest.param(
        order(
            [book(), course()],
            "BE",
            reverse=True,
            vat_id=BE_VAT,
            discounts=[("25.00", "X")],
            payment_status="credit_invoice",
            related=CREDITED,
        ),
        {},
        [("8020", GOODS_EU, "-25.00"), ("8010", SERVICES_EU, "-100.00")]
        + [("8020", GOODS_EU, "5.00"), ("8010", SERVICES_EU, "20.00")],
        [],
        id="its credit invoice: the same codes, negated",
    ),
    pytest.param(
        order([book("US:0"), course("US:0")], "US", shipping=("15.00", "US:0")),
        {},
        [("8020", GOODS_OUT, "25.00"), ("8010", "GEEN", "100.00"), ("8050", GOODS_OUT, "15.00")],
        [],
        id="book and course to a US consumer: export box 3a for the book only",
    ),
    pytest.param(
        order([course("US:0")], "US", shipping=("15.00", "US:0")),
        {},
        [("8010", "GEEN", "100.00"), ("8050", "GEEN", "15.00")],
        [],
        id="shipping of an order without goods follows its services",
    ),
    pytest.param(
        order([course("US:0", product=SILENT)], "US"),
        {},
        [("8000", "GEEN", "100.00")],
        ["Line 'Cursus': Plug&Pay's product 4 does not say if it is physical", "as a service"],
        id="product that does not say is_physical: a service, and the order says so",
    ),
    pytest.param(
        order([course("US:0", product=UNKNOWN)], "US"),
        {"unknown_product_kind": "goods"},
        [("8000", GOODS_OUT, "100.00")],
        ["product 99 is not in Plug&Pay's product list", "as goods (setting unknown_product_kind)"],
        id="unknown product with unknown_product_kind goods",
    ),
    pytest.param(
        order([course(product=None)], "BE", reverse=True, vat_id=BE_VAT),
        {},
        [("8000", SERVICES_EU, "100.00")],
        ["it has no Plug&Pay product, so it is booked as a service"],
        id="line without a product under reverse charge",
    ),
    pytest.param(
        order([course("NL:21", "121.00", product=UNKNOWN)]),
        {},
        [("8000", H, "121.00")],
        [],
        id="unknown product at home: its kind changes nothing, no note",
    ),
    pytest.param(
        order([book(), course()], "BE", reverse=True, vat_id=BE_VAT),
        {"vat_map": OLD_VAT_MAP},
        [("8020", SERVICES_EU, "25.00"), ("8010", SERVICES_EU, "100.00")],
        [],
        id="settings from before: reverse_charge set both kinds, booked as before",
    ),
    # Contradictions pp2eb settles, and says so.
    pytest.param(
        order([course()], "BE", vat_id=BE_VAT),
        {},
        [("8010", SERVICES_EU, "100.00")],
        ["did not mark order 42 reverse charge (tax_exempt none)", "BE0123456789", "VIES"],
        id="0% to an EU company with a VAT id, not marked reverse: booked as reverse charge",
    ),
    pytest.param(
        order([book()], "BE", reverse=True, vat_id=DE_VAT),
        {},
        [("8020", GOODS_EU, "25.00")],
        ["Warning: VAT id 'DE123456789' does not start with BE"],
        id="VAT id of another country than the address: a warning",
    ),
    pytest.param(
        order([book("GR:0")], "GR", reverse=True, vat_id="EL 094259216"),
        {},
        [("8020", GOODS_EU, "25.00")],
        [],
        id="Greek VAT id starts with EL: fine",
    ),
    pytest.param(
        order([course("NL:21", "121.00")], vat_id="BE 0123.456.789"),
        {},
        [("8010", H, "121.00")],
        ["Warning: VAT id 'BE0123456789' does not start with NL"],
        id="Dutch address with a Belgian VAT id: booked at home, with a warning",
    ),
    pytest.param(
        order(
            [course("DE:19", "119.00"), item("Cadeaubon", "10.00", "DE:0", product=SILENT)], "DE"
        ),
        OSS,
        [
            ("8010", "AFST_VERK", "100.00"),
            ("8000", "AFST_VERK", "10.00"),
            ("1641", "GEEN", "19.00"),
        ],
        [],
        id="one 0% line in a taxed OSS order is no contradiction",
    ),
    # Place of supply: Dutch VAT whatever the customer's country.
    pytest.param(
        order([course("NL:21", "121.00", product=3)], "BE"),
        OSS | {"dutch_vat_products": ("3",)},
        [("8000", H, "121.00")],
        ["(product 3) is taxed in the Netherlands wherever the customer is", "buyer is in BE"],
        id="event ticket to a Belgian consumer under OSS: Dutch VAT, Dutch code",
    ),
    pytest.param(
        order([course("NL:21", "121.00", product=3), course("BE:21", "121.00")], "BE"),
        OSS | {"dutch_vat_products": ("3",)},
        [("8000", H, "121.00"), ("8010", "AFST_VERK", "100.00"), ("1640", "GEEN", "21.00")],
        ["(product 3) is taxed in the Netherlands"],
        id="event ticket and online course to one consumer: Dutch code and OSS",
    ),
    pytest.param(
        order([course("NL:21", "121.00", product=3)], "US"),
        {"dutch_vat_products": ("3",)},
        [("8000", H, "121.00")],
        ["buyer is in US"],
        id="coaching on location for an American consumer: Dutch VAT",
    ),
    pytest.param(
        order([course("NL:21", "121.00", product=3)], "BE", reverse=True, vat_id=BE_VAT),
        {"dutch_vat_products": ("3",)},
        [("8000", H, "121.00")],
        ["taxed in the Netherlands"],
        id="event admission for a Belgian company (art. 53): Dutch VAT",
    ),
    pytest.param(
        order([course(product=3)], "BE", reverse=True, vat_id=BE_VAT),
        {"dutch_vat_products": ("3",)},
        [("8000", SERVICES_EU, "100.00")],
        [],
        id="such a product at 0% to a company (B2B coaching, art. 44): reverse charge",
    ),
    pytest.param(
        order([course("NL:21", "121.00", product=3)], "DE"),
        {"dutch_vat_products": ("3",)},
        [("8000", H, "121.00")],
        [],
        id="home-country VAT: Dutch VAT to an EU consumer anyway, no note",
    ),
    # Currency.
    pytest.param(
        changed(order([course("NL:21", "121.00")]), "currency", "eur"),
        {},
        [("8010", H, "121.00")],
        [],
        id="currency EUR",
    ),
]


@pytest.mark.parametrize(("raw", "overrides", "rows", "notes"), BOOKED)
def test_booked(raw, overrides, rows, notes):
    booking = booked(raw, **overrides)
    assert rows_of(booking) == rows
    text = " | ".join(booking.notes)
    for words in notes:
        assert words in text
    if not notes:
        assert not booking.notes


# (raw order, setting overrides, words the reason must contain, words the fix must contain)
REFUSED = [
    pytest.param(
        order([course()], "BE", reverse=True, vat_id=NL_VAT),
        {},
        ["marked reverse charge, but its VAT id 'NL123456789B01' is Dutch"],
        ["invoice it again with Dutch VAT", "correct the customer's VAT id"],
        id="reverse charge with a Dutch VAT id",
    ),
    pytest.param(
        order([course("NL:0")], "NL", reverse=True, vat_id=NL_VAT),
        {},
        ["marked reverse charge, but its billing address is in the Netherlands"],
        ["invoice it again with Dutch VAT", "correct the billing address"],
        id="reverse charge to a Dutch address",
    ),
    pytest.param(
        order([course()], "BE", vat_id=NL_VAT),
        {},
        ["charged no VAT to a business abroad, but its VAT id 'NL123456789B01' is Dutch"],
        ["Dutch VAT"],
        id="0% to a company abroad with a Dutch VAT id",
    ),
    pytest.param(
        order([course()], "BE"),
        OSS,
        ["to a consumer in BE was charged no VAT at all"],
        ["invoice it again with VAT", "add its VAT id and mark the order reverse charge"],
        id="0% to an EU consumer under OSS",
    ),
    pytest.param(
        order([course("NL:0")], "DE"),
        {},
        ["to a consumer in DE was charged no VAT at all"],
        ["invoice it again with VAT"],
        id="0% to an EU consumer with home-country VAT",
    ),
    pytest.param(
        order([course("NL:21", "121.00", product=3)], "BE"),
        OSS,
        ["to a consumer in BE was charged NL:21 on the line 'Cursus'"],
        ["If product 3 is taxed in the Netherlands", "dutch_vat_products", "correct the rate"],
        id="Dutch VAT to an EU consumer under OSS: both ways out",
    ),
    pytest.param(
        order([course("NL:21", "121.00", product=3)], "US"),
        {},
        ["to US is a sale outside the EU but was charged VAT at NL:21"],
        ["If product 3 is taxed in the Netherlands", "Correct the order's VAT in Plug&Pay"],
        id="Dutch VAT to a US consumer: both ways out",
    ),
    pytest.param(
        order([course("NL:21", "121.00", product=3)], "BE", shipping=("6.05", "NL:21")),
        OSS | {"dutch_vat_products": ("3",)},
        ["charged NL:21 on the shipping"],
        ["Switch the OSS setting"],
        id="the setting covers products, not their shipping",
    ),
    pytest.param(
        changed(order([course("NL:21", "121.00")]), "currency", "USD"),
        {},
        ["Order 42 is in USD, not in euros"],
        ["Book this order by hand"],
        id="an order in US dollars",
    ),
]


@pytest.mark.parametrize(("raw", "overrides", "reason", "fix"), REFUSED)
def test_refused(raw, overrides, reason, fix):
    with pytest.raises(MappingError) as info:
        map_raw(raw, **overrides)
    for words in reason:
        assert words in info.value.reason
    for words in fix:
        assert words in info.value.fix


def test_a_free_order_to_an_eu_consumer_is_skipped_not_refused():
    raw = order([item("Gratis webinar", "0.00", "BE:0")], "BE")
    assert isinstance(map_raw(raw, oss="oss"), Skip)
