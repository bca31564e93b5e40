"""Build the money part of a Plug&Pay order so that it obeys ``docs/plugandpay-order.md``.

Pure and deterministic: lines, shipping and order discounts in, the ``amount``,
``amount_with_tax``, ``items``, ``taxes``, ``total_discounts`` and ``shipping`` keys out, as
decimal strings. Every amount is derived per line with half-up rounding to the cent, so the
per-line versus per-total rounding differences of a real shop occur naturally.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

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


def tax_object(vat: Decimal, rate: Rate) -> dict[str, Any]:
    """A tax object as the SDK fixture shows it: ``{amount, amount_with_tax, rate}``.

    ``amount`` is the VAT. inferred: ``amount_with_tax`` is that amount with VAT at the rate on
    top, as in the fixture (10.00 and 12.10 at 21%); the record does not say what it means and
    pp2eb does not book it.
    """
    with_tax = cents(vat * (1 + rate.factor))
    return {"amount": money(vat), "amount_with_tax": money(with_tax), "rate": rate.as_dict()}


def _discount(amount: Decimal, with_tax: Decimal, code: str | None, kind: str) -> dict:
    return {"amount": money(amount), "amount_with_tax": money(with_tax), "code": code, "type": kind}


def build_money(
    lines: Sequence[LineSpec],
    *,
    tax_included: bool,
    shipping: tuple[Decimal, Rate] | None = None,
    discounts: Sequence[DiscountSpec] = (),
    first_item_id: int = 1,
) -> dict[str, Any]:
    """The order's money keys, consistent by construction with the four rules."""
    items = []
    tax_by_rate: dict[int, Decimal] = {}
    rates: dict[int, Rate] = {}
    base_by_rate: dict[int, Decimal] = {}  # net after item discounts: splits order discounts
    lines_net = lines_gross = ZERO
    for index, line in enumerate(lines):
        rate = line.rate
        price = line.unit_price * line.quantity
        net, gross = _pair(price, tax_included, rate.factor)
        net_after, gross_after = _pair(price - line.discount, tax_included, rate.factor)
        tax = gross_after - net_after
        item_discounts = []
        if line.discount:
            item_discounts.append(
                _discount(
                    net - net_after, gross - gross_after, line.discount_code, line.discount_type
                )
            )
        items.append(
            {
                "id": first_item_id + index,
                "product_id": line.product_id,
                "label": line.label,
                "quantity": line.quantity,
                "type": line.type,
                "amount": money(net),
                "amount_with_tax": money(gross),
                "discounts": item_discounts,
                "tax": tax_object(tax, rate),
            }
        )
        rates.setdefault(rate.id, rate)
        tax_by_rate[rate.id] = tax_by_rate.get(rate.id, ZERO) + tax
        base_by_rate[rate.id] = base_by_rate.get(rate.id, ZERO) + net_after
        lines_net += net_after
        lines_gross += gross_after

    total_net, total_gross = lines_net, lines_gross
    shipping_out = None
    if shipping is not None:
        price, rate = shipping
        net, gross = _pair(price, tax_included, rate.factor)
        # The tap schema's shape: a list of taxes (one here: the shop's main rate).
        shipping_out = {
            "amount": money(net),
            "amount_with_tax": money(gross),
            "taxes": [tax_object(gross - net, rate)],
        }
        rates.setdefault(rate.id, rate)
        tax_by_rate[rate.id] = tax_by_rate.get(rate.id, ZERO) + gross - net
        total_net += net
        total_gross += gross

    # A percentage is of the lines after item discounts, in the order's price mode.
    lines_base = lines_gross if tax_included else lines_net
    total_discounts = []
    for spec in discounts:
        value = (
            spec.amount if spec.amount is not None else cents(lines_base * spec.percent / HUNDRED)
        )
        disc_net, disc_gross = _spread_discount(
            value, base_by_rate, rates, tax_by_rate, tax_included
        )
        total_discounts.append(_discount(disc_net, disc_gross, spec.code, spec.type))
        total_net -= disc_net
        total_gross -= disc_gross

    return {
        "amount": money(total_net),
        "amount_with_tax": money(total_gross),
        "items": items,
        "taxes": [tax_object(tax_by_rate[rate_id], rates[rate_id]) for rate_id in rates],
        "total_discounts": total_discounts,
        "shipping": shipping_out,
    }


def _spread_discount(
    value: Decimal,
    base_by_rate: dict[int, Decimal],
    rates: dict[int, Rate],
    tax_by_rate: dict[int, Decimal],
    tax_included: bool,
) -> tuple[Decimal, Decimal]:
    """Split an order discount over the rates in proportion to the lines' net amounts.

    Lowers ``tax_by_rate`` by each rate's VAT share; returns the discount's (net, gross).
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
        net, gross = _pair(share, tax_included, rates[rate_id].factor)
        tax_by_rate[rate_id] -= gross - net
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
