"""The engine's memory in SQLite: runs, one record per order, attempts, customer links, the lease.

Every method that changes state commits at once, so that a crash (even ``kill -9``) leaves
each order in a state the next run can reason about: an intent recorded before the remote
write is confirmed after it, and a run that finds an unconfirmed intent looks in
e-Boekhouden before it writes again.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from pp2eb import jsonutil
from pp2eb.models import Attempt, CustomerLink, Lease, OrderRecord, SyncRun

SYNC_LEASE = "sync"


@dataclass(frozen=True)
class Outcome:
    """How one attempt at an order ended, in words a person understands."""

    state: str
    reason: str | None = None
    fix: str | None = None
    error_code: str | None = None


def lease_holder() -> str:
    """Who this process is: host, pid and a random part (a pid can be reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{os.urandom(4).hex()}"


def _holder_is_dead(holder: str | None) -> bool:
    """True when ``holder`` is a process on this host that no longer runs."""
    if not holder:
        return True
    host, _, rest = holder.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class Store:
    """Persistence for ``pp2eb.sync``; takes the SQLAlchemy session to work in."""

    def __init__(self, session: Session) -> None:
        self.session = session

    # --- the lease: one runner at a time, across processes ---

    def acquire_lease(self, holder: str, now: datetime, ttl: timedelta) -> bool:
        """Take the sync lease if it is free, expired, or held by a dead process here."""
        s = self.session
        s.execute(sa.insert(Lease).prefix_with("OR IGNORE").values(name=SYNC_LEASE))
        s.commit()
        current = s.get(Lease, SYNC_LEASE)
        s.refresh(current)
        expired = current.expires_at is None or current.expires_at <= now
        if not expired and not _holder_is_dead(current.holder):
            return False
        # Compare-and-set on the holder we saw: of two processes only one wins.
        result = s.execute(
            sa.update(Lease)
            .where(Lease.name == SYNC_LEASE, Lease.holder.is_(current.holder))
            .values(holder=holder, expires_at=now + ttl)
        )
        s.commit()
        return result.rowcount == 1

    def renew_lease(self, holder: str, now: datetime, ttl: timedelta) -> bool:
        """Extend our lease; False if another process took it over."""
        result = self.session.execute(
            sa.update(Lease)
            .where(Lease.name == SYNC_LEASE, Lease.holder == holder)
            .values(expires_at=now + ttl)
        )
        self.session.commit()
        return result.rowcount == 1

    def release_lease(self, holder: str) -> None:
        """Give the lease back."""
        self.session.execute(
            sa.update(Lease)
            .where(Lease.name == SYNC_LEASE, Lease.holder == holder)
            .values(holder=None, expires_at=None)
        )
        self.session.commit()

    # --- runs ---

    def start_run(self, kind: str, now: datetime, since=None, until=None) -> SyncRun:
        """Record the start of a run."""
        run = SyncRun(
            kind=kind,
            started_at=now,
            since=since.isoformat() if since else None,
            until=until.isoformat() if until else None,
        )
        self.session.add(run)
        self.session.commit()
        return run

    def save_run(self, run: SyncRun) -> None:
        """Store the run's counts so far (the dashboard shows them live)."""
        self.session.commit()

    def last_finished_sync(self) -> SyncRun | None:
        """The last scheduled or manual sync that ran to its end."""
        return self.session.execute(
            sa.select(SyncRun)
            .where(SyncRun.kind == "sync", SyncRun.status == SyncRun.FINISHED)
            .order_by(SyncRun.started_at.desc())
            .limit(1)
        ).scalar_one_or_none()

    # --- orders ---

    def record(self, order_id: int) -> OrderRecord:
        """The record of Plug&Pay order ``order_id``, made when it is first seen."""
        rec = self.session.execute(
            sa.select(OrderRecord).where(OrderRecord.order_id == order_id)
        ).scalar_one_or_none()
        if rec is None:
            self.session.execute(
                sa.insert(OrderRecord).prefix_with("OR IGNORE").values(order_id=order_id)
            )
            self.session.commit()
            rec = self.session.execute(
                sa.select(OrderRecord).where(OrderRecord.order_id == order_id)
            ).scalar_one()
        return rec

    def find(self, order_id: int) -> OrderRecord | None:
        """The record of ``order_id`` if the order has been seen."""
        return self.session.execute(
            sa.select(OrderRecord).where(OrderRecord.order_id == order_id)
        ).scalar_one_or_none()

    def refresh(self, rec: OrderRecord) -> OrderRecord:
        """Re-read a record (another process may have booked it meanwhile)."""
        self.session.refresh(rec)
        return rec

    def describe(self, rec: OrderRecord, *, raw: dict, summary: dict) -> None:
        """Keep what the dashboard shows of the order: number, date, customer, total."""
        for key, value in summary.items():
            setattr(rec, key, value)
        rec.order_json = jsonutil.dumps(raw)
        self.session.commit()

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
        rec.state = OrderRecord.BOOKING
        rec.insertion = insertion
        rec.reference = reference
        rec.payment_reference = payment_reference
        rec.booking_json = jsonutil.dumps(body)
        rec.relation_id = relation_id
        rec.write_uncertain = True
        self.session.commit()

    def confirm_booked(
        self, rec: OrderRecord, run: SyncRun | None, eboekhouden_id: int, now: datetime, note: str
    ) -> None:
        """After the remote write (or after finding the booking): the order is booked."""
        rec.state = OrderRecord.BOOKED
        rec.eboekhouden_id = eboekhouden_id
        rec.write_uncertain = False
        rec.booked_at = now
        rec.reason = rec.fix = rec.error_code = None
        rec.next_attempt_at = None
        self._attempt(rec, run, now, "booked", None, note)
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
    ) -> None:
        """Record a skip, a wait or a failure, and when to try again."""
        rec.state = outcome.state
        rec.reason, rec.fix, rec.error_code = outcome.reason, outcome.fix, outcome.error_code
        rec.next_attempt_at = retry_at
        if counts_as_attempt:
            rec.attempts += 1
        message = outcome.reason if not outcome.fix else f"{outcome.reason} {outcome.fix}"
        self._attempt(rec, run, now, outcome.state, outcome.error_code, message)
        self.session.commit()

    def _attempt(self, rec, run, now, outcome, code, message) -> None:
        self.session.add(
            Attempt(
                order_record_id=rec.id,
                run_id=run.id if run is not None else None,
                at=now,
                outcome=outcome,
                error_code=code,
                message=message,
            )
        )

    def due_for_retry(self, now: datetime) -> list[int]:
        """Order ids to look at again now: failed, waiting, unconfirmed or never finished
        ones, and skipped ones that may have changed (a concept, an unpaid order)."""
        unfinished = [OrderRecord.NEW, OrderRecord.FAILED, OrderRecord.WAITING, OrderRecord.BOOKING]
        due = OrderRecord.next_attempt_at <= now
        return list(
            self.session.execute(
                sa.select(OrderRecord.order_id)
                .where(
                    sa.or_(
                        sa.and_(
                            OrderRecord.state.in_(unfinished),
                            sa.or_(OrderRecord.next_attempt_at.is_(None), due),
                        ),
                        sa.and_(OrderRecord.state == OrderRecord.SKIPPED, due),
                    )
                )
                .order_by(OrderRecord.invoice_date, OrderRecord.order_id)
            ).scalars()
        )

    def booked_original(self, order_id: int) -> OrderRecord | None:
        """The record of ``order_id`` when it is booked (for its credit invoice)."""
        rec = self.find(order_id)
        return rec if rec is not None and rec.state == OrderRecord.BOOKED else None

    # --- customers ---

    def customer_link(self, key: str) -> CustomerLink | None:
        """The relation linked to customer ``key``."""
        return self.session.execute(
            sa.select(CustomerLink).where(CustomerLink.key == key)
        ).scalar_one_or_none()

    def link_customer(self, key: str, relation_id: int, code: str | None) -> None:
        """Remember that customer ``key`` is relation ``relation_id``."""
        self.session.execute(
            sa.insert(CustomerLink)
            .prefix_with("OR IGNORE")
            .values(key=key, relation_id=relation_id, relation_code=code)
        )
        self.session.commit()
