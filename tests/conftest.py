"""Fixtures: the app on a fresh SQLite file, its clients, and both sandboxes over loopback."""

from __future__ import annotations

import re
import threading

import pytest
import requests
import time_machine
from cryptography.fernet import Fernet
from flask_migrate import upgrade
from werkzeug.serving import WSGIRequestHandler, make_server

from pp2eb import create_app
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


@pytest.fixture
def app(tmp_path, monkeypatch, sandbox_server):
    monkeypatch.setenv("PP2EB_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app(
        {
            "TESTING": True,
            "DEMO": False,
            "SECRET_KEY": "test-secret-key",
            "ENCRYPTION_KEY": Fernet.generate_key().decode(),
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'pp2eb.sqlite'}",
            "PLUGANDPAY_BASE_URL": sandbox_server.plugandpay_url,
            "EBOEKHOUDEN_BASE_URL": sandbox_server.eboekhouden_url,
            "HTTP_TIMEOUT": 5.0,
        }
    )
    with app.app_context():
        upgrade()
        create_user("owner", "correct horse battery")
    yield app


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
