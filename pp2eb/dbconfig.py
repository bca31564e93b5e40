"""The database's URL and connection settings: SQLite (the default) or PostgreSQL.

SQLite: WAL, a busy timeout and foreign keys on every connection. PostgreSQL has a write-ahead
log and enforces foreign keys by itself; it gets the busy timeout's counterpart (a lock
timeout), UTC as the session's time zone (pp2eb stores times as naive UTC), a connect timeout,
a ping before a pooled connection is used again (the server may have restarted), and text
without NUL characters (``TextWithoutNul``).
"""

from __future__ import annotations

from flask import Flask
from psycopg.adapt import Dumper
from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from pp2eb.extensions import db

BUSY_TIMEOUT_MS = 15_000
CONNECT_TIMEOUT_S = 10
POOL_SIZE = 5  # SQLAlchemy's default, the least a PostgreSQL pool keeps
EXAMPLE = "postgresql+psycopg://USER:PASSWORD@HOST/DATABASE"


class DatabaseURLError(Exception):
    """The configured database URL cannot be used; the message says why, in one line."""


def database_url(uri: str) -> URL:
    """``uri`` as a URL pp2eb can use (``postgresql://`` means psycopg 3); DatabaseURLError
    when it is no URL or names a database or driver pp2eb does not run on."""
    try:
        url = make_url(uri)
    except ArgumentError:
        raise DatabaseURLError(
            f"The database URL (PP2EB_DATABASE_URL) is not a URL; write it as {EXAMPLE}."
        ) from None
    backend, driver = url.get_backend_name(), url.get_driver_name()
    if backend == "postgresql" and "+" not in url.drivername:
        return url.set(drivername="postgresql+psycopg")
    if backend == "sqlite" or (backend, driver) == ("postgresql", "psycopg"):
        return url
    raise DatabaseURLError(
        f"pp2eb runs on SQLite or on PostgreSQL with psycopg 3, not on {url.drivername}; "
        f"write the database URL (PP2EB_DATABASE_URL) as {EXAMPLE}."
    )


def configure(app: Flask) -> None:
    """Before ``db.init_app``: check the URL (DatabaseURLError) and add PostgreSQL's engine
    options to SQLALCHEMY_ENGINE_OPTIONS."""
    given = app.config["SQLALCHEMY_DATABASE_URI"]
    url = database_url(given)
    if url.drivername != make_url(given).drivername:
        app.config["SQLALCHEMY_DATABASE_URI"] = url.render_as_string(hide_password=False)
    if url.get_backend_name() != "postgresql":
        return
    options = app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {})
    connect_args = {"connect_timeout": CONNECT_TIMEOUT_S, **options.get("connect_args", {})}
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {
        "pool_pre_ping": True,
        # Each link syncing holds a connection for its run (MAX_PARALLEL_LINKS at once, in
        # threads: pp2eb.runs.scheduler); the tick itself and a web page want one meanwhile.
        "pool_size": max(POOL_SIZE, app.config.get("MAX_PARALLEL_LINKS", 1) + 2),
        **options,
        "connect_args": connect_args,
    }


def reason(exc: Exception) -> str:
    """The database driver's words for ``exc``, on one line (psycopg's span several)."""
    text = str(getattr(exc, "orig", None) or type(exc).__name__)
    return " ".join(line.strip(" \t-") for line in text.splitlines() if line.strip(" \t-"))


def _on_connect_sqlite(dbapi_connection, _record) -> None:
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


class TextWithoutNul(Dumper):
    """A Python str as PostgreSQL text, a NUL character (which PostgreSQL's text cannot hold and
    SQLite's can) replaced by U+FFFD: an order or a form with one is stored, not refused."""

    oid = 0  # unknown, as psycopg's own: PostgreSQL takes the type from the statement

    def __init__(self, cls, context=None) -> None:
        super().__init__(cls, context)
        self.encoding = self.connection.info.encoding if self.connection else "utf-8"

    def dump(self, obj: str) -> bytes:
        return obj.replace("\x00", "\ufffd").encode(self.encoding)


def _on_connect_postgresql(dbapi_connection, _record) -> None:
    dbapi_connection.adapters.register_dumper(str, TextWithoutNul)
    with dbapi_connection.cursor() as cursor:
        # Like SQLite's busy timeout: a writer waits for another's lock, but not forever.
        cursor.execute(f"SET lock_timeout = {BUSY_TIMEOUT_MS}")
        # Times are stored without a zone, in UTC; CURRENT_TIMESTAMP must be UTC too, as on
        # SQLite, whatever the server's own zone is.
        cursor.execute("SET TIME ZONE 'UTC'")
    dbapi_connection.commit()  # psycopg opened a transaction: the settings must outlive it


def init_app(app: Flask) -> None:
    """Install the connection settings on this app's engine."""
    with app.app_context():
        name = db.engine.dialect.name
        if name == "sqlite":
            event.listen(db.engine, "connect", _on_connect_sqlite)
        elif name == "postgresql":
            event.listen(db.engine, "connect", _on_connect_postgresql)
