"""ReferenceData read from the APIs' listings: the one way a run, the dry run and the reports
read them."""

from __future__ import annotations

from pp2eb.mapping.booking import Ledger, ReferenceData, Template
from pp2eb.mapping.reference import products_physical, read_reference

LEDGERS = [
    {"id": 11, "code": "8000", "description": "Omzet", "category": "VW"},
    {"id": 12, "code": 1300, "description": None, "category": None},  # a code as a number
]
TEMPLATES = [{"id": 3, "name": "Standaard"}]
PRODUCTS = [
    {"id": 1, "ledger": "8010", "is_physical": True},
    {"id": "2", "ledger": 8020, "is_physical": False},  # an id and a ledger as Plug&Pay may send
    {"id": 3, "ledger": "", "is_physical": None},  # says neither ledger nor kind
    {"id": 4},
    {"id": "x", "ledger": "8030", "is_physical": True},  # no readable id: on no order line
]


def test_ledgers_and_templates_are_indexed_by_code_and_by_name():
    ref = read_reference(LEDGERS, TEMPLATES)
    assert ref.ledgers == {
        "8000": Ledger(11, "8000", "Omzet", "VW"),
        "1300": Ledger(12, "1300", "", ""),
    }
    assert ref.templates == {"Standaard": Template(3, "Standaard")}
    assert (ref.product_ledgers, ref.product_physical) == ({}, {})


def test_products_give_their_ledger_codes_as_text_and_their_kinds_where_they_say():
    ref = read_reference(products=PRODUCTS)
    assert ref.product_ledgers == {1: "8010", 2: "8020", 3: None, 4: None}
    assert ref.product_physical == {1: True, 2: False}
    assert products_physical(PRODUCTS) == ref.product_physical


def test_a_listing_is_read_once_so_a_generator_will_do():
    ref = read_reference(iter(LEDGERS), iter(TEMPLATES), iter(PRODUCTS))
    assert set(ref.ledgers) == {"8000", "1300"}
    assert ref.product_physical == {1: True, 2: False}


def test_nothing_listed_is_the_empty_reference():
    assert read_reference() == ReferenceData()
