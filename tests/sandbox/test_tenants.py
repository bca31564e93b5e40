"""The sandboxes' tenants: how a name finds its tenant, and two demo links that stay apart.

The last tests run pp2eb's own clients and engine over loopback against the second demo link
(``DEMO_TENANTS[1]``), the way a second link of one install would.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass

import pytest

from pp2eb.apis.eboekhouden import EBoekhoudenClient
from pp2eb.apis.plugandpay import PlugAndPayClient
from pp2eb.engine.sync import run_once
from pp2eb.sandbox import (
    DEMO_TENANTS,
    EBOEKHOUDEN_TOKEN,
    EBOEKHOUDEN_TOKEN_2,
    PLUGANDPAY_KEY,
    PLUGANDPAY_KEY_2,
    numbered_key,
    numbered_token,
)
from pp2eb.sandbox.tenants import MAX_NUMBERED, Tenants, numbered
from pp2eb.setup import shopsettings
from tests.engine_helpers import configure, store, the_link

# --- the registry ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "n"),
    [
        ("pp-sandbox-key-1", 1),
        ("pp-sandbox-key-42", 42),
        (f"pp-sandbox-key-{MAX_NUMBERED}", MAX_NUMBERED),
        ("pp-sandbox-key", None),
        ("pp-sandbox-key-0", None),
        ("pp-sandbox-key-007", None),
        (f"pp-sandbox-key-{MAX_NUMBERED + 1}", None),
        ("pp-sandbox-key-1x", None),
        ("pp-sandbox-key--1", None),
        ("xpp-sandbox-key-1", None),
        ("pp-sandbox-key-second", None),
    ],
)
def test_a_numbered_name_is_the_prefix_and_a_plain_number(name, n):
    assert numbered(PLUGANDPAY_KEY, name) == n


def test_the_demo_tenants_and_numbered_names_are_distinct():
    names = [key for demo in DEMO_TENANTS for key in (demo.key, demo.token)]
    assert len(set(names)) == len(names)
    assert all(numbered(PLUGANDPAY_KEY, name) is None for name in names)
    assert all(numbered(EBOEKHOUDEN_TOKEN, name) is None for name in names)
    assert DEMO_TENANTS[1] == (DEMO_TENANTS[1].name, PLUGANDPAY_KEY_2, EBOEKHOUDEN_TOKEN_2)
    assert (numbered_key(3), numbered_token(3)) == ("pp-sandbox-key-3", "eb-sandbox-token-3")


@dataclass(frozen=True)
class Spec:
    names: tuple[str, ...]


@dataclass
class Made:
    names: tuple[str, ...]
    controls: object = None

    def reset(self) -> None:
        """Nothing to put back."""

    def describe(self) -> dict:
        return {"tenant": self.names[0]}


def registry(calls: list[str]) -> Tenants:
    def make(spec: Spec) -> Made:
        calls.append(spec.names[0])
        time.sleep(0.01)  # a slow make, so that racing first uses would both make one
        return Made(spec.names)

    def numbered_spec(name: str) -> Spec | None:
        return Spec((name,)) if numbered("t", name) else None

    return Tenants([Spec(("a", "a2")), Spec(("b",))], make, numbered_spec)


def test_a_tenant_is_made_once_on_first_use_and_found_by_any_of_its_names():
    calls: list[str] = []
    tenants = registry(calls)
    assert calls == ["a"] and tenants.default.names == ("a", "a2")
    assert tenants.get("a2") is tenants.default
    assert tenants.get("nobody") is None and tenants.get("") is None
    assert tenants.get("b") is tenants.get("b") and calls == ["a", "b"]
    assert [t.names[0] for t in tenants.made()] == ["a", "b"]


def test_the_default_is_made_even_when_no_name_reaches_it():
    tenants = Tenants([Spec(()), Spec(("b",))], lambda spec: Made(spec.names))
    assert tenants.default.names == ()
    assert tenants.get("b").names == ("b",)
    assert tenants.made() == [tenants.default, tenants.get("b")]


def test_racing_first_uses_make_a_tenant_once():
    calls: list[str] = []
    tenants = registry(calls)
    found = []
    threads = [threading.Thread(target=lambda: found.append(tenants.get("t-7"))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert calls == ["a", "t-7"]
    assert len({id(t) for t in found}) == 1


# --- two demo links over loopback ----------------------------------------------------------------


@pytest.fixture
def second(sandbox):
    """The second demo link's tenant and administration, at their seed before and after."""

    def reset() -> None:
        sandbox.control("plugandpay", "POST", "reset", params={"tenant": PLUGANDPAY_KEY_2})
        sandbox.control("eboekhouden", "POST", "reset", params={"tenant": EBOEKHOUDEN_TOKEN_2})

    reset()
    yield sandbox
    found = sandbox.control("plugandpay", "GET", "contract").json()["violations"]
    reset()
    assert not found, f"the Plug&Pay sandbox answered off the contract: {found}"


