"""The e-Boekhouden sandbox: mutation and invoice rules, VAT and the state they leave."""

from __future__ import annotations

from decimal import Decimal

import pytest

from pp2eb import jsonutil
from pp2eb.sandbox.eboekhouden import create_app

DEBTORS, BANK, CREDITORS, OSS_BE = 22206400, 22206330, 22206420, 22206421
REVENUE, COURSES, BOOKS, SHIPPING, PURCHASE = 22206462, 22206463, 22206464, 22206470, 22206480
TEMPLATE = 752296


@pytest.fixture
def client():
    return create_app().test_client()


@pytest.fixture
def auth(client):
    resp = client.post("/v1/session", json={"accessToken": "eb-sandbox-token", "source": "pp2eb"})
    return {"Authorization": resp.get_json()["token"]}


@pytest.fixture
def relation(client, auth):
    return client.post("/v1/relation", json={"name": "Jan Jansen"}, headers=auth).get_json()["id"]


def get(client, auth, path):
    resp = client.get(path, headers=auth)
    assert resp.status_code == 200, resp.get_json()
    return jsonutil.loads(resp.get_data())


def state(client):
    return jsonutil.loads(client.get("/_sandbox/state").get_data())


def sale(relation, number="PP-1", in_ex="IN", rows=None, **extra):
    rows = rows or [{"ledgerId": REVENUE, "vatCode": "HOOG_VERK_21", "amount": Decimal("121.00")}]
    return {
        "type": 2,
        "date": "2025-03-14",
        "ledgerId": DEBTORS,
        "relationId": relation,
        "invoiceNumber": number,
        "inExVat": in_ex,
        "rows": rows,
        **extra,
    }


def invoice(relation, number="2025-001", items=None, **extra):
    items = items or [
        {
            "description": "Online cursus",
            "quantity": 1,
            "pricePerUnit": Decimal("121.00"),
            "vatCode": "HOOG_VERK_21",
            "ledgerId": COURSES,
        }
    ]
    body = {"relationId": relation, "termOfPayment": 14, "templateId": TEMPLATE, "items": items}
    if number is not None:
        body["invoiceNumber"] = number
    return {**body, **extra}


def post(client, auth, path, body, status=200):
    resp = client.post(
        path, data=jsonutil.dumps(body), headers=auth, content_type="application/json"
    )
    assert resp.status_code == status, resp.get_json()
    return resp.get_json()


def refused(client, auth, path, body, code, prop=None):
    err = post(client, auth, path, body, status=400)
    assert err["code"] == code, err
    assert err["type"] == "validation" and err["errors"]
    if prop is not None:
        assert err["propertyName"] == prop
    return err


# --- mutations ------------------------------------------------------------------------------


def test_mutation_is_booked_listed_and_read_back(client, auth, relation):
    made = post(
        client, auth, "/v1/mutation", sale(relation, description="Order 1", entryNumber="B1")
    )
    assert set(made) == {"id"}
    listed = get(client, auth, "/v1/mutation?invoiceNumber=PP-1")
    assert listed["items"] == [
        {
            "id": made["id"],
            "type": 2,
            "date": "2025-03-14",
            "invoiceNumber": "PP-1",
            "ledgerId": DEBTORS,
            "amount": Decimal("121.00"),
            "entryNumber": "B1",
        }
    ]
    full = get(client, auth, f"/v1/mutation/{made['id']}")
    assert full["relationId"] == relation and full["description"] == "Order 1"
    assert full["rows"][0]["ledgerId"] == REVENUE and "vatAmount" not in full["rows"][0]
    assert full["vat"] == [{"vatCode": "HOOG_VERK_21", "amount": Decimal("21.00")}]
    err = client.get("/v1/mutation/1", headers=auth).get_json()
    assert (err["status"], err["code"]) == (404, "MUT_300")


