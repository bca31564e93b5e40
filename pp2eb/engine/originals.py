"""What pp2eb knows of the original of a credit invoice, for the mapper to decide on.

The decision (book against the original, book on its own, or wait) is the mapper's
(``pp2eb.mapping.credits``); this module gathers the facts it decides on: pp2eb's record of the
original, and for an original pp2eb has no record of, its invoice date as Plug&Pay has it
(``fetch``, one request, only then).

An original is pp2eb's while it has a record that is not skipped: new, failed, waiting, in
booking, or skipped with a fresh look planned (a concept, an unpaid order). The engine gives a
skipped original a fresh look before its credit invoice (``Engine.book_raw``), so that one
skipped for good has really stayed skipped.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from pp2eb.apis import errors as apierrors
from pp2eb.apis.plugandpay import PlugAndPayClient
from pp2eb.engine.store import Store
from pp2eb.mapping.booking import (
    BY_HAND,
    GONE,
    PENDING,
    SKIPPED,
    UNSEEN,
    Original,
    OriginalBooking,
    OriginalNotBooked,
    ReferenceData,
)
from pp2eb.mapping.order import Order
from pp2eb.mapping.problems import QUOTED, MappingError, cut
from pp2eb.mapping.readings import parse_order
from pp2eb.states import OrderState

# A Plug&Pay order as ``GET /v2/orders/{id}`` gives it, or None when it no longer exists.
Fetch = Callable[[int], dict | None]

_STANDING = {
    OrderState.NEW: "is not booked yet",
    OrderState.WAITING: "waits",
    OrderState.FAILED: "failed",
    OrderState.BOOKING: "is being booked (not confirmed yet)",
    OrderState.SKIPPED: "is skipped for now; pp2eb looks at it again",
}


def fetcher(pp: PlugAndPayClient) -> Fetch:
    """``Fetch`` through ``pp``: None for an order Plug&Pay no longer has."""

    def fetch(order_id: int) -> dict | None:
        try:
            return pp.get_order(order_id)
        except apierrors.NotFound:
            return None

    return fetch


def original(order_id: int, store: Store, fetch: Fetch | None) -> Original:
    """What became of original order ``order_id``; without ``fetch``, an unseen one's date
    stays unknown (so its credit invoice waits)."""
    rec = store.find(order_id)
    if rec is None:
        if fetch is None:
            return OriginalNotBooked(UNSEEN)
        raw = fetch(order_id)
        if raw is None:
            return OriginalNotBooked(GONE)
        return OriginalNotBooked(UNSEEN, _invoice_date(raw))
    day = date.fromisoformat(rec.invoice_date) if rec.invoice_date else None
    if rec.state == OrderState.BOOKED:
        number = rec.reference or rec.invoice_number or ""
        return OriginalBooking(rec.relation_id, number, day)
    if rec.skipped_by_hand:
        return OriginalNotBooked(BY_HAND, day, rec.reason)
    if rec.state == OrderState.SKIPPED and rec.next_attempt_at is None:
        return OriginalNotBooked(SKIPPED, day, rec.reason)
    standing = _STANDING.get(rec.state, "is not booked yet")
    if rec.reason and rec.state in (OrderState.FAILED, OrderState.WAITING):
        standing += f": {cut(rec.reason, QUOTED)}"
    return OriginalNotBooked(PENDING, day, standing)


def with_originals(
    order: Order, ref: ReferenceData, store: Store, fetch: Fetch | None
) -> ReferenceData:
    """``ref`` that also knows the originals of ``order`` when it is a credit invoice."""
    if not order.is_credit:
        return ref
    for related in order.related_orders:
        if related.id not in ref.originals:
            ref = ref.with_original(related.id, original(related.id, store, fetch))
    return ref


def _invoice_date(raw: dict) -> date | None:
    try:
        return parse_order(raw).invoice_date
    except MappingError:
        # inferred: an original pp2eb cannot read is not known to lie before the start date,
        # so its credit invoice waits (the reason says pp2eb has not seen it).
        return None
