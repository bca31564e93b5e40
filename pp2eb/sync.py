"""The booking engine: each Plug&Pay order booked in e-Boekhouden exactly once.

One run reads orders as a stream of pages and treats each order as its own unit of work:
parse, map (``pp2eb.mapping.mapper``, pure), find or create the relation, record the intent, write,
confirm. A failure is recorded on that order, in words, with a time to try again, and the run
goes on. Collaborators come in as arguments; nothing here reads Flask's ``current_app``.

Exactly once rests on three things:

* the **intent** is committed before the remote write and confirmed after it; a record still
  in ``booking`` (a crash, a timeout, a 500 after the write) is first looked up in
  e-Boekhouden by its invoice number before anything is written again;
* every write carries ``paymentReference`` with ``checkPaymentReference: true``, so
  e-Boekhouden itself refuses a second copy (``MUTA_008`` / ``FACT_VERWERK_004``), as it
  refuses a taken invoice number (``MUT_019`` / ``FACT_101``); those answers lead to the
  look-up and the order is marked booked, not failed;
* a **lease** row lets one process run at a time; a second one goes away politely.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TypeVar

import sqlalchemy.exc

from pp2eb import apierrors
from pp2eb.eboekhouden import EBoekhoudenClient
from pp2eb.explain import explain_api_error
from pp2eb.mapping.booking import (
    Booking,
    Ledger,
    OriginalBooking,
    ReferenceData,
    Skip,
    Template,
    Wait,
)
from pp2eb.mapping.mapper import MappingError, before_start_date, map_order
from pp2eb.mapping.order import Order, parse_order
from pp2eb.mapping.payloads import to_invoice_payload, to_mutation_payload
from pp2eb.models import OrderRecord, SyncRun, utcnow
from pp2eb.plugandpay import PlugAndPayClient
from pp2eb.relations import Relations
from pp2eb.settings import Settings
from pp2eb.store import Outcome, Store, lease_holder

logger = logging.getLogger(__name__)
T = TypeVar("T")

# Long enough to outlast one API call with its own retries; a crashed holder on this machine is
# recognised by its pid at once (see ``Store.acquire_lease``), so a restart need not wait.
LEASE_TTL = timedelta(minutes=10)
LEASE_RENEW_EVERY = timedelta(seconds=30)
WAIT_STEP = 10.0  # seconds; long waits are cut into steps so the lease is renewed
# Plug&Pay filters by invoice date (a day) and paid_at; look back this far past the last run.
INVOICE_DATE_OVERLAP = timedelta(days=2)
PAID_AT_OVERLAP = timedelta(hours=1)
DUPLICATE_CODES = frozenset({"MUT_019", "MUT_020", "FACT_101", "MUTA_008", "FACT_VERWERK_004"})
RATE_LIMIT_PATIENCE = 15 * 60.0  # seconds a run waits out 429s in total before it stops
MAX_UNAVAILABLE_IN_A_ROW = 3
RETRY_FIRST, RETRY_CAP = timedelta(minutes=5), timedelta(hours=6)
# A concept invoice or an unpaid order may still change: look at it again for this long.
RECHECK_FOR = timedelta(days=60)
COUNTS = ("booked", "skipped", "failed", "waiting", "already_booked")


@dataclass
class Failure:
    """An order that failed in a run, for the run's report."""

    order_id: int
    number: str | None
    reason: str


@dataclass
class RunResult:
    """What a run did; ``status`` is finished, aborted or busy (another run holds the lease)."""

    status: str
    run_id: int | None = None
    booked: int = 0
    skipped: int = 0
    failed: int = 0
    waiting: int = 0
    already_booked: int = 0
    failures: list[Failure] = field(default_factory=list)
    message: str | None = None

    @property
    def ok(self) -> bool:
        """True when the run finished and nothing failed."""
        return self.status == SyncRun.FINISHED and not self.failed


