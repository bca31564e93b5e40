"""Booking the orders webhooks announced: a background run over the queue, one at a time.

A webhook's request only queues its order (``webhook_inbox.py``) and answers at once; ``kick`` then
starts a thread that runs the engine (``jobs.run("webhook", order_ids=...)``) over the queued
orders, each fetched afresh from Plug&Pay. At most one drain per process: a kick while one runs
only asks it to look again when it is done. When the run cannot start (another run holds the
lease, the schedule is paused, the set-up is not finished) the queue stays, and the scheduler's
tick (every minute) or the end of a run started from the browser drains it.
"""

from __future__ import annotations

import logging
import threading
import time

from flask import Flask

from pp2eb.models import utcnow
from pp2eb.runs import jobs
from pp2eb.runs import webhook_inbox as inbox
from pp2eb.setup import appstate, links
from pp2eb.states import RunStatus

logger = logging.getLogger(__name__)

KIND = "webhook"
BATCH = 200  # orders per run; more are taken by the next run of the same drain
MORE = "more"
# After a run that stopped early (an API down, a key refused), webhooks start no run for this
# long; the tick still tries every minute, so a steady stream of webhooks is no stream of runs.
COOL_DOWN = 60.0
_create_lock = threading.Lock()


def drain_once(app: Flask) -> str:
    """One run over the queued orders; returns what happened (a run status, or why not)."""
    with app.app_context():
        # The queue and the webhook's URL are the install's, not yet a link's: they are booked
        # into the only link (with more links the scheduled syncs find the orders).
        try:
            link = links.only()
        except links.NoSuchLink as exc:
            logger.info("webhook run not started: %s", exc)
            return "not ready"
        if appstate.get(link, appstate.SCHEDULE_PAUSED, False):
            return "paused"
        order_ids = inbox.queued(link, BATCH)
        if not order_ids:
            return "empty"
        started = utcnow()
        try:
            result = jobs.run(KIND, link=link, order_ids=order_ids)
        except jobs.NotReady as exc:
            logger.info("webhook run not started: %s", exc)
            return "not ready"
        if result.status == RunStatus.BUSY:
            return RunStatus.BUSY
        finished = result.status == RunStatus.FINISHED
        inbox.settle(link, order_ids, started, finished=finished)
        logger.info(
            "webhook run %s %s: %d order(s), booked %s, skipped %s, failed %s",
            result.run_id,
            result.status,
            len(order_ids),
            result.booked,
            result.skipped,
            result.failed,
        )
        return MORE if finished and len(order_ids) == BATCH else result.status


class Drainer:
    """The one drain of this process: in a thread (``kick``) or in the caller's (``drain``)."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self._lock = threading.Lock()
        self._running = False
        self._pending = False
        self._quiet_until = 0.0
        self.thread: threading.Thread | None = None

    def kick(self) -> bool:
        """Drain in a background thread; False when a drain is going (it looks again) or the
        cool-down after a stopped run lasts."""
        with self._lock:
            self._pending = True
            if self._running or time.monotonic() < self._quiet_until:
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
        return self._loop()

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

    def _loop(self) -> str:
        outcome = "empty"
        try:
            while True:
                with self._lock:
                    if not self._pending:
                        self._running = False
                        return outcome
                    self._pending = False
                outcome = drain_once(self.app)
                if outcome == MORE:
                    with self._lock:
                        self._pending = True
                elif outcome != RunStatus.FINISHED:
                    break
        except Exception:
            logger.exception("webhook run failed; the queue waits for the next tick")
            outcome = "error"
        with self._lock:
            self._running = False
            if outcome == RunStatus.ABORTED:
                self._quiet_until = time.monotonic() + COOL_DOWN
        return outcome


def drainer(app: Flask) -> Drainer:
    """This process's drain of ``app``."""
    with _create_lock:
        found = app.extensions.get("pp2eb_drainer")
        if found is None:
            found = app.extensions["pp2eb_drainer"] = Drainer(app)
        return found


def kick(app: Flask) -> bool:
    """Book the queued orders soon, in the background."""
    return drainer(app).kick()


def kick_if_waiting(app: Flask) -> bool:
    """``kick`` when orders are queued (needs an app context)."""
    try:
        link = links.only()
    except links.NoSuchLink:
        return False
    return inbox.waiting(link) > 0 and kick(app)
