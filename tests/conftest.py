"""Fixtures: the app on a fresh database, its clients, and both sandboxes over loopback.

The database is an SQLite file in the test's folder, or, with ``PP2EB_TEST_DATABASE_URL`` set
(``make test-postgres``, ``tests/pg_run.py``), a database of its own on that PostgreSQL server.
"""

from __future__ import annotations

import itertools
import os
import re
import threading
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa
import time_machine
from cryptography.fernet import Fernet
from flask_migrate import upgrade
from sqlalchemy.pool import NullPool
from werkzeug.serving import WSGIRequestHandler, make_server

from pp2eb import create_app
from pp2eb.extensions import db
from pp2eb.sandbox import base_urls
from pp2eb.sandbox.wsgi import create_sandbox
from pp2eb.web.auth import create_user
from tests.clock import DEMO_NOW, DEMO_TODAY

CSRF_INPUT = re.compile(
    r'name="csrf_token" type="hidden" value="([^"]+)"|'
    r'name="csrf_token" value="([^"]+)"'
)


# Every test runs at DEMO_NOW (tests/clock.py) but those marked `dates`, which read the real clock.
PINNED_CLOCK = time_machine.travel(DEMO_NOW, tick=True)


def pytest_configure(config) -> None:
    PINNED_CLOCK.start()
    # A person's own database (PP2EB_DATABASE_URL in their shell) is never a test's: tests that
    # rely on the default get the instance folder's SQLite file.
    os.environ.pop("PP2EB_DATABASE_URL", None)


def pytest_collection_modifyitems(config, items) -> None:
    """On SQLite, leave out the tests marked ``postgres`` (as ``tests/pg_run.py`` leaves out
    those marked ``sqlite``): deselected, not skipped, for there is nothing to skip on SQLite."""
    if POSTGRES:
        return
    kept, left_out = [], []
    for item in items:
        (left_out if item.get_closest_marker("postgres") else kept).append(item)
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = kept


def pytest_unconfigure(config) -> None:
    PINNED_CLOCK.stop()


@pytest.fixture(autouse=True)
def _real_clock_for_dates_tests(request):
    """A test marked `dates` sees the machine's clock (faked by `make test-dates`)."""
    if request.node.get_closest_marker("dates") is None:
        yield
        return
    PINNED_CLOCK.stop()
    try:
        yield
    finally:
        PINNED_CLOCK.start()


class Sandbox:
    """Both sandbox APIs served on a loopback port, with their control endpoints."""

    def __init__(self, host: str, port: int) -> None:
        self.urls = base_urls(host, port)
        self.root = f"http://{host}:{port}"

    @property
    def plugandpay_url(self) -> str:
        return self.urls["plugandpay"]

    @property
    def eboekhouden_url(self) -> str:
        return self.urls["eboekhouden"]

    def control(self, api: str, method: str, path: str, **kwargs) -> requests.Response:
        """Call ``/_sandbox/<path>`` of ``api`` ("plugandpay" or "eboekhouden")."""
        resp = requests.request(method, f"{self.root}/{api}/_sandbox/{path}", timeout=10, **kwargs)
        resp.raise_for_status()
        return resp

    def reset(self) -> None:
        self.control("plugandpay", "POST", "reset")
        self.control("eboekhouden", "POST", "reset")


class QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs) -> None:
        """The sandbox's access log would drown the test output."""


