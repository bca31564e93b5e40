"""Make e-Boekhouden compute exactly Plug&Pay's VAT, visibly, and check the booking to the cent.

Plug&Pay rounds VAT per line. e-Boekhouden rounds the way its administration is set up
(docs/reference/eboekhouden-api.md §4.4): over the total of each VAT code's rows (``PER_TOTAL``), or
per row, the code's VAT being the sum of its rows (``PER_ROW``). pp2eb learns which from a booking
it reads back, or a person sets it (``pp2eb.engine.vat_rounding``); it reaches the mapper as
``ReferenceData.vat_rounding``, None while unknown.

Where e-Boekhouden's VAT of a code, computed that way, differs from Plug&Pay's, two rows on the
rounding ledger, +δ at the VAT code and −δ at ``GEEN``, leave the booking's total as it was and
make the code's VAT Plug&Pay's:

* per total, δ moves the code's total to the nearest gross on which e-Boekhouden computes
  Plug&Pay's VAT;
* per row, the +δ row is a row of its own, so δ is the smallest gross whose own VAT is the
  difference (1 cent of VAT at 21% takes a row of 3 cents).

A pair made for one rounding is wrong under the other, so each rounding gets rows only where it
needs them, and while the rounding is unknown an order that would need them waits
(``needs_rounding_rows``).
"""

from __future__ import annotations

from decimal import Decimal

from pp2eb.mapping.booking import ROUNDING, BookingRow
from pp2eb.mapping.order import Order
from pp2eb.mapping.problems import MappingError
from pp2eb.mapping.rows import Ledgers
from pp2eb.mapping.totals import ZERO
from pp2eb.mapping.vatcodes import (
    CENT,
    NO_VAT,
    PER_ROW,
    PER_TOTAL,
    VAT_ROUNDINGS,
    gross_for_vat,
    rows_vat,
    vat_rate,
)

ROUNDING_WORDS = {PER_TOTAL: "over the total", PER_ROW: "rounding per row"}


def _code_amounts(rows: list[BookingRow]) -> dict[str, list[Decimal]]:
    amounts: dict[str, list[Decimal]] = {}
    for row in rows:
        amounts.setdefault(row.vat_code, []).append(row.amount)
    return amounts


def computed_vat(rows: list[BookingRow], rounding: str) -> dict[str, Decimal]:
    """The VAT per code e-Boekhouden computes over ``rows`` when it rounds that way."""
    return {
        code: rows_vat(amounts, code, rounding) for code, amounts in _code_amounts(rows).items()
    }


def needs_rounding_rows(rows: list[BookingRow], targets: dict[str, Decimal]) -> bool:
    """True when either rounding would compute VAT other than Plug&Pay's for some code."""
    return any(
        computed.get(code, ZERO) != targets.get(code, ZERO)
        for computed in (computed_vat(rows, rounding) for rounding in VAT_ROUNDINGS)
        for code in computed.keys() | targets.keys()
    )


def balance_vat(
    rows: list[BookingRow],
    targets: dict[str, Decimal],
    counts: dict[str, int],
    ledgers: Ledgers,
    rounding: str,
) -> tuple[list[BookingRow], list[str]]:
    """Rounding row pairs that make e-Boekhouden's VAT per code equal Plug&Pay's (see above)."""
    extra: list[BookingRow] = []
    notes: list[str] = []
    for code, amounts in _code_amounts(rows).items():
        target = targets.get(code, ZERO)
        computed = rows_vat(amounts, code, rounding)
        if computed == target:
            continue
        gross = sum(amounts, ZERO)
        # Per-line rounding moves each line by at most half a cent.
        tolerance = CENT * ((counts.get(code, 1) + 2) // 2)
        delta = None
        if vat_rate(code) and abs(target - computed) <= tolerance:
            delta = _delta(gross, code, target, target - computed, rounding)
        if delta is None:
            raise MappingError(
                f"Plug&Pay's VAT for {code} is {target}, but e-Boekhouden computes {computed} "
                f"over the {gross} incl. VAT booked with that code; that is more than rounding.",
                fix="Check the order's VAT in Plug&Pay.",
            )
        ledger = ledgers.optional(
            ledgers.settings.rounding_ledger,
            "rounding",
            "rounding_ledger",
            f"a VAT rounding difference of {abs(target - computed)} at {code}",
        )
        text = f"Afrondingsverschil btw {format(vat_rate(code), 'f')}%"
        extra.append(BookingRow(ledger, code, delta, text, ROUNDING))
        extra.append(BookingRow(ledger, NO_VAT, -delta, text + ", tegenboeking", ROUNDING))
        notes.append(
            f"{code}: Plug&Pay's VAT (rounded per line) is {target}; e-Boekhouden would compute "
            f"{computed} {ROUNDING_WORDS[rounding]}. Rounding rows of {delta} at {code} and "
            f"{-delta} at {NO_VAT} on ledger {ledger.code} make it {target}; the total is "
            "unchanged."
        )
    return extra, notes


def _delta(
    gross: Decimal, code: str, target: Decimal, missing: Decimal, rounding: str
) -> Decimal | None:
    """The gross of the +δ rounding row, or None when no row within reach does it."""
    if rounding == PER_ROW:
        # Its own row: the smallest gross whose VAT alone is what is missing.
        return gross_for_vat(ZERO, code, missing)
    adjusted = gross_for_vat(gross, code, target)
    return None if adjusted is None else adjusted - gross


def verify(
    order: Order, rows: list[BookingRow], targets: dict[str, Decimal], rounding: str
) -> dict:
    """The VAT per code e-Boekhouden will compute; MappingError if anything is off by a cent."""
    total = sum((row.amount for row in rows), ZERO)
    if total != order.amount_with_tax:
        raise MappingError(
            f"The booking of order {order.id} totals {total}, not Plug&Pay's "
            f"{order.amount_with_tax}.",
            fix="Report this to pp2eb; the order was not booked.",
        )
    expected = computed_vat(rows, rounding)
    for code in expected.keys() | targets.keys():
        if expected.get(code, ZERO) != targets.get(code, ZERO):
            raise MappingError(
                f"The booking of order {order.id} would get {expected.get(code, ZERO)} VAT for "
                f"{code}, not Plug&Pay's {targets.get(code, ZERO)}.",
                fix="Report this to pp2eb; the order was not booked.",
            )
    return expected
