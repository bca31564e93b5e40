"""The relation drafted from an order, and the five-letter customer code rule."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from openapi_schema_validator import OAS30Validator

from pp2eb.mapping.customers import (
    RELATION_FIELDS,
    customer_code,
    relation_draft,
    relation_payload,
    relation_update,
    vat_id_key,
)
from pp2eb.mapping.readings import parse_order
from tests.mapping.test_order import build, item

SPEC_FILE = next((Path(__file__).parents[2] / "pp2eb").rglob("eboekhouden-v1-subset.openapi.json"))
SPEC = json.loads(SPEC_FILE.read_text())


def draft(**contact):
    raw = build([item("Cursus", "121.00")], **contact)
    return relation_draft(parse_order(raw))


def test_person():
    relation = draft(firstname="Jan", lastname="Jansen")
    assert relation.type == "P"
    assert relation.name == "Jan Jansen"
    assert relation.contact is None
    assert relation.address == "Dorpsstraat 1"
    assert (relation.postal_code, relation.city, relation.country) == ("1234 AB", "Utrecht", "NL")
    assert relation.email == "klant@example.nl"
    assert relation.vat_number is None


def test_business():
    relation = draft(company="Studio Peeters BV", country="BE", vat_id="BE0123456789")
    assert relation.type == "B"
    assert relation.name == "Studio Peeters BV"
    assert relation.contact == "Jan Jansen"
    assert relation.country == "BE"
    assert relation.vat_number == "BE0123456789"


def test_fields_are_cut_to_the_api_limits():
    raw = build([item("Cursus", "121.00")], company="B" * 120, firstname="Jan", lastname="J" * 60)
    raw["billing"]["address"].update(street="S" * 160, housenumber="1", zipcode="Z" * 60)
    raw["billing"]["address"]["city"] = "C" * 60
    raw["billing"]["contact"].update(email="e" * 160, vat_id_number="V" * 60)
    relation = relation_draft(parse_order(raw))
    assert len(relation.name) == 100
    assert len(relation.contact) == 50
    assert len(relation.address) == 150
    assert len(relation.postal_code) == len(relation.city) == 50
    assert len(relation.email) == 150
    assert len(relation.vat_number) == 50
    validate(relation_payload(relation, code=customer_code(relation)))


def test_name_without_names():
    assert draft(firstname=None, lastname=None).name == "klant@example.nl"
    raw = build([item("Cursus", "121.00")], firstname=" ", lastname=None)
    raw["billing"]["contact"]["email"] = None
    relation = relation_draft(parse_order(raw))
    assert relation.name == "Plug&Pay klant 42"
    assert relation.email is None


def test_missing_address_parts():
    raw = build([item("Cursus", "121.00")])
    raw["billing"]["address"] = {
        "street": None,
        "housenumber": "12",
        "zipcode": None,
        "city": None,
        "country": None,
    }
    relation = relation_draft(parse_order(raw))
    assert relation.address == "12"
    assert relation.postal_code is None and relation.city is None and relation.country is None


@pytest.mark.parametrize(
    ("contact", "code"),
    [
        ({"firstname": "Jan", "lastname": "Jansen"}, "JANSE"),
        ({"firstname": "Zoë", "lastname": "Müller"}, "MULLE"),
        ({"company": "Café Timmermans & Zn", "firstname": "Bilal", "lastname": "de Wit"}, "CAFET"),
        ({"firstname": "Jan", "lastname": "de Vries"}, "DEVRI"),
        ({"firstname": "Bo", "lastname": "Li"}, "LIBO"),
        ({"firstname": "Anna", "lastname": "Ng"}, "NGANN"),
        ({"firstname": None, "lastname": "Ek"}, "EK"),
        ({"firstname": "Lena", "lastname": "Strauß"}, "STRAU"),
        ({"firstname": "Søren", "lastname": "Ørsted"}, "ORSTE"),
        ({"firstname": "Éloïse", "lastname": "Łęcka"}, "LECKA"),
        ({"company": "123 & 456", "firstname": "Jan", "lastname": "Jansen"}, "JANSE"),
        ({"company": "3M", "firstname": "Jan", "lastname": "Jansen"}, "M"),
        ({"firstname": "李", "lastname": "小龙"}, "KLANT"),
        ({"firstname": "42", "lastname": "-"}, "KLANT"),
    ],
)
def test_customer_code(contact, code):
    raw = build([item("Cursus", "121.00")], **contact)
    raw["billing"]["contact"]["email"] = "1@2.nl"  # no letters to fall back on
    assert customer_code(relation_draft(parse_order(raw))) == code


def test_person_without_names_takes_the_email_letters():
    raw = build([item("Cursus", "121.00")], firstname=None, lastname=None)
    raw["billing"]["contact"]["email"] = "info@wit.example"
    assert customer_code(relation_draft(parse_order(raw))) == "INFOW"


@pytest.mark.parametrize(
    ("attempt", "code"), [(0, "JANSE"), (1, "JANSE1"), (2, "JANSE2"), (12, "JANSE12")]
)
def test_customer_code_attempts(attempt, code):
    assert customer_code(draft(), attempt) == code


def test_customer_code_never_exceeds_15():
    relation = draft()
    assert customer_code(relation, 10**9) == "JANSE1000000000"
    assert len(customer_code(relation, 10**12)) == 15
    with pytest.raises(ValueError):
        customer_code(relation, -1)


def validate(payload: dict) -> None:
    OAS30Validator({"$ref": "#/components/schemas/CreateRelation", **SPEC}).validate(payload)


def test_relation_payload():
    relation = draft(company="Studio Peeters BV", country="BE", vat_id="BE0123456789")
    payload = relation_payload(relation, code="STUDI")
    assert payload == {
        "type": "B",
        "code": "STUDI",
        "name": "Studio Peeters BV",
        "contact": "Jan Jansen",
        "address": "Dorpsstraat 1",
        "postalCode": "1234 AB",
        "city": "Utrecht",
        "country": "BE",
        "emailAddress": "klant@example.nl",
        "vatNumber": "BE0123456789",
    }
    validate(payload)
    assert "code" not in relation_payload(relation)  # e-Boekhouden makes the code


def test_relation_fields_are_the_specs_create_relation():
    assert list(RELATION_FIELDS) == list(
        SPEC["components"]["schemas"]["CreateRelation"]["properties"]
    )


@pytest.mark.parametrize(
    ("one", "other", "same"),
    [
        ("BE0123456789", "be 0123.456.789", True),
        ("NL000099998B57", "NL0000.99998.B57", True),
        ("BE0123456789", "BE0123456780", False),
        ("DE123456789", "BE123456789", False),
    ],
)
def test_vat_ids_compare_as_written_without_spaces_and_dots(one, other, same):
    assert (vat_id_key(one) == vat_id_key(other)) is same


CONSUMER = {
    "id": 41000001,
    "type": "P",
    "code": "1",
    "name": "Jan Jansen",
    "contact": None,
    "emailAddress": "klant@example.nl",
    "city": "Utrecht",
    "iban": "NL91ABNA0417164300",
    "vatNumber": None,
    "inactive": None,
    "date": "2026-11-01",
    "isClubOrAssociationMember": False,
}


def test_a_consumer_relation_becomes_the_business_with_its_vat_id():
    business = draft(company="Jansen Advies", country="BE", vat_id="BE0123456789")
    body = relation_update(CONSUMER, business, "BE0123456789")
    assert body == {
        "type": "B",
        "code": "1",
        "name": "Jansen Advies",
        "contact": "Jan Jansen",
        "city": "Utrecht",
        "emailAddress": "klant@example.nl",
        "iban": "NL91ABNA0417164300",
        "vatNumber": "BE0123456789",
    }
    OAS30Validator({"$ref": "#/components/schemas/CreateRelation", **SPEC}).validate(body)


def test_a_business_relation_keeps_its_name_and_contact():
    current = {**CONSUMER, "type": "B", "name": "Jansen", "contact": "Piet"}
    body = relation_update(current, draft(company="Jansen Advies BV"), "BE0123456789")
    assert (body["name"], body["contact"], body["type"]) == ("Jansen", "Piet", "B")


def test_a_person_without_company_keeps_its_name():
    person = draft(country="BE", vat_id="BE0123456789")
    body = relation_update(CONSUMER, person, "BE0123456789")
    assert (body["name"], body["type"], body["vatNumber"]) == ("Jan Jansen", "B", "BE0123456789")
    assert "contact" not in body