@pytest.fixture(scope="session")
def sandbox_server():
    server = make_server(
        "127.0.0.1",
        0,
        create_sandbox(today=DEMO_TODAY),
        threaded=True,
        request_handler=QuietHandler,
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Sandbox("127.0.0.1", server.server_port)
    server.shutdown()


@pytest.fixture
def sandbox(sandbox_server):
    """The sandboxes, back at their seed data with no faults or limits.

    Every Plug&Pay answer the test got was in the contract (the sandbox checks each one).
    """
    sandbox_server.reset()
    yield sandbox_server
    found = sandbox_server.control("plugandpay", "GET", "contract").json()["violations"]
    sandbox_server.reset()
    assert not found, f"the Plug&Pay sandbox answered off the contract: {found}"


# A PostgreSQL server's URL (any database on it): each test gets new databases there.
POSTGRES = os.environ.get("PP2EB_TEST_DATABASE_URL")


class PostgresServer:
    """Makes and drops the tests' databases on the PostgreSQL test server.

    Migrating takes longer than copying: the migrations run once per session into a template
    database, and a test's database at the newest revision is a copy of it
    (``CREATE DATABASE ... TEMPLATE``).
    """

    def __init__(self, url: str, folder: Path) -> None:
        self.url = sa.make_url(url)
        self.folder = folder  # the instance folder of the app that migrates the template
        # CREATE and DROP DATABASE cannot run in a transaction; no pool: nothing stays open.
        self.admin = sa.create_engine(self.url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
        # Per pytest process: two runs on one server leave each other's databases alone.
        self.template = f"pp2eb_template_{os.getpid()}"
        self.names = (f"t{os.getpid()}_{n}" for n in itertools.count(1))
        self.template_ready = False

    def url_of(self, name: str) -> str:
        return self.url.set(database=name).render_as_string(hide_password=False)

    def _sql(self, sql: str) -> None:
        with self.admin.connect() as conn:
            conn.exec_driver_sql(sql)

    def create(self, *, migrated: bool) -> str:
        """A new database's name: empty, or ``migrated`` to the newest revision."""
        if migrated and not self.template_ready:
            self._make_template()
        name = next(self.names)
        self._sql(f"CREATE DATABASE {name} TEMPLATE {self.template if migrated else 'template0'}")
        return name

    def _make_template(self) -> None:
        self.drop(self.template)
        self._sql(f"CREATE DATABASE {self.template} TEMPLATE template0")
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("PP2EB_INSTANCE_PATH", str(self.folder))
            app = create_app(
                {
                    "TESTING": True,
                    "SECRET_KEY": "template",
                    "ENCRYPTION_KEY": Fernet.generate_key().decode(),
                    "SQLALCHEMY_DATABASE_URI": self.url_of(self.template),
                }
            )
        with app.app_context():
            upgrade()
        dispose_engines(app)  # a template must have no connections to be copied
        self.template_ready = True

    def drop(self, name: str) -> None:
        """Drop database ``name``, ending the connections still open to it (a killed test's
        subprocess, an app's pool)."""
        self._sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def dispose_engines(*apps) -> None:
    """Close the pooled connections of ``apps`` (all apps made so far when none is given)."""
    # Flask-SQLAlchemy keeps each app's engines here; there is no public list of all apps.
    for app, engines in list(db._app_engines.items()):
        if not apps or app in apps:
            for engine in engines.values():
                engine.dispose()


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory):
    """The PostgreSQL test server (``PP2EB_TEST_DATABASE_URL``), or None: SQLite files."""
    if not POSTGRES:
        yield None
        return
    server = PostgresServer(POSTGRES, tmp_path_factory.mktemp("template-instance"))
    yield server
    dispose_engines()
    server.drop(server.template)


class TestDatabases:
    """This test's new databases: SQLite files in its folder, or databases on the PostgreSQL
    test server, dropped after the test."""

    __test__ = False  # not a test class

    def __init__(self, tmp_path: Path, server: PostgresServer | None) -> None:
        self.tmp_path, self.server = tmp_path, server
        self.made: list[str] = []

    @property
    def postgres(self) -> bool:
        return self.server is not None

    def empty(self, name: str = "pp2eb") -> str:
        """The URL of a new database without tables (SQLite: the file ``NAME.sqlite``)."""
        if self.server is None:
            return f"sqlite:///{self.tmp_path / f'{name}.sqlite'}"
        return self._made(self.server.create(migrated=False))

    def migrated(self) -> str:
        """PostgreSQL only: the URL of a new database at the newest revision."""
        assert self.server is not None, "on SQLite the app migrates its file itself"
        return self._made(self.server.create(migrated=True))

    def _made(self, name: str) -> str:
        self.made.append(name)
        return self.server.url_of(name)

    def drop(self) -> None:
        if self.made:
            dispose_engines()
            for name in self.made:
                self.server.drop(name)


@pytest.fixture
def databases(tmp_path, postgres_server):
    """Makes this test's databases (``TestDatabases``) and drops them after it."""
    made = TestDatabases(tmp_path, postgres_server)
    yield made
    made.drop()


@pytest.fixture
def app(tmp_path, monkeypatch, sandbox_server, databases):
    monkeypatch.setenv("PP2EB_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app(
        {
            "TESTING": True,
            "DEMO": False,
            "SECRET_KEY": "test-secret-key",
            "ENCRYPTION_KEY": Fernet.generate_key().decode(),
            "SQLALCHEMY_DATABASE_URI": (
                databases.migrated() if databases.postgres else databases.empty()
            ),
            "PLUGANDPAY_BASE_URL": sandbox_server.plugandpay_url,
            "EBOEKHOUDEN_BASE_URL": sandbox_server.eboekhouden_url,
            "HTTP_TIMEOUT": 5.0,
        }
    )
    with app.app_context():
        if not databases.postgres:  # PostgreSQL's is a copy of a migrated template
            upgrade()
        create_user("owner", "correct horse battery")
    yield app


def stored_text(app) -> dict[str, str]:
    """Everything the app's database holds, as text by where it is, to search for secrets:
    the SQLite file with its write-ahead log, or every row of every table on PostgreSQL."""
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("sqlite:///"):
        database = Path(uri.removeprefix("sqlite:///"))
        files = [database, Path(f"{database}-wal"), Path(f"{database}-shm")]
        assert files[1].exists()  # the WAL still holds recent writes: searched as well
        return {f"file {f.name}": f.read_bytes().decode("latin-1") for f in files if f.exists()}
    out = {}
    with app.app_context(), db.engine.connect() as conn:
        for table in db.metadata.sorted_tables:
            rows = conn.execute(table.select()).all()
            out[f"table {table.name}"] = "\n".join(
                " ".join(v.decode("latin-1") if isinstance(v, bytes) else str(v) for v in row)
                for row in rows
            )
    return out


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def csrf_token(client, url: str) -> str:
    """The CSRF token of the form on the page at ``url``."""
    html = client.get(url).get_data(as_text=True)
    match = CSRF_INPUT.search(html)
    assert match, f"no CSRF token on {url}"
    return match.group(1) or match.group(2)


class AuthActions:
    def __init__(self, client) -> None:
        self._client = client

    def login(self, username: str = "owner", password: str = "correct horse battery"):
        token = csrf_token(self._client, "/auth/login")
        return self._client.post(
            "/auth/login",
            data={"username": username, "password": password, "csrf_token": token},
        )

    def logout(self):
        token = csrf_token(self._client, "/orders")
        return self._client.post("/auth/logout", data={"csrf_token": token})


@pytest.fixture
def auth(client):
    return AuthActions(client)
