"""The Plug&Pay sandbox serves several tenants, one per API key, that never see each other."""

from __future__ import annotations

import copy
import threading
import time
from datetime import date

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from pp2eb import jsonutil
from pp2eb.sandbox import (
    DEMO_TENANTS,
    EBOEKHOUDEN_TOKEN,
    PLUGANDPAY_KEY,
    PLUGANDPAY_KEY_2,
    numbered_key,
)
from pp2eb.sandbox import controls as sandbox_controls
from pp2eb.sandbox.plugandpay import create_app
from pp2eb.sandbox.plugandpay.demo_data import generate_demo_orders

TODAY = date(2026, 2, 10)
SECOND = PLUGANDPAY_KEY_2


@pytest.fixture
def app():
    return create_app(today=TODAY)


@pytest.fixture
def client(app):
    return app.test_client()


def headers(key: str) -> dict:
    return {"Authorization": f"Bearer {key}", "Accept": "application/json"}


def call(client, key: str, path: str, **params):
    return client.get(path, query_string=params, headers=headers(key))


def data(resp):
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return jsonutil.loads(resp.get_data())["data"]


def control(client, method: str, path: str, tenant: str | None = None, body=None):
    query = {"tenant": tenant} if tenant is not None else {}
    raw = jsonutil.dumps(body) if body is not None else None
    return client.open(f"/_sandbox/{path}", method=method, query_string=query, data=raw)


def order_ids(client, key: str) -> list[int]:
    ids, page = [], 1
    while page:
        resp = call(client, key, "/v2/orders", page=page, limit=100, direction="asc")
        answer = jsonutil.loads(resp.get_data())
        ids += [int(o["id"]) for o in answer["data"]]
        page = page + 1 if answer["links"]["next"] else 0
    return ids


def invoice_numbers(client, key: str) -> set[str]:
    orders = data(call(client, key, "/v2/orders", limit=100))
    return {o["invoice_number"] for o in orders if o["invoice_number"]}


def made(client) -> list[str]:
    return [t["tenant"] for t in control(client, "GET", "tenants").get_json()["tenants"]]


# --- which tenant a key reaches -------------------------------------------------------------


def test_each_key_reaches_its_own_tenant(client):
    assert data(call(client, PLUGANDPAY_KEY, "/v2/auth/tenants/me")) == {
        "id": 1,
        "name": "Demo Webshop",
        "plan": "lite",
    }
    second = data(call(client, SECOND, "/v2/auth/tenants/me"))
    assert second == {"id": 2, "name": DEMO_TENANTS[1].name, "plan": "lite"}
    seventh = data(call(client, numbered_key(7), "/v2/auth/tenants/me"))
    assert seventh == {"id": 1007, "name": "Sandbox Shop 7", "plan": "lite"}
    assert len({t["name"] for t in (second, seventh)} | {DEMO_TENANTS[0].name}) == 3


def test_the_default_tenant_keeps_todays_seed(client):
    seed = generate_demo_orders(today=TODAY)
    assert order_ids(client, PLUGANDPAY_KEY) == sorted(int(o["id"]) for o in seed)


def test_the_second_demo_shop_has_orders_and_invoice_numbers_of_its_own(client):
    first, second = order_ids(client, PLUGANDPAY_KEY), order_ids(client, SECOND)
    assert second and min(second) == 5001
    assert not set(first) & set(second)
    assert invoice_numbers(client, SECOND)
    assert not invoice_numbers(client, PLUGANDPAY_KEY) & invoice_numbers(client, SECOND)
    # The same order id in the default shop is not the second shop's.
    assert call(client, PLUGANDPAY_KEY, f"/v2/orders/{second[0]}").status_code == 404


@pytest.mark.parametrize(
    "key",
    [
        "pp-sandbox-key-0",
        "pp-sandbox-key-07",
        "pp-sandbox-key-1001",
        "pp-sandbox-key-",
        "pp-sandbox-key-x",
        f"{SECOND}x",
        EBOEKHOUDEN_TOKEN,
    ],
)
def test_a_key_no_tenant_has_is_401_as_before_and_makes_no_tenant(client, key):
    resp = call(client, key, "/v2/orders")
    assert resp.status_code == 401
    assert resp.get_json() == {"message": "Unauthenticated."}
    assert made(client) == [PLUGANDPAY_KEY]


