"""The contract schema holds to the public record: the record's own examples pass, inventions fail.

Each example is the JSON that docs/reference/plugandpay-api.md ("R" below) quotes (the SDK's
fixtures, the tap's schema), by section, copied here by hand.
"""

from __future__ import annotations

import copy

import pytest
from jsonschema import Draft202012Validator

from pp2eb.sandbox.plugandpay.contract import answer_violations, load_schema, violations

# R §3 items (SDK fixture OrderShowMockClient).
ITEM = {
    "id": 1,
    "product_id": 1,
    "label": "culpa",
    "quantity": 1,
    "type": None,
    "amount": "75.00",
    "amount_with_tax": "90.75",
    "discounts": [],
    "tax": {
        "amount": "10.00",
        "amount_with_tax": "12.10",
        "rate": {"country": "NL", "id": 57, "percentage": "21.0"},
    },
}
# R §3 taxes and total_discounts (SDK fixture).
TAX = {
    "amount": "10.00",
    "amount_with_tax": "12.10",
    "rate": {"country": "NL", "id": 57, "percentage": "21.0"},
}
DISCOUNT = {"amount": "100.00", "amount_with_tax": "121.00", "code": "u4lbf3", "type": "promotion"}
# R §3 billing (SDK fixture billing()).
BILLING = {
    "address": {
        "city": "'t Veld",
        "country": "NL",
        "street": "Sanderslaan",
        "housenumber": "42",
        "zipcode": "1448VB",
    },
    "contact": {
        "company": "Café Timmermans & Zn",
        "email": "rosalie39@example.net",
        "firstname": "Bilal",
        "invoice_email": "maarten.veenstra@example.net",
        "lastname": "de Wit",
        "tax_exempt": "none",
        "telephone": "(044) 4362837",
        "website": "https://www.example.nl",
        "vat_id_number": "NL000099998B57",
    },
}
# R §3 payment (SDK fixtures payment() and paymentOnlyBasic()).
PAYMENT = {
    "customer_id": "qfeio43asdf1f11",
    "mandate_id": "qwertyasdf",
    "method": "banktransfer",
    "order_id": 1,
    "paid_at": "2019-01-19T00:00:00.000000Z",
    "provider": "mollie",
    "status": "paid",
    "transaction_id": "tr_123456mock",
    "type": "mandate",
    "url": "https://example.plugandpay.nl/orders/payment-link/0b13e52d-b058-32fb-8507-10dec634a07c",
}
UNPAID = {
    "method": None,
    "provider": None,
    "paid_at": None,
    "transaction_id": None,
    "status": "open",
    "type": "mail",
}
# R §3 top-level fields (SDK fixture), invoice_date from the tap's schema.
ORDER = {
    "id": 1,
    "amount": "75.00",
    "amount_with_tax": "75.00",
    "created_at": "2019-01-16T00:00:00.000000Z",
    "updated_at": "2019-01-16T00:00:00.000000Z",
    "deleted_at": None,
    "customer_id": "qfeio43asdf1f11",
    "invoice_number": "20214019-T",
    "invoice_status": "concept",
    "invoice_date": "2019-01-16",
    "is_first": True,
    "is_hidden": False,
    "mode": "live",
    "reference": "0b13e52d-b058-32fb-8507-10dec634a07c",
    "source": "api",
    "product_group": "lorem-ipsum-test",
    "billing": BILLING,
    "items": [ITEM],
    "taxes": [TAX],
    "total_discounts": [DISCOUNT],
    "payment": PAYMENT,
    "comments": [],
    "tags": ["vip"],
}
# R §3 shipping (the tap's schema): taxes is a list.
SHIPPING = {"amount": "0.00", "amount_with_tax": "0.00", "taxes": []}
# R §7 (SDK fixtures TaxRatesIndexMockClient, TenantShowMockClient, ProductShowMockClient).
TAX_RATE = {"id": 1, "country": "NL", "percentage": "6.0"}
TENANT = {"id": 1, "name": "Test Tenant", "plan": "lite"}
PRODUCT = {
    "id": 1,
    "title": "Lorem",
    "public_title": "Lorem",
    "description": "<p>Lorem</p>",
    "sku": "70291520",
    "slug": None,
    "is_physical": False,
    "ledger": None,
    "stock": {"is_enabled": False},
    "type": "one_off",
    "created_at": "2019-01-16T00:00:00.000000Z",
    "updated_at": "2019-01-16T00:00:00.000000Z",
    "deleted_at": None,
}
# R §6 (SDK fixture ShowRuleMockClient).
RULE = {
    "id": 1,
    "action_type": "call_webhook",
    "action_data": {"hook_url": "https://example.com/webhook"},
    "trigger_type": "order_paid",
    "condition_data": {"is_first": True, "product_id": [1]},
    "name": "Lorem",
    "readonly": False,
    "created_at": "2021-01-01T00:00:00Z",
    "updated_at": None,
    "deleted_at": None,
    "driver": "webhook",
}
# R §6: the help centre's fields, flat, and the third-party receiver's event object.
WEBHOOK_FLAT = {
    "trigger_type": "order_paid",
    "triggerable_id": 12,
    "triggerable_type": "orders",
    "sent_at": "2026-11-25T10:00:00.000000Z",
    "tenant_id": 1,
    "rule_id": 3,
}
WEBHOOK_EVENT = {
    "event": {
        "trigger_type": "order_invoice_created",
        "triggerable_type": "order",
        "triggerable_id": 12,
    },
    "rule_id": 3,
    "sent_at": "2026-11-25T10:00:00.000000Z",
    "tenant_id": 1,
}


