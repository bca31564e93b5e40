"""PlugAndPayClient against recorded-style Plug&Pay responses (requests_mock, no sleeping)."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from pp2eb.apis import errors as apierrors
from pp2eb.apis import plugandpay
from pp2eb.apis.plugandpay import PlugAndPayClient

FIXTURES = Path(__file__).parents[1] / "fixtures" / "plugandpay"
BASE = "https://pp.test/v2"
KEY = "pp-secret-key-4f1e9b7d2c"


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def query(request) -> dict[str, str]:
    """The request's query string, case kept, one value per key."""
    return {k: v[0] for k, v in parse_qs(urlsplit(request.url).query).items()}


@pytest.fixture
def waits() -> list[float]:
    return []


@pytest.fixture
def client(waits) -> PlugAndPayClient:
    return PlugAndPayClient(KEY, BASE, sleep=waits.append)


def test_get_tenant_sends_the_documented_headers(client, requests_mock):
    requests_mock.get(f"{BASE}/auth/tenants/me", text=fixture("tenant.json"))

    assert client.get_tenant() == {"id": 1, "name": "Test Tenant", "plan": "lite"}
    headers = requests_mock.last_request.headers
    assert headers["Authorization"] == f"Bearer {KEY}"
    assert headers["Accept"] == "application/json"
    assert headers["User-Agent"].startswith("pp2eb/")
    assert headers["User-Agent"].endswith(" CustomApiCall/2")
    assert requests_mock.last_request.timeout == 25.0


def test_iter_orders_follows_meta_last_page_over_three_pages(client, requests_mock):
    for page in (1, 2, 3):
        requests_mock.get(f"{BASE}/orders?page={page}", text=fixture(f"orders_page_{page}.json"))

    orders = list(client.iter_orders(limit=2))

    assert [o["id"] for o in orders] == [101, 102, 103, 104, 105]
    sent = [query(r) for r in requests_mock.request_history]
    assert [q["page"] for q in sent] == ["1", "2", "3"]
    assert all(q["limit"] == "2" for q in sent)
    assert all(q["include"] == ",".join(plugandpay.ORDER_INCLUDES) for q in sent)


def test_iter_orders_is_lazy(client, requests_mock):
    requests_mock.get(f"{BASE}/orders?page=1", text=fixture("orders_page_1.json"))
    requests_mock.get(f"{BASE}/orders?page=2", text=fixture("orders_page_2.json"))

    first = next(iter(client.iter_orders(limit=2)))

    assert first["id"] == 101
    assert requests_mock.call_count == 1


def test_paging_without_meta_stops_when_links_next_is_null(client, requests_mock):
    requests_mock.get(
        f"{BASE}/products?page=1",
        json={"data": [{"id": 1}], "links": {"next": f"{BASE}/products?page=2"}},
    )
    requests_mock.get(
        f"{BASE}/products?page=2", json={"data": [{"id": 2}], "links": {"next": None}}
    )

    assert [p["id"] for p in client.iter_products()] == [1, 2]


def test_order_filters_are_encoded_like_the_sdk(client, requests_mock):
    requests_mock.get(f"{BASE}/orders", text=fixture("products.json").replace("products", "orders"))

    list(
        client.iter_orders(
            include=("billing", "items"),
            mode="live",
            invoice_status="final",
            payment_status=["paid", "credit_invoice"],
            since_invoice_date=date(2025, 1, 1),
            until_invoice_date=datetime(2025, 1, 31, 12, 0),
            since_paid_at=datetime(2001, 1, 1, 0, 0, 0),
            has_tax=True,
            is_deleted=False,
            q=None,
            sort="invoice_date",
            direction="asc",
        )
    )

    request = requests_mock.last_request
    assert "since_paid_at=2001-01-01+00%3A00%3A00" in request.url  # as the SDK's own test
    assert query(request) == {
        "include": "billing,items",
        "limit": "100",
        "page": "1",
        "mode": "live",
        "invoice_status": "final",
        "payment_status": "paid,credit_invoice",
        "since_invoice_date": "2025-01-01",
        "until_invoice_date": "2025-01-31",
        "since_paid_at": "2001-01-01 00:00:00",
        "has_tax": "1",
        "is_deleted": "0",
        "sort": "invoice_date",
        "direction": "asc",
    }


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("payment_status", ("paid", "open"), "paid,open"),
        ("contract_id", [3, 4], "3,4"),
        ("payment_status", [], None),
        ("has_bump", True, "1"),
        ("q", None, None),
        (
            "since_paid_at",
            datetime(2025, 3, 1, 8, 30, tzinfo=timezone(timedelta(hours=1))),
            "2025-03-01 07:30:00",
        ),
        ("since_paid_at", date(2025, 3, 1), "2025-03-01 00:00:00"),
        ("until_paid_at", date(2025, 3, 31), "2025-03-31 23:59:59"),
        ("product_id", 7, "7"),
    ],
)
def test_encode_filters(key, value, expected):
    assert plugandpay.encode_filters({key: value}).get(key) == expected


