"""Runs started from the browser ("Sync now", "Export existing invoices", "Retry").

The request returns at once; the run goes on in a thread of its own with its own app context,
so leaving the page does not stop it. The dashboard follows it through the run's row.
"""

from __future__ import annotations

import logging
import threading

from flask import Flask, current_app

from pp2eb.extensions import db
from pp2eb.models import Link
from pp2eb.runs import jobs
from pp2eb.runs import webhooks as webhook_runs

logger = logging.getLogger(__name__)


def start(kind: str, link: Link, **kwargs) -> threading.Thread:
    """Start ``jobs.run(kind, link=link, **kwargs)`` in the background."""
    app: Flask = current_app._get_current_object()
    # The link's id, not the object: the thread reads it in a session of its own.
    thread = threading.Thread(
        target=_run, args=(app, kind, link.id, kwargs), name=f"pp2eb-{kind}", daemon=True
    )
    thread.start()
    app.extensions.setdefault("pp2eb_threads", []).append(thread)
    return thread


def _run(app: Flask, kind: str, link_id: int, kwargs: dict) -> None:
    with app.app_context():
        try:
            result = jobs.run(kind, link=db.session.get(Link, link_id), **kwargs)
            logger.info("%s run %s: %s", kind, result.run_id, result.status)
        except jobs.NotReady as exc:
            logger.info("%s run not started: %s", kind, exc)
        except Exception:
            logger.exception("%s run failed", kind)
        try:
            # Webhooks that came while this run held the lease wait in the queue: book them now.
            webhook_runs.kick_if_waiting(app)
        except Exception:
            logger.exception("the webhook queue was not looked at; the next tick does")
