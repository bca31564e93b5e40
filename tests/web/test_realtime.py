"""The "Near-real-time booking" card: register, remove and renew the webhook in the Plug&Pay
sandbox; and end to end, the sandbox calling the app served on a loopback port."""

from __future__ import annotations

import json
import re
import threading
import time

import pytest
import requests
from werkzeug.serving import make_server

from pp2eb import jsonutil
from pp2eb.extensions import db
from pp2eb.models import LinkState, OrderRecord, SyncRun
from pp2eb.runs import webhook_inbox as inbox
from pp2eb.setup import appstate
from pp2eb.states import OrderState
from tests.conftest import CSRF_INPUT, QuietHandler, csrf_token
from tests.engine_helpers import assert_exactly_once, clients, configure, the_link


@pytest.fixture
def ready(app, sandbox, client, auth):
    configure(app)
    auth.login()
    return client


def secret(app) -> str:
    with app.app_context():
        return inbox.secret(the_link())


def press(client, action: str, htmx: bool = True):
    token = csrf_token(client, "/orders")
    headers = {"HX-Request": "true"} if htmx else {}
    return client.post(f"/realtime/{action}", data={"csrf_token": token}, headers=headers)


def card(client) -> str:
    resp = client.get("/realtime/card", headers={"HX-Request": "true"})
    assert resp.status_code == 200
    return resp.get_data(as_text=True)


def sandbox_rules(sandbox) -> list[dict]:
    pp, _eb = clients(sandbox)
    return list(pp.iter_rules())


def test_the_dashboard_loads_the_card_after_the_page(ready):
    html = ready.get("/").get_data(as_text=True)
    assert 'id="realtime"' in html and 'hx-get="/realtime/card"' in html
    assert 'hx-trigger="load"' in html


def test_register_creates_one_order_paid_rule_for_this_app(app, ready, sandbox):
    html = card(ready)
    assert "Off" in html and 'id="realtime-register"' in html
    key = secret(app)
    assert key not in html and f"••••••{key[-4:]}" in html  # the secret is never shown whole
    html = press(ready, "register").get_data(as_text=True)
    assert html.lstrip().startswith('<article class="card" id="realtime"')
    assert "Registered" in html and "On" in html and 'id="realtime-register"' not in html
    (rule,) = sandbox_rules(sandbox)
    assert rule["action_data"]["hook_url"] == f"http://localhost/hooks/plugandpay/{key}"
    assert (rule["trigger_type"], rule["action_type"], rule["driver"], rule["name"]) == (
        "order_paid",
        "call_webhook",
        "webhook",
        "pp2eb",
    )
    press(ready, "register")  # a second press makes no second rule
    assert len(sandbox_rules(sandbox)) == 1
    assert key not in press(ready, "register").get_data(as_text=True)


def test_remove_deletes_the_rule_and_the_card_says_off(ready, sandbox):
    press(ready, "register")
    html = press(ready, "remove").get_data(as_text=True)
    assert "Removed" in html and "Off" in html
    assert sandbox_rules(sandbox) == []


def test_a_new_secret_moves_the_rule_and_the_old_address_stops(app, ready, sandbox):
    press(ready, "register")
    old = secret(app)
    html = press(ready, "rotate").get_data(as_text=True)
    new = secret(app)
    assert new != old and "uses the new address" in html and "On" in html
    (rule,) = sandbox_rules(sandbox)
    assert rule["action_data"]["hook_url"].endswith(f"/hooks/plugandpay/{new}")
    with app.app_context():
        appstate.put(the_link(), appstate.SCHEDULE_PAUSED, True)
    payload = {
        "event": {"trigger_type": "order_paid", "triggerable_type": "order", "triggerable_id": 4}
    }
    anonymous = app.test_client()
    assert anonymous.post(f"/hooks/plugandpay/{old}", json=payload).status_code == 404
    assert anonymous.post(f"/hooks/plugandpay/{new}", json=payload).status_code == 202
    # Without a rule, a new secret is just a new secret.
    press(ready, "remove")
    assert "no longer works" in press(ready, "rotate").get_data(as_text=True)
    assert sandbox_rules(sandbox) == []


def test_without_htmx_the_buttons_flash_and_go_back_to_the_dashboard(ready, sandbox):
    resp = press(ready, "register", htmx=False)
    assert resp.status_code == 302 and resp.headers["Location"] == "/"
    assert "Registered" in ready.get("/").get_data(as_text=True)


def test_not_connected_says_so_with_the_way_to_connect(app, client, auth):
    auth.login()
    html = card(client)
    assert "Plug&amp;Pay is not connected yet" in html
    assert 'href="/connect/plugandpay"' in html and 'id="realtime-register"' not in html


def test_when_plug_and_pay_fails_the_card_says_so_with_a_retry(ready, sandbox):
    sandbox.control(
        "plugandpay", "POST", "faults", json={"path": "/v2/rules*", "status": 503, "times": None}
    )
    html = card(ready)
    assert "could not be reached" in html and "Try again" in html
    html = press(ready, "register").get_data(as_text=True)
    assert "could not be reached" in html
    assert ready.get("/").status_code == 200  # the dashboard itself does not wait for Plug&Pay
    sandbox.control("plugandpay", "DELETE", "faults")
    assert "Off" in card(ready)


