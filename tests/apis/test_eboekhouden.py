"""EBoekhoudenClient against recorded-style e-Boekhouden.nl answers (requests_mock, no sleeps)."""

from __future__ import annotations

import json
import logging
from datetime import date
from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from urllib3.exceptions import MaxRetryError, NewConnectionError

from pp2eb.apis import eboekhouden
from pp2eb.apis import errors as apierrors
from pp2eb.apis.eboekhouden import EBoekhoudenClient

FIXTURES = Path(__file__).parents[1] / "fixtures" / "eboekhouden"
BASE = "https://eb.test/v1"
API_TOKEN = "eb-api-token-0c8d2f6a91"
SESSION_TOKEN = "eb-session-7f3a9c2e41d8"  # the token in session.json
MUTATION = {
    "type": 2,
    "date": "2025-03-14",
    "ledgerId": 22206400,
    "relationId": 4711,
    "invoiceNumber": "PP-10023",
    "inExVat": "IN",
    "rows": [{"ledgerId": 22206462, "vatCode": "HOOG_VERK_21", "amount": Decimal("121.00")}],
}


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def query(request) -> dict[str, str]:
    """The request's query string, case kept, one value per key."""
    return {k: v[0] for k, v in parse_qs(urlsplit(request.url).query).items()}


def session_answer(token: str, expires_in: int = 3600) -> dict:
    return {"json": {"token": token, "expiresIn": expires_in}}


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def waits() -> list[float]:
    return []


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def client(waits, clock) -> EBoekhoudenClient:
    return EBoekhoudenClient(API_TOKEN, BASE, sleep=waits.append, clock=clock)


@pytest.fixture
def session_mock(requests_mock):
    return requests_mock.post(f"{BASE}/session", text=fixture("session.json"))


def calls(requests_mock, method: str, path: str) -> list:
    return [
        r for r in requests_mock.request_history if r.method == method and r.path == "/v1" + path
    ]


def test_session_is_opened_once_and_sent_as_the_raw_token(client, requests_mock, session_mock):
    requests_mock.get(f"{BASE}/ledger/22206462", json={"id": 22206462, "code": "8000"})

    client.get_ledger(22206462)
    client.get_ledger(22206462)

    assert session_mock.call_count == 1 and client.session_count == 1
    login = session_mock.last_request
    assert login.json() == {"accessToken": API_TOKEN, "source": "pp2eb"}
    assert login.headers["Content-Type"] == "application/json"
    assert "Authorization" not in login.headers
    assert requests_mock.last_request.headers["Authorization"] == SESSION_TOKEN
    assert requests_mock.last_request.timeout == 30.0


def test_offset_paging_stops_on_a_short_page(client, requests_mock, session_mock):
    for offset, page in ((0, 1), (2, 2), (4, 3)):
        requests_mock.get(
            f"{BASE}/ledger?offset={offset}", text=fixture(f"ledgers_page_{page}.json")
        )

    ledgers = list(client.iter_ledgers(limit=2))

    assert [ledger["code"] for ledger in ledgers] == ["1300", "8000", "8001", "8010", "1640"]
    sent = [query(r) for r in calls(requests_mock, "GET", "/ledger")]
    assert [(q["limit"], q["offset"]) for q in sent] == [("2", "0"), ("2", "2"), ("2", "4")]


def test_offset_paging_stops_on_an_empty_page(client, requests_mock, session_mock):
    requests_mock.get(f"{BASE}/invoicetemplate?offset=0", text=fixture("invoice_templates.json"))
    requests_mock.get(f"{BASE}/invoicetemplate?offset=100", json={"items": [], "count": 0})
    requests_mock.get(f"{BASE}/relation?offset=0", json={"items": [{"id": 1}] * 2, "count": 2})
    requests_mock.get(f"{BASE}/relation?offset=2", json={"items": [], "count": 0})

    assert [t["id"] for t in client.list_invoice_templates()] == [752296, 752297]
    assert len(list(client.iter_relations(limit=2))) == 2
    assert len(calls(requests_mock, "GET", "/relation")) == 2
    assert len(calls(requests_mock, "GET", "/invoicetemplate")) == 1


def test_filters_take_operator_keys(client, requests_mock, session_mock):
    requests_mock.get(f"{BASE}/mutation", text=fixture("mutations_by_invoice_number.json"))

    found = list(
        client.iter_mutations(
            {"date[range]": (date(2025, 1, 1), date(2025, 12, 31)), "description[like]": "%PP%"},
            type=2,
            invoiceNumber="PP-10023",
            relationId=None,
        )
    )

    assert found[0]["amount"] == Decimal("148.85")
    assert query(requests_mock.last_request) == {
        "date[range]": "2025-01-01,2025-12-31",
        "description[like]": "%PP%",
        "type": "2",
        "invoiceNumber": "PP-10023",
        "limit": "100",
        "offset": "0",
    }
    assert "description%5Blike%5D=%25PP%25" in requests_mock.last_request.url


