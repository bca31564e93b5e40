"""Alert e-mails against the sandboxes and an SMTP sink on loopback: when they go out (at most
once per problem per day, the summary once a day after its hour), what they say, and what
happens when the mail server is down."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask_babel import force_locale

from pp2eb import create_app
from pp2eb.alerts import dispatch as alerting
from pp2eb.alerts import settings as alert_settings
from pp2eb.alerts.mail import NONE, STARTTLS, Mailer, MailError, SmtpSettings
from pp2eb.alerts.texts import (
    OrderProblem,
    aborted_mail,
    check_mail,
    credential_mail,
    failures_mail,
)
from pp2eb.dutchtime import local_day
from pp2eb.engine.runstate import RunResult
from pp2eb.extensions import db
from pp2eb.models import AlertSent, Link, OrderRecord, SyncRun, utcnow
from pp2eb.reports import records
from pp2eb.runs import jobs, scheduler
from pp2eb.sandbox import DEMO_TENANTS, EBOEKHOUDEN_TOKEN
from pp2eb.setup import connections, links
from pp2eb.states import RunStatus
from tests.alert_helpers import closed_port, mails, page, sink_server, use
from tests.clock import DEMO_TODAY
from tests.engine_helpers import DEMO_REFUSED, configure, the_link

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
SHOP = DEMO_TENANTS[0].name  # the link's name once the demo Plug&Pay account is connected
UNNAMED = links.PLACEHOLDER  # the link's name before that
RESTART_CONFIG = ("TESTING", "DEMO", "SECRET_KEY", "ENCRYPTION_KEY", "SQLALCHEMY_DATABASE_URI")
sink = pytest.fixture(sink_server)


def failed_records() -> list[OrderRecord]:
    return list(db.session.execute(db.select(OrderRecord).filter_by(state="failed")).scalars())


def retry_failed() -> RunResult:
    """Make the failed orders due and run a sync: they fail again."""
    for rec in failed_records():
        records.make_due(rec)
    return jobs.run("sync", link=the_link())


def at(hour: int, minute: int = 0, days: int = 0) -> datetime:
    """The naive UTC moment of ``hour:minute`` Dutch time, ``days`` after the demo's today."""
    day = DEMO_TODAY + timedelta(days=days)
    moment = datetime.combine(day, time(hour, minute), tzinfo=AMSTERDAM)
    return moment.astimezone(UTC).replace(tzinfo=None)


# --- after a run ----------------------------------------------------------------------------


@pytest.mark.dates
def test_a_failing_run_mails_its_orders_once_a_day(app, sandbox, sink, monkeypatch):
    configure(app)
    use(app, sink.port)
    now = utcnow()  # read once: the day the mail counts for is this moment's Dutch day
    monkeypatch.setattr(alerting, "utcnow", lambda: now)
    with app.app_context():
        first = jobs.run("sync", link=the_link())
        assert first.status == RunStatus.FINISHED and first.failed == DEMO_REFUSED
        failed = failed_records()
        [mail] = mails(sink)
        assert mail["subject"] == f"pp2eb ({SHOP}): {DEMO_REFUSED} orders could not be booked"
        assert mail["body"].startswith(f"Link: {SHOP}\n\nThe run of ")
        assert mail["to"] == ["anna@shop.example"] and mail["from"] == "pp2eb@shop.example"
        for rec in failed:
            line = f"- Invoice {rec.invoice_number} (order {rec.order_id}): {rec.reason}"
            assert line in mail["body"]
            assert rec.fix and f"What to do: {rec.fix}" in mail["body"]
        assert "http" not in mail["body"]  # no PUBLIC_URL, so no link
        assert "The failed orders: open pp2eb in your browser." in mail["body"]

        # The same orders fail again the same day: no second mail.
        assert retry_failed().failed == DEMO_REFUSED
        assert len(mails(sink)) == 1

        # The next day they still fail: one mail again.
        tomorrow = now + timedelta(days=1)
        monkeypatch.setattr(alerting, "utcnow", lambda: tomorrow)
        assert retry_failed().failed == DEMO_REFUSED
        assert retry_failed().failed == DEMO_REFUSED
        assert [m["subject"] for m in mails(sink)] == [mail["subject"]] * 2
        sent = db.session.execute(db.select(AlertSent).order_by(AlertSent.day)).scalars().all()
        assert [(s.problem, s.day) for s in sent] == [
            ("failures", local_day(now).isoformat()),
            ("failures", local_day(tomorrow).isoformat()),
        ]
        assert all(s.sent_at is not None for s in sent)


