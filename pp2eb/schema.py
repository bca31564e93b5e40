"""Is the database set up, at this release's revision? Asked before a command or a page uses it.

A database that was never migrated (``flask sync`` before ``make migrate``), or one an earlier
release made, would fail at the first query with SQLAlchemy's error and its SQL. Instead each
``flask`` command that uses the database (``needs_database``), ``python app.py`` and every page
(``init_app``) stop with one line saying what to run.

Chosen over upgrading by itself: the web app, its scheduler and a ``flask sync`` from cron could
each start an upgrade of the one database at the same moment, and an upgrade is a step the
owner takes on purpose, after ``flask backup`` (README, "Upgrading"). ``flask db`` and
``flask backup`` are not guarded: they are the way to a database that is ready.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

import click
import sqlalchemy.exc
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask, current_app, render_template, request
from flask_babel import gettext as _

from pp2eb import dbconfig
from pp2eb.engine.runstate import database_trouble
from pp2eb.extensions import db

logger = logging.getLogger(__name__)

# The app.extensions key set once the database was found ready: pages stop asking.
READY = "pp2eb_database_ready"
RUN = "make migrate"


def problem() -> str | None:
    """What keeps the current app's database from being used, in one line; None when ready."""
    try:
        with db.engine.connect() as conn:
            current = set(MigrationContext.configure(conn).get_current_heads())
    except sqlalchemy.exc.SQLAlchemyError as exc:
        return cannot_open(exc)
    scripts = ScriptDirectory(current_app.extensions["migrate"].directory)
    if current == set(scripts.get_heads()):
        return None
    if not current:
        return _(
            "The database is not set up yet: run `%(command)s` (or `flask --app app db upgrade`).",
            command=RUN,
        )
    if current - {script.revision for script in scripts.walk_revisions()}:
        return _("The database was made by a newer release of pp2eb: install that release.")
    return _(
        "The database is from an earlier release of pp2eb: run `%(command)s` to upgrade it.",
        command=RUN,
    )


def cannot_open(exc: Exception) -> str:
    """What to tell a person when the database cannot be opened at all (on PostgreSQL also: a
    server that cannot be reached, a wrong password, a database that does not exist)."""
    return _("The database cannot be opened (%(reason)s).", reason=dbconfig.reason(exc))


def needs_database(command: Callable[..., Any]) -> Callable[..., Any]:
    """For a ``flask`` command: stop with one line while the database is not ready, and say in
    words, without SQL, when it fails underway (locked, read-only, disk full)."""

    @functools.wraps(command)
    def checked(*args: Any, **kwargs: Any) -> Any:
        message = problem()
        if message:
            raise click.ClickException(message)
        try:
            return command(*args, **kwargs)
        except sqlalchemy.exc.SQLAlchemyError as exc:
            logger.debug("flask %s failed on the database", command.__name__, exc_info=True)
            raise click.ClickException(database_trouble(exc)) from exc

    return checked


def init_app(app: Flask) -> None:
    """Answer every page (but static files) with what to run until the database is ready."""
    app.before_request(_page_unless_ready)


def _page_unless_ready():
    if current_app.extensions.get(READY) or request.endpoint == "static":
        return None
    message = problem()
    if message is None:
        current_app.extensions[READY] = True
        return None
    return render_template("database.html", message=message), 503
