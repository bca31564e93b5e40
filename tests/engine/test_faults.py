"""The bad days: rate limits, failing writes, an API that goes away, new orders mid-run,
a locked or full database. Each test asserts on the e-Boekhouden sandbox's own state."""

from __future__ import annotations

import sqlite3
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import event
from werkzeug.serving import make_server

from pp2eb import dutchtime
from pp2eb.engine.sync import run_once
from pp2eb.extensions import db
from pp2eb.models import OrderRecord, utcnow
from pp2eb.sandbox.wsgi import create_sandbox
from pp2eb.setup import shopsettings
from pp2eb.states import OrderState, RunStatus
from tests.conftest import QuietHandler, Sandbox
from tests.engine_helpers import (
    assert_exactly_once,
    booked_numbers,
    clients,
    configure,
    store,
    the_link,
)

N_ORDERS = 500


@pytest.fixture
def ready(app, sandbox):
    configure(app)
    with app.app_context():
        yield app


def add_orders(sandbox, n: int, seed: int = 7) -> None:
    """Replace the demo orders by ``n`` generated ones over the last 60 days (Dutch days: the
    engine's look-back window follows the clock, so the orders do too)."""
    start = (dutchtime.today() - timedelta(days=60)).isoformat()
    end = dutchtime.today().isoformat()
    sandbox.control(
        "plugandpay", "POST", "generate", json={"n": n, "seed": seed, "start": start, "end": end}
    )


def run(sandbox, sleep=None, clock=None, **kwargs):
    pp, eb = clients(sandbox, sleep=sleep, timeout=kwargs.pop("timeout", 5.0))
    extra = {"clock": clock} if clock else {}
    with eb:
        return run_once(
            pp,
            eb,
            store(),
            shopsettings.load(the_link()),
            sleep=sleep or (lambda s: None),
            **extra,
            **kwargs,
        )


def until_done(sandbox, runs: int = 10, **kwargs):
    """Run again (each time an hour later) until nothing is left to book."""
    results = []
    for i in range(runs):
        later = utcnow() + timedelta(hours=i + 1)
        result = run(sandbox, clock=lambda later=later: later, **kwargs)
        results.append(result)
        if result.status == RunStatus.FINISHED and not result.booked and not result.waiting:
            break
    return results


def booked_count() -> int:
    return db.session.execute(
        db.select(db.func.count()).select_from(OrderRecord).filter_by(state=OrderState.BOOKED)
    ).scalar()


def test_a_minute_of_429s_during_a_backfill_of_500_orders(ready, sandbox):
    add_orders(sandbox, N_ORDERS)
    waits: list[float] = []
    # e-Boekhouden answers 429 for a minute (Retry-After adds up to 60 s), then a real
    # sliding-window rate limit keeps pushing back for the rest of the backfill.
    sandbox.control(
        "eboekhouden",
        "POST",
        "faults",
        json={
            "path": "/v1/*",
            "status": 429,
            "retry_after": 20,
            "times": 3,
        },
    )
    sandbox.control("eboekhouden", "POST", "rate-limit", json={"limit": 400, "window": 1.0})
    result = run(
        sandbox,
        kind="backfill",
        since=(utcnow() - timedelta(days=61)).date(),
        sleep=lambda s: (waits.append(s), time.sleep(min(s, 0.05))),
    )
    assert result.status == RunStatus.FINISHED, result.message
    assert sum(waits) >= 60
    assert_exactly_once(sandbox, booked_count())
    assert booked_count() == result.booked > N_ORDERS * 0.6


def test_500s_and_timeouts_on_writes_book_each_order_once(ready, sandbox):
    add_orders(sandbox, 200, seed=11)
    sandbox.control(
        "eboekhouden",
        "POST",
        "faults",
        json=[
            {
                "path": "/v1/mutation",
                "method": "POST",
                "status": 500,
                "times": 5,
                "after_write": True,
            },
            {
                "path": "/v1/relation",
                "method": "POST",
                "status": 500,
                "times": 3,
                "after_write": True,
            },
            {
                "path": "/v1/mutation",
                "method": "POST",
                "status": 0,
                "delay": 0.6,
                "times": 3,
                "after_write": True,
            },
            {"path": "/v1/mutation", "method": "POST", "status": 503, "times": 2},
        ],
    )
    results = until_done(sandbox, timeout=0.4)
    assert results[-1].status == RunStatus.FINISHED
    booked = booked_count()
    assert booked == sum(r.booked for r in results)
    assert_exactly_once(sandbox, booked)
    relations = [r for r in _eb_state(sandbox)["relations"] if r.get("emailAddress")]
    emails = [r["emailAddress"] for r in relations]
    assert len(emails) == len(set(emails)), "a relation was made twice"


