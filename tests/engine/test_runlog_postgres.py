"""The lease on PostgreSQL: a link's advisory lock, held by the run on a connection of its own.

Two ``RunLog``s on two engines stand for two processes. A process's death is its lock
connection ended by the server (``pg_terminate_backend``), which is what the server does when
the process is killed: the connection drops and the lock with it.
"""

from __future__ import annotations

import gc
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from pp2eb.engine.runlog import RunLog, lease_holder
from pp2eb.extensions import db
from pp2eb.models import Lease, utcnow
from tests.engine_helpers import lock_holders, the_link

pytestmark = pytest.mark.postgres

TTL = timedelta(minutes=10)
# Another machine's process: its pid says nothing here, so only the lock can tell it is gone.
ELSEWHERE = lease_holder().replace(":", "-elsewhere:", 1)


@pytest.fixture
def link_id(app):
    with app.app_context():
        return the_link().id


@pytest.fixture
def engines(app):
    """Two engines on the test's database, each with its own pool: two processes."""
    made = [sa.create_engine(app.config["SQLALCHEMY_DATABASE_URI"]) for _ in range(2)]
    yield made
    for engine in made:
        engine.dispose()


def lease_row(engine: sa.Engine, link_id: int) -> tuple[str | None, object]:
    with Session(engine) as session:
        row = session.get(Lease, {"link_id": link_id, "name": "sync"})
        return row.holder, row.expires_at


def test_a_held_link_is_refused_then_taken_at_once_when_its_holder_dies(engines, link_id):
    first_engine, second_engine = engines
    first = RunLog(Session(first_engine), link_id)
    second = RunLog(Session(second_engine), link_id)
    now = utcnow()
    assert first.acquire_lease(ELSEWHERE, now, TTL)
    assert not second.acquire_lease("second", now, TTL)
    assert lease_row(second_engine, link_id) == (ELSEWHERE, now + TTL)
    holders = lock_holders(second_engine)
    assert list(holders) == [link_id]
    with first_engine.connect() as conn:  # the lock is on a connection of its own
        assert conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one() != holders[link_id]
    assert first.renew_lease(ELSEWHERE, now, TTL)

    # The first process dies: the server ends its connection, and the lock goes with it.
    with second_engine.connect() as conn:
        ended = conn.execute(
            sa.text("SELECT pg_terminate_backend(:pid, 10000)"), {"pid": holders[link_id]}
        )
        assert ended.scalar_one()
    assert lock_holders(second_engine) == {}

    later = now + timedelta(minutes=1)
    assert lease_row(second_engine, link_id)[1] > later  # the row has not expired
    assert second.acquire_lease("second", later, TTL)
    assert lease_row(second_engine, link_id) == ("second", later + TTL)
    assert lock_holders(second_engine).keys() == {link_id}
    # Were the first still running, it would learn at its next renewal that it lost the link,
    # and its end would give back nothing of the second's.
    assert not first.renew_lease(ELSEWHERE, later, TTL)
    first.release_lease(ELSEWHERE)
    assert lease_row(second_engine, link_id) == ("second", later + TTL)

    second.release_lease("second")
    assert lease_row(second_engine, link_id) == (None, None)
    assert lock_holders(second_engine) == {}
    assert RunLog(Session(first_engine), link_id).acquire_lease("third", later, TTL)


def test_a_released_lock_stays_on_no_connection(app, link_id):
    with app.app_context():
        log = RunLog(db.session, link_id)
        holder = lease_holder()
        assert log.acquire_lease(holder, utcnow(), TTL)
        # A second run in this same process (another thread, "Sync now") is refused too.
        assert not RunLog(db.session, link_id).acquire_lease(lease_holder(), utcnow(), TTL)
        pid = lock_holders(db.engine)[link_id]
        log.release_lease(holder)
        assert lock_holders(db.engine) == {}
        # Closed, not back in the pool: no connection with that server pid is left.
        with db.engine.connect() as conn:
            backends = conn.execute(sa.text("SELECT pid FROM pg_stat_activity")).scalars().all()
        assert pid not in backends
        again = RunLog(db.session, link_id)
        assert again.acquire_lease(holder, utcnow(), TTL)
        again.release_lease(holder)


def test_a_run_log_dropped_without_release_leaves_no_lock(app, link_id):
    with app.app_context():
        assert RunLog(db.session, link_id).acquire_lease(lease_holder(), utcnow(), TTL)
        gc.collect()  # its connection is closed, not pooled: the server drops the lock
        for _ in range(500):
            if link_id not in lock_holders(db.engine):
                break
            time.sleep(0.01)
        assert lock_holders(db.engine) == {}
        assert RunLog(db.session, link_id).acquire_lease(lease_holder(), utcnow(), TTL)
