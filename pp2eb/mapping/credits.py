"""A credit invoice and its original: booked against the original, on its own, or later.

Plug&Pay credits whole orders: the credit invoice is an order of its own with every amount
negated and its original in ``related_orders``. What it is booked against depends on what
became of the original, as the engine tells it in ``ReferenceData.originals``:

* booked by pp2eb: on the original's relation, with the original's invoice number in the
  description (docs/reference/domain-rules.md §3.7);
* not pp2eb's to book (dated before ``start_date``, skipped by hand because it was booked by
  hand, skipped for good, or gone from Plug&Pay): on its own, as a negative booking whose
  relation is found as for any order, still with the original's invoice number in the
  description;
* still to be booked by pp2eb (or not seen yet while dated from ``start_date`` on): not yet, a
  ``Wait`` with the reason.

The original's invoice date also decides the credit invoice's VAT: a credit invoice is booked
under the rules its original was booked under (``oss_from``, see ``pp2eb.mapping.vat``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from pp2eb.mapping.booking import (
    BY_HAND,
    GONE,
    PENDING,
    SKIPPED,
    UNSEEN,
    OriginalBooking,
    ReferenceData,
    Wait,
)
from pp2eb.mapping.order import Order, RelatedOrder
from pp2eb.mapping.problems import QUOTED, MappingError, cut
from pp2eb.mapping.settings import Settings


@dataclass(frozen=True)
class Credit:
    """What a credit invoice is booked against.

    ``number`` is the original's invoice number for the description; ``relation_id`` the
    original's relation, or None when the credit is booked on its own (``alone`` says why);
    ``invoice_date`` the original's, when known.
    """

    number: str
    relation_id: int | None
    invoice_date: date | None
    alone: str | None = None


def credited_order(order: Order) -> RelatedOrder:
    """The order a credit invoice credits; MappingError unless it names exactly one."""
    related = [r for r in order.related_orders if r.payment_status == "credited"]
    # inferred: the original is the related order marked credited; a single link will do too.
    if not related and len(order.related_orders) == 1:
        related = list(order.related_orders)
    if len(related) != 1:
        number = cut(order.invoice_number or str(order.id), QUOTED)
        raise MappingError(
            f"Credit invoice {number} does not name the one order it credits (related_orders).",
            fix="Check the credit invoice in Plug&Pay.",
        )
    return related[0]


def credit_of(order: Order, settings: Settings, ref: ReferenceData) -> Credit | Wait:
    """What the credit invoice ``order`` is booked against, or Wait while its original is due."""
    related = credited_order(order)
    known = ref.originals.get(related.id)
    if isinstance(known, OriginalBooking):
        return Credit(known.invoice_number, known.relation_id, known.invoice_date)
    number = cut(order.invoice_number or str(order.id), QUOTED)
    shown = cut(related.invoice_number or "unknown", QUOTED)
    original = f"order {related.id} (invoice {shown})"
    waits = f"Credit invoice {number} waits for its original, {original}, to be booked"
    if known is None:
        return Wait(waits + ".")
    day = known.invoice_date
    if known.state == PENDING:
        return Wait(
            f"{waits}; the original {(known.reason or 'is not booked yet').rstrip('.')}. It "
            "follows once the original is booked, or skipped by hand if it was booked "
            "outside pp2eb."
        )
    if known.state == UNSEEN and (day is None or day >= settings.start_date):
        when = day.isoformat() if day else "unknown"
        return Wait(
            f"{waits}; pp2eb has not seen the original yet (invoice date {when}). The next "
            "sync, or a backfill from that date, books it."
        )
    if known.state == UNSEEN:
        why = f"is dated {day}, before the start date {settings.start_date}"
    elif known.state == BY_HAND:
        why = "was skipped by hand (booked outside pp2eb)"
    elif known.state == SKIPPED:
        why = f"is skipped ({(known.reason or 'no reason given').rstrip('.')})"
    elif known.state == GONE:
        why = "no longer exists in Plug&Pay"
    else:
        raise ValueError(f"unknown state of an original: {known.state!r}")
    # The description names the original; without an invoice number, by its order number.
    name = related.invoice_number or f"order {related.id}"
    return Credit(name, None, day, f"Booked on its own: its original, {original}, {why}.")


def vat_date(order: Order, original_dates: Mapping[int, date]) -> date | None:
    """The date whose VAT rules apply to ``order``: its invoice date, or for a credit invoice
    its original's (from ``original_dates``, order id → invoice date) when known."""
    if order.is_credit:
        try:
            original = original_dates.get(credited_order(order).id)
        except MappingError:
            original = None
        # inferred: a credit invoice whose original's date is not known follows its own date.
        if original is not None:
            return original
    return order.invoice_date
