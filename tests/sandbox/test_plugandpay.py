"""Contract tests of the Plug&Pay sandbox through the Flask test client."""

from __future__ import annotations

import threading
from datetime import date
from urllib.parse import parse_qs, urlsplit

import pytest
from werkzeug.exceptions import NotFound
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.test import Client

from pp2eb import jsonutil
from pp2eb.sandbox import PLUGANDPAY_KEY
from pp2eb.sandbox.plugandpay import ASSUMED_RATE_LIMIT, create_app
from pp2eb.sandbox.plugandpay.demo_data import generate_demo_orders, generate_orders

TODAY = date(2026, 2, 10)
HEADERS = {"Authorization": f"Bearer {PLUGANDPAY_KEY}", "Accept": "application/json"}
ALL = "billing,items,taxes,payment,discounts,shipping,related_orders,comments,tags"
INCLUDE_KEYS = {
    "billing",
    "items",
    "taxes",
    "payment",
    "total_discounts",
    "shipping",
    "related_orders",
    "comments",
    "tags",
}


@pytest.fixture
def app():
    return create_app(today=TODAY)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture(scope="module")
def demo() -> list[dict]:
    return generate_demo_orders(today=TODAY)


def get(client, path: str, headers: dict | None = None, **params):
    return client.get(path, query_string=params, headers=HEADERS if headers is None else headers)


def body(resp) -> dict:
    assert resp.mimetype == "application/json"
    return jsonutil.loads(resp.get_data())


def oid(order: dict) -> int:
    """The order's id; some demo orders write ids as text (an open reading of the record)."""
    return int(order["id"])


def all_ids(client, **params) -> list[int]:
    ids, page = [], 1
    while True:
        data = body(get(client, "/v2/orders", page=page, **params))
        ids += [oid(o) for o in data["data"]]
        if data["links"]["next"] is None:
            return ids
        page += 1


# --- auth and headers -----------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong-key", f"Basic {PLUGANDPAY_KEY}", f"Bearer {PLUGANDPAY_KEY}x"],
)
def test_bad_or_missing_key_is_401(client, authorization):
    headers = {"Accept": "application/json"}
    if authorization:
        headers["Authorization"] = authorization
    resp = get(client, "/v2/orders", headers=headers)
    assert resp.status_code == 401
    assert body(resp) == {"message": "Unauthenticated."}


@pytest.mark.parametrize("accept", [None, "*/*", "text/html"])
def test_without_accept_json_the_answer_is_a_redirect(client, accept):
    headers = {"Authorization": HEADERS["Authorization"]}
    if accept:
        headers["Accept"] = accept
    resp = get(client, "/v2/orders", headers=headers)
    assert resp.status_code == 302
    assert resp.location.endswith("/login")
    assert resp.mimetype != "application/json"


def test_accepted_keys_are_a_parameter():
    client = create_app(today=TODAY, count=5, keys=["other"]).test_client()
    assert get(client, "/v2/auth/tenants/me").status_code == 401
    other = {**HEADERS, "Authorization": "Bearer other"}
    assert get(client, "/v2/auth/tenants/me", headers=other).status_code == 200


def test_tenant_is_the_connection_check(client):
    data = body(get(client, "/v2/auth/tenants/me"))["data"]
    assert data["name"] == "Demo Webshop" and data["id"] == 1 and data["plan"]


# --- paging -----------------------------------------------------------------------------


def test_default_page(client, demo):
    data = body(get(client, "/v2/orders"))
    assert len(data["data"]) == 10
    meta = data["meta"]
    assert (meta["current_page"], meta["per_page"], meta["total"], meta["last_page"]) == (
        1,
        10,
        len(demo),
        6,
    )
    assert (meta["from"], meta["to"]) == (1, 10)
    assert meta["path"] == "http://localhost/v2/orders"
    assert data["links"]["prev"] is None
    assert oid(data["data"][0]) == 60  # newest first by default


def test_links_keep_the_query_and_stop_on_the_last_page(client):
    data = body(get(client, "/v2/orders", mode="live", limit=7, page=2, sort="id"))
    links = data["links"]
    next_query = parse_qs(urlsplit(links["next"]).query)
    assert next_query == {"mode": ["live"], "limit": ["7"], "page": ["3"], "sort": ["id"]}
    assert parse_qs(urlsplit(links["prev"]).query)["page"] == ["1"]
    assert links["first"].startswith("http://localhost/v2/orders?")
    last_page = data["meta"]["last_page"]
    assert parse_qs(urlsplit(links["last"]).query)["page"] == [str(last_page)]
    last = body(get(client, "/v2/orders", mode="live", limit=7, page=last_page))
    assert last["links"]["next"] is None
    assert last["meta"]["to"] == last["meta"]["total"]
    beyond = body(get(client, "/v2/orders", limit=7, page=last_page + 5))
    assert beyond["data"] == [] and beyond["meta"]["from"] is None


