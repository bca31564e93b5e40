"""The e-Boekhouden sandbox: sessions, auth, paging, filters, validation and sandbox controls."""

from __future__ import annotations

import threading

import pytest
import requests
from werkzeug.serving import make_server
from werkzeug.test import Client

from pp2eb import jsonutil
from pp2eb.sandbox import EBOEKHOUDEN_TOKEN
from pp2eb.sandbox.eboekhouden import ASSUMED_RATE_LIMIT, create_app
from pp2eb.sandbox.wsgi import create_sandbox

DEBTORS, REVENUE = 22206400, 22206462


@pytest.fixture
def app():
    return create_app()


@pytest.fixture
def client(app):
    return app.test_client()


def start(client, token=EBOEKHOUDEN_TOKEN, source="pp2eb"):
    return client.post("/v1/session", json={"accessToken": token, "source": source})


@pytest.fixture
def auth(client):
    resp = start(client)
    assert resp.status_code == 200
    return {"Authorization": resp.get_json()["token"]}


def add_relation(client, auth, **fields):
    resp = client.post("/v1/relation", json={"name": "Jan Jansen", **fields}, headers=auth)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def assert_error(resp, status, code, prop=None):
    body = resp.get_json()
    assert resp.status_code == status, body
    assert body["code"] == code, body
    assert body["status"] == status
    assert {"type", "title", "message", "errors", "traceId"} <= body.keys()
    if prop is not None:
        assert body["propertyName"] == prop
    return body


# --- sessions -------------------------------------------------------------------------------


def test_session_with_good_token_gives_token_and_lifetime(client):
    body = start(client).get_json()
    assert body["expiresIn"] == 3600
    assert client.get("/v1/ledger", headers={"Authorization": body["token"]}).status_code == 200


def test_bearer_prefix_is_accepted(client):
    token = start(client).get_json()["token"]
    assert client.get("/v1/ledger", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_session_with_unknown_token_is_401(client):
    body = start(client, token="nope").get_json()
    assert body["status"] == 401 and body["title"] == "Login failed"


@pytest.mark.parametrize(
    ("payload", "code", "prop"),
    [
        (
            {"accessToken": EBOEKHOUDEN_TOKEN, "source": "way too long source"},
            "API_SESSION_002",
            "source",
        ),
        ({"accessToken": EBOEKHOUDEN_TOKEN, "source": "pp-2eb"}, "API_SESSION_002", "source"),
        ({"accessToken": EBOEKHOUDEN_TOKEN}, "API_SESSION_001", "source"),
        ({"source": "pp2eb"}, "API_SESSION_003", "accessToken"),
        ({"accessToken": " ", "source": "pp2eb"}, "API_SESSION_003", "accessToken"),
    ],
)
def test_session_request_errors(client, payload, code, prop):
    body = assert_error(client.post("/v1/session", json=payload), 400, code, prop)
    assert body["type"] == "validation"


def test_session_source_may_hold_spaces_and_underscores(client):
    assert start(client, source="pp 2_eb").status_code == 200


def test_session_expires_per_configured_ttl(client):
    client.post("/_sandbox/config", json={"session_ttl": 0})
    body = start(client).get_json()
    assert body["expiresIn"] == 0
    resp = client.get("/v1/ledger", headers={"Authorization": body["token"]})
    assert_error(resp, 401, "SECURITY_010")


def test_expire_sessions_ends_every_open_session(client, auth):
    other = {"Authorization": start(client).get_json()["token"]}
    assert client.post("/_sandbox/expire-sessions").get_json() == {"expired": 2}
    for headers in (auth, other):
        assert_error(client.get("/v1/ledger", headers=headers), 401, "SECURITY_010")
    assert start(client).status_code == 200


def test_delete_session_revokes_that_token_only(client, auth):
    other = {"Authorization": start(client).get_json()["token"]}
    assert client.delete("/v1/session", headers=auth).status_code == 204
    assert_error(client.get("/v1/ledger", headers=auth), 401, "SECURITY_010")
    assert client.get("/v1/ledger", headers=other).status_code == 200


def test_revoked_api_token_ends_its_sessions_and_refuses_new_ones(client, auth):
    client.post("/_sandbox/config", json={"revoke_api_token": EBOEKHOUDEN_TOKEN})
    assert_error(client.get("/v1/ledger", headers=auth), 401, "SECURITY_010")
    assert_error(start(client), 401, "API_SESSION_004")
    client.post("/_sandbox/reset")  # the token is valid again, its old sessions are not
    assert_error(client.get("/v1/ledger", headers=auth), 401, "SECURITY_010")
    assert start(client).status_code == 200


def test_api_tokens_can_be_replaced(client):
    client.post("/_sandbox/config", json={"api_tokens": ["other-token"]})
    assert start(client).status_code == 401
    assert start(client, token="other-token").status_code == 200


def test_create_app_takes_tokens_and_ttl():
    client = create_app(api_tokens=("a", "b"), session_ttl=60).test_client()
    assert start(client, token="b").get_json()["expiresIn"] == 60
    assert start(client).status_code == 401


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/ledger"),
        ("GET", "/v1/ledger/22206462"),
        ("POST", "/v1/ledger"),
        ("GET", "/v1/relation"),
        ("GET", "/v1/relation/1"),
        ("POST", "/v1/relation"),
        ("PATCH", "/v1/relation/1"),
        ("GET", "/v1/invoicetemplate"),
        ("GET", "/v1/mutation"),
        ("GET", "/v1/mutation/1"),
        ("POST", "/v1/mutation"),
        ("GET", "/v1/mutation/invoice/outstanding?credDeb=D"),
        ("GET", "/v1/invoice"),
        ("GET", "/v1/invoice/1"),
        ("POST", "/v1/invoice"),
        ("DELETE", "/v1/session"),
    ],
)
@pytest.mark.parametrize("header", [None, "not-a-session", "Bearer not-a-session"])
def test_every_resource_needs_a_session(client, method, path, header):
    headers = {"Authorization": header} if header else {}
    resp = client.open(path, method=method, json={"name": "x"}, headers=headers)
    body = assert_error(resp, 401, "SECURITY_010")
    assert body["type"] == "security"


