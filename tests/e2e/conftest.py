"""The app served for real on loopback, and Debian's chromium driven by Playwright.

Never ``playwright install``: it downloads a browser, which this project does not need and
cannot fetch; the Python package drives the system's ``/usr/bin/chromium``.
"""

from __future__ import annotations

import threading

import pytest
from werkzeug.serving import make_server

from tests.conftest import QuietHandler

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def live_app(app, sandbox):
    """The app on a free loopback port, in demo mode so the pages show the demo keys."""
    app.config.update(DEMO=True, TESTING=False)
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture
def browser_page():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1200, "height": 900}, locale="en-GB")
        page.set_default_timeout(15_000)
        yield page
        browser.close()