def test_the_schema_is_a_valid_json_schema():
    Draft202012Validator.check_schema(load_schema())


def test_every_definition_says_where_it_comes_from():
    sources = ("R §", "SDK", "tap", "inferred", "help centre", "Laravel")
    for name, definition in load_schema()["$defs"].items():
        if definition.get("type") == "object" or "oneOf" in definition:
            text = definition.get("description", "")
            assert any(s in text for s in sources) or name in ("webhook_event",), name


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("item", ITEM),
        ("tax", TAX),
        ("discount", DISCOUNT),
        ("billing", BILLING),
        ("payment", PAYMENT),
        ("payment", UNPAID),
        ("order", ORDER),
        ("order", {**ORDER, "shipping": SHIPPING}),
        ("order", {**ORDER, "shipping": None}),
        ("shipping", {"amount": "4.09", "amount_with_tax": "4.95", "taxes": [TAX]}),
        ("tax_rate", TAX_RATE),
        ("tenant", TENANT),
        ("product", PRODUCT),
        ("product", {**PRODUCT, "ledger": 8010}),
        ("product", {**PRODUCT, "ledger": "8010"}),
        ("rule", RULE),
        ("webhook_body", WEBHOOK_FLAT),
        ("webhook_body", WEBHOOK_EVENT),
    ],
)
def test_the_records_own_examples_are_in_the_contract(name, value):
    assert violations(name, value) == []


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("item", {**ITEM, "type": "standard"}),
        ("item", {**ITEM, "id": "1", "product_id": "1"}),
        ("tax_rate", {**TAX_RATE, "percentage": "6"}),
        ("tax_rate", {**TAX_RATE, "percentage": 6}),
        ("tax_rate", {**TAX_RATE, "percentage": 5.5}),
        ("order", {key: value for key, value in ORDER.items() if key != "total_discounts"}),
    ],
    ids=[
        "type standard",
        "ids as text",
        "percentage 6",
        "percentage as a number",
        "percentage 5.5",
        "an include left out",
    ],
)
def test_open_readings_are_in_the_contract(name, value):
    assert violations(name, value) == []


def _without_rate(value: dict) -> dict:
    value = copy.deepcopy(value)
    del value["taxes"][0]["rate"]
    return value


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        (
            "shipping",
            {"amount": "4.09", "amount_with_tax": "4.95", "tax": TAX},
            "Additional properties are not allowed ('tax' was unexpected)",
        ),
        ("shipping", {"amount": "4.09", "amount_with_tax": "4.95"}, "'taxes' is a required"),
        ("tax", {"amount": "10.00", "rate": TAX["rate"]}, "'amount_with_tax' is a required"),
        ("order", {**ORDER, "amount": 75}, "amount: 75 is not of type 'string'"),
        ("order", {**ORDER, "amount": "75.0"}, "does not match"),
        ("order", {**ORDER, "currency": "EUR"}, "'currency' was unexpected"),
        ("item", {**ITEM, "type": "shipping"}, "'shipping' is not one of"),
        (
            "shipping",
            _without_rate({"amount": "1.00", "amount_with_tax": "1.21", "taxes": [TAX]}),
            "'rate' is a required",
        ),
        ("tax_rate", {**TAX_RATE, "percentage": "21,0"}, "percentage"),
        ("payment", {**PAYMENT, "status": "refunded"}, "'refunded' is not one of"),
    ],
    ids=[
        "one tax object",
        "no taxes",
        "tax without amount_with_tax",
        "money as a number",
        "money with one decimal",
        "a field no source shows",
        "a shipping item type",
        "a tax without its rate",
        "a percentage with a comma",
        "a status no source shows",
    ],
)
def test_what_no_source_shows_is_off_the_contract(name, value, words):
    found = violations(name, value)
    assert found and any(words in v for v in found), found


def test_answers_are_checked_by_their_envelope():
    page = {
        "data": [PRODUCT],
        "links": {"first": "u", "last": "u", "prev": None, "next": None},
        "meta": {
            "current_page": 1,
            "from": 1,
            "last_page": 1,
            "path": "u",
            "per_page": 10,
            "to": 1,
            "total": 1,
        },
    }
    assert answer_violations("list_products", 200, page) == []
    assert answer_violations("list_products", 200, {"data": [PRODUCT]})  # no meta, no links
    bad = {**page, "data": [{**PRODUCT, "ledger": 1.5}]}
    assert answer_violations("list_products", 200, bad)[0].startswith("data[0].ledger")
    assert answer_violations("show_order", 404, {"message": "Not found."}) == []
    assert answer_violations("show_order", 404, {"error": "gone"})
    assert answer_violations("somewhere", 200, {"data": {}})
