"""Nobody gets in: login on every route, CSRF on every POST, the log-in limit, sessions,
security headers, secrets kept out of logs, pages, exports and the database file, and customer
data that is always shown as text."""

from __future__ import annotations

import itertools
import logging
import re
import threading
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
from werkzeug.exceptions import NotFound
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.serving import make_server

from pp2eb import dutchtime
from pp2eb.extensions import db
from pp2eb.models import AppState, Credential, OrderRecord, utcnow
from pp2eb.runs import jobs
from pp2eb.sandbox import eboekhouden, plugandpay
from pp2eb.setup import appstate, connections, lookups
from pp2eb.states import OrderState
from pp2eb.web import security
from pp2eb.web.loaders import LEDGER_FIELDS
from pp2eb.web.wizard import STEPS
from tests.conftest import (
    CSRF_INPUT,
    AuthActions,
    QuietHandler,
    Sandbox,
    csrf_token,
    stored_text,
)
from tests.engine_helpers import SETTINGS, clients, configure, the_link

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery"
# Sample values for every URL variable of the app, so that a walk of the URL map reaches every
# route; a new variable fails the walk until it gets samples here.
SAMPLES = {
    "service": ["plugandpay", "eboekhouden"],
    "slug": [step.slug for step in STEPS],
    "name": list(LEDGER_FIELDS),
    "action": ["pause", "resume"],
    "secret": ["not-the-secret"],
    "link_id": [1],  # the first link's; tests/web/test_links.py walks other links
}
# Public: the login page, static files, and the webhook Plug&Pay calls (its URL has a secret).
PUBLIC = {"auth.login", "auth.login_elsewhere", "static", "hooks.plugandpay"}


def urls(app, method: str, order_ids=(1,)) -> list[str]:
    """Every URL of every route that answers ``method``, with each sample of its variables."""
    adapter = app.url_map.bind("localhost")
    samples = {**SAMPLES, "order_id": list(order_ids)}
    out = []
    for rule in app.url_map.iter_rules():
        if method not in rule.methods or rule.endpoint == "static":
            continue
        names = sorted(rule.arguments)
        missing = set(names) - set(samples)
        assert not missing, f"add samples for {missing} of {rule.rule} to SAMPLES"
        for values in itertools.product(*(samples[name] for name in names)):
            out.append(
                adapter.build(rule.endpoint, dict(zip(names, values, strict=True)), method=method)
            )
    return out


def logged_in(client) -> AuthActions:
    auth = AuthActions(client)
    assert auth.login().status_code == 302
    return auth


def body_token(client) -> str:
    """The CSRF token htmx sends: the one in ``hx-headers`` on ``<body>``."""
    html = client.get("/orders").get_data(as_text=True)
    return re.search(r'hx-headers=\'\{"X-CSRFToken": "([^"]+)"\}\'', html).group(1)


# --- every route needs a login ------------------------------------------------------------


def test_every_route_but_login_static_and_the_webhook_needs_a_login(app, client):
    from pp2eb.web.auth import PUBLIC_ENDPOINTS

    assert PUBLIC_ENDPOINTS == PUBLIC
    token = csrf_token(client, "/auth/login")  # valid, so only the login check can refuse
    adapter = app.url_map.bind("localhost")
    methods = {m for rule in app.url_map.iter_rules() for m in rule.methods} - {"HEAD", "OPTIONS"}
    reached = set()
    for method in sorted(methods):
        for url in urls(app, method):
            endpoint = adapter.match(url, method=method)[0]
            reached.add(endpoint)
            if endpoint in PUBLIC:
                continue
            plain = client.open(url, method=method, data={"csrf_token": token})
            assert plain.status_code == 302, (method, url, plain.status_code)
            assert plain.headers["Location"].startswith("/auth/login")
            htmx = client.open(
                url, method=method, data={"csrf_token": token}, headers={"HX-Request": "1"}
            )
            assert (htmx.status_code, htmx.headers.get("HX-Redirect")) == (401, "/auth/login")
    # The walk reached every route of the app.
    assert reached == {rule.endpoint for rule in app.url_map.iter_rules()} - {"static"}
    assert client.get("/static/htmx.min.js").status_code == 200
    assert client.get("/auth/login").status_code == 200
    # The webhook without a login: a wrong secret is a plain 404.
    assert client.post("/hooks/plugandpay/not-the-secret", json={}).status_code == 404