def test_the_mail_speaks_the_chosen_language_and_links_to_the_public_address(app, sandbox, sink):
    app.config["PUBLIC_URL"] = "https://boekhouding.shop.example/pp2eb/"
    configure(app)
    use(app, sink.port, language="nl")
    with app.app_context():
        jobs.run("sync", link=the_link())
        failed = failed_records()
    [mail] = mails(sink)
    assert mail["subject"] == f"pp2eb ({SHOP}): {DEMO_REFUSED} orders konden niet worden geboekt"
    assert mail["body"].startswith(f"Koppeling: {SHOP}\n")
    assert "Wat te doen:" in mail["body"] and "Je krijgt hooguit één" in mail["body"]
    base = "https://boekhouding.shop.example/pp2eb"
    assert f"De mislukte orders: {base}/orders?state=failed" in mail["body"]
    for rec in failed:
        assert f"Factuur {rec.invoice_number} (order {rec.order_id})" in mail["body"]
        assert f"{base}/orders/{rec.order_id}" in mail["body"]


def test_a_revoked_eboekhouden_token_mails_once_where_to_reconnect(app, sandbox, sink):
    app.config["PUBLIC_URL"] = "https://pp2eb.shop.example"
    configure(app)
    use(app, sink.port)
    sandbox.control("eboekhouden", "POST", "config", json={"revoke_api_token": EBOEKHOUDEN_TOKEN})
    with app.app_context():
        for _ in range(2):
            result = jobs.run("sync", link=the_link())
            assert result.status == RunStatus.ABORTED and result.refused == "eboekhouden"
    [mail] = mails(sink)
    assert mail["subject"] == f"pp2eb ({SHOP}): e-Boekhouden.nl refused the stored key"
    assert mail["body"].startswith(f"Link: {SHOP}\n")
    assert (
        "Connect e-Boekhouden.nl again: https://pp2eb.shop.example/connect/eboekhouden"
        in (mail["body"])
    )
    assert EBOEKHOUDEN_TOKEN not in mail["body"]


def test_a_wrong_plugandpay_key_mails_once(app, sandbox, sink):
    configure(app)
    use(app, sink.port)
    with app.app_context():
        credential = connections.get_credential(the_link(), "plugandpay")
        credential.secret_encrypted = app.extensions["pp2eb_vault"].encrypt("pp-wrong-key")
        db.session.commit()
        for _ in range(2):
            assert jobs.run("sync", link=the_link()).refused == "plugandpay"
    [mail] = mails(sink)
    assert mail["subject"] == f"pp2eb ({SHOP}): Plug&Pay refused the stored key"
    assert "Connect Plug&Pay again: open pp2eb in your browser." in mail["body"]
    assert "pp-wrong-key" not in mail["body"]


def test_runs_that_keep_stopping_early_mail_once_at_the_third(app, sink):
    use(app, sink.port)
    message = "Plug&Pay could not be reached 3 times in a row; the run stopped."
    with app.app_context():
        for n in range(4):
            run = SyncRun(
                link_id=the_link().id, kind="sync", status=RunStatus.ABORTED, message=message
            )
            db.session.add(run)
            db.session.commit()
            sent = alerting.after_run(
                the_link(), RunResult(status=run.status, run_id=run.id, message=message)
            )
            assert sent == (["aborted"] if n == 2 else []), n
    [mail] = mails(sink)
    assert mail["subject"] == f"pp2eb ({UNNAMED}): the last 3 runs stopped early"
    assert mail["body"].startswith(f"Link: {UNNAMED}\n")
    assert message in mail["body"]


def test_a_mail_server_that_is_down_neither_stops_the_run_nor_counts_as_sent(
    app, client, auth, sandbox, sink, caplog
):
    configure(app)
    use(app, closed_port())
    with app.app_context():
        result = jobs.run("sync", link=the_link())
        assert result.status == RunStatus.FINISHED and result.failed == DEMO_REFUSED
        assert result.booked > 40
        assert db.session.execute(db.select(AlertSent)).first() is None
        assert "refused the connection" in alert_settings.load().last_error
    assert any("alert failures not sent" in r.getMessage() for r in caplog.records)
    auth.login()
    html = page(client)
    assert "The last alert could not be sent" in html and "refused the connection" in html

    # The server is back: the next failing run sends, and the page says so.
    use(app, sink.port)
    with app.app_context():
        retry_failed()
    assert len(mails(sink)) == 1
    html = page(client)
    assert "Last alert sent:" in html and "could not be sent" not in html