class RunAborted(Exception):
    """The run cannot go on (a credential stopped working, an API is down, the DB failed)."""


def retry_delay(attempts: int) -> timedelta:
    """Wait before the next try after ``attempts`` tries: 5 min, 10, 20 ... at most 6 h."""
    # The exponent is capped first: 2 ** 40 times five minutes overflows a timedelta.
    return min(RETRY_FIRST * 2 ** min(max(attempts - 1, 0), 10), RETRY_CAP)


def fetch_reference(eb: EBoekhoudenClient, pp: PlugAndPayClient) -> ReferenceData:
    """Ledgers and templates from e-Boekhouden, product ledger codes from Plug&Pay: once a run."""
    ledgers = [
        Ledger(
            id=item["id"],
            code=str(item["code"]),
            description=item.get("description") or "",
            category=item.get("category") or "",
        )
        for item in eb.iter_ledgers()
    ]
    templates = [Template(id=t["id"], name=t["name"]) for t in eb.list_invoice_templates()]
    products = {p["id"]: _ledger_code(p.get("ledger")) for p in pp.iter_products()}
    return ReferenceData.build(ledgers, templates, products)


def _ledger_code(value: object) -> str | None:
    # The SDK types the product ledger as int|string|null (PR #109): read it as text.
    return None if value is None or value == "" else str(value)


def sync_orders(
    pp: PlugAndPayClient, settings: Settings, last_run: SyncRun | None
) -> Iterator[dict]:
    """The orders a scheduled sync looks at: new invoices, and for ``paid`` newly paid ones."""
    since = settings.start_date
    if last_run is not None:
        since = max(since, (last_run.started_at - INVOICE_DATE_OVERLAP).date())
    yield from pp.iter_orders(since_invoice_date=since, sort="invoice_date", direction="asc")
    if settings.orders == "paid" or settings.book_payments:  # newly paid: book its payment
        paid_since = datetime.combine(settings.start_date, datetime.min.time())
        if last_run is not None:
            paid_since = max(paid_since, last_run.started_at - PAID_AT_OVERLAP)
        yield from pp.iter_orders(since_paid_at=paid_since, sort="paid_at", direction="asc")


def backfill_orders(pp: PlugAndPayClient, since: date, until: date | None) -> Iterator[dict]:
    """Every order invoiced from ``since`` up to ``until`` (inclusive), oldest first."""
    return pp.iter_orders(
        since_invoice_date=since, until_invoice_date=until, sort="invoice_date", direction="asc"
    )


def run_once(
    pp: PlugAndPayClient,
    eb: EBoekhoudenClient,
    store: Store,
    settings: Settings,
    *,
    kind: str = "sync",
    since: date | None = None,
    until: date | None = None,
    order_ids: Iterable[int] | None = None,
    clock: Callable[[], datetime] = utcnow,
    sleep: Callable[[float], None] = time.sleep,
) -> RunResult:
    """One run: ``sync`` (new orders and due retries), ``backfill`` (a date range) or ``orders``."""
    holder = lease_holder()
    try:
        if not store.acquire_lease(holder, clock(), LEASE_TTL):
            return RunResult(status="busy", message="Another run is in progress; nothing was done.")
        run = store.start_run(kind, clock(), since, until)
    except sqlalchemy.exc.SQLAlchemyError as exc:
        store.session.rollback()
        logger.error("run not started: %s", exc)
        return RunResult(status=SyncRun.ABORTED, message=database_trouble(exc))
    engine = Engine(pp, eb, store, settings, run, holder, clock, sleep)
    with store.objects_kept():
        try:
            if order_ids is not None:
                engine.book_by_id(order_ids)
            elif kind == "backfill":
                engine.book_all(backfill_orders(pp, since or settings.start_date, until))
            else:
                engine.book_all(sync_orders(pp, settings, store.last_finished_sync()))
                engine.book_by_id(store.due_for_retry(clock()))
                if engine.payments is not None:
                    engine.book_by_id(engine.payments.due())
            engine.book_waiting()
            status, message = SyncRun.FINISHED, None
        except (RunAborted, apierrors.ApiError, sqlalchemy.exc.SQLAlchemyError) as exc:
            status, message = SyncRun.ABORTED, engine.abort_message(exc)
            logger.warning("run %s stopped: %s", run.id, message)
        except BaseException:
            engine.finish(SyncRun.ABORTED, "The run stopped on an unexpected error; see the log.")
            raise
        engine.finish(status, message)
    return engine.result()


