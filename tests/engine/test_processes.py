"""Several processes on one PostgreSQL database, every order once (issue #16, part 6).

Three ``flask sync --all`` over 50 links, each link its own Plug&Pay tenant and e-Boekhouden
administration in a sandbox server of its own; one of the three is killed (``kill -9``) while it
runs a link and has booked some of its orders. The survivors go on; a last pass takes the killed
process's link over at once (its lease row has not expired: the advisory lock died with the
process). Then every administration holds each of its shop's invoices exactly once.
"""

from __future__ import annotations

import subprocess
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
import requests
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from pp2eb.apis.plugandpay import PlugAndPayClient
from pp2eb.extensions import db
from pp2eb.models import Lease, Link, OrderRecord, SyncRun
from pp2eb.sandbox import numbered_key, numbered_token
from pp2eb.setup import connections, links, shopsettings
from pp2eb.states import OrderState, RunStatus
from tests.clock import DEMO_TODAY, START_DATE
from tests.engine_helpers import SETTINGS, lock_holders, the_link
from tests.processes import flask, pinned

pytestmark = pytest.mark.postgres

LINKS = 50
ORDERS = 8  # per link
PROCESSES = 3
# Each API call waits this long, so that a link's run lasts long enough for the kill to land in it.
LATENCY_MS = 10
# The generated mix has orders pp2eb refuses on purpose (Dutch VAT charged to a consumer abroad
# under OSS) or skips; the first ones of this seed are all to be booked (as in the benchmark),
# and every tenant gets them (the same invoice numbers, in administrations that are apart).
SEED = 7
BUSY = "Another run is in progress"


@pytest.fixture
def sandbox_root(tmp_path):
    """Both sandboxes in a server process of their own (``bench.sandbox_server``)."""
    log = (tmp_path / "sandbox.log").open("w")
    server = pinned(
        "bench.sandbox_server",
        "--port",
        "0",
        "--latency-ms",
        str(LATENCY_MS),
        stdout=subprocess.PIPE,
        stderr=log,
    )
    try:
        ready = server.stdout.readline()
        assert ready.startswith("ready "), f"the sandbox did not start; see {log.name}"
        yield f"http://127.0.0.1:{int(ready.split()[1])}"
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()


def control(root: str, api: str, method: str, path: str, tenant: str, **kwargs):
    resp = requests.request(
        method, f"{root}/{api}/_sandbox/{path}", params={"tenant": tenant}, timeout=30, **kwargs
    )
    resp.raise_for_status()
    return resp.json()


def booked(root: str, n: int) -> Counter:
    """How often each invoice number was booked in administration ``n``."""
    state = control(root, "eboekhouden", "GET", "state", numbered_token(n))
    return Counter(m["invoiceNumber"] for m in state["mutations"] if m["type"] == 2)


@pytest.fixture
def fifty(app, sandbox_root):
    """Link ``n`` (1 to 50, called "Shop n") books Plug&Pay tenant ``n`` into administration
    ``n``; each tenant has ``ORDERS`` orders. Returns the link ids by ``n``."""
    start, end = START_DATE + timedelta(days=1), DEMO_TODAY - timedelta(days=1)
    ids = {}
    with app.app_context():
        first = the_link()
        first.name = "Shop 1"
        db.session.commit()
        for n in range(1, LINKS + 1):
            link = first if n == 1 else links.add(f"Shop {n}")
            pp_url, eb_url = f"{sandbox_root}/plugandpay/v2", f"{sandbox_root}/eboekhouden/v1"
            connections.connect(link, "plugandpay", numbered_key(n), pp_url)
            connections.connect(link, "eboekhouden", numbered_token(n), eb_url)
            shopsettings.save_draft(link, SETTINGS)
            ids[n] = link.id
            body = {"n": ORDERS, "seed": SEED, "start": start.isoformat(), "end": end.isoformat()}
            control(sandbox_root, "plugandpay", "POST", "generate", numbered_key(n), json=body)
    return ids


def held_by(database: sa.Engine, pid: int) -> list[int]:
    """The links whose leases process ``pid`` holds (its holder is ``host:pid:random``): up to
    ``PP2EB_MAX_PARALLEL_LINKS`` of them, run in parallel."""
    with database.connect() as conn:
        return list(
            conn.execute(sa.select(Lease.link_id).where(Lease.holder.like(f"%:{pid}:%"))).scalars()
        )


