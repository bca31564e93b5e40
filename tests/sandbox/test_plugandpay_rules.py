"""Contract tests of the Plug&Pay sandbox's rules (``/v2/rules``) and the webhooks it sends."""

from __future__ import annotations

import threading
import time
from datetime import date

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from pp2eb import jsonutil
from pp2eb.sandbox.plugandpay import create_app
from tests.conftest import QuietHandler
from tests.sandbox.test_plugandpay import HEADERS, body, get

TODAY = date(2026, 2, 10)
HOOK = "https://shop.example/hooks/plugandpay/abc"
RULE = {
    "name": "pp2eb",
    "trigger_type": "order_paid",
    "action_type": "call_webhook",
    "driver": "webhook",
    "action_data": {"url": HOOK},
}


@pytest.fixture
def app():
    return create_app(today=TODAY)


@pytest.fixture
def client(app):
    return app.test_client()


def send(client, method: str, path: str, payload=None, headers=None):
    data = None if payload is None else jsonutil.dumps(payload)
    return client.open(path, method=method, data=data, headers=HEADERS | (headers or {}))


def create(client, **changes) -> dict:
    resp = send(client, "POST", "/v2/rules", RULE | changes)
    assert resp.status_code == 201, resp.get_data(as_text=True)
    return body(resp)["data"]


# --- CRUD ---------------------------------------------------------------------------------


def test_create_answers_the_rule_with_hook_url(client):
    rule = create(client)
    assert rule["id"] == 1
    assert rule["action_data"] == {"hook_url": HOOK}  # sent as url, answered as hook_url
    assert (rule["trigger_type"], rule["action_type"], rule["driver"]) == (
        "order_paid",
        "call_webhook",
        "webhook",
    )
    assert rule["readonly"] is False and rule["deleted_at"] is None and rule["created_at"]
    assert body(get(client, "/v2/rules/1"))["data"] == rule
    # hook_url is taken on input too.
    other = create(client, action_data={"hook_url": HOOK + "2"})
    assert other["id"] == 2 and other["action_data"]["hook_url"] == HOOK + "2"


def test_update_changes_only_the_given_fields(client):
    rule = create(client)
    resp = send(client, "PATCH", "/v2/rules/1", {"name": "renamed"})
    changed = body(resp)["data"]
    assert resp.status_code == 200
    assert changed["name"] == "renamed" and changed["updated_at"]
    assert changed["action_data"] == rule["action_data"]
    resp = send(client, "PATCH", "/v2/rules/1", {"action_data": {"url": "https://new.example/x"}})
    assert body(resp)["data"]["action_data"] == {"hook_url": "https://new.example/x"}
    assert send(client, "PATCH", "/v2/rules/9", {"name": "x"}).status_code == 404


def test_delete_one_and_many(client):
    for _ in range(4):
        create(client)
    resp = send(client, "DELETE", "/v2/rules/1")
    assert (resp.status_code, resp.get_data()) == (204, b"")
    assert get(client, "/v2/rules/1").status_code == 404
    assert send(client, "DELETE", "/v2/rules/1").status_code == 404
    assert send(client, "DELETE", "/v2/rules", {"ids": [2, 3]}).status_code == 204
    assert [r["id"] for r in body(get(client, "/v2/rules"))["data"]] == [4]


def test_bulk_delete_with_an_unknown_id_deletes_nothing(client):
    create(client)
    resp = send(client, "DELETE", "/v2/rules", {"ids": [1, 7]})
    assert resp.status_code == 422
    assert body(resp)["errors"] == {"ids.1": ["The selected ids.1 is invalid."]}
    assert body(get(client, "/v2/rules"))["meta"]["total"] == 1
    for bad in ({}, {"ids": []}, {"ids": "1"}, {"ids": [True]}):
        assert send(client, "DELETE", "/v2/rules", bad).status_code == 422


# --- list: paging and the driver filter ---------------------------------------------------


def test_list_is_paged_like_orders_and_filters_by_driver(client):
    for n in range(12):
        create(client, name=f"rule {n}")
    first = body(get(client, "/v2/rules"))
    assert len(first["data"]) == 10 and first["meta"]["last_page"] == 2
    assert first["meta"]["total"] == 12 and first["links"]["next"].endswith("page=2")
    second = body(get(client, "/v2/rules", page=2, limit=10))
    assert [r["id"] for r in second["data"]] == [11, 12] and second["links"]["next"] is None
    assert body(get(client, "/v2/rules", driver="webhook", limit=5))["meta"]["total"] == 12
    assert body(get(client, "/v2/rules", driver="mail"))["data"] == []
    assert get(client, "/v2/rules", limit=101).status_code == 422
    assert get(client, "/v2/rules", page=0).status_code == 422