def test_public_url_is_the_address_registered_and_a_moved_rule_is_shown(app, ready, sandbox):
    html = card(ready)
    assert "cannot reach this address" in html  # localhost, outside demo mode
    app.config["PUBLIC_URL"] = "https://books.example.com/pp2eb/"
    assert "cannot reach this address" not in card(ready)
    press(ready, "register")
    (rule,) = sandbox_rules(sandbox)
    key = secret(app)
    assert (
        rule["action_data"]["hook_url"] == f"https://books.example.com/pp2eb/hooks/plugandpay/{key}"
    )
    app.config["PUBLIC_URL"] = "https://new.example.com"
    html = card(ready)
    assert "calls another address" in html and "books.example.com" in html
    assert 'id="realtime-remove"' in html and key not in html


def test_the_last_webhook_and_the_waiting_orders_are_shown(app, ready, sandbox):
    assert "No webhook received yet." in card(ready)
    with app.app_context():
        appstate.put(the_link(), appstate.SCHEDULE_PAUSED, True)
    payload = {"trigger_type": "order_paid", "triggerable_type": "order", "triggerable_id": 12}
    app.test_client().post(f"/hooks/plugandpay/{secret(app)}", json=payload)
    html = card(ready)
    assert re.search(r"Last webhook: \d\d-\d\d-\d{4} \d\d:\d\d:\d\d CES?T,", html)
    assert 'href="/orders/12"' in html and "1 order waiting to be booked" in html
    with app.app_context():  # a webhook taken at a known moment, kept in UTC
        row = db.session.get(LinkState, (the_link().id, inbox.LAST))  # the link's own
        row.value = json.dumps({"at": "2026-07-01T10:05:09", "order_id": 12})
        db.session.commit()
    html = card(ready)
    assert "Last webhook: 01-07-2026 12:05:09 CEST," in html and "UTC" not in html


# --- end to end: the sandbox calls the app over loopback ----------------------------------


@pytest.fixture
def served(app):
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def logged_in_session(root: str) -> requests.Session:
    session = requests.Session()
    html = session.get(f"{root}/auth/login", timeout=10).text
    token = next(m.group(1) or m.group(2) for m in CSRF_INPUT.finditer(html))
    data = {"username": "owner", "password": "correct horse battery", "csrf_token": token}
    assert session.post(f"{root}/auth/login", data=data, timeout=10).status_code == 200
    return session


def test_end_to_end_register_then_a_paid_order_is_booked_within_seconds(app, sandbox, served):
    configure(app)
    session = logged_in_session(served)
    html = session.get(f"{served}/orders", timeout=10).text
    token = next(m.group(1) or m.group(2) for m in CSRF_INPUT.finditer(html))
    resp = session.post(
        f"{served}/realtime/register",
        data={"csrf_token": token},
        headers={"HX-Request": "true"},
        timeout=20,
    )
    assert resp.status_code == 200 and "Registered" in resp.text
    (rule,) = sandbox_rules(sandbox)
    assert rule["action_data"]["hook_url"].startswith(f"{served}/hooks/plugandpay/")
    # A new order, not paid yet (a concept invoice), then paid in Plug&Pay.
    pp, _eb = clients(sandbox)
    order = pp.get_order(1)
    order.update(id=900, invoice_status="concept", invoice_number=None, invoice_date=None)
    order["payment"] = {**order["payment"], "status": "open", "paid_at": None}
    sandbox.control("plugandpay", "POST", "orders", data=jsonutil.dumps([order]))
    started = time.monotonic()
    paid = sandbox.control("plugandpay", "POST", "orders/900/pay")
    assert paid.json()["webhooks"] == 1
    state = None
    while time.monotonic() - started < 10:
        with app.app_context():
            state = db.session.execute(
                db.select(OrderRecord.state).filter_by(order_id=900)
            ).scalar()
        if state == OrderState.BOOKED:
            break
        time.sleep(0.05)
    took = time.monotonic() - started
    print(f"\nwebhook to booking: {took:.2f} s")
    assert state == OrderState.BOOKED, f"not booked after {took:.1f} s"
    assert_exactly_once(sandbox, 1)
    with app.app_context():
        assert [run.kind for run in db.session.execute(db.select(SyncRun)).scalars()] == ["webhook"]
    deliveries = sandbox.control("plugandpay", "GET", "webhooks").json()["deliveries"]
    assert [d["status"] for d in deliveries] == [202]
    assert 'href="/orders/900"' in session.get(f"{served}/realtime/card", timeout=10).text


def test_a_key_the_encryption_key_cannot_read_says_connect_again(app, ready, sandbox):
    from cryptography.fernet import Fernet

    from pp2eb.setup import crypto

    press(ready, "register")
    old = secret(app)
    app.extensions["pp2eb_vault"] = crypto.Vault(Fernet.generate_key())  # the key file replaced
    html = card(ready)
    assert "Connect Plug&amp;Pay again" in html
    resp = press(ready, "rotate")
    assert resp.status_code == 200 and "Connect Plug&amp;Pay again" in resp.get_data(as_text=True)
    assert secret(app) != old  # a secret that may have leaked goes, whatever Plug&Pay says


def test_a_refused_registration_is_said_in_words(ready, sandbox):
    sandbox.control(
        "plugandpay", "POST", "faults", json={"path": "/v2/rules", "method": "POST", "status": 422}
    )
    html = press(ready, "register").get_data(as_text=True)
    assert "Plug&amp;Pay refused the request (HTTP 422)." in html
    assert sandbox_rules(sandbox) == []