def test_mutation_filters(client, auth, relation):
    post(client, auth, "/v1/mutation", sale(relation, "PP-1", date="2025-01-10"))
    post(client, auth, "/v1/mutation", sale(relation, "PP-2", date="2025-02-10"))
    post(client, auth, "/v1/mutation", sale(relation, "XX-3", date="2025-03-10"))

    def numbers(qs):
        return [m["invoiceNumber"] for m in get(client, auth, f"/v1/mutation?{qs}")["items"]]

    assert numbers("date[range]=2025-01-01,2025-02-28") == ["PP-1", "PP-2"]
    assert numbers("date[gt]=2025-02-10") == ["XX-3"]
    assert numbers("invoiceNumber[like]=PP-%25") == ["PP-1", "PP-2"]
    assert numbers("invoiceNumber[not_eq]=PP-1") == ["PP-2", "XX-3"]
    assert numbers("type=2&limit=1&offset=2") == ["XX-3"]
    assert numbers("type=1") == []
    bad = client.get("/v1/mutation?date[gte]=14-03-2025", headers=auth).get_json()
    assert (bad["status"], bad["code"]) == (400, "ERR_002")
    bad = client.get("/v1/mutation?type=two", headers=auth).get_json()
    assert (bad["status"], bad["propertyName"]) == (400, "type")


@pytest.mark.parametrize(
    ("change", "code", "prop"),
    [
        ({"type": None}, "MUTA_002", "type"),
        ({"type": 9}, "MUTA_009", "type"),
        ({"type": "2"}, "MUT_001", "type"),
        ({"date": None}, "MUT_003", "date"),
        ({"date": "14-03-2025"}, "MUT_004", "date"),
        ({"date": "2025-02-30"}, "MUT_004", "date"),
        ({"ledgerId": None}, "MUTA_001", "ledgerId"),
        ({"ledgerId": 1}, "MUT_007", "ledgerId"),
        ({"ledgerId": REVENUE}, "MUT_011", "ledgerId"),
        ({"ledgerId": BANK}, "MUT_011", "ledgerId"),
        ({"relationId": None}, "MUT_012", "relationId"),
        ({"relationId": 1}, "MUT_013", "relationId"),
        ({"invoiceNumber": None}, "MUT_002", "invoiceNumber"),
        ({"invoiceNumber": ""}, "MUT_002", "invoiceNumber"),
        ({"invoiceNumber": "N" * 51}, "MUT_018", "invoiceNumber"),
        ({"inExVat": None}, "MUTA_005", "inExVat"),
        ({"inExVat": "INCL"}, "MUT_017", "inExVat"),
        ({"description": "d" * 51}, "ERR_002", "description"),
        ({"rows": []}, "MUT_100", "rows"),
        ({"rows": None}, "MUT_100", "rows"),
        ({"termOfPayment": "14"}, "ERR_002", "termOfPayment"),
        ({"bogus": 1}, "ERR_002", "bogus"),
    ],
)
def test_mutation_header_rules(client, auth, relation, change, code, prop):
    body = sale(relation)
    for key, value in change.items():
        if value is None:
            body.pop(key, None)
        else:
            body[key] = value
    refused(client, auth, "/v1/mutation", body, code, prop)


@pytest.mark.parametrize(
    ("row", "code", "prop"),
    [
        ({"ledgerId": None}, "MUTA_004", "rows[0].ledgerId"),
        ({"ledgerId": 1}, "MUT_104", "rows[0].ledgerId"),
        ({"ledgerId": BANK}, "MUT_106", "rows[0].ledgerId"),
        ({"ledgerId": CREDITORS}, "MUT_106", "rows[0].ledgerId"),
        ({"ledgerId": DEBTORS}, "MUT_106", "rows[0].ledgerId"),
        ({"vatCode": "HOOG_INK_21"}, "MUT_111", "rows[0].vatCode"),
        ({"vatCode": "HOOG"}, "MUT_109", "rows[0].vatCode"),
        ({"vatAmount": Decimal("1.00")}, "MUTA_003", "rows[0].vatAmount"),
        ({"amount": None}, "ERR_002", "rows[0].amount"),
        ({"amount": "121.00"}, "ERR_002", "rows[0].amount"),
        ({"extra": 1}, "ERR_002", "rows[0].extra"),
    ],
)
def test_mutation_row_rules(client, auth, relation, row, code, prop):
    base = {"ledgerId": REVENUE, "vatCode": "HOOG_VERK_21", "amount": Decimal("121.00")}
    for key, value in row.items():
        if value is None:
            base.pop(key)
        else:
            base[key] = value
    refused(client, auth, "/v1/mutation", sale(relation, rows=[base]), code, prop)


