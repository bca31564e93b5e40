"""Where the record is silent on what a figure means: every reading under which the order adds up.

``parse_order`` reads the JSON (``pp2eb.mapping.figures``), builds the order under each reading
that could make a difference, and keeps those under which it adds up to the cent, to its own
totals and ``taxes[]`` (``totals.check_totals`` and ``totals.rate_totals``):

* none: the order under the first reading; the mapper's sum check then refuses it in words
  (and a test-mode or concept order is still skipped, not refused);
* one, or several that make the same order: that order, with the reading taken in
  ``Order.readings`` when it is not the first;
* several that make different orders, which would be booked differently: refused in words.

The open points (``docs/plugandpay-order.md`` tables them with their tests), first reading first:

* ``amounts``: an item's ``amount`` and ``amount_with_tax`` are its line totals before its own
  discounts (``line``), after them (``net``), or the unit price before them (``unit``);
* ``tax_scope``: an item's tax object is about the line after its own discounts (``after``) or
  before them (``before``);
* ``tax_meaning``: a tax object's ``amount`` is the VAT (``vat``), or the amount excl. VAT with
  ``amount_with_tax`` incl. VAT, the VAT being the difference (``base``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

from pp2eb.mapping.figures import Figures, ItemFigures, TaxFigures, read_figures
from pp2eb.mapping.order import Line, Order, Shipping, TaxTotal
from pp2eb.mapping.problems import MappingError
from pp2eb.mapping.totals import ZERO, check_totals, rate_totals

LINE, NET, UNIT = "line", "net", "unit"
AFTER, BEFORE = "after", "before"
VAT, BASE = "vat", "base"
_FIX = (
    "Check the order in Plug&Pay; if it is right there, report it to pp2eb with its number, so "
    "that the reading can be settled."
)


@dataclass(frozen=True)
class Reading:
    """One way to read the open figures of an order; the defaults are the first reading."""

    amounts: str = LINE
    tax_scope: str = AFTER
    tax_meaning: str = VAT

    def notes(self) -> set[str]:
        """Where this reading departs from the first, in words for the run's log."""
        notes = set()
        if self.amounts == NET:
            notes.add("items: amount read as after the item's own discounts")
        if self.amounts == UNIT:
            notes.add("items: amount read as the unit price (times the quantity)")
        if self.tax_scope == BEFORE:
            notes.add("items: tax read as before the item's own discounts")
        if self.tax_meaning == BASE:
            notes.add(
                "tax objects: amount read as the amount excl. VAT and amount_with_tax as incl. "
                "VAT (the VAT is the difference)"
            )
        return notes

    def describe(self) -> str:
        """The whole reading in a few words, for a refusal."""
        amounts = {
            LINE: "item amounts as line totals",
            NET: "item amounts after their discounts",
            UNIT: "item amounts as unit prices",
        }[self.amounts]
        scope = f"item VAT {self.tax_scope} their discounts"
        meaning = "tax amounts as VAT" if self.tax_meaning == VAT else "tax amounts as excl. VAT"
        return f"{amounts}, {scope}, {meaning}"


FIRST = Reading()


def parse_order(raw: object) -> Order:
    """Read one Plug&Pay order (or its ``{"data": ...}`` envelope); MappingError if unusable."""
    figures = read_figures(raw)
    first: Order | None = None
    first_error: MappingError | None = None
    tried: list[Order] = []
    fits: list[tuple[Reading, Order]] = []
    for reading in _readings(figures):
        try:
            order = _order(figures, reading)
        except MappingError as exc:
            first_error = first_error or exc
            continue
        first = first or order
        if order in tried:
            continue  # the same order as an earlier reading: the same booking
        tried.append(order)
        try:
            check_totals(order)
            rate_totals(order)
        except MappingError:
            continue
        fits.append((reading, order))
    if len(fits) > 1:
        (one, _), (other, _) = fits[:2]
        raise MappingError(
            f"Order {figures.head.id} adds up under two readings of its figures that would be "
            f"booked differently ({one.describe()}; or {other.describe()}), so pp2eb does not "
            "guess.",
            fix=_FIX,
        )
    if fits:
        reading, order = fits[0]
        return replace(order, readings=tuple(sorted(figures.notes | reading.notes())))
    if first is None:
        raise first_error or MappingError("The Plug&Pay order cannot be read.")
    return replace(first, readings=tuple(sorted(figures.notes)))


