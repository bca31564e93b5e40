"""Where the EU VAT area ends, decided from the billing country and postcode.

The VAT area is not the EU's country list. Some places with an EU country code are outside it
(the Canary Islands, the French overseas departments, Åland, ...), Monaco is inside it as
French VAT territory, and Northern Ireland is inside it for goods although its country is GB.
``TERRITORIES`` is the table; ``place_of`` applies it. Territories with an ISO code of their own
(AX, RE, GP, ...) need no row: their code is not in ``EU_COUNTRIES``, so they are outside.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pp2eb.mapping.countries import EU_COUNTRIES


@dataclass(frozen=True)
class Territory:
    """A place whose VAT status its country code does not tell.

    ``postcodes`` are prefixes of the postcode (none: the whole country); ``vat_country`` is
    the VAT area's country it belongs to, or None when it is outside the VAT area. With
    ``goods_only`` it is inside for goods only (its services are outside). With ``city`` the
    postcode is shared with places inside the VAT area, and the rule holds only where the
    address names that city (or no city at all).
    """

    name: str
    country: str
    postcodes: tuple[str, ...]
    vat_country: str | None
    goods_only: bool = False
    city: str | None = None

    def matches(self, country: str, postcode: str, city: str) -> bool:
        """True when an address in ``country`` with this (normalised) postcode lies here."""
        if country != self.country:
            return False
        if self.postcodes and not postcode.startswith(self.postcodes):
            return False
        return not (self.city and city and self.city.casefold() not in city.casefold())


TERRITORIES: tuple[Territory, ...] = (
    Territory("Monaco", "MC", (), "FR"),
    Territory("the Canary Islands", "ES", ("35", "38"), None),
    Territory("Ceuta", "ES", ("51",), None),
    Territory("Melilla", "ES", ("52",), None),
    Territory("Guadeloupe", "FR", ("971",), None),
    Territory("Martinique", "FR", ("972",), None),
    Territory("French Guiana", "FR", ("973",), None),
    Territory("Réunion", "FR", ("974",), None),
    Territory("Saint-Pierre-et-Miquelon", "FR", ("975",), None),
    Territory("Mayotte", "FR", ("976",), None),
    Territory("Åland", "FI", ("22",), None),
    Territory("Heligoland", "DE", ("27498",), None),
    Territory("Büsingen am Hochrhein", "DE", ("78266",), None),
    # inferred: 23030 is also the postcode of villages near Livigno that are inside the VAT
    # area, so the city decides where the address gives one.
    Territory("Livigno", "IT", ("23030",), None, city="Livigno"),
    Territory("Campione d'Italia", "IT", ("22061",), None),
    Territory("Mount Athos", "GR", ("63086",), None),
    # Windsor Framework: goods to Northern Ireland are EU goods (VAT ids and OSS use XI).
    Territory("Northern Ireland", "GB", ("BT",), "XI", goods_only=True),
)


@dataclass(frozen=True)
class Place:
    """Where a buyer is for VAT: ``vat_country`` inside the VAT area, None outside it.

    ``territory`` is the table's row that decided, or None when the country code alone did.
    """

    country: str
    vat_country: str | None
    territory: Territory | None = None

    def describe(self, postcode: str | None, goods: bool) -> str:
        """The rule that applied, in words for the order page (only with a ``territory``)."""
        rule = self.territory
        if rule is None:
            return ""
        where = f"{rule.name} ({self.country})"
        if rule.postcodes:
            where = f"postcode {(postcode or '').strip()} ({self.country}) is {rule.name}"
        if rule.goods_only:
            booked = "EU sales" if self.vat_country else "sales outside the EU"
            return (
                f"Territory: {where}, inside the EU VAT area for goods only ({rule.vat_country}): "
                f"its {'goods' if goods else 'services'} are booked as {booked}."
            )
        if self.vat_country:
            inside = self.vat_country
            return f"Territory: {where}, part of the VAT territory of {inside}: booked as {inside}."
        return f"Territory: {where}, outside the EU VAT area: booked as a sale outside the EU."


def place_of(country: str, postcode: str | None, city: str | None, goods: bool) -> Place:
    """Where an address in ``country`` is for VAT, for goods or for services."""
    code = _normalised(postcode or "", country)
    for rule in TERRITORIES:
        if rule.matches(country, code, (city or "").strip()):
            inside = rule.vat_country if goods or not rule.goods_only else None
            return Place(country, inside, rule)
    return Place(country, country if country in EU_COUNTRIES else None)


def _normalised(postcode: str, country: str) -> str:
    """``"d-78266"`` → ``78266``, ``"BT1 1AA"`` → ``BT11AA``: no spaces, dashes or country
    letters in front of a numeric postcode (``FI-22100``, ``I-23030``)."""
    text = re.sub(r"[\s.\-]", "", postcode.upper())
    if country != "GB":
        text = re.sub(r"^[A-Z]{1,2}(?=\d)", "", text)
    return text