# --- the daily summary ----------------------------------------------------------------------


def test_the_summary_counts_the_last_24_hours_and_what_is_open(app, sandbox, sink, monkeypatch):
    # At the pinned clock the demo's sales fall in this year, so the OSS line is there.
    now = utcnow()  # read once: the summary's day is this moment's Dutch day
    monkeypatch.setattr(alerting, "utcnow", lambda: now)
    configure(app)
    use(app, sink.port, alerts_enabled=False, summary_enabled=True, summary_hour=0)
    with app.app_context():
        result = jobs.run("sync", link=the_link())
        assert mails(sink) == []  # alerts are off; only the summary is wanted
        assert alerting.daily_summary(the_link()) is True
        open_waiting = records.counts(the_link())["waiting"]
    [mail] = mails(sink)
    assert mail["subject"] == f"pp2eb ({SHOP}): summary of {local_day(now).isoformat()}"
    assert mail["body"].startswith(f"Link: {SHOP}\n")
    for line in (
        "Runs: 1",
        "Runs that stopped early: 0",
        f"Orders booked: {result.booked}",
        f"Orders failed: {DEMO_REFUSED}",
        f"Open now: {DEMO_REFUSED} failed and {open_waiting} waiting.",
    ):
        assert f"\n{line}" in mail["body"] or f" {line}" in mail["body"], line
    assert "OSS threshold: " in mail["body"] and "of €10,000." in mail["body"]


def test_the_summary_goes_once_a_day_after_its_hour_even_across_restarts(app, sink, monkeypatch):
    use(app, sink.port, alerts_enabled=False, summary_enabled=True, summary_hour=8)
    clock = [at(7, 59)]
    monkeypatch.setattr(alerting, "utcnow", lambda: clock[0])
    assert scheduler.tick(app) == "not due"  # no sync set up: only the summary is looked at
    assert mails(sink) == []
    clock[0] = at(8, 1)
    scheduler.tick(app)
    assert mails(sink) == []  # nothing has ever run: no summary of zeros
    with app.app_context():
        db.session.add(
            SyncRun(link_id=the_link().id, kind="sync", status=RunStatus.FINISHED, started_at=at(6))
        )
        db.session.commit()
    scheduler.tick(app)
    assert len(mails(sink)) == 1
    for moment in (at(8, 2), at(23, 59)):
        clock[0] = moment
        scheduler.tick(app)
    # A restart: a new app on the same database does not send it again.
    restarted = create_app({key: app.config[key] for key in RESTART_CONFIG})
    clock[0] = at(12)
    scheduler.tick(restarted)
    assert len(mails(sink)) == 1
    clock[0] = at(7, 30, days=1)
    scheduler.tick(restarted)
    assert len(mails(sink)) == 1
    clock[0] = at(8, 0, days=1)
    scheduler.tick(restarted)
    subjects = [m["subject"] for m in mails(sink)]
    days = [DEMO_TODAY, DEMO_TODAY + timedelta(days=1)]
    assert subjects == [f"pp2eb ({UNNAMED}): summary of {day.isoformat()}" for day in days]


FALL_BACK = [  # 03:00 CEST becomes 02:00 CET: 02:30 comes twice, the summary goes once
    (datetime(2027, 10, 30, 23, 59), None),  # 01:59 CEST
    (datetime(2027, 10, 31, 0, 30), "2027-10-31"),  # 02:30 CEST
    (datetime(2027, 10, 31, 1, 30), None),  # 02:30 CET
    (datetime(2027, 11, 1, 1, 0), "2027-11-01"),  # 02:00 CET
]
JUMP_FORWARD = [  # 02:00 CET becomes 03:00 CEST: an hour of 2 is passed at 03:00
    (datetime(2027, 3, 28, 0, 59), None),
    (datetime(2027, 3, 28, 1, 0), "2027-03-28"),
]
NEW_YEAR = [  # Dutch New Year is still 31 December in UTC
    (datetime(2026, 12, 31, 22, 59), "2026-12-31"),
    (datetime(2026, 12, 31, 23, 0), "2027-01-01"),
]


