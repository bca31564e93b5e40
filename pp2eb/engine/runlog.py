"""Who runs and what each run did: a link's sync lease and its runs' rows (``SyncRun``).

One process runs a link at a time: the link's lease row (its holder, shown on the dashboard, and
an expiry) is taken by compare-and-set, renewed while the run goes on and given back at its end.
On SQLite a holder that died on this machine is recognised by its pid, one elsewhere only once
the row has expired. On PostgreSQL the run first takes the link's advisory lock (``LinkLock``),
on a connection of its own that it holds to its end: while a process holds it no other can take
the link, and when the process dies the server ends its connection and drops the lock, so the
next process takes the link at once, however long the row still had to run.

A run's row is written by ``save_run`` itself, not flushed with every commit: its counts go
with an order's own commit (``save_counts``, called by ``engine.store.Store``) at most once a
second, and its end at once. Every method that changes state commits at once, except
``save_counts``.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session, scoped_session

from pp2eb.models import Lease, SyncRun
from pp2eb.states import RUN_COUNTS, RunStatus

SYNC_LEASE = "sync"
RUN_END = ("status", "message", "finished_at")
COUNTS_EVERY = 1.0  # seconds
# The message of a run whose process died before its end (stored; shown as it is).
DIED = (
    "The process running it stopped before the end (a crash, a restart or a kill). "
    "Nothing is lost: the next run went on where it stopped."
)

logger = logging.getLogger(__name__)

# The key of a link's advisory lock on PostgreSQL: the two-int4 form of
# ``pg_try_advisory_lock(namespace, link_id)``. The namespace is "ppeb" in ASCII (0x70706562),
# so pp2eb's locks stay apart from those another program takes in the same database with a first
# key of its own; the one-bigint form is a key space of its own (pg_locks: objsubid 1, not 2).
# ``pg_locks`` shows a held one as classid = 1886414178, objid = link_id, objsubid = 2.
LOCK_NAMESPACE = 0x70706562

_RUNS = SyncRun.__table__
_SAVE_RUN = sa.update(_RUNS).where(_RUNS.c.id == sa.bindparam("saved_run"))


class InsertIfAbsent:
    """An INSERT that leaves an existing row with the same key alone, in each database's words:
    SQLite's ``INSERT OR IGNORE``, PostgreSQL's ``ON CONFLICT DO NOTHING``."""

    def __init__(self, table: sa.Table) -> None:
        self._by_database = {
            "sqlite": sa.insert(table).prefix_with("OR IGNORE"),
            "postgresql": postgresql.insert(table).on_conflict_do_nothing(),
        }

    def on(self, session: Session | scoped_session) -> sa.Insert:
        """The statement for the database ``session`` works in."""
        return self._by_database[session.get_bind().dialect.name]


_ADD_LEASE = InsertIfAbsent(Lease.__table__)


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


_HELD = sa.text(
    "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted"
    " AND pid = pg_backend_pid() AND classid::bigint = :namespace"
    " AND objid::bigint = :link AND objsubid = 2)"
)


def _lock_key(link_id: int) -> tuple[sa.ColumnElement, sa.ColumnElement]:
    return sa.cast(LOCK_NAMESPACE, sa.Integer), sa.cast(link_id, sa.Integer)


class LinkLock:
    """PostgreSQL: link ``link_id``'s session-level advisory lock, held on a connection of its
    own from ``take`` to ``let_go`` (the run's whole length).

    The connection is taken from the engine and detached from its pool at once: it never goes
    back to the pool (where a lock still held would go to whoever checks it out next, who would
    take the same lock again without waiting, as PostgreSQL's locks are re-entrant per
    connection); ``let_go`` unlocks it and closes it for real. Dropped without ``let_go``, the
    connection is closed when it is garbage, and the server drops the lock with it.
    """

    def __init__(self, engine: sa.Engine, link_id: int) -> None:
        self.engine, self.link_id = engine, link_id
        self._conn: sa.Connection | None = None

    def take(self) -> bool:
        """Take the lock if no other connection holds it; False if one does (or we do)."""
        if self._conn is not None:
            return False
        conn = self.engine.connect()
        conn.detach()
        try:
            got = conn.execute(sa.select(sa.func.pg_try_advisory_lock(*_lock_key(self.link_id))))
            taken = bool(got.scalar_one())
            conn.commit()  # a session-level lock outlives the transaction: none stays open
        except BaseException:
            conn.close()
            raise
        if not taken:
            conn.close()
            return False
        self._conn = conn
        return True

    def held(self) -> bool:
        """Whether we still hold the lock: its connection is alive and the server lists it."""
        if self._conn is None:
            return False
        try:
            found = self._conn.execute(
                _HELD, {"namespace": LOCK_NAMESPACE, "link": self.link_id}
            ).scalar_one()
            self._conn.commit()
        except sa.exc.SQLAlchemyError:
            logger.warning("the lock connection of link %s broke", self.link_id, exc_info=True)
            return False
        return bool(found)

    def let_go(self) -> None:
        """Unlock, and close the connection, which takes every lock of it along in any case."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            conn.execute(sa.select(sa.func.pg_advisory_unlock(*_lock_key(self.link_id))))
            conn.commit()
        except sa.exc.SQLAlchemyError:  # a broken connection: closing it is all there is to do
            logger.warning("could not unlock link %s; closing its connection", self.link_id)
        finally:
            conn.close()


class RunLog:
    """The lease and the run rows of link ``link_id``; takes the SQLAlchemy session to work in."""

    def __init__(self, session: Session | scoped_session, link_id: int) -> None:
        self.session = session
        self.link_id = link_id
        self._saved: dict[int, dict] = {}  # what save_counts last wrote, by run id
        self._saved_at = float("-inf")
        self._lock: LinkLock | None = None  # PostgreSQL's advisory lock, made at the first use

    # --- the lease: one runner at a time, across processes ---

    def acquire_lease(self, holder: str, now: datetime, ttl: timedelta) -> bool:
        """Take the link's sync lease if it is free, expired, or held by a dead process here;
        on PostgreSQL: if its advisory lock is free, whatever the row says."""
        lock = self._link_lock()
        if lock is None:
            return self._take_row(holder, now, ttl, holder_gone=False)
        if not lock.take():
            return False  # a live process holds the link
        try:
            taken = self._take_row(holder, now, ttl, holder_gone=True)
        except BaseException:
            lock.let_go()
            raise
        if not taken:
            lock.let_go()
        return taken

    def _take_row(self, holder: str, now: datetime, ttl: timedelta, holder_gone: bool) -> bool:
        """Write ``holder`` into the lease row; ``holder_gone``: the advisory lock is ours, so
        whoever the row names is no longer running (it died or lost its connection)."""
        s = self.session
        s.execute(_ADD_LEASE.on(s).values(link_id=self.link_id, name=SYNC_LEASE))
        s.commit()
        current = s.get(Lease, {"link_id": self.link_id, "name": SYNC_LEASE})
        s.refresh(current)
        expired = current.expires_at is None or current.expires_at <= now
        if not (expired or holder_gone or _holder_is_dead(current.holder)):
            return False
        # Compare-and-set on the holder we saw: of two processes only one wins. (``IS`` on
        # SQLite, ``IS NOT DISTINCT FROM`` on PostgreSQL: both compare NULL as a value. The ORM
        # cannot apply that to ``current`` in memory; the commit expires it anyway.)
        result = s.execute(
            sa.update(Lease)
            .where(self._lease(), Lease.holder.is_not_distinct_from(current.holder))
            .values(holder=holder, expires_at=now + ttl)
            .execution_options(synchronize_session=False)
        )
        s.commit()
        return result.rowcount == 1

    def renew_lease(self, holder: str, now: datetime, ttl: timedelta) -> bool:
        """Extend our lease; False if another process took it over (or, on PostgreSQL, our
        advisory lock is gone with its connection: another process may take the link now)."""
        if self._lock is not None and not self._lock.held():
            return False
        result = self.session.execute(
            sa.update(Lease)
            .where(self._lease(), Lease.holder == holder)
            .values(expires_at=now + ttl)
        )
        self.session.commit()
        return result.rowcount == 1

    def release_lease(self, holder: str) -> None:
        """Give the lease back; the advisory lock too, even when the row cannot be written."""
        try:
            self.session.execute(
                sa.update(Lease)
                .where(self._lease(), Lease.holder == holder)
                .values(holder=None, expires_at=None)
            )
            self.session.commit()
        finally:
            if self._lock is not None:
                self._lock.let_go()

    def _link_lock(self) -> LinkLock | None:
        """The link's advisory lock on PostgreSQL; None on SQLite (the row is the lease)."""
        if self._lock is None:
            engine = self.session.get_bind()
            if engine.dialect.name == "postgresql":
                self._lock = LinkLock(engine, self.link_id)
        return self._lock

    def _lease(self) -> sa.ColumnElement[bool]:
        return sa.and_(Lease.link_id == self.link_id, Lease.name == SYNC_LEASE)

    # --- runs ---

    def start_run(self, kind: str, now: datetime, since=None, until=None) -> SyncRun:
        """Record the start of a run; a run of this link still marked running is closed first.

        A run is started only under the link's lease, so any other run still marked running
        belongs to a process that died (a crash, ``kill -9``, a power cut): it is marked stopped,
        with the words why, instead of showing "running" for ever."""
        self.session.execute(
            sa.update(SyncRun)
            .where(SyncRun.link_id == self.link_id, SyncRun.status == RunStatus.RUNNING)
            .values(status=RunStatus.ABORTED, message=DIED, finished_at=now)
            .execution_options(synchronize_session=False)
        )
        run = SyncRun(
            link_id=self.link_id,
            kind=kind,
            started_at=now,
            since=since.isoformat() if since else None,
            until=until.isoformat() if until else None,
        )
        self.session.add(run)
        self.session.commit()
        self.session.refresh(run)
        # Detached, so that counting an order is no change the session must flush at the next
        # commit (a whole unit of work per order); ``save_run`` writes the row itself.
        self.session.expunge(run)
        return run

    def save_run(self, run: SyncRun) -> None:
        """Store the run's counts and status so far (the dashboard shows them live)."""
        self.save_counts(run, RUN_COUNTS + RUN_END)
        self.session.commit()

    def save_counts(self, run: SyncRun, fields: tuple[str, ...] = RUN_COUNTS) -> None:
        """Write the run's changed ``fields`` with the next commit (the caller's)."""
        # Counts go with the order's own commit, at most once a second: live enough for the
        # dashboard. The end of the run (status, message) is written at once.
        saved = self._saved.setdefault(run.id, {})
        values = {name: getattr(run, name) for name in fields}
        changed = {name: value for name, value in values.items() if saved.get(name) != value}
        now = time.monotonic()
        ending = any(name in changed for name in RUN_END)
        if changed and (ending or now - self._saved_at >= COUNTS_EVERY):
            self.session.execute(_SAVE_RUN, {"saved_run": run.id, **changed})
            saved.update(changed)
            self._saved_at = now

    def last_finished_sync(self) -> SyncRun | None:
        """The last scheduled or manual sync that ran to its end."""
        return self.session.execute(
            sa.select(SyncRun)
            .where(SyncRun.link_id == self.link_id)
            .where(SyncRun.kind == "sync", SyncRun.status == RunStatus.FINISHED)
            .order_by(SyncRun.started_at.desc())
            .limit(1)
        ).scalar_one_or_none()
