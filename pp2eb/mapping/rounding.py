"""Make e-Boekhouden compute exactly Plug&Pay's VAT, visibly, and check the booking to the cent.

e-Boekhouden computes the VAT of each code over the total of that code's rows; Plug&Pay rounds
per line. Where the two differ, two rows on the rounding ledger (+δ at the VAT code, −δ at
``GEEN``) move the code's total to the nearest gross on which e-Boekhouden computes Plug&Pay's
VAT, leaving the booking's total as it was.
"""

from __future__ import annotations

from decimal import Decimal

from pp2eb.mapping.booking import ROUNDING, BookingRow, MappingError
from pp2eb.mapping.order import Order
from pp2eb.mapping.rows import Ledgers
from pp2eb.mapping.totals import ZERO
from pp2eb.mapping.vatcodes import CENT, NO_VAT, eboekhouden_vat, gross_for_vat, vat_rate


def _code_totals(rows: list[BookingRow]) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = {}
    for row in rows:
        totals[row.vat_code] = totals.get(row.vat_code, ZERO) + row.amount
    return totals


def balance_vat(
    rows: list[BookingRow], targets: dict[str, Decimal], counts: dict[str, int], ledgers: Ledgers
) -> tuple[list[BookingRow], list[str]]:
    """Rounding row pairs that make e-Boekhouden's VAT per code equal Plug&Pay's (see above)."""
    extra: list[BookingRow] = []
    notes: list[str] = []
    for code, gross in _code_totals(rows).items():
        target = targets.get(code, ZERO)
        computed = eboekhouden_vat(gross, code)
        if computed == target:
            continue
        # Per-line rounding moves each line by at most half a cent.
        tolerance = CENT * ((counts.get(code, 1) + 2) // 2)
        adjusted = None
        if vat_rate(code) and abs(target - computed) <= tolerance:
            adjusted = gross_for_vat(gross, code, target)
        if adjusted is None:
            raise MappingError(
                f"Plug&Pay's VAT for {code} is {target}, but e-Boekhouden computes {computed} "
                f"over the {gross} incl. VAT booked with that code; that is more than rounding.",
                fix="Check the order's VAT in Plug&Pay.",
            )
        delta = adjusted - gross
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
            f"{computed} over the total. Rounding rows of {delta} at {code} and {-delta} at "
            f"{NO_VAT} on ledger {ledger.code} make it {target}; the total is unchanged."
        )
    return extra, notes


def verify(order: Order, rows: list[BookingRow], targets: dict[str, Decimal]) -> dict:
    """The VAT per code e-Boekhouden will compute; MappingError if anything is off by a cent."""
    total = sum((row.amount for row in rows), ZERO)
    if total != order.amount_with_tax:
        raise MappingError(
            f"The booking of order {order.id} totals {total}, not Plug&Pay's "
            f"{order.amount_with_tax}.",
            fix="Report this to pp2eb; the order was not booked.",
        )
    expected = {code: eboekhouden_vat(g, code) for code, g in _code_totals(rows).items()}
    for code in expected.keys() | targets.keys():
        if expected.get(code, ZERO) != targets.get(code, ZERO):
            raise MappingError(
                f"The booking of order {order.id} would get {expected.get(code, ZERO)} VAT for "
                f"{code}, not Plug&Pay's {targets.get(code, ZERO)}.",
                fix="Report this to pp2eb; the order was not booked.",
            )
    return expected
