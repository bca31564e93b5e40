"""The engine's memory of orders in the database: one record per order, its attempts, links.

Every method that changes state commits at once, so that a crash (even ``kill -9``) leaves
each order in a state the next run can reason about: an intent recorded before the remote
write is confirmed after it, and a run that finds an unconfirmed intent looks in
e-Boekhouden before it writes again. The lease and the runs' rows are ``pp2eb.engine.runlog``'s; a
run's counts are written with its orders' commits.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, make_transient_to_detached, scoped_session
from sqlalchemy.orm.attributes import set_committed_value

from pp2eb import jsonutil
from pp2eb.engine.runlog import InsertIfAbsent, RunLog
from pp2eb.models import Attempt, CustomerLink, OrderRecord, SyncRun, utcnow
from pp2eb.states import AttemptOutcome, OrderState

_RECORDS = OrderRecord.__table__
_FIND = (
    sa.select(OrderRecord)
    .where(OrderRecord.link_id == sa.bindparam("link"))
    .where(OrderRecord.order_id == sa.bindparam("wanted"))
    .execution_options(populate_existing=True)
)
_KNOWN = sa.select(_RECORDS.c.id).where(
    _RECORDS.c.link_id == sa.bindparam("link"), _RECORDS.c.order_id == sa.bindparam("wanted")
)
_INSERT = sa.insert(_RECORDS)
_UPDATE = sa.update(_RECORDS).where(_RECORDS.c.id == sa.bindparam("record_id"))
_ADD_ATTEMPT = sa.insert(Attempt.__table__)
_LINKS = CustomerLink.__table__
_ADD_LINK = InsertIfAbsent(_LINKS)
_LINK = sa.select(_LINKS).where(
    _LINKS.c.link_id == sa.bindparam("link"), _LINKS.c.key == sa.bindparam("wanted")
)
# The record's text columns with a length: PostgreSQL refuses a longer value where SQLite keeps
# it, and an order whose number is too long must fail on its own (the mapper says why), not
# stop every run with a database error.
_LENGTHS = {
    c.key: c.type.length
    for c in _RECORDS.columns
    if isinstance(c.type, sa.String) and c.type.length
}


def _record_defaults() -> dict:
    """The Python-side column defaults of a new order record (state, attempts, timestamps)."""
    values = {}
    for column in _RECORDS.columns:
        default = column.default
        if default is not None and (default.is_scalar or default.is_callable):
            values[column.key] = default.arg if default.is_scalar else default.arg(None)
    return values


def _fit(key: str, value):
    """``value`` cut to the length of the record's column ``key``, if it has one."""
    length = _LENGTHS.get(key)
    return value[:length] if length and isinstance(value, str) else value


@dataclass(frozen=True)
class Outcome:
    """How one attempt at an order ended, in words a person understands."""

    state: OrderState
    reason: str | None = None
    fix: str | None = None
    error_code: str | None = None


