"""The booking engine: each Plug&Pay order booked in e-Boekhouden exactly once.

One run reads orders as a stream of pages and treats each order as its own unit of work:
read and map it (``pp2eb.engine.booking_path``, the dry run's path too), find or create the
relation, record the intent, write, confirm (``pp2eb.engine.booker``). A failure is recorded on
that order, in words, with a time to try again, and the run goes on; the run's lease, waits and
counts live in ``pp2eb.engine.runstate``. Collaborators come in as arguments; nothing here reads
Flask's ``current_app``.

Exactly once rests on three things:

* the **intent** is committed before the remote write and confirmed after it; a record still
  in ``booking`` (a crash, a timeout, a 500 after the write) is first looked up in
  e-Boekhouden by its invoice number before anything is written again;
* every write carries ``paymentReference`` with ``checkPaymentReference: true``, so
  e-Boekhouden itself refuses a second copy (``MUTA_008`` / ``FACT_VERWERK_004``), as it
  refuses a taken invoice number (``MUT_019`` / ``FACT_101``); those answers lead to the
  look-up and the order is marked booked, not failed;
* a **lease** row (on PostgreSQL with an advisory lock) lets one process run a link at a
  time; a second one goes away politely.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime, timedelta

import sqlalchemy.exc

from pp2eb import jsonutil
from pp2eb.apis import errors as apierrors
from pp2eb.apis.eboekhouden import EBoekhoudenClient
from pp2eb.apis.plugandpay import PlugAndPayClient
from pp2eb.engine import booking_path
from pp2eb.engine.booker import OrderBooker
from pp2eb.engine.originals import fetcher
from pp2eb.engine.payments import Payments
from pp2eb.engine.relations import Relations
from pp2eb.engine.runlog import lease_holder
from pp2eb.engine.runstate import (
    LEASE_TTL,
    Failure,
    RunAborted,
    RunResult,
    RunState,
    database_trouble,
    refused_service,
)
from pp2eb.engine.store import Outcome, Store
from pp2eb.engine.vat_rounding import VatRounding
from pp2eb.mapping.booking import ReferenceData
from pp2eb.mapping.mapper import before_start_date
from pp2eb.mapping.order import Order
from pp2eb.mapping.reference import read_reference
from pp2eb.mapping.settings import Settings
from pp2eb.models import SyncRun, utcnow
from pp2eb.states import OrderState, RunStatus

logger = logging.getLogger(__name__)

# Plug&Pay filters by invoice date (a day) and paid_at; look back this far past the last run.
INVOICE_DATE_OVERLAP = timedelta(days=2)
PAID_AT_OVERLAP = timedelta(hours=1)


def fetch_reference(eb: EBoekhoudenClient, pp: PlugAndPayClient) -> ReferenceData:
    """Ledgers and templates from e-Boekhouden, product ledger codes and kinds from Plug&Pay:
    once a run."""
    ledgers = list(eb.iter_ledgers())
    templates = eb.list_invoice_templates()
    return read_reference(ledgers, templates, pp.iter_products())


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
        if not store.run_log.acquire_lease(holder, clock(), LEASE_TTL):
            return RunResult(
                status=RunStatus.BUSY, message="Another run is in progress; nothing was done."
            )
        run = store.run_log.start_run(kind, clock(), since, until)
    except sqlalchemy.exc.SQLAlchemyError as exc:
        store.session.rollback()
        logger.error("run not started: %s", exc)
        return RunResult(status=RunStatus.ABORTED, message=database_trouble(exc))
    engine = Engine(pp, eb, store, settings, run, holder, clock, sleep)
    with store.objects_kept():
        try:
            if order_ids is not None:
                engine.book_by_id(order_ids)
            elif kind == "backfill":
                engine.book_all(backfill_orders(pp, since or settings.start_date, until))
            else:
                engine.book_all(sync_orders(pp, settings, store.run_log.last_finished_sync()))
                engine.book_by_id(store.due_for_retry(clock()))
                if engine.payments is not None:
                    engine.book_by_id(engine.payments.due())
            engine.book_waiting()
            status, message = RunStatus.FINISHED, None
        except (RunAborted, apierrors.ApiError, sqlalchemy.exc.SQLAlchemyError) as exc:
            status, message = RunStatus.ABORTED, engine.state.abort_message(exc)
            engine.state.refused = refused_service(exc)
            logger.warning("run %s stopped: %s", run.id, message)
        except BaseException:
            engine.state.finish(
                RunStatus.ABORTED, "The run stopped on an unexpected error; see the log."
            )
            raise
        engine.state.finish(status, message)
    return engine.state.result()


class Engine:
    """What one run books, in what order; ``run_once`` is the way in."""

    def __init__(self, pp, eb, store, settings, run, holder, clock, sleep) -> None:
        self.pp, self.eb, self.store, self.settings = pp, eb, store, settings
        self.run, self.clock = run, clock
        self.state = RunState(store.run_log, run, holder, clock, sleep)
        relations = Relations(eb, store, settings.customer_codes, tick=self.state.keep_lease)
        self.vat_rounding = VatRounding(eb, store.session, store.link_id, self.state.patiently)
        self.booker = OrderBooker(
            eb, store, settings, self.state, relations, self.vat_rounding, fetcher(pp)
        )
        self.seen: set[int] = set()
        self.noted: set[str] = set()  # the readings this run has logged
        # Only when payments are booked: with them off, a run costs nothing more.
        self.payments = None
        if settings.book_payments:
            self.payments = Payments(eb, store, settings, self.state, self.reference)

    def reference(self) -> ReferenceData:
        """Ledgers, templates and product ledgers, fetched at the first order (or payment) that
        needs them, so a run that finds everything booked reads nothing but the order list;
        with the administration's VAT rounding as far as it is known (``engine.vat_rounding``).
        Not inside ``booker.book``: a failure here stops the run."""
        if self.booker.reference is None:
            ref = self.state.patiently(lambda: fetch_reference(self.eb, self.pp))
            self.booker.reference = ref.with_vat_rounding(self.vat_rounding.known())
        return self.booker.reference

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
                gone = Outcome(OrderState.SKIPPED, "The order no longer exists in Plug&Pay.")
                self.store.settle(rec, self.run, self.clock(), gone, None)
                continue
            self.book_raw(raw)

    def book_waiting(self) -> None:
        """Credit invoices that waited for an original booked later in this same run."""
        pending, self.booker.waiting = self.booker.waiting, []
        for order_id in pending:
            self.seen.discard(order_id)
            rec = self.store.find(order_id)
            if rec is not None and rec.state == OrderState.WAITING and rec.order_json:
                self.run.waiting -= 1
                self.book_raw(jsonutil.loads(rec.order_json))

    def look_again_at_originals(self, order: Order) -> None:
        """Before a credit invoice: an original pp2eb skipped is fetched and mapped afresh.

        A concept made final, or an unpaid order credited (which counts as paid), may be
        bookable now; only an original that stays skipped lets its credit be booked on its own.
        """
        # inferred: a skip by pp2eb is not final for an original that has since been credited.
        for related in order.related_orders:
            rec = self.store.find(related.id)
            if rec is not None and rec.state == OrderState.SKIPPED and not rec.skipped_by_hand:
                self.book_by_id([related.id])

    def book_raw(self, raw: object) -> None:
        """Book one order as Plug&Pay returned it; every failure ends up on its record."""
        reading = booking_path.read(raw)
        order_id = reading.order_id
        if order_id is None:
            self.run.failed += 1
            self.state.failures.append(Failure(0, None, reading.problem.reason))
            logger.warning("skipped an order without an id in run %s", self.run.id)
            return
        if order_id in self.seen:
            return
        self.seen.add(order_id)
        self.state.keep_lease()
        order = reading.order
        if order is None:
            rec = self.store.record(order_id)
            self.store.describe(rec, raw=raw, summary=reading.shown)
            problem = Outcome(OrderState.FAILED, reading.problem.reason, reading.problem.fix)
            self.booker.fail(rec, problem, None)
            return
        self.note_readings(order)
        if self.run.kind in ("sync", "webhook") and before_start_date(order, self.settings):
            return  # the scheduled sync (and a webhook) leaves orders before the start date alone
        rec = self.store.record(order_id)
        standing = booking_path.left_alone(rec)
        if standing == booking_path.ALREADY_BOOKED:
            self.run.already_booked += 1
            if self.payments is not None:
                self.payments.book(rec, raw)
            return
        if standing == booking_path.BY_HAND:
            return
        self.reference()
        if order.is_credit:
            self.look_again_at_originals(order)
        self.store.describe(rec, raw=raw, summary=reading.shown)
        self.booker.book(rec, order)
        if self.payments is not None:
            self.payments.book(rec, raw)
        self.store.run_log.save_run(self.run)

    def note_readings(self, order: Order) -> None:
        """Log once per run each reading taken where the record is silent, so that a shop
        owner's report tells what their Plug&Pay account sends."""
        for reading in order.readings:
            if reading not in self.noted:
                self.noted.add(reading)
                logger.info(
                    "run %s reads Plug&Pay's orders this way (first seen on order %s): %s",
                    self.run.id,
                    order.id,
                    reading,
                )
