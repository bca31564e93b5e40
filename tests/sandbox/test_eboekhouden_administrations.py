"""The e-Boekhouden sandbox serves several administrations, one per API token, that never meet."""

from __future__ import annotations

from decimal import Decimal

import pytest

from pp2eb import jsonutil
from pp2eb.sandbox import (
    DEMO_TENANTS,
    EBOEKHOUDEN_TOKEN,
    EBOEKHOUDEN_TOKEN_2,
    PLUGANDPAY_KEY,
    numbered_token,
)
from pp2eb.sandbox.eboekhouden import create_app
from pp2eb.sandbox.eboekhouden.administrations import ID_SPAN, Administrations
from pp2eb.sandbox.tenants import MAX_NUMBERED

SECOND = EBOEKHOUDEN_TOKEN_2


@pytest.fixture
def client():
    return create_app().test_client()


def start(client, token: str):
    return client.post("/v1/session", json={"accessToken": token, "source": "pp2eb"})


def login(client, token: str) -> dict:
    resp = start(client, token)
    assert resp.status_code == 200, resp.get_json()
    return {"Authorization": resp.get_json()["token"]}


def get(client, auth: dict, path: str):
    resp = client.get(path, headers=auth)
    assert resp.status_code == 200, resp.get_json()
    return jsonutil.loads(resp.get_data())


def control(client, method: str, path: str, tenant: str | None = None, body=None):
    query = {"tenant": tenant} if tenant is not None else {}
    return client.open(f"/_sandbox/{path}", method=method, query_string=query, json=body)


def state(client, tenant: str | None = None) -> dict:
    return jsonutil.loads(control(client, "GET", "state", tenant).get_data())


def ledgers(client, auth: dict) -> dict[str, int]:
    return {lg["code"]: lg["id"] for lg in get(client, auth, "/v1/ledger")["items"]}


def sale(chart: dict[str, int], relation: int, number: str) -> dict:
    return {
        "type": 2,
        "date": "2026-01-14",
        "ledgerId": chart["1300"],
        "relationId": relation,
        "invoiceNumber": number,
        "inExVat": "IN",
        "rows": [{"ledgerId": chart["8000"], "vatCode": "HOOG_VERK_21", "amount": Decimal("121")}],
    }


def made(client) -> list[str]:
    return [t["tenant"] for t in control(client, "GET", "tenants").get_json()["tenants"]]


# --- which administration a token reaches ------------------------------------------------------


def test_every_administration_starts_with_the_seed_chart_under_ids_of_its_own(client):
    first = ledgers(client, login(client, EBOEKHOUDEN_TOKEN))
    second = ledgers(client, login(client, SECOND))
    fifth = ledgers(client, login(client, numbered_token(5)))
    assert first["8000"] == 22206462  # the default administration keeps today's ids
    assert first.keys() == second.keys() == fifth.keys()
    assert {second[code] - first[code] for code in first} == {ID_SPAN}
    assert not set(first.values()) & set(fifth.values())
    assert made(client) == [EBOEKHOUDEN_TOKEN, SECOND, numbered_token(5)]
    assert DEMO_TENANTS[1].token == SECOND


def test_the_highest_ids_stay_below_two_to_the_31():
    admins = Administrations((EBOEKHOUDEN_TOKEN,), session_ttl=60)
    last = admins.tenants.get(numbered_token(MAX_NUMBERED))
    biggest = max(
        [*last.store.ledgers, *last.store.templates]
        + [last.store.next_id(kind) for kind in ("ledger", "relation", "mutation", "invoice")]
    )
    assert biggest < 2**31 - ID_SPAN  # room for a million more records of each kind


@pytest.mark.parametrize(
    "token", ["nope", "eb-sandbox-token-0", "eb-sandbox-token-1001", f"{SECOND}x", PLUGANDPAY_KEY]
)
def test_a_token_no_administration_has_is_refused_as_before(client, token):
    body = start(client, token).get_json()
    assert body["status"] == 401 and body["title"] == "Login failed"
    assert made(client) == [EBOEKHOUDEN_TOKEN]


