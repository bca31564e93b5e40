"""What the alert e-mails say: the failed orders, a refused key, runs that stop, the summary.

Pure: plain data in, a ``Mail`` out; no Flask app, request or database. The words go through
flask_babel's ``gettext``, which gives the English text outside an app context; the caller
(``alerts.dispatch``) builds the mails inside ``force_locale`` of the chosen language. A mail never
carries a key, token or password. Every mail is about one link and names it (``link_name``) in
its subject and first line, so that an office with many clients' links sees whose it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from babel.numbers import format_currency
from flask_babel import gettext as _
from flask_babel import ngettext

from pp2eb.alerts.mail import Mail
from pp2eb.apis import words
from pp2eb.dutchtime import show


@dataclass(frozen=True)
class OrderProblem:
    """A failed order as a mail lists it."""

    order_id: int
    number: str | None
    reason: str
    fix: str | None = None
    link: str | None = None
    payment: bool = False  # the order is booked; its payment (type 3) is what failed


@dataclass(frozen=True)
class Summary:
    """The figures of the daily summary."""

    day: date
    runs: int = 0
    aborted: int = 0
    booked: int = 0
    skipped: int = 0
    failed: int = 0
    waiting: int = 0
    open_failed: int = 0
    open_waiting: int = 0
    last_abort: str | None = None
    oss_percent: int | None = None
    oss_total: Decimal | None = None
    oss_level: str | None = None


def _subject(link_name: str, what: str) -> str:
    name = " ".join(link_name.split())  # a header holds no line break
    return f"pp2eb ({name}): {what}"


def _about(link_name: str) -> list[str]:
    """The first lines of a mail: the link it is about."""
    return [_("Link: %(name)s", name=link_name), ""]


def _closing(link: str | None, words: str) -> str:
    if link:
        return f"{words}: {link}"
    return _("%(words)s: open pp2eb in your browser.", words=words)


def failures_mail(
    problems: Sequence[OrderProblem],
    when: datetime,
    link: str | None,
    *,
    link_name: str,
    more: int = 0,
) -> Mail:
    """The orders a run could not book, with the reason and what to do for each."""
    payments = sum(problem.payment for problem in problems)
    orders = len(problems) - payments + more
    parts = []
    if orders or not payments:
        parts.append(
            ngettext(
                "%(num)d order could not be booked", "%(num)d orders could not be booked", orders
            )
        )
    if payments:
        parts.append(
            ngettext(
                "the payment of %(num)d booked order could not be booked",
                "the payments of %(num)d booked orders could not be booked",
                payments,
            )
        )
    what = "; ".join(parts)
    subject = _subject(link_name, what)
    lines = [
        *_about(link_name),
        _("The run of %(when)s in e-Boekhouden.nl: %(what)s.", when=show(when), what=what),
        "",
    ]
    for problem in problems:
        number = problem.number or str(problem.order_id)
        lines.append(
            _(
                "- Invoice %(number)s (order %(id)s): %(reason)s",
                number=number,
                id=problem.order_id,
                reason=problem.reason,
            )
        )
        if problem.fix:
            lines.append("  " + _("What to do: %(fix)s", fix=problem.fix))
        if problem.link:
            lines.append(f"  {problem.link}")
    if more:
        lines.append(_("- and %(num)d more on the dashboard.", num=more))
    lines += [
        "",
        _(
            "pp2eb tries failed orders again by itself; an order that keeps failing needs the "
            "change described above. Nothing is booked twice."
        ),
        _closing(link, _("The failed orders")),
        "",
        _("You get at most one such e-mail a day; new failures later today are in tomorrow's."),
    ]
    return Mail(subject, "\n".join(lines))


def credential_mail(service_name: str, when: datetime, link: str | None, *, link_name: str) -> Mail:
    """A stored key or token was refused: the runs stop until it is reconnected."""
    subject = _subject(link_name, _("%(name)s refused the stored key", name=service_name))
    body = [
        *_about(link_name),
        _(
            "The run of %(when)s stopped because %(name)s refused the stored key or token. It "
            "may have been deleted, replaced or expired.",
            when=show(when),
            name=service_name,
        ),
        "",
        _(
            "No order was booked twice and none is lost: they wait until the account is "
            "connected again, and are then booked by the next run."
        ),
        "",
        _closing(link, words.connect_again(service_name, _)),
    ]
    return Mail(subject, "\n".join(body))


def aborted_mail(
    message: str, when: datetime, runs: int, link: str | None, *, link_name: str
) -> Mail:
    """Several runs in a row stopped early (an API down for a long time)."""
    subject = _subject(link_name, _("the last %(num)d runs stopped early", num=runs))
    body = [
        *_about(link_name),
        _(
            "The last %(num)d runs stopped before they were done; the latest at %(when)s:",
            num=runs,
            when=show(when),
        ),
        "",
        f"  {message}",
        "",
        _("Nothing is lost: the next run goes on where this one stopped."),
        _closing(link, _("The runs")),
    ]
    return Mail(subject, "\n".join(body))


def summary_mail(summary: Summary, language: str, link: str | None, *, link_name: str) -> Mail:
    """The daily summary: the last 24 hours and what is still open."""
    subject = _subject(link_name, _("summary of %(day)s", day=summary.day.isoformat()))
    body = [
        *_about(link_name),
        _("In the last 24 hours:"),
        "  " + _("Runs: %(num)d", num=summary.runs),
        "  " + _("Runs that stopped early: %(num)d", num=summary.aborted),
        "  " + _("Orders booked: %(num)d", num=summary.booked),
        "  " + _("Orders skipped: %(num)d", num=summary.skipped),
        "  " + _("Orders failed: %(num)d", num=summary.failed),
        "  " + _("Orders waiting: %(num)d", num=summary.waiting),
        "",
        _(
            "Open now: %(failed)d failed and %(waiting)d waiting.",
            failed=summary.open_failed,
            waiting=summary.open_waiting,
        ),
    ]
    if summary.last_abort:
        body.append(_("The last run stopped early: %(message)s", message=summary.last_abort))
    if summary.oss_total is not None:
        body += ["", _oss_line(summary, language)]
    body += ["", _closing(link, _("The dashboard"))]
    return Mail(subject, "\n".join(body))


def _oss_line(summary: Summary, language: str) -> str:
    total = format_currency(summary.oss_total, "EUR", locale=language)
    line = _(
        "OSS threshold: %(total)s of EU consumer sales abroad this year, %(percent)d%% of €10,000.",
        total=total,
        percent=summary.oss_percent,
    )
    if summary.oss_level == "passed":
        return line + " " + _("The threshold is passed: foreign VAT is due through OSS.")
    if summary.oss_level == "approaching":
        return line + " " + _("The threshold is near.")
    return line


def check_mail(when: datetime, *, link_name: str) -> Mail:
    """The mail of the "Send test e-mail" button, sent to the addresses of ``link_name``."""
    body = [
        *_about(link_name),
        _(
            "This test e-mail was sent at %(when)s. Alerts from pp2eb about this link reach "
            "this address.",
            when=show(when),
        ),
    ]
    return Mail(_subject(link_name, _("test e-mail")), "\n".join(body))
