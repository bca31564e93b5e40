"""The one path from a Plug&Pay order, as its JSON comes, to the body sent to e-Boekhouden.

A run (``sync.Engine.book_raw``, then ``booker.OrderBooker``) and the dry run (``preview``,
behind ``flask backfill --dry-run`` and the export page) take every order along these steps, so
what the dry run shows is what a run sends:

1. ``read``: the order's id, the order (or why it cannot be read), and what its record shows of
   it (``Reading.shown``: number, date, customer, e-mail address, amount, what it adds to the
   OSS threshold);
2. ``left_alone``: an order already booked, or skipped by a person, is not mapped again;
3. ``decide``: the mapper's answer, a ``Booking``, ``Skip`` or ``Wait``, knowing what became of
   a credit invoice's originals (``originals.with_originals``);
4. ``request_body``: the ``CreateInvoice`` or ``CreateMutation`` body on the booking's relation.

Between steps 3 and 4 a run finds or makes the relation (``relations.Relations.ensure``) where
the dry run only finds it (``Relations.find``); a run records its intent before the write. The
order page shows the body a run recorded with that intent, as it was sent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pp2eb.engine.originals import Fetch, with_originals
from pp2eb.engine.store import Store
from pp2eb.mapping.booking import Booking, ReferenceData, Skip, Wait
from pp2eb.mapping.figures import raw_order_id
from pp2eb.mapping.mapper import map_order
from pp2eb.mapping.order import Order
from pp2eb.mapping.payloads import to_invoice_payload, to_mutation_payload
from pp2eb.mapping.problems import MappingError
from pp2eb.mapping.readings import parse_order
from pp2eb.mapping.settings import Settings
from pp2eb.mapping.vat import cross_border_sale
from pp2eb.models import OrderRecord
from pp2eb.states import OrderState

NO_ID = "Plug&Pay returned an order without an id."
# Why an order is not mapped again (``left_alone``).
ALREADY_BOOKED, BY_HAND = "already booked", "skipped by hand"


@dataclass(frozen=True)
class Reading:
    """An order as Plug&Pay returned it, read: ``order``, or the ``problem`` that stops it.

    ``order_id`` is None for an order without an id; ``shown`` holds the columns of the
    order's record (what the order list and the dry run show of it).
    """

    order_id: int | None
    order: Order | None = None
    problem: MappingError | None = None
    shown: dict[str, Any] = field(default_factory=dict)


def read(raw: object) -> Reading:
    """Step 1: read ``raw`` into an order; an unreadable one keeps what can be shown of it."""
    order_id = raw_order_id(raw)
    if order_id is None:
        return Reading(None, problem=MappingError(NO_ID))
    try:
        order = parse_order(raw)
    except MappingError as exc:
        return Reading(order_id, problem=exc, shown=_raw_summary(raw))
    return Reading(order_id, order, shown=_summary(order))


def left_alone(rec: OrderRecord | None) -> str | None:
    """Step 2: ALREADY_BOOKED or BY_HAND when the order is not mapped again, else None."""
    if rec is None:
        return None
    if rec.state == OrderState.BOOKED:
        return ALREADY_BOOKED
    if rec.skipped_by_hand:
        return BY_HAND  # a person decided; "retry" on the dashboard undoes it
    return None


def decide(
    order: Order, settings: Settings, ref: ReferenceData, store: Store, fetch: Fetch | None
) -> Booking | Skip | Wait:
    """Step 3: the mapper's answer for ``order``, with what pp2eb knows of the originals of a
    credit invoice (``fetch``: an original pp2eb has not seen); MappingError if it cannot be."""
    return map_order(order, settings, with_originals(order, ref, store, fetch))


def request_body(booking: Booking, relation_id: int | None) -> dict[str, Any]:
    """Step 4: the body of ``POST /v1/invoice`` or ``/v1/mutation`` (as ``booking.insertion``
    says) on relation ``relation_id``; None only in a dry run, for a relation still to be made."""
    if booking.insertion == "invoice":
        return to_invoice_payload(booking, relation_id=relation_id)
    return to_mutation_payload(booking, relation_id=relation_id)


def _summary(order: Order) -> dict[str, Any]:
    contact = order.contact
    person = " ".join(p for p in (contact.firstname, contact.lastname) if p)
    return {
        "invoice_number": order.invoice_number,
        "invoice_date": order.invoice_date.isoformat() if order.invoice_date else None,
        "customer": (contact.company or person or contact.email or "")[:255] or None,
        "email": (contact.email or "")[:255] or None,
        "amount_with_tax": str(order.amount_with_tax),
        **eu_sale(order),
    }


def eu_sale(order: Order | None) -> dict[str, str | None]:
    """The record's columns of what ``order`` adds to the OSS threshold (None: unreadable,
    which does not count)."""
    sale = cross_border_sale(order) if order is not None else None
    return {
        "eu_sale_country": sale[0] if sale else "",
        "eu_sale_net": str(sale[1]) if sale else None,
    }


def _raw_summary(raw: dict) -> dict[str, Any]:
    """What can be shown of an order that could not be read."""
    number = raw.get("invoice_number")
    when = raw.get("invoice_date")
    return {
        "invoice_number": str(number)[:64] if number is not None else None,
        "invoice_date": str(when)[:10] if when is not None else None,
        **eu_sale(None),
    }