def test_oss_row_on_a_balance_ledger_is_allowed(client, auth, relation):
    rows = [
        {"ledgerId": REVENUE, "vatCode": "AFST_VERK", "amount": Decimal("100.00")},
        {"ledgerId": OSS_BE, "vatCode": "GEEN", "amount": Decimal("21.00")},
    ]
    made = post(client, auth, "/v1/mutation", sale(relation, in_ex="EX", rows=rows))
    stored = state(client)["mutations"][0]
    assert stored["id"] == made["id"] and stored["totalIncl"] == Decimal("121.00")
    assert stored["totalVat"] == Decimal("0.00")


def test_afw_verk_uses_the_given_vat_amount(client, auth, relation):
    rows = [
        {
            "ledgerId": REVENUE,
            "vatCode": "AFW_VERK",
            "amount": Decimal("120.00"),
            "vatAmount": Decimal("20.00"),
        }
    ]
    post(client, auth, "/v1/mutation", sale(relation, rows=rows))
    stored = state(client)["mutations"][0]
    assert stored["vat"] == [{"vatCode": "AFW_VERK", "amount": Decimal("20.00")}]
    assert stored["totalExcl"] == Decimal("100.00")


def test_duplicate_invoice_number_is_mut_019(client, auth, relation):
    post(client, auth, "/v1/mutation", sale(relation, "PP-7"))
    refused(client, auth, "/v1/mutation", sale(relation, "PP-7"), "MUT_019", "invoiceNumber")
    assert len(state(client)["mutations"]) == 1


def test_duplicate_payment_reference_is_muta_008_only_when_checked(client, auth, relation):
    first = sale(relation, "PP-1", paymentReference="PP-ORDER-1", checkPaymentReference=True)
    post(client, auth, "/v1/mutation", first)
    unchecked = sale(relation, "PP-2", paymentReference="PP-ORDER-1")
    post(client, auth, "/v1/mutation", unchecked)
    checked = sale(relation, "PP-3", paymentReference="PP-ORDER-1", checkPaymentReference=True)
    refused(client, auth, "/v1/mutation", checked, "MUTA_008", "paymentReference")


def test_purchase_and_payment_types(client, auth, relation):
    purchase = {
        **sale(relation, "INK-1", in_ex="EX"),
        "type": 1,
        "ledgerId": CREDITORS,
        "rows": [{"ledgerId": PURCHASE, "vatCode": "HOOG_INK_21", "amount": Decimal("10.00")}],
    }
    post(client, auth, "/v1/mutation", purchase)
    refused(client, auth, "/v1/mutation", purchase, "MUT_020", "invoiceNumber")
    refused(client, auth, "/v1/mutation", {**purchase, "ledgerId": DEBTORS}, "MUT_010")
    wrong_code = {**purchase, "invoiceNumber": "INK-2"}
    wrong_code["rows"] = [{"ledgerId": PURCHASE, "vatCode": "HOOG_VERK_21", "amount": 1}]
    refused(client, auth, "/v1/mutation", wrong_code, "MUT_110", "rows[0].vatCode")

    post(client, auth, "/v1/mutation", sale(relation, "PP-9"))
    payment = {
        "type": 3,
        "date": "2025-03-20",
        "ledgerId": BANK,
        "relationId": relation,
        "inExVat": "EX",
        "rows": [
            {
                "ledgerId": DEBTORS,
                "vatCode": "GEEN",
                "amount": Decimal("100.00"),
                "invoiceNumber": "PP-9",
                "relationId": relation,
            }
        ],
    }
    post(client, auth, "/v1/mutation", payment)
    open_items = get(client, auth, "/v1/mutation/invoice/outstanding?credDeb=D")["items"]
    assert [(i["invoiceNumber"], i["outstandingAmount"]) for i in open_items] == [
        ("PP-9", Decimal("21.00"))
    ]
    unknown = {**payment, "rows": [{**payment["rows"][0], "invoiceNumber": "NOPE-1"}]}
    refused(client, auth, "/v1/mutation", unknown, "MUT_115", "rows[0].invoiceNumber")
    refused(client, auth, "/v1/mutation", {**payment, "termOfPayment": 14}, "MUT_016")
    missing = {**payment, "rows": [{"vatCode": "GEEN", "amount": 1, "relationId": relation}]}
    refused(client, auth, "/v1/mutation", missing, "MUT_120", "rows[0].invoiceNumber")
    creditor_items = get(client, auth, "/v1/mutation/invoice/outstanding?credDeb=C")["items"]
    assert [i["totalAmount"] for i in creditor_items] == [Decimal("12.10")]
    bad = client.get("/v1/mutation/invoice/outstanding", headers=auth).get_json()
    assert (bad["status"], bad["propertyName"]) == (400, "credDeb")


