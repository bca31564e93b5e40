"""The schedule: one APScheduler job that ticks every minute and syncs each link whose interval
is up, and books the orders Plug&Pay's webhooks queued (``pp2eb/webhooks``) every minute.

Started in exactly one place (``python app.py``), never at import and never under TESTING. A tick
that finds another run going does nothing (the engine's lease), so a second process, the
scheduler and ``flask sync`` never book an order twice. Pausing and the interval live in the
database, so the dashboard changes them without touching the job. The same tick sends the daily
alert summary (``pp2eb.alerts.dispatch``) once a day after its hour.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask

from pp2eb.alerts import dispatch as alerting
from pp2eb.extensions import db
from pp2eb.models import Link, SyncRun, utcnow
from pp2eb.runs import jobs
from pp2eb.runs import webhooks as webhook_runs
from pp2eb.setup import appstate, links

logger = logging.getLogger(__name__)

TICK_SECONDS = 60
JOB_ID = "pp2eb-sync"


def next_run_at(link: Link, now: datetime | None = None) -> datetime | None:
    """When the schedule syncs ``link`` next (UTC), or None when paused or not set up."""
    if appstate.get(link, appstate.SCHEDULE_PAUSED, False):
        return None
    try:
        interval = timedelta(minutes=jobs.load_settings(link).sync_interval_minutes)
    except jobs.NotReady:
        return None
    last = db.session.execute(
        db.select(SyncRun.started_at)
        .where(SyncRun.link_id == link.id, SyncRun.kind == "sync")
        .order_by(SyncRun.started_at.desc())
        .limit(1)
    ).scalar_one_or_none()
    return next_run_after(last, interval, now or utcnow())


def next_run_after(last_sync: datetime | None, interval: timedelta, now: datetime) -> datetime:
    """When a link that is set up and not paused syncs next: an interval after its last sync
    started, or now when that is past or it never synced."""
    return now if last_sync is None else max(last_sync + interval, now)


def is_due(link: Link, now: datetime | None = None) -> bool:
    """Whether the schedule syncs ``link`` now (``flask sync --all`` asks the same)."""
    now = now or utcnow()
    due = next_run_at(link, now)
    return due is not None and due <= now


def tick(app: Flask) -> str:
    """Send the daily summary when due, sync each link when it is time, then book what webhooks
    queued; returns what the sync did (with more than one link: per link, by name)."""
    try:
        return _sync_when_due(app)
    finally:
        # Every minute, due or not: webhooks that found the lease taken wait in the queue.
        webhook_runs.drainer(app).drain()


def _sync_when_due(app: Flask) -> str:
    with app.app_context():
        done = []
        for link in links.live():
            alerting.daily_summary(link)
            done.append((link.name, _sync_link_when_due(link)))
        if len(done) == 1:
            return done[0][1]
        return "; ".join(f"{name}: {outcome}" for name, outcome in done)


def _sync_link_when_due(link: Link) -> str:
    if not is_due(link):
        return "not due"
    try:
        result = jobs.run("sync", link=link)
    except jobs.NotReady as exc:
        logger.info("scheduled sync of %s not started: %s", link.name, exc)
        return "not ready"
    logger.info(
        "scheduled sync of %s %s: booked %s, failed %s",
        link.name,
        result.status,
        result.booked,
        result.failed,
    )
    return result.status


def run_until(app: Flask, stop: threading.Event, every: float = TICK_SECONDS) -> None:
    """Tick now and then every ``every`` seconds in this thread until ``stop`` is set: the
    schedule without the web pages (``flask scheduler``). A tick that fails is logged; the next
    one comes as usual."""
    while not stop.is_set():
        try:
            tick(app)
        except Exception:
            logger.exception("the scheduler's tick failed; the next one follows")
        stop.wait(every)


def start(app: Flask) -> BackgroundScheduler | None:
    """Start the one scheduler of this process (not under TESTING, nor with ``SCHEDULER`` off:
    ``PP2EB_SCHEDULER=false`` for web processes beside a ``flask scheduler``)."""
    if app.config.get("TESTING"):
        return None
    if not app.config.get("SCHEDULER", True):
        logger.info("scheduler off in this process (SCHEDULER is false)")
        return None
    scheduler = BackgroundScheduler(daemon=True, timezone="UTC")
    scheduler.add_job(
        tick,
        "interval",
        seconds=TICK_SECONDS,
        args=[app],
        id=JOB_ID,
        max_instances=1,
        coalesce=True,
        next_run_time=utcnow() + timedelta(seconds=5),
    )
    scheduler.start()
    app.extensions["pp2eb_scheduler"] = scheduler
    logger.info("scheduler started: checks every %s s", TICK_SECONDS)
    return scheduler
