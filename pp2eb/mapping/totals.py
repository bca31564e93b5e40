"""Does the order add up? The consistency rules of ``docs/plugandpay-order.md``, and the order's
figures per VAT rate, with each order-level discount's share of every rate.

This is where a reading of the order that does not match reality (a line amount that is a unit
price, a ``taxes[].amount`` that is a base) becomes a clear error showing both figures, rather
than a wrong booking.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

from pp2eb.mapping.order import Order, TaxRate
from pp2eb.mapping.problems import QUOTED, MappingError, cut, shown
from pp2eb.mapping.vatcodes import CENT

ZERO = Decimal("0.00")
_HALF_CENT = Decimal("0.005")
_FIX = "Check the order in Plug&Pay; if its figures are right there, report this to pp2eb."


def _sum(values: Iterable[Decimal]) -> Decimal:
    return sum(values, ZERO)


def _mismatch(what: str, computed: Decimal, stated: Decimal, stated_name: str) -> MappingError:
    return MappingError(
        f"The order does not add up: {what} = {computed}, but {stated_name} = {stated} "
        f"(difference {computed - stated}).",
        fix=_FIX,
    )


def check_totals(order: Order) -> None:
    """Raise MappingError unless lines + shipping − discounts make the order's totals."""
    for i, line in enumerate(order.lines):
        if line.gross - line.net != line.tax_amount:
            raise _mismatch(
                f"items[{i}] ({cut(line.label, QUOTED)}) incl. VAT − excl. VAT",
                line.gross - line.net,
                line.tax_amount,
                "its VAT",
            )
    shipping = order.shipping
    if shipping and shipping.amount_with_tax - shipping.amount != shipping.tax_amount:
        raise _mismatch(
            "shipping incl. VAT − excl. VAT",
            shipping.amount_with_tax - shipping.amount,
            shipping.tax_amount,
            "its VAT",
        )
    net = _sum(line.net for line in order.lines) - _sum(d.amount for d in order.discounts)
    gross = _sum(line.gross for line in order.lines)
    gross -= _sum(d.amount_with_tax for d in order.discounts)
    if shipping:
        net += shipping.amount
        gross += shipping.amount_with_tax
    if net != order.amount:
        raise _mismatch(
            "items + shipping − discounts excl. VAT", net, order.amount, "the order's amount"
        )
    if gross != order.amount_with_tax:
        raise _mismatch(
            "items + shipping − discounts incl. VAT",
            gross,
            order.amount_with_tax,
            "the order's amount_with_tax",
        )
    vat = _sum(tax.amount for tax in order.taxes)
    if vat != order.amount_with_tax - order.amount:
        raise _mismatch(
            "the VAT per rate (taxes)",
            vat,
            order.amount_with_tax - order.amount,
            "amount_with_tax − amount",
        )


@dataclass
class RateTotals:
    """The order's figures at one Plug&Pay rate; ``vat`` is Plug&Pay's VAT at that rate."""

    rate: TaxRate
    lines_net: Decimal = ZERO
    lines_vat: Decimal = ZERO
    shipping_vat: Decimal = ZERO
    vat: Decimal = ZERO
    discount_net: Decimal = ZERO

    @property
    def discount_vat(self) -> Decimal:
        """The order discounts' VAT at this rate: what the lines carry beyond Plug&Pay's VAT."""
        return self.lines_vat + self.shipping_vat - self.vat

    @property
    def discount_gross(self) -> Decimal:
        """The order discounts' share at this rate, incl. VAT."""
        return self.discount_net + self.discount_vat


def round_to_total(values: list[Decimal], total: Decimal) -> list[Decimal]:
    """``values`` rounded to cents so that they add up to ``total`` (largest remainder, stable)."""
    floors = [v.quantize(CENT, rounding=ROUND_FLOOR) for v in values]
    missing = int((total - sum(floors, ZERO)) / CENT)
    by_remainder = sorted(range(len(values)), key=lambda i: (floors[i] - values[i], i))
    for i in by_remainder[: max(0, missing)]:
        floors[i] += CENT
    return floors