# --- VAT ------------------------------------------------------------------------------------


def rows_of(*amounts, code="HOOG_VERK_21"):
    return [{"ledgerId": REVENUE, "vatCode": code, "amount": Decimal(a)} for a in amounts]


@pytest.mark.parametrize(
    ("rounding", "in_ex", "amounts", "vat", "excl", "incl"),
    [
        # docs/reference/domain-rules.md §3.5: 37.50 + 12.50 at 21% is 7.88 + 2.63 per row,
        # 10.50 on the total
        ("total", "EX", ("37.50", "12.50"), "10.50", "50.00", "60.50"),
        ("row", "EX", ("37.50", "12.50"), "10.51", "50.00", "60.51"),
        # IN: 10.00 -> 1.7355 -> 1.74 per row; 30.00 -> 5.2066 -> 5.21 on the total
        ("total", "IN", ("10.00", "10.00", "10.00"), "5.21", "24.79", "30.00"),
        ("row", "IN", ("10.00", "10.00", "10.00"), "5.22", "24.78", "30.00"),
        # half up at exactly half a cent: 0.50 x 21% = 0.105 -> 0.11 (half-even would give 0.10)
        ("total", "EX", ("0.50",), "0.11", "0.50", "0.61"),
        ("total", "EX", ("-0.50",), "-0.11", "-0.50", "-0.61"),
    ],
)
def test_vat_per_code_total_or_per_row(
    client, auth, relation, rounding, in_ex, amounts, vat, excl, incl
):
    client.post("/_sandbox/config", json={"vat_rounding": rounding})
    made = post(client, auth, "/v1/mutation", sale(relation, in_ex=in_ex, rows=rows_of(*amounts)))
    stored = state(client)["mutations"][0]
    assert stored["totalVat"] == Decimal(vat)
    assert stored["totalExcl"] == Decimal(excl) and stored["totalIncl"] == Decimal(incl)
    assert sum(r["vat"] for r in stored["rows"]) == Decimal(vat)
    assert all(r["net"] + r["vat"] == r["gross"] for r in stored["rows"])
    full = get(client, auth, f"/v1/mutation/{made['id']}")
    assert full["vat"] == [{"vatCode": "HOOG_VERK_21", "amount": Decimal(vat)}]
    row_vat = [r.get("vatAmount") for r in full["rows"]]
    if rounding == "row":
        assert sum(row_vat) == Decimal(vat)
    else:
        assert row_vat == [None] * len(amounts)


