"""A dry run: what would be booked, order by order, with totals; nothing is written anywhere.

Used by ``flask backfill --dry-run`` and the "export existing invoices" preview (``dry_run``).
Each order goes along a run's own path (``pp2eb.engine.booking_path``): read, left alone when
booked or skipped by hand, mapped, and its request body built, so the dry run shows what a run
would send. Reads both APIs (orders, reference data, relations) and the local records and writes
nothing to either API.
To tell an existing customer from a new one it looks at e-Boekhouden's relations the way a run
does (``relations.Relations``: one listing, then each relation not seen before once), and keeps
what it learned as customer links, so the export that follows need not read them again.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from pp2eb.apis import errors as apierrors
from pp2eb.apis.eboekhouden import EBoekhoudenClient
from pp2eb.apis.plugandpay import PlugAndPayClient
from pp2eb.engine import booking_path
from pp2eb.engine.originals import Fetch, fetcher
from pp2eb.engine.relations import Relations
from pp2eb.engine.store import Store
from pp2eb.engine.sync import fetch_reference
from pp2eb.engine.vat_rounding import VatRounding
from pp2eb.mapping.booking import Booking, OriginalBooking, ReferenceData, Skip, Wait
from pp2eb.mapping.customers import customer_code
from pp2eb.mapping.problems import MappingError
from pp2eb.mapping.settings import Settings


@dataclass(frozen=True)
class Preview:
    """One order of a dry run: the booking, or why there is none."""

    order_id: int
    number: str | None
    date: str | None
    customer: str | None
    booking: Booking | None = None
    relation: str | None = None
    # The request body a run would send; its relationId is None while the relation is new.
    body: dict | None = None
    skip: str | None = None
    wait: str | None = None
    error: str | None = None
    already_booked: bool = False


@dataclass
class Summary:
    """Totals of a dry run: counts, and amounts per VAT code and per ledger."""

    orders: int = 0
    to_book: int = 0
    already_booked: int = 0
    skipped: int = 0
    waiting: int = 0
    problems: int = 0
    total: Decimal = Decimal("0.00")
    per_vat_code: dict[str, Decimal] = field(default_factory=dict)
    per_ledger: dict[str, Decimal] = field(default_factory=dict)

    def add(self, item: Preview) -> None:
        """Count one order in."""
        self.orders += 1
        if item.already_booked:
            self.already_booked += 1
        elif item.booking is not None:
            self.to_book += 1
            self.total += item.booking.total
            for row in item.booking.rows:
                key = f"{row.ledger.code} {row.ledger.description}".strip()
                self.per_ledger[key] = self.per_ledger.get(key, Decimal("0.00")) + row.amount
                code = row.vat_code
                self.per_vat_code[code] = self.per_vat_code.get(code, Decimal("0.00")) + row.amount
        elif item.skip:
            self.skipped += 1
        elif item.wait:
            self.waiting += 1
        else:
            self.problems += 1


def dry_run(
    pp: PlugAndPayClient,
    eb: EBoekhoudenClient,
    store: Store,
    settings: Settings,
    orders: Iterable[dict],
) -> Iterator[Preview]:
    """``preview_orders`` with the reference data a run would have: fetched now, with the VAT
    rounding as far as it is known (what is learnt here is not stored: a dry run)."""
    rounding = VatRounding(eb, store.session, store.link_id).known(save=False)
    ref = fetch_reference(eb, pp).with_vat_rounding(rounding)
    return preview_orders(orders, eb, store, settings, ref, fetcher(pp))


def preview_orders(
    orders: Iterable[dict],
    eb: EBoekhoudenClient,
    store: Store,
    settings: Settings,
    ref: ReferenceData,
    fetch: Fetch | None = None,
) -> Iterator[Preview]:
    """What booking each order would get now; reads only (``fetch``: a credit invoice's unseen
    original, to tell whether it lies before the start date)."""
    originals: dict[int, OriginalBooking] = {}
    relations = Relations(eb, store, settings.customer_codes)
    for raw in orders:
        yield _preview(raw, relations, store, settings, ref, originals, fetch)


def _preview(raw, relations, store, settings, ref, originals, fetch) -> Preview:
    reading = booking_path.read(raw)
    shown = reading.shown
    base = {
        "order_id": reading.order_id or 0,
        "number": shown.get("invoice_number"),
        "date": shown.get("invoice_date"),
        "customer": shown.get("customer"),
    }
    order = reading.order
    if order is None:
        return Preview(**base, error=str(reading.problem))
    rec = store.find(order.id)
    standing = booking_path.left_alone(rec)
    if standing == booking_path.ALREADY_BOOKED:
        return Preview(**base, already_booked=True)
    if standing == booking_path.BY_HAND:
        return Preview(**base, skip=rec.reason or "Skipped by hand.")
    for related in order.related_orders if order.is_credit else ():
        # An original this preview would book counts as booked, unless pp2eb booked it already.
        if related.id in originals and store.booked_original(related.id) is None:
            ref = ref.with_original(related.id, originals[related.id])
    try:
        result = booking_path.decide(order, settings, ref, store, fetch)
    except MappingError as exc:
        return Preview(**base, error=str(exc))
    if isinstance(result, Skip):
        return Preview(**base, skip=result.reason)
    if isinstance(result, Wait):
        return Preview(**base, wait=result.reason)
    relation_id, relation = _relation(result, relations, settings)
    body = booking_path.request_body(result, relation_id)
    # A credit invoice later in the same preview may refer to this one.
    originals[order.id] = OriginalBooking(None, result.invoice_number, result.date)
    return Preview(**base, booking=result, relation=relation, body=body)


def _relation(booking: Booking, relations: Relations, settings: Settings) -> tuple[int | None, str]:
    """The relation a run would book on (None: one it makes or takes from the original first),
    and in words."""
    draft = booking.relation
    if booking.relation_id:
        return booking.relation_id, f"relation {booking.relation_id} (of the original invoice)"
    if booking.credit_of and booking.alone is None:
        return None, "the relation of the original invoice, booked first"
    try:
        link = relations.find(draft)
    except apierrors.ApiError:
        return None, f"relation of {draft.name}: e-Boekhouden's relations could not be read now"
    if link is not None:
        code = link.relation_code or "no code"
        return link.relation_id, f"relation {link.relation_id} ({code}), already known"
    code = "made by e-Boekhouden"
    if settings.customer_codes == "name":
        code = f"code {customer_code(draft)} (or the next free one)"
    kind = "business" if draft.type == "B" else "person"
    return None, f"new relation: {draft.name} ({kind}, {code})"
