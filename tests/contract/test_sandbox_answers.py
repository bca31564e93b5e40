"""Every answer of the Plug&Pay sandbox is in the contract, and one that is not cannot go out.

The sandbox checks each answer itself (``pp2eb.sandbox.plugandpay.contract``); these tests walk
every endpoint with every include and see that nothing was found, and that what would break the
contract becomes a 500 naming the violation.
"""

from __future__ import annotations

import itertools
from datetime import date

import pytest

from pp2eb import jsonutil
from pp2eb.sandbox import PLUGANDPAY_KEY_2, numbered_key
from pp2eb.sandbox.plugandpay import create_app
from pp2eb.sandbox.plugandpay.demo_catalog import PRODUCTS
from pp2eb.sandbox.plugandpay.query import INCLUDES
from tests.sandbox.test_plugandpay import HEADERS, body, get

TODAY = date(2026, 2, 10)


@pytest.fixture(scope="module")
def app():
    return create_app(today=TODAY, count=80)


@pytest.fixture
def client(app):
    return app.test_client()


def found(client) -> list:
    return body(client.get("/_sandbox/contract"))["violations"]


def test_every_order_page_with_every_include_is_in_the_contract(client):
    names = sorted(INCLUDES)
    choices = [",".join(c) for n in (0, 1, len(names)) for c in itertools.combinations(names, n)]
    for include in choices:
        page = 1
        while page:
            resp = get(client, "/v2/orders", include=include, page=page, limit=25)
            assert resp.status_code == 200, body(resp)
            page = page + 1 if body(resp)["links"]["next"] else 0
    assert found(client) == []


def test_every_order_by_id_is_in_the_contract(client):
    listed = body(get(client, "/v2/orders", limit=100))["data"]
    for order in listed:
        resp = get(client, f"/v2/orders/{order['id']}", include=",".join(INCLUDES))
        assert resp.status_code == 200
    assert found(client) == []


@pytest.mark.parametrize("key", [PLUGANDPAY_KEY_2, numbered_key(9)])
def test_the_other_tenants_answers_are_in_the_contract(client, key):
    headers = {**HEADERS, "Authorization": f"Bearer {key}"}
    client.post("/_sandbox/generate", query_string={"tenant": key}, data='{"n": 30, "seed": 4}')
    for path, params in [
        ("/v2/auth/tenants/me", {}),
        ("/v2/orders", {"include": ",".join(INCLUDES), "limit": 100}),
        ("/v2/products", {}),
        ("/v2/tax-rates", {}),
        ("/v2/rules", {}),
    ]:
        assert get(client, path, headers=headers, **params).status_code == 200
    listed = body(get(client, "/v2/orders", headers=headers, limit=100))["data"]
    assert len(listed) >= 30
    for order in listed:
        resp = get(client, f"/v2/orders/{order['id']}", headers=headers, include="items,taxes")
        assert resp.status_code == 200
    assert found(client) == []


def test_products_rates_tenant_rules_and_errors_are_in_the_contract(client):
    for path, params in [
        ("/v2/products", {}),
        ("/v2/products", {"limit": 2, "page": 2}),
        ("/v2/tax-rates", {"country": "NL"}),
        ("/v2/auth/tenants/me", {}),
        ("/v2/rules", {}),
        ("/v2/orders/999999", {}),
        ("/v2/orders", {"include": "nonsense"}),
        ("/v2/orders", {"limit": "many"}),
    ] + [(f"/v2/products/{p['id']}", {}) for p in PRODUCTS]:
        get(client, path, **params)
    get(client, "/v2/orders", headers={"Accept": "application/json"})  # 401
    rule = {
        "name": "pp2eb",
        "trigger_type": "order_paid",
        "action_type": "call_webhook",
        "driver": "webhook",
        "action_data": {"url": "https://shop.example/hook"},
    }
    created = client.post("/v2/rules", data=jsonutil.dumps(rule), headers=HEADERS)
    assert created.status_code == 201
    rule_id = body(created)["data"]["id"]
    client.patch(f"/v2/rules/{rule_id}", data=jsonutil.dumps({"name": "x"}), headers=HEADERS)
    client.post("/v2/rules", data=jsonutil.dumps({}), headers=HEADERS)  # 422
    get(client, f"/v2/rules/{rule_id}")
    assert found(client) == []


def test_an_order_off_the_contract_is_refused_unless_given_as_it_is(client):
    order = body(get(client, "/v2/orders/1", include=",".join(INCLUDES)))["data"]
    invented = {**order, "id": 700, "currency": "EUR"}
    resp = client.post("/_sandbox/orders", data=jsonutil.dumps([invented]))
    assert resp.status_code == 422
    assert "'currency' was unexpected" in body(resp)["errors"]["0"][0]
    given = client.post("/_sandbox/orders?contract=off", data=jsonutil.dumps([invented]))
    assert given.status_code == 200
    assert body(get(client, "/v2/orders/700"))["data"]["currency"] == "EUR"
    assert found(client) == []


def test_an_answer_off_the_contract_is_a_500_that_names_it(monkeypatch):
    client = create_app(today=TODAY, count=30).test_client()
    monkeypatch.setitem(PRODUCTS[0], "ledger", 80.1)
    resp = get(client, f"/v2/products/{PRODUCTS[0]['id']}")
    assert resp.status_code == 500
    assert "broke the Plug&Pay contract: data.ledger" in body(resp)["message"]
    (report,) = found(client)
    assert report["where"] == f"GET /v2/products/{PRODUCTS[0]['id']}"
    client.post("/_sandbox/reset")
    assert found(client) == []