def test_get_order_keeps_money_exact_and_never_returns_floats(client, requests_mock):
    text = fixture("order.json").replace('"quantity": 1,', '"quantity": 1, "weight": 0.10,')
    requests_mock.get(f"{BASE}/orders/1", text=text)

    order = client.get_order(1)

    assert order["amount_with_tax"] == "90.75"
    assert order["items"][0]["weight"] == Decimal("0.10")
    assert str(order["items"][0]["weight"]) == "0.10"
    assert query(requests_mock.last_request)["include"] == ",".join(plugandpay.ORDER_INCLUDES)

    def floats(value):
        if isinstance(value, dict):
            return [f for v in value.values() for f in floats(v)]
        if isinstance(value, list):
            return [f for v in value for f in floats(v)]
        return [value] if isinstance(value, float) else []

    assert floats(order) == []


def test_list_tax_rates_of_a_country(client, requests_mock):
    requests_mock.get(f"{BASE}/tax-rates", text=fixture("tax_rates.json"))

    rates = client.list_tax_rates("NL")

    assert [r["percentage"] for r in rates] == ["9.0", "21.0", "0.0"]
    assert query(requests_mock.last_request)["country"] == "NL"
    assert requests_mock.call_count == 1


def test_iter_products(client, requests_mock):
    requests_mock.get(f"{BASE}/products", text=fixture("products.json"))

    products = list(client.iter_products(q="cursus"))

    assert [p["ledger"] for p in products] == ["8000", None]
    assert query(requests_mock.last_request)["q"] == "cursus"


def test_401_raises_auth_error_without_retrying(client, requests_mock, waits):
    requests_mock.get(f"{BASE}/auth/tenants/me", status_code=401, text=fixture("error_401.json"))

    with pytest.raises(plugandpay.AuthError) as info:
        client.get_tenant()

    exc = info.value
    assert isinstance(exc, apierrors.AuthError) and isinstance(exc, plugandpay.PlugAndPayError)
    assert (exc.status, exc.detail, exc.api) == (401, "Unauthenticated.", "Plug&Pay")
    assert "Plug&Pay refused the credentials" in str(exc)
    assert requests_mock.call_count == 1 and waits == []


def test_302_is_a_wrong_accept_header_and_is_not_followed(client, requests_mock):
    requests_mock.get(
        f"{BASE}/orders/1", status_code=302, headers={"Location": "https://pp.test/login"}
    )
    login = requests_mock.get("https://pp.test/login", text="<html>login</html>")

    with pytest.raises(plugandpay.Rejected) as info:
        client.get_order(1)

    assert info.value.status == 302
    assert "Accept header" in str(info.value)
    assert not login.called


def test_422_is_rejected_with_laravel_field_errors(client, requests_mock):
    requests_mock.get(f"{BASE}/orders", status_code=422, text=fixture("error_422.json"))

    with pytest.raises(plugandpay.Rejected) as info:
        list(client.iter_orders())

    exc = info.value
    assert isinstance(exc, apierrors.Rejected) and not isinstance(exc, apierrors.NotFound)
    assert exc.status == 422
    assert exc.detail == "The email field is required. (and 1 more error)"
    assert exc.errors == [
        "email: The email field is required.",
        "amount: The amount must be a number.",
    ]
    assert exc.property_name == "email"
    assert "amount: The amount must be a number." in str(exc)


