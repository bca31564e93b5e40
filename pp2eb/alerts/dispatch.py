"""When alert e-mails go out: after every run, and once a day for the summary.

The problems, each mailed at most once per calendar day (Europe/Amsterdam):

* ``failures``: the run has orders it could not book. The first failing run of the day mails
  its failed orders with reason and fix; failures later that day, even with a new reason, wait
  for the next day's first failing run (the dashboard, and the summary if on, show them
  meanwhile). An order that keeps failing is so mailed once a day, as a reminder.
* ``credential:plugandpay`` / ``credential:eboekhouden``: a run stopped because the stored key
  or token was refused; the mail links to the page to reconnect.
* ``aborted``: ``ABORTED_IN_A_ROW`` runs in a row stopped for another reason (an API down for
  a long time); one stop is left to the next run.
* ``summary``: the daily summary, on the first scheduler tick after the chosen hour.

Each mail names its link and goes to the link's own addresses, else to the install's
(``alerts.settings``).

An alert is claimed with an ``AlertSent`` row (unique per link, problem and day) before it is sent
and marked sent after, so a restart or a second process does not send it again. A failed send
gives the claim back and is noted on the settings (shown on the alert settings page); the next
occasion tries again. Nothing here raises into a run or a tick: errors are logged, no secrets.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_babel import force_locale

from pp2eb.alerts import settings as alert_settings
from pp2eb.alerts.mail import Mail, Mailer, MailError
from pp2eb.alerts.settings import AlertConfig
from pp2eb.alerts.texts import (
    OrderProblem,
    Summary,
    aborted_mail,
    check_mail,
    credential_mail,
    failures_mail,
    summary_mail,
)
from pp2eb.dutchtime import local, local_day
from pp2eb.engine.runstate import RunResult
from pp2eb.extensions import db
from pp2eb.models import AlertSent, Link, OrderRecord, SyncRun, utcnow
from pp2eb.reports import oss_watch, records
from pp2eb.setup.connections import SERVICES
from pp2eb.states import OrderState, PaymentState, RunStatus

logger = logging.getLogger(__name__)

FAILURES, ABORTED, SUMMARY = "failures", "aborted", "summary"
ABORTED_IN_A_ROW = 3
MAX_LISTED = 50  # failed orders listed in one mail; the rest are counted
CLAIM_TTL = timedelta(minutes=10)  # a claim older than this, never marked sent, was a crash
SUMMARY_RETRY = timedelta(minutes=10)  # after a failed send, the tick waits this long


def credential_problem(service: str) -> str:
    """The problem key of a refused stored key of ``service``."""
    return f"credential:{service}"


def after_run(link: Link, result: RunResult, now: datetime | None = None) -> list[str]:
    """Send the alerts ``result`` (a run of ``link``) calls for; returns the problems mailed.
    Never raises."""
    try:
        config = alert_settings.load(link)
        if not (config.alerts_enabled and config.ready):
            return []
        now = now or utcnow()
        return [
            key
            for key, build in _problems(link, result, now)
            if _send_once(link, config, key, now, build)
        ]
    except Exception:
        db.session.rollback()
        logger.exception("the alerts after run %s failed", result.run_id)
        return []


def daily_summary(link: Link, now: datetime | None = None) -> bool:
    """Send today's summary (its OSS watch ``link``'s) when it is on, past its hour and not
    sent yet. Never raises."""
    try:
        config = alert_settings.load(link)
        now = now or utcnow()
        if not (config.summary_enabled and config.ready):
            return False
        if records.latest_run(link) is None:
            return False  # nothing has run yet: a summary of zeros would only be noise
        if local(now).hour < config.summary_hour:
            return False
        if config.last_error_at is not None and now - config.last_error_at < SUMMARY_RETRY:
            return False
        return _send_once(
            link,
            config,
            SUMMARY,
            now,
            lambda: summary_mail(
                summary(link, now),
                config.language,
                alert_settings.link("dashboard.index", link.id),
                link_name=link.name,
            ),
        )
    except Exception:
        db.session.rollback()
        logger.exception("the daily summary failed")
        return False


def send_check(link: Link, now: datetime | None = None) -> AlertConfig:
    """Send the test e-mail with the saved settings to ``link``'s addresses; MailError says why
    it failed."""
    config = alert_settings.load(link)
    with force_locale(config.language):
        mail = check_mail(now or utcnow(), link_name=link.name)
    Mailer(config.smtp).send(mail, config.to)
    logger.info("test e-mail sent to %d address(es)", len(config.to))
    return config


def _problems(link: Link, result: RunResult, now: datetime) -> list[tuple[str, Callable[[], Mail]]]:
    """The problems ``result`` shows, each with how to write its mail."""
    found = []
    link_name = link.name
    service = result.refused
    if service in SERVICES:
        name, reconnect = (
            SERVICES[service],
            alert_settings.link("connect.page", link.id, service=service),
        )
        found.append(
            (
                credential_problem(service),
                lambda: credential_mail(name, now, reconnect, link_name=link_name),
            )
        )
    elif result.status == RunStatus.ABORTED and _aborted_in_a_row(link):
        message, runs = result.message or "", alert_settings.link("dashboard.runs", link.id)
        found.append(
            (
                ABORTED,
                lambda: aborted_mail(message, now, ABORTED_IN_A_ROW, runs, link_name=link_name),
            )
        )
    failed = result.failed or result.payments_failed
    # Listing the orders reads each one: not when today's mail about failures has gone already.
    listed = failed and not _sent_today(link, FAILURES, now)
    problems, more = _failed_orders(link, result) if listed else ([], 0)
    if problems:
        orders = alert_settings.link("dashboard.orders", link.id, state=OrderState.FAILED)
        found.append(
            (
                FAILURES,
                lambda: failures_mail(problems, now, orders, link_name=link_name, more=more),
            )
        )
    return found


def _aborted_in_a_row(link: Link) -> bool:
    runs = records.recent_runs(link, ABORTED_IN_A_ROW)
    return len(runs) == ABORTED_IN_A_ROW and all(r.status == RunStatus.ABORTED for r in runs)


def _failed_orders(link: Link, result: RunResult) -> tuple[list[OrderProblem], int]:
    """The run's failed orders with their recorded reason and fix, and how many are left out."""
    problems = []
    for failure in result.failures:
        rec = records.find(link, failure.order_id) if failure.order_id else None
        payment = rec is not None and rec.state == OrderState.BOOKED
        if payment and rec.payment_state == PaymentState.FAILED:
            problems.append(_payment_problem(rec, failure.reason))
            continue
        if rec is not None and rec.state != OrderState.FAILED:
            continue  # waiting for a look-up, not a failure a person must act on
        problems.append(
            OrderProblem(
                order_id=failure.order_id,
                number=(rec.invoice_number if rec else None) or failure.number,
                reason=(rec.reason if rec else None) or failure.reason,
                fix=rec.fix if rec else None,
                link=alert_settings.link("dashboard.order", link.id, order_id=failure.order_id)
                if rec
                else None,
            )
        )
    return problems[:MAX_LISTED], max(0, len(problems) - MAX_LISTED)