@pytest.mark.parametrize(
    ("value", "expected"),
    [(True, "true"), (False, "false"), (date(2025, 2, 3), "2025-02-03"), (Decimal("1.50"), "1.50")],
)
def test_encode_filters(value, expected):
    assert eboekhouden.encode_filters({"x[gte]": value}) == {"x[gte]": expected}


def test_page_size_is_checked(client):
    with pytest.raises(ValueError):
        list(client.iter_invoices(limit=2001))


def test_money_is_parsed_to_decimal(client, requests_mock, session_mock):
    requests_mock.get(f"{BASE}/mutation/98765", text=fixture("mutation.json"))

    mutation = client.get_mutation(98765)

    amounts = [row["amount"] for row in mutation["rows"]]
    assert amounts == [Decimal("121.00"), Decimal("21.80"), Decimal("6.05")]
    assert all(type(a) is Decimal for a in amounts)
    assert str(mutation["vat"][1]["amount"]) == "1.80"


def test_money_is_written_as_exact_json_numbers(client, requests_mock, session_mock):
    created = requests_mock.post(f"{BASE}/mutation", text=fixture("mutation_created.json"))

    assert client.create_mutation(MUTATION) == {"id": 98765}

    sent = created.last_request
    assert sent.headers["Content-Type"] == "application/json"
    assert '"amount": 121.00' in sent.text
    assert json.loads(sent.text)["rows"][0]["vatCode"] == "HOOG_VERK_21"


def test_create_relation_and_invoice(client, requests_mock, session_mock):
    requests_mock.post(f"{BASE}/relation", text=fixture("relation_created.json"))
    requests_mock.post(f"{BASE}/invoice", text=fixture("invoice_created.json"))

    assert client.create_relation({"type": "P", "name": "Jan Jansen"}) == {
        "id": 4711,
        "code": "JANSE",
    }
    invoice = client.create_invoice({"relationId": 4711, "items": []})
    assert invoice["invoiceNumber"] == "PP2025-10023"


def test_401_on_session_is_an_auth_error_asking_for_a_new_token(client, requests_mock):
    requests_mock.post(
        f"{BASE}/session", status_code=401, text=fixture("error_api_session_004.json")
    )
    ledger = requests_mock.get(f"{BASE}/ledger/1", json={})

    with pytest.raises(eboekhouden.AuthError) as info:
        client.get_ledger(1)

    exc = info.value
    assert isinstance(exc, apierrors.AuthError) and isinstance(exc, eboekhouden.EBoekhoudenError)
    assert (exc.status, exc.code, exc.detail) == (
        401,
        "API_SESSION_004",
        "Access token has expired",
    )
    assert "new API token" in str(exc) and "API_SESSION_004" in str(exc)
    assert requests_mock.call_count == 1 and not ledger.called
    assert client.session_count == 0


def test_session_code_for_a_bad_source_stays_rejected(requests_mock):
    client = EBoekhoudenClient(API_TOKEN, BASE)
    requests_mock.post(
        f"{BASE}/session", status_code=400, text=fixture("error_api_session_002.json")
    )

    with pytest.raises(eboekhouden.Rejected) as info:
        client.start_session()

    assert info.value.code == "API_SESSION_002" and info.value.property_name == "source"
    assert not isinstance(info.value, apierrors.AuthError)


def test_expired_token_with_status_400_is_still_an_auth_error(requests_mock):
    client = EBoekhoudenClient(API_TOKEN, BASE)
    body = fixture("error_api_session_004.json").replace('"status": 401', '"status": 400')
    requests_mock.post(f"{BASE}/session", status_code=400, text=body)

    with pytest.raises(eboekhouden.AuthError) as info:
        client.start_session()

    assert info.value.code == "API_SESSION_004"


def test_401_on_a_call_opens_one_new_session_and_retries_once(client, requests_mock):
    login = requests_mock.post(
        f"{BASE}/session", [session_answer("first-token"), session_answer("second-token")]
    )
    created = requests_mock.post(
        f"{BASE}/mutation",
        [
            {"status_code": 401, "text": fixture("error_security_010.json")},
            {"text": fixture("mutation_created.json")},
        ],
    )

    assert client.create_mutation(MUTATION) == {"id": 98765}

    assert login.call_count == 2 and client.session_count == 2
    tokens = [r.headers["Authorization"] for r in created.request_history]
    assert tokens == ["first-token", "second-token"]


