"""The demo webshop's catalogue: tax rates, products with prices, and customers."""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pp2eb.sandbox.plugandpay.order_builder import Rate

TAX_RATES: list[dict[str, Any]] = [
    {"id": rate_id, "country": country, "percentage": percentage}
    for rate_id, (country, percentage) in enumerate(
        [
            ("NL", "21.0"),
            ("NL", "9.0"),
            ("NL", "0.0"),
            ("BE", "21.0"),
            ("BE", "6.0"),
            ("BE", "0.0"),
            ("DE", "19.0"),
            ("DE", "7.0"),
            ("DE", "0.0"),
            ("FR", "20.0"),
            ("FR", "5.5"),
            ("FR", "0.0"),
            ("US", "0.0"),
        ],
        start=57,  # the SDK fixture's NL 21% rate has id 57
    )
]
_RATES = {
    (r["country"], Decimal(r["percentage"])): Rate(r["id"], r["country"], Decimal(r["percentage"]))
    for r in TAX_RATES
}
STANDARD_RATE = {"NL": 21, "BE": 21, "DE": 19, "FR": 20, "US": 0}
REDUCED_RATE = {"NL": 9, "BE": 6, "DE": 7, "FR": "5.5", "US": 0}


def rate(country: str, percentage: int | str | Decimal) -> Rate:
    """The tax rate of ``country`` at ``percentage`` (KeyError when the shop has none)."""
    return _RATES[(country, Decimal(percentage))]


def _product(pid: int, title: str, ledger: int | str | None, physical: bool, slug: str) -> dict:
    stamp = "2025-06-02T09:00:00.000000Z"
    return {
        "id": pid,
        "title": title,
        "public_title": title,
        "description": f"<p>{title}</p>",
        "sku": f"PP-{pid:04d}",
        "slug": slug,
        "is_physical": physical,
        "ledger": ledger,
        "stock": {"is_enabled": physical},
        "type": "one_off",
        "created_at": stamp,
        "updated_at": stamp,
        "deleted_at": None,
    }


PRODUCTS: list[dict[str, Any]] = [
    _product(1, "Online cursus Boekhouden voor ondernemers", "8010", False, "cursus-boekhouden"),
    # The SDK types a product's ledger int|string|null (PR #109): this one is a number.
    _product(2, "Masterclass Btw & OSS", 8010, False, "masterclass-btw"),
    _product(3, "Boek: Ondernemen zonder zorgen", "8020", True, "boek-ondernemen"),
    _product(4, "E-book: Slim factureren", "8020", False, "ebook-factureren"),
    # 8030 is a code the e-Boekhouden demo chart of accounts does not have.
    _product(5, "Templatepakket Administratie", "8030", False, "templatepakket"),
    _product(6, "Coachingsgesprek (30 min)", None, False, "coaching"),
]
# Consumer price points incl. Dutch VAT, and whether the reduced rate applies (books).
PRICES: dict[int, tuple[Decimal, bool]] = {
    1: (Decimal("149.00"), False),
    2: (Decimal("49.95"), False),
    3: (Decimal("24.95"), True),
    4: (Decimal("12.50"), True),
    5: (Decimal("37.50"), False),
    6: (Decimal("75.00"), False),
}
STANDARD_PRODUCTS = (1, 2, 5, 6)
REDUCED_PRODUCTS = (3, 4)
TITLES = {p["id"]: p["title"] for p in PRODUCTS}
PHYSICAL = {p["id"] for p in PRODUCTS if p["is_physical"]}
# Shipping price points incl. Dutch VAT per destination.
SHIPPING = {"NL": "4.95", "BE": "6.95", "DE": "7.95", "FR": "7.95", "US": "14.95"}

# How an order to this customer is taxed (see docs/plugandpay-order.md, "Special orders"):
# consumer/business: Dutch VAT; eu: consumer abroad in the EU (OSS or Dutch VAT);
# reverse: EU business with a VAT id; export: outside the EU.
KINDS = ("consumer", "business", "eu", "reverse", "export")


@dataclass(frozen=True)
class Customer:
    """One buyer; ``billing()`` gives the order's ``billing`` include."""

    kind: str
    firstname: str
    lastname: str
    email: str
    country: str
    street: str
    housenumber: str
    zipcode: str
    city: str
    company: str | None = None
    vat_id: str | None = None
    telephone: str | None = None
    website: str | None = None

    def billing(self) -> dict[str, Any]:
        """The ``billing`` include of an order by this customer."""
        return {
            "address": {
                "street": self.street,
                "housenumber": self.housenumber,
                "zipcode": self.zipcode,
                "city": self.city,
                "country": self.country,
            },
            "contact": {
                "company": self.company,
                "email": self.email,
                "invoice_email": None,
                "firstname": self.firstname,
                "lastname": self.lastname,
                "telephone": self.telephone,
                "website": self.website,
                "vat_id_number": self.vat_id,
                "tax_exempt": "reverse" if self.kind == "reverse" else "none",
            },
        }