def _readings(figures: Figures) -> list[Reading]:
    """The readings that could make a difference to this order, first reading first."""
    discounted = any(d.amount or d.amount_with_tax for i in figures.items for d in i.discounts)
    units = any(abs(i.quantity) != 1 and (i.amount or i.amount_with_tax) for i in figures.items)
    objects = [i.tax for i in figures.items] + list(figures.taxes)
    objects += list(figures.shipping.taxes) if figures.shipping else []
    based = bool(objects) and all(t.amount_with_tax is not None for t in objects)
    amounts = [LINE] + [NET] * discounted + [UNIT] * units
    scopes = [AFTER] + [BEFORE] * discounted
    meanings = [VAT] + [BASE] * based
    return [Reading(a, s, m) for m in meanings for a in amounts for s in scopes]


def _vat(tax: TaxFigures, reading: Reading) -> tuple[Decimal, Decimal | None]:
    """The VAT of a tax object under ``reading``, and the amount excl. VAT it names (or None)."""
    if reading.tax_meaning == VAT or tax.amount_with_tax is None:
        return tax.amount, None
    return tax.amount_with_tax - tax.amount, tax.amount


def _order(figures: Figures, reading: Reading) -> Order:
    """The order as ``reading`` reads it; MappingError when its figures cannot mean that."""
    lines = tuple(_line(i, item, reading) for i, item in enumerate(figures.items))
    taxes = []
    for tax in figures.taxes:
        taxes.append(TaxTotal(amount=_vat(tax, reading)[0], rate=tax.rate))
    bases = sum((tax.amount for tax in figures.taxes), ZERO)
    if reading.tax_meaning == BASE and figures.taxes and bases != figures.head.amount:
        raise MappingError(
            f"The taxes' amounts excl. VAT add up to {bases}, not the order's amount "
            f"{figures.head.amount}.",
            fix=_FIX,
        )
    shipping = _shipping(figures, reading, lines)
    return replace(figures.head, lines=lines, taxes=tuple(taxes), shipping=shipping)


def _line(index: int, item: ItemFigures, reading: Reading) -> Line:
    units = abs(item.quantity) if reading.amounts == UNIT else 1
    amount, with_tax = item.amount * units, item.amount_with_tax * units
    off = sum((d.amount for d in item.discounts), ZERO)
    off_with_tax = sum((d.amount_with_tax for d in item.discounts), ZERO)
    if reading.amounts == NET:
        amount, with_tax = amount + off, with_tax + off_with_tax
    vat, base = _vat(item.tax, reading)
    taxed = amount - off
    if reading.tax_scope == BEFORE:
        vat -= off_with_tax - off  # the VAT the discounts took off
        taxed = amount
    if base is not None and base != taxed:
        raise MappingError(
            f"items[{index}].tax.amount is {base}, not the line's {taxed} excl. VAT.", fix=_FIX
        )
    return Line(
        product_id=item.product_id,
        label=item.label,
        quantity=item.quantity,
        amount=amount,
        amount_with_tax=with_tax,
        discounts=item.discounts,
        tax_amount=vat,
        rate=item.tax.rate,
    )


def _shipping(figures: Figures, reading: Reading, lines: tuple[Line, ...]) -> Shipping | None:
    """The shipping at its one rate, or None when there is none (or it is free)."""
    shipping = figures.shipping
    if shipping is None:
        return None
    amount, with_tax = shipping.amount, shipping.amount_with_tax
    if len(shipping.taxes) > 1:
        raise MappingError(
            f"The order's shipping ({with_tax}) comes with {len(shipping.taxes)} VAT rates "
            "(shipping.taxes); pp2eb books shipping at one rate.",
            fix=_FIX,
        )
    if not shipping.taxes:
        if amount != with_tax:
            raise MappingError(
                f"The order's shipping is {with_tax} incl. VAT and {amount} excl. VAT, but has "
                "no VAT rate (shipping.taxes is empty).",
                fix=_FIX,
            )
        if not amount:
            return None
        # inferred: shipping without VAT on an export or reverse-charge order goes with the
        # order's 0% rate; without exactly one such rate there is no telling which code to use.
        zero = {line.rate for line in lines if not line.rate.percentage}
        if len(zero) != 1:
            raise MappingError(
                f"The order's shipping ({amount}) has no VAT rate (shipping.taxes is empty) "
                "and the order has no single 0% rate to book it at.",
                fix=_FIX,
            )
        return Shipping(amount, with_tax, ZERO, zero.pop())
    vat, base = _vat(shipping.taxes[0], reading)
    if base is not None and base != amount:
        raise MappingError(
            f"shipping.taxes[0].amount is {base}, not the shipping's {amount} excl. VAT.",
            fix=_FIX,
        )
    if not (amount or with_tax or vat):
        return None  # free shipping: nothing to book, and no rate to map
    return Shipping(amount, with_tax, vat, shipping.taxes[0].rate)
