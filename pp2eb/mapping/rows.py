"""The rows of a booking: which ledger, which VAT code and which amount for each part of an order.

Lines go on their product's ledger, shipping on the shipping ledger, order discounts where the
revenue went (see ``discount_rows``), and under OSS the foreign VAT on the country's OSS ledger.
Amounts include VAT (``inExVat`` IN), except OSS revenue rows, whose VAT is the separate OSS
row.
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
from pp2eb.mapping.vat import Treatment, VatPlan
from pp2eb.mapping.vatcodes import CENT, NO_VAT
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

    def discount(self) -> Ledger | None:
        """The discount ledger of the settings, if one is set."""
        code = self.settings.discount_ledger
        return self.get(code, "VW", "discount", "discount_ledger") if code else None


def _line_text(line: Line) -> str:
    text = line.label.strip() or f"Product {line.product_id}"
    if line.quantity != 1:
        text = f"{line.quantity}x {text}"
    if line.discounts:
        codes = ", ".join(d.code for d in line.discounts if d.code)
        text += f" (korting {codes})" if codes else " (korting)"
    return text


def booking_rows(
    order: Order, rates: dict[str, RateTotals], how: VatPlan, ledgers: Ledgers
) -> list[BookingRow]:
    """The rows before grouping and rounding: lines, shipping, discounts, OSS VAT."""
    rows = []
    for line, treatment in zip(order.lines, how.lines, strict=True):
        amount = line.net if treatment.oss_country else line.gross
        code = treatment.vat_code
        rows.append(BookingRow(ledgers.product(line), code, amount, cut(_line_text(line)), LINE))
    shipping = order.shipping
    # No shipping costs, no row: the shipping ledger is needed only when there are some.
    if shipping is not None and shipping.amount_with_tax and how.shipping:
        treatment = how.shipping
        amount = shipping.amount if treatment.oss_country else shipping.amount_with_tax
        ledger = ledgers.optional(
            ledgers.settings.shipping_ledger, "shipping", "shipping_ledger", "its shipping costs"
        )
        rows.append(BookingRow(ledger, treatment.vat_code, amount, "Verzendkosten", SHIPPING))
    rows += discount_rows(order, rates, how, ledgers)
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


def discount_rows(
    order: Order, rates: dict[str, RateTotals], how: VatPlan, ledgers: Ledgers
) -> list[BookingRow]:
    """The order discounts as negative rows: each rate's share split over the lines at that
    rate in proportion to their amounts, on each line's ledger with each line's VAT code; on
    ``discount_ledger`` instead when one is set.

    A course on 8010 and a book on 8020 with 10% off the order each lose their own part, so no
    revenue ledger goes below what was sold on it; at a 0% rate that holds goods and services,
    each kind's code takes its own share. The cents the split leaves go to the largest
    remainders, so the parts add up to Plug&Pay's discount exactly.
    """
    codes = ", ".join(d.code for d in order.discounts if d.code)
    text = cut(f"Korting {codes}" if codes else "Korting")
    fixed = ledgers.discount()
    sums: dict[tuple[str, str], BookingRow] = {}
    for key, totals in rates.items():
        oss = how[key].oss_country is not None
        share = totals.discount_net if oss else totals.discount_gross
        if not share:
            continue
        if fixed:
            targets = [(fixed, treatment, part) for treatment, part in how.split(key, share)]
        else:
            targets = _follow_lines(order, how, key, oss, share, ledgers)
        for ledger, treatment, amount in targets:
            where = (ledger.code, treatment.vat_code)
            row = sums.get(where)
            total = (row.amount if row else ZERO) - amount
            sums[where] = BookingRow(ledger, treatment.vat_code, total, text, DISCOUNT)
    return [row for row in sums.values() if row.amount]


def _follow_lines(
    order: Order, how: VatPlan, key: str, oss: bool, share: Decimal, ledgers: Ledgers
) -> list[tuple[Ledger, Treatment, Decimal]]:
    """``share`` of rate ``key`` over the (ledger, treatment) of the lines at that rate, by
    their amounts."""
    weights: dict[tuple[str, str], tuple[Ledger, Treatment, Decimal]] = {}
    for line, treatment in zip(order.lines, how.lines, strict=True):
        if line.rate.key == key:
            ledger = ledgers.product(line)
            amount = line.net if oss else line.gross
            where = (ledger.code, treatment.vat_code)
            before = weights.get(where, (ledger, treatment, ZERO))[2]
            weights[where] = (ledger, treatment, before + amount)
    parts = split(share, [weight for _l, _t, weight in weights.values()])
    if parts is None:  # no lines at this rate to follow: the revenue ledger, as before
        revenue = ledgers.revenue()
        return [(revenue, treatment, part) for treatment, part in how.split(key, share)]
    pairs = zip(weights.values(), parts, strict=True)
    return [(ledger, treatment, part) for (ledger, treatment, _w), part in pairs]


def split(total: Decimal, weights: list[Decimal]) -> list[Decimal] | None:
    """``total`` in cents over ``weights`` in proportion, the spare cents to the largest
    remainders (the first of equals first); None unless the non-zero weights share one sign."""
    if len({w > 0 for w in weights if w}) != 1:
        return None
    whole = sum(weights, ZERO)
    cents = int((total / CENT).to_integral_value())
    exact = [Decimal(cents) * w / whole for w in weights]
    parts = [int(e) for e in exact]  # towards zero
    spare = cents - sum(parts)
    step = 1 if spare > 0 else -1
    ranked = sorted(range(len(exact)), key=lambda i: -abs(exact[i] - parts[i]))
    for i in ranked[: abs(spare)]:
        parts[i] += step
    return [Decimal(p) * CENT for p in parts]


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
