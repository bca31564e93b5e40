"""Serving the app: waitress, plus the sandbox APIs, their SMTP sink and the demo user in demo
mode."""

from __future__ import annotations

import logging
import os
import socket
import sys
import threading

import click
from flask import Flask

from pp2eb import schema
from pp2eb.extensions import db
from pp2eb.models import User

logger = logging.getLogger(__name__)

DEMO_USER = ("demo", "demo")


def start_mail_sink(host: str, port: int):
    """The demo's SMTP sink on ``host:port``, or None (logged) when the port is taken."""
    from pp2eb.sandbox.mail import MailSink

    try:
        return MailSink(host, port).start()
    except OSError as exc:
        logger.warning("the demo mail sink cannot listen on port %s: %s", port, exc)
        return None


def start_sandbox(host: str, port: int, smtp_port: int | None = None) -> threading.Thread:
    """Serve both sandbox APIs on ``host:port`` (and the SMTP sink) in daemon threads.

    OSError when the port is taken: the socket is bound here, because werkzeug's server would
    print its own advice and exit the process instead."""
    from werkzeug.serving import WSGIRequestHandler, make_server

    from pp2eb.sandbox.wsgi import create_sandbox

    listener = socket.create_server((host, port))
    sink = start_mail_sink(host, smtp_port) if smtp_port else None

    class Handler(WSGIRequestHandler):
        def log_request(self, code="-", size="-") -> None:
            # The sandbox's access log at DEBUG: in demo mode it would drown the app's own log.
            logger.debug("sandbox %s %s", self.requestline, code)

    wsgi = create_sandbox(mailbox=sink.mailbox if sink else None)
    with listener:  # werkzeug serves on its own copy of the bound socket
        server = make_server(
            host, port, wsgi, threaded=True, request_handler=Handler, fd=listener.fileno()
        )
    thread = threading.Thread(target=server.serve_forever, name="sandbox", daemon=True)
    thread.start()
    return thread


def _reason(exc: OSError) -> str:
    """The OS's reason ("Address already in use"), without the address it goes on to name."""
    return os.strerror(exc.errno) if exc.errno else str(exc)


def ensure_demo_user(app: Flask) -> None:
    """Create the demo login when it does not exist yet; on a new install, with the demo's links."""
    from pp2eb.web.auth import create_user

    with app.app_context():
        exists = db.session.execute(db.select(User).filter_by(username=DEMO_USER[0])).first()
        if not exists:
            create_user(*DEMO_USER)
            add_demo_links()


def add_demo_links() -> None:
    """On a new install (one link, named after nothing yet, nothing connected), the demo's
    links: one per demo tenant of the sandbox, each to be connected with its own demo keys.
    Never again after that: a demo link that was removed stays removed."""
    from pp2eb.models import Credential
    from pp2eb.sandbox import DEMO_TENANTS
    from pp2eb.setup import links

    live = links.live()
    if len(live) != 1 or live[0].name != links.PLACEHOLDER:
        return
    if db.session.execute(db.select(Credential.id).filter_by(link_id=live[0].id)).first():
        return
    live[0].name = DEMO_TENANTS[0].name
    db.session.commit()
    for tenant in DEMO_TENANTS[1:]:
        if links.by_name(tenant.name) is None:
            links.add(tenant.name)


def main(app: Flask) -> None:
    """Serve until stopped; print the address and, in demo mode, the login."""
    import waitress

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # The scheduler ticks every minute; its own "running job" lines would fill the log.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    # The database check (pp2eb.schema) reads alembic's revision; its "Context impl" lines too.
    logging.getLogger("alembic.runtime.migration").setLevel(logging.WARNING)
    with app.app_context():
        problem = schema.problem()
    if problem:
        sys.exit(problem)  # before the demo user and the scheduler touch the database
    cfg = app.config
    host, port = cfg.get("HOST", "127.0.0.1"), int(cfg.get("PORT", 5000))
    if cfg["DEMO"]:
        try:
            start_sandbox(cfg["SANDBOX_HOST"], cfg["SANDBOX_PORT"], cfg["SANDBOX_SMTP_PORT"])
        except OSError as exc:
            sys.exit(
                f"The sandbox cannot listen on port {cfg['SANDBOX_PORT']}: {_reason(exc)}. "
                "Stop the program that uses it, or choose another port, e.g. "
                "PP2EB_SANDBOX_PORT=5051 make run"
            )
        ensure_demo_user(app)
    try:
        # Bound before anything is printed or started: a taken port is one line, not a trace.
        server = waitress.create_server(app, host=host, port=port, threads=8)
    except OSError as exc:
        sys.exit(
            f"pp2eb cannot listen on {host}:{port}: {_reason(exc)}. Stop the program "
            "that uses it, or choose another port, e.g. PP2EB_PORT=5050 make run"
        )
    from pp2eb.runs import scheduler

    scheduler.start(app)
    click.echo(f"\n  pp2eb is running at http://{host}:{port}")
    if cfg["DEMO"]:
        click.echo("  Demo mode: log in as demo / demo (sandbox APIs, no real accounts)")
    click.echo("  Stop with Ctrl+C\n")
    try:
        server.run()
    except KeyboardInterrupt:  # Ctrl+C is how a person stops it: no traceback
        click.echo("\n  pp2eb stopped.")
    finally:
        server.close()
