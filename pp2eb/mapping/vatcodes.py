"""e-Boekhouden's sales VAT codes and how e-Boekhouden computes VAT from them.

inferred: e-Boekhouden computes VAT itself; it accepts an explicit amount only on AFW/AFW_VERK. The
sandbox and this module follow the same reading (docs/reference/eboekhouden-api.md §4.4): VAT is
rounded half-up to the cent, with ``inExVat`` IN ``vat = gross × r / (100 + r)`` (pp2eb always sends
IN amounts), and an administration rounds in one of two ways, a setting pp2eb reads back
(``engine.vat_rounding``): ``PER_TOTAL``, each VAT code's VAT over the total of that code's rows in
one mutation or invoice, or ``PER_ROW``, each row on its own and the code's VAT the sum.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")

# The sales codes of the request enum (the purchase codes never appear on a sale).
SALE_VAT_CODES: frozenset[str] = frozenset(
    {
        "HOOG_VERK_21",
        "LAAG_VERK_9",
        "VERL_VERK",
        "VERL_VERK_L9",
        "AFW_VERK",
        "BU_EU_VERK",
        "BI_EU_VERK",
        "BI_EU_VERK_D",
        "AFST_VERK",
        "GEEN",
    }
)

# inferred: every other sales code is booked at 0%; VERL_VERK* is reverse charge, the buyer
# accounts for the VAT; AFW_VERK is 0% unless a vatAmount is sent, which pp2eb never does.
VAT_RATES: dict[str, Decimal] = {"HOOG_VERK_21": Decimal(21), "LAAG_VERK_9": Decimal(9)}

NO_VAT = "GEEN"
# The two ways an administration rounds VAT (docs/reference/eboekhouden-api.md §4.4:
# ``rows[].vatAmount`` comes back only when VAT is computed per row).
PER_TOTAL, PER_ROW = "total", "row"
VAT_ROUNDINGS = (PER_TOTAL, PER_ROW)
DISTANCE_SALES = "AFST_VERK"

# How far the rounding search may move a code's total; a real per-line difference needs a few
# cents, so hitting this means the VAT figures themselves are wrong.
_MAX_STEPS = 10_000


def vat_rate(vat_code: str) -> Decimal:
    """The percentage e-Boekhouden books ``vat_code`` at (0 for every code without VAT)."""
    return VAT_RATES.get(vat_code, Decimal(0))


def round_cents(value: Decimal) -> Decimal:
    """Round half-up to the cent (away from zero for negative amounts, as Decimal does)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def eboekhouden_vat(gross: Decimal, vat_code: str) -> Decimal:
    """The VAT e-Boekhouden computes over the gross (incl. VAT) total of one code's rows."""
    rate = vat_rate(vat_code)
    if not rate:
        return Decimal("0.00")
    return round_cents(gross * rate / (100 + rate))


def rows_vat(amounts: Iterable[Decimal], vat_code: str, rounding: str) -> Decimal:
    """The VAT e-Boekhouden computes for one code's rows (gross amounts) under ``rounding``."""
    amounts = list(amounts)
    # inferred: per row, each row is rounded half-up to the cent like a total, then summed.
    if rounding == PER_ROW:
        return sum((eboekhouden_vat(amount, vat_code) for amount in amounts), Decimal("0.00"))
    return eboekhouden_vat(sum(amounts, Decimal("0.00")), vat_code)


def gross_for_vat(gross: Decimal, vat_code: str, vat: Decimal) -> Decimal | None:
    """The gross total nearest to ``gross`` on which e-Boekhouden computes exactly ``vat``.

    Returns None when no such total lies within reach (a 0% code with VAT, or a difference far
    beyond rounding). The computed VAT never decreases as the gross grows, so the search walks
    one cent at a time in the only direction that can reach ``vat``.
    """
    current = eboekhouden_vat(gross, vat_code)
    if current == vat:
        return gross
    if not vat_rate(vat_code):
        return None
    step = CENT if current < vat else -CENT
    candidate = gross
    for _ in range(_MAX_STEPS):
        candidate += step
        computed = eboekhouden_vat(candidate, vat_code)
        if computed == vat:
            return candidate
        if (step > 0 and computed > vat) or (step < 0 and computed < vat):
            return None
    return None
