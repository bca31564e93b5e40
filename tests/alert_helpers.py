"""Shared pieces of the alert tests: an SMTP sink on loopback and stored alert settings."""

from __future__ import annotations

import socket

from pp2eb.alerts import settings as alert_settings
from pp2eb.alerts.mail import NONE
from pp2eb.sandbox.mail import MailSink
from tests.conftest import csrf_token

SETTINGS = {
    "smtp_host": "127.0.0.1",
    "smtp_security": NONE,
    "smtp_username": "",
    "from_address": "pp2eb@shop.example",
    "to_addresses": "anna@shop.example",
    "alerts_enabled": True,
    "summary_enabled": False,
    "summary_hour": 8,
    "language": "en",
}
FORM = {**SETTINGS, "alerts_enabled": "y", "summary_enabled": "", "summary_hour": "8"}


def sink_server():
    """An SMTP server on a free loopback port that keeps what it receives (a fixture)."""
    server = MailSink().start()
    yield server
    server.stop()


def use(app, port: int, password: str | None = None, **values) -> None:
    """Store alert settings that send to ``port`` on loopback."""
    with app.app_context():
        alert_settings.save({**SETTINGS, "smtp_port": port, **values}, password)


def mails(sink) -> list[dict]:
    return sink.mailbox.messages()


def closed_port() -> int:
    """A loopback port nobody listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def page(client, at: str = "") -> str:
    """The alerts page (``at``: a link's address, ``/links/<id>``, else the only link's)."""
    return client.get(f"{at}/alerts").get_data(as_text=True)


def send_test(client, at: str = "") -> str:
    """Press "Send test e-mail"; the page it leads to."""
    token = csrf_token(client, f"{at}/alerts")
    resp = client.post(f"{at}/alerts/test", data={"csrf_token": token}, follow_redirects=True)
    return resp.get_data(as_text=True)