def test_links_respect_the_mount_prefix(app):
    mounted = Client(DispatcherMiddleware(NotFound(), {"/plugandpay": app}))
    resp = mounted.get("/plugandpay/v2/orders", query_string={"limit": 5}, headers=HEADERS)
    data = jsonutil.loads(resp.get_data())
    assert data["meta"]["path"] == "http://localhost/plugandpay/v2/orders"
    assert data["links"]["next"].startswith("http://localhost/plugandpay/v2/orders?limit=5&page=2")


@pytest.mark.parametrize(
    "params,field",
    [
        ({"limit": 101}, "limit"),
        ({"limit": 0}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"page": 0}, "page"),
    ],
)
def test_limit_and_page_bounds(client, params, field):
    resp = get(client, "/v2/orders", **params)
    assert resp.status_code == 422
    data = body(resp)
    assert list(data["errors"]) == [field] and data["message"] == data["errors"][field][0]


def test_limit_100_is_allowed(client, demo):
    data = body(get(client, "/v2/orders", limit=100))
    assert len(data["data"]) == len(demo) and data["meta"]["last_page"] == 1


@pytest.mark.parametrize("sort", ["paid_at", "invoice_number", "invoice_date", "id"])
@pytest.mark.parametrize("direction", ["asc", "desc"])
def test_sort_is_stable_over_pages(client, demo, sort, direction):
    ids = all_ids(client, sort=sort, direction=direction, limit=7)
    by_id = {oid(o): o for o in demo}

    def value(order):
        if sort == "id":
            return oid(order)
        return order["payment"]["paid_at"] if sort == "paid_at" else order[sort]

    keys = [(value(by_id[i]) is not None, value(by_id[i]) or "", i) for i in ids]
    assert sorted(ids) == sorted(by_id)
    assert keys == sorted(keys, reverse=direction == "desc")


# --- filters ----------------------------------------------------------------------------


def listed(client, **params) -> list[dict]:
    return body(get(client, "/v2/orders", limit=100, include="billing,payment", **params))["data"]


def test_filter_mode_and_invoice_status(client, demo):
    test_orders = listed(client, mode="test")
    assert len(test_orders) >= 2 and {o["mode"] for o in test_orders} == {"test"}
    concept = listed(client, invoice_status="concept")
    assert concept and {o["invoice_status"] for o in concept} == {"concept"}
    assert len(listed(client, invoice_status="final")) == len(demo) - len(concept)


def test_filter_payment_status_list(client, demo):
    found = listed(client, payment_status="credited,credit_invoice")
    assert {o["payment"]["status"] for o in found} == {"credited", "credit_invoice"}
    expected = [o for o in demo if o["payment"]["status"] in ("credited", "credit_invoice")]
    assert len(found) == len(expected)


def test_filter_invoice_date_range_is_inclusive(client, demo):
    day = demo[20]["invoice_date"]
    found = listed(client, since_invoice_date=day, until_invoice_date=day)
    assert demo[20]["id"] in {o["id"] for o in found}
    assert {o["invoice_date"] for o in found} == {day}
    since = listed(client, since_invoice_date=day)
    assert len(since) == sum(1 for o in demo if o["invoice_date"] and o["invoice_date"] >= day)


def test_filter_paid_at_range_is_inclusive(client, demo):
    order = next(o for o in demo[30:] if o["payment"]["paid_at"])
    stamp = order["payment"]["paid_at"][:19].replace("T", " ")
    found = listed(client, since_paid_at=stamp, until_paid_at=stamp)
    assert [oid(o) for o in found] == [oid(order)]
    until = listed(client, until_paid_at=stamp)
    assert all(o["payment"]["paid_at"] <= order["payment"]["paid_at"] for o in until)
    assert all(o["payment"]["paid_at"] for o in until)


def test_filter_country_email_and_q(client, demo):
    german = listed(client, country="de")
    assert german and {o["billing"]["address"]["country"] for o in german} == {"DE"}
    email = demo[0]["billing"]["contact"]["email"]
    by_email = listed(client, email=email.upper())
    assert by_email and {o["billing"]["contact"]["email"] for o in by_email} == {email}
    zoe = listed(client, q="müller")
    assert zoe and all("Müller" in o["billing"]["contact"]["lastname"] for o in zoe)
    cafe = listed(client, q="TIMMERMANS")
    assert {o["billing"]["contact"]["company"] for o in cafe} == {"Café Timmermans & Zn"}
    assert listed(client, q="no such customer") == []