def test_a_session_token_of_no_administration_is_401(client):
    resp = client.get("/v1/ledger", headers={"Authorization": "made-up"})
    assert resp.status_code == 401 and resp.get_json()["code"] == "SECURITY_010"


# --- one administration's data never shows in another ----------------------------------------


def test_a_session_never_reads_another_administrations_data(client):
    mine, theirs = login(client, EBOEKHOUDEN_TOKEN), login(client, SECOND)
    chart = ledgers(client, theirs)
    relation = client.post("/v1/relation", json={"name": "Anouk"}, headers=theirs).get_json()
    booked = client.post(
        "/v1/mutation", json=sale(chart, relation["id"], "2026-05001"), headers=theirs
    )
    assert booked.status_code == 200, booked.get_json()

    assert get(client, mine, "/v1/relation")["items"] == []
    assert get(client, mine, "/v1/mutation")["items"] == []
    assert client.get(f"/v1/relation/{relation['id']}", headers=mine).status_code == 404
    assert client.get(f"/v1/ledger/{chart['8000']}", headers=mine).status_code == 404
    mutation = booked.get_json()["id"]
    assert client.get(f"/v1/mutation/{mutation}", headers=mine).status_code == 404
    # Booking with the other administration's ledgers: they do not exist here.
    mine_relation = client.post("/v1/relation", json={"name": "Jan"}, headers=mine).get_json()
    wrong = client.post("/v1/mutation", json=sale(chart, mine_relation["id"], "X-1"), headers=mine)
    assert wrong.status_code == 400 and wrong.get_json()["code"] == "MUT_007"

    assert [m["invoiceNumber"] for m in state(client, SECOND)["mutations"]] == ["2026-05001"]
    assert [r["name"] for r in state(client, SECOND)["relations"]] == ["Anouk"]
    assert state(client)["mutations"] == []
    assert [r["name"] for r in state(client)["relations"]] == ["Jan"]


def test_each_administration_numbers_its_own_invoices_and_relations(client):
    numbers = []
    for token in (EBOEKHOUDEN_TOKEN, SECOND):
        auth = login(client, token)
        chart = ledgers(client, auth)
        relation = client.post("/v1/relation", json={"name": "Noor"}, headers=auth).get_json()
        template = get(client, auth, "/v1/invoicetemplate")["items"][0]["id"]
        item = {
            "description": "Cursus",
            "quantity": 1,
            "pricePerUnit": Decimal("121.00"),
            "vatCode": "HOOG_VERK_21",
            "ledgerId": chart["8010"],
        }
        body = {"relationId": relation["id"], "termOfPayment": 14, "templateId": template}
        resp = client.post("/v1/invoice", json={**body, "items": [item]}, headers=auth)
        assert resp.status_code == 200, resp.get_json()
        numbers.append((relation["code"], resp.get_json()["invoiceNumber"]))
    assert numbers == [("1", "F00001"), ("1", "F00001")]


def test_settings_belong_to_their_administration(client):
    control(client, "POST", "config", SECOND, {"vat_rounding": "row", "session_ttl": 5})
    assert state(client, SECOND)["settings"]["vat_rounding"] == "row"
    assert state(client)["settings"]["vat_rounding"] == "total"
    assert start(client, SECOND).get_json()["expiresIn"] == 5
    assert start(client, EBOEKHOUDEN_TOKEN).get_json()["expiresIn"] == 3600


def test_a_reset_puts_back_one_administration_only(client):
    for token in (EBOEKHOUDEN_TOKEN, SECOND):
        client.post("/v1/relation", json={"name": "Ruben"}, headers=login(client, token))
    control(client, "POST", "reset", SECOND)
    assert state(client, SECOND)["relations"] == []
    assert len(state(client)["relations"]) == 1


# --- sessions ----------------------------------------------------------------------------------


