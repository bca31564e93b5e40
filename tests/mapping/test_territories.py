"""The EU VAT area by country and postcode: one row per territory, booked through the mapper,
and the order page's note saying which rule applied."""

from __future__ import annotations

import pytest

from pp2eb.mapping.countries import EU_COUNTRIES
from pp2eb.mapping.problems import MappingError
from pp2eb.mapping.territories import TERRITORIES, place_of
from tests.mapping.test_mapper import map_raw
from tests.mapping.test_vat import book, course, order, rows_of

GOODS_OUT, GOODS_EU = "BU_EU_VERK", "BI_EU_VERK"

# (country, postcode, city, the territory's name): a book to a consumer there, charged 0%, is
# a sale outside the EU (box 3a), not a refused 0% sale to an EU consumer.
OUTSIDE = [
    ("ES", "35001", "Las Palmas de Gran Canaria", "the Canary Islands"),
    ("ES", "38001", "Santa Cruz de Tenerife", "the Canary Islands"),
    ("ES", "51001", "Ceuta", "Ceuta"),
    ("ES", "52001", "Melilla", "Melilla"),
    ("FR", "97110", "Pointe-à-Pitre", "Guadeloupe"),
    ("FR", "97200", "Fort-de-France", "Martinique"),
    ("FR", "97300", "Cayenne", "French Guiana"),
    ("FR", "97400", "Saint-Denis", "Réunion"),
    ("FR", "97500", "Saint-Pierre", "Saint-Pierre-et-Miquelon"),
    ("FR", "97600", "Mamoudzou", "Mayotte"),
    ("FI", "22100", "Mariehamn", "Åland"),
    ("DE", "27498", "Helgoland", "Heligoland"),
    ("DE", "78266", "Büsingen am Hochrhein", "Büsingen am Hochrhein"),
    ("IT", "23030", "Livigno", "Livigno"),
    ("IT", "22061", "Campione d'Italia", "Campione d'Italia"),
    ("GR", "63086", "Karyes", "Mount Athos"),
]


@pytest.mark.parametrize(
    ("country", "postcode", "city", "name"), OUTSIDE, ids=[o[3] for o in OUTSIDE]
)
def test_outside_the_vat_area(country, postcode, city, name):
    raw = order([book(f"{country}:0")], country, zipcode=postcode, city=city)
    booking = map_raw(raw)
    assert rows_of(booking) == [("8020", GOODS_OUT, "25.00")]
    assert booking.notes == (
        f"Territory: postcode {postcode} ({country}) is {name}, outside the EU VAT area: "
        "booked as a sale outside the EU.",
    )


@pytest.mark.parametrize(
    ("country", "postcode", "city"),
    [
        ("ES", "28001", "Madrid"),
        ("FR", "75001", "Paris"),
        ("FI", "00100", "Helsinki"),
        ("DE", "27472", "Cuxhaven"),
        ("IT", "23030", "Valdisotto"),  # Livigno's postcode, another village
        ("GR", "10431", "Athina"),
    ],
)
def test_the_mainland_is_inside(country, postcode, city):
    raw = order([book(f"{country}:0")], country, zipcode=postcode, city=city)
    with pytest.raises(MappingError, match=f"to a consumer in {country} was charged no VAT"):
        map_raw(raw)


def test_monaco_is_french_vat_territory():
    raw = order([book("FR:20", "30.00")], "MC", zipcode="98000", city="Monaco")
    booking = map_raw(raw, oss="oss")
    assert rows_of(booking) == [("8020", "AFST_VERK", "25.00"), ("1642", "GEEN", "5.00")]
    assert booking.oss_vat == {"FR": 5}
    assert booking.notes == (
        "Territory: Monaco (MC), part of the VAT territory of FR: booked as FR.",
    )
    company = order([book()], "MC", reverse=True, vat_id="FR12345678901")
    assert rows_of(map_raw(company)) == [("8020", GOODS_EU, "25.00")]


NORTHERN_IRELAND = "postcode BT1 1AA (GB) is Northern Ireland, inside the EU VAT area for goods"


def test_northern_ireland_goods_are_eu_goods_its_services_are_not():
    lines = [book("GB:0"), course("GB:0")]
    company = order(lines, "GB", zipcode="BT1 1AA", reverse=True, vat_id="XI123456789")
    booking = map_raw(company)
    assert rows_of(booking) == [("8020", GOODS_EU, "25.00"), ("8010", "GEEN", "100.00")]
    assert booking.notes == (
        f"Territory: {NORTHERN_IRELAND} only (XI): its goods are booked as EU sales.",
        f"Territory: {NORTHERN_IRELAND} only (XI): its services are booked as sales outside "
        "the EU.",
    )
    # Its goods are an intra-EU supply: the ICP return needs the buyer's VAT id on the relation,
    # although its services (the view of the order as a whole) are outside the EU.
    assert booking.vat_id == "XI123456789"
    assert booking.relation.type == "B"
    services_only = order([course("GB:0")], "GB", zipcode="BT1 1AA", vat_id="XI123456789")
    assert map_raw(services_only).vat_id is None
    # The rest of the United Kingdom is outside the VAT area for goods too.
    london = order(lines, "GB", zipcode="SW1A 1AA", reverse=True, vat_id="GB123456789")
    booking = map_raw(london)
    assert rows_of(booking) == [("8020", GOODS_OUT, "25.00"), ("8010", "GEEN", "100.00")]
    assert not booking.notes
    assert booking.vat_id is None


def test_northern_ireland_consumer_goods_with_dutch_vat():
    raw = order([book("NL:9", "27.25")], "GB", zipcode="BT7 1NN")
    assert rows_of(map_raw(raw)) == [("8020", "LAAG_VERK_9", "27.25")]
    with pytest.raises(MappingError, match="OSS return under XI"):
        map_raw(order([book("GB:20", "30.00")], "GB", zipcode="BT7 1NN"), oss="oss")


@pytest.mark.parametrize(
    ("country", "postcode", "city", "goods", "inside"),
    [
        ("DE", "D-78266", None, True, None),
        ("FI", "AX-22100", None, True, None),
        ("FI", "fi 22 100", None, True, None),
        ("ES", "E-35001", None, True, None),
        ("IT", "23030", "LIVIGNO (SO)", True, None),
        ("IT", "23030", None, True, None),  # no city: the postcode decides
        ("GB", "bt1 1aa", None, True, "XI"),
        ("GB", "BT1 1AA", None, False, None),
        ("NL", "1012 AB", None, True, "NL"),
        ("DE", None, None, True, "DE"),
        ("CH", "8001", None, True, None),
    ],
)
def test_place_of_reads_postcodes_as_people_write_them(country, postcode, city, goods, inside):
    assert place_of(country, postcode, city, goods).vat_country == inside


def test_every_territory_has_a_test():
    tested = {name for *_, name in OUTSIDE} | {"Monaco", "Northern Ireland"}
    assert {rule.name for rule in TERRITORIES} == tested
    assert all(rule.country in EU_COUNTRIES | {"MC", "GB"} for rule in TERRITORIES)