@pytest.mark.parametrize(
    "params,field",
    [
        ({"mode": "demo"}, "mode"),
        ({"invoice_status": "draft"}, "invoice_status"),
        ({"payment_status": "paid,lost"}, "payment_status"),
        ({"since_invoice_date": "10-02-2026"}, "since_invoice_date"),
        ({"until_invoice_date": "2026-02-30"}, "until_invoice_date"),
        ({"since_invoice_date": "2026-2-1"}, "since_invoice_date"),
        ({"since_paid_at": "2026-02-01"}, "since_paid_at"),
        ({"until_paid_at": "2026-02-01T10:00:00"}, "until_paid_at"),
        ({"sort": "amount"}, "sort"),
        ({"direction": "up"}, "direction"),
        ({"country": "DEU"}, "country"),
        ({"email": "nobody"}, "email"),
    ],
)
def test_invalid_filters_are_422_with_laravel_errors(client, params, field):
    resp = get(client, "/v2/orders", **params)
    assert resp.status_code == 422
    data = body(resp)
    assert list(data["errors"]) == [field]
    assert data["message"] == data["errors"][field][0]
    assert field.replace("_", " ") in data["message"]


def test_several_errors_are_counted_in_the_message(client):
    data = body(get(client, "/v2/orders", mode="x", sort="y", limit=500))
    assert set(data["errors"]) == {"mode", "sort", "limit"}
    assert data["message"].endswith("(and 2 more errors)")


def test_empty_filter_values_are_no_filter(client, demo):
    assert body(get(client, "/v2/orders", mode="", q=""))["meta"]["total"] == len(demo)


# --- includes and single orders ---------------------------------------------------------


def test_without_include_only_the_base_fields(client):
    order = body(get(client, "/v2/orders/1"))["data"]
    assert not INCLUDE_KEYS & set(order)
    assert {"id", "amount", "amount_with_tax", "invoice_number", "mode", "reference"} <= set(order)


def test_include_picks_keys_and_discounts_means_total_discounts(client):
    order = body(get(client, "/v2/orders/1", include="items,discounts"))["data"]
    assert INCLUDE_KEYS & set(order) == {"items", "total_discounts"}
    listed_orders = body(get(client, "/v2/orders", include="taxes"))["data"]
    assert all(INCLUDE_KEYS & set(o) == {"taxes"} for o in listed_orders)


def test_every_include_gives_the_whole_order(client, demo):
    for order in demo[:5]:
        assert body(get(client, f"/v2/orders/{order['id']}", include=ALL))["data"] == order


def test_unknown_include_is_400_but_tap_includes_are_accepted(client):
    resp = get(client, "/v2/orders", include="items,itemz")
    assert resp.status_code == 400 and "itemz" in body(resp)["message"]
    assert get(client, "/v2/orders/1", include="custom_fields,items").status_code == 200


@pytest.mark.parametrize("path", ["/v2/orders/99999", "/v2/orders/abc", "/v2/nothing"])
def test_unknown_order_or_path_is_404(client, path):
    resp = get(client, path)
    assert resp.status_code == 404
    assert body(resp) == {"message": "Not found."}


def test_products_with_ledgers_and_tax_rates(client):
    products = body(get(client, "/v2/products", limit=100))
    assert {p["ledger"] for p in products["data"]} >= {"8010", "8020", "8030", None}
    assert products["meta"]["total"] == len(products["data"])
    assert body(get(client, "/v2/products/3"))["data"]["is_physical"] is True
    assert get(client, "/v2/products/99").status_code == 404
    rates = body(get(client, "/v2/tax-rates", country="NL"))["data"]
    assert {r["percentage"] for r in rates} == {"21.0", "9.0", "0.0"}
    assert {r["country"] for r in rates} == {"NL"}
    assert len(body(get(client, "/v2/tax-rates"))["data"]) > len(rates)


# --- sandbox controls -------------------------------------------------------------------


def test_added_orders_read_back_identical(client):
    new = generate_orders(3, seed=8, start=date(2026, 1, 1), end=date(2026, 1, 31), first_id=500)
    resp = client.post("/_sandbox/orders", data=jsonutil.dumps(new))
    assert resp.status_code == 200 and body(resp) == {"ids": [500, 501, 502]}
    for order in new:
        assert body(get(client, f"/v2/orders/{order['id']}", include=ALL))["data"] == order
    assert body(get(client, "/v2/orders"))["meta"]["total"] == 63


def test_adding_an_existing_id_replaces_it(client):
    order = body(get(client, "/v2/orders/1", include=ALL))["data"]
    changed = {**order, "amount": "1.00", "invoice_number": "2026-99999"}
    assert body(client.post("/_sandbox/orders", data=jsonutil.dumps([changed]))) == {"ids": [1]}
    assert body(get(client, "/v2/orders/1"))["data"]["invoice_number"] == "2026-99999"
    assert body(get(client, "/v2/orders"))["meta"]["total"] == 60


