"""Build the money part of a Plug&Pay order so that it obeys ``docs/plugandpay-order.md``.

Pure and deterministic: lines, shipping and order discounts in, the ``amount``,
``amount_with_tax``, ``items``, ``taxes``, ``total_discounts`` and ``shipping`` keys out, as
decimal strings, in the form of the order's ``variants.Variant``. Every amount is derived per
line (or per unit) with half-up rounding to the cent, so the per-line versus per-total rounding
differences of a real shop occur naturally.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from pp2eb.sandbox.plugandpay.variants import CANONICAL, Variant

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
HUNDRED = Decimal(100)


def cents(value: Decimal) -> Decimal:
    """Round half-up to the cent."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def money(value: Decimal) -> str:
    """A decimal string with two decimals, never ``-0.00``."""
    value = cents(value)
    if value == 0:
        value = ZERO
    return f"{value:.2f}"


@dataclass(frozen=True)
class Rate:
    """One Plug&Pay tax rate (``/v2/tax-rates`` entry)."""

    id: int
    country: str
    percentage: Decimal

    @property
    def factor(self) -> Decimal:
        """The VAT fraction, 0.21 for 21%."""
        return self.percentage / HUNDRED

    def as_dict(self) -> dict[str, Any]:
        """The rate as the API writes it (percentage as a string like ``"21.0"``)."""
        return {"id": self.id, "country": self.country, "percentage": f"{self.percentage:.1f}"}


@dataclass(frozen=True)
class LineSpec:
    """One order line; prices are incl. or excl. VAT as the order's ``tax_included`` says."""

    product_id: int | None
    label: str
    quantity: int
    unit_price: Decimal
    rate: Rate
    discount: Decimal = ZERO  # on the whole line, in the order's price mode
    discount_code: str | None = None
    discount_type: str = "sale"
    type: str = "standard"


@dataclass(frozen=True)
class DiscountSpec:
    """An order-level discount: a fixed ``amount`` or a ``percent`` of the lines."""

    code: str | None
    amount: Decimal | None = None
    percent: Decimal | None = None
    type: str = "promotion"


def _pair(price: Decimal, tax_included: bool, factor: Decimal) -> tuple[Decimal, Decimal]:
    """(net, gross) of a price given incl. or excl. VAT; the VAT is rounded, not the price."""
    if tax_included:
        return cents(price / (1 + factor)), price
    return price, price + cents(price * factor)


def tax_object(vat: Decimal, taxed: tuple[Decimal, Decimal], rate: Rate, meaning: str) -> dict:
    """A tax object as the SDK fixture shows it, ``{amount, amount_with_tax, rate}``.

    ``meaning`` "vat": ``amount`` is the VAT, and (inferred) ``amount_with_tax`` that amount
    with VAT at the rate on top, as in the fixture (10.00 and 12.10 at 21%). "base": the
    ``taxed`` amount excl. and incl. VAT, the VAT being the difference. The record does not
    say which; ``variants`` writes both.
    """
    if meaning == "base":
        amount, with_tax = taxed
    else:
        amount, with_tax = vat, cents(vat * (1 + rate.factor))
    return {"amount": money(amount), "amount_with_tax": money(with_tax), "rate": rate.as_dict()}


def _discount(amount: Decimal, with_tax: Decimal, code: str | None, kind: str) -> dict:
    return {"amount": money(amount), "amount_with_tax": money(with_tax), "code": code, "type": kind}


@dataclass
class _Rates:
    """Per rate id: the rate, its VAT and its taxed amount excl. VAT so far."""

    rates: dict[int, Rate] = field(default_factory=dict)
    vat: dict[int, Decimal] = field(default_factory=dict)
    taxed: dict[int, Decimal] = field(default_factory=dict)

    def add(self, rate: Rate, vat: Decimal, taxed: Decimal) -> None:
        self.rates.setdefault(rate.id, rate)
        self.vat[rate.id] = self.vat.get(rate.id, ZERO) + vat
        self.taxed[rate.id] = self.taxed.get(rate.id, ZERO) + taxed


def _line(line: LineSpec, tax_included: bool, per_unit: bool) -> tuple[Decimal, ...]:
    """(net, gross, net after the line's discount, gross after it) of one line."""
    factor = line.rate.factor
    price = line.unit_price * line.quantity
    if not per_unit:
        net, gross = _pair(price, tax_included, factor)
        return (net, gross, *_pair(price - line.discount, tax_included, factor))
    # A shop that keeps unit prices rounds the VAT per unit, and the discount's on its own.
    unit_net, unit_gross = _pair(line.unit_price, tax_included, factor)
    net, gross = unit_net * line.quantity, unit_gross * line.quantity
    off_net, off_gross = _pair(line.discount, tax_included, factor)
    return net, gross, net - off_net, gross - off_gross


