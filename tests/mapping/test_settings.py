"""Settings: the JSON of ``flask settings export`` in, every problem named, the same JSON out."""

from __future__ import annotations

import copy
from datetime import date

import pytest

from pp2eb import jsonutil
from pp2eb.mapping.settings import DEFAULTS, USUAL_CODES, Settings, SettingsError

EXAMPLE = {
    "orders": "final_invoices",
    "start_date": "2026-01-01",
    "reference": "invoice_number",
    "insertion": "mutation",
    "invoice_template": "Standaard",
    "group_lines": False,
    "debtor_ledger": "1300",
    "revenue_ledger": "8000",
    "product_ledgers": {"12": "8010"},
    "shipping_ledger": "8050",
    "vat_map": {
        "NL:21": "HOOG_VERK_21",
        "NL:9": "LAAG_VERK_9",
        "NL:0": "GEEN",
        "reverse_charge": "BI_EU_VERK_D",
        "outside_eu": "BU_EU_VERK",
    },
    "oss": "home_country",
    "oss_ledgers": {"BE": "1640", "DE": "1641", "FR": "1642"},
    "customer_codes": "eboekhouden",
    "sync_interval_minutes": 15,
}
# The example's vat_map as it is read and written since goods and services have codes of their
# own: each old key sets both of its new keys.
UPGRADED_VAT_MAP = {
    "NL:21": "HOOG_VERK_21",
    "NL:9": "LAAG_VERK_9",
    "NL:0": "GEEN",
    "reverse_charge_goods": "BI_EU_VERK_D",
    "reverse_charge_services": "BI_EU_VERK_D",
    "outside_eu_goods": "BU_EU_VERK",
    "outside_eu_services": "BU_EU_VERK",
}


def test_reads_the_issue_example():
    settings = Settings.from_dict(EXAMPLE)
    assert settings.start_date == date(2026, 1, 1)
    assert settings.debtor_ledger == "1300"
    assert settings.product_ledgers == {"12": "8010"}
    assert settings.vat_map["NL:21"] == "HOOG_VERK_21"
    # Not in the example: unset, not a code the administration may not have.
    assert settings.rounding_ledger is None
    assert settings.term_of_payment == 14


def test_round_trip_through_json():
    settings = Settings.from_dict(
        {**EXAMPLE, "insertion": "invoice", "oss": "oss", "rounding_ledger": "8091"}
    )
    data = settings.to_dict()
    assert data == {
        **EXAMPLE,
        "vat_map": UPGRADED_VAT_MAP,
        "unknown_product_kind": "services",
        "dutch_vat_products": [],
        "insertion": "invoice",
        "oss": "oss",
        "rounding_ledger": "8091",
        "term_of_payment": 14,
        "book_payments": False,
        "payments_from": None,
        "payment_ledgers": {},
        "payment_fallback_ledger": None,
        "discount_ledger": None,
        "oss_from": None,
    }
    assert Settings.from_dict(jsonutil.loads(jsonutil.dumps(data))) == settings


def test_oss_from_is_a_date_or_empty_for_always():
    assert Settings.from_dict(EXAMPLE).oss_from is None  # an export made before it existed
    settings = Settings.from_dict({**EXAMPLE, "oss": "oss", "oss_from": "2026-07-01"})
    assert settings.oss_from == date(2026, 7, 1)
    assert settings.to_dict()["oss_from"] == "2026-07-01"
    assert Settings.from_dict(settings.to_dict()) == settings
    with pytest.raises(SettingsError) as info:
        Settings.from_dict({**EXAMPLE, "oss_from": "1 juli"})
    assert info.value.problems == ["oss_from: '1 juli' is not a date (YYYY-MM-DD)."]


def test_to_dict_does_not_share_the_settings_maps():
    settings = Settings.from_dict(EXAMPLE)
    settings.to_dict()["vat_map"]["NL:21"] = "GEEN"
    assert settings.vat_map["NL:21"] == "HOOG_VERK_21"
    assert USUAL_CODES["vat_map"]["NL:21"] == "HOOG_VERK_21"


def test_defaults_need_a_start_date_and_the_two_ledgers_every_order_needs():
    ledgers = {"debtor_ledger": "1300", "revenue_ledger": "8000"}
    settings = Settings.from_dict({"start_date": "2026-03-01", **ledgers})
    assert settings.to_dict() == {**DEFAULTS, "start_date": "2026-03-01", **ledgers}
    with pytest.raises(SettingsError) as info:
        Settings.from_dict({})
    assert info.value.problems == [
        "start_date: missing; choose the first invoice date to book.",
        "debtor_ledger: missing; choose one of the ledgers in e-Boekhouden.",
        "revenue_ledger: missing; choose one of the ledgers in e-Boekhouden.",
    ]


def test_no_default_names_a_ledger_vat_code_or_template():
    for key, usual in USUAL_CODES.items():
        assert DEFAULTS[key] in (None, {}), key
        assert usual