def test_vat_is_split_per_code_and_zero_rate_codes_carry_none(client, auth, relation):
    rows = [
        *rows_of("121.00"),
        *rows_of("21.80", code="LAAG_VERK_9"),
        *rows_of("6.05"),
        *rows_of("50.00", code="VERL_VERK"),
        *rows_of("10.00", code="BI_EU_VERK_D"),
    ]
    made = post(client, auth, "/v1/mutation", sale(relation, rows=rows))
    full = get(client, auth, f"/v1/mutation/{made['id']}")
    assert full["vat"] == [
        {"vatCode": "HOOG_VERK_21", "amount": Decimal("22.05")},
        {"vatCode": "LAAG_VERK_9", "amount": Decimal("1.80")},
        {"vatCode": "VERL_VERK", "amount": Decimal("0.00")},
        {"vatCode": "BI_EU_VERK_D", "amount": Decimal("0.00")},
    ]
    assert get(client, auth, "/v1/mutation")["items"][0]["amount"] == Decimal("208.85")


# --- invoices -------------------------------------------------------------------------------


def test_invoice_without_mutation_is_a_concept(client, auth, relation):
    made = post(client, auth, "/v1/invoice", invoice(relation, inExVat="IN"))
    assert made == {"id": made["id"], "invoiceNumber": "2025-001", "inExVat": "IN"}
    full = get(client, auth, f"/v1/invoice/{made['id']}")
    assert (full["totalExcl"], full["vatAmount"], full["totalAmount"]) == (
        Decimal("100.00"),
        Decimal("21.00"),
        Decimal("121.00"),
    )
    assert full["items"][0]["description"] == "Online cursus"
    assert state(client)["mutations"] == []
    listed = get(client, auth, "/v1/invoice?invoiceNumber=2025-001")["items"]
    assert [i["id"] for i in listed] == [made["id"]]


def test_invoice_with_mutation_makes_the_type_2_booking(client, auth, relation):
    items = [
        {
            "description": "Boek",
            "quantity": 2,
            "pricePerUnit": Decimal("10.00"),
            "vatCode": "LAAG_VERK_9",
            "ledgerId": BOOKS,
            "discountPercentage": 10,
        },
        {
            "description": "Verzending",
            "pricePerUnit": Decimal("5.00"),
            "vatCode": "HOOG_VERK_21",
            "ledgerId": SHIPPING,
        },
    ]
    booking = {"ledgerId": DEBTORS, "description": "Order 7", "paymentReference": "PP-7"}
    made = post(client, auth, "/v1/invoice", invoice(relation, items=items, mutation=booking))
    assert made["inExVat"] == "EX"  # the default
    full = get(client, auth, f"/v1/invoice/{made['id']}")
    assert full["totalExcl"] == Decimal("23.00")  # 2 x 10 less 10% + 5
    assert full["vatAmount"] == Decimal("2.67")  # 18.00 x 9% = 1.62, 5.00 x 21% = 1.05
    assert full["totalAmount"] == Decimal("25.67")
    mutations = get(client, auth, "/v1/mutation?invoiceNumber=2025-001")["items"]
    assert len(mutations) == 1 and mutations[0]["type"] == 2
    assert mutations[0]["ledgerId"] == DEBTORS and mutations[0]["amount"] == Decimal("25.67")
    stored = state(client)
    assert stored["invoices"][0]["mutationId"] == mutations[0]["id"]
    assert stored["mutations"][0]["description"] == "Order 7"
    assert [r["ledgerId"] for r in stored["mutations"][0]["rows"]] == [BOOKS, SHIPPING]


def test_invoice_number_is_made_when_empty(client, auth, relation):
    first = post(client, auth, "/v1/invoice", invoice(relation, number=None))
    second = post(client, auth, "/v1/invoice", invoice(relation, number=""))
    assert first["invoiceNumber"] != second["invoiceNumber"]
    assert first["invoiceNumber"][-1].isdigit() and second["invoiceNumber"][-1].isdigit()


def test_invoice_number_in_use_is_fact_101(client, auth, relation):
    post(client, auth, "/v1/invoice", invoice(relation, "2025-001"))
    refused(client, auth, "/v1/invoice", invoice(relation, "2025-001"), "FACT_101", "invoiceNumber")
    post(client, auth, "/v1/mutation", sale(relation, "PP-55"))
    refused(client, auth, "/v1/invoice", invoice(relation, "PP-55"), "FACT_101")
    refused(client, auth, "/v1/mutation", sale(relation, "2025-001"), "MUT_019")


