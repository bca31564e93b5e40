"""The rows of a booking: which ledger, which VAT code and which amount for each part of an order.

Lines go on their product's ledger, shipping on the shipping ledger, order discounts where the
revenue went (see ``discount_rows``), and under OSS the foreign VAT on the country's OSS ledger.
Amounts include VAT (``inExVat`` IN), except OSS revenue rows, whose VAT is the separate OSS
row.

Every row knows its Plug&Pay rate (``DE:19``). The OSS return needs the base and the VAT per
country and rate, and e-Boekhouden has one code (``AFST_VERK``) for all of them, so the rows of
an OSS rate end their description with the country and rate (``Cursus DE 19% (OSS)``), and
rows are kept apart, and grouped, per ledger, VAT code, country and rate.
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
    ReferenceData,
)
from pp2eb.mapping.order import Line, Order, TaxRate
from pp2eb.mapping.payloads import MAX_ROW_DESCRIPTION
from pp2eb.mapping.problems import MappingError, cut
from pp2eb.mapping.settings import Settings
from pp2eb.mapping.totals import ZERO, RateTotals, round_to_total
from pp2eb.mapping.vat import Treatment, VatPlan
from pp2eb.mapping.vatcodes import NO_VAT

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


def oss_tag(rate_key: str) -> str:
    """What ends the description of an OSS rate's rows: `` DE 19% (OSS)`` for ``DE:19``."""
    country, percentage = rate_key.split(":")
    return f" {country} {percentage}% (OSS)"


def _described(text: str, rate_key: str | None, oss: bool) -> str:
    """``text`` cut to fit, with an OSS rate's country and rate after it."""
    tag = oss_tag(rate_key) if oss and rate_key else ""
    return cut(text, MAX_ROW_DESCRIPTION - len(tag)) + tag


def _row(
    ledger: Ledger, treatment: Treatment, amount: Decimal, text: str, kind: str, rate: TaxRate
) -> BookingRow:
    """A row at ``rate`` booked with ``treatment``."""
    oss = treatment.oss_country is not None
    description = _described(text, rate.key, oss)
    return BookingRow(ledger, treatment.vat_code, amount, description, kind, rate.key, oss)


def booking_rows(
    order: Order, rates: dict[str, RateTotals], how: VatPlan, ledgers: Ledgers
) -> list[BookingRow]:
    """The rows before grouping and rounding: lines, shipping, discounts, OSS VAT."""
    rows = []
    for line, treatment in zip(order.lines, how.lines, strict=True):
        amount = line.net if treatment.oss_country else line.gross
        ledger = ledgers.product(line)
        rows.append(_row(ledger, treatment, amount, _line_text(line), LINE, line.rate))
    shipping = order.shipping
    # No shipping costs, no row: the shipping ledger is needed only when there are some.
    if shipping is not None and shipping.amount_with_tax and how.shipping:
        treatment = how.shipping
        amount = shipping.amount if treatment.oss_country else shipping.amount_with_tax
        ledger = ledgers.optional(
            ledgers.settings.shipping_ledger, "shipping", "shipping_ledger", "its shipping costs"
        )
        rows.append(_row(ledger, treatment, amount, "Verzendkosten", SHIPPING, shipping.rate))
    rows += discount_rows(order, rates, how, ledgers)
    for key, totals in rates.items():
        country = how[key].oss_country
        if country:
            ledger = ledgers.get(
                ledgers.settings.oss_ledgers[country], "BAL", f"OSS {country}", "oss_ledgers"
            )
            # inferred: a BAL ledger with GEEN is allowed on a type-2 row (MUT_106 bans only
            # FIN, CRED and DEB there).
            text = "Btw" + oss_tag(key)
            rows.append(BookingRow(ledger, NO_VAT, totals.vat, text, OSS_VAT, key, True))
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
    text = f"Korting {codes}" if codes else "Korting"
    fixed = ledgers.discount()
    # Per ledger, VAT code and rate: the OSS rates of one country stay apart (a domestic order
    # has one rate per VAT code, so for it this is per ledger and VAT code).
    sums: dict[tuple[str, str, str], BookingRow] = {}
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
            where = (ledger.code, treatment.vat_code, key)
            row = sums.get(where)
            total = (row.amount if row else ZERO) - amount
            sums[where] = _row(ledger, treatment, total, text, DISCOUNT, totals.rate)
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
    remainders (``totals.round_to_total``); None unless the non-zero weights share one sign."""
    if len({w > 0 for w in weights if w}) != 1:
        return None
    whole = sum(weights, ZERO)
    return round_to_total([total * w / whole for w in weights], total)


def group_rows(rows: list[BookingRow]) -> list[BookingRow]:
    """Rows summed per ledger, VAT code, country and rate, in order of first appearance.

    A grouped row loses the lines' descriptions; an OSS rate's row is described by its ledger,
    country and rate (``Omzet cursussen DE 19% (OSS)``), so that the OSS return can read it.
    """
    grouped: dict[tuple[str, str, str | None], BookingRow] = {}
    for row in rows:
        key = (row.ledger.code, row.vat_code, row.rate)
        first = grouped.get(key)
        amount = row.amount if first is None else first.amount + row.amount
        kind = row.kind if first is None or first.kind == row.kind else LINE
        description = None
        if row.oss:
            text = "Btw" if kind == OSS_VAT else row.ledger.description
            description = _described(text or f"Grootboek {row.ledger.code}", row.rate, True)
        grouped[key] = BookingRow(
            row.ledger, row.vat_code, amount, description, kind, row.rate, row.oss
        )
    return list(grouped.values())