def test_sessions_end_in_their_own_administration_only(client):
    mine, theirs = login(client, EBOEKHOUDEN_TOKEN), login(client, SECOND)
    assert control(client, "POST", "expire-sessions", SECOND).get_json() == {"expired": 1}
    assert client.get("/v1/ledger", headers=theirs).status_code == 401
    assert client.get("/v1/ledger", headers=mine).status_code == 200

    theirs = login(client, SECOND)
    assert client.delete("/v1/session", headers=mine).status_code == 204
    assert client.get("/v1/ledger", headers=mine).status_code == 401
    assert client.get("/v1/ledger", headers=theirs).status_code == 200


def test_a_revoked_token_ends_its_own_administrations_sessions_only(client):
    mine, theirs = login(client, EBOEKHOUDEN_TOKEN), login(client, SECOND)
    control(client, "POST", "config", SECOND, {"revoke_api_token": SECOND})
    assert client.get("/v1/ledger", headers=theirs).status_code == 401
    assert start(client, SECOND).get_json()["code"] == "API_SESSION_004"
    assert client.get("/v1/ledger", headers=mine).status_code == 200
    assert start(client, EBOEKHOUDEN_TOKEN).status_code == 200


def test_a_token_given_to_an_administration_opens_its_sessions_there(client):
    control(client, "POST", "config", SECOND, {"api_tokens": [SECOND, "extra-token"]})
    auth = login(client, "extra-token")
    client.post("/v1/relation", json={"name": "Lieke"}, headers=auth)
    assert [r["name"] for r in state(client, SECOND)["relations"]] == ["Lieke"]
    assert state(client)["relations"] == []


def test_ended_session_tokens_are_forgotten_in_time():
    admins = Administrations((EBOEKHOUDEN_TOKEN,), session_ttl=60)
    admin = admins.default
    first = admins.start_session(admin, EBOEKHOUDEN_TOKEN)["token"]
    admin.store.end_session(first)
    for _ in range(3000):
        token = admins.start_session(admin, EBOEKHOUDEN_TOKEN)["token"]
        admin.store.end_session(token)
    last = admins.start_session(admin, EBOEKHOUDEN_TOKEN)["token"]
    assert admins.owner(first) is None
    assert admins.owner(last) is admin


# --- controls -----------------------------------------------------------------------------------


def test_rate_limits_and_faults_hit_their_own_administration_only(client):
    mine, theirs = login(client, EBOEKHOUDEN_TOKEN), login(client, SECOND)
    control(client, "POST", "rate-limit", SECOND, {"limit": 1, "window": 60})
    assert client.get("/v1/ledger", headers=theirs).status_code == 200
    assert client.get("/v1/ledger", headers=theirs).status_code == 429
    assert [client.get("/v1/ledger", headers=mine).status_code for _ in range(3)] == [200] * 3

    # A session start is the administration's whose token it carries.
    control(client, "POST", "rate-limit", SECOND, {"limit": None})
    control(client, "POST", "faults", SECOND, {"path": "/v1/session", "status": 500})
    assert start(client, EBOEKHOUDEN_TOKEN).status_code == 200
    assert start(client, SECOND).status_code == 500
    assert start(client, SECOND).status_code == 200
    assert control(client, "GET", "stats", SECOND).get_json() == {
        "POST /v1/session": 3,
        "GET /v1/ledger": 2,
    }


def test_a_hundred_administrations_each_keep_their_own_relations(client):
    ids = {}
    for n in range(1, 101):
        auth = login(client, numbered_token(n))
        created = client.post("/v1/relation", json={"name": f"Klant {n}"}, headers=auth)
        ids[n] = created.get_json()["id"]
    assert len(set(ids.values())) == 100
    for n in (1, 50, 100):
        relations = state(client, numbered_token(n))["relations"]
        assert [(r["id"], r["name"]) for r in relations] == [(ids[n], f"Klant {n}")]
    assert made(client) == [EBOEKHOUDEN_TOKEN] + [numbered_token(n) for n in range(1, 101)]
    assert state(client)["relations"] == []