def _payment_problem(rec: OrderRecord, reason: str) -> OrderProblem:
    """A booked order whose payment failed: the booking stands, the payment waits."""
    return OrderProblem(
        order_id=rec.order_id,
        number=rec.invoice_number or str(rec.order_id),
        reason=reason,
        fix=None,
        link=alert_settings.link("dashboard.order", rec.link_id, order_id=rec.order_id),
        payment=True,
    )


def _send_once(link: Link, config: AlertConfig, problem: str, now: datetime, build) -> bool:
    """Claim the link's ``problem`` for today, send the mail ``build()`` makes, and record how
    it went."""
    claim = _claim(link, problem, local_day(now).isoformat(), now)
    if claim is None:
        return False
    with force_locale(config.language):
        try:
            Mailer(config.smtp).send(build(), config.to)
        except MailError as exc:
            db.session.delete(claim)
            _note(now, error=str(exc))
            logger.warning("alert %s not sent: %s", problem, exc)
            return False
    claim.sent_at = now
    _note(now)
    logger.info("alert %s of link %s sent to %d address(es)", problem, link.id, len(config.to))
    return True


def _sent_today(link: Link, problem: str, now: datetime) -> bool:
    day = local_day(now).isoformat()
    found = db.session.execute(
        sa.select(AlertSent.sent_at).filter_by(link_id=link.id, problem=problem, day=day)
    ).scalar_one_or_none()
    return found is not None


def _claim(link: Link, problem: str, day: str, now: datetime) -> AlertSent | None:
    row = db.session.execute(
        sa.select(AlertSent).filter_by(link_id=link.id, problem=problem, day=day)
    ).scalar_one_or_none()
    if row is not None:
        if row.sent_at is not None or now - row.claimed_at < CLAIM_TTL:
            return None
        row.claimed_at = now  # left by a process that stopped while sending
    else:
        row = AlertSent(link_id=link.id, problem=problem, day=day, claimed_at=now)
        db.session.add(row)
    try:
        db.session.commit()
    except sa.exc.IntegrityError:
        db.session.rollback()  # another process claimed it a moment ago
        return None
    return row


def _note(now: datetime, error: str | None = None) -> None:
    row = alert_settings.row_for_update()
    if error is None:
        row.last_sent_at, row.last_error, row.last_error_at = now, None, None
    else:
        row.last_error, row.last_error_at = error, now
    db.session.commit()


def summary(link: Link, now: datetime) -> Summary:
    """The figures of the last 24 hours before ``now`` and what is open now; the OSS watch is
    ``link``'s (its settings say how it sells abroad)."""
    runs = db.session.execute(
        sa.select(SyncRun).where(
            SyncRun.link_id == link.id, SyncRun.started_at >= now - timedelta(hours=24)
        )
    ).scalars()
    runs = list(runs)
    counts = records.counts(link)
    latest = records.latest_run(link)
    watch = oss_watch.current(link, local_day(now))
    counted = watch.total or watch.previous_year_total
    return Summary(
        day=local_day(now),
        runs=len(runs),
        aborted=sum(r.status == RunStatus.ABORTED for r in runs),
        booked=sum(r.booked for r in runs),
        skipped=sum(r.skipped for r in runs),
        failed=sum(r.failed for r in runs),
        waiting=sum(r.waiting for r in runs),
        open_failed=counts[OrderState.FAILED],
        open_waiting=counts[OrderState.WAITING],
        last_abort=latest.message if latest and latest.status == RunStatus.ABORTED else None,
        oss_percent=watch.percent if counted else None,
        oss_total=watch.total if counted else None,
        oss_level=watch.level if counted else None,
    )
