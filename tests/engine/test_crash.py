"""Real processes: ``kill -9`` in the middle of a backfill, and two syncs at the same time."""

from __future__ import annotations

import random
import signal
import time
from datetime import timedelta

import pytest

from pp2eb.engine import runlog
from pp2eb.extensions import db
from pp2eb.models import OrderRecord, SyncRun
from pp2eb.states import OrderState, RunStatus
from tests.clock import DEMO_TODAY
from tests.engine_helpers import SETTINGS, assert_exactly_once, booked_numbers, configure
from tests.processes import flask

KILLS = 20


@pytest.fixture
def ready(app, sandbox, tmp_path):
    configure(app)
    # Each booking takes a little while, so that a kill lands in the middle of a run.
    sandbox.control(
        "eboekhouden",
        "POST",
        "faults",
        json={
            "path": "/v1/mutation",
            "method": "POST",
            "status": 0,
            "delay": 0.03,
            "times": None,
        },
    )
    return app


def states(app) -> dict[str, int]:
    with app.app_context():
        rows = db.session.execute(db.select(OrderRecord.state)).scalars().all()
    return {state: rows.count(state) for state in set(rows)}


def test_kill_9_mid_backfill_then_rerun_books_each_order_once(ready, sandbox):
    seed = random.randrange(1_000_000)
    rng = random.Random(seed)
    # Enough orders that 20 kills all land mid-run: about 0.7 s to start, then ~30 ms an order.
    start, end = (DEMO_TODAY - timedelta(days=60)).isoformat(), DEMO_TODAY.isoformat()
    sandbox.control(
        "plugandpay", "POST", "generate", json={"n": 800, "seed": seed, "start": start, "end": end}
    )
    kills = 0
    for _ in range(KILLS + 10):
        proc = flask(ready, "backfill", "--since", SETTINGS["start_date"])
        time.sleep(rng.uniform(0.8, 2.5))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.communicate(timeout=30)
        if kills == KILLS:
            break
    assert kills == KILLS, f"seed {seed}: only {kills} kills landed mid-run"
    final = flask(ready, "backfill", "--since", SETTINGS["start_date"])
    output, _ = final.communicate(timeout=120)
    assert final.returncode in (0, 1), output
    counts = states(ready)
    assert counts.get(OrderState.BOOKING, 0) == 0, (seed, counts)
    assert_exactly_once(sandbox, counts[OrderState.BOOKED])
    # No killed run shows "running" for ever: each next run closed the one before it.
    with ready.app_context():
        runs = db.session.execute(db.select(SyncRun.status, SyncRun.message)).all()
    assert all(status != RunStatus.RUNNING for status, _ in runs), (seed, runs)
    died = [status for status, message in runs if message == runlog.DIED]
    assert 0 < len(died) <= KILLS and set(died) == {RunStatus.ABORTED}, (seed, runs)


def test_two_syncs_at_the_same_time_book_each_order_once(ready, sandbox):
    procs = [flask(ready, "sync") for _ in range(2)]
    outputs = [proc.communicate(timeout=120)[0] for proc in procs]
    counts = states(ready)
    assert_exactly_once(sandbox, counts[OrderState.BOOKED])
    booked = [int(o.split(",")[0].split()[1]) for o in outputs if o.startswith("booked")]
    assert sum(booked) == len(booked_numbers(sandbox)), outputs
    # They overlapped: one of them found the other one running.
    assert any("Another run is in progress" in o for o in outputs), outputs