def test_numbered_tenants_are_made_empty_on_first_use(client):
    assert made(client) == [PLUGANDPAY_KEY]  # the second demo shop too waits for its first use
    answer = jsonutil.loads(call(client, numbered_key(42), "/v2/orders").get_data())
    assert answer["data"] == [] and answer["meta"]["total"] == 0
    assert data(call(client, numbered_key(42), "/v2/rules")) == []
    assert made(client) == [PLUGANDPAY_KEY, numbered_key(42)]
    assert call(client, numbered_key(1000), "/v2/orders").status_code == 200
    assert made(client) == [PLUGANDPAY_KEY, numbered_key(42), numbered_key(1000)]


# --- what one tenant does never shows in another -------------------------------------------------


def test_orders_put_into_one_tenant_never_show_in_another(client):
    order = copy.deepcopy(data(call(client, PLUGANDPAY_KEY, "/v2/orders/1", include="items")))
    full = generate_demo_orders(today=TODAY)[0]
    resp = control(client, "POST", "orders", SECOND, [{**full, "id": 999}])
    assert resp.get_json() == {"ids": [999]}
    assert data(call(client, SECOND, "/v2/orders/999"))["id"] == 999
    assert call(client, PLUGANDPAY_KEY, "/v2/orders/999").status_code == 404
    assert data(call(client, PLUGANDPAY_KEY, "/v2/orders/1", include="items")) == order

    body = {"n": 5, "seed": 3, "start": "2026-01-01", "end": "2026-01-31"}
    generated = control(client, "POST", "generate", numbered_key(3), body).get_json()
    assert generated == {"count": 5, "first_id": 1, "last_id": 5}
    assert order_ids(client, numbered_key(3)) == [1, 2, 3, 4, 5]
    assert 999 not in order_ids(client, PLUGANDPAY_KEY)
    assert len(order_ids(client, PLUGANDPAY_KEY)) == 60


def test_a_reset_puts_back_one_tenant_only(client):
    full = generate_demo_orders(today=TODAY)[0]
    control(client, "POST", "orders", None, [{**full, "id": 900}])
    control(client, "POST", "orders", SECOND, [{**full, "id": 901}])
    assert control(client, "POST", "reset", SECOND).status_code == 200
    assert 901 not in order_ids(client, SECOND)
    assert 900 in order_ids(client, PLUGANDPAY_KEY)


class Receiver:
    """A webhook receiver on loopback that keeps every body it gets."""

    def __init__(self) -> None:
        self.bodies: list[dict] = []

        @Request.application
        def app(request: Request) -> Response:
            self.bodies.append(jsonutil.loads(request.get_data()))
            return Response("ok")

        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver():
    found = Receiver()
    yield found
    found.server.shutdown()


def delivered(client, tenant: str | None) -> dict:
    deadline = time.monotonic() + 10
    while (answer := control(client, "GET", "webhooks", tenant).get_json())["pending"]:
        assert time.monotonic() < deadline, answer
        time.sleep(0.02)
    return answer


def test_rules_and_webhooks_belong_to_their_tenant(client, receiver):
    rule = {
        "name": "pp2eb",
        "trigger_type": "order_paid",
        "action_type": "call_webhook",
        "driver": "webhook",
        "action_data": {"url": receiver.url},
    }
    resp = client.post("/v2/rules", data=jsonutil.dumps(rule), headers=headers(SECOND))
    assert resp.status_code == 201
    assert data(call(client, PLUGANDPAY_KEY, "/v2/rules")) == []
    assert [r["id"] for r in data(call(client, SECOND, "/v2/rules"))] == [1]

    unpaid = data(call(client, SECOND, "/v2/orders", payment_status="open"))[0]
    paid = control(client, "POST", f"orders/{unpaid['id']}/pay", SECOND).get_json()
    assert paid["webhooks"] == 1
    (delivery,) = delivered(client, SECOND)["deliveries"]
    assert delivery["status"] == 200 and delivery["order_id"] == int(unpaid["id"])
    assert receiver.bodies[0]["tenant_id"] == 2
    assert receiver.bodies[0]["event"]["triggerable_id"] == int(unpaid["id"])

    # The default tenant has no rule: paying one of its orders sends nothing anywhere.
    first = data(call(client, PLUGANDPAY_KEY, "/v2/orders", payment_status="open"))[0]
    assert control(client, "POST", f"orders/{first['id']}/pay").get_json()["webhooks"] == 0
    assert delivered(client, None)["deliveries"] == []
    assert len(receiver.bodies) == 1


