"""A Plug&Pay order as frozen dataclasses with ``Decimal`` money, read from the API's JSON.

``parse_order`` reads the order the way ``docs/plugandpay-order.md`` says and rejects anything
it cannot use with a ``MappingError`` naming the field: a missing field, a null where an object
belongs, an amount that is not a number of cents, an unknown country. It checks shape and
signs only; whether the figures add up is the mapper's check (``pp2eb.mapping.totals``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from pp2eb.mapping.booking import MappingError
from pp2eb.mapping.orderjson import Fields
from pp2eb.mapping.payloads import QUOTED, cut

logger = logging.getLogger(__name__)

CREDIT_INVOICE = "credit_invoice"
MAX_ORDER_ID = 10**15
PAYMENT_STATUSES = ("open", "processing", "paid", "credited", CREDIT_INVOICE, "reversed")


def rate_key(country: str, percentage: Decimal) -> str:
    """The ``COUNTRY:RATE`` key of a tax rate as ``vat_map`` writes it: ``NL:21``, ``FR:5.5``."""
    return f"{country}:{format(percentage.normalize(), 'f')}"


@dataclass(frozen=True)
class TaxRate:
    """A Plug&Pay tax rate: the country it belongs to and its percentage."""

    country: str
    percentage: Decimal

    @property
    def key(self) -> str:
        """``COUNTRY:RATE``, the ``vat_map`` key."""
        return rate_key(self.country, self.percentage)


@dataclass(frozen=True)
class Discount:
    """A discount: positive amounts that lower a line or the order (negated on a credit)."""

    amount: Decimal
    amount_with_tax: Decimal
    code: str | None


@dataclass(frozen=True)
class Line:
    """An order line; ``amount``/``amount_with_tax`` are line totals before its discounts.

    inferred: line totals (all units), not unit prices, and before the line's own discounts;
    ``tax_amount`` is the VAT after those discounts. The sum check catches any other reading.
    """

    product_id: int | None
    label: str
    quantity: int
    amount: Decimal
    amount_with_tax: Decimal
    discounts: tuple[Discount, ...]
    tax_amount: Decimal
    rate: TaxRate

    @property
    def net(self) -> Decimal:
        """Excl. VAT, after the line's own discounts."""
        return self.amount - sum((d.amount for d in self.discounts), Decimal(0))

    @property
    def gross(self) -> Decimal:
        """Incl. VAT, after the line's own discounts."""
        return self.amount_with_tax - sum((d.amount_with_tax for d in self.discounts), Decimal(0))


@dataclass(frozen=True)
class Shipping:
    """Shipping costs with their VAT at one rate."""

    amount: Decimal
    amount_with_tax: Decimal
    tax_amount: Decimal
    rate: TaxRate


@dataclass(frozen=True)
class TaxTotal:
    """The VAT charged at one rate on the whole order (``taxes[]``).

    inferred: ``amount`` is the VAT (lines, shipping and order discounts together), not the
    base; ``pp2eb.mapping.totals`` turns the other reading into an error.
    """

    amount: Decimal
    rate: TaxRate


@dataclass(frozen=True)
class Address:
    """The billing address; every field may be missing."""

    street: str | None
    housenumber: str | None
    zipcode: str | None
    city: str | None
    country: str | None


@dataclass(frozen=True)
class Contact:
    """The billing contact; ``tax_exempt`` is ``none``, ``reverse`` or ``unknown``."""

    company: str | None
    email: str | None
    firstname: str | None
    lastname: str | None
    vat_id_number: str | None
    tax_exempt: str


@dataclass(frozen=True)
class RelatedOrder:
    """An order linked to this one (a credit invoice and its original name each other)."""

    id: int
    invoice_number: str | None
    payment_status: str | None


@dataclass(frozen=True)
class Order:
    """One Plug&Pay order with every include pp2eb asks for."""

    id: int
    amount: Decimal
    amount_with_tax: Decimal
    invoice_number: str | None
    invoice_status: str
    invoice_date: date | None
    mode: str
    payment_status: str
    address: Address
    contact: Contact
    lines: tuple[Line, ...]
    taxes: tuple[TaxTotal, ...]
    discounts: tuple[Discount, ...]
    shipping: Shipping | None
    related_orders: tuple[RelatedOrder, ...]
    # inferred: Plug&Pay documents no currency field (its amounts are euros); if one ever
    # appears, it is read so that the mapper can refuse what is not EUR.
    currency: str | None = None

    @property
    def is_credit(self) -> bool:
        """True for a credit invoice.

        inferred: a credit invoice has its own number and date, every amount negated, and its
        original in ``related_orders`` (Plug&Pay's help centre; no JSON sample was seen).
        """
        return self.payment_status == CREDIT_INVOICE


def parse_order(raw: object) -> Order:
    """Read one Plug&Pay order (or its ``{"data": ...}`` envelope); MappingError if unusable."""
    try:
        return _parse(raw)
    except MappingError:
        raise
    except (ArithmeticError, LookupError, TypeError, ValueError) as exc:
        # A safety net for shapes the field readers did not foresee: the promise is that no
        # JSON input makes parsing fail with anything but a MappingError.
        logger.warning("unreadable Plug&Pay order: %r", exc)
        raise MappingError(f"The Plug&Pay order cannot be read ({exc}).") from exc