def test_a_second_401_is_an_auth_error(client, requests_mock, session_mock):
    requests_mock.get(
        f"{BASE}/relation/4711", status_code=401, text=fixture("error_security_010.json")
    )

    with pytest.raises(eboekhouden.AuthError) as info:
        client.get_relation(4711)

    assert info.value.code == "SECURITY_010"
    assert session_mock.call_count == 2
    assert len(calls(requests_mock, "GET", "/relation/4711")) == 2


def test_session_is_renewed_shortly_before_it_expires(client, clock, requests_mock):
    login = requests_mock.post(
        f"{BASE}/session", [session_answer("first", 3600), session_answer("second", 3600)]
    )
    ledger = requests_mock.get(f"{BASE}/ledger/1", json={"id": 1})

    client.get_ledger(1)
    clock.now += 3539  # 61 s left: keep the token
    client.get_ledger(1)
    clock.now += 2  # 59 s left: renew before sending
    client.get_ledger(1)

    assert login.call_count == 2 and client.session_count == 2
    tokens = [r.headers["Authorization"] for r in ledger.request_history]
    assert tokens == ["first", "first", "second"]


def test_429_on_post_waits_retry_after_then_succeeds(client, requests_mock, session_mock, waits):
    created = requests_mock.post(
        f"{BASE}/mutation",
        [
            {"status_code": 429, "headers": {"Retry-After": "3"}},
            {"status_code": 429, "headers": {"Retry-After": "600"}},
            {"text": fixture("mutation_created.json")},
        ],
    )

    assert client.create_mutation(MUTATION)["id"] == 98765
    assert created.call_count == 3
    assert waits == [3.0, 120.0]  # each wait capped at 120 s


def test_429_on_get_without_retry_after_waits_one_second(
    client, requests_mock, session_mock, waits
):
    requests_mock.get(
        f"{BASE}/invoice/123", [{"status_code": 429}, {"json": {"id": 123, "totalAmount": 1.5}}]
    )

    assert client.get_invoice(123)["totalAmount"] == Decimal("1.5")
    assert waits == [1.0]


def test_429_forever_raises_rate_limited(client, requests_mock, session_mock, waits):
    created = requests_mock.post(f"{BASE}/mutation", status_code=429, headers={"Retry-After": "5"})

    with pytest.raises(eboekhouden.RateLimited) as info:
        client.create_mutation(MUTATION)

    assert isinstance(info.value, apierrors.RateLimited)
    assert info.value.retry_after == 5.0
    assert created.call_count == 4 and waits == [5.0, 5.0, 5.0]


def test_5xx_on_get_is_retried_then_succeeds(client, requests_mock, session_mock, waits):
    requests_mock.get(
        f"{BASE}/ledger/1",
        [{"status_code": 500, "text": fixture("error_500.json")}, {"json": {"id": 1}}],
    )

    assert client.get_ledger(1) == {"id": 1}
    assert waits == [0.5]


def test_5xx_on_post_is_not_retried(client, requests_mock, session_mock, waits):
    created = requests_mock.post(
        f"{BASE}/mutation", status_code=500, text=fixture("error_500.json")
    )

    with pytest.raises(eboekhouden.Unavailable) as info:
        client.create_mutation(MUTATION)

    exc = info.value
    assert isinstance(exc, apierrors.Unavailable)
    assert exc.write_uncertain is True and exc.status == 500 and exc.code == "ERR_001"
    assert "check e-Boekhouden.nl before trying again" in str(exc)
    assert created.call_count == 1 and waits == []


def test_timeout_on_get_is_retried(client, requests_mock, session_mock, waits):
    requests_mock.get(
        f"{BASE}/relation/1", [{"exc": requests.exceptions.ReadTimeout}, {"json": {"id": 1}}]
    )

    assert client.get_relation(1) == {"id": 1}
    assert waits == [0.5]


def test_timeout_on_post_is_not_retried(client, requests_mock, session_mock, waits):
    created = requests_mock.post(f"{BASE}/invoice", exc=requests.exceptions.ReadTimeout)

    with pytest.raises(eboekhouden.Unavailable) as info:
        client.create_invoice({"relationId": 4711})

    assert info.value.write_uncertain is True and info.value.status is None
    assert "no answer within 30 s" in str(info.value)
    assert created.call_count == 1 and waits == []


def test_post_that_never_connected_is_retried(client, requests_mock, session_mock, waits):
    refused = requests.exceptions.ConnectionError(
        MaxRetryError(None, "/v1/mutation", NewConnectionError(None, "Connection refused"))
    )
    created = requests_mock.post(
        f"{BASE}/mutation",
        [{"exc": refused}, {"exc": requests.exceptions.ConnectTimeout}, {"json": {"id": 1}}],
    )

    assert client.create_mutation(MUTATION) == {"id": 1}
    assert created.call_count == 3 and waits == [0.5, 1.0]


