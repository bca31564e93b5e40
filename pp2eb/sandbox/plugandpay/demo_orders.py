"""Draft orders of the demo shop and how they become API-shaped Plug&Pay orders.

A draft says who buys what, when and how it is paid, and in which form the order is written
where the record leaves that open (its ``variants.Variant``); ``finalize`` numbers the drafts in
creation order and builds each order dict, its money part made by ``order_builder`` so that
the consistency rules of ``docs/plugandpay-order.md`` hold.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from pp2eb.sandbox.plugandpay.demo_catalog import (
    PHYSICAL,
    PRICES,
    REDUCED_RATE,
    SHIPPING,
    STANDARD_RATE,
    TITLES,
    Customer,
    rate,
)
from pp2eb.sandbox.plugandpay.order_builder import (
    DiscountSpec,
    LineSpec,
    Rate,
    build_money,
    cents,
    negate_amounts,
)
from pp2eb.sandbox.plugandpay.variants import CANONICAL, Variant, present

_METHODS = {"NL": "ideal", "BE": "bancontact"}
_SHOP = "https://demo-webshop.plugandpay.nl"


@dataclass(frozen=True)
class Pick:
    """One product in a basket; ``unit`` is a price set by hand in the order's price mode."""

    product_id: int
    quantity: int = 1
    unit: Decimal | None = None
    label: str | None = None
    discount_percent: Decimal | None = None
    discount_type: str = "sale"
    discount_code: str | None = None
    type: str = "standard"


@dataclass(eq=False)
class Draft:
    """An order before it has an id; ``finalize`` turns drafts into API-shaped orders."""

    created: datetime
    customer: Customer
    lines: list[LineSpec]
    tax_included: bool
    shipping: tuple[Decimal, Rate] | None = None
    discounts: list[DiscountSpec] = field(default_factory=list)
    mode: str = "live"
    invoice_status: str = "final"
    payment_status: str = "paid"  # paid | open | processing | credited | credit_invoice
    method: str | None = None
    provider: str | None = None  # None: Mollie, for every method but a bank transfer
    source: str = "checkout"
    credit_of: Draft | None = None
    credited_by: Draft | None = None
    variant: Variant = CANONICAL
    id: int = 0
    paid_at: datetime | None = None
    invoice_number: str | None = None
    money: dict[str, Any] | None = None


def draft(
    created: datetime,
    customer: Customer,
    picks: list[Pick],
    *,
    oss: bool = True,
    discounts: list[DiscountSpec] | None = None,
    free_shipping: bool = False,
    **fields: Any,
) -> Draft:
    """A draft order of ``picks`` priced and taxed the way this customer is charged."""
    # Consumers see VAT-inclusive price points; businesses and zero-rated buyers are priced
    # excl. VAT, derived from the Dutch consumer price.
    tax_included = customer.kind in ("consumer", "eu")
    lines = []
    for pick in picks:
        price, reduced = PRICES[pick.product_id]
        nl_rate = rate("NL", REDUCED_RATE["NL"] if reduced else STANDARD_RATE["NL"])
        unit = pick.unit
        if unit is None:
            unit = price if tax_included else cents(price / (1 + nl_rate.factor))
        line_price = unit * pick.quantity
        discount = Decimal("0.00")
        if pick.discount_percent:
            discount = cents(line_price * pick.discount_percent / 100)
        lines.append(
            LineSpec(
                product_id=pick.product_id,
                label=pick.label or TITLES[pick.product_id],
                quantity=pick.quantity,
                unit_price=unit,
                rate=_charged(customer, reduced, oss),
                discount=discount,
                discount_code=pick.discount_code,
                discount_type=pick.discount_type,
                type=pick.type,
            )
        )
    shipping = None
    if any(p.product_id in PHYSICAL for p in picks):
        # One rate for shipping: the shop's main rate for the destination.
        ship_rate = _charged(customer, False, oss)
        price = Decimal("0.00" if free_shipping else SHIPPING[customer.country])
        if not tax_included:
            price = cents(price / (1 + rate("NL", STANDARD_RATE["NL"]).factor))
        shipping = (price, ship_rate)
    fields.setdefault("method", _METHODS.get(customer.country, "creditcard"))
    return Draft(created, customer, lines, tax_included, shipping, list(discounts or []), **fields)


def _charged(customer: Customer, reduced: bool, oss: bool) -> Rate:
    """The rate charged: Dutch VAT, the destination's rate under OSS, or the 0% rate."""
    if customer.kind in ("reverse", "export"):
        return rate(customer.country, 0)
    country = customer.country if customer.kind == "eu" and oss else "NL"
    return rate(country, (REDUCED_RATE if reduced else STANDARD_RATE)[country])