# --- master data, paging and filters -------------------------------------------------------


def test_ledger_seed_and_lookup(client, auth):
    items = client.get("/v1/ledger?limit=2000", headers=auth).get_json()["items"]
    by_code = {i["code"]: i for i in items}
    assert by_code["1300"]["category"] == "DEB"
    assert by_code["8000"]["id"] == REVENUE
    assert by_code["1640"]["category"] == "BAL"
    one = client.get(f"/v1/ledger/{REVENUE}", headers=auth).get_json()
    assert one == by_code["8000"]
    assert_error(client.get("/v1/ledger/1", headers=auth), 404, "LEDG_011")
    assert_error(client.get("/v1/ledger/abc", headers=auth), 400, "ERR_002", "id")


def test_ledger_filters(client, auth):
    def codes(qs):
        resp = client.get(f"/v1/ledger?{qs}", headers=auth)
        assert resp.status_code == 200, resp.get_json()
        return [i["code"] for i in resp.get_json()["items"]]

    assert codes("code=8000") == ["8000"]
    assert codes("category=deb") == ["1300"]
    assert codes("code[like]=80%25") == ["8000", "8010", "8020", "8050", "8090"]
    assert codes("code[like]=80?0") == ["8000", "8010", "8020", "8050", "8090"]
    assert codes("code[not_like]=%25") == []
    assert codes("code[range]=1600,1642") == ["1600", "1640", "1641", "1642"]
    assert codes("code[gte]=8050") == ["8050", "8090"]
    assert codes("code[lt]=1000") == ["0100", "0500"]
    assert "8000" not in codes("code[not_eq]=8000&limit=2000")
    assert codes("category[eq]=FIN") == ["1000", "1100", "1650", "1660"]


def test_ledger_create_rules(client, auth):
    body = {"code": "1651", "description": "Tussenrekening PayPal", "category": "FIN"}
    created = client.post("/v1/ledger", json=body, headers=auth).get_json()
    assert created["code"] == "1651" and created["id"] > 22207000
    assert client.get(f"/v1/ledger/{created['id']}", headers=auth).get_json() == created
    assert_error(client.post("/v1/ledger", json=body, headers=auth), 400, "LEDG_013", "code")
    bad = {"code": "1652", "description": "Af", "category": "AF19"}
    assert_error(client.post("/v1/ledger", json=bad, headers=auth), 400, "ERR_002", "category")


