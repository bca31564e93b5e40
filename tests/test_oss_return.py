"""The OSS return from the books: rows that keep country and rate apart, and the quarter's report.

The return needs, per quarter, country and rate, the taxable amount and the VAT. e-Boekhouden
has one code for every OSS sale (AFST_VERK), so pp2eb keeps each rate on rows of its own, even
grouped, and writes the country and rate at the end of their descriptions.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from pp2eb.mapping.mapper import to_invoice_payload, to_mutation_payload
from tests.test_mapping import map_raw
from tests.test_order import build, item

D = Decimal
OSS = {"oss": "oss"}


def two_german_rates() -> dict:
    """A German consumer: two courses at 19%, a book at 7% with shipping, an order discount."""
    lines = [
        item("Cursus A", "119.00", "DE:19"),
        item("Cursus B", "59.50", "DE:19"),
        item("Boek", "21.40", "DE:7", product=2),
    ]
    return build(lines, country="DE", shipping=("5.95", "DE:19"), discounts=[("10.00", "HALLO")])


def described(booking) -> list[tuple[str, str, str, str | None]]:
    return [(r.ledger.code, r.vat_code, str(r.amount), r.description) for r in booking.rows]


def test_grouped_rows_keep_country_and_rate_apart():
    booking = map_raw(two_german_rates(), group_lines=True, **OSS)
    assert described(booking) == [
        ("8010", "AFST_VERK", "150.00", "Omzet cursussen DE 19% (OSS)"),
        ("8020", "AFST_VERK", "20.00", "Omzet boeken DE 7% (OSS)"),
        ("8050", "AFST_VERK", "5.00", "Verzendkosten DE 19% (OSS)"),
        ("8000", "AFST_VERK", "-7.37", "Omzet DE 19% (OSS)"),
        ("8000", "AFST_VERK", "-1.14", "Omzet DE 7% (OSS)"),
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
        "Boek DE 7% (OSS)",
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