class Store:
    """Persistence for ``pp2eb.engine.sync``; takes the SQLAlchemy session to work in and the
    link whose orders, customer links, runs and lease it keeps (``link_id``): every read is
    of that link's rows, every new row is that link's.

    ``run_log`` (``engine.runlog.RunLog``) keeps the lease and the run rows in the same session;
    an order's attempt puts its run's counts through it, into the order's own commit.
    """

    def __init__(self, session: Session | scoped_session, link_id: int) -> None:
        self.session = session
        self.link_id = link_id
        self.run_log = RunLog(session, link_id)
        self._described: dict[int, dict] = {}  # ``describe`` not yet written, by order id

    @contextmanager
    def objects_kept(self) -> Iterator[None]:
        """For one run: a commit does not expire the loaded objects.

        Otherwise every commit (two or three per order) makes the next attribute read a
        SELECT of the whole record and the run. Safe because the lease makes the run the only
        writer of its records and the run row, and ``find`` reads each record afresh.
        """
        session = self.session() if isinstance(self.session, scoped_session) else self.session
        before = session.expire_on_commit
        session.expire_on_commit = False
        try:
            yield
        finally:
            session.expire_on_commit = before

    # --- orders ---
    # The per-order writes are single Core statements whose values are copied onto the record
    # with ``set_committed_value``: the ORM's unit of work and its re-selects after each commit
    # were most of pp2eb's CPU per order (bench/README.md).

    def record(self, order_id: int) -> OrderRecord:
        """The record of Plug&Pay order ``order_id``; a new one is inserted by its first write."""
        # Most orders of a backfill are new: a bare look at the id costs a third of loading.
        with self.session.no_autoflush:
            wanted = {"link": self.link_id, "wanted": order_id}
            known = self.session.execute(_KNOWN, wanted).first()
        rec = self.find(order_id) if known is not None else None
        return rec or OrderRecord(link_id=self.link_id, order_id=order_id, **_record_defaults())

    def find(self, order_id: int) -> OrderRecord | None:
        """The record of ``order_id`` if the order has been seen, read afresh from the database."""
        # populate_existing: objects outlive commits during a run (see ``objects_kept``), so a
        # change another process made (a skip by hand on the dashboard) is read here. No
        # autoflush: the run's pending counts must not open a write transaction on a read.
        with self.session.no_autoflush:
            found = self.session.execute(_FIND, {"link": self.link_id, "wanted": order_id})
            return found.scalar_one_or_none()

    def describe(self, rec: OrderRecord, *, raw: dict, summary: dict) -> None:
        """Keep what the dashboard shows of the order: number, date, customer, total.

        Written with the record's next write (its intent, or how it was settled), before the
        order's own booking is sent: one statement and one commit fewer per order.
        """
        values = {key: _fit(key, value) for key, value in summary.items()}
        values["order_json"] = jsonutil.dumps(raw)
        for key, value in values.items():
            set_committed_value(rec, key, value)
        if rec.id is not None:
            self._described[rec.order_id] = values

    def record_intent(
        self,
        rec: OrderRecord,
        *,
        insertion: str,
        reference: str,
        payment_reference: str,
        body: dict,
        relation_id: int,
    ) -> None:
        """Before the remote write: what is about to be sent, and that it may be in flight."""
        self._write(
            rec,
            {
                "state": OrderState.BOOKING,
                "insertion": insertion,
                "reference": reference,
                "payment_reference": payment_reference,
                "booking_json": jsonutil.dumps(body),
                "relation_id": relation_id,
                "write_uncertain": True,
            },
        )
        self.session.commit()

    def confirm_booked(
        self, rec: OrderRecord, run: SyncRun | None, eboekhouden_id: int, now: datetime, note: str
    ) -> None:
        """After the remote write (or after finding the booking): the order is booked."""
        self._write(
            rec,
            {
                "state": OrderState.BOOKED,
                "eboekhouden_id": eboekhouden_id,
                "write_uncertain": False,
                "booked_at": now,
                "reason": None,
                "fix": None,
                "error_code": None,
                "next_attempt_at": None,
            },
        )
        self._attempt(rec, run, now, AttemptOutcome.BOOKED, None, note)
        self.session.commit()

    def settle(
        self,
        rec: OrderRecord,
        run: SyncRun | None,
        now: datetime,
        outcome: Outcome,
        retry_at: datetime | None,
        *,
        counts_as_attempt: bool = True,
        attempt: AttemptOutcome | None = None,
    ) -> None:
        """Record a skip, a wait or a failure, and when to try again; ``attempt`` names the
        attempt's outcome when it is not the state (a booked order flagged: ``vat_check``)."""
        self._write(
            rec,
            {
                "state": outcome.state,
                "reason": outcome.reason,
                "fix": outcome.fix,
                "error_code": outcome.error_code,
                "next_attempt_at": retry_at,
                "attempts": rec.attempts + 1 if counts_as_attempt else rec.attempts,
            },
        )
        message = outcome.reason if not outcome.fix else f"{outcome.reason} {outcome.fix}"
        outcome_of_attempt = attempt or AttemptOutcome(outcome.state)
        self._attempt(rec, run, now, outcome_of_attempt, outcome.error_code, message)
        self.session.commit()

    def save_payment(self, rec: OrderRecord, values: dict, run, now, attempt=None) -> None:
        """Write a booked order's payment columns, and ``attempt`` (outcome, code, message) if
        given, in one commit (``pp2eb.engine.payments``)."""
        self._write(rec, values)
        if attempt is not None:
            outcome, code, message = attempt
            self._attempt(rec, run, now, outcome, code, message)
        self.session.commit()

    def _write(self, rec: OrderRecord, values: dict) -> None:
        """Write ``values`` to the record's row (inserting a new record) and onto ``rec``."""
        values = {**self._described.pop(rec.order_id, {}), **values, "updated_at": utcnow()}
        if rec.id is None:
            columns = {c.key: getattr(rec, c.key) for c in _RECORDS.columns if c.key != "id"}
            result = self.session.execute(_INSERT, {**columns, **values})
            rec.id = result.inserted_primary_key[0]
            for key, value in values.items():
                setattr(rec, key, value)
            make_transient_to_detached(rec)  # as if loaded: clean, with its identity
            self.session.add(rec)
            return
        self.session.execute(_UPDATE, {"record_id": rec.id, **values})
        for key, value in values.items():
            set_committed_value(rec, key, value)

    def _attempt(self, rec, run, now, outcome, code, message) -> None:
        self.session.execute(
            _ADD_ATTEMPT,
            {
                "order_record_id": rec.id,
                "run_id": run.id if run is not None else None,
                "at": now,
                "outcome": outcome,
                "error_code": code,
                "message": message,
            },
        )
        if run is not None:
            self.run_log.save_counts(run)

    def due_for_retry(self, now: datetime) -> list[int]:
        """Order ids to look at again now: failed, waiting, unconfirmed or never finished
        ones, and skipped ones that may have changed (a concept, an unpaid order)."""
        unfinished = [OrderState.NEW, OrderState.FAILED, OrderState.WAITING, OrderState.BOOKING]
        due = OrderRecord.next_attempt_at <= now
        return list(
            self.session.execute(
                sa.select(OrderRecord.order_id)
                .where(OrderRecord.link_id == self.link_id)
                .where(
                    sa.or_(
                        sa.and_(
                            OrderRecord.state.in_(unfinished),
                            sa.or_(OrderRecord.next_attempt_at.is_(None), due),
                        ),
                        sa.and_(OrderRecord.state == OrderState.SKIPPED, due),
                    )
                )
                .order_by(OrderRecord.invoice_date, OrderRecord.order_id)
            ).scalars()
        )

    def booked_original(self, order_id: int) -> OrderRecord | None:
        """The record of ``order_id`` when it is booked (for its credit invoice)."""
        rec = self.find(order_id)
        return rec if rec is not None and rec.state == OrderState.BOOKED else None

    # --- customers ---

    def customer_link(self, key: str) -> sa.Row | None:
        """The link of customer ``key`` (``relation_id``, ``relation_code``), if any."""
        with self.session.no_autoflush:
            return self.session.execute(_LINK, {"link": self.link_id, "wanted": key}).first()

    def linked_relations(self, relation_ids: list[int]) -> set[int]:
        """Those of ``relation_ids`` that a customer link points to."""
        with self.session.no_autoflush:
            return set(
                self.session.execute(
                    sa.select(CustomerLink.relation_id).where(
                        CustomerLink.link_id == self.link_id,
                        CustomerLink.relation_id.in_(relation_ids),
                    )
                ).scalars()
            )

    def link_customer(
        self, key: str, relation_id: int, code: str | None, *, commit: bool = True
    ) -> None:
        """Remember that customer ``key`` is relation ``relation_id``.

        ``commit=False`` leaves it to the next commit (the order's intent): should that never
        come, the relation is found and linked again from e-Boekhouden by ``Relations``.
        """
        self.session.execute(
            _ADD_LINK.on(self.session),
            {
                "link_id": self.link_id,
                "key": key,
                "relation_id": relation_id,
                "relation_code": code,
            },
        )
        if commit:
            self.session.commit()