def test_a_rate_limit_throttles_its_own_tenant_only(client):
    control(client, "POST", "rate-limit", SECOND, {"limit": 2, "window": 60})
    codes = [call(client, SECOND, "/v2/auth/tenants/me").status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    others = [call(client, PLUGANDPAY_KEY, "/v2/auth/tenants/me").status_code for _ in range(5)]
    assert others == [200] * 5


def test_faults_and_stats_belong_to_their_tenant(client):
    control(client, "POST", "faults", SECOND, {"path": "/v2/orders", "status": 503, "times": None})
    assert call(client, SECOND, "/v2/orders").status_code == 503
    assert call(client, PLUGANDPAY_KEY, "/v2/orders").status_code == 200
    assert control(client, "GET", "faults").get_json() == []
    assert len(control(client, "GET", "faults", SECOND).get_json()) == 1
    call(client, SECOND, "/v2/orders")
    assert control(client, "GET", "stats", SECOND).get_json() == {"GET /v2/orders": 2}
    assert control(client, "GET", "stats").get_json() == {"GET /v2/orders": 1}


def test_a_control_for_a_tenant_that_is_no_tenants_is_404(client):
    resp = control(client, "POST", "reset", "pp-sandbox-key-nope")
    assert resp.status_code == 404
    assert "no tenant" in resp.get_json()["message"]
    assert made(client) == [PLUGANDPAY_KEY]


def test_contract_reports_name_their_tenant_and_a_reset_forgets_its_own(client, app):
    second = app.extensions["sandbox_tenants"].get(SECOND)
    second.products = [{**second.products[0], "ledger": 80.1}]
    resp = call(client, SECOND, f"/v2/products/{second.products[0]['id']}")
    assert resp.status_code == 500
    (report,) = control(client, "GET", "contract").get_json()["violations"]
    assert report["tenant"] == SECOND and report["where"].startswith("GET /v2/products/")
    control(client, "POST", "reset")  # the default tenant's reset keeps the second's report
    assert len(control(client, "GET", "contract").get_json()["violations"]) == 1
    control(client, "POST", "reset", SECOND)
    assert control(client, "GET", "contract").get_json()["violations"] == []


def test_a_hundred_tenants_each_hold_their_own_orders(client):
    full = generate_demo_orders(today=TODAY)[0]
    for n in range(1, 101):
        assert control(client, "POST", "orders", numbered_key(n), [{**full, "id": n}]).status_code
    for n in range(1, 101):
        assert order_ids(client, numbered_key(n)) == [n]
        assert data(call(client, numbered_key(n), "/v2/auth/tenants/me"))["id"] == 1000 + n
    assert made(client) == [PLUGANDPAY_KEY] + [numbered_key(n) for n in range(1, 101)]
    assert len(order_ids(client, PLUGANDPAY_KEY)) == 60


# --- latency ---------------------------------------------------------------------------------


@pytest.fixture
def waits(monkeypatch) -> list[float]:
    """Every latency wait the sandbox makes, instead of making it."""
    found: list[float] = []
    monkeypatch.setattr(sandbox_controls, "wait", found.append)
    return found


def test_latency_holds_back_every_api_call_of_its_tenant_only(client, waits):
    answer = control(client, "POST", "latency", SECOND, {"latency_ms": 50}).get_json()
    assert answer == {"latency_ms": 50}
    call(client, SECOND, "/v2/orders")
    call(client, SECOND, "/v2/nothing")
    assert waits == [0.05, 0.05]
    call(client, PLUGANDPAY_KEY, "/v2/orders")
    control(client, "GET", "stats", SECOND)  # a control never waits
    assert waits == [0.05, 0.05]
    control(client, "POST", "reset", SECOND)
    assert control(client, "GET", "latency", SECOND).get_json() == {"latency_ms": 0}


def test_the_apps_latency_is_every_tenants_start_and_survives_a_reset(waits):
    client = create_app(today=TODAY, latency_ms=20).test_client()
    for key in (PLUGANDPAY_KEY, SECOND, numbered_key(5)):
        call(client, key, "/v2/auth/tenants/me")
    assert waits == [0.02, 0.02, 0.02]
    control(client, "POST", "reset")
    assert control(client, "GET", "latency").get_json() == {"latency_ms": 20}


@pytest.mark.parametrize("body", [{}, {"latency_ms": -1}, {"latency_ms": "50"}, [50]])
def test_a_bad_latency_is_400(client, body):
    assert control(client, "POST", "latency", None, body).status_code == 400
    assert control(client, "GET", "latency").get_json() == {"latency_ms": 0}


def test_latency_really_waits(client):
    control(client, "POST", "latency", SECOND, {"latency_ms": 100})
    started = time.monotonic()
    assert call(client, SECOND, "/v2/auth/tenants/me").status_code == 200
    assert time.monotonic() - started >= 0.1