@pytest.mark.parametrize(
    ("qs", "code", "prop"),
    [
        ("limit=0", "PAGE_001", "limit"),
        ("limit=2001", "PAGE_001", "limit"),
        ("limit=ten", "PAGE_001", "limit"),
        ("offset=-1", "PAGE_002", "offset"),
        ("code[bogus]=1", "ERR_002", "code[bogus]"),
        ("code=12345678901", "ERR_002", "code"),
        ("code=1&code[like]=2", "ERR_002", None),
    ],
)
def test_bad_paging_and_filters(client, auth, qs, code, prop):
    assert_error(client.get(f"/v1/ledger?{qs}", headers=auth), 400, code, prop)


def test_paging_count_is_items_on_the_page(client, auth):
    total = len(client.get("/v1/ledger?limit=2000", headers=auth).get_json()["items"])
    pages, offset = [], 0
    while True:
        body = client.get(f"/v1/ledger?limit=5&offset={offset}", headers=auth).get_json()
        assert body["count"] == len(body["items"])
        pages.append(body["items"])
        if body["count"] < 5:
            break
        offset += 5
    assert sum(len(p) for p in pages) == total > 5
    assert client.get("/v1/ledger?offset=999", headers=auth).get_json() == {"items": [], "count": 0}


def test_default_limit_is_100(client, auth):
    for n in range(105):
        add_relation(client, auth, name=f"Klant {n}")
    assert client.get("/v1/relation", headers=auth).get_json()["count"] == 100


def test_relation_create_list_get_patch(client, auth):
    made = add_relation(client, auth, type="P", emailAddress="jan@example.nl", city="Utrecht")
    assert set(made) == {"id", "code"} and made["code"]
    listed = client.get("/v1/relation?email=JAN@example.nl", headers=auth).get_json()
    assert listed == {"items": [{"id": made["id"], "type": "P", "code": made["code"]}], "count": 1}
    assert client.get("/v1/relation?email=other@example.nl", headers=auth).get_json()["count"] == 0
    assert client.get("/v1/relation?name=jan jansen", headers=auth).get_json()["count"] == 1
    assert client.get("/v1/relation?city[like]=utr%25", headers=auth).get_json()["count"] == 1
    full = client.get(f"/v1/relation/{made['id']}", headers=auth).get_json()
    assert full["name"] == "Jan Jansen" and full["emailAddress"] == "jan@example.nl"
    assert {"date", "vatNumber", "iban"} <= full.keys()
    patch = {"name": "Jan Jansen BV", "type": "B"}
    assert client.patch(f"/v1/relation/{made['id']}", json=patch, headers=auth).status_code == 204
    full = client.get(f"/v1/relation/{made['id']}", headers=auth).get_json()
    assert (full["name"], full["type"], full["city"]) == ("Jan Jansen BV", "B", "Utrecht")
    assert_error(client.get("/v1/relation/5", headers=auth), 404, "REL_055")
    assert_error(client.patch("/v1/relation/5", json=patch, headers=auth), 404, "REL_055")


def test_relation_patch_bodies_are_checked_against_the_spec(client, auth):
    made = add_relation(client, auth, type="P", emailAddress="jan@example.nl")
    url = f"/v1/relation/{made['id']}"
    full = client.get(url, headers=auth).get_json()
    # The details carry fields CreateRelation does not have: sent back as they are, refused.
    refused = client.patch(url, json={k: v for k, v in full.items() if v is not None}, headers=auth)
    assert_error(refused, 400, "ERR_002")
    assert_error(client.patch(url, json={"type": "B"}, headers=auth), 400, "REL_002", "name")
    body = {"name": "Jan Jansen", "vatNumber": "V" * 51}
    assert_error(client.patch(url, json=body, headers=auth), 400, "REL_035", "vatNumber")
    assert client.get(url, headers=auth).get_json() == full


