"""VAT as the e-Boekhouden sandbox computes it from ``amount`` + ``vatCode`` + ``inExVat``.

inferred: the real computation is not published. The notes
(docs/reference/eboekhouden-api.md §4.4, docs/reference/domain-rules.md §3.5) say
e-Boekhouden computes VAT on the total per rate unless the administration rounds per row, and
rounds half up to the cent. So by default the VAT of one mutation or invoice is computed per VAT
code over the total of that code's rows; with ``rounding="row"`` every row is rounded on its own
and the code's VAT is the sum of the rows. IN: ``vat = gross * r / (100 + r)``; EX:
``vat = net * r / 100``. AFW/AFW_VERK rows carry their own ``vatAmount``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
ZERO = Decimal("0.00")

# inferred: only the 21% and 9% codes carry VAT; VERL_VERK* is reverse charge (the buyer
# accounts for the VAT) and the EU/export/distance-sale codes are 0%.
RATES = {
    "HOOG_VERK_21": Decimal(21),
    "LAAG_VERK_9": Decimal(9),
    "HOOG_INK_21": Decimal(21),
    "LAAG_INK_9": Decimal(9),
}
MANUAL_CODES = frozenset({"AFW", "AFW_VERK"})
SALE_CODES = frozenset(
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
    }
)
PURCHASE_CODES = frozenset(
    {"LAAG_INK_9", "HOOG_INK_21", "VERL_INK", "AFW", "BU_EU_INK", "BI_EU_INK"}
)
ROUNDINGS = ("total", "row")


@dataclass(frozen=True)
class Line:
    """One row or invoice item as VAT sees it."""

    amount: Decimal  # incl. or excl. VAT per in_ex
    vat_code: str
    vat_amount: Decimal | None = None  # only for AFW/AFW_VERK


@dataclass(frozen=True)
class LineVat:
    """The split of one line."""

    net: Decimal
    vat: Decimal
    gross: Decimal


@dataclass(frozen=True)
class VatResult:
    """The split of every line, the VAT per code and the totals."""

    lines: tuple[LineVat, ...]
    per_code: dict[str, Decimal]  # in order of first appearance
    total_excl: Decimal
    total_vat: Decimal
    total_incl: Decimal


def cents(value: Decimal) -> Decimal:
    """Round half up to whole cents (a negative amount rounds away from zero alike)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _exact_vat(amount: Decimal, rate: Decimal, in_ex: str) -> Decimal:
    if in_ex == "IN":
        return amount * rate / (100 + rate)
    return amount * rate / 100


def compute(lines: Sequence[Line], in_ex: str, rounding: str = "total") -> VatResult:
    """Split ``lines`` into net/VAT/gross the way the administration's setting says."""
    vats: list[Decimal] = [ZERO] * len(lines)
    by_code: dict[str, list[int]] = {}
    for i, line in enumerate(lines):
        by_code.setdefault(line.vat_code, []).append(i)
    per_code: dict[str, Decimal] = {}
    for code, idxs in by_code.items():
        if code in MANUAL_CODES:
            for i in idxs:
                vats[i] = cents(lines[i].vat_amount or ZERO)
        else:
            rate = RATES.get(code, Decimal(0))
            for i in idxs:
                vats[i] = cents(_exact_vat(lines[i].amount, rate, in_ex))
            if rounding == "total":
                total = cents(_exact_vat(sum((lines[i].amount for i in idxs), ZERO), rate, in_ex))
                # The code's VAT is fixed on the total; the last row takes the difference so
                # the rows still add up to it.
                vats[idxs[-1]] += total - sum((vats[i] for i in idxs), ZERO)
        per_code[code] = sum((vats[i] for i in idxs), ZERO)
    splits = []
    for line, vat in zip(lines, vats, strict=True):
        if in_ex == "IN":
            splits.append(LineVat(net=line.amount - vat, vat=vat, gross=line.amount))
        else:
            splits.append(LineVat(net=line.amount, vat=vat, gross=line.amount + vat))
    return VatResult(
        lines=tuple(splits),
        per_code=per_code,
        total_excl=sum((s.net for s in splits), ZERO),
        total_vat=sum((s.vat for s in splits), ZERO),
        total_incl=sum((s.gross for s in splits), ZERO),
    )