def kill_mid_link(database: sa.Engine, root: str, victim: subprocess.Popen, ids: dict) -> list:
    """Wait until ``victim`` runs a link of which some but not all orders are booked, then
    ``kill -9`` it; the ``n`` of every link it held then."""
    by_id = {link_id: n for n, link_id in ids.items()}
    deadline = time.monotonic() + 60
    while victim.poll() is None and time.monotonic() < deadline:
        held = held_by(database, victim.pid)
        partly = [i for i in held if 0 < sum(booked(root, by_id[i]).values()) < ORDERS]
        if partly:
            assert set(partly) <= set(lock_holders(database))  # the runs hold the links' locks
            victim.kill()
            victim.wait(timeout=10)
            held = held_by(database, victim.pid)  # what it had taken by the moment it died
            # The server saw the connection drop and let the locks go.
            while set(held) & set(lock_holders(database)) and time.monotonic() < deadline:
                time.sleep(0.01)
            assert not set(held) & set(lock_holders(database))
            return sorted(by_id[i] for i in held)
        time.sleep(0.01)
    raise AssertionError(f"the kill landed in no link's run: {victim.communicate()[0]}")


def last_runs(database: sa.Engine) -> dict[int, str]:
    """The status of each link's last sync run, by link id."""
    with database.connect() as conn:
        rows = conn.execute(
            sa.select(SyncRun.link_id, SyncRun.status)
            .where(SyncRun.kind == "sync")
            .order_by(SyncRun.id)
        ).all()
    return dict(rows)


def the_kill_and_the_last_pass(app, database, root, processes, ids) -> None:
    """Kill the first process mid-link, let the others end, then sync the killed links again
    (those processes join ``processes``)."""
    victim, survivors = processes[0], processes[1:]
    killed = kill_mid_link(database, root, victim, ids)
    outputs = [p.communicate(timeout=120)[0] for p in survivors]
    for survivor, output in zip(survivors, outputs, strict=True):
        assert survivor.returncode == 0, output
    unfinished = [link_id for link_id, s in last_runs(database).items() if s != "finished"]
    # Only killed runs are left unfinished (unless a survivor that found a link due just before
    # the kill took it over after it).
    assert set(unfinished) <= {ids[n] for n in killed}, outputs
    with app.app_context():
        for link_id in unfinished:
            # The killed process still names itself in the lease row, which has not expired.
            row = db.session.get(Lease, {"link_id": link_id, "name": "sync"})
            assert f":{victim.pid}:" in row.holder
            assert row.expires_at > datetime.now(UTC).replace(tzinfo=None)

    # The last pass: the killed process's links are taken over at once.
    for n in killed:
        last = flask(app, "sync", "--link", f"Shop {n}")
        processes.append(last)
        output = last.communicate(timeout=60)[0]
        assert last.returncode == 0 and BUSY not in output, output
    runs = last_runs(database)
    assert len(runs) == LINKS and set(runs.values()) == {RunStatus.FINISHED}


def test_three_processes_over_fifty_links_one_killed_book_every_order_once(
    app, fifty, sandbox_root
):
    database = sa.create_engine(app.config["SQLALCHEMY_DATABASE_URI"], poolclass=NullPool)
    processes = [flask(app, "sync", "--all") for _ in range(PROCESSES)]
    try:
        the_kill_and_the_last_pass(app, database, sandbox_root, processes, fifty)
    finally:
        for process in processes:
            if process.poll() is None:  # the test failed: nothing is left running
                process.kill()
                process.communicate()
        database.dispose()

    with app.app_context():
        records = db.session.execute(
            sa.select(Link.name, OrderRecord.state, OrderRecord.invoice_number).join(Link)
        ).all()
    for n in range(1, LINKS + 1):
        numbers = booked(sandbox_root, n)
        assert not {k: c for k, c in numbers.items() if c > 1}, f"Shop {n} booked twice"
        pp = PlugAndPayClient(numbered_key(n), f"{sandbox_root}/plugandpay/v2", timeout=30)
        invoices = {order["invoice_number"] for order in pp.iter_orders()}
        assert len(invoices) == ORDERS
        mine = {(state, number) for name, state, number in records if name == f"Shop {n}"}
        assert mine == {(OrderState.BOOKED, number) for number in invoices}, f"Shop {n}"
        assert set(numbers) == invoices, f"Shop {n}"