def test_relation_codes_are_generated_unique_and_checked(client, auth):
    first, second = add_relation(client, auth), add_relation(client, auth)
    assert first["code"] != second["code"]
    add_relation(client, auth, code="JANSE")
    resp = client.post("/v1/relation", json={"name": "J", "code": "janse"}, headers=auth)
    assert_error(resp, 400, "REL_049", "code")
    other = add_relation(client, auth, code="JANSE1")
    resp = client.patch(
        f"/v1/relation/{other['id']}", json={"name": "J", "code": "JANSE"}, headers=auth
    )
    assert_error(resp, 400, "REL_049", "code")


@pytest.mark.parametrize(
    ("fields", "code", "prop"),
    [
        ({"type": "X"}, "REL_001", "type"),
        ({"name": "n" * 101}, "REL_003", "name"),
        ({"code": "C" * 16}, "REL_006", "code"),
        ({"code": "JAN SEN"}, "REL_005", "code"),
        ({"country": "c" * 51}, "REL_014", "country"),
        ({"emailAddress": "e" * 151}, "REL_022", "emailAddress"),
        ({"emailAddress": "not-an-email"}, "REL_023", "emailAddress"),
        ({"vatNumber": "v" * 51}, "REL_035", "vatNumber"),
        ({"companyRegistrationNumber": "12AB"}, "REL_008", "companyRegistrationNumber"),
        ({"iban": "NL00BANK0123456789"}, "REL_007", "iban"),
        ({"favouriteColour": "blue"}, "ERR_002", "favouriteColour"),
        ({"termOfPayment": "14"}, "ERR_002", "termOfPayment"),
    ],
)
def test_relation_validation(client, auth, fields, code, prop):
    resp = client.post("/v1/relation", json={"name": "Jan", **fields}, headers=auth)
    body = assert_error(resp, 400, code, prop)
    assert body["type"] == "validation" and body["errors"]


def test_relation_name_is_required(client, auth):
    assert_error(
        client.post("/v1/relation", json={"type": "P"}, headers=auth), 400, "REL_002", "name"
    )


def test_valid_iban_is_accepted(client, auth):
    add_relation(client, auth, iban="NL91ABNA0417164300")


def test_invoice_template_seed(client, auth):
    body = client.get("/v1/invoicetemplate", headers=auth).get_json()
    assert body["count"] == 1 and body["items"][0]["name"] == "Standaard"
    assert client.get("/v1/invoicetemplate?name=nope", headers=auth).get_json()["count"] == 0


# --- request format --------------------------------------------------------------------------


def test_post_without_json_content_type_is_415(client, auth):
    resp = client.post("/v1/relation", data='{"name": "x"}', headers=auth)
    body = assert_error(resp, 415, None)
    assert body["message"]


def test_empty_body_is_data_01(client, auth):
    resp = client.post(
        "/v1/relation", data="", headers={**auth, "Content-Type": "application/json"}
    )
    assert_error(resp, 400, "DATA_01")


def test_malformed_json_is_err_002(client, auth):
    resp = client.post(
        "/v1/relation", data="{name:", headers={**auth, "Content-Type": "application/json"}
    )
    assert_error(resp, 400, "ERR_002")


def test_unknown_route_is_404_in_error_shape(client, auth):
    body = client.get("/v1/nothing", headers=auth).get_json()
    assert body["status"] == 404 and "traceId" in body


# --- sandbox controls ------------------------------------------------------------------------


def test_rate_limit_gives_429_with_retry_after(client, auth):
    limit, _window = ASSUMED_RATE_LIMIT
    client.post("/_sandbox/rate-limit", json={"limit": limit, "window": 60})
    codes = [client.get("/v1/ledger", headers=auth).status_code for _ in range(limit + 1)]
    assert codes == [200] * limit + [429]
    resp = client.get("/v1/ledger", headers=auth)
    assert resp.status_code == 429 and int(resp.headers["Retry-After"]) >= 1
    assert resp.get_json()["status"] == 429


def test_injected_fault_uses_the_error_shape(client, auth):
    client.post("/_sandbox/faults", json={"path": "/v1/ledger", "status": 503})
    body = assert_error(client.get("/v1/ledger", headers=auth), 503, "ERR_001")
    assert "Injected" in body["message"]
    assert client.get("/v1/ledger", headers=auth).status_code == 200


