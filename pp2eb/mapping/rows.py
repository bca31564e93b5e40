"""The rows of a booking: which ledger, which VAT code and which amount for each part of an order.

Lines go on their product's ledger, shipping on the shipping ledger, order discounts on the
revenue ledger as one negative row per VAT code, and under OSS the foreign VAT on the country's
OSS ledger. Amounts include VAT (``inExVat`` IN), except OSS revenue rows, whose VAT is the
separate OSS row.
"""

from __future__ import annotations

from decimal import Decimal

from pp2eb.mapping.booking import (
    DISCOUNT,
    LINE,
    OSS_VAT,
    SHIPPING,
    BookingRow,
    Ledger,
    MappingError,
    ReferenceData,
)
from pp2eb.mapping.order import Line, Order
from pp2eb.mapping.payloads import cut
from pp2eb.mapping.totals import ZERO, RateTotals
from pp2eb.mapping.vat import Treatment
from pp2eb.mapping.vatcodes import NO_VAT
from pp2eb.settings import Settings

_CATEGORY = {"DEB": "a debtor ledger (DEB)", "VW": "a profit and loss ledger (VW)"}
_CATEGORY["BAL"] = "a balance sheet ledger (BAL)"


class Ledgers:
    """Ledger look-ups that name the missing or miscategorised ledger and its setting."""

    def __init__(self, settings: Settings, ref: ReferenceData):
        self.settings = settings
        self.ref = ref

    def get(self, code: str, category: str, what: str, setting: str) -> Ledger:
        """The ledger with ``code``, which must have ``category``; ``what`` names its use."""
        ledger = self.ref.ledgers.get(code)
        if ledger is None:
            raise MappingError(
                f"The {what} ledger {code} does not exist in e-Boekhouden.",
                fix=f"Create ledger {code} in e-Boekhouden or choose another on the settings "
                f"page ({setting}).",
                setting=setting,
            )
        if ledger.category != category:
            raise MappingError(
                f"The {what} ledger {code} ({ledger.description}) has category "
                f"{ledger.category}; it must be {_CATEGORY[category]}.",
                fix=f"Choose another ledger on the settings page ({setting}).",
                setting=setting,
            )
        return ledger

    def optional(self, code: str | None, what: str, setting: str, needed_for: str) -> Ledger:
        """The VW ledger of an optional setting, which this order needs for ``needed_for``."""
        if code is None:
            raise MappingError(
                f"No {what} ledger is chosen (setting {setting}), and this order needs one "
                f"for {needed_for}.",
                fix=f"Choose the {what} ledger on the settings page ({setting}), then retry "
                "the order.",
                setting=setting,
            )
        return self.get(code, "VW", what, setting)

    def product(self, line: Line) -> Ledger:
        """The settings' ledger for the product, else Plug&Pay's if it exists, else revenue."""
        product = line.product_id
        if product is not None and str(product) in self.settings.product_ledgers:
            code = self.settings.product_ledgers[str(product)]
            return self.get(code, "VW", f"product {product}", "product_ledgers")
        plugandpay_code = self.ref.product_ledgers.get(product) if product is not None else None
        if plugandpay_code is not None:
            ledger = self.ref.ledgers.get(str(plugandpay_code))
            # inferred: like the hosted connector (CMUT012), a Plug&Pay ledger that is not a
            # VW ledger in e-Boekhouden falls back to the revenue ledger.
            if ledger is not None and ledger.category == "VW":
                return ledger
        return self.revenue()

    def revenue(self) -> Ledger:
        """The revenue ledger of the settings."""
        return self.get(self.settings.revenue_ledger, "VW", "revenue", "revenue_ledger")


def _line_text(line: Line) -> str:
    text = line.label.strip() or f"Product {line.product_id}"
    if line.quantity != 1:
        text = f"{line.quantity}x {text}"
    if line.discounts:
        codes = ", ".join(d.code for d in line.discounts if d.code)
        text += f" (korting {codes})" if codes else " (korting)"
    return text


def booking_rows(
    order: Order, rates: dict[str, RateTotals], how: dict[str, Treatment], ledgers: Ledgers
) -> list[BookingRow]:
    """The rows before grouping and rounding: lines, shipping, discounts, OSS VAT."""
    rows = []
    for line in order.lines:
        oss = how[line.rate.key].oss_country is not None
        amount = line.net if oss else line.gross
        code = how[line.rate.key].vat_code
        rows.append(BookingRow(ledgers.product(line), code, amount, cut(_line_text(line)), LINE))
    shipping = order.shipping
    # No shipping costs, no row: the shipping ledger is needed only when there are some.
    if shipping is not None and shipping.amount_with_tax:
        treatment = how[shipping.rate.key]
        amount = shipping.amount if treatment.oss_country else shipping.amount_with_tax
        ledger = ledgers.optional(
            ledgers.settings.shipping_ledger, "shipping", "shipping_ledger", "its shipping costs"
        )
        rows.append(BookingRow(ledger, treatment.vat_code, amount, "Verzendkosten", SHIPPING))
    discounts: dict[str, Decimal] = {}
    for key, totals in rates.items():
        share = totals.discount_net if how[key].oss_country else totals.discount_gross
        if share:
            code = how[key].vat_code
            discounts[code] = discounts.get(code, ZERO) - share
    codes = ", ".join(d.code for d in order.discounts if d.code)
    text = f"Korting {codes}" if codes else "Korting"
    for code, amount in discounts.items():
        rows.append(BookingRow(ledgers.revenue(), code, amount, cut(text), DISCOUNT))
    for key, totals in rates.items():
        country = how[key].oss_country
        if country:
            ledger = ledgers.get(
                ledgers.settings.oss_ledgers[country], "BAL", f"OSS {country}", "oss_ledgers"
            )
            text = f"Btw {totals.rate.country} {format(totals.rate.percentage.normalize(), 'f')}%"
            # inferred: a BAL ledger with GEEN is allowed on a type-2 row (MUT_106 bans only
            # FIN, CRED and DEB there).
            rows.append(BookingRow(ledger, NO_VAT, totals.vat, text + " (OSS)", OSS_VAT))
    return rows


def group_rows(rows: list[BookingRow]) -> list[BookingRow]:
    """Rows summed per (ledger, VAT code), in order of first appearance, without descriptions."""
    grouped: dict[tuple[str, str], BookingRow] = {}
    for row in rows:
        key = (row.ledger.code, row.vat_code)
        if key in grouped:
            first = grouped[key]
            kind = first.kind if first.kind == row.kind else LINE
            grouped[key] = BookingRow(
                row.ledger, row.vat_code, first.amount + row.amount, None, kind
            )
        else:
            grouped[key] = BookingRow(row.ledger, row.vat_code, row.amount, None, row.kind)
    return list(grouped.values())