def test_invoice_payment_reference_in_use_is_fact_verwerk_004(client, auth, relation):
    post(client, auth, "/v1/mutation", sale(relation, paymentReference="PP-ORDER-1"))
    booking = {"ledgerId": DEBTORS, "paymentReference": "PP-ORDER-1", "checkPaymentReference": True}
    body = invoice(relation, mutation=booking)
    refused(client, auth, "/v1/invoice", body, "FACT_VERWERK_004", "mutation.paymentReference")
    assert state(client)["invoices"] == []


@pytest.mark.parametrize(
    ("change", "code", "prop"),
    [
        ({"relationId": None}, "FACT_001", "relationId"),
        ({"relationId": 1}, "FACT_002", "relationId"),
        ({"invoiceNumber": "PP-2025-A"}, "FACT_009", "invoiceNumber"),
        ({"invoiceNumber": "1" * 51}, "FACT_007", "invoiceNumber"),
        ({"templateId": 1}, "FACT_018", "templateId"),
        ({"items": []}, "FACT_019", "items"),
        ({"items": None}, "FACT_019", "items"),
        ({"termOfPayment": None}, "FACT_015", "termOfPayment"),
        ({"inExVat": "INC"}, "FACT_010", "inExVat"),
        ({"date": "2025-13-01"}, "FACT_012", "date"),
        ({"mutation": {"ledgerId": DEBTORS, "description": "d" * 201}}, "FACT_VERWERK_002", None),
        ({"mutation": {"ledgerId": REVENUE}}, "MUT_011", "mutation.ledgerId"),
        ({"mutation": {"ledgerId": 1}}, "MUT_007", "mutation.ledgerId"),
        ({"reference": "r" * 51}, "FACT_014", "reference"),
        ({"sendEmail": True}, "ERR_002", "sendEmail"),
    ],
)
def test_invoice_rules(client, auth, relation, change, code, prop):
    body = invoice(relation)
    for key, value in change.items():
        if value is None:
            body.pop(key)
        else:
            body[key] = value
    refused(client, auth, "/v1/invoice", body, code, prop)


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"ledgerId": 1}, "FACT_ITEM_012"),
        ({"ledgerId": None}, "FACT_ITEM_007"),
        ({"vatAmount": Decimal("1.00")}, "FACT_ITEM_015"),
        ({"description": None}, "FACT_ITEM_001"),
        ({"vatCode": "HOOG"}, "FACT_ITEM_014"),
        ({"pricePerUnit": None}, "FACT_ITEM_004"),
        ({"discountAmount": 1, "discountPercentage": 1}, "FACT_ITEM_013"),
    ],
)
def test_invoice_item_rules(client, auth, relation, change, code):
    item = invoice(relation)["items"][0]
    for key, value in change.items():
        if value is None:
            item.pop(key)
        else:
            item[key] = value
    refused(client, auth, "/v1/invoice", invoice(relation, items=[item]), code)


def test_inactive_relation_cannot_be_invoiced(client, auth):
    rel = post(client, auth, "/v1/relation", {"name": "Oud", "inactive": True})["id"]
    refused(client, auth, "/v1/invoice", invoice(rel), "FACT_003", "relationId")


def test_invoice_vat_follows_the_rounding_setting(client, auth, relation):
    items = [
        {
            "description": d,
            "pricePerUnit": Decimal(p),
            "vatCode": "HOOG_VERK_21",
            "ledgerId": COURSES,
        }
        for d, p in (("a", "37.50"), ("b", "12.50"))
    ]
    first = post(client, auth, "/v1/invoice", invoice(relation, "1", items=items))
    client.post("/_sandbox/config", json={"vat_rounding": "row"})
    second = post(client, auth, "/v1/invoice", invoice(relation, "2", items=items))
    assert get(client, auth, f"/v1/invoice/{first['id']}")["vatAmount"] == Decimal("10.50")
    assert get(client, auth, f"/v1/invoice/{second['id']}")["vatAmount"] == Decimal("10.51")