def email_for(firstname: str, lastname: str, domain: str, number: int | None = None) -> str:
    """An ASCII e-mail address for a name with accents ("Zoë Müller" -> zoe.muller@...)."""
    folded = unicodedata.normalize("NFKD", f"{firstname}.{lastname}")
    local = "".join(c for c in folded.encode("ascii", "ignore").decode().lower() if c not in " '")
    suffix = "" if number is None else str(number)
    return f"{local}{suffix}@{domain}"


# Per country: first names, last names, (street, city, zipcode pattern), e-mail domain. No
# first name of a named demo customer, so a random customer never looks like a repeat of one.
_PEOPLE = {
    "NL": (
        ("Daan", "Femke", "Bram", "Joëlle", "Inge", "Sem", "Maud", "Luuk", "Eline", "Kees"),
        ("de Vries", "Jansen", "Bakker", "Visser", "Smit", "Meijer", "de Boer", "Mulder", "Bos"),
        (("Kerkstraat", "Utrecht", "35##AB"), ("Dorpsweg", "Zwolle", "80##KL")),
        "example.nl",
    ),
    "BE": (
        ("Elise", "Maarten", "Hélène", "Jana", "Arne"),
        ("Peeters", "Janssens", "Maes", "Claes", "Dubois"),
        (("Meir", "Antwerpen", "20##"), ("Rue Haute", "Bruxelles", "10##")),
        "example.be",
    ),
    "DE": (
        ("Lena", "Jonas", "Mia", "Lukas", "Anna"),
        ("Müller", "Schäfer", "Schmidt", "Weiß", "Köhler"),
        (("Hauptstraße", "Köln", "50###"), ("Lindenallee", "Berlin", "10###")),
        "example.de",
    ),
    "FR": (
        ("Chloé", "Léa", "François", "Camille"),
        ("Lefèvre", "Moreau", "Girard", "Dubois"),
        (("Rue de la Paix", "Lyon", "69###"), ("Avenue Foch", "Lille", "59###")),
        "example.fr",
    ),
    "US": (
        ("Jacob", "Olivia", "Noah", "Ava"),
        ("Carter", "Nguyen", "Miller", "Brooks"),
        (("Main Street", "Portland", "97###"), ("Elm Avenue", "Austin", "78###")),
        "example.com",
    ),
}
_COMPANIES = {
    "NL": ("Bakkerij Jansen", "Studio Noord VOF", "Administratiekantoor Smit", "Tuinen & Zo BV"),
    "BE": ("Brouwerij De Kroon BV", "Atelier Maes", "Drukkerij Claes NV"),
}
_COUNTRY_OF_KIND = {"consumer": ("NL",), "business": ("NL",), "eu": ("BE", "DE", "FR")}
_COUNTRY_OF_KIND |= {"reverse": ("BE",), "export": ("US",)}


def random_customer(rng: random.Random, kind: str, number: int) -> Customer:
    """A new customer of ``kind``; ``number`` keeps the e-mail address unique."""
    country = rng.choice(_COUNTRY_OF_KIND[kind])
    firsts, lasts, streets, domain = _PEOPLE[country]
    first, last = rng.choice(firsts), rng.choice(lasts)
    street, city, pattern = rng.choice(streets)
    zipcode = "".join(str(rng.randrange(10)) if c == "#" else c for c in pattern)
    company = vat_id = None
    if kind in ("business", "reverse"):
        company = rng.choice(_COMPANIES[country])
        digits = f"{rng.randrange(10**9):09d}"
        vat_id = f"NL{digits}B01" if country == "NL" else f"BE0{digits}"
    return Customer(
        kind=kind,
        firstname=first,
        lastname=last,
        email=email_for(first, last, domain, number),
        country=country,
        street=street,
        housenumber=str(rng.randint(1, 180)),
        zipcode=zipcode,
        city=city,
        company=company,
        vat_id=vat_id,
        telephone=f"06-{rng.randrange(10**8):08d}"
        if country == "NL" and rng.random() < 0.5
        else None,
    )


def named(kind: str, first: str, last: str, country: str, city: str, **extra: Any) -> Customer:
    """A fixed demo customer (the cases a person recognises in demo mode)."""
    domain = _PEOPLE[country][3]
    fields = {"street": "Stationsplein", "housenumber": "12", "zipcode": "1012AB"} | extra
    return Customer(
        kind=kind,
        firstname=first,
        lastname=last,
        email=fields.pop("email", None) or email_for(first, last, domain),
        country=country,
        city=city,
        **fields,
    )
