"""Booking the orders webhooks announced: a background run over the queue, one at a time.

A webhook's request only queues its order (``webhook_inbox.py``) and answers at once; ``kick`` then
starts a thread that runs the engine (``jobs.run("webhook", order_ids=...)``) over the queued
orders of each link that has some, each fetched afresh from Plug&Pay. At most one drain per
process: a kick while one runs only asks it to look again when it is done. When a link's run
cannot start (another run holds the lease, the schedule is paused, the set-up is not finished)
its queue stays, and the scheduler's tick (every minute) or the end of a run started from the
browser drains it. A link whose run stopped early rests from webhooks' kicks for a while; the
others go on.
"""

from __future__ import annotations

import logging
import threading
import time

import sqlalchemy as sa
from flask import Flask

from pp2eb.extensions import db
from pp2eb.models import Link, WebhookQueue, utcnow
from pp2eb.runs import jobs
from pp2eb.runs import webhook_inbox as inbox
from pp2eb.setup import appstate
from pp2eb.states import RunStatus

logger = logging.getLogger(__name__)

KIND = "webhook"
BATCH = 200  # orders per run; more are taken by the next run of the same drain
MORE = "more"
# After a run that stopped early (an API down, a key refused), webhooks start no run for this
# long; the tick still tries every minute, so a steady stream of webhooks is no stream of runs.
COOL_DOWN = 60.0
_create_lock = threading.Lock()


def drain_once(app: Flask, skip: frozenset[int] = frozenset()) -> dict[int, str]:
    """One run over the queued orders of each link that has some (but those in ``skip``);
    returns what happened per link id (a run status, or why not)."""
    with app.app_context():
        waiting = db.session.execute(
            sa.select(WebhookQueue.link_id).distinct().order_by(WebhookQueue.link_id)
        ).scalars()
        outcomes = {}
        for link_id in waiting:
            link = db.session.get(Link, link_id)
            if link_id not in skip and link is not None and link.removed_at is None:
                outcomes[link_id] = _drain_link(link)
        return outcomes


def _drain_link(link: Link) -> str:
    """One run of ``link`` over its queued orders."""
    if appstate.get(link, appstate.SCHEDULE_PAUSED, False):
        return "paused"
    order_ids = inbox.queued(link, BATCH)
    if not order_ids:
        return "empty"
    started = utcnow()
    try:
        result = jobs.run(KIND, link=link, order_ids=order_ids)
    except jobs.NotReady as exc:
        logger.info("webhook run of %s not started: %s", link.name, exc)
        return "not ready"
    if result.status == RunStatus.BUSY:
        return RunStatus.BUSY
    finished = result.status == RunStatus.FINISHED
    inbox.settle(link, order_ids, started, finished=finished)
    logger.info(
        "webhook run %s of %s %s: %d order(s), booked %s, skipped %s, failed %s",
        result.run_id,
        link.name,
        result.status,
        len(order_ids),
        result.booked,
        result.skipped,
        result.failed,
    )
    return MORE if finished and len(order_ids) == BATCH else result.status


def _summary(outcomes: dict[int, str]) -> str:
    """One word for a drain's outcomes: the links' common one, else the first that is not a
    finished run (with one link: its outcome, as before links)."""
    if not outcomes:
        return "empty"
    values = list(outcomes.values())
    return next((v for v in values if v not in (RunStatus.FINISHED, MORE)), values[0])


class Drainer:
    """The one drain of this process: in a thread (``kick``) or in the caller's (``drain``)."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self._lock = threading.Lock()
        self._running = False
        self._pending = False
        self._quiet_until: dict[int, float] = {}  # by link id: the cool-down after a stop
        self.thread: threading.Thread | None = None

    def kick(self, link_id: int | None = None) -> bool:
        """Drain in a background thread; False when a drain is going (it looks again) or the
        cool-down after a stopped run of ``link_id`` lasts (None: no link's holds it back)."""
        with self._lock:
            self._pending = True
            if self._running or link_id in self._resting():
                return False
            self._running = True
            self.thread = threading.Thread(target=self._loop, name="pp2eb-webhooks", daemon=True)
        self.thread.start()
        return True

    def drain(self) -> str:
        """Drain in this thread (the scheduler's tick); "draining" when a thread is at it."""
        with self._lock:
            self._pending = True
            if self._running:
                return "draining"
            self._running = True
        return self._loop(rest=False)

    def join(self, timeout: float) -> bool:
        """Wait for the drain thread; True when no drain is going any more."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                thread, running = self.thread, self._running
            if not running:
                return True
            if thread is not None:
                thread.join(timeout=max(0.0, min(0.1, deadline - time.monotonic())))
            else:
                time.sleep(0.01)
        with self._lock:
            return not self._running

    def _resting(self) -> set[int]:
        """The links in their cool-down after a stopped run (call with the lock held)."""
        now = time.monotonic()
        return {link_id for link_id, until in self._quiet_until.items() if now < until}

    def _loop(self, rest: bool = True) -> str:
        """Drain until no kick is pending; ``rest``: leave the links in their cool-down out
        (a webhook's kick does, the tick does not). A link whose run did not go (stopped, busy,
        paused, not set up) is not tried again in this drain: the tick comes back to it."""
        outcome = "empty"
        tried: set[int] = set()
        try:
            while True:
                with self._lock:
                    if not self._pending:
                        self._running = False
                        return outcome
                    self._pending = False
                    skip = frozenset(tried | self._resting()) if rest else frozenset(tried)
                outcomes = drain_once(self.app, skip)
                with self._lock:
                    for link_id, done in outcomes.items():
                        if done == RunStatus.ABORTED:  # this link rests; the others go on
                            self._quiet_until[link_id] = time.monotonic() + COOL_DOWN
                        if done not in (RunStatus.FINISHED, MORE):
                            tried.add(link_id)
                    if MORE in outcomes.values():
                        self._pending = True
                outcome = _summary(outcomes) if outcomes else outcome
        except Exception:
            logger.exception("webhook run failed; the queue waits for the next tick")
            outcome = "error"
        with self._lock:
            self._running = False
        return outcome


def drainer(app: Flask) -> Drainer:
    """This process's drain of ``app``."""
    with _create_lock:
        found = app.extensions.get("pp2eb_drainer")
        if found is None:
            found = app.extensions["pp2eb_drainer"] = Drainer(app)
        return found


def kick(app: Flask, link_id: int | None = None) -> bool:
    """Book the queued orders soon, in the background (``link_id``: the link a webhook was
    for; its cool-down after a stopped run holds it back)."""
    return drainer(app).kick(link_id)


def kick_if_waiting(app: Flask) -> bool:
    """``kick`` when orders of any link are queued (needs an app context)."""
    queued = db.session.execute(sa.select(WebhookQueue.link_id).limit(1)).first()
    return queued is not None and kick(app)