def test_the_webhook_needs_its_secret_but_no_login_and_no_csrf_token(app, sandbox):
    from pp2eb.runs import webhook_inbox as inbox

    configure(app)
    with app.app_context():
        appstate.put(
            the_link(), appstate.SCHEDULE_PAUSED, True
        )  # keeps the order queued, to look at
        secret = inbox.secret(the_link())
    client = app.test_client()
    payload = {
        "event": {"trigger_type": "order_paid", "triggerable_type": "order", "triggerable_id": 3}
    }
    wrong = client.post(f"/hooks/plugandpay/{secret[:-2]}", json=payload)
    assert wrong.status_code == 404
    right = client.post(f"/hooks/plugandpay/{secret}", json=payload)
    assert right.status_code == 202 and right.get_json() == {"queued": 3}
    with app.app_context():
        assert inbox.queued(the_link(), 10) == [3]
    # Every other POST still needs its token.
    assert client.post("/auth/login", data={"username": "owner"}).status_code == 400


# --- every POST needs its CSRF token ------------------------------------------------------


def test_every_post_is_refused_without_a_csrf_token(app, client, sandbox):
    configure(app)
    logged_in(client)
    adapter = app.url_map.bind("localhost")
    # The webhook is called by Plug&Pay, not a browser: its secret URL stands in for the token.
    posts = [u for u in urls(app, "POST") if adapter.match(u, method="POST")[0] not in PUBLIC]
    assert len(posts) >= 8
    for url in posts:
        for headers in ({}, {"HX-Request": "true"}, {"HX-Request": "true", "X-CSRFToken": "x"}):
            resp = client.post(url, data={"reason": "because"}, headers=headers)
            assert resp.status_code == 400, (url, headers, resp.status_code)
    # Nothing happened: still logged in, both accounts still connected, schedule not paused.
    assert client.get("/orders").status_code == 200
    with app.app_context():
        assert connections.get_credential(the_link(), Credential.PLUGANDPAY) is not None
        assert connections.get_credential(the_link(), Credential.EBOEKHOUDEN) is not None
        assert not appstate.get(the_link(), appstate.SCHEDULE_PAUSED, False)


def test_htmx_posts_work_with_the_token_from_the_body(app, client):
    logged_in(client)
    headers = {"HX-Request": "true", "X-CSRFToken": body_token(client)}
    assert client.post("/schedule/pause", headers=headers).status_code == 302
    with app.app_context():
        assert appstate.get(the_link(), appstate.SCHEDULE_PAUSED) is True


# --- log-in: hashes, the limit, cookies, logout -------------------------------------------


def login(client, username="owner", password=PASSWORD, address="10.0.0.1"):
    token = csrf_token(client, "/auth/login")
    return client.post(
        "/auth/login",
        data={"username": username, "password": password, "csrf_token": token},
        environ_base={"REMOTE_ADDR": address},
    )


def page_text(resp, username: str) -> str:
    """The page without its CSRF tokens (they differ per session) and the typed user name."""
    html = re.sub(r'"X-CSRFToken": "[^"]*"', "", resp.get_data(as_text=True))
    return CSRF_INPUT.sub("", html).replace(f'value="{username}"', 'value="NAME"')


def test_passwords_are_salted_hashes(app):
    from pp2eb.models import User
    from pp2eb.web.auth import create_user

    with app.app_context():
        other = create_user("anna", PASSWORD)
        owner = db.session.execute(db.select(User).filter_by(username="owner")).scalar_one()
        assert owner.password_hash != other.password_hash
        assert PASSWORD not in owner.password_hash
        assert owner.password_hash.startswith(("scrypt:", "pbkdf2:"))


def test_five_failures_lock_the_user_name_for_fifteen_minutes(app, client, monkeypatch):
    for _ in range(5):
        assert login(client, password="wrong").status_code == 200
    locked = login(client)
    assert locked.status_code == 429
    assert "Unknown user name or wrong password." in locked.get_data(as_text=True)
    assert client.get("/orders").status_code == 302  # the right password did not get in
    # Another user name from the same address is not locked.
    with app.app_context():
        from pp2eb.web.auth import create_user

        create_user("anna", "another password")
    assert login(client, "anna", "another password").status_code == 302
    # Fifteen minutes later the owner gets in again.
    later = utcnow() + timedelta(minutes=15, seconds=1)
    monkeypatch.setattr(security, "utcnow", lambda: later)
    assert login(client).status_code == 302


