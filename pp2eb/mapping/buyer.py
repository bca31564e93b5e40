"""Who buys, for VAT: at home, an EU business under reverse charge, outside the EU, or an EU
consumer, decided from the billing address, ``tax_exempt`` and the VAT id.

Where the buyer is comes from the country and postcode (``pp2eb.mapping.territories``), for
goods and for services apart (Northern Ireland is inside the EU VAT area for goods only).
Contradictions are refused in words, never booked: reverse charge to a Dutch address or with a
Dutch VAT id, reverse charge without a VAT id, and an order without any VAT to a consumer
elsewhere in the EU. An order without any VAT to an EU business with a VAT id that Plug&Pay did
not mark reverse charge is booked as reverse charge, and says so. A VAT id of another country
than the address is a note, not a refusal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pp2eb.mapping.countries import HOME_COUNTRY
from pp2eb.mapping.order import Order
from pp2eb.mapping.problems import MappingError, shown
from pp2eb.mapping.territories import place_of

DOMESTIC, REVERSE, EXPORT, EU_CONSUMER = "domestic", "reverse", "export", "eu_consumer"
# The VAT id prefix of a country where it is not the ISO code (VIES writes EL for Greece;
# Monaco's businesses have French VAT ids; Northern Ireland's goods trade uses XI).
_PREFIXES = {"GR": ("EL",), "MC": ("FR",), "XI": ("XI", "GB")}


@dataclass(frozen=True)
class Buyer:
    """The buyer of one kind of supply: ``country`` is its VAT country (MC is FR, Northern
    Ireland's goods XI; the billing country when outside the EU VAT area); ``kind`` one of
    DOMESTIC, REVERSE, EXPORT, EU_CONSUMER; ``notes`` what the order page should say."""

    country: str
    kind: str
    notes: tuple[str, ...] = ()
    # True when goods and services of this buyer are taxed apart (Northern Ireland).
    by_kind: bool = False


def vat_id(order: Order) -> str:
    """The buyer's VAT id as VIES writes it (no spaces or dots, upper case); "" when none."""
    return re.sub(r"[\s.\-]", "", order.contact.vat_id_number or "").upper()


def charged_nothing(order: Order) -> bool:
    """True when no line (and no shipping) of a non-empty order was charged any VAT."""
    # inferred: only a whole order without VAT is a 0% sale; one 0% line in an order with VAT
    # is a deliberate zero rate (a gift voucher, a book where books are at 0%).
    rates = [line.rate for line in order.lines]
    if order.shipping:
        rates.append(order.shipping.rate)
    return bool(order.amount_with_tax) and not any(rate.percentage for rate in rates)


def decide_buyer(order: Order, goods: bool) -> Buyer:
    """The buyer of the order's goods (``goods``) or services; MappingError on a contradiction."""
    address = order.address
    if address.country is None:
        return _without_country(order)
    place = place_of(address.country, address.zipcode, address.city, goods)
    notes = [place.describe(address.zipcode, goods)] if place.territory else []
    by_kind = bool(place.territory and place.territory.goods_only)
    number = vat_id(order)
    marked = order.contact.tax_exempt == "reverse"
    if marked and place.vat_country == HOME_COUNTRY:
        raise MappingError(
            f"Order {order.id} is marked reverse charge, but its billing address is in the "
            "Netherlands: a Dutch customer is charged Dutch VAT, whatever its VAT id.",
            fix="Credit the order in Plug&Pay and invoice it again with Dutch VAT, or correct "
            "the billing address if the customer is abroad.",
        )
    if place.vat_country == HOME_COUNTRY:
        kind = DOMESTIC
    elif place.vat_country is None:
        kind = EXPORT
    elif marked:
        if not number:
            raise MappingError(
                f"Order {order.id} to {place.vat_country} is marked reverse charge but has no "
                "VAT id; pp2eb does not guess whether VAT was due.",
                fix="Add the customer's VAT id in Plug&Pay, or correct the order.",
            )
        kind = REVERSE
    elif number and charged_nothing(order):
        # inferred: no VAT on any line, to a business abroad in the EU with a VAT id, is what a
        # reverse-charge invoice looks like; Plug&Pay's flag was left unset or "none".
        kind = REVERSE
        notes.append(
            f"Plug&Pay did not mark order {order.id} reverse charge (tax_exempt "
            f"{order.contact.tax_exempt}), but it charged no VAT to a business in "
            f"{place.vat_country} with VAT id {shown(number)}: booked as reverse charge, so it "
            "is on the ICP declaration. Check the VAT id in VIES."
        )
    elif charged_nothing(order):
        raise MappingError(
            f"Order {order.id} to a consumer in {place.vat_country} was charged no VAT at all; "
            "a sale to a consumer in the EU carries Dutch VAT or, under OSS, the VAT of the "
            "customer's country.",
            fix="Credit the order in Plug&Pay and invoice it again with VAT, or, if the buyer "
            "is a business, add its VAT id and mark the order reverse charge.",
        )
    else:
        kind = EU_CONSUMER
    if kind == REVERSE and number.startswith(HOME_COUNTRY):
        what = "is marked reverse charge" if marked else "charged no VAT to a business abroad"
        raise MappingError(
            f"Order {order.id} {what}, but its VAT id {shown(number)} is Dutch: a Dutch "
            "business is charged Dutch VAT; reverse charge is for a business registered in "
            "another EU country.",
            fix="Credit the order in Plug&Pay and invoice it again with Dutch VAT, or correct "
            "the customer's VAT id to that of its own country.",
        )
    if number and place.vat_country is not None:
        expected = _PREFIXES.get(address.country) or _PREFIXES.get(place.vat_country)
        expected = expected or (place.vat_country,)
        if not number.startswith(expected):
            notes.append(
                f"Warning: VAT id {shown(number)} does not start with {' or '.join(expected)}, "
                f"the prefix of the billing country {address.country}. Check the VAT id and "
                "the address; the booking follows the billing address."
            )
    return Buyer(place.vat_country or address.country, kind, tuple(notes), by_kind)


def _without_country(order: Order) -> Buyer:
    rates = {line.rate.country for line in order.lines}
    if order.shipping:
        rates.add(order.shipping.rate.country)
    # inferred: without a billing country, an order charged only NL rates is a domestic sale.
    if rates <= {HOME_COUNTRY}:
        return Buyer(HOME_COUNTRY, DOMESTIC)
    raise MappingError(
        f"Order {order.id} has no billing country, so its VAT treatment cannot be decided.",
        fix="Add the customer's country to the order in Plug&Pay.",
    )