@pytest.mark.parametrize(
    ("hour", "ticks"),
    [(2, FALL_BACK), (2, JUMP_FORWARD), (0, NEW_YEAR)],
    ids=["clock falls back", "clock jumps forward", "new year"],
)
def test_the_summary_counts_dutch_days_across_summer_time_and_the_year(
    app, sink, monkeypatch, hour, ticks
):
    use(app, sink.port, alerts_enabled=False, summary_enabled=True, summary_hour=hour)
    clock = [ticks[0][0]]
    monkeypatch.setattr(alerting, "utcnow", lambda: clock[0])
    with app.app_context():
        db.session.add(
            SyncRun(
                link_id=the_link().id, kind="sync", status=RunStatus.FINISHED, started_at=clock[0]
            )
        )
        db.session.commit()
    days: list[str] = []
    for moment, sent_for in ticks:
        clock[0] = moment
        scheduler.tick(app)
        days += [sent_for] if sent_for else []
        assert [m["subject"] for m in mails(sink)] == [
            f"pp2eb ({UNNAMED}): summary of {d}" for d in days
        ]


def test_the_mailer_puts_server_trouble_into_words(sink):
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        quiet = SmtpSettings("127.0.0.1", silent.getsockname()[1], NONE, from_address="a@b.nl")
        with pytest.raises(MailError, match=r"did not answer within 0\.5 seconds"):
            Mailer(quiet, timeout=0.5).send(check_mail(utcnow(), link_name=SHOP), ["c@d.nl"])
    starttls = SmtpSettings("127.0.0.1", sink.port, STARTTLS, from_address="a@b.nl")
    with pytest.raises(MailError, match="does not offer what the settings ask for"):
        Mailer(starttls).send(check_mail(utcnow(), link_name=SHOP), ["c@d.nl"])
    assert mails(sink) == []


def test_a_payment_that_fails_is_mailed_with_the_failed_orders(app, sandbox, sink):
    configure(app, book_payments=True, payment_ledgers={"mollie": "1650", "stripe": "1999"})
    use(app, sink.port)
    with app.app_context():
        result = jobs.run("sync", link=the_link())
        assert result.payments_failed == 2
        [mail] = mails(sink)
        payments = [line for line in mail["body"].splitlines() if "Payment not booked" in line]
        assert len(payments) == 2
        assert all("The clearing ledger 1999 does not exist" in line for line in payments)
        assert mail["subject"] == (
            f"pp2eb ({SHOP}): {DEMO_REFUSED} orders could not be booked; "
            "the payments of 2 booked orders could not be booked"
        )


def test_the_mails_give_their_times_in_dutch_time(app):
    new_year = datetime(2026, 12, 31, 23, 30)  # UTC: in the Netherlands already 2027
    summer = datetime(2027, 7, 1, 10, 5)
    problem = OrderProblem(order_id=7, number="2026-00007", reason="The VAT code is gone.")
    bodies = [
        check_mail(new_year, link_name=SHOP).body,
        failures_mail([problem], new_year, None, link_name=SHOP).body,
        credential_mail("Plug&Pay", new_year, None, link_name=SHOP).body,
        aborted_mail("e-Boekhouden.nl did not answer.", new_year, 3, None, link_name=SHOP).body,
    ]
    assert all("01-01-2027 00:30 CET" in body and "UTC" not in body for body in bodies)
    assert (
        "The run of 01-07-2027 12:05 CEST in e-Boekhouden.nl"
        in failures_mail([problem], summer, None, link_name=SHOP).body
    )
    assert check_mail(summer, link_name="Two\r\nlines").subject == "pp2eb (Two lines): test e-mail"
    with app.test_request_context(), force_locale("nl"):
        assert "verstuurd om 01-07-2027 12:05 CEST." in check_mail(summer, link_name=SHOP).body


# --- two links --------------------------------------------------------------------------------


def test_each_link_mails_its_own_failures_once_a_day(app, sandbox, sink):
    """An alert is claimed per link: one link's mail of the day does not hold back the other's."""
    with app.app_context():
        second = links.add("Second shop").id
        first = the_link_named(links.PLACEHOLDER)
    configure(app, first)
    configure(app, second)
    use(app, sink.port)
    with app.app_context():
        for link_id in (first, second):
            result = jobs.run("sync", link=db.session.get(Link, link_id))
            assert result.failed == DEMO_REFUSED
        # The second link's orders fail again the same day: no second mail for it.
        for rec in failed_records():
            if rec.link_id == second:
                records.make_due(rec)
        assert jobs.run("sync", link=db.session.get(Link, second)).failed == DEMO_REFUSED
        what = f"{DEMO_REFUSED} orders could not be booked"
        assert [m["subject"] for m in mails(sink)] == [
            f"pp2eb ({SHOP}): {what}",
            f"pp2eb (Second shop): {what}",
        ]
        sent = db.session.execute(db.select(AlertSent.link_id, AlertSent.problem)).all()
        assert sorted(sent) == [(first, "failures"), (second, "failures")]


