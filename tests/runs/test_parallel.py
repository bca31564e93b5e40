"""Links side by side: one tick (and ``flask sync --all``) syncs the due links in parallel, at
most ``PP2EB_MAX_PARALLEL_LINKS`` at once, and one link's 429, dead key or crash stays its own."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from pp2eb import create_app
from pp2eb.engine.runstate import RunResult
from pp2eb.extensions import db
from pp2eb.models import Link
from pp2eb.runs import jobs, scheduler
from pp2eb.sandbox import numbered_key, numbered_token
from pp2eb.setup import connections, links, shopsettings
from pp2eb.states import RunStatus
from tests.clock import DEMO_TODAY, START_DATE
from tests.engine_helpers import SETTINGS, configure, the_link

# Numbered sandbox tenants of this file's own (the sandbox server lives for the whole session).
FINE, LIMITED, DEAD = 931, 932, 933
ORDERS = 30
TIMEOUT = 30.0  # only so that a broken test fails instead of hanging; nothing is timed


def add_links(app, count: int) -> list[int]:
    """The install's link plus ``count - 1`` more, each set up on the demo sandbox accounts."""
    with app.app_context():
        ids = [the_link().id] + [links.add(f"Shop {n}").id for n in range(2, count + 1)]
    for link_id in ids:
        configure(app, link_id)
    return ids


class InFlight:
    """A stand-in for ``jobs.run`` that counts the runs going at once."""

    def __init__(self, meet: int) -> None:
        self.lock = threading.Lock()
        self.now = self.most = 0
        self.ran: Counter[str] = Counter()
        # Runs meet in groups of ``meet``: a run returns only when ``meet`` runs are going.
        self.barrier = threading.Barrier(meet, timeout=TIMEOUT)

    def __call__(self, kind: str, *, link: Link, **kwargs) -> RunResult:
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)
            self.ran[link.name] += 1
        try:
            self.barrier.wait()
        finally:
            with self.lock:
                self.now -= 1
        return RunResult(status=RunStatus.FINISHED)


def test_six_due_links_run_two_at_a_time(app, sandbox, monkeypatch):
    add_links(app, 6)
    app.config["MAX_PARALLEL_LINKS"] = 2
    fake = InFlight(meet=2)
    monkeypatch.setattr(jobs, "run", fake)
    done = scheduler.sync_due_links(app)
    assert [outcome.status for _, outcome in done] == [RunStatus.FINISHED] * 6
    with app.app_context():
        names = [link.name for link in links.live()]
    assert [name for name, _ in done] == names  # reported in the links' order
    assert fake.ran == Counter({name: 1 for name in names})
    # Two met at the barrier each time (so two did run at once), never a third.
    assert fake.most == 2


def test_with_one_at_a_time_the_links_never_overlap(app, sandbox, monkeypatch):
    add_links(app, 3)
    app.config["MAX_PARALLEL_LINKS"] = 1
    fake = InFlight(meet=1)
    monkeypatch.setattr(jobs, "run", fake)
    assert scheduler.tick(app) == "; ".join(f"{name}: {RunStatus.FINISHED}" for name in fake.ran)
    assert fake.most == 1 and sum(fake.ran.values()) == 3


def test_a_link_that_crashes_is_reported_alone_and_the_others_go_on(
    app, sandbox, monkeypatch, runner, caplog
):
    add_links(app, 3)
    real_run = jobs.run

    def run(kind, *, link, **kwargs):
        if link.name == "Shop 2":
            raise RuntimeError("a bug in one link")
        return real_run(kind, link=link, **kwargs)

    monkeypatch.setattr(jobs, "run", run)
    result = runner.invoke(args=["sync", "--all"])
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if not line.startswith("  ")]
    assert lines[1] == (
        "Shop 2: the sync stopped on an unexpected error (RuntimeError); the log has the details."
    )
    assert ": booked " in lines[0] and ": booked " in lines[2]
    assert "Traceback" not in result.output
    assert "a bug in one link" in caplog.text  # the log has the details
    # The next tick tries the crashed link again; the others are not due yet.
    monkeypatch.setattr(jobs, "run", real_run)
    done = dict(scheduler.sync_due_links(app))
    assert done["Shop 2"].status == RunStatus.FINISHED
    assert {done[name].status for name in done if name != "Shop 2"} == {scheduler.NOT_DUE}


def tenant(sandbox, api: str, method: str, path: str, name: str, **kwargs):
    return sandbox.control(api, method, f"{path}?tenant={name}", **kwargs)


@pytest.fixture
def three_tenants(app, sandbox):
    """Three links, each on its own numbered sandbox tenants with ``ORDERS`` orders: "Fine",
    "Limited" (its e-Boekhouden answers every call with a 429) and "Dead" (its e-Boekhouden
    token is refused: 401)."""
    names = {FINE: "Fine", LIMITED: "Limited", DEAD: "Dead"}
    body = {
        "n": ORDERS,
        "seed": 3,
        "start": START_DATE.isoformat(),
        "end": DEMO_TODAY.isoformat(),
    }
    with app.app_context():
        link = the_link()
        link.name = "Limited"  # first: one at a time, it would keep Fine waiting
        db.session.commit()
        ids = {LIMITED: link.id, FINE: links.add("Fine").id, DEAD: links.add("Dead").id}
        for n, link_id in ids.items():
            tenant(sandbox, "plugandpay", "POST", "generate", numbered_key(n), json=body)
            link = db.session.get(Link, link_id)
            connections.connect(link, "plugandpay", numbered_key(n))
            connections.connect(link, "eboekhouden", numbered_token(n))
            shopsettings.save_draft(link, SETTINGS)
            assert link.name == names[n]
    fault = {"path": "*", "method": "*", "times": None}
    tenant(
        sandbox,
        "eboekhouden",
        "POST",
        "faults",
        numbered_token(LIMITED),
        json={**fault, "status": 429, "retry_after": 30},
    )
    tenant(
        sandbox,
        "eboekhouden",
        "POST",
        "faults",
        numbered_token(DEAD),
        json={**fault, "status": 401},
    )
    for n in names:
        for api in ("plugandpay", "eboekhouden"):
            key = numbered_key(n) if api == "plugandpay" else numbered_token(n)
            tenant(sandbox, api, "DELETE", "stats", key)
    yield
    for n in names:
        tenant(sandbox, "plugandpay", "POST", "reset", numbered_key(n))
        tenant(sandbox, "eboekhouden", "POST", "reset", numbered_token(n))