def build_money(
    lines: Sequence[LineSpec],
    *,
    tax_included: bool,
    shipping: tuple[Decimal, Rate] | None = None,
    discounts: Sequence[DiscountSpec] = (),
    first_item_id: int = 1,
    variant: Variant = CANONICAL,
    per_unit: bool | None = None,
) -> dict[str, Any]:
    """The order's money keys in the ``variant``'s form, consistent by construction with the
    four rules; ``per_unit`` (the variant's, unless given) rounds the VAT per unit."""
    per_unit = variant.per_unit if per_unit is None else per_unit
    items = []
    by_rate = _Rates()
    base_by_rate: dict[int, Decimal] = {}  # net after item discounts: splits order discounts
    lines_net = lines_gross = ZERO
    for index, line in enumerate(lines):
        rate = line.rate
        net, gross, net_after, gross_after = _line(line, tax_included, per_unit)
        tax = gross_after - net_after
        item_discounts = []
        if line.discount:
            item_discounts.append(
                _discount(
                    net - net_after, gross - gross_after, line.discount_code, line.discount_type
                )
            )
        shown = {
            "line": (net, gross),
            "net": (net_after, gross_after),
            "unit": (net / line.quantity, gross / line.quantity),
        }[variant.amounts]
        taxed = (net_after, gross_after) if variant.tax_scope == "after" else (net, gross)
        items.append(
            {
                "id": first_item_id + index,
                "product_id": line.product_id,
                "label": line.label,
                "quantity": line.quantity,
                "type": line.type,
                "amount": money(shown[0]),
                "amount_with_tax": money(shown[1]),
                "discounts": item_discounts,
                "tax": tax_object(taxed[1] - taxed[0], taxed, rate, variant.tax_meaning),
            }
        )
        by_rate.add(rate, tax, net_after)
        base_by_rate[rate.id] = base_by_rate.get(rate.id, ZERO) + net_after
        lines_net += net_after
        lines_gross += gross_after

    total_net, total_gross = lines_net, lines_gross
    shipping_out = None
    if shipping is not None:
        price, rate = shipping
        net, gross = _pair(price, tax_included, rate.factor)
        # The tap schema's shape: a list of taxes, one entry here (the shop's main rate).
        # Free shipping has none; so has shipping at 0%, in one variant.
        taxes = [tax_object(gross - net, (net, gross), rate, variant.tax_meaning)]
        untaxed = variant.untaxed_shipping == "none" and not rate.percentage
        if not price or untaxed:
            taxes = []
        if price:
            by_rate.add(rate, gross - net, net)
        shipping_out = {"amount": money(net), "amount_with_tax": money(gross), "taxes": taxes}
        total_net += net
        total_gross += gross

    # A percentage is of the lines after item discounts, in the order's price mode.
    lines_base = lines_gross if tax_included else lines_net
    total_discounts = []
    for spec in discounts:
        value = (
            spec.amount if spec.amount is not None else cents(lines_base * spec.percent / HUNDRED)
        )
        disc_net, disc_gross = _spread_discount(value, base_by_rate, by_rate, tax_included)
        total_discounts.append(_discount(disc_net, disc_gross, spec.code, spec.type))
        total_net -= disc_net
        total_gross -= disc_gross

    return {
        "amount": money(total_net),
        "amount_with_tax": money(total_gross),
        "items": items,
        "taxes": [
            tax_object(
                by_rate.vat[rate_id],
                (by_rate.taxed[rate_id], by_rate.taxed[rate_id] + by_rate.vat[rate_id]),
                rate,
                variant.tax_meaning,
            )
            for rate_id, rate in by_rate.rates.items()
        ],
        "total_discounts": total_discounts,
        "shipping": shipping_out,
    }


def _spread_discount(
    value: Decimal, base_by_rate: dict[int, Decimal], by_rate: _Rates, tax_included: bool
) -> tuple[Decimal, Decimal]:
    """Split an order discount over the rates in proportion to the lines' net amounts.

    Lowers each rate's VAT and taxed amount by its share; returns the discount's (net, gross).
    The last rate takes the rounding remainder so the shares add up to ``value`` exactly.
    """
    total_base = sum(base_by_rate.values(), ZERO)
    rate_ids = [rate_id for rate_id, base in base_by_rate.items() if base]
    disc_net = disc_gross = ZERO
    left = value
    for position, rate_id in enumerate(rate_ids):
        last = position == len(rate_ids) - 1
        share = left if last else cents(value * base_by_rate[rate_id] / total_base)
        left -= share
        rate = by_rate.rates[rate_id]
        net, gross = _pair(share, tax_included, rate.factor)
        by_rate.add(rate, -(gross - net), -net)
        disc_net += net
        disc_gross += gross
    return disc_net, disc_gross


def negate_amounts(order: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of ``order`` with every ``amount`` and ``amount_with_tax`` negated."""
    result = copy.deepcopy(order)
    _negate(result)
    return result


def _negate(node: Any) -> None:
    if isinstance(node, list):
        for child in node:
            _negate(child)
    elif isinstance(node, dict):
        for key, child in node.items():
            if key in ("amount", "amount_with_tax") and isinstance(child, str):
                node[key] = money(-Decimal(child))
            else:
                _negate(child)
