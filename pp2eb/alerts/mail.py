"""Sending alert e-mails: a small ``Mailer`` that hands a ``Mail`` to an SMTP server.

No Flask app, request or database here (the texts are in ``pp2eb.alerts.texts``, the decisions
of when to send in ``pp2eb.alerts.dispatch``). Every step has a timeout, and a failure becomes a
``MailError`` that says in words what went wrong, without the password.
"""

from __future__ import annotations

import logging
import re
import smtplib
import socket
import ssl
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from flask_babel import gettext as _

logger = logging.getLogger(__name__)

NONE, STARTTLS, SSL = "none", "starttls", "ssl"
TIMEOUT = 10.0  # seconds for the connection and each SMTP command
_ADDRESS = re.compile(r"^[^@\s,;<>()\[\]\"']+@[\w-]+(\.[\w-]+)+$")


def split_addresses(text: str) -> list[str]:
    """The addresses in ``text``, separated by commas, semicolons or spaces."""
    return [part for part in re.split(r"[,;\s]+", text or "") if part]


def valid_address(address: str) -> bool:
    """True for a plain ``name@domain.tld`` address."""
    return bool(_ADDRESS.match(address)) and len(address) <= 254


@dataclass(frozen=True)
class SmtpSettings:
    """Where to hand mail over; ``password`` only in memory, never in a repr or message."""

    host: str
    port: int
    security: str = STARTTLS
    username: str = ""
    password: str | None = field(default=None, repr=False)
    from_address: str = ""


@dataclass(frozen=True)
class Mail:
    """One alert: a subject and a plain-text body."""

    subject: str
    body: str


class MailError(Exception):
    """The mail could not be handed over; ``str()`` says why in words, without the password."""


class Mailer:
    """Sends mail with smtplib, with a timeout on every step."""

    def __init__(self, smtp: SmtpSettings, *, timeout: float = TIMEOUT) -> None:
        self.smtp, self.timeout = smtp, timeout

    def __repr__(self) -> str:
        return f"Mailer({self.smtp.host!r}, {self.smtp.port}, {self.smtp.security!r})"

    def send(self, mail: Mail, to: Sequence[str]) -> None:
        """Hand ``mail`` to the server for ``to``; raise MailError when that fails."""
        message = EmailMessage()
        message["Subject"] = mail.subject
        message["From"] = self.smtp.from_address
        message["To"] = ", ".join(to)
        message["Date"] = formatdate(localtime=True)
        message["Message-ID"] = make_msgid(domain=self.smtp.from_address.rpartition("@")[2])
        message.set_content(mail.body)
        try:
            with self._connect() as server:
                if self.smtp.security == STARTTLS:
                    server.starttls(context=ssl.create_default_context())
                    server.ehlo()
                if self.smtp.username:
                    server.login(self.smtp.username, self.smtp.password or "")
                server.send_message(message, self.smtp.from_address, list(to))
        except (smtplib.SMTPException, OSError) as exc:
            raise MailError(self._scrub(self.explain(exc))) from exc

    def _connect(self) -> smtplib.SMTP:
        host, port = self.smtp.host, self.smtp.port
        if self.smtp.security == SSL:
            context = ssl.create_default_context()
            return smtplib.SMTP_SSL(host, port, timeout=self.timeout, context=context)
        return smtplib.SMTP(host, port, timeout=self.timeout)

    def explain(self, exc: Exception) -> str:
        """What went wrong with the mail server, for a person."""
        where = f"{self.smtp.host}:{self.smtp.port}"
        if isinstance(exc, smtplib.SMTPAuthenticationError):
            return _(
                "The mail server refused the user name or password (%(reply)s).", reply=_reply(exc)
            )
        if isinstance(exc, smtplib.SMTPNotSupportedError):
            return _(
                "The mail server does not offer what the settings ask for (%(detail)s). "
                "Check the security setting and the user name.",
                detail=exc,
            )
        if isinstance(exc, smtplib.SMTPRecipientsRefused):
            return _(
                "The mail server refused the address(es) %(to)s.", to=", ".join(exc.recipients)
            )
        if isinstance(exc, smtplib.SMTPSenderRefused):
            return _(
                "The mail server refused the sender address %(sender)s (%(reply)s).",
                sender=exc.sender,
                reply=_reply(exc),
            )
        if isinstance(exc, smtplib.SMTPResponseException):
            return _("The mail server refused the mail (%(reply)s).", reply=_reply(exc))
        # smtplib turns a read that timed out into "disconnected"; the timeout is its context.
        if isinstance(exc, TimeoutError) or isinstance(exc.__context__, TimeoutError):
            return _(
                "The mail server at %(where)s did not answer within %(seconds)s seconds.",
                where=where,
                seconds=f"{self.timeout:g}",
            )
        if isinstance(exc, smtplib.SMTPServerDisconnected):
            return _(
                "The mail server at %(where)s closed the connection. Check the port and "
                "the security setting.",
                where=where,
            )
        if isinstance(exc, ssl.SSLError):
            return _(
                "The secure connection to %(where)s failed (%(reason)s). Check the port "
                "and the security setting.",
                where=where,
                reason=exc.reason or type(exc).__name__,
            )
        if isinstance(exc, ConnectionRefusedError):
            return _(
                "The mail server at %(where)s refused the connection: is the address "
                "right and the server running?",
                where=where,
            )
        if isinstance(exc, socket.gaierror):
            return _("The mail server name %(host)s is unknown.", host=self.smtp.host)
        return _(
            "The mail server at %(where)s could not be reached (%(detail)s).",
            where=where,
            detail=exc.strerror or type(exc).__name__,
        )

    def _scrub(self, text: str) -> str:
        secret = self.smtp.password
        return text.replace(secret, "***") if secret and len(secret) > 1 else text


def _reply(exc: smtplib.SMTPResponseException) -> str:
    text = exc.smtp_error
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"{exc.smtp_code} {text}".strip()