def credit(original: Draft, created: datetime, variant: Variant = CANONICAL) -> Draft:
    """The credit-invoice order of ``original``; marks the original as credited.

    Its amounts are the original's negated, in the original's form; ``variant`` writes the rest.
    """
    original.payment_status = "credited"
    note = Draft(
        created,
        original.customer,
        [],
        original.tax_included,
        mode=original.mode,
        payment_status="credit_invoice",
        source="admin",
        credit_of=original,
        variant=variant,
    )
    original.credited_by = note
    return note


def finalize(
    drafts: list[Draft], first_id: int, rng: random.Random, *, canonical: bool = False
) -> list[dict[str, Any]]:
    """Give drafts ids in creation order, then build each order dict.

    ``canonical`` writes every order in the canonical form (each keeping its VAT rounding per
    unit, if its shop has one): the twin a variant must be booked like.
    """
    drafts = sorted(drafts, key=lambda d: d.created)
    for offset, item in enumerate(drafts):
        item.id = first_id + offset
        if item.payment_status in ("paid", "credited"):
            item.paid_at = item.created + timedelta(seconds=rng.randrange(900))
        if item.invoice_status == "final":
            # inferred: one number series per mode, "2026-00042"; test orders get a T prefix.
            prefix = "T" if item.mode == "test" else ""
            day = (item.paid_at or item.created).date()
            item.invoice_number = f"{prefix}{day.year}-{item.id:05d}"
    return [_order(item, rng, canonical) for item in drafts]


def _ts(moment: datetime | None) -> str | None:
    return None if moment is None else moment.strftime("%Y-%m-%dT%H:%M:%S.000000Z")


def _order(item: Draft, rng: random.Random, canonical: bool) -> dict[str, Any]:
    variant = CANONICAL if canonical else item.variant
    if item.credit_of is not None:
        money = negate_amounts(item.credit_of.money)
        for index, line in enumerate(money["items"], start=1):
            line["id"] = item.id * 100 + index
    else:
        money = build_money(
            item.lines,
            tax_included=item.tax_included,
            shipping=item.shipping,
            discounts=item.discounts,
            first_item_id=item.id * 100 + 1,
            variant=variant,
            per_unit=item.variant.per_unit,
        )
    item.money = money
    reference = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    final = item.invoice_status == "final"
    updated = item.credited_by.created if item.credited_by else item.paid_at or item.created
    related = [
        {"id": other.id, "invoice_number": other.invoice_number, "payment_status": status}
        for other, status in (
            (item.credit_of, "credited"),
            (item.credited_by, "credit_invoice"),
        )
        if other is not None
    ]
    order = {
        "id": item.id,
        "amount": money["amount"],
        "amount_with_tax": money["amount_with_tax"],
        "created_at": _ts(item.created),
        "updated_at": _ts(updated),
        "deleted_at": None,
        "invoice_number": item.invoice_number,
        "invoice_status": item.invoice_status,
        "invoice_date": (item.paid_at or item.created).date().isoformat() if final else None,
        "is_first": item.credit_of is None,  # inferred: one-off products, no subscriptions
        "is_hidden": False,
        "mode": item.mode,
        "reference": reference,
        "source": item.source,
        "billing": item.customer.billing(),
        "items": money["items"],
        "taxes": money["taxes"],
        "total_discounts": money["total_discounts"],
        "shipping": money["shipping"],
        "payment": _payment(item, reference, rng),
        "related_orders": related,
        "comments": [],
        "tags": [],
    }
    return present(order, variant)


def _payment(item: Draft, reference: str, rng: random.Random) -> dict[str, Any]:
    status = item.payment_status
    # A credit invoice is administrative (the refund goes through the PSP), and an open or
    # concept order has no payment yet.
    method = None if status == "credit_invoice" else item.method
    settled = status in ("paid", "credited", "processing")
    provider = (item.provider or "mollie") if settled and method != "banktransfer" else None
    token = "".join(rng.choices("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789", k=10))
    # inferred: payment type per method (mail = invoice by e-mail, mandate = direct debit).
    kind = {"banktransfer": "mail", "directdebit": "mandate"}.get(method or "", "unknown")
    return {
        "status": status,
        "method": method,
        "provider": provider,
        "paid_at": _ts(item.paid_at),
        "transaction_id": f"tr_{token}" if settled else None,
        "type": "manual" if status == "credit_invoice" else kind,
        "customer_id": None,
        "mandate_id": f"mdt_{token}" if method == "directdebit" else None,
        "order_id": item.id,
        "url": f"{_SHOP}/orders/payment-link/{reference}",
    }
