"""SQLite connection settings: WAL, a busy timeout and foreign keys on every connection."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import event

from pp2eb.extensions import db

BUSY_TIMEOUT_MS = 15_000


def _on_connect(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the dashboard read while a sync writes; the busy timeout makes a writer wait
    # for another instead of failing at once with "database is locked".
    cursor.execute("PRAGMA journal_mode=WAL")
    # In WAL mode NORMAL syncs at checkpoints, not at every commit. A process crash (kill -9)
    # loses nothing: the commit is in the WAL file. Power loss may undo the last commits, never
    # corrupt the file; an intent undone that way is caught before a second booking by
    # e-Boekhouden itself (paymentReference with checkPaymentReference, the invoice number),
    # whose refusal makes the engine look the booking up and mark the order booked.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def init_app(app: Flask) -> None:
    """Install the connection hook on this app's SQLite engine."""
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        return
    with app.app_context():
        event.listen(db.engine, "connect", _on_connect)