@pytest.mark.parametrize("unset", [None, ""])
def test_shipping_and_rounding_ledgers_and_the_mutation_template_may_be_unset(unset):
    optional = ("shipping_ledger", "rounding_ledger", "invoice_template")
    settings = Settings.from_dict({**EXAMPLE, **dict.fromkeys(optional, unset)})
    assert (settings.shipping_ledger, settings.rounding_ledger) == (None, None)
    assert settings.invoice_template is None
    assert Settings.from_dict(settings.to_dict()) == settings


def test_vat_map_keys_are_normalised():
    vat_map = {"NL:21.0": "HOOG_VERK_21", "FR:5.50": "AFST_VERK", "outside_eu": "BU_EU_VERK"}
    settings = Settings.from_dict({**EXAMPLE, "vat_map": vat_map})
    assert settings.vat_map == {"NL:21": "HOOG_VERK_21", "FR:5.5": "AFST_VERK"} | {
        "outside_eu_goods": "BU_EU_VERK",
        "outside_eu_services": "BU_EU_VERK",
    }


@pytest.mark.parametrize(
    ("vat_map", "special"),
    [
        pytest.param(
            {"reverse_charge": "BI_EU_VERK_D", "outside_eu": "BU_EU_VERK"},
            ["BI_EU_VERK_D", "BI_EU_VERK_D", "BU_EU_VERK", "BU_EU_VERK"],
            id="an old key sets both of its new keys",
        ),
        pytest.param(
            {"reverse_charge": "BI_EU_VERK_D", "reverse_charge_goods": "BI_EU_VERK"}
            | {"outside_eu_services": "GEEN", "outside_eu": "BU_EU_VERK"},
            ["BI_EU_VERK", "BI_EU_VERK_D", "BU_EU_VERK", "GEEN"],
            id="a new key named next to the old one wins",
        ),
        pytest.param(
            dict(USUAL_CODES["vat_map"]),
            ["BI_EU_VERK", "BI_EU_VERK_D", "BU_EU_VERK", "GEEN"],
            id="the usual codes",
        ),
    ],
)
def test_goods_and_services_vat_keys(vat_map, special):
    settings = Settings.from_dict({**EXAMPLE, "vat_map": vat_map})
    keys = ["reverse_charge_goods", "reverse_charge_services"]
    keys += ["outside_eu_goods", "outside_eu_services"]
    assert [settings.vat_map.get(key) for key in keys] == special
    assert not {"reverse_charge", "outside_eu"} & set(settings.to_dict()["vat_map"])


def test_vat_settings_of_products():
    data = {**EXAMPLE, "dutch_vat_products": ["12", 7, "0031"], "unknown_product_kind": "goods"}
    settings = Settings.from_dict(data)
    assert settings.dutch_vat_products == ("12", "7", "31")
    assert settings.unknown_product_kind == "goods"
    assert settings.to_dict()["dutch_vat_products"] == ["12", "7", "31"]
    bad = {**EXAMPLE, "dutch_vat_products": ["abc", True, "12", 12], "unknown_product_kind": "x"}
    with pytest.raises(SettingsError) as info:
        Settings.from_dict(bad)
    assert info.value.problems == [
        "unknown_product_kind: 'x' is not one of services, goods.",
        "dutch_vat_products: 'abc' is not a Plug&Pay product id (a number).",
        "dutch_vat_products: True is not a Plug&Pay product id (a number).",
        "dutch_vat_products: 12 is listed twice.",
    ]
    with pytest.raises(SettingsError, match="dutch_vat_products: expected a list"):
        Settings.from_dict({**EXAMPLE, "dutch_vat_products": {"12": True}})


SPECIAL_KEYS = (
    "reverse_charge_goods, reverse_charge_services, outside_eu_goods, outside_eu_services."
)