def test_a_rate_limited_and_a_refused_link_never_slow_the_other(
    app, sandbox, three_tenants, monkeypatch
):
    app.config["MAX_PARALLEL_LINKS"] = 3
    running = threading.local()
    fine_done = threading.Event()
    waits: list[tuple[str, float, bool]] = []
    real_run = jobs.run

    def run(kind, *, link, **kwargs):
        running.link = link.name
        try:
            return real_run(kind, link=link, **kwargs)
        finally:
            if link.name == "Fine":
                fine_done.set()

    def sleep(seconds: float) -> None:
        # The rate-limited link's first wait lasts until Fine has booked everything: were the
        # links one queue, or their waits shared, Fine could not finish meanwhile.
        first = not any(name == running.link for name, _, _ in waits)
        finished = fine_done.wait(TIMEOUT) if first else fine_done.is_set()
        waits.append((running.link, seconds, finished))

    monkeypatch.setattr(jobs, "run", run)
    monkeypatch.setattr(jobs, "sleep", sleep)
    done = dict(scheduler.sync_due_links(app))

    fine = done["Fine"].result
    assert fine.status == RunStatus.FINISHED
    assert fine.booked > 0 and fine.booked + fine.skipped + fine.failed == ORDERS
    state = tenant(sandbox, "eboekhouden", "GET", "state", numbered_token(FINE)).json()
    numbers = Counter(m["invoiceNumber"] for m in state["mutations"] if m["type"] == 2)
    assert len(numbers) == fine.booked and set(numbers.values()) == {1}
    # Fine never waited; Limited waited (Fine was done by the end of its first wait); Dead
    # was refused without waiting.
    assert {name for name, _, _ in waits} == {"Limited"}
    assert all(finished for _, _, finished in waits)
    assert 30 in {seconds for _, seconds, _ in waits}
    limited, dead = done["Limited"].result, done["Dead"].result
    assert limited.status == RunStatus.ABORTED and limited.booked == 0
    assert dead.status == RunStatus.ABORTED and dead.refused == "eboekhouden"
    for n in (LIMITED, DEAD):
        state = tenant(sandbox, "eboekhouden", "GET", "state", numbered_token(n)).json()
        assert state["mutations"] == []
    # Each link called only its own tenants: Fine's calls are all 2xx and its own.
    stats = tenant(sandbox, "eboekhouden", "GET", "stats", numbered_token(FINE)).json()
    assert stats.get("POST /v1/mutation", 0) >= fine.booked


@pytest.mark.parametrize("value", [0, -1, "four", 2.5, True, None])
def test_max_parallel_links_must_be_a_whole_number_of_at_least_one(tmp_path, value):
    with pytest.raises(scheduler.ConfigError) as raised:
        create_app(
            {
                "TESTING": True,
                "SECRET_KEY": "k",
                "ENCRYPTION_KEY": Fernet.generate_key().decode(),
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.sqlite'}",
                "MAX_PARALLEL_LINKS": value,
            }
        )
    assert str(raised.value) == (
        f"PP2EB_MAX_PARALLEL_LINKS must be a whole number of at least 1, not {value!r}."
    )


def test_max_parallel_links_comes_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("PP2EB_INSTANCE_PATH", str(tmp_path))
    assert scheduler.max_parallel_links(create_app().config) == scheduler.MAX_PARALLEL_LINKS
    monkeypatch.setenv("PP2EB_MAX_PARALLEL_LINKS", "12")
    assert scheduler.max_parallel_links(create_app().config) == 12
    assert scheduler.max_parallel_links({"MAX_PARALLEL_LINKS": "3"}) == 3


def test_a_bad_max_parallel_links_stops_the_commands_with_one_line(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PP2EB_")}
    env.update(PP2EB_INSTANCE_PATH=str(tmp_path), PP2EB_MAX_PARALLEL_LINKS="0")
    done = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", "sync", "--all"],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.strip().splitlines() == [
        "PP2EB_MAX_PARALLEL_LINKS must be a whole number of at least 1, not 0."
    ]


def test_postgresqls_pool_has_a_connection_for_every_parallel_link(tmp_path, monkeypatch):
    monkeypatch.setenv("PP2EB_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("PP2EB_DATABASE_URL", "postgresql+psycopg://pp2eb@db.internal/books")
    assert create_app().config["SQLALCHEMY_ENGINE_OPTIONS"]["pool_size"] == 6  # 4 + 2
    monkeypatch.setenv("PP2EB_MAX_PARALLEL_LINKS", "20")
    app = create_app()
    assert app.config["MAX_PARALLEL_LINKS"] == 20
    assert app.config["SQLALCHEMY_ENGINE_OPTIONS"]["pool_size"] == 22
    with app.app_context():
        assert db.engine.pool.size() == 22  # made, not connected
