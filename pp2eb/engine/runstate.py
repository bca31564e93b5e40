"""The run around the orders: its lease kept, the waits the APIs ask for, its counts, its end.

``engine.sync`` decides what to book and ``engine.booker`` books one order; both report to the
``RunState`` of their run. Nothing here reads Flask's ``current_app``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

import sqlalchemy.exc

from pp2eb.apis import eboekhouden, plugandpay, words
from pp2eb.apis import errors as apierrors
from pp2eb.engine.runlog import RunLog
from pp2eb.models import Credential, SyncRun
from pp2eb.states import RUN_COUNTS, RunStatus

logger = logging.getLogger(__name__)
T = TypeVar("T")

# Long enough to outlast one API call with its own retries; a crashed holder on this machine is
# recognised by its pid at once, and on PostgreSQL any crashed holder by its advisory lock gone
# (see ``RunLog.acquire_lease``), so a restart need not wait.
LEASE_TTL = timedelta(minutes=10)
LEASE_RENEW_EVERY = timedelta(seconds=30)
WAIT_STEP = 10.0  # seconds; long waits are cut into steps so the lease is renewed
RATE_LIMIT_PATIENCE = 15 * 60.0  # seconds a run waits out 429s in total before it stops
MAX_UNAVAILABLE_IN_A_ROW = 3
RETRY_FIRST, RETRY_CAP = timedelta(minutes=5), timedelta(hours=6)


@dataclass
class Failure:
    """An order that failed in a run, for the run's report."""

    order_id: int
    number: str | None
    reason: str


@dataclass
class RunResult:
    """What a run did; ``status`` is finished, aborted or busy (another run holds the lease).

    The counters are ``RunCount``'s, one field each (tests/test_states.py checks them).
    """

    status: RunStatus
    run_id: int | None = None
    booked: int = 0
    skipped: int = 0
    failed: int = 0
    waiting: int = 0
    already_booked: int = 0
    failures: list[Failure] = field(default_factory=list)
    message: str | None = None
    #: The service ("plugandpay" or "eboekhouden") whose stored key stopped the run, if any.
    refused: str | None = None
    #: Booked orders whose payment (type 3, with payments on) failed in this run.
    payments_failed: int = 0
    #: Orders booked in this run whose VAT read back is not Plug&Pay's (``VAT_CHECK``).
    flagged: list[Failure] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the run finished and nothing failed, no order and no payment."""
        return self.status == RunStatus.FINISHED and not self.failed and not self.payments_failed


class RunAborted(Exception):
    """The run cannot go on (a credential stopped working, an API is down, the DB failed)."""


def retry_delay(attempts: int) -> timedelta:
    """Wait before the next try after ``attempts`` tries: 5 min, 10, 20 ... at most 6 h."""
    # The exponent is capped first: 2 ** 40 times five minutes overflows a timedelta.
    return min(RETRY_FIRST * 2 ** min(max(attempts - 1, 0), 10), RETRY_CAP)


def refused_service(exc: Exception) -> str | None:
    """The service whose stored key or token ``exc`` says was refused, else None."""
    if isinstance(exc, plugandpay.AuthError):
        return Credential.PLUGANDPAY
    if isinstance(exc, eboekhouden.AuthError):
        return Credential.EBOEKHOUDEN
    return None


def database_trouble(exc: Exception) -> str:
    """What to tell a person when pp2eb's own database refuses a write."""
    return (
        "The database could not be written (disk full, read-only or locked: "
        f"{type(exc).__name__}). Nothing half-written was kept; fix it and run again."
    )


class RunState:
    """One run's lease, patience, counts and failures."""

    def __init__(
        self,
        run_log: RunLog,
        run: SyncRun,
        holder: str,
        clock: Callable[[], datetime],
        sleep: Callable[[float], None],
    ) -> None:
        self.run_log, self.run, self.holder = run_log, run, holder
        self.clock, self.sleep = clock, sleep
        self.failures: list[Failure] = []
        self.waited = 0.0
        self.unavailable_in_a_row = 0
        self.renewed_at = clock()
        self.refused: str | None = None  # set when a refused key stopped the run
        self.payments_failed = 0
        self.flagged: list[Failure] = []

    def patiently(self, call: Callable[[], T]) -> T:
        """``call()``, waiting out every 429 (the request was not processed) and trying again."""
        while True:
            try:
                return call()
            except apierrors.RateLimited as exc:
                self.wait_out(exc)

    def wait_out(self, exc: apierrors.RateLimited) -> None:
        """Wait as long as the API asks, within the run's patience; renew the lease meanwhile."""
        if self.waited + exc.retry_after > RATE_LIMIT_PATIENCE:
            raise RunAborted(words.run_stopped_by_rate_limit(exc.api)) from exc
        self.waited += exc.retry_after
        self.wait(exc.retry_after)

    def note_unavailable(self, exc: apierrors.Unavailable) -> None:
        """Stop the run when an API keeps failing: the rest is better tried next run."""
        self.unavailable_in_a_row += 1
        if self.unavailable_in_a_row >= MAX_UNAVAILABLE_IN_A_ROW:
            raise RunAborted(
                words.run_stopped_by_unreachable(exc.api, self.unavailable_in_a_row)
            ) from exc

    def reached(self) -> None:
        """An API answered: the count of failures in a row starts again."""
        self.unavailable_in_a_row = 0

    def wait(self, seconds: float) -> None:
        """Sleep ``seconds`` in steps, renewing the lease between them."""
        while seconds > 0:
            step = min(seconds, WAIT_STEP)
            self.sleep(step)
            seconds -= step
            self.keep_lease()

    def keep_lease(self) -> None:
        """Renew the lease when it is time; stop the run when another process took it."""
        now = self.clock()
        if now - self.renewed_at < LEASE_RENEW_EVERY:
            return
        if not self.run_log.renew_lease(self.holder, now, LEASE_TTL):
            raise RunAborted("Another process took over the run; this one stopped.")
        self.renewed_at = now

    @staticmethod
    def abort_message(exc: Exception) -> str:
        """What to tell a person about why the run stopped."""
        if isinstance(exc, apierrors.AuthError):
            return words.run_stopped_by_refused_key(exc)
        if isinstance(exc, sqlalchemy.exc.SQLAlchemyError):
            return database_trouble(exc)
        return str(exc)

    def finish(self, status: RunStatus, message: str | None) -> None:
        """Close the run and give the lease back, even after a database failure."""
        counts = {name: getattr(self.run, name) for name in RUN_COUNTS}
        try:
            # Whatever was not committed belonged to a step that failed: drop it, but keep
            # the run's counts, which live in memory until the run is saved.
            self.run_log.session.rollback()
            for name, value in counts.items():
                setattr(self.run, name, value)
            self.run.status, self.run.message = status, message
            self.run.finished_at = self.clock()
            self.run_log.save_run(self.run)
        except sqlalchemy.exc.SQLAlchemyError:
            logger.exception("could not record the end of run %s", self.run.id)
        try:
            self.run_log.release_lease(self.holder)
        except sqlalchemy.exc.SQLAlchemyError:
            logger.exception("could not release the lease; it expires in %s", LEASE_TTL)

    def result(self) -> RunResult:
        """The run's figures."""
        run = self.run
        return RunResult(
            status=RunStatus(run.status),
            run_id=run.id,
            **{name: getattr(run, name) for name in RUN_COUNTS},
            failures=self.failures,
            message=run.message,
            refused=self.refused,
            payments_failed=self.payments_failed,
            flagged=self.flagged,
        )
