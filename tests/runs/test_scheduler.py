"""The schedule: started once, never under TESTING, syncing when the interval is up."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from pp2eb.extensions import db
from pp2eb.models import SyncRun, utcnow
from pp2eb.runs import scheduler
from pp2eb.setup import appstate
from pp2eb.states import RunStatus
from tests.engine_helpers import configure, the_link


def test_not_started_under_testing(app):
    assert scheduler.start(app) is None
    assert "pp2eb_scheduler" not in app.extensions


def test_importing_the_app_starts_no_scheduler(tmp_path, monkeypatch):
    import importlib
    import sys

    monkeypatch.setenv("PP2EB_INSTANCE_PATH", str(tmp_path))
    sys.modules.pop("app", None)
    module = importlib.import_module("app")
    assert "pp2eb_scheduler" not in module.app.extensions


def test_started_once_with_one_coalescing_job(app):
    app.config["TESTING"] = False
    sched = scheduler.start(app)
    try:
        jobs = sched.get_jobs()
        assert [job.id for job in jobs] == [scheduler.JOB_ID]
        assert jobs[0].max_instances == 1 and jobs[0].coalesce is True
        assert app.extensions["pp2eb_scheduler"] is sched
    finally:
        sched.shutdown(wait=False)


def test_tick_before_setup_does_nothing(app):
    assert scheduler.tick(app) == "not due"
    with app.app_context():
        assert db.session.execute(db.select(SyncRun)).first() is None


@pytest.mark.dates
def test_tick_syncs_when_due_and_waits_for_the_interval(app, sandbox):
    configure(app, sync_interval_minutes=30)
    assert scheduler.tick(app) == RunStatus.FINISHED
    assert scheduler.tick(app) == "not due"
    with app.app_context():
        run = db.session.execute(db.select(SyncRun)).scalar_one()
        next_run = scheduler.next_run_at(the_link())
        assert next_run == run.started_at + timedelta(minutes=30)
        # Half an hour later it is due again.
        assert scheduler.next_run_at(
            the_link(), utcnow() + timedelta(hours=1)
        ) <= utcnow() + timedelta(hours=1)


def test_paused_schedule_does_not_sync(app, sandbox):
    configure(app)
    with app.app_context():
        appstate.put(the_link(), appstate.SCHEDULE_PAUSED, True)
        assert scheduler.next_run_at(the_link()) is None
    assert scheduler.tick(app) == "not due"


def test_a_web_process_with_the_scheduler_off_starts_none(app):
    app.config.update(TESTING=False, SCHEDULER=False)
    assert scheduler.start(app) is None
    assert "pp2eb_scheduler" not in app.extensions


def test_the_scheduler_alone_ticks_until_stopped_and_outlives_a_failed_tick(app, monkeypatch):
    stop, ticks = threading.Event(), []

    def tick(given):
        assert given is app
        ticks.append(len(ticks))
        if len(ticks) == 1:
            raise RuntimeError("the database went away for a moment")
        if len(ticks) == 3:
            stop.set()
        return "not due"

    monkeypatch.setattr(scheduler, "tick", tick)
    scheduler.run_until(app, stop, every=0)
    assert ticks == [0, 1, 2]


def test_flask_scheduler_runs_the_schedule_and_stops_on_ctrl_c(app, monkeypatch):
    seen = []

    def run_until(given, stop, every=scheduler.TICK_SECONDS):
        seen.append((given, every, stop.is_set()))
        raise KeyboardInterrupt

    monkeypatch.setattr(scheduler, "run_until", run_until)
    result = app.test_cli_runner().invoke(args=["scheduler"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "pp2eb scheduler: every 60 s, the links that are due run.",
        "pp2eb scheduler stopped.",
    ]
    assert seen == [(app, scheduler.TICK_SECONDS, False)]


def test_the_tick_works_out_a_share_of_the_older_records_oss_sales(app, monkeypatch):
    from pp2eb.models import OrderRecord
    from pp2eb.reports import oss_watch
    from tests.reports.test_oss_watch import order_data, stored

    countries = enumerate(("DE", "NL", "FR"), start=1)
    stored(app, *(order_data("100.00", c, when="2026-02-01", order_id=n) for n, c in countries))
    monkeypatch.setattr(scheduler, "OSS_SALES_PER_TICK", 2)
    scheduler.tick(app)

    def kept():
        with app.app_context():
            rows = db.session.execute(db.select(OrderRecord.eu_sale_country)).scalars()
            return sorted(rows, key=str)

    assert kept().count(None) == 1  # two of three this minute
    scheduler.tick(app)
    assert kept() == ["", "DE", "FR"]
    monkeypatch.setattr(oss_watch, "parse_order", lambda raw: pytest.fail("parsed again"))
    with app.app_context():
        assert oss_watch.current(the_link()).per_country == {"DE": 100, "FR": 100}
    # The next tick finds none left; from then on the tick does not look any more.
    looks = []
    work_out = oss_watch.work_out_pending
    monkeypatch.setattr(oss_watch, "work_out_pending", lambda n: looks.append(n) or work_out(n))
    scheduler.tick(app)
    scheduler.tick(app)
    assert looks == [2]
