"""How the sandbox writes an order where the public record leaves the form open.

``docs/plugandpay-order.md`` lists each open point and the readings pp2eb accepts; the sandbox
writes every one of them, so that the demo, the tests and the benchmarks meet them all and a
client that takes only one reading fails here, not at a shop. Each order has a ``Variant``: the
demo's special cases name theirs, the other orders draw one from the seed (from a generator of
their own, so the orders themselves stay what they were). Each variant is in the contract
(``contract/``); none adds a field no source shows.

The money part of a variant is written by ``order_builder.build_money``, the rest by ``present``.
"""

from __future__ import annotations

import copy
import random
from dataclasses import dataclass, fields, replace
from decimal import Decimal
from typing import Any

# Each point's options, the first one being the canonical form.
OPTIONS: dict[str, tuple[str, ...]] = {
    # items[].amount / amount_with_tax: line totals before the item's own discounts, after
    # them, or the unit price (the shop then rounds VAT per unit).
    "amounts": ("line", "net", "unit"),
    # items[].tax: about the line after its own discounts, or before them.
    "tax_scope": ("after", "before"),
    # A tax object's amount: the VAT, or the amount excl. VAT (amount_with_tax incl. VAT).
    "tax_meaning": ("vat", "base"),
    # Shipping at a 0% rate: a taxes entry of 0.00 at that rate, or no entry (taxes: []).
    "untaxed_shipping": ("rate", "none"),
    # tax rate percentages: "21.0" (the SDK fixtures), "21", or the number 21.
    "percentage": ("text", "short", "number"),
    # ids: numbers (the SDK fixtures) or the same as text.
    "ids": ("number", "text"),
    # items[].type of a standard line: "standard" or null (the SDK reads null as standard).
    "item_type": ("named", "null"),
    # An include with nothing in it: present ([] or null) or left out of the answer.
    "empty": ("present", "left_out"),
}
# Chance that a drawn variant keeps the canonical form of a point.
CANONICAL_SHARE = 0.6


@dataclass(frozen=True)
class Variant:
    """How one order is written; see ``OPTIONS``. The defaults are the canonical form."""

    amounts: str = "line"
    tax_scope: str = "after"
    tax_meaning: str = "vat"
    untaxed_shipping: str = "rate"
    percentage: str = "text"
    ids: str = "number"
    item_type: str = "named"
    empty: str = "present"

    def __post_init__(self) -> None:
        for point in fields(self):
            if getattr(self, point.name) not in OPTIONS[point.name]:
                raise ValueError(f"{point.name} must be one of {OPTIONS[point.name]}")

    @property
    def per_unit(self) -> bool:
        """The shop keeps unit prices (and rounds VAT per unit)."""
        return self.amounts == "unit"


CANONICAL = Variant()


def random_variant(rng: random.Random) -> Variant:
    """A variant of the usual mix: each point canonical most of the time."""
    chosen = {}
    for name, options in OPTIONS.items():
        if rng.random() >= CANONICAL_SHARE:
            chosen[name] = rng.choice(options[1:])
    return replace(CANONICAL, **chosen)


def present(order: dict[str, Any], variant: Variant) -> dict[str, Any]:
    """A copy of the order with percentages, ids, item types and empty includes written the
    variant's way (its money is already in the variant's form)."""
    order = copy.deepcopy(order)
    _rates(order, variant.percentage)
    if variant.ids == "text":
        _ids(order)
    for line in order["items"]:
        if variant.item_type == "null" and line["type"] == "standard":
            line["type"] = None
    if variant.empty == "left_out":
        for key in ("total_discounts", "shipping", "related_orders", "comments", "tags"):
            if not order.get(key):
                order.pop(key, None)
    return order


def _rates(node: Any, style: str) -> None:
    if isinstance(node, list):
        for child in node:
            _rates(child, style)
    elif isinstance(node, dict):
        rate = node.get("rate")
        if isinstance(rate, dict) and style != "text":
            value = Decimal(rate["percentage"]).normalize()
            text = format(value, "f")
            if style == "short":
                rate["percentage"] = text
            else:
                rate["percentage"] = int(value) if value == value.to_integral() else value
        for child in node.values():
            _rates(child, style)


def _ids(order: dict[str, Any]) -> None:
    order["id"] = str(order["id"])
    for line in order["items"]:
        line["id"] = str(line["id"])
        if line["product_id"] is not None:
            line["product_id"] = str(line["product_id"])
    for related in order.get("related_orders") or []:
        related["id"] = str(related["id"])
    if isinstance(order.get("payment"), dict) and order["payment"].get("order_id") is not None:
        order["payment"]["order_id"] = str(order["payment"]["order_id"])