def test_post_that_never_connected_reports_no_write(requests_mock, session_mock):
    client = EBoekhoudenClient(API_TOKEN, BASE, max_attempts=1)
    requests_mock.post(f"{BASE}/mutation", exc=requests.exceptions.ConnectTimeout)

    with pytest.raises(eboekhouden.Unavailable) as info:
        client.create_mutation(MUTATION)

    assert info.value.write_uncertain is False


def test_4xx_is_rejected_with_the_api_code(client, requests_mock, session_mock, waits):
    created = requests_mock.post(
        f"{BASE}/mutation", status_code=400, text=fixture("error_mut_019.json")
    )

    with pytest.raises(eboekhouden.Rejected) as info:
        client.create_mutation(MUTATION)

    exc = info.value
    assert isinstance(exc, apierrors.Rejected) and not isinstance(exc, apierrors.NotFound)
    assert (exc.status, exc.code, exc.detail) == (400, "MUT_019", "Invoice number already exists")
    assert exc.errors == ["Invoice number already exists", "Payment reference already exists"]
    assert exc.property_name == "invoiceNumber"
    assert str(exc) == (
        "e-Boekhouden.nl refused the request (400, MUT_019): Invoice number already exists "
        "[Payment reference already exists]."
    )
    assert created.call_count == 1 and waits == []


def test_404_is_not_found(client, requests_mock, session_mock):
    requests_mock.get(f"{BASE}/mutation/1", status_code=404, text=fixture("error_mut_300.json"))

    with pytest.raises(eboekhouden.NotFound) as info:
        client.get_mutation(1)

    assert isinstance(info.value, apierrors.NotFound) and isinstance(
        info.value, eboekhouden.Rejected
    )
    assert info.value.code == "MUT_300"


def test_end_session_deletes_it_once_and_the_context_manager_calls_it(requests_mock, session_mock):
    deleted = requests_mock.delete(f"{BASE}/session", status_code=204)
    requests_mock.get(f"{BASE}/ledger/1", json={"id": 1})

    with EBoekhoudenClient(API_TOKEN, BASE) as client:
        client.end_session()  # none open: no call
        assert not deleted.called
        client.get_ledger(1)

    assert deleted.call_count == 1
    assert deleted.last_request.headers["Authorization"] == SESSION_TOKEN
    client.end_session()
    assert deleted.call_count == 1


def test_end_session_failure_is_logged_not_raised(requests_mock, session_mock, caplog):
    client = EBoekhoudenClient(API_TOKEN, BASE, sleep=lambda s: None)
    requests_mock.delete(f"{BASE}/session", status_code=503)
    client.start_session()

    client.end_session()

    assert "could not end the e-Boekhouden.nl session" in caplog.text
    assert "session_open=False" in repr(client)


def test_source_must_match_the_api_pattern():
    with pytest.raises(ValueError):
        EBoekhoudenClient(API_TOKEN, BASE, source="pp2eb-connector")


def test_no_token_shows_in_logs_errors_or_repr(client, requests_mock, caplog):
    caplog.set_level(logging.DEBUG)
    requests_mock.post(f"{BASE}/session", text=fixture("session.json"))
    echo = f"Not authenticated with {SESSION_TOKEN} (API token {API_TOKEN})."
    requests_mock.get(f"{BASE}/ledger/1", status_code=401, json={"status": 401, "message": echo})
    requests_mock.post(f"{BASE}/mutation", status_code=502)
    requests_mock.delete(f"{BASE}/session", status_code=204)

    texts = []
    for call in (lambda: client.get_ledger(1), lambda: client.create_mutation(MUTATION)):
        with pytest.raises(eboekhouden.EBoekhoudenError) as info:
            call()
        texts += [str(info.value), repr(info.value), str(info.value.args)]
    texts.append(repr(client))
    client.end_session()

    assert "Not authenticated with *** (API token ***)." in texts[0]
    logged = [r.getMessage() for r in caplog.records]
    assert any("POST /v1/mutation -> 502 in" in m for m in logged)
    for secret in (API_TOKEN, SESSION_TOKEN):
        assert all(secret not in text for text in texts + logged)


def test_update_relation_patches_and_may_be_sent_again_after_a_500(
    client, requests_mock, session_mock
):
    patch = requests_mock.patch(
        f"{BASE}/relation/4711",
        [{"status_code": 502, "json": {}}, {"status_code": 204}],
    )
    body = {"name": "Jansen Advies", "type": "B", "vatNumber": "BE0123456789"}
    assert client.update_relation(4711, body) is None
    assert patch.call_count == 2  # the same body twice leaves the same relation
    assert patch.last_request.json() == body
    assert patch.last_request.headers["Authorization"] == SESSION_TOKEN
