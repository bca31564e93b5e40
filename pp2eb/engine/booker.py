"""One order booked in e-Boekhouden exactly once: map, find the relation, intent, write, confirm.

The order is mapped and its body built along ``pp2eb.engine.booking_path``, the path the dry run
takes too.

The intent is committed before the remote write and confirmed after it. A record still in
``booking`` (a crash, a timeout, a 500 after the write) is looked up in e-Boekhouden by its
invoice number before anything is written again, and an answer that says the booking exists
(``DUPLICATE_CODES``) leads to the same look-up: the order is marked booked, not failed. A
failure ends on the order's record, in words, with a time to try again; the run goes on.

After the confirm, a booking with rounding rows (or any, while the VAT rounding is unknown) is
read back (``engine.vat_rounding``): a read only, so the order stays booked whatever it finds. A
booking whose VAT is not Plug&Pay's is flagged: booked, with the reason and ``VAT_CHECK``.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from pp2eb.apis import errors as apierrors
from pp2eb.apis.eboekhouden import EBoekhoudenClient
from pp2eb.apis.words import explain_api_error
from pp2eb.engine.booking_path import decide, request_body
from pp2eb.engine.originals import Fetch
from pp2eb.engine.relations import Relations
from pp2eb.engine.runstate import RETRY_FIRST, Failure, RunState, retry_delay
from pp2eb.engine.store import Outcome, Store
from pp2eb.engine.vat_rounding import VAT_CHECK, VatRounding
from pp2eb.mapping.booking import Booking, ReferenceData, Skip, Wait
from pp2eb.mapping.order import Order
from pp2eb.mapping.payloads import SALES_INVOICE_SENT
from pp2eb.mapping.problems import MappingError
from pp2eb.mapping.settings import Settings
from pp2eb.models import OrderRecord
from pp2eb.states import AttemptOutcome, OrderState

logger = logging.getLogger(__name__)

DUPLICATE_CODES = frozenset({"MUT_019", "MUT_020", "FACT_101", "MUTA_008", "FACT_VERWERK_004"})
# A concept invoice or an unpaid order may still change: look at it again for this long.
RECHECK_FOR = timedelta(days=60)


class OrderBooker:
    """Books the orders of one run, one at a time; ``book`` is the way in."""

    def __init__(
        self,
        eb: EBoekhoudenClient,
        store: Store,
        settings: Settings,
        state: RunState,
        relations: Relations,
        vat_rounding: VatRounding,
        fetch: Fetch | None = None,
    ) -> None:
        self.eb, self.store, self.settings, self.state = eb, store, settings, state
        self.fetch = fetch  # a credit invoice's unseen original, from Plug&Pay
        self.run, self.clock, self.relations = state.run, state.clock, relations
        self.vat_rounding = vat_rounding
        self.reference: ReferenceData | None = None  # set by the engine before the first order
        self.waiting: list[int] = []  # credit invoices that wait for their original
        self.fresh_intent: OrderRecord | None = None

    def book(self, rec: OrderRecord, order: Order) -> None:
        """Book ``order``, waiting out rate limits; every other failure ends on its record."""
        while True:
            try:
                self._book(rec, order)
                return
            except apierrors.RateLimited as exc:
                self._undo_intent(rec)
                self.state.wait_out(exc)
            except apierrors.AuthError:
                self._undo_intent(rec)
                raise
            except apierrors.Unavailable as exc:
                self._undo_intent(rec)
                self.fail(rec, _outcome(exc), exc)
                self.state.note_unavailable(exc)
                return
            except apierrors.ApiError as exc:
                self._undo_intent(rec)
                self.fail(rec, _outcome(exc), exc)
                return
            except MappingError as exc:
                self.fail(rec, Outcome(OrderState.FAILED, exc.reason, exc.fix), None)
                return

    def fail(
        self, rec: OrderRecord, outcome: Outcome, exc: Exception | None, *, retry_at=None
    ) -> None:
        """Record a failure (or an unconfirmed write) on the order, with a time to try again."""
        retry_at = retry_at or self.clock() + retry_delay(rec.attempts + 1)
        if outcome.state == OrderState.FAILED:
            self.run.failed += 1
        else:
            self.run.waiting += 1
        self.store.settle(rec, self.run, self.clock(), outcome, retry_at)
        number = rec.invoice_number or str(rec.order_id)
        self.state.failures.append(Failure(rec.order_id, number, outcome.reason or ""))
        logger.info("order %s not booked: %s", rec.order_id, outcome.reason)

    def _book(self, rec: OrderRecord, order: Order) -> None:
        self.fresh_intent = None
        result = decide(order, self.settings, self.reference, self.store, self.fetch)
        if isinstance(result, Skip):
            self._skip(rec, order, result.reason)
            return
        if isinstance(result, Wait):
            self.run.waiting += 1
            self.store.settle(
                rec,
                self.run,
                self.clock(),
                Outcome(OrderState.WAITING, result.reason),
                self.clock() + retry_delay(1),
                counts_as_attempt=False,
            )
            self.waiting.append(rec.order_id)
            return
        if rec.state == OrderState.BOOKING or rec.write_uncertain:
            found = self._lookup(rec.insertion or result.insertion, rec.reference)
            if found is not None:
                self._booked(
                    rec,
                    found,
                    "Found in e-Boekhouden after an unconfirmed write; not booked again.",
                    result.notes,
                )
                return
        self._write(rec, result)

    def _write(self, rec: OrderRecord, booking: Booking) -> None:
        relation_id = booking.relation_id or self.relations.ensure(booking.relation)
        if booking.vat_id:  # reverse charge: the relation must carry the VAT id first
            self.relations.ensure_vat_id(relation_id, booking.relation, booking.vat_id)
        body = request_body(booking, relation_id)
        create = (
            self.eb.create_invoice if booking.insertion == "invoice" else self.eb.create_mutation
        )
        self.store.record_intent(
            rec,
            insertion=booking.insertion,
            reference=booking.invoice_number,
            payment_reference=booking.payment_reference,
            body=body,
            relation_id=relation_id,
        )
        self.fresh_intent = rec
        try:
            created = create(body)
        except apierrors.Rejected as exc:
            if exc.code not in DUPLICATE_CODES:
                raise
            found = self._lookup(booking.insertion, booking.invoice_number)
            if found is None:
                raise
            note = f"Already in e-Boekhouden ({exc.code}); not booked again."
            self._booked(rec, found, note, booking.notes)
            self._read_back(rec, booking, found)
            return
        except apierrors.Unavailable as exc:
            if not exc.write_uncertain:
                raise
            found = self._safe_lookup(booking.insertion, booking.invoice_number)
            if found is not None:
                note = "e-Boekhouden did not answer, but the booking is there."
                self._booked(rec, found, note, booking.notes)
                self._read_back(rec, booking, found)
                return
            self.fail(
                rec,
                Outcome(
                    OrderState.BOOKING,
                    f"{exc.api} did not confirm the booking ({exc}). pp2eb looks it up in "
                    "e-Boekhouden before it tries again, so it is never booked twice.",
                    None,
                    exc.code,
                ),
                exc,
                retry_at=self.clock() + RETRY_FIRST,
            )
            self.state.note_unavailable(exc)
            return
        self._booked(rec, created["id"], booking.alone or "Booked.", booking.notes)
        self._read_back(rec, booking, created["id"])

    def _read_back(self, rec: OrderRecord, booking: Booking, eboekhouden_id: int) -> None:
        """After the confirm: learn the VAT rounding, check the VAT of rounding rows."""
        if not booking.has_rounding_rows and self.reference.vat_rounding is not None:
            return
        problem = self.vat_rounding.read_back(booking, eboekhouden_id)
        if self.vat_rounding.mode is not None:
            self.reference = self.reference.with_vat_rounding(self.vat_rounding.mode)
        if problem is None:
            return
        reason, fix = problem
        # Booked it stays (never booked again); the reason on it is for a person to act on.
        flagged = Outcome(OrderState.BOOKED, reason, fix, VAT_CHECK)
        self.store.settle(
            rec,
            self.run,
            self.clock(),
            flagged,
            None,
            counts_as_attempt=False,
            attempt=AttemptOutcome.VAT_CHECK,
        )
        self.state.flagged.append(Failure(rec.order_id, rec.invoice_number, reason))
        logger.warning("order %s is booked, but its VAT needs a look: %s", rec.order_id, reason)

    def _lookup(self, insertion: str, number: str | None) -> int | None:
        """The id of the booking with invoice number ``number`` in e-Boekhouden, if any."""
        if not number:
            return None
        if insertion == "invoice":
            invoices = self.eb.iter_invoices(invoiceNumber=number, limit=10)
            found = next((i for i in invoices if str(i.get("invoiceNumber")) == number), None)
        else:  # type 2, the sale: never a payment of it
            found = next(self.eb.iter_mutations_of_invoice(number, SALES_INVOICE_SENT), None)
        return None if found is None else found["id"]

    def _safe_lookup(self, insertion: str, number: str | None) -> int | None:
        try:
            return self._lookup(insertion, number)
        except apierrors.ApiError:
            return None

    def _booked(
        self, rec: OrderRecord, eboekhouden_id: int, note: str, notes: tuple[str, ...] = ()
    ) -> None:
        # The booking's notes (an assumed kind of product, a territory rule, ...) go on their
        # own lines of the attempt's message: the order page lists them (records.booking_notes).
        note = "\n".join((note, *notes))
        self.state.reached()
        # Counted before the commit that confirms it, so the count needs no commit of its own.
        self.run.booked += 1
        self.store.confirm_booked(rec, self.run, eboekhouden_id, self.clock(), note)
        self.fresh_intent = None  # confirmed: nothing after this may undo it
        logger.info("order %s booked as %s %s", rec.order_id, rec.insertion, eboekhouden_id)

    def _skip(self, rec: OrderRecord, order: Order, reason: str) -> None:
        # A concept may become final and an unpaid order paid: look again later.
        changeable = order.mode == "live" and (
            order.invoice_status != "final" or self.settings.orders == "paid"
        )
        recheck = None
        if changeable and self.clock() - rec.first_seen_at < RECHECK_FOR:
            recheck = self.clock() + retry_delay(rec.attempts + 1)
        repeat = rec.state == OrderState.SKIPPED and rec.reason == reason
        self.run.skipped += 1
        self.store.settle(
            rec,
            None if repeat else self.run,
            self.clock(),
            Outcome(OrderState.SKIPPED, reason),
            recheck,
            counts_as_attempt=not repeat,
        )

    def _undo_intent(self, rec: OrderRecord) -> None:
        """This attempt's write was certainly not made (401, 429, refused): drop its intent.

        Only an intent recorded in this attempt: an older unconfirmed one stays until a
        look-up in e-Boekhouden settles it.
        """
        if self.fresh_intent is rec:
            rec.state, rec.write_uncertain = OrderState.NEW, False
            self.store.session.commit()
        self.fresh_intent = None


def _outcome(exc: apierrors.ApiError) -> Outcome:
    reason, fix = explain_api_error(exc)
    return Outcome(OrderState.FAILED, reason, fix, exc.code)