def _parse(raw: object) -> Order:
    if isinstance(raw, dict) and "id" not in raw and isinstance(raw.get("data"), dict):
        raw = raw["data"]
    order = Fields(raw, "order")
    order_id = order.int("id")
    # The id becomes the order number and part of the payment reference (at most 50 chars).
    if not 0 < order_id < MAX_ORDER_ID:
        raise MappingError(f"order.id is {order_id}, not a Plug&Pay order number.")
    payment = order.obj("payment")
    payment_status = payment.choice("status", PAYMENT_STATUSES)
    credit = payment_status == CREDIT_INVOICE
    billing = order.obj("billing")
    address = billing.opt_obj("address")
    contact = billing.obj("contact")
    shipping = order.opt_obj("shipping")
    parsed = Order(
        id=order_id,
        amount=order.money("amount"),
        amount_with_tax=order.money("amount_with_tax"),
        invoice_number=order.opt_str("invoice_number"),
        invoice_status=order.choice("invoice_status", ("concept", "final")),
        invoice_date=order.opt_date("invoice_date"),
        mode=order.choice("mode", ("live", "test")),
        payment_status=payment_status,
        address=_address(address),
        contact=Contact(
            company=contact.opt_str("company"),
            email=contact.opt_str("email"),
            firstname=contact.opt_str("firstname"),
            lastname=contact.opt_str("lastname"),
            vat_id_number=contact.opt_str("vat_id_number"),
            # inferred: a missing flag means Plug&Pay did not decide, which is not reverse charge.
            tax_exempt=contact.choice("tax_exempt", ("none", "reverse", "unknown"), "unknown"),
        ),
        lines=tuple(_line(item, credit) for item in order.list("items")),
        taxes=tuple(
            TaxTotal(amount=tax.money("amount"), rate=_rate(tax.obj("rate")))
            for tax in order.list("taxes")
        ),
        # inferred: total_discounts holds order-level discounts only; absent = none.
        discounts=tuple(_discount(d) for d in order.list("total_discounts", required=False)),
        shipping=None if shipping is None else _shipping(shipping),
        related_orders=tuple(
            RelatedOrder(
                id=rel.int("id"),
                invoice_number=rel.opt_str("invoice_number"),
                payment_status=rel.opt_str("payment_status"),
            )
            for rel in order.list("related_orders", required=False)
        ),
        currency=order.opt_str("currency"),
    )
    _check_signs(parsed)
    return parsed


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


def _rate(rate: Fields) -> TaxRate:
    return TaxRate(country=rate.country("country"), percentage=rate.percentage("percentage"))


def _discount(discount: Fields) -> Discount:
    return Discount(
        amount=discount.money("amount"),
        amount_with_tax=discount.money("amount_with_tax"),
        code=discount.opt_str("code"),
    )


def _line(item: Fields, credit: bool) -> Line:
    tax = item.obj("tax")
    quantity = item.int("quantity")
    if quantity < 0 and not credit:
        raise MappingError(
            f"{item.where}.quantity is {quantity}: a negative quantity belongs on a credit "
            "invoice only.",
            fix="Correct the order in Plug&Pay or credit it.",
        )
    return Line(
        product_id=item.opt_int("product_id"),
        label=item.opt_str("label") or "",
        quantity=quantity,
        amount=item.money("amount"),
        amount_with_tax=item.money("amount_with_tax"),
        discounts=tuple(_discount(d) for d in item.list("discounts", required=False)),
        tax_amount=tax.money("amount"),
        rate=_rate(tax.obj("rate")),
    )


def _shipping(shipping: Fields) -> Shipping:
    # inferred: shipping is {amount, amount_with_tax, tax: {amount, rate}} (tap schema shape).
    tax = shipping.obj("tax")
    return Shipping(
        amount=shipping.money("amount"),
        amount_with_tax=shipping.money("amount_with_tax"),
        tax_amount=tax.money("amount"),
        rate=_rate(tax.obj("rate")),
    )


def _check_signs(order: Order) -> None:
    """Every amount is >= 0 on a normal order and <= 0 on a credit invoice."""
    amounts: list[tuple[str, Decimal]] = [
        ("amount", order.amount),
        ("amount_with_tax", order.amount_with_tax),
    ]
    for i, line in enumerate(order.lines):
        where = f"items[{i}]"
        amounts += [(f"{where}.amount", line.amount), (f"{where}.tax.amount", line.tax_amount)]
        amounts += [(f"{where}.amount_with_tax", line.amount_with_tax)]
        amounts += [(f"{where}.discounts", d.amount_with_tax) for d in line.discounts]
        amounts += [(f"{where}.discounts", d.amount) for d in line.discounts]
    amounts += [(f"taxes[{i}].amount", t.amount) for i, t in enumerate(order.taxes)]
    amounts += [("total_discounts", d.amount) for d in order.discounts]
    amounts += [("total_discounts", d.amount_with_tax) for d in order.discounts]
    if order.shipping is not None:
        amounts += [("shipping.amount", order.shipping.amount)]
        amounts += [("shipping.amount_with_tax", order.shipping.amount_with_tax)]
        amounts += [("shipping.tax.amount", order.shipping.tax_amount)]
    number = cut(str(order.invoice_number or order.id), QUOTED)
    for where, value in amounts:
        if order.is_credit and value > 0:
            raise MappingError(
                f"Credit invoice {number} has a positive amount "
                f"({where} = {value}); a credit invoice's amounts are all negative.",
                fix="Check the credit invoice in Plug&Pay.",
            )
        if not order.is_credit and value < 0:
            raise MappingError(
                f"Order {order.id} has a negative amount ({where} = {value}) but is not a "
                "credit invoice.",
                fix="Correct the order in Plug&Pay or credit it.",
            )