def test_every_problem_is_named():
    data = copy.deepcopy(EXAMPLE)
    data.update(
        orders="all",
        start_date="01-01-2026",
        reference=None,
        insertion="invoice",
        invoice_template=" ",
        group_lines="yes",
        debtor_ledger=1300,
        revenue_ledger="",
        shipping_ledger=" 8050",
        oss="both",
        customer_codes="random",
        sync_interval_minutes="15",
        term_of_payment=-1,
        colour="blue",
    )
    data["product_ledgers"] = {"abc": "8010", "13": 8020}
    data["vat_map"] = {"NL21": "HOOG_VERK_21", "XX:21": "X", "NL:9": "", "NL:9.0": None}
    data["oss_ledgers"] = {"NL": "1600", "US": "1601", "DE": "16410000000"}
    with pytest.raises(SettingsError) as info:
        Settings.from_dict(data)
    assert info.value.problems == [
        "Unknown setting 'colour'.",
        "orders: 'all' is not one of final_invoices, paid.",
        "reference: None is not one of invoice_number, order_number.",
        "oss: 'both' is not one of home_country, oss.",
        "customer_codes: 'random' is not one of eboekhouden, name.",
        "start_date: '01-01-2026' is not a date (YYYY-MM-DD).",
        "group_lines: expected true or false, got 'yes'.",
        'debtor_ledger: a ledger code is text, e.g. "8000"; got 1300.',
        "revenue_ledger: '' is not a ledger code.",
        "shipping_ledger: ' 8050' is not a ledger code.",
        "product_ledgers: 'abc' is not a Plug&Pay product id (a number).",
        'product_ledgers[13]: a ledger code is text, e.g. "8000"; got 8020.',
        "vat_map: 'NL21' is not COUNTRY:RATE (e.g. \"NL:21\") or one of " + SPECIAL_KEYS,
        "vat_map: 'XX:21' is not COUNTRY:RATE (e.g. \"NL:21\") or one of " + SPECIAL_KEYS,
        "vat_map[NL:9]: expected a VAT code, got ''.",
        "vat_map: 'NL:9.0' is listed twice.",
        "vat_map[NL:9.0]: expected a VAT code, got None.",
        "oss_ledgers: 'NL' is not an EU country code other than NL.",
        "oss_ledgers: 'US' is not an EU country code other than NL.",
        "oss_ledgers[DE]: '16410000000' is not a ledger code.",
        "sync_interval_minutes: expected a whole number 1-1440, got '15'.",
        "term_of_payment: expected a whole number 0-365, got -1.",
        "invoice_template: name the invoice template to book invoices with.",
    ]


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ([], "The settings must be a JSON object."),
        ({**EXAMPLE, "start_date": "2026-02-30"}, "start_date: '2026-02-30' is not a date"),
        ({**EXAMPLE, "start_date": 20260101}, "start_date: 20260101 is not a date"),
        ({**EXAMPLE, "sync_interval_minutes": True}, "sync_interval_minutes: expected a whole"),
        ({**EXAMPLE, "sync_interval_minutes": 0}, "sync_interval_minutes: expected a whole"),
        ({**EXAMPLE, "vat_map": []}, "vat_map: expected an object, got []."),
        ({**EXAMPLE, "insertion": "invoice", "invoice_template": 7}, "invoice_template: expected"),
    ],
)
def test_single_problems(data, problem):
    with pytest.raises(SettingsError) as info:
        Settings.from_dict(data)
    assert any(p.startswith(problem) for p in info.value.problems), info.value.problems


def test_product_ids_are_normalised():
    settings = Settings.from_dict({**EXAMPLE, "product_ledgers": {"012": "8010", "7": "8000"}})
    assert settings.product_ledgers == {"12": "8010", "7": "8000"}
    with pytest.raises(SettingsError) as info:
        Settings.from_dict({**EXAMPLE, "product_ledgers": {"012": "8010", "12": "8000"}})
    assert info.value.problems == ["product_ledgers: '12' is listed twice."]


PAYMENTS = {
    "book_payments": True,
    "payments_from": "2026-06-01",
    "payment_ledgers": {"mollie": "1650", "stripe": "1660"},
    "payment_fallback_ledger": "1100",
}


def test_payment_settings_round_trip():
    settings = Settings.from_dict({**EXAMPLE, **PAYMENTS})
    assert settings.book_payments and settings.payments_start == date(2026, 6, 1)
    assert settings.payment_ledgers == {"mollie": "1650", "stripe": "1660"}
    data = settings.to_dict()
    assert {key: data[key] for key in PAYMENTS} == PAYMENTS
    assert Settings.from_dict(jsonutil.loads(jsonutil.dumps(data))) == settings
    settings.to_dict()["payment_ledgers"]["mollie"] = "1100"
    assert settings.payment_ledgers["mollie"] == "1650"


def test_payments_are_off_and_start_with_the_start_date_by_default():
    settings = Settings.from_dict(EXAMPLE)
    assert settings.book_payments is False and settings.payments_from is None
    assert settings.payments_start == settings.start_date
    assert settings.payment_fallback_ledger is None
    # An empty fallback (a blank dropdown) means: other providers are not booked.
    assert (
        Settings.from_dict({**EXAMPLE, "payment_fallback_ledger": ""}).payment_fallback_ledger
        is None
    )


def test_provider_names_are_normalised():
    settings = Settings.from_dict({**EXAMPLE, "payment_ledgers": {" Mollie": "1650"}})
    assert settings.payment_ledgers == {"mollie": "1650"}


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ({"book_payments": "yes"}, "book_payments: expected true or false, got 'yes'."),
        (
            {"payments_from": "2026-13-01"},
            "payments_from: '2026-13-01' is not a date (YYYY-MM-DD).",
        ),
        ({"payment_ledgers": ["1650"]}, "payment_ledgers: expected an object, got ['1650']."),
        (
            {"payment_ledgers": {"mol lie": "1650"}},
            "payment_ledgers: 'mol lie' is not a payment provider or method, e.g. mollie.",
        ),
        (
            {"payment_ledgers": {"mollie": "1650", "MOLLIE": "1651"}},
            "payment_ledgers: 'MOLLIE' is listed twice.",
        ),
        ({"payment_fallback_ledger": 1100}, "payment_fallback_ledger: a ledger code is text"),
        (
            {"book_payments": True},
            "payment_ledgers: name the clearing ledger of at least one payment provider.",
        ),
    ],
)
def test_payment_setting_problems(data, problem):
    with pytest.raises(SettingsError) as info:
        Settings.from_dict({**EXAMPLE, **data})
    assert any(p.startswith(problem) for p in info.value.problems), info.value.problems
