"""The rounding rows, per way an administration rounds VAT: per row, over the total, not known.

Each case checks the rows a bookkeeper would see and that e-Boekhouden, rounding its way (computed
here, independently of pp2eb), ends at exactly Plug&Pay's VAT.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pp2eb.mapping.mapper import Booking, Skip, Wait
from tests.mapping.test_mapper import (
    CREDITED,
    ORIGINAL,
    REF,
    ROUNDING_21,
    H,
    L,
    consistent_orders,
    eboekhouden_vat,
    map_raw,
    to_mutation_payload,
    validate,
)
from tests.mapping.test_order import build, item

CENTS = Decimal("0.01")
RATES = {H: Decimal(21), L: Decimal(9)}
# Three lines whose VAT is 18.32 per line and per row, but 18.33 over the total.
THREE_LINES = [item("Cursus", "73.49"), item("Werkblad", "4.23"), item("Coaching", "27.89")]
TWO_BOOKS = [item("Boek A", "19.95", "NL:9", product=2), item("Boek B", "19.95", "NL:9", product=2)]


def vat_per_row(rows) -> dict[str, Decimal]:
    """VAT per code as e-Boekhouden computes it per row: each row half-up, then summed."""
    out: dict[str, Decimal] = {}
    for row in rows:
        rate = RATES.get(row.vat_code, Decimal(0))
        vat = (row.amount * rate / (100 + rate)).quantize(CENTS, rounding=ROUND_HALF_UP)
        out[row.vat_code] = out.get(row.vat_code, Decimal("0.00")) + vat
    return out


COMPUTE = {"row": vat_per_row, "total": eboekhouden_vat}  # over each code's total

# (order, settings overrides, the administration's rounding, rows as (ledger, code, amount),
#  Plug&Pay's VAT per code)
CASES = [
    pytest.param(
        build(ROUNDING_21),
        {},
        "row",
        [("8010", H, "45.38"), ("8010", H, "15.13")],
        {H: "10.51"},
        id="per row: 7.88 + 2.63 is Plug&Pay's 10.51, no rounding rows",
    ),
    pytest.param(
        build(ROUNDING_21),
        {"group_lines": True},
        "row",
        [("8010", H, "60.51"), ("8090", H, "0.03"), ("8090", "GEEN", "-0.03")],
        {H: "10.51"},
        id="per row, grouped: 10.50 on one row, a row of 0.03 adds the cent",
    ),
    pytest.param(
        build(THREE_LINES),
        {},
        "total",
        [("8010", H, "73.49"), ("8010", H, "4.23"), ("8010", H, "27.89")]
        + [("8090", H, "-0.03"), ("8090", "GEEN", "0.03")],
        {H: "18.32"},
        id="over the total: 18.33 moved down to 18.32",
    ),
    pytest.param(
        build(THREE_LINES),
        {},
        "row",
        [("8010", H, "73.49"), ("8010", H, "4.23"), ("8010", H, "27.89")],
        {H: "18.32"},
        id="per row: the pair made for the total would make it 18.31, so none",
    ),
    pytest.param(
        build(THREE_LINES),
        {"group_lines": True},
        "row",
        [("8010", H, "105.61"), ("8090", H, "-0.03"), ("8090", "GEEN", "0.03")],
        {H: "18.32"},
        id="per row, grouped: a row of -0.03 takes the cent off",
    ),
    pytest.param(
        build(TWO_BOOKS),
        {},
        "row",
        [("8020", L, "19.95"), ("8020", L, "19.95")],
        {L: "3.30"},
        id="per row at 9%: 1.65 + 1.65",
    ),
    pytest.param(
        build(ROUNDING_21, payment_status="credit_invoice", related=CREDITED),
        {"group_lines": True},
        "row",
        [("8010", H, "-60.51"), ("8090", H, "-0.03"), ("8090", "GEEN", "0.03")],
        {H: "-10.51"},
        id="per row, credit invoice: the rows mirror the sale",
    ),
]


@pytest.mark.parametrize(("raw", "overrides", "rounding", "rows", "vat"), CASES)
def test_rounding_rows_fit_the_administrations_rounding(raw, overrides, rounding, rows, vat):
    ref = REF.with_original(41, ORIGINAL).with_vat_rounding(rounding)
    booking = map_raw(raw, ref, **overrides)
    assert isinstance(booking, Booking)
    assert [(r.ledger.code, r.vat_code, str(r.amount)) for r in booking.rows] == rows
    assert booking.vat_rounding == rounding
    computed = COMPUTE[rounding](booking.rows)
    assert {code: computed[code] for code in vat} == {k: Decimal(v) for k, v in vat.items()}
    assert booking.vat_expected == computed
    assert sum(r.amount for r in booking.rows) == Decimal(raw["amount_with_tax"])
    assert len(booking.notes) == sum(r.kind == "rounding" for r in booking.rows) // 2


def test_per_row_notes_say_how_the_cent_is_made():
    booking = map_raw(build(ROUNDING_21), REF.with_vat_rounding("row"), group_lines=True)
    assert booking.notes == (
        "HOOG_VERK_21: Plug&Pay's VAT (rounded per line) is 10.51; e-Boekhouden would compute "
        "10.50 rounding per row. Rounding rows of 0.03 at HOOG_VERK_21 and -0.03 at GEEN on "
        "ledger 8090 make it 10.51; the total is unchanged.",
    )


def test_unknown_rounding_waits_only_when_rows_would_depend_on_it():
    unknown = REF.with_vat_rounding(None)
    waiting = map_raw(build(ROUNDING_21), unknown)
    assert isinstance(waiting, Wait)
    assert "per row or over the total" in waiting.reason
    assert "e-Boekhouden connection page" in waiting.reason
    plain = map_raw(build([item("Online cursus", "121.00")]), unknown)
    assert isinstance(plain, Booking) and not plain.has_rounding_rows
    assert plain.rows == map_raw(build([item("Online cursus", "121.00")])).rows


def test_a_known_rounding_never_waits():
    for rounding in ("row", "total"):
        booking = map_raw(build(THREE_LINES), REF.with_vat_rounding(rounding))
        assert isinstance(booking, Booking)


@settings(max_examples=200, deadline=None)
@given(consistent_orders(), st.booleans())
def test_every_consistent_order_books_exactly_per_row(case, grouped):
    raw, overrides = case
    ref = REF.with_original(41, ORIGINAL).with_vat_rounding("row")
    booking = map_raw(raw, ref, group_lines=grouped, **overrides)
    if isinstance(booking, Skip):
        return
    assert sum(row.amount for row in booking.rows) == Decimal(raw["amount_with_tax"])
    computed = vat_per_row(booking.rows)
    assert booking.vat_expected == computed
    if overrides["oss"] != "oss":
        plugandpay: dict[str, Decimal] = {}
        for tax in raw["taxes"]:
            code = {"21.0": H, "9.0": L}.get(tax["rate"]["percentage"])
            if code:
                plugandpay[code] = plugandpay.get(code, 0) + Decimal(tax["amount"])
        for code, vat in plugandpay.items():
            assert computed.get(code, 0) == vat
    rounding = [row for row in booking.rows if row.kind == "rounding"]
    assert sum(row.amount for row in rounding) == 0
    assert all(abs(row.amount) <= Decimal("0.50") for row in rounding)
    validate(to_mutation_payload(booking, relation_id=4711), "CreateMutation")