def the_link_named(name: str) -> int:
    return links.pick(name).id


def two_links(app) -> tuple[int, int]:
    """The first link (connected: "Demo Webshop") and a second, "Second shop", connected to the
    same demo accounts: both fail the same orders."""
    with app.app_context():
        second = links.add("Second shop").id
        first = the_link_named(links.PLACEHOLDER)
    configure(app, first)
    configure(app, second)
    return first, second


def own_addresses(app, link_id: int, addresses: list[str]) -> None:
    with app.app_context():
        alert_settings.save_link_addresses(db.session.get(Link, link_id), addresses)


def test_each_link_mails_its_own_addresses_else_the_installs(app, sandbox, sink):
    """A link with its own addresses mails only those; one without mails the install's. Each
    mail names its link."""
    first, second = two_links(app)
    use(app, sink.port, to_addresses="office@accounting.example")
    own_addresses(app, first, ["anna@webshop.example", "bert@webshop.example"])
    with app.app_context():
        for link_id in (first, second):
            assert jobs.run("sync", link=db.session.get(Link, link_id)).failed == DEMO_REFUSED
    webshop, other = mails(sink)
    assert webshop["to"] == ["anna@webshop.example", "bert@webshop.example"]
    assert webshop["subject"].startswith(f"pp2eb ({SHOP}): ")
    assert webshop["body"].startswith(f"Link: {SHOP}\n") and "Second shop" not in webshop["body"]
    assert other["to"] == ["office@accounting.example"]
    assert other["subject"].startswith("pp2eb (Second shop): ")
    assert other["body"].startswith("Link: Second shop\n") and SHOP not in other["body"]

    # Its own addresses taken away, the first link mails the install's again.
    own_addresses(app, first, [])
    with app.app_context():
        assert alert_settings.load(db.session.get(Link, first)).to == ("office@accounting.example",)


def test_a_link_with_nobody_to_mail_claims_nothing(app, sandbox, sink):
    """No install-wide addresses: the link with its own is mailed, the other one is not, and its
    problem stays unclaimed (it is mailed once it has someone to go to)."""
    first, second = two_links(app)
    use(app, sink.port, to_addresses="")
    own_addresses(app, second, ["carla@second.example"])
    with app.app_context():
        for link_id in (first, second):
            assert jobs.run("sync", link=db.session.get(Link, link_id)).failed == DEMO_REFUSED
        sent = db.session.execute(db.select(AlertSent.link_id)).scalars().all()
    [mail] = mails(sink)
    assert mail["to"] == ["carla@second.example"] and "(Second shop)" in mail["subject"]
    assert sent == [second]

    own_addresses(app, first, ["dirk@webshop.example"])
    with app.app_context():
        assert retry_failed_of(first).failed == DEMO_REFUSED
    assert [m["to"] for m in mails(sink)][1:] == [["dirk@webshop.example"]]


def test_each_link_gets_its_own_summary_at_its_own_addresses(app, sink, monkeypatch):
    with app.app_context():
        second = links.add("Second shop").id
        first = the_link_named(links.PLACEHOLDER)
        for link_id in (first, second):
            db.session.add(
                SyncRun(link_id=link_id, kind="sync", status=RunStatus.FINISHED, started_at=at(6))
            )
        db.session.commit()
    use(app, sink.port, alerts_enabled=False, summary_enabled=True, summary_hour=8)
    own_addresses(app, first, ["anna@webshop.example"])
    own_addresses(app, second, ["carla@second.example"])
    monkeypatch.setattr(alerting, "utcnow", lambda: at(9))
    scheduler.tick(app)
    scheduler.tick(app)
    got = sorted((m["to"], m["subject"], m["body"].splitlines()[0]) for m in mails(sink))
    day = DEMO_TODAY.isoformat()
    assert got == [
        (["anna@webshop.example"], f"pp2eb ({UNNAMED}): summary of {day}", f"Link: {UNNAMED}"),
        (["carla@second.example"], f"pp2eb (Second shop): summary of {day}", "Link: Second shop"),
    ]


def retry_failed_of(link_id: int) -> RunResult:
    """Make ``link_id``'s failed orders due and run a sync of it: they fail again."""
    for rec in failed_records():
        if rec.link_id == link_id:
            records.make_due(rec)
    return jobs.run("sync", link=db.session.get(Link, link_id))
