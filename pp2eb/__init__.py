"""pp2eb: books Plug&Pay orders into e-Boekhouden.nl, each exactly once.

The packages, from the APIs up to the web (each one's docstring names its modules):

* ``apis/``: the Plug&Pay and e-Boekhouden clients, their shared HTTP loop, errors and the
  words for people about those errors. No Flask, no database.
* ``mapping/``: pure: a raw Plug&Pay order and the settings in, a booking request (or a
  reason) out. No clock, no database, no HTTP.
* ``engine/``: a run: which orders to book, each booked exactly once (intent, write,
  confirm), payments, relations, the order store and the run log; the dry run.
* ``runs/``: who starts the engine: ``jobs`` (the one way in), the scheduler, the browser's
  background runs, the webhook inbox and its drain.
* ``setup/``: the links (one Plug&Pay account into one administration each), their
  connections (keys checked live, encrypted), live look-ups, the shop's settings as stored,
  app state.
* ``alerts/``: alert e-mails. ``reports/``: reconciliation, OSS return and watch, the
  dashboard's read models.
* ``cli/``: the ``flask`` commands. ``web/``: the blueprints (pages and HTMX fragments).
* ``sandbox/``: fakes of both APIs, for tests, benchmarks and demo mode.

At the top: this app factory, ``extensions`` and ``models`` (the database), ``states`` (the
states stored there and a run's counters, as enums, with their words), ``schema`` (is the
database at this release's revision), ``dbconfig`` (the database URL; SQLite's and
PostgreSQL's settings), ``backup``, ``serve`` (waitress and demo mode), ``dutchtime`` and
``jsonutil`` (exact money in JSON). Migrations are in ``migrations/``, translations in
``translations/``.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from flask import Flask

from pp2eb import dbconfig
from pp2eb.extensions import babel, csrf, db, migrate
from pp2eb.setup import crypto
from pp2eb.web.languages import remember_language, select_locale

__version__ = "0.1.0"


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app: config, database, migrations, CSRF, translations, blueprints, commands."""
    instance_path = os.environ.get("PP2EB_INSTANCE_PATH") or None
    if instance_path:
        instance_path = os.path.abspath(instance_path)
    app = Flask(
        __name__,
        instance_path=instance_path,
        instance_relative_config=True,
        root_path=str(Path(__file__).resolve().parent.parent),
    )
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)

    app.config.from_mapping(
        SECRET_KEY=None,
        ENCRYPTION_KEY=None,
        # SQLite in the instance folder, or PostgreSQL: postgresql+psycopg://USER:PW@HOST/DB.
        SQLALCHEMY_DATABASE_URI=os.environ.get("PP2EB_DATABASE_URL")
        or f"sqlite:///{Path(app.instance_path) / 'pp2eb.sqlite'}",
        DEMO=False,
        # The scheduler in `python app.py`; false for web processes beside a `flask scheduler`.
        SCHEDULER=True,
        SANDBOX_HOST="127.0.0.1",
        SANDBOX_PORT=5001,
        SANDBOX_SMTP_PORT=5025,  # demo mode's SMTP sink, on SANDBOX_HOST
        PLUGANDPAY_BASE_URL=None,
        EBOEKHOUDEN_BASE_URL=None,
        HTTP_TIMEOUT=30.0,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=False,
        # Failed log-ins: per user name, per client address, and how long a lock lasts.
        LOGIN_MAX_FAILURES=5,
        LOGIN_MAX_FAILURES_PER_ADDRESS=20,
        LOGIN_LOCK_MINUTES=15,
        WTF_CSRF_TIME_LIMIT=None,
        # Where Plug&Pay reaches this app for webhooks; None: the address the browser uses.
        PUBLIC_URL=None,
        WEBHOOK_MAX_PER_MINUTE=120,
        WEBHOOK_MAX_QUEUE=5000,
        MAX_PARALLEL_LINKS=4,  # links that sync at once (pp2eb.runs.scheduler)
        BABEL_DEFAULT_LOCALE="en",
    )
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env("PP2EB")
    if test_config:
        app.config.update(test_config)
    if not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = crypto.read_or_create_private_file(
            Path(app.instance_path) / "secret_key", lambda: secrets.token_hex(32).encode()
        ).decode()
    app.extensions["pp2eb_vault"] = crypto.load_vault(
        app.config["ENCRYPTION_KEY"], app.instance_path
    )

    from pp2eb.runs import scheduler

    # Not a number >= 1: ConfigError, said in app.py. Read before the database's pool is sized.
    app.config["MAX_PARALLEL_LINKS"] = scheduler.max_parallel_links(app.config)
    dbconfig.configure(app)  # a URL pp2eb cannot use: DatabaseURLError, said in app.py
    db.init_app(app)
    migrate.init_app(
        app, db, directory=str(Path(__file__).parent / "migrations"), render_as_batch=True
    )
    csrf.init_app(app)
    babel.init_app(
        app,
        locale_selector=select_locale,
        default_translation_directories=str(Path(__file__).parent / "translations"),
    )
    app.before_request(remember_language)

    from pp2eb import cli, schema
    from pp2eb.web import (
        alerts,
        auth,
        connect,
        current,
        dashboard,
        export,
        hooks,
        htmx,
        realtime,
        reports,
        security,
        template_helpers,
        wizard,
    )

    dbconfig.init_app(app)
    schema.init_app(app)  # before the blueprints: their hooks read the database
    security.init_app(app)
    template_helpers.register(app)  # every filter and global the templates use
    app.register_blueprint(auth.bp)
    current.init_app(app)  # after auth: which links a user may see needs the user
    app.register_blueprint(alerts.bp)
    app.register_blueprint(connect.bp)
    app.register_blueprint(dashboard.bp)
    app.register_blueprint(export.bp)
    app.register_blueprint(reports.bp)
    app.register_blueprint(wizard.bp)
    app.register_blueprint(htmx.bp)
    app.register_blueprint(hooks.bp)
    app.register_blueprint(realtime.bp)
    cli.init_app(app)
    return app