def _eb_state(sandbox):
    return sandbox.control("eboekhouden", "GET", "state").json()


def test_api_down_mid_run_then_back(ready, tmp_path):
    """Connection refused halfway through a run; the next run, with the API back, books the rest."""
    app_wsgi = create_sandbox()
    server = make_server("127.0.0.1", 0, app_wsgi, threaded=True, request_handler=QuietHandler)
    port = server.server_port
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    own = Sandbox("127.0.0.1", port)
    configure_urls(own)

    pp, eb = clients(own)
    stopped = []

    class StopAfter:
        def __getattr__(self, name):
            return getattr(pp, name)

        def iter_orders(self, **kwargs):
            for i, order in enumerate(pp.iter_orders(**kwargs)):
                if i == 15 and not stopped:
                    # e-Boekhouden goes away (the Plug&Pay stream was already read).
                    server.shutdown()
                    server.server_close()
                    stopped.append(True)
                yield order

    orders = list(pp.iter_orders())
    with eb:
        down = run_once(StopAfter(), eb, store(), shopsettings.load(the_link()))
    assert down.status == RunStatus.ABORTED
    assert "could not be reached" in down.message
    assert 0 < down.booked < 15 + 1
    # Refused connections are certain: no order is left with an unconfirmed write.
    states = db.session.execute(db.select(OrderRecord.state)).scalars().all()
    assert OrderState.BOOKING not in states

    # The same sandbox (same data) comes back on the same port.
    server = make_server("127.0.0.1", port, app_wsgi, threaded=True, request_handler=QuietHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        later = utcnow() + timedelta(hours=1)
        pp, eb = clients(own)
        with eb:
            back = run_once(pp, eb, store(), shopsettings.load(the_link()), clock=lambda: later)
        assert back.status == RunStatus.FINISHED, back.message
        assert_exactly_once(own, booked_count())
        assert booked_count() == down.booked + back.booked
        assert len(orders) > booked_count() > 40
    finally:
        server.shutdown()


def configure_urls(sandbox) -> None:
    """Point the stored connections at another sandbox server."""
    from pp2eb.models import Credential

    for credential in db.session.execute(db.select(Credential)).scalars():
        credential.base_url = sandbox.urls[credential.service]
    db.session.commit()


def test_new_orders_arriving_while_a_run_pages_are_all_booked(ready, sandbox):
    add_orders(sandbox, 250, seed=5)
    pp, eb = clients(sandbox)
    template = pp.get_order(1)
    added = []

    class AddWhilePaging:
        def __getattr__(self, name):
            return getattr(pp, name)

        def iter_orders(self, **kwargs):
            for i, order in enumerate(pp.iter_orders(**kwargs)):
                if i in (10, 120):
                    new_id = 100_000 + i
                    today = dutchtime.today().isoformat()
                    new = {
                        **template,
                        "id": new_id,
                        "invoice_number": f"2026-{new_id}",
                        "invoice_date": today,
                    }
                    sandbox.control("plugandpay", "POST", "orders", json=[new])
                    added.append(new_id)
                yield order

    with eb:
        result = run_once(AddWhilePaging(), eb, store(), shopsettings.load(the_link()))
    assert result.status == RunStatus.FINISHED
    numbers = booked_numbers(sandbox)
    assert all(f"2026-{i}" in numbers for i in added), added
    assert_exactly_once(sandbox, booked_count())


def hold_the_write_lock(locked: threading.Event, seconds: float) -> None:
    """Another writer: SQLite's database lock, or on PostgreSQL a lock on the order records
    that lets readers in but no writer, for ``seconds``."""
    if db.engine.dialect.name == "sqlite":
        conn = sqlite3.connect(db.engine.url.database, timeout=30)
        conn.execute("BEGIN IMMEDIATE")
    else:
        conn = db.engine.raw_connection()
        conn.cursor().execute("LOCK TABLE order_record IN SHARE ROW EXCLUSIVE MODE")
    locked.set()
    time.sleep(seconds)
    conn.rollback()
    conn.close()


def test_a_locked_database_makes_the_run_wait_not_crash(ready, sandbox):
    locked = threading.Event()

    def hold_lock():
        with ready.app_context():
            hold_the_write_lock(locked, 2.0)

    holder = threading.Thread(target=hold_lock)
    holder.start()
    locked.wait(5)
    started = time.monotonic()
    result = run(sandbox)
    holder.join()
    assert time.monotonic() - started >= 1.5  # it waited for the other writer
    assert result.status == RunStatus.FINISHED
    assert_exactly_once(sandbox, booked_count())


def refuse_sqlite(trouble: str):
    """From the next connection on, SQLite refuses every write: its file cannot grow (disk
    full), or it is read-only."""

    def refuse(dbapi_connection, _record):
        if trouble == "disk full":
            pages = dbapi_connection.execute("PRAGMA page_count").fetchone()[0]
            dbapi_connection.execute(f"PRAGMA max_page_count={pages}")
        else:
            dbapi_connection.execute("PRAGMA query_only=ON")

    event.listen(db.engine, "connect", refuse)
    return lambda: event.remove(db.engine, "connect", refuse)


# PostgreSQL's own error for a full disk (SQLSTATE 53100), raised on every write to a table.
DISK_FULL = """
CREATE FUNCTION disk_full() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'could not extend file: No space left on device'
    USING ERRCODE = 'disk_full'; END $$;
"""


def refuse_postgresql(trouble: str):
    """From the next connection on, PostgreSQL refuses every write: the disk is full (a
    trigger on each table raises its error), or the sessions are read-only."""
    if trouble == "read-only":

        def read_only(dbapi_connection, _record):
            with dbapi_connection.cursor() as cursor:
                cursor.execute("SET default_transaction_read_only = on")
            dbapi_connection.commit()

        event.listen(db.engine, "connect", read_only)
        return lambda: event.remove(db.engine, "connect", read_only)
    tables = [f'"{table.name}"' for table in db.metadata.sorted_tables]
    with db.engine.begin() as conn:
        conn.exec_driver_sql(DISK_FULL)
        for table in tables:
            conn.exec_driver_sql(
                f"CREATE TRIGGER disk_full BEFORE INSERT OR UPDATE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION disk_full()"
            )

    def room_again():
        with db.engine.begin() as conn:
            conn.exec_driver_sql("DROP FUNCTION disk_full() CASCADE")  # and its triggers

    return room_again


@pytest.mark.parametrize("trouble", ["disk full", "read-only"])
def test_disk_full_or_read_only_stops_the_run_cleanly(ready, sandbox, trouble):
    # Let a few orders through, then the database refuses every write.
    run(sandbox, order_ids=[1, 2, 3])
    db.session.remove()
    db.engine.dispose()
    postgresql = db.engine.dialect.name == "postgresql"
    undo = refuse_postgresql(trouble) if postgresql else refuse_sqlite(trouble)
    try:
        result = run(sandbox)
    finally:
        db.session.remove()
        db.engine.dispose()
        undo()
        db.engine.dispose()
    assert result.status == RunStatus.ABORTED
    assert "database could not be written" in result.message
    # Nothing half-written: every booking in e-Boekhouden has a record that says booked, or an
    # intent that the next run looks up before it writes.
    result = run(sandbox, clock=lambda: utcnow() + timedelta(hours=1))
    assert result.status == RunStatus.FINISHED
    assert_exactly_once(sandbox, booked_count())


@pytest.mark.dates
def test_an_unusable_order_in_the_window_never_stops_the_sync(app, sandbox):
    """Tried again every run (it stays in the look-back window): the 41st try is no different."""
    today = dutchtime.today().isoformat()  # the window follows the clock, so the order does too
    configure(app, start_date=today)
    pp, _ = clients(sandbox)
    bad = {
        **pp.get_order(1),
        "id": 9001,
        "invoice_number": "2026-09001",
        "invoice_date": today,
        "amount": "abc",
    }
    sandbox.control("plugandpay", "POST", "orders", json=bad, params={"contract": "off"})
    with app.app_context():
        for n in range(45):
            result = run(sandbox)
            assert result.status == RunStatus.FINISHED, (n, result.message)
        rec = db.session.execute(db.select(OrderRecord).filter_by(order_id=9001)).scalar_one()
        assert rec.state == OrderState.FAILED and rec.attempts == 45
        assert rec.next_attempt_at - utcnow() <= timedelta(hours=6, minutes=1)