def test_after_write_fault_keeps_the_write(client, auth):
    client.post(
        "/_sandbox/faults",
        json={"path": "/v1/relation", "method": "POST", "status": 500, "after_write": True},
    )
    resp = client.post("/v1/relation", json={"name": "Half Written"}, headers=auth)
    assert resp.status_code == 500
    names = [r["name"] for r in client.get("/_sandbox/state").get_json()["relations"]]
    assert names == ["Half Written"]


def test_reset_restores_the_seed_and_settings(client, auth):
    add_relation(client, auth)
    client.post("/_sandbox/config", json={"vat_rounding": "row", "session_ttl": 5})
    client.post("/v1/ledger", json={"code": "9999", "description": "x"}, headers=auth)
    seed_ledgers = len(create_app().extensions["eboekhouden_store"].ledgers)
    assert client.post("/_sandbox/reset").status_code == 200
    state = client.get("/_sandbox/state").get_json()
    assert state["relations"] == [] and state["mutations"] == [] and state["invoices"] == []
    assert len(state["ledgers"]) == seed_ledgers
    assert state["settings"]["vat_rounding"] == "total"
    assert state["settings"]["session_ttl"] == 3600
    assert add_relation(client, auth)["id"] == 41000001  # ids restart too


def test_config_rejects_bad_values(client):
    assert_error(client.post("/_sandbox/config", json={"vat_rounding": "x"}), 400, "ERR_002")
    assert_error(client.post("/_sandbox/config", json={"session_ttl": -1}), 400, "ERR_002")
    assert_error(client.post("/_sandbox/config", json={"remove_ledgers": "8090"}), 400, "ERR_002")


def test_an_administration_without_some_seed_ledgers_until_the_reset(client, auth):
    client.post("/_sandbox/config", json={"remove_ledgers": ["8090", "8050"]})
    codes = {
        x["code"] for x in client.get("/v1/ledger?limit=500", headers=auth).get_json()["items"]
    }
    assert "8000" in codes and not codes & {"8090", "8050"}
    client.post("/_sandbox/reset")
    codes = {
        x["code"] for x in client.get("/v1/ledger?limit=500", headers=auth).get_json()["items"]
    }
    assert {"8090", "8050"} <= codes


def test_state_money_is_json_numbers(client, auth):
    rel = add_relation(client, auth)
    booking = {
        "type": 2,
        "date": "2025-03-14",
        "ledgerId": DEBTORS,
        "relationId": rel["id"],
        "invoiceNumber": "PP-1",
        "inExVat": "IN",
        "rows": [{"ledgerId": REVENUE, "vatCode": "HOOG_VERK_21", "amount": 12.10}],
    }
    assert client.post("/v1/mutation", json=booking, headers=auth).status_code == 200
    text = client.get("/_sandbox/state").get_data(as_text=True)
    assert '"totalIncl":12.10' in text.replace(" ", "")
    mutation = jsonutil.loads(text)["mutations"][0]
    assert str(mutation["totalVat"]) == "2.10"


# --- serving ---------------------------------------------------------------------------------


def test_mounted_under_eboekhouden_prefix():
    web = Client(create_sandbox())
    resp = web.post(
        "/eboekhouden/v1/session", json={"accessToken": EBOEKHOUDEN_TOKEN, "source": "pp2eb"}
    )
    assert resp.status_code == 200
    token = resp.get_json()["token"]
    assert web.get("/eboekhouden/v1/ledger", headers={"Authorization": token}).status_code == 200


def test_threaded_writes_get_distinct_ids(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        token = requests.post(
            f"{base}/v1/session", json={"accessToken": EBOEKHOUDEN_TOKEN, "source": "t"}, timeout=5
        ).json()["token"]
        ids: list[int] = []

        def make(n: int) -> None:
            resp = requests.post(
                f"{base}/v1/relation",
                json={"name": f"Klant {n}", "code": f"K{n}"},
                headers={"Authorization": token},
                timeout=5,
            )
            ids.append(resp.json()["id"])

        workers = [threading.Thread(target=make, args=(n,)) for n in range(20)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
    finally:
        server.shutdown()
        thread.join()
    assert len(set(ids)) == 20
    assert sorted(ids) == list(range(41000001, 41000021))
