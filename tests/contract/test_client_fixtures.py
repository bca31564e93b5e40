"""The answers the client tests feed the Plug&Pay client (tests/fixtures/plugandpay/*.json) are
answers the documented API could give: each is inside the contract schema, like the sandbox's.

A client test on an answer no source shows would prove the client against an invention; the
deliberately odd shapes live in outside/ (each with its source) and are read or refused there.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pp2eb.sandbox.plugandpay.contract import answer_violations, violations

FIXTURES = Path(__file__).parents[1] / "fixtures" / "plugandpay"

# Each file's endpoint (the contract's name for it) and HTTP status.
ENDPOINTS = {
    "order.json": ("show_order", 200),
    "orders_page_1.json": ("list_orders", 200),
    "orders_page_2.json": ("list_orders", 200),
    "orders_page_3.json": ("list_orders", 200),
    "products.json": ("list_products", 200),
    "tax_rates.json": ("list_tax_rates", 200),
    "tenant.json": ("tenant", 200),
    "rule.json": ("show_rule", 200),
    "rules_page_1.json": ("list_rules", 200),
    "rules_page_2.json": ("list_rules", 200),
    "error_401.json": (None, 401),
    "error_404.json": (None, 404),
    "error_422.json": (None, 422),
}


def test_every_client_fixture_has_an_endpoint():
    assert {path.name for path in FIXTURES.glob("*.json")} == set(ENDPOINTS)


@pytest.mark.parametrize("name", sorted(ENDPOINTS))
def test_client_fixture_is_inside_the_contract(name):
    endpoint, status = ENDPOINTS[name]
    body = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    found = answer_violations(endpoint, status, body)
    if endpoint in ("show_order", "list_orders"):
        # The contract checks the sandbox's orders when they are stored, not in each answer.
        data = body["data"]
        for index, order in enumerate(data if isinstance(data, list) else [data]):
            found += violations("order", order, f"data[{index}]")
    assert found == []