@pytest.mark.parametrize("payload", ["{}", "[]", '[{"id": "x"}]', '[{"id": 3}]', "[1]"])
def test_adding_malformed_orders_is_422(client, payload):
    resp = client.post("/_sandbox/orders", data=payload)
    assert resp.status_code == 422 and body(resp)["errors"]


def test_generate_adds_orders_after_the_highest_id(client):
    resp = client.post(
        "/_sandbox/generate",
        data=jsonutil.dumps({"n": 25, "seed": 4, "start": "2025-01-01", "end": "2025-03-31"}),
    )
    assert body(resp) == {"count": 25, "first_id": 61, "last_id": 85}
    assert body(get(client, "/v2/orders"))["meta"]["total"] == 85
    order = body(get(client, "/v2/orders/85", include="payment"))["data"]
    assert "2025-01-01" <= (order["invoice_date"] or "2025-01-01") <= "2025-03-31"
    bad = client.post("/_sandbox/generate", data=jsonutil.dumps({"n": 0, "start": "yesterday"}))
    assert bad.status_code == 422 and set(body(bad)["errors"]) == {"n", "start"}


def test_injected_500s_then_recovery(client):
    client.post("/_sandbox/faults", json={"path": "/v2/orders", "status": 500, "times": 2})
    assert get(client, "/v2/orders/1").status_code == 200  # the pattern is exact
    for _ in range(2):
        resp = get(client, "/v2/orders")
        assert resp.status_code == 500 and "message" in body(resp)
    assert get(client, "/v2/orders").status_code == 200


def test_injected_429_has_retry_after(client):
    client.post("/_sandbox/faults", json={"path": "/v2/*", "status": 429, "retry_after": 7})
    resp = get(client, "/v2/orders")
    assert resp.status_code == 429 and resp.headers["Retry-After"] == "7"
    assert body(resp)["message"]


def test_rate_limit_control(client):
    client.post("/_sandbox/rate-limit", json={"limit": 3, "window": 60})
    assert [get(client, "/v2/orders").status_code for _ in range(4)] == [200, 200, 200, 429]
    resp = get(client, "/v2/orders")
    assert int(resp.headers["Retry-After"]) >= 1 and body(resp)["message"]
    client.post("/_sandbox/rate-limit", json={"limit": None})
    assert get(client, "/v2/orders").status_code == 200


def test_assumed_rate_limit_is_off_by_default_and_can_be_switched_on(client):
    assert ASSUMED_RATE_LIMIT == (60, 60.0)
    assert {get(client, "/v2/auth/tenants/me").status_code for _ in range(61)} == {200}
    limited = create_app(today=TODAY, count=5, rate_limit=(2, 60.0)).test_client()
    assert [get(limited, "/v2/auth/tenants/me").status_code for _ in range(3)] == [200, 200, 429]


def test_reset_restores_the_seed_data(client, demo):
    client.post("/_sandbox/generate", data=jsonutil.dumps({"n": 5}))
    changed = {**demo[0], "amount": "0.01"}
    client.post("/_sandbox/orders", data=jsonutil.dumps([changed]))
    client.post("/_sandbox/faults", json={"path": "/v2/tax-rates", "times": None})
    assert get(client, "/v2/tax-rates").status_code == 500
    assert body(client.get("/_sandbox/stats")) == {"GET /v2/tax-rates": 1}
    assert body(client.post("/_sandbox/reset")) == {"reset": True}
    assert body(client.get("/_sandbox/stats")) == {}
    assert body(get(client, "/v2/orders"))["meta"]["total"] == len(demo)
    assert body(get(client, "/v2/orders/1", include=ALL))["data"] == demo[0]
    assert get(client, "/v2/tax-rates").status_code == 200


def test_given_orders_are_served_exactly(demo):
    client = create_app(orders=demo[:2]).test_client()
    assert all_ids(client) == [2, 1]
    empty = body(get(create_app(orders=[]).test_client(), "/v2/orders"))
    assert empty["data"] == [] and empty["meta"]["last_page"] == 1


def test_concurrent_writes_and_reads_lose_nothing(app):
    errors = []

    def worker(number: int) -> None:
        client = app.test_client()
        first = 1000 + number * 20
        orders = generate_orders(20, seed=number, start=TODAY, end=TODAY, first_id=first)
        for order in orders:
            if client.post("/_sandbox/orders", data=jsonutil.dumps([order])).status_code != 200:
                errors.append(order["id"])
            if get(client, "/v2/orders", limit=100).status_code != 200:
                errors.append("list")

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert body(get(app.test_client(), "/v2/orders"))["meta"]["total"] == 60 + 6 * 20