class Engine:
    """The state of one run; ``run_once`` is the way in."""

    def __init__(self, pp, eb, store, settings, run, holder, clock, sleep) -> None:
        self.pp, self.eb, self.store, self.settings = pp, eb, store, settings
        self.run, self.holder, self.clock, self.sleep = run, holder, clock, sleep
        self.reference: ReferenceData | None = None
        self.relations = Relations(eb, store, settings.customer_codes, tick=self._keep_lease)
        self.seen: set[int] = set()
        self.waiting: list[int] = []
        self.failures: list[Failure] = []
        self.waited = 0.0
        self.unavailable_in_a_row = 0
        self.renewed_at = clock()
        self.fresh_intent: OrderRecord | None = None
        self.payments = None  # pp2eb.payments.Payments, only when payments are booked
        if settings.book_payments:
            from pp2eb.payments import Payments  # it builds on this module

            self.payments = Payments(self)

    # --- what to book ---

    def book_all(self, orders: Iterable[dict]) -> None:
        """Book each order of a stream (pages are fetched as the stream is read)."""
        for raw in orders:
            self.book_raw(raw)

    def book_by_id(self, order_ids: Iterable[int]) -> None:
        """Fetch each order afresh from Plug&Pay and book it."""
        for order_id in list(order_ids):
            if order_id in self.seen:
                continue
            try:
                raw = self.pp.get_order(order_id)
            except apierrors.NotFound:
                rec = self.store.record(order_id)
                self.run.skipped += 1
                self._settle(
                    rec,
                    Outcome(
                        OrderRecord.SKIPPED,
                        "The order no longer exists in Plug&Pay.",
                    ),
                    None,
                )
                continue
            self.book_raw(raw)

    def book_waiting(self) -> None:
        """Credit invoices that waited for an original booked later in this same run."""
        pending, self.waiting = self.waiting, []
        for order_id in pending:
            self.seen.discard(order_id)
            rec = self.store.find(order_id)
            if rec is not None and rec.state == OrderRecord.WAITING and rec.order_json:
                self.run.waiting -= 1
                self.book_raw(_load_raw(rec.order_json))

    # --- one order ---

    def book_raw(self, raw: object) -> None:
        """Book one order as Plug&Pay returned it; every failure ends up on its record."""
        order_id = raw.get("id") if isinstance(raw, dict) else None
        if not isinstance(order_id, int) or isinstance(order_id, bool):
            self.run.failed += 1
            self.failures.append(Failure(0, None, "Plug&Pay returned an order without an id."))
            logger.warning("skipped an order without an id in run %s", self.run.id)
            return
        if order_id in self.seen:
            return
        self.seen.add(order_id)
        self._keep_lease()
        try:
            order = parse_order(raw)
        except MappingError as exc:
            rec = self.store.record(order_id)
            self.store.describe(rec, raw=raw, summary=_raw_summary(raw))
            self._fail(rec, Outcome(OrderRecord.FAILED, exc.reason, exc.fix), None)
            return
        if self.run.kind == "sync" and before_start_date(order, self.settings):
            return  # the scheduled sync leaves orders before the start date alone
        rec = self.store.record(order_id)
        if rec.state == OrderRecord.BOOKED:
            self.run.already_booked += 1
            if self.payments is not None:
                self.payments.book(rec, raw)
            return
        if rec.skipped_by_hand:
            return  # a person decided; "retry" on the dashboard undoes it
        if self.reference is None:
            # Fetched at the first order to book, so a run that finds everything booked reads
            # nothing but the order list. Outside ``_book_patiently``: a failure stops the run.
            self.reference = self._patiently(lambda: fetch_reference(self.eb, self.pp))
        self.store.describe(rec, raw=raw, summary=_summary(order))
        self._book_patiently(rec, order)
        if self.payments is not None:
            self.payments.book(rec, raw)
        self.store.save_run(self.run)

    def _book_patiently(self, rec: OrderRecord, order: Order) -> None:
        while True:
            try:
                self._book(rec, order)
                return
            except apierrors.RateLimited as exc:
                self._undo_intent(rec)
                self._wait_out(exc)
            except apierrors.AuthError:
                self._undo_intent(rec)
                raise
            except apierrors.Unavailable as exc:
                self._undo_intent(rec)
                self._fail(rec, _outcome(exc), exc)
                self._note_unavailable(exc)
                return
            except apierrors.ApiError as exc:
                self._undo_intent(rec)
                self._fail(rec, _outcome(exc), exc)
                return
            except MappingError as exc:
                self._fail(rec, Outcome(OrderRecord.FAILED, exc.reason, exc.fix), None)
                return

    def _patiently(self, call: Callable[[], T]) -> T:
        """``call()``, waiting out every 429 (the request was not processed) and trying again."""
        while True:
            try:
                return call()
            except apierrors.RateLimited as exc:
                self._wait_out(exc)

    def _wait_out(self, exc: apierrors.RateLimited) -> None:
        """Wait as long as the API asks, within the run's patience; renew the lease meanwhile."""
        if self.waited + exc.retry_after > RATE_LIMIT_PATIENCE:
            raise RunAborted(
                f"{exc.api} kept asking us to slow down; the rest follows next run."
            ) from exc
        self.waited += exc.retry_after
        self._wait(exc.retry_after)

    def _note_unavailable(self, exc: apierrors.Unavailable) -> None:
        """Stop the run when an API keeps failing: the rest is better tried next run."""
        self.unavailable_in_a_row += 1
        if self.unavailable_in_a_row >= MAX_UNAVAILABLE_IN_A_ROW:
            raise RunAborted(
                f"{exc.api} could not be reached {self.unavailable_in_a_row} times in a row; "
                "the run stopped and the rest follows next run."
            ) from exc

    def _book(self, rec: OrderRecord, order: Order) -> None:
        self.fresh_intent = None
        result = map_order(order, self.settings, self._reference_for(order))
        if isinstance(result, Skip):
            self._skip(rec, order, result.reason)
            return
        if isinstance(result, Wait):
            self.run.waiting += 1
            self.store.settle(
                rec,
                self.run,
                self.clock(),
                Outcome(OrderRecord.WAITING, result.reason),
                self.clock() + retry_delay(1),
                counts_as_attempt=False,
            )
            self.waiting.append(rec.order_id)
            return
        if rec.state == OrderRecord.BOOKING or rec.write_uncertain:
            found = self._lookup(rec.insertion or result.insertion, rec.reference)
            if found is not None:
                self._booked(
                    rec,
                    found,
                    "Found in e-Boekhouden after an unconfirmed write; not booked again.",
                )
                return
        self._write(rec, result)

    def _write(self, rec: OrderRecord, booking: Booking) -> None:
        relation_id = booking.relation_id or self.relations.ensure(booking.relation)
        if booking.insertion == "invoice":
            body = to_invoice_payload(booking, relation_id=relation_id)
            create = self.eb.create_invoice
        else:
            body = to_mutation_payload(booking, relation_id=relation_id)
            create = self.eb.create_mutation
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
            self._booked(rec, found, f"Already in e-Boekhouden ({exc.code}); not booked again.")
            return
        except apierrors.Unavailable as exc:
            if not exc.write_uncertain:
                raise
            found = self._safe_lookup(booking.insertion, booking.invoice_number)
            if found is not None:
                self._booked(rec, found, "e-Boekhouden did not answer, but the booking is there.")
                return
            self._fail(
                rec,
                Outcome(
                    OrderRecord.BOOKING,
                    f"{exc.api} did not confirm the booking ({exc}). pp2eb looks it up in "
                    "e-Boekhouden before it tries again, so it is never booked twice.",
                    None,
                    exc.code,
                ),
                exc,
                retry_at=self.clock() + RETRY_FIRST,
            )
            self._note_unavailable(exc)
            return
        self._booked(rec, created["id"], "Booked.")

    # --- helpers ---

    def _reference_for(self, order: Order) -> ReferenceData:
        ref = self.reference
        if order.is_credit:
            for related in order.related_orders:
                original = self.store.booked_original(related.id)
                if original is not None and original.relation_id is not None:
                    ref = ref.with_original(
                        related.id,
                        OriginalBooking(
                            relation_id=original.relation_id,
                            invoice_number=original.reference or original.invoice_number or "",
                        ),
                    )
        return ref

    def _lookup(self, insertion: str, number: str | None) -> int | None:
        """The id of the booking with invoice number ``number`` in e-Boekhouden, if any."""
        if not number:
            return None
        if insertion == "invoice":
            items = self.eb.iter_invoices(invoiceNumber=number, limit=10)
        else:
            items = self.eb.iter_mutations(invoiceNumber=number, type=2, limit=10)  # not a payment
        for item in items:
            if str(item.get("invoiceNumber")) == number:
                return item["id"]
        return None

    def _safe_lookup(self, insertion: str, number: str | None) -> int | None:
        try:
            return self._lookup(insertion, number)
        except apierrors.ApiError:
            return None

    def _booked(self, rec: OrderRecord, eboekhouden_id: int, note: str) -> None:
        self.unavailable_in_a_row = 0
        # Counted before the commit that confirms it, so the count needs no commit of its own.
        self.run.booked += 1
        self.store.confirm_booked(rec, self.run, eboekhouden_id, self.clock(), note)
        logger.info("order %s booked as %s %s", rec.order_id, rec.insertion, eboekhouden_id)

    def _skip(self, rec: OrderRecord, order: Order, reason: str) -> None:
        # A concept may become final and an unpaid order paid: look again later.
        changeable = order.mode == "live" and (
            order.invoice_status != "final" or self.settings.orders == "paid"
        )
        recheck = None
        if changeable and self.clock() - rec.first_seen_at < RECHECK_FOR:
            recheck = self.clock() + retry_delay(rec.attempts + 1)
        repeat = rec.state == OrderRecord.SKIPPED and rec.reason == reason
        self.run.skipped += 1
        self.store.settle(
            rec,
            None if repeat else self.run,
            self.clock(),
            Outcome(OrderRecord.SKIPPED, reason),
            recheck,
            counts_as_attempt=not repeat,
        )

    def _fail(
        self, rec: OrderRecord, outcome: Outcome, exc: Exception | None, *, retry_at=None
    ) -> None:
        retry_at = retry_at or self.clock() + retry_delay(rec.attempts + 1)
        if outcome.state == OrderRecord.FAILED:
            self.run.failed += 1
        else:
            self.run.waiting += 1
        self.store.settle(rec, self.run, self.clock(), outcome, retry_at)
        number = rec.invoice_number or str(rec.order_id)
        self.failures.append(Failure(rec.order_id, number, outcome.reason or ""))
        logger.info("order %s not booked: %s", rec.order_id, outcome.reason)

    def _settle(self, rec: OrderRecord, outcome: Outcome, retry_at) -> None:
        self.store.settle(rec, self.run, self.clock(), outcome, retry_at)

    def _undo_intent(self, rec: OrderRecord) -> None:
        """This attempt's write was certainly not made (401, 429, refused): drop its intent.

        Only an intent recorded in this attempt: an older unconfirmed one stays until a
        look-up in e-Boekhouden settles it.
        """
        if self.fresh_intent is rec:
            rec.state, rec.write_uncertain = OrderRecord.NEW, False
            self.store.session.commit()
        self.fresh_intent = None

    def _wait(self, seconds: float) -> None:
        while seconds > 0:
            step = min(seconds, WAIT_STEP)
            self.sleep(step)
            seconds -= step
            self._keep_lease()

    def _keep_lease(self) -> None:
        now = self.clock()
        if now - self.renewed_at < LEASE_RENEW_EVERY:
            return
        if not self.store.renew_lease(self.holder, now, LEASE_TTL):
            raise RunAborted("Another process took over the run; this one stopped.")
        self.renewed_at = now

    def abort_message(self, exc: Exception) -> str:
        """What to tell a person about why the run stopped."""
        if isinstance(exc, apierrors.AuthError):
            name = "Plug&Pay" if "Plug" in (exc.api or "") else "e-Boekhouden"
            return (
                f"{exc.api} refused the stored key: reconnect {name} "
                f"(the orders are untouched). ({exc})"
            )
        if isinstance(exc, sqlalchemy.exc.SQLAlchemyError):
            return database_trouble(exc)
        return str(exc)

    def finish(self, status: str, message: str | None) -> None:
        """Close the run and give the lease back, even after a database failure."""
        counts = {name: getattr(self.run, name) for name in COUNTS}
        try:
            # Whatever was not committed belonged to a step that failed: drop it, but keep
            # the run's counts, which live in memory until the run is saved.
            self.store.session.rollback()
            for name, value in counts.items():
                setattr(self.run, name, value)
            self.run.status, self.run.message = status, message
            self.run.finished_at = self.clock()
            self.store.save_run(self.run)
        except sqlalchemy.exc.SQLAlchemyError:
            logger.exception("could not record the end of run %s", self.run.id)
        try:
            self.store.release_lease(self.holder)
        except sqlalchemy.exc.SQLAlchemyError:
            logger.exception("could not release the lease; it expires in %s", LEASE_TTL)

    def result(self) -> RunResult:
        """The run's figures."""
        run = self.run
        return RunResult(
            status=run.status,
            run_id=run.id,
            booked=run.booked,
            skipped=run.skipped,
            failed=run.failed,
            waiting=run.waiting,
            already_booked=run.already_booked,
            failures=self.failures,
            message=run.message,
        )


