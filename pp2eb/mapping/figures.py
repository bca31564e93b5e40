"""A Plug&Pay order's JSON read into its figures, before any reading of what they mean.

``read_figures`` checks the shape: every field the right type, a null only where one may be,
amounts in whole cents, known countries, and the signs (all amounts >= 0, or <= 0 on a credit
invoice). What an item's ``amount`` or a tax object's ``amount`` stands for the record leaves
open; ``pp2eb.mapping.readings`` tries each reading. Where the record is silent on a shape
(shipping's VAT as a ``taxes`` list or one ``tax`` object, an include left out) every shape that
can be read is taken and noted in ``Figures.notes``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from decimal import Decimal

from pp2eb.mapping.order import (
    CREDIT_INVOICE,
    PAYMENT_STATUSES,
    Address,
    Contact,
    Discount,
    Order,
    RelatedOrder,
    TaxRate,
)
from pp2eb.mapping.orderjson import ID_TEXT, Fields
from pp2eb.mapping.problems import QUOTED, MappingError, cut

logger = logging.getLogger(__name__)

MAX_ORDER_ID = 10**15
UNREADABLE_FIX = (
    "Check the order in Plug&Pay. If it looks right there, Plug&Pay sent it in a shape pp2eb "
    "does not know: report this to pp2eb with the order number."
)


@dataclass(frozen=True)
class TaxFigures:
    """A tax object as sent, ``{amount, amount_with_tax, rate}``; what ``amount`` is, is open."""

    amount: Decimal
    amount_with_tax: Decimal | None
    rate: TaxRate


@dataclass(frozen=True)
class ItemFigures:
    """An order line as sent; whether its amounts are totals or unit prices is open."""

    product_id: int | None
    label: str
    quantity: int
    amount: Decimal
    amount_with_tax: Decimal
    discounts: tuple[Discount, ...]
    tax: TaxFigures


@dataclass(frozen=True)
class ShippingFigures:
    """The shipping costs as sent, with the tax objects of ``taxes`` (or of one ``tax``)."""

    amount: Decimal
    amount_with_tax: Decimal
    taxes: tuple[TaxFigures, ...]


@dataclass(frozen=True)
class Figures:
    """An order as sent: ``head`` holds every field no reading changes (no lines, taxes or
    shipping yet), the rest the figures the readings interpret."""

    head: Order
    items: tuple[ItemFigures, ...]
    taxes: tuple[TaxFigures, ...]
    shipping: ShippingFigures | None
    notes: frozenset[str]


def read_figures(raw: object) -> Figures:
    """Read one order (or its ``{"data": ...}`` envelope); MappingError if it is unusable."""
    try:
        return _read(raw)
    except MappingError as exc:
        exc.fix = exc.fix or UNREADABLE_FIX
        raise
    except (ArithmeticError, LookupError, TypeError, ValueError) as exc:
        # A safety net for shapes the field readers did not foresee: the promise is that no
        # JSON input makes parsing fail with anything but a MappingError.
        logger.warning("unreadable Plug&Pay order: %r", exc)
        raise MappingError(
            f"The Plug&Pay order cannot be read ({exc}).", fix=UNREADABLE_FIX
        ) from exc


def read_id(value: object) -> int | None:
    """An id as Plug&Pay sends it (a number, or one written as text), else None."""
    if isinstance(value, str) and ID_TEXT.fullmatch(value):
        value = int(value)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def raw_order_id(raw: object) -> int | None:
    """The id of an order as Plug&Pay sent it, else None."""
    return read_id(raw.get("id")) if isinstance(raw, dict) else None


def _read(raw: object) -> Figures:
    if isinstance(raw, dict) and "id" not in raw and isinstance(raw.get("data"), dict):
        raw = raw["data"]
    order = Fields(raw, "order")
    order_id = order.id("id")
    # The id becomes the order number and part of the payment reference (at most 50 chars).
    if not 0 < order_id < MAX_ORDER_ID:
        raise MappingError(f"order.id is {order_id}, not a Plug&Pay order number.")
    # The payment status says whether the order is paid, credited or a credit invoice: no
    # reading can do without it.
    payment = order.obj("payment")
    payment_status = payment.choice("status", PAYMENT_STATUSES)
    credit = payment_status == CREDIT_INVOICE
    billing = order.opt_obj("billing")
    if billing is None:
        state = "null" if "billing" in order.data else "missing from the answer"
        order.notes.add(f"billing: {state}, read as no customer details")
    contact = billing.opt_obj("contact") if billing else None
    head = Order(
        id=order_id,
        amount=order.money("amount"),
        amount_with_tax=order.money("amount_with_tax"),
        invoice_number=order.opt_str("invoice_number"),
        invoice_status=order.choice("invoice_status", ("concept", "final")),
        invoice_date=order.opt_date("invoice_date"),
        mode=order.choice("mode", ("live", "test")),
        payment_status=payment_status,
        address=_address(billing.opt_obj("address") if billing else None),
        contact=_contact(contact),
        lines=(),
        taxes=(),
        # inferred: total_discounts holds order-level discounts only.
        discounts=tuple(_discount(d) for d in order.include("total_discounts")),
        shipping=None,
        related_orders=tuple(
            RelatedOrder(
                id=rel.id("id"),
                invoice_number=rel.opt_str("invoice_number"),
                payment_status=rel.opt_str("payment_status"),
            )
            for rel in order.include("related_orders")
        ),
        currency=order.opt_str("currency"),
    )
    if "shipping" not in order.data:
        order.notes.add("shipping: missing from the answer, read as none")
    shipping = order.opt_obj("shipping")
    figures = Figures(
        head=head,
        items=tuple(_item(item, credit) for item in order.include("items")),
        taxes=tuple(_tax(tax) for tax in order.include("taxes")),
        shipping=None if shipping is None else _shipping(shipping),
        notes=frozenset(),
    )
    _check_signs(figures)
    return replace(figures, notes=frozenset(order.notes))


def _address(address: Fields | None) -> Address:
    if address is None:
        return Address(None, None, None, None, None)
    return Address(
        street=address.opt_str("street"),
        housenumber=address.opt_str("housenumber"),
        zipcode=address.opt_str("zipcode"),
        city=address.opt_str("city"),
        country=address.opt_country("country"),
    )


def _contact(contact: Fields | None) -> Contact:
    if contact is None:
        return Contact(None, None, None, None, None, "unknown")
    return Contact(
        company=contact.opt_str("company"),
        email=contact.opt_str("email"),
        firstname=contact.opt_str("firstname"),
        lastname=contact.opt_str("lastname"),
        vat_id_number=contact.opt_str("vat_id_number"),
        # inferred: a missing flag means Plug&Pay did not decide, which is not reverse charge.
        tax_exempt=contact.choice("tax_exempt", ("none", "reverse", "unknown"), "unknown"),
    )


def _rate(rate: Fields) -> TaxRate:
    return TaxRate(country=rate.country("country"), percentage=rate.percentage("percentage"))


def _tax(tax: Fields) -> TaxFigures:
    with_tax = None if tax.data.get("amount_with_tax") is None else tax.money("amount_with_tax")
    return TaxFigures(tax.money("amount"), with_tax, _rate(tax.obj("rate")))


def _discount(discount: Fields) -> Discount:
    return Discount(
        amount=discount.money("amount"),
        amount_with_tax=discount.money("amount_with_tax"),
        code=discount.opt_str("code"),
    )


def _item(item: Fields, credit: bool) -> ItemFigures:
    tax = item.obj("tax")
    quantity = item.int("quantity")
    if quantity < 0 and not credit:
        raise MappingError(
            f"{item.where}.quantity is {quantity}: a negative quantity belongs on a credit "
            "invoice only.",
            fix="Correct the order in Plug&Pay or credit it.",
        )
    # The item's type (null is standard, says the SDK) changes nothing in the booking.
    return ItemFigures(
        product_id=item.opt_id("product_id"),
        label=item.opt_str("label") or "",
        quantity=quantity,
        amount=item.money("amount"),
        amount_with_tax=item.money("amount_with_tax"),
        discounts=tuple(_discount(d) for d in item.list("discounts", required=False)),
        tax=_tax(tax),
    )


def _shipping(shipping: Fields) -> ShippingFigures:
    """Shipping as the tap's schema shows it, ``{amount, amount_with_tax, taxes: [...]}``.

    inferred: each ``taxes`` entry is a tax object like the order's ``taxes[]``. A single
    ``tax`` object, which no source shows, is read too when no ``taxes`` list is sent.
    """
    if shipping.data.get("taxes") is not None or "tax" not in shipping.data:
        taxes = shipping.list("taxes")
        shipping.notes.add("shipping: VAT read from `taxes` (a list)")
    else:
        taxes = [shipping.obj("tax")]
        shipping.notes.add("shipping: VAT read from `tax` (one object; no `taxes` list sent)")
    return ShippingFigures(
        amount=shipping.money("amount"),
        amount_with_tax=shipping.money("amount_with_tax"),
        taxes=tuple(_tax(tax) for tax in taxes),
    )


def _amounts(figures: Figures) -> list[tuple[str, Decimal]]:
    """Every amount of the order with the field it comes from."""
    head = figures.head
    found = [("amount", head.amount), ("amount_with_tax", head.amount_with_tax)]

    def tax(where: str, tax: TaxFigures) -> None:
        found.append((f"{where}.amount", tax.amount))
        if tax.amount_with_tax is not None:
            found.append((f"{where}.amount_with_tax", tax.amount_with_tax))

    for i, item in enumerate(figures.items):
        where = f"items[{i}]"
        found.append((f"{where}.amount", item.amount))
        found.append((f"{where}.amount_with_tax", item.amount_with_tax))
        tax(f"{where}.tax", item.tax)
        for d in item.discounts:
            found.extend(
                [(f"{where}.discounts", d.amount), (f"{where}.discounts", d.amount_with_tax)]
            )
    for i, entry in enumerate(figures.taxes):
        tax(f"taxes[{i}]", entry)
    for d in head.discounts:
        found.extend([("total_discounts", d.amount), ("total_discounts", d.amount_with_tax)])
    if figures.shipping is not None:
        found.append(("shipping.amount", figures.shipping.amount))
        found.append(("shipping.amount_with_tax", figures.shipping.amount_with_tax))
        for i, entry in enumerate(figures.shipping.taxes):
            tax(f"shipping.taxes[{i}]", entry)
    return found


def _check_signs(figures: Figures) -> None:
    """Every amount is >= 0 on a normal order and <= 0 on a credit invoice."""
    head = figures.head
    number = cut(str(head.invoice_number or head.id), QUOTED)
    for where, value in _amounts(figures):
        if head.is_credit and value > 0:
            raise MappingError(
                f"Credit invoice {number} has a positive amount "
                f"({where} = {value}); a credit invoice's amounts are all negative.",
                fix="Check the credit invoice in Plug&Pay.",
            )
        if not head.is_credit and value < 0:
            raise MappingError(
                f"Order {head.id} has a negative amount ({where} = {value}) but is not a "
                "credit invoice.",
                fix="Correct the order in Plug&Pay or credit it.",
            )