def eb_state(sandbox, token: str | None = None) -> dict:
    params = {"tenant": token} if token else {}
    return sandbox.control("eboekhouden", "GET", "state", params=params).json()


def test_pp2eb_clients_see_two_links_apart(second):
    first_pp = PlugAndPayClient(PLUGANDPAY_KEY, second.plugandpay_url, timeout=5)
    second_pp = PlugAndPayClient(PLUGANDPAY_KEY_2, second.plugandpay_url, timeout=5)
    assert first_pp.get_tenant()["name"] == DEMO_TENANTS[0].name
    assert second_pp.get_tenant()["name"] == DEMO_TENANTS[1].name
    first_numbers = {o["invoice_number"] for o in first_pp.iter_orders(limit=100)}
    second_numbers = {o["invoice_number"] for o in second_pp.iter_orders(limit=100)}
    assert second_numbers - {None} and not first_numbers & second_numbers - {None}

    with EBoekhoudenClient(EBOEKHOUDEN_TOKEN_2, second.eboekhouden_url, timeout=5) as eb:
        made = eb.create_relation({"name": "Fleur de Vries", "type": "P"})
        assert [r["id"] for r in eb.iter_relations()] == [made["id"]]
    assert [r["name"] for r in eb_state(second, EBOEKHOUDEN_TOKEN_2)["relations"]] == [
        "Fleur de Vries"
    ]
    assert eb_state(second)["relations"] == []


def test_the_second_link_books_into_its_own_administration_only(app, second):
    configure(app)
    pp = PlugAndPayClient(PLUGANDPAY_KEY_2, second.plugandpay_url, timeout=5)
    shop_numbers = {o["invoice_number"] for o in pp.iter_orders(limit=100)} - {None}
    with app.app_context():
        with EBoekhoudenClient(EBOEKHOUDEN_TOKEN_2, second.eboekhouden_url, timeout=5) as eb:
            result = run_once(pp, eb, store(), shopsettings.load(the_link()), sleep=lambda s: None)
    assert result.booked > 20
    sales = Counter(
        m["invoiceNumber"]
        for m in eb_state(second, EBOEKHOUDEN_TOKEN_2)["mutations"]
        if m["type"] == 2
    )
    assert sum(sales.values()) == result.booked and set(sales.values()) == {1}
    assert set(sales) <= shop_numbers
    assert eb_state(second)["mutations"] == []  # the first link's administration saw nothing


def test_a_tenants_latency_holds_back_its_calls_over_loopback(second):
    second.control(
        "plugandpay",
        "POST",
        "latency",
        json={"latency_ms": 150},
        params={"tenant": PLUGANDPAY_KEY_2},
    )
    pp = PlugAndPayClient(PLUGANDPAY_KEY_2, second.plugandpay_url, timeout=5)
    started = time.monotonic()
    pp.get_tenant()
    assert time.monotonic() - started >= 0.15
