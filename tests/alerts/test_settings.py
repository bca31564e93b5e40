"""The alert settings page: the SMTP password encrypted at rest and never shown, the test
e-mail button, validation, login and CSRF; and demo mode's sandbox mailbox."""

from __future__ import annotations

import logging
from datetime import datetime

import pytest
from werkzeug.test import Client

from pp2eb.alerts import settings as alert_settings
from pp2eb.extensions import db
from pp2eb.models import AlertSettings
from pp2eb.runs import jobs
from pp2eb.sandbox.mail import Mailbox, MailSink
from pp2eb.sandbox.wsgi import create_sandbox
from pp2eb.setup import links
from tests.alert_helpers import FORM, closed_port, mails, page, send_test, sink_server, use
from tests.conftest import csrf_token, stored_text
from tests.engine_helpers import configure, the_link

PASSWORD = "smtp-Geh31m-wachtw00rd"
sink = pytest.fixture(sink_server)


def test_the_smtp_password_is_stored_encrypted_and_never_shown(app, client, auth, caplog):
    caplog.set_level(logging.DEBUG)
    guarded = MailSink(mailbox=Mailbox(credentials=("alerts@shop.example", PASSWORD))).start()
    try:
        auth.login()
        form = {**FORM, "smtp_port": guarded.port, "smtp_username": "alerts@shop.example"}
        form["to_addresses"] = "anna@shop.example; bert@shop.example"
        saved = client.post(
            "/alerts",
            data={**form, "smtp_password": PASSWORD, "csrf_token": csrf_token(client, "/alerts")},
            follow_redirects=True,
        )
        assert "The alert settings are saved." in saved.get_data(as_text=True)
        with app.app_context():
            config = alert_settings.load()
            assert config.smtp.password == PASSWORD and PASSWORD not in repr(config)
            assert config.to == ("anna@shop.example", "bert@shop.example")
        # The test e-mail logs in with the decrypted password.
        sent = send_test(client)
        assert "A test e-mail was sent to anna@shop.example, bert@shop.example." in sent
        [mail] = guarded.mailbox.messages()
        assert mail["subject"] == f"pp2eb ({links.PLACEHOLDER}): test e-mail"
        assert mail["body"].startswith(f"Link: {links.PLACEHOLDER}\n")
        assert mail["to"] == ["anna@shop.example", "bert@shop.example"]

        # Saving with the password left empty keeps the stored one.
        client.post("/alerts", data={**form, "csrf_token": csrf_token(client, "/alerts")})
        with app.app_context():
            assert alert_settings.load().smtp.password == PASSWORD
        # A wrong password: the server's refusal in words, the password nowhere.
        wrong = "not-the-password-123"
        client.post(
            "/alerts",
            data={**form, "smtp_password": wrong, "csrf_token": csrf_token(client, "/alerts")},
        )
        refused = send_test(client)
        assert (
            "The test e-mail could not be sent: The mail server refused the user name or "
            "password (535 5.7.8 Authentication credentials invalid)." in refused
        )
        pages = [saved.get_data(as_text=True), sent, refused, page(client)]
        # Deleting it.
        client.post(
            "/alerts",
            data={**form, "forget_password": "y", "csrf_token": csrf_token(client, "/alerts")},
        )
        with app.app_context():
            assert not alert_settings.load().has_password
    finally:
        guarded.stop()
    places = [*stored_text(app).values(), *pages]
    places.append("\n".join(r.getMessage() for r in caplog.records))
    for text in places:
        assert PASSWORD not in text and wrong not in text


def test_the_test_email_button_says_what_went_wrong(app, client, auth):
    auth.login()
    unset = send_test(client)
    assert "Save a mail server, a from address and an address to send to first." in unset
    port = closed_port()
    use(app, port)
    down = send_test(client)
    assert f"The mail server at 127.0.0.1:{port} refused the connection" in down


def test_the_last_alert_is_dated_in_dutch_time(app, client, auth):
    auth.login()
    use(app, closed_port())
    with app.app_context():
        row = db.session.execute(db.select(AlertSettings)).scalar_one()
        row.last_sent_at = datetime(2026, 12, 31, 23, 30)
        db.session.commit()
    html = page(client)
    assert "Last alert sent: 01-01-2027 00:30 CET" in html and "UTC" not in html
    with app.app_context():
        row = db.session.execute(db.select(AlertSettings)).scalar_one()
        row.last_error, row.last_error_at = "The mail server is down.", datetime(2027, 7, 1, 6)
        db.session.commit()
    assert "(01-07-2027 08:00 CEST): The mail server is down." in page(client)


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("to_addresses", "anna@shop.example, anna.shop.example", "Not an e-mail address: anna"),
        ("to_addresses", "", "Enter at least one address to send to."),
        ("from_address", "pp2eb at the shop", "This is not an e-mail address."),
        ("smtp_host", "", "Enter the mail server to send the e-mails with."),
        ("smtp_port", "0", "A port is a number from 1 to 65535."),
        ("smtp_port", "70000", "A port is a number from 1 to 65535."),
        ("smtp_port", "", "Enter a port number."),
    ],
)
def test_the_form_refuses_what_cannot_work(app, client, auth, field, value, error):
    auth.login()
    data = {**FORM, "smtp_port": "587", field: value, "csrf_token": csrf_token(client, "/alerts")}
    resp = client.post("/alerts", data=data)
    assert resp.status_code == 200
    assert error in resp.get_data(as_text=True)
    with app.app_context():
        assert not alert_settings.load().saved


def test_the_pages_need_a_login_and_every_post_its_csrf_token(app, client, auth):
    assert client.get("/alerts").headers["Location"].startswith("/auth/login")
    auth.login()
    for url in ("/alerts", "/alerts/test"):
        assert client.post(url, data={**FORM, "smtp_port": "25"}).status_code == 400
    with app.app_context():
        assert not alert_settings.load().saved


# --- demo mode and the mailer ---------------------------------------------------------------


def test_demo_mode_sends_to_the_sandbox_mailbox_without_settings(app, client, auth, sandbox, sink):
    app.config.update(DEMO=True, SANDBOX_SMTP_PORT=sink.port)
    configure(app)
    with app.app_context():
        jobs.run("sync", link=the_link())
    [mail] = mails(sink)
    assert mail["to"] == [alert_settings.DEMO_RECIPIENT]
    sandbox_web = Client(create_sandbox(mailbox=sink.mailbox))
    listed = sandbox_web.get("/mail/_sandbox/messages").get_json()
    assert [m["subject"] for m in listed] == [mail["subject"]]
    assert mail["subject"] in sandbox_web.get("/mail/_sandbox/").get_data(as_text=True)
    assert sandbox_web.delete("/mail/_sandbox/messages").get_json() == []
    auth.login()
    assert 'href="http://127.0.0.1:5001/mail/_sandbox/"' in page(client)
