"""PlugAndPayClient's rules (webhooks): recorded-style answers, then a round trip on the sandbox."""

from __future__ import annotations

import json

import pytest

from pp2eb.apis import errors as apierrors
from pp2eb.apis.plugandpay import PlugAndPayClient
from tests.apis.test_plugandpay import BASE, KEY, fixture, query
from tests.engine_helpers import clients


@pytest.fixture
def client() -> PlugAndPayClient:
    return PlugAndPayClient(KEY, BASE, sleep=lambda seconds: None)


def test_iter_rules_follows_the_pages_with_the_filters(client, requests_mock):
    for page in (1, 2):
        requests_mock.get(f"{BASE}/rules?page={page}", text=fixture(f"rules_page_{page}.json"))

    rules = list(client.iter_rules(driver="webhook", limit=2))

    assert [r["id"] for r in rules] == [1, 2, 3]
    assert rules[2]["action_data"] == {"hook_url": "https://example.com/webhook/3"}
    sent = [query(r) for r in requests_mock.request_history]
    assert sent == [
        {"driver": "webhook", "limit": "2", "page": "1"},
        {"driver": "webhook", "limit": "2", "page": "2"},
    ]
    assert requests_mock.last_request.headers["Authorization"] == f"Bearer {KEY}"


def test_create_rule_posts_a_webhook_rule_once(client, requests_mock):
    requests_mock.post(f"{BASE}/rules", text=fixture("rule.json"), status_code=201)

    rule = client.create_rule(
        name="pp2eb", trigger_type="order_paid", hook_url="https://shop.example/h/1"
    )

    assert rule["id"] == 1 and rule["driver"] == "webhook"
    sent = requests_mock.last_request
    assert sent.headers["Content-Type"] == "application/json"
    assert json.loads(sent.body) == {
        "name": "pp2eb",
        "trigger_type": "order_paid",
        "action_type": "call_webhook",
        "driver": "webhook",
        "action_data": {"url": "https://shop.example/h/1", "hook_url": "https://shop.example/h/1"},
        "condition_data": {},
    }


def test_create_rule_is_not_retried_after_a_500(client, requests_mock):
    requests_mock.post(f"{BASE}/rules", status_code=500, json={"message": "Server Error"})

    with pytest.raises(apierrors.Unavailable) as caught:
        client.create_rule(name="pp2eb", trigger_type="order_paid", hook_url="https://x.example")

    assert requests_mock.call_count == 1  # a second POST could make a second rule
    assert caught.value.write_uncertain


def test_create_rule_refused_carries_the_field_errors(client, requests_mock):
    requests_mock.post(f"{BASE}/rules", status_code=422, text=fixture("error_422.json"))

    with pytest.raises(apierrors.Rejected) as caught:
        client.create_rule(name="pp2eb", trigger_type="order_paid", hook_url="https://x.example")

    assert caught.value.errors[0] == "email: The email field is required."


def test_delete_rule_and_not_found(client, requests_mock):
    requests_mock.delete(f"{BASE}/rules/4", status_code=204)
    requests_mock.delete(f"{BASE}/rules/5", status_code=404, text=fixture("error_404.json"))

    assert client.delete_rule(4) is None
    with pytest.raises(apierrors.NotFound):
        client.delete_rule(5)


def test_round_trip_on_the_sandbox(sandbox):
    pp, _eb = clients(sandbox)
    made = pp.create_rule(name="pp2eb", trigger_type="order_paid", hook_url="http://x.example/h")
    assert made["action_data"] == {"hook_url": "http://x.example/h"}
    assert [r["id"] for r in pp.iter_rules(driver="webhook")] == [made["id"]]
    pp.delete_rule(made["id"])
    assert list(pp.iter_rules()) == []
    with pytest.raises(apierrors.NotFound):
        pp.delete_rule(made["id"])
    with pytest.raises(apierrors.Rejected) as caught:
        pp.create_rule(name="pp2eb", trigger_type="order_paid", hook_url="not a url")
    assert caught.value.status == 422 and caught.value.property_name == "action_data.url"