# --- validation and auth ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"trigger_type": None}, "trigger_type", "The trigger type field is required."),
        ({"trigger_type": "order_eaten"}, "trigger_type", "The selected trigger type is invalid."),
        ({"action_type": None}, "action_type", "The action type field is required."),
        ({"action_type": "send_mail"}, "action_type", "The selected action type is invalid."),
        ({"driver": ""}, "driver", "The driver field is required."),
        ({"driver": "pigeon"}, "driver", "The selected driver is invalid."),
        ({"name": None}, "name", "The name field is required."),
        ({"action_data": None}, "action_data", "The action data field must be an array."),
        ({"action_data": {}}, "action_data.url", "The action data.url field is required."),
        (
            {"action_data": {"url": "ftp://x.example/hook"}},
            "action_data.url",
            "The action data.url field must be a valid URL.",
        ),
        (
            {"action_data": {"url": "not a url"}},
            "action_data.url",
            "The action data.url field must be a valid URL.",
        ),
    ],
)
def test_invalid_rules_are_422_with_laravel_errors(client, changes, field, message):
    payload = {k: v for k, v in (RULE | changes).items() if v is not None}
    resp = send(client, "POST", "/v2/rules", payload)
    assert resp.status_code == 422
    data = body(resp)
    assert data["errors"] == {field: [message]} and data["message"] == message
    assert body(get(client, "/v2/rules"))["meta"]["total"] == 0


def test_several_errors_and_a_body_that_is_not_json(client):
    resp = send(client, "POST", "/v2/rules", {"name": "x"})
    assert resp.status_code == 422
    assert set(body(resp)["errors"]) == {"trigger_type", "action_type", "driver", "action_data"}
    raw = client.post("/v2/rules", data="{nope", headers=HEADERS)
    assert raw.status_code == 422


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v2/rules"),
        ("GET", "/v2/rules/1"),
        ("POST", "/v2/rules"),
        ("PATCH", "/v2/rules/1"),
        ("DELETE", "/v2/rules/1"),
        ("DELETE", "/v2/rules"),
    ],
)
def test_rules_need_the_key_and_json(app, client, method, path):
    create(client)
    no_key = client.open(path, method=method, headers={"Accept": "application/json"})
    assert no_key.status_code == 401 and body(no_key) == {"message": "Unauthenticated."}
    html = client.open(path, method=method, headers={"Authorization": HEADERS["Authorization"]})
    assert html.status_code == 302
    assert body(get(client, "/v2/rules"))["meta"]["total"] == 1  # nothing was changed


# --- webhooks -----------------------------------------------------------------------------


class Receiver:
    """An HTTP server on a loopback port that records each POST and answers ``status``."""

    def __init__(self) -> None:
        self.bodies: list[dict] = []
        self.status = 202
        self.server = make_server(
            "127.0.0.1", 0, self.wsgi, threaded=True, request_handler=QuietHandler
        )
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @Request.application
    def wsgi(self, request: Request) -> Response:
        self.bodies.append(
            {"json": jsonutil.loads(request.get_data()), "type": request.content_type}
        )
        return Response("", status=self.status)


@pytest.fixture
def receiver():
    receiver = Receiver()
    yield receiver
    receiver.server.shutdown()


def deliveries(client, expected: int) -> list[dict]:
    """The deliveries once ``expected`` were made and none is pending (at most 10 s)."""
    deadline = time.monotonic() + 10
    while True:
        state = body(client.get("/_sandbox/webhooks"))
        if state["pending"] == 0 and len(state["deliveries"]) >= expected:
            return state["deliveries"]
        assert time.monotonic() < deadline, state
        time.sleep(0.02)


