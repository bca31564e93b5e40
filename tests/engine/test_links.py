"""Two links in one install: each link's orders, runs, customers and lease are its own.

The sandbox serves one Plug&Pay shop and one administration, so both links here use the same
keys; what is checked is that pp2eb keeps them apart (other settings, other start dates).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from pp2eb.engine.runlog import RunLog
from pp2eb.extensions import db
from pp2eb.models import CustomerLink, Link, OrderRecord, SyncRun, utcnow
from pp2eb.reports import records
from pp2eb.runs import jobs, scheduler
from pp2eb.runs import webhook_inbox as inbox
from pp2eb.setup import appstate
from pp2eb.states import OrderState, RunStatus
from tests.clock import DEMO_TODAY, START_DATE
from tests.engine_helpers import configure, shops_a_and_b

B_START = DEMO_TODAY - timedelta(days=30)


@pytest.fixture
def two(app, sandbox):
    """Shop A from the tests' start date; Shop B from 30 days ago, books paid orders only."""
    ids = shops_a_and_b(app)
    configure(app, ids[0], start_date=START_DATE.isoformat())
    configure(app, ids[1], start_date=B_START.isoformat(), orders="paid")
    return ids


def _link(link_id: int) -> Link:
    return db.session.get(Link, link_id)


def _order_ids(link_id: int) -> set[int]:
    return set(
        db.session.execute(
            sa.select(OrderRecord.order_id).where(OrderRecord.link_id == link_id)
        ).scalars()
    )


def test_each_link_keeps_its_own_orders_and_runs(app, two):
    a_id, b_id = two
    with app.app_context():
        first = jobs.run("sync", link=_link(a_id))
        assert first.status == RunStatus.FINISHED and first.booked > 0
        a_orders = _order_ids(a_id)
        a_states = dict(
            db.session.execute(
                sa.select(OrderRecord.order_id, OrderRecord.state).where(
                    OrderRecord.link_id == a_id
                )
            ).all()
        )
        assert _order_ids(b_id) == set()
        # Shop B's run sees only its own records: A's booked orders are new to B.
        second = jobs.run("sync", link=_link(b_id))
        assert second.status == RunStatus.FINISHED
        assert second.already_booked == 0
        b_orders = _order_ids(b_id)
        assert b_orders and b_orders < a_orders  # from a later start date
        b_dates = db.session.execute(
            sa.select(OrderRecord.invoice_date).where(OrderRecord.link_id == b_id)
        ).scalars()
        assert min(d for d in b_dates if d) >= B_START.isoformat()
        # A's records are as A's run left them; the same order id is two records.
        assert (
            dict(
                db.session.execute(
                    sa.select(OrderRecord.order_id, OrderRecord.state).where(
                        OrderRecord.link_id == a_id
                    )
                ).all()
            )
            == a_states
        )
        shared = next(iter(b_orders))
        assert records.find(_link(a_id), shared).id != records.find(_link(b_id), shared).id
        # Runs, counts and customers are per link.
        assert [r.id for r in records.recent_runs(_link(a_id), 10)] == [first.run_id]
        assert [r.id for r in records.recent_runs(_link(b_id), 10)] == [second.run_id]
        assert sum(records.counts(_link(b_id)).values()) == len(b_orders)
        assert sum(records.counts(_link(a_id)).values()) == len(a_orders)
        customers = db.session.execute(
            sa.select(CustomerLink.link_id, sa.func.count()).group_by(CustomerLink.link_id)
        ).all()
        assert {link_id for link_id, _n in customers} == {a_id, b_id}
        # Each link's schedule follows its own last run.
        later = utcnow() + timedelta(minutes=1)
        run_a = db.session.get(SyncRun, first.run_id)
        interval = timedelta(minutes=jobs.load_settings(_link(a_id)).sync_interval_minutes)
        assert scheduler.next_run_at(_link(a_id), later) == max(run_a.started_at + interval, later)


def test_a_second_run_of_each_link_books_nothing_again(app, two):
    a_id, b_id = two
    with app.app_context():
        for link_id in two:
            assert jobs.run("sync", link=_link(link_id)).status == RunStatus.FINISHED
        again = [jobs.run("sync", link=_link(link_id)) for link_id in two]
        assert [r.booked for r in again] == [0, 0]


def test_each_link_has_its_own_lease(app, two):
    a_id, b_id = two
    now = utcnow()
    with app.app_context():
        a_log, b_log = RunLog(db.session, a_id), RunLog(db.session, b_id)
        assert a_log.acquire_lease("holder-a", now, timedelta(minutes=10))
        # A held does not stop B; a second holder of A is refused.
        assert b_log.acquire_lease("holder-b", now, timedelta(minutes=10))
        assert not RunLog(db.session, a_id).acquire_lease("other", now, timedelta(minutes=10))
        busy = jobs.run("sync", link=_link(a_id))
        assert busy.status == RunStatus.BUSY
        a_log.release_lease("holder-a")
        assert jobs.run("sync", link=_link(a_id)).status == RunStatus.FINISHED
        assert _order_ids(b_id) == set()


def test_each_link_has_its_own_webhook_queue(app, two):
    a_id, b_id = two
    with app.app_context():
        appstate.put(_link(b_id), appstate.SCHEDULE_PAUSED, True)
        inbox.enqueue(_link(a_id), inbox.Event(31, "order_paid"))
        inbox.enqueue(_link(b_id), inbox.Event(31, "order_paid"))
        inbox.enqueue(_link(b_id), inbox.Event(32, "order_paid"))
        assert inbox.queued(_link(a_id), 10) == [31]
        assert sorted(inbox.queued(_link(b_id), 10)) == [31, 32]
        inbox.settle(_link(b_id), [31, 32], utcnow(), finished=True)
        assert inbox.waiting(_link(a_id)) == 1 and inbox.waiting(_link(b_id)) == 0


def test_a_failed_order_of_one_link_is_not_the_others(app, two):
    a_id, b_id = two
    with app.app_context():
        jobs.run("sync", link=_link(a_id))
        failed = db.session.execute(
            sa.select(OrderRecord.order_id).where(
                OrderRecord.link_id == a_id, OrderRecord.state == OrderState.FAILED
            )
        ).scalars()
        assert list(failed)
        assert records.counts(_link(b_id))[OrderState.FAILED] == 0
