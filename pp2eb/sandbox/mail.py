"""A tiny SMTP server for demo mode and tests that keeps every mail it receives in memory.

It speaks just enough SMTP for smtplib: EHLO/HELO, AUTH PLAIN, MAIL, RCPT, DATA, RSET, NOOP and
QUIT; no TLS (the demo settings use "none", and STARTTLS is refused as unsupported). Built on
``socketserver``, since ``smtpd`` left Python in 3.12. With ``credentials`` set it refuses any
other user name or password, as a real server would. ``create_app(mailbox)`` lists what arrived
under ``/_sandbox/messages`` (JSON; DELETE empties it) and ``/_sandbox/`` (a page for people);
``pp2eb.sandbox.wsgi.create_sandbox`` mounts it at ``/mail``.
"""

from __future__ import annotations

import base64
import binascii
import re
import socketserver
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes, policy

from flask import Flask, jsonify, render_template_string

MAX_LINE = 1000
MAX_SIZE = 5 * 1024 * 1024
_PATH = re.compile(r"<([^>]*)>")


@dataclass(frozen=True)
class Received:
    """One mail as the server took it."""

    mail_from: str
    rcpt_to: tuple[str, ...]
    data: bytes
    received_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def as_dict(self) -> dict:
        """Envelope, subject and plain-text body."""
        message = message_from_bytes(self.data, policy=policy.default)
        body = message.get_body(("plain",))
        return {
            "from": self.mail_from,
            "to": list(self.rcpt_to),
            "subject": str(message.get("Subject", "")),
            "body": body.get_content().replace("\r\n", "\n") if body is not None else "",
            "received_at": self.received_at.isoformat(timespec="seconds"),
        }


class Mailbox:
    """The received mails, oldest first; thread-safe."""

    def __init__(self, credentials: tuple[str, str] | None = None) -> None:
        self.credentials = credentials
        self._lock = threading.Lock()
        self._messages: list[Received] = []

    def add(self, received: Received) -> None:
        with self._lock:
            self._messages.append(received)

    def messages(self) -> list[dict]:
        """Every mail so far as ``Received.as_dict``."""
        with self._lock:
            kept = list(self._messages)
        return [item.as_dict() for item in kept]

    def clear(self) -> None:
        with self._lock:
            self._messages.clear()


class _Session(socketserver.StreamRequestHandler):
    timeout = 30

    def handle(self) -> None:
        box: Mailbox = self.server.mailbox
        self._reply("220 pp2eb sandbox SMTP ready")
        sender, recipients, authed = None, [], box.credentials is None
        while line := self.rfile.readline(MAX_LINE + 2):
            verb, _, arg = line.decode("utf-8", "replace").rstrip("\r\n").partition(" ")
            verb = verb.upper()
            if verb == "EHLO":
                self._reply("250-pp2eb-sandbox", "250-8BITMIME", "250-SMTPUTF8", "250 AUTH PLAIN")
            elif verb == "HELO":
                self._reply("250 pp2eb-sandbox")
            elif verb == "AUTH":
                authed = self._auth(arg, box) or authed
            elif verb == "MAIL" and not authed:
                self._reply("530 5.7.0 Authentication required")
            elif verb == "MAIL":
                sender, recipients = _path(arg), []
                self._reply("250 OK")
            elif verb == "RCPT" and sender is not None:
                recipients.append(_path(arg))
                self._reply("250 OK")
            elif verb == "DATA" and recipients:
                self._data(box, sender, recipients)
                sender, recipients = None, []
            elif verb in ("RCPT", "DATA"):
                self._reply("503 5.5.1 Bad sequence of commands")
            elif verb in ("RSET", "NOOP"):
                if verb == "RSET":
                    sender, recipients = None, []
                self._reply("250 OK")
            elif verb == "QUIT":
                self._reply("221 Bye")
                return
            else:
                self._reply("502 5.5.2 Command not implemented")

    def _auth(self, arg: str, box: Mailbox) -> bool:
        mechanism, _, answer = arg.partition(" ")
        if mechanism.upper() != "PLAIN":
            self._reply("504 5.5.4 Unrecognized authentication type")
            return False
        if not answer:
            self._reply("334 ")
            answer = self.rfile.readline(MAX_LINE + 2).decode("ascii", "replace").strip()
        try:
            _zid, user, password = base64.b64decode(answer).decode("utf-8").split("\0")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            self._reply("501 5.5.2 Cannot decode the answer")
            return False
        if box.credentials is not None and (user, password) != box.credentials:
            self._reply("535 5.7.8 Authentication credentials invalid")
            return False
        self._reply("235 2.7.0 Authentication successful")
        return True

    def _data(self, box: Mailbox, sender: str, recipients: list[str]) -> None:
        self._reply("354 End data with <CR><LF>.<CR><LF>")
        lines, size = [], 0
        while line := self.rfile.readline(MAX_LINE + 2):
            if line in (b".\r\n", b".\n"):
                break
            size += len(line)
            lines.append(line[1:] if line.startswith(b"..") else line)
        else:
            return  # the client went away in the middle
        if size > MAX_SIZE:
            self._reply("552 5.3.4 Message too big")
            return
        box.add(Received(sender, tuple(recipients), b"".join(lines)))
        self._reply("250 OK: queued")

    def _reply(self, *lines: str) -> None:
        self.wfile.write("".join(f"{line}\r\n" for line in lines).encode("utf-8"))


def _path(arg: str) -> str:
    """The address of ``FROM:<a@b> SIZE=1`` or ``TO:<a@b>``."""
    match = _PATH.search(arg)
    return match.group(1) if match else arg.partition(":")[2].strip()


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], mailbox: Mailbox) -> None:
        self.mailbox = mailbox
        super().__init__(address, _Session)


class MailSink:
    """The SMTP server in a daemon thread; ``port`` 0 picks a free one."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, mailbox: Mailbox | None = None):
        self.mailbox = mailbox or Mailbox()
        self._server = _Server((host, port), self.mailbox)
        self.host, self.port = self._server.server_address[:2]
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="sandbox-smtp", daemon=True
        )

    def start(self) -> MailSink:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


PAGE = """<!doctype html><meta charset="utf-8"><title>Sandbox mailbox</title>
<h1>Sandbox mailbox</h1><p>{{ messages|length }} mail(s), newest first.</p>
{% for m in messages|reverse %}<article><h2>{{ m.subject }}</h2>
<p>{{ m.received_at }} · from {{ m.from }} to {{ m.to|join(', ') }}</p>
<pre>{{ m.body }}</pre></article>{% endfor %}"""


def create_app(mailbox: Mailbox) -> Flask:
    """The mailbox's control routes: what arrived, as JSON or as a page."""
    app = Flask(__name__)

    @app.get("/_sandbox/messages")
    def messages():
        return jsonify(mailbox.messages())

    @app.delete("/_sandbox/messages")
    def clear():
        mailbox.clear()
        return jsonify([])

    @app.get("/_sandbox/")
    def page():
        return render_template_string(PAGE, messages=mailbox.messages())

    return app