def test_marking_an_order_paid_calls_each_order_paid_webhook(client, receiver):
    open_order = next(
        o for o in body(get(client, "/v2/orders", limit=100, payment_status="open"))["data"]
    )
    create(client, action_data={"url": receiver.url})
    create(client, action_data={"url": receiver.url + "?second"})
    create(client, trigger_type="order_created", action_data={"url": receiver.url + "?created"})
    resp = client.post(f"/_sandbox/orders/{open_order['id']}/pay")
    assert body(resp)["webhooks"] == 2
    made = deliveries(client, 2)
    assert sorted(d["rule_id"] for d in made) == [1, 2]
    assert {d["status"] for d in made} == {202} and {d["error"] for d in made} == {None}
    sent = receiver.bodies[0]
    assert sent["type"] == "application/json"
    assert sent["json"]["event"] == {
        "trigger_type": "order_paid",
        "triggerable_type": "order",
        "triggerable_id": open_order["id"],
    }
    assert sent["json"]["tenant_id"] == 1 and sent["json"]["sent_at"].endswith("Z")
    assert sent["json"]["rule_id"] in (1, 2)
    # The order is paid now; paying again sends nothing.
    paid = body(get(client, f"/v2/orders/{open_order['id']}", include="payment"))["data"]
    assert paid["payment"]["status"] == "paid" and paid["payment"]["paid_at"]
    assert body(client.post(f"/_sandbox/orders/{open_order['id']}/pay"))["webhooks"] == 0
    assert client.post("/_sandbox/orders/99999/pay").status_code == 404


def test_paying_a_concept_makes_its_invoice_final(client):
    concept = body(get(client, "/v2/orders", invoice_status="concept"))["data"][0]
    client.post(f"/_sandbox/orders/{concept['id']}/pay")
    paid = body(get(client, f"/v2/orders/{concept['id']}"))["data"]
    assert paid["invoice_status"] == "final" and paid["invoice_number"] and paid["invoice_date"]


def test_adding_a_paid_order_sends_its_webhook_but_not_twice(client, receiver):
    create(client, action_data={"url": receiver.url})
    order = body(get(client, "/v2/orders/1", include="billing,items,taxes,payment"))["data"]
    assert order["payment"]["status"] == "paid"
    new = order | {"id": 500}
    client.post("/_sandbox/orders", data=jsonutil.dumps([new]))
    client.post("/_sandbox/orders", data=jsonutil.dumps([new]))  # already paid: no second one
    assert [d["order_id"] for d in deliveries(client, 1)] == [500]


@pytest.mark.parametrize("payment", [5, "paid", None, []])
def test_an_order_with_a_mangled_payment_is_stored_not_a_500(client, receiver, payment):
    create(client, action_data={"url": receiver.url})
    order = body(get(client, "/v2/orders/1", include="payment"))["data"] | {"id": 501}
    mangled = jsonutil.dumps([order | {"payment": payment}])
    resp = client.post("/_sandbox/orders?contract=off", data=mangled)
    assert resp.status_code < 300
    paid = client.post("/_sandbox/orders/501/pay")
    assert paid.status_code == 200 and body(paid)["webhooks"] == 1


def test_send_again_n_times_records_failures_too(client, receiver):
    create(client, action_data={"url": receiver.url})
    receiver.status = 500
    assert body(client.post("/_sandbox/webhooks/send", json={"order_id": 7, "times": 25})) == {
        "sent": 25
    }
    made = deliveries(client, 25)
    assert len(receiver.bodies) == 25 and {d["status"] for d in made} == {500}
    # To a URL nobody listens on: the error is recorded, the sandbox goes on.
    client.delete("/_sandbox/webhooks")
    client.post("/_sandbox/webhooks/send", json={"order_id": 7, "url": "http://127.0.0.1:9/x"})
    (failed,) = deliveries(client, 1)
    assert failed["status"] is None and failed["error"] == "ConnectionError"
    assert client.post("/_sandbox/webhooks/send", json={"times": 2}).status_code == 422
    assert (
        client.post("/_sandbox/webhooks/send", json={"order_id": 7, "times": 0}).status_code == 422
    )


def test_reset_forgets_rules_and_deliveries(client, receiver):
    create(client, action_data={"url": receiver.url})
    client.post("/_sandbox/webhooks/send", json={"order_id": 3})
    deliveries(client, 1)
    client.post("/_sandbox/reset")
    assert body(get(client, "/v2/rules"))["data"] == []
    assert body(client.get("/_sandbox/webhooks"))["deliveries"] == []
    assert create(client)["id"] == 1