def database_trouble(exc: Exception) -> str:
    """What to tell a person when pp2eb's own database refuses a write."""
    return (
        "The database could not be written (disk full, read-only or locked: "
        f"{type(exc).__name__}). Nothing half-written was kept; fix it and run again."
    )


def _outcome(exc: apierrors.ApiError) -> Outcome:
    reason, fix = explain_api_error(exc)
    return Outcome(OrderRecord.FAILED, reason, fix, exc.code)


def _summary(order: Order) -> dict:
    contact = order.contact
    person = " ".join(p for p in (contact.firstname, contact.lastname) if p)
    return {
        "invoice_number": order.invoice_number,
        "invoice_date": order.invoice_date.isoformat() if order.invoice_date else None,
        "customer": (contact.company or person or contact.email or "")[:255] or None,
        "email": (contact.email or "")[:255] or None,
        "amount_with_tax": str(order.amount_with_tax),
    }


def _raw_summary(raw: dict) -> dict:
    """What can be shown of an order that could not be read."""
    number = raw.get("invoice_number")
    when = raw.get("invoice_date")
    return {
        "invoice_number": str(number)[:64] if number is not None else None,
        "invoice_date": str(when)[:10] if when is not None else None,
    }


def _load_raw(text: str) -> dict:
    from pp2eb import jsonutil

    return jsonutil.loads(text)
