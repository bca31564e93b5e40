"""A Plug&Pay order as frozen dataclasses with ``Decimal`` money: the mapper's picture of it.

This is the order in one canonical form, whichever reading of Plug&Pay's JSON it was made by
(``pp2eb.mapping.readings.parse_order``; ``docs/plugandpay-order.md`` lists the readings): a
line's ``amount`` and ``amount_with_tax`` are its totals before its own discounts, every VAT
figure is the VAT itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

CREDIT_INVOICE = "credit_invoice"
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
    """An order line: ``amount``/``amount_with_tax`` are its totals (all units) before its own
    discounts, ``tax_amount`` the VAT after them."""

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
    """The VAT charged at one rate on the whole order (``taxes[]``): lines, shipping and order
    discounts together."""

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
    #: How the JSON was read where the record is silent, in words ("shipping: VAT read from
    #: `taxes` (a list)"): for the run's log. Not part of what the order is.
    readings: tuple[str, ...] = field(default=(), compare=False)

    @property
    def is_credit(self) -> bool:
        """True for a credit invoice.

        inferred: a credit invoice has its own number and date, every amount negated, and its
        original in ``related_orders`` (Plug&Pay's help centre; no JSON sample was seen).
        """
        return self.payment_status == CREDIT_INVOICE
