"""The schedule: one APScheduler job that ticks every minute and syncs each link whose interval
is up, and books the orders Plug&Pay's webhooks queued (``pp2eb/webhooks``) every minute.

Started in exactly one place (``python app.py``), never at import and never under TESTING. A tick
that finds another run going does nothing (the engine's lease), so a second process, the
scheduler and ``flask sync`` never book an order twice. Pausing and the interval live in the
database, so the dashboard changes them without touching the job. The same tick sends the daily
alert summary (``pp2eb.alerts.dispatch``) once a day after its hour.

The links that are due sync side by side, ``PP2EB_MAX_PARALLEL_LINKS`` (default 4) at once, each
in its own thread, app context and database session, with its own API clients (so its own
retries and waits for a 429): a link that is rate limited, refused or broken is reported for
itself and never holds up the others. ``flask sync --all`` calls the same ``sync_due_links``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask

from pp2eb.alerts import dispatch as alerting
from pp2eb.engine.runstate import RunResult
from pp2eb.extensions import db
from pp2eb.models import Link, SyncRun, utcnow
from pp2eb.reports import oss_watch
from pp2eb.runs import jobs
from pp2eb.runs import webhooks as webhook_runs
from pp2eb.setup import appstate, links

logger = logging.getLogger(__name__)

TICK_SECONDS = 60
OSS_SALES_PER_TICK = 5000  # about a second of work a minute (0.2 ms an order)
OSS_SALES_DONE = "pp2eb_oss_sales_done"
JOB_ID = "pp2eb-sync"
MAX_PARALLEL_LINKS = 4  # the default of PP2EB_MAX_PARALLEL_LINKS
# A link's outcome when no run started (otherwise the run's RunStatus).
NOT_DUE, NOT_READY, BROKEN = "not due", "not ready", "broken"


class ConfigError(Exception):
    """A setting of the app's config cannot be used; the message says why, in one line."""


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
    """Send the daily summaries when due, sync the links that are due (in parallel), then book
    what webhooks queued; returns what the sync did (with more than one link: per link, by
    name)."""
    try:
        with app.app_context():
            for link in links.live():
                alerting.daily_summary(link)
        done = sync_due_links(app)
        if len(done) == 1:
            return done[0][1].status
        return "; ".join(f"{name}: {outcome.status}" for name, outcome in done)
    finally:
        # Every minute, due or not: webhooks that found the lease taken wait in the queue.
        webhook_runs.drainer(app).drain()
        _work_out_oss_sales(app)


def _work_out_oss_sales(app: Flask) -> None:
    """After an upgrade to 0014: work out, a share each minute, what the records of a release
    before add to the OSS threshold, so that the first look at the overview does not do it all
    at once. Never in the way: a problem is logged, and that look does what is left. Once none
    is left this process stops looking: runs write every new record's sale themselves."""
    if app.extensions.get(OSS_SALES_DONE):
        return
    try:
        with app.app_context():
            done = oss_watch.work_out_pending(OSS_SALES_PER_TICK)
        if done:
            logger.info("worked out the OSS sales of %d older order records", done)
        else:
            app.extensions[OSS_SALES_DONE] = True
    except Exception:
        logger.exception("working out older records' OSS sales failed; the overview will")


@dataclass(frozen=True)
class Outcome:
    """What one link's turn came to: ``status`` is a RunStatus when a run started (``result``),
    else NOT_DUE, NOT_READY or BROKEN (``message`` says why)."""

    status: str
    result: RunResult | None = None
    message: str | None = None


def max_parallel_links(config: Mapping) -> int:
    """``MAX_PARALLEL_LINKS`` (``PP2EB_MAX_PARALLEL_LINKS``): how many links sync at once;
    ConfigError when it is not a whole number of at least 1."""
    value = config.get("MAX_PARALLEL_LINKS", MAX_PARALLEL_LINKS)
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(
            f"PP2EB_MAX_PARALLEL_LINKS must be a whole number of at least 1, not {value!r}."
        )
    return value


def sync_due_links(app: Flask, now: datetime | None = None) -> list[tuple[str, Outcome]]:
    """Sync every live link that is due, up to ``MAX_PARALLEL_LINKS`` at once; the outcome of
    each live link, by name, in the links' order. The scheduler's tick and ``flask sync --all``
    both call this.

    Each link runs in a thread of its own with its own app context (so its own database
    session) and its own API clients, so a 429, a refused key or a crash of one link never
    waits for or stops another: the others go on, and the failure is reported for its link.
    """
    parallel = max_parallel_links(app.config)
    with app.app_context():
        now = now or utcnow()
        live = [(link.id, link.name) for link in links.live()]
    if not live:
        return []
    with ThreadPoolExecutor(
        max_workers=min(parallel, len(live)), thread_name_prefix="pp2eb-link"
    ) as pool:
        futures = [pool.submit(_sync_link_when_due, app, link_id, now) for link_id, _ in live]
        return [(name, future.result()) for (_, name), future in zip(live, futures, strict=True)]


def _sync_link_when_due(app: Flask, link_id: int, now: datetime) -> Outcome:
    with app.app_context():
        link = db.session.get(Link, link_id)
        name = link.name if link is not None else f"#{link_id}"
        try:
            if link is None or not is_due(link, now):
                return Outcome(NOT_DUE)
            result = jobs.run("sync", link=link)
        except jobs.NotReady as exc:
            logger.info("scheduled sync of %s not started: %s", name, exc)
            return Outcome(NOT_READY, message=str(exc))
        except Exception as exc:  # one link's bug or outage must not stop the others
            logger.exception("sync of %s stopped by an unexpected error", name)
            db.session.rollback()
            return Outcome(
                BROKEN,
                message=f"the sync stopped on an unexpected error ({type(exc).__name__}); "
                "the log has the details.",
            )
    logger.info(
        "scheduled sync of %s %s: booked %s, failed %s",
        name,
        result.status,
        result.booked,
        result.failed,
    )
    return Outcome(result.status, result)


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