def test_a_lock_reveals_nothing_about_which_users_exist(app, client, monkeypatch):
    from pp2eb.web import auth

    checked = []
    real = auth.check_password_hash
    monkeypatch.setattr(auth, "check_password_hash", lambda h, p: checked.append(h) or real(h, p))
    wrong_password = page_text(login(client, "owner", "wrong"), "owner")
    unknown_user = page_text(login(client, "nobody", "wrong"), "nobody")
    assert wrong_password == unknown_user
    assert len(checked) == 2  # a hash is checked for an unknown name too: same time taken
    for _ in range(5):
        login(client, "nobody", "wrong", address="10.0.0.2")
        login(client, "owner", "wrong", address="10.0.0.3")
    locked_unknown, locked_owner = login(client, "nobody"), login(client, "owner")
    assert locked_unknown.status_code == locked_owner.status_code == 429
    assert page_text(locked_unknown, "nobody") == page_text(locked_owner, "owner") == wrong_password


def test_failures_sent_at_once_are_all_counted(app):
    clients = [app.test_client() for _ in range(8)]
    tokens = [csrf_token(c, "/auth/login") for c in clients]
    barrier = threading.Barrier(len(clients))

    def guess(n: int) -> None:
        barrier.wait()
        clients[n].post(
            "/auth/login",
            data={"username": "owner", "password": f"guess {n}", "csrf_token": tokens[n]},
            environ_base={"REMOTE_ADDR": f"10.0.1.{n}"},
        )

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(len(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with app.app_context():
        prefix = security._counters("owner", "")[0][0]
        failures = db.session.execute(
            db.select(db.func.count()).where(AppState.key.startswith(prefix))
        ).scalar_one()
    assert failures == len(clients)
    assert login(app.test_client()).status_code == 429


def test_many_failures_from_one_address_lock_that_address(app, client):
    for n in range(20):
        login(client, f"guess{n}", "wrong", address="10.9.9.9")
    assert login(client, address="10.9.9.9").status_code == 429
    assert login(client, address="10.1.1.1").status_code == 302


def test_a_successful_login_clears_the_count_of_its_name(app, client):
    for _ in range(4):
        login(client, password="wrong")
    assert login(client).status_code == 302
    for _ in range(4):
        login(client, password="wrong")
    assert login(client).status_code == 302
    with app.app_context():
        rows = db.session.execute(db.text("SELECT key FROM app_state")).scalars().all()
    # Counters are keyed by a hash: the typed names (perhaps a password) are not stored.
    assert all("owner" not in key and "wrong" not in key for key in rows)


def test_session_cookie_is_httponly_and_samesite_and_secure_when_configured(app, client):
    cookie = login(client).headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    app.config["SESSION_COOKIE_SECURE"] = True
    secure = app.test_client()
    assert "; Secure" in login(secure).headers["Set-Cookie"]


def test_logout_ends_the_session_and_every_copy_of_its_cookie(app, client):
    login(client)
    stolen = client.get_cookie("session").value
    thief = app.test_client()
    thief.set_cookie("session", stolen)
    assert thief.get("/orders").status_code == 200
    resp = client.post("/auth/logout", data={"csrf_token": csrf_token(client, "/orders")})
    assert resp.status_code == 302
    assert client.get_cookie("session") is None
    assert client.get("/orders").status_code == 302
    assert thief.get("/orders").status_code == 302  # the copy is refused too
    assert login(client).status_code == 302  # and a new login works
    assert client.get("/orders").status_code == 200


def test_a_new_password_ends_the_old_sessions(app, client, runner):
    login(client)
    assert client.get("/orders").status_code == 200
    result = runner.invoke(args=["create-user", "owner", "--password", "a new password"])
    assert result.exit_code == 0
    assert client.get("/orders").status_code == 302


# --- headers ------------------------------------------------------------------------------


def test_security_headers_on_every_kind_of_response(app, client):
    anonymous = [client.get("/auth/login"), client.get("/static/style.css"), client.get("/")]
    anonymous.append(client.post("/auth/login", data={}))  # CSRF refusal, 400
    logged_in(client)
    pages = [client.get("/orders"), client.get("/orders", headers={"HX-Request": "1"})]
    pages.append(client.get("/orders/424242"))  # 404
    for resp in anonymous + pages:
        csp = resp.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "style-src 'self'" in csp
        assert "frame-ancestors 'none'" in csp and "unsafe" not in csp
        assert resp.headers["X-Frame-Options"] == "DENY"
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert resp.headers["Referrer-Policy"] == "same-origin"
    assert {resp.status_code for resp in anonymous + pages} == {200, 302, 400, 404}
    for resp in pages:
        assert resp.headers["Cache-Control"] == "no-store"
    assert "no-store" not in anonymous[1].headers.get("Cache-Control", "")


INLINE = [
    (re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I), "an inline <script>"),
    (re.compile(r"<style\b", re.I), "a <style> element"),
    (re.compile(r"\sstyle\s*=", re.I), "a style attribute"),
    (re.compile(r"\son[a-z]+\s*=", re.I), "an on... event handler"),
    (re.compile(r"javascript:", re.I), "a javascript: URL"),
    (re.compile(r"\shx-on", re.I), "an hx-on handler (evaluated JavaScript)"),
]


def test_no_template_has_inline_script_or_style():
    """The CSP allows only the app's own files; anything inline would be blocked."""
    problems = []
    for template in sorted((ROOT / "templates").rglob("*.html")):
        text = template.read_text()
        for pattern, what in INLINE:
            for match in pattern.finditer(text):
                problems.append(f"{template.relative_to(ROOT)}: {what}: {match.group(0)!r}")
    assert not problems, "\n".join(problems)
    # htmx would otherwise add a <style> element for its indicators, which the CSP blocks.
    assert '"includeIndicatorStyles": false' in (ROOT / "templates" / "base.html").read_text()


# --- secrets never appear -----------------------------------------------------------------

PP_KEY = "pp-live-7f3a9c2e5b1d4f60a8e2c9b7d5f3a1e0"
EB_TOKEN = "eb-token-Q2xhc3NpZmllZC10b2tlbi0xMjM0NTY3OA"
WRONG_KEY = "pp-wrong-0d9c8b7a6f5e4d3c2b1a09f8e7d6c5b4"


@pytest.fixture(scope="module")
def secret_sandbox():
    """Both sandboxes, accepting only the keys of this test."""
    wsgi = DispatcherMiddleware(
        NotFound(),
        {
            "/plugandpay": plugandpay.create_app(keys=(PP_KEY,)),
            "/eboekhouden": eboekhouden.create_app(api_tokens=(EB_TOKEN,)),
        },
    )
    server = make_server("127.0.0.1", 0, wsgi, threaded=True, request_handler=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Sandbox("127.0.0.1", server.server_port)
    server.shutdown()


class Texts(HTMLParser):
    """Collects what a page would run or load: tags, and attributes that run script."""

    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []

    def handle_starttag(self, tag, attrs) -> None:
        if tag == "img" or (tag == "script" and not dict(attrs).get("src")):
            self.problems.append(f"<{tag} {attrs}>")
        for name, value in attrs:
            if name.startswith("on") or name == "style" or "javascript:" in (value or ""):
                self.problems.append(f"<{tag} {name}={value!r}>")


def assert_markup_is_ours(url: str, html: str) -> None:
    parser = Texts()
    parser.feed(html)
    assert not parser.problems, (url, parser.problems)


def every_page(app, client, order_ids) -> dict[str, str]:
    """Every GET page as HTML and as the HTMX fragment, by URL."""
    pages = {}
    extra = ["/orders?state=failed", "/orders?q=a", "/runs/latest?after=0", "/export/progress"]
    for url in urls(app, "GET", order_ids) + extra:
        for headers in ({}, {"HX-Request": "true"}):
            resp = client.get(url, headers=headers)
            assert resp.status_code in (200, 302), (url, resp.status_code)
            pages[f"{url} {headers}"] = resp.get_data(as_text=True)
    return pages


def test_secrets_never_appear_in_logs_pages_exports_or_the_database(
    app, client, runner, caplog, secret_sandbox
):
    caplog.set_level(logging.DEBUG)
    lookups.clear()
    sandbox = secret_sandbox
    sandbox.reset()
    app.config["PLUGANDPAY_BASE_URL"] = sandbox.plugandpay_url
    app.config["EBOEKHOUDEN_BASE_URL"] = sandbox.eboekhouden_url
    logged_in(client)
    # Connected through the pages: a wrong key first, then the right ones.
    for service, field, secret in (
        ("plugandpay", "api_key", WRONG_KEY),
        ("plugandpay", "api_key", PP_KEY),
        ("eboekhouden", "token", EB_TOKEN),
    ):
        token = csrf_token(client, f"/connect/{service}")
        resp = client.post(f"/connect/{service}", data={field: secret, "csrf_token": token})
        assert secret not in resp.get_data(as_text=True)
    with app.app_context():
        assert connections.get_credential(the_link(), "eboekhouden") is not None
        from pp2eb.setup import shopsettings

        shopsettings.save_draft(the_link(), SETTINGS)
    # A sync through faults: a session error, a write that answered 500, a rate limit, a
    # Plug&Pay error; then the token is revoked and a second run stops on it.
    sandbox.control(
        "eboekhouden",
        "POST",
        "faults",
        json=[
            {"path": "/v1/session", "method": "POST", "status": 500, "times": 1},
            {
                "path": "/v1/mutation",
                "method": "POST",
                "status": 500,
                "times": 2,
                "after_write": True,
            },
            {"path": "/v1/mutation", "method": "POST", "status": 429, "retry_after": 1, "times": 1},
        ],
    )
    sandbox.control("plugandpay", "POST", "faults", json={"path": "/v2/products*", "status": 503})
    with app.app_context():
        first = jobs.run("sync", link=the_link())
        assert first.booked > 40 and first.failed > 0
    # A new order, so that the next run needs e-Boekhouden, where the token is now revoked.
    with app.app_context():
        pp, _eb = jobs.build_clients(the_link())
        new = {**pp.get_order(1), "id": 9001, "invoice_number": "2026-09001"}
        new["invoice_date"] = dutchtime.today().isoformat()
    sandbox.control("plugandpay", "POST", "orders", json=new)
    sandbox.control("eboekhouden", "POST", "config", json={"revoke_api_token": EB_TOKEN})
    cli = [
        runner.invoke(args=["sync"]),
        runner.invoke(args=["settings", "export"]),
        runner.invoke(args=["backfill", "--since", SETTINGS["start_date"], "--dry-run"]),
    ]
    assert "Connect e-Boekhouden.nl again with a new API token" in cli[0].output
    with app.app_context():
        ids = db.session.execute(db.select(OrderRecord.order_id)).scalars().all()
        failed = db.session.execute(
            db.select(OrderRecord.order_id).filter_by(state=OrderState.FAILED)
        ).scalar()
        for order_id in (ids[0], failed):
            cli.append(runner.invoke(args=["orders", "show", str(order_id)]))
    pages = every_page(app, client, ids)
    assert len(pages) > 2 * len(ids)

    places = {f"page {url}": html for url, html in pages.items()}
    places["the log"] = "\n".join(r.getMessage() for r in caplog.records)
    places.update({f"flask {' '.join(r.output.split()[:3])}": r.output for r in cli})
    places.update(stored_text(app))  # the file and its WAL, or every table on PostgreSQL
    secrets = [PP_KEY, EB_TOKEN, WRONG_KEY, app.config["ENCRYPTION_KEY"], app.config["SECRET_KEY"]]
    for where, text in places.items():
        for secret in secrets:
            assert secret not in text, f"a secret appears in {where}"
    assert len(caplog.records) > 100
    lookups.clear()


# --- customer data is text ----------------------------------------------------------------

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
ESCAPED = ["&lt;script&gt;alert(1)&lt;/script&gt;", "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;"]


def test_customer_names_with_html_render_as_text_everywhere(app, client, sandbox):
    configure(app)
    pp, _ = clients(sandbox)
    base = pp.get_order(1)

    def hostile(order_id: int, **contact) -> dict:
        order = {**base, "id": order_id, "invoice_number": f"2026-{order_id}"}
        order["invoice_date"] = dutchtime.today().isoformat()  # first on the orders page
        order["billing"] = {**base["billing"], "contact": {**base["billing"]["contact"], **contact}}
        order["items"] = [{**item, "label": SCRIPT} for item in base["items"]]
        return order

    evil = [
        hostile(9101, firstname=SCRIPT, lastname=IMG, email="x@example.com"),
        hostile(9102, company=IMG, email=None),
        {**hostile(9103, firstname=SCRIPT), "amount": SCRIPT},  # fails: its reason quotes it
    ]
    # Off the contract on purpose (an amount that is a script): taken as it is.
    sandbox.control("plugandpay", "POST", "orders", json=evil, params={"contract": "off"})
    with app.app_context():
        result = jobs.run("sync", link=the_link())
        assert result.booked > 40
        assert {f.order_id for f in result.failures} >= {9103}
    logged_in(client)
    pages = every_page(app, client, [9101, 9102, 9103, 1])
    token = csrf_token(client, "/export")
    preview = client.post("/export", data={"csrf_token": token, "since": SETTINGS["start_date"]})
    pages["export preview"] = preview.get_data(as_text=True)
    for url, html in pages.items():
        assert SCRIPT not in html and IMG not in html, url
        assert_markup_is_ours(url, html)
    for url in ("/orders {}", "/orders/9101 {}", "/orders/9103 {}", "/orders?q=a {}"):
        assert ESCAPED[0] in pages[url], url
    assert ESCAPED[1] in pages["/orders/9101 {}"] and ESCAPED[1] in pages["/orders/9102 {}"]
    assert "order.amount is &#39;&lt;script&gt;" in pages["/orders/9103 {}"]