def rate_totals(order: Order) -> dict[str, RateTotals]:
    """The order per rate key, in order of first appearance; MappingError if implausible."""
    rates: dict[str, RateTotals] = {}

    def at(rate: TaxRate) -> RateTotals:
        return rates.setdefault(rate.key, RateTotals(rate))

    for line in order.lines:
        totals = at(line.rate)
        totals.lines_net += line.net
        totals.lines_vat += line.tax_amount
        # Each unit and each item discount may have its amount excl. VAT rounded on its own.
        figures = max(1, abs(line.quantity)) + len(line.discounts)
        _check_rate(line.rate, line.net, line.tax_amount, figures, line.label)
    if order.shipping:
        totals = at(order.shipping.rate)
        totals.shipping_vat += order.shipping.tax_amount
        _check_rate(order.shipping.rate, order.shipping.amount, order.shipping.tax_amount, 1, "")
    for tax in order.taxes:
        # Two Plug&Pay rates with the same country and percentage are one rate to the books.
        at(tax.rate).vat += tax.amount
    discount = _sum(d.amount for d in order.discounts)
    # Only taxed rates with lines share in a discount's VAT (shipping is not discounted).
    for totals in rates.values():
        sharing = discount and totals.lines_net and totals.rate.percentage
        if not sharing and totals.discount_vat:
            raise MappingError(
                f"Plug&Pay's VAT at {totals.rate.key} is {totals.vat}, but the lines and "
                f"shipping at that rate carry {totals.vat + totals.discount_vat} VAT.",
                fix=_FIX,
            )
    if discount:
        _split_discount(rates, discount, len(order.discounts))
    return rates


def _split_discount(rates: dict[str, RateTotals], discount: Decimal, count: int) -> None:
    """Set each rate's share of the order discounts (excl. VAT), as Plug&Pay's VAT implies.

    Plug&Pay gives the discounts' total and, through ``taxes``, their exact VAT per rate, but
    not their split over the rates. The VAT share fixes a taxed rate's share to within the
    VAT's rounding (``share = vat × 100 / rate``), whether Plug&Pay split the discount by net
    or by gross amounts; rates at 0% take the rest in proportion to their lines' amounts.
    """
    with_lines = [t for t in rates.values() if t.lines_net]
    if not with_lines:
        raise MappingError(
            f"The order has a discount of {discount} but no line amount to split it over.",
            fix=_FIX,
        )
    taxed = [t for t in with_lines if t.rate.percentage]
    untaxed = [t for t in with_lines if not t.rate.percentage]
    implied = [t.discount_vat * 100 / t.rate.percentage for t in taxed]
    rest = discount - sum(implied, Decimal(0))
    # Each discount's VAT share is rounded to the cent per rate: that much the implied
    # shares may be off.
    slack = CENT + sum((_HALF_CENT * count * 100 / t.rate.percentage for t in taxed), ZERO)
    weights = [t.lines_net for t in (untaxed or taxed)]
    spread = [rest * abs(w) / sum((abs(w) for w in weights), ZERO) for w in weights]
    if untaxed:
        raw = implied + spread
        plausible = rest * discount >= -slack * abs(discount) and abs(rest) <= abs(discount) + slack
    else:
        raw = [share + extra for share, extra in zip(implied, spread, strict=True)]
        plausible = abs(rest) <= slack
    plausible = plausible and all(v * discount >= -slack * abs(discount) for v in raw)
    if not plausible:
        shown = ", ".join(f"{t.rate.key}: {t.discount_vat}" for t in taxed)
        raise MappingError(
            f"The order discounts ({discount} excl. VAT) do not fit the VAT Plug&Pay took off "
            f"per rate ({shown}).",
            fix=_FIX,
        )
    for totals, share in zip(taxed + untaxed, round_to_total(raw, discount), strict=True):
        totals.discount_net = share


def _check_rate(rate: TaxRate, net: Decimal, vat: Decimal, figures: int, label: str) -> None:
    """The VAT on a line fits its rate, to the cent per figure rounded on its own.

    A shop that keeps unit prices rounds each unit's amount excl. VAT, and each item discount's,
    to the cent: the line's VAT (incl. − excl.) can then be off its rate by up to half a cent
    plus its VAT per figure, more than a cent in all on one unit with a discount (8.80 on 41.96
    at 21%: 54.42 is 44.98 excl., 3.66 off is 3.02 excl.).
    """
    expected = net * rate.percentage / 100
    if (not rate.percentage and vat) or abs(vat - expected) > CENT * figures:
        what = f"line {shown(label)}" if label else "shipping"
        raise MappingError(
            f"The VAT on {what} is {vat}, which does not fit {net} excl. VAT at {rate.key} "
            f"(about {expected.quantize(CENT)}).",
            fix=_FIX,
        )