def test_404_is_not_found(client, requests_mock):
    requests_mock.get(f"{BASE}/orders/999", status_code=404, text=fixture("error_404.json"))

    with pytest.raises(plugandpay.NotFound) as info:
        client.get_order(999)

    assert isinstance(info.value, apierrors.NotFound)
    assert isinstance(info.value, plugandpay.Rejected)
    assert info.value.status == 404


def test_429_waits_retry_after_then_succeeds(client, requests_mock, waits):
    requests_mock.get(
        f"{BASE}/auth/tenants/me",
        [
            {"status_code": 429, "headers": {"Retry-After": "7"}, "json": {"message": "Too Many"}},
            {"status_code": 200, "text": fixture("tenant.json")},
        ],
    )

    assert client.get_tenant()["id"] == 1
    assert waits == [7.0]


def test_429_forever_raises_rate_limited_after_max_attempts(requests_mock, waits):
    client = PlugAndPayClient(KEY, BASE, sleep=waits.append, max_attempts=3)
    requests_mock.get(f"{BASE}/auth/tenants/me", status_code=429, headers={"Retry-After": "2"})

    with pytest.raises(plugandpay.RateLimited) as info:
        client.get_tenant()

    assert isinstance(info.value, apierrors.RateLimited)
    assert info.value.retry_after == 2.0 and info.value.retryable
    assert requests_mock.call_count == 3
    assert waits == [2.0, 2.0]


def test_5xx_on_get_is_retried_with_backoff(client, requests_mock, waits):
    requests_mock.get(
        f"{BASE}/orders/1",
        [{"status_code": 503}, {"status_code": 502}, {"text": fixture("order.json")}],
    )

    assert client.get_order(1)["id"] == 1
    assert waits == [0.5, 1.0]


def test_5xx_forever_on_get_raises_unavailable(client, requests_mock, waits):
    requests_mock.get(f"{BASE}/orders/1", status_code=500, text="<html>oops</html>")

    with pytest.raises(plugandpay.Unavailable) as info:
        client.get_order(1)

    assert info.value.status == 500 and info.value.write_uncertain is False
    assert requests_mock.call_count == 4
    assert waits == [0.5, 1.0, 2.0]


def test_timeout_on_get_is_retried(client, requests_mock, waits):
    requests_mock.get(
        f"{BASE}/auth/tenants/me",
        [{"exc": requests.exceptions.ReadTimeout}, {"text": fixture("tenant.json")}],
    )

    assert client.get_tenant()["name"] == "Test Tenant"
    assert waits == [0.5]


def test_connection_error_forever_raises_unavailable(client, requests_mock):
    requests_mock.get(f"{BASE}/auth/tenants/me", exc=requests.exceptions.ConnectionError)

    with pytest.raises(apierrors.Unavailable) as info:
        client.get_tenant()

    assert isinstance(info.value, plugandpay.Unavailable)
    assert "Plug&Pay could not be reached or did not answer in time: no connection." in str(
        info.value
    )


def test_the_key_never_shows_in_logs_errors_or_repr(client, requests_mock, caplog):
    caplog.set_level(logging.DEBUG)
    requests_mock.get(
        f"{BASE}/auth/tenants/me",
        [
            {"status_code": 503},
            {"status_code": 401, "json": {"message": f"Token {KEY} is not valid."}},
        ],
    )
    requests_mock.get(f"{BASE}/orders/1", exc=requests.exceptions.ConnectTimeout)

    texts = [repr(client)]
    for call in (client.get_tenant, lambda: client.get_order(1)):
        with pytest.raises(plugandpay.PlugAndPayError) as info:
            call()
        texts += [str(info.value), repr(info.value), str(info.value.args)]

    assert "Token *** is not valid." in texts[1]
    logged = [r.getMessage() for r in caplog.records]
    assert any("GET /v2/auth/tenants/me -> 503 in" in m for m in logged)
    assert all(KEY not in text for text in texts + logged)


def test_an_empty_key_is_refused():
    with pytest.raises(ValueError):
        PlugAndPayClient("", BASE)


def test_aware_datetimes_are_sent_in_utc():
    params = plugandpay.encode_filters({"until_paid_at": datetime(2025, 1, 1, tzinfo=UTC)})
    assert params == {"until_paid_at": "2025-01-01 00:00:00"}
