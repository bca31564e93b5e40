"""Deterministic demo data of the Plug&Pay sandbox: products, tax rates and orders (no Flask).

Orders are dicts in exactly the shape ``GET /v2/orders/{id}`` returns with every include, and
each obeys the consistency rules of ``docs/plugandpay-order.md``. Each is written in a form the
record leaves open (``variants``): the special cases name theirs, so that the demo holds every
form, the others draw one. The same seed (and ``today``) always gives the same orders, and with
``canonical=True`` the same orders in the canonical form. ``generate_demo_orders`` holds every
case a bookkeeper would want to see once; ``generate_orders`` gives any number of orders of the
same mix for benchmarks.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from pp2eb import dutchtime
from pp2eb.sandbox.plugandpay.demo_catalog import (
    PRODUCTS,
    REDUCED_PRODUCTS,
    STANDARD_PRODUCTS,
    TAX_RATES,
    Customer,
    named,
    random_customer,
)
from pp2eb.sandbox.plugandpay.demo_orders import Draft, Pick, credit, draft, finalize
from pp2eb.sandbox.plugandpay.order_builder import DiscountSpec
from pp2eb.sandbox.plugandpay.variants import CANONICAL, Variant, random_variant

__all__ = ["PRODUCTS", "TAX_RATES", "REPEAT_SHARE", "generate_demo_orders", "generate_orders"]

# Share of orders placed by a customer who ordered before.
REPEAT_SHARE = 0.3
_KINDS = (("consumer", 70), ("business", 10), ("eu", 11), ("reverse", 4), ("export", 5))
_ORDER_DISCOUNTS = (
    DiscountSpec("WELKOM10", percent=Decimal(10)),
    DiscountSpec("NAJAAR5", amount=Decimal("5.00")),
    DiscountSpec("VRIEND15", percent=Decimal(15)),
)


def generate_orders(
    n: int, seed: int, start: date, end: date, first_id: int = 1, *, canonical: bool = False
) -> list[dict[str, Any]]:
    """``n`` orders of the demo mix created in ``[start, end]``, ids ``first_id`` upward."""
    if n < 0 or end < start:
        raise ValueError("need n >= 0 and start <= end")
    rng, forms = random.Random(seed), _forms(seed)
    return finalize(_mix(rng, n, start, end, [], forms), first_id, rng, canonical=canonical)


def generate_demo_orders(
    seed: int = 1,
    today: date | None = None,
    count: int = 60,
    *,
    first_id: int = 1,
    canonical: bool = False,
) -> list[dict[str, Any]]:
    """The demo shop's ``count`` orders over the 90 days before ``today``, every case included.

    The special cases are always there, so a ``count`` below their number gives just them.
    Ids (and so invoice numbers) run from ``first_id``: another shop's numbers start elsewhere.
    """
    today = today or dutchtime.today()
    rng, forms = random.Random(seed), _forms(seed)
    drafts, pool = _special_drafts(rng, today)
    start, end = today - timedelta(days=90), today - timedelta(days=1)
    drafts += _mix(rng, max(0, count - len(drafts)), start, end, pool, forms)
    # Order 1, the one a person (or a test) looks at first, is written the canonical way.
    min(drafts, key=lambda one: one.created).variant = CANONICAL
    return finalize(drafts, first_id, rng, canonical=canonical)


def _forms(seed: int) -> random.Random:
    # The forms have a generator of their own, so that writing an order another way changes
    # no order and no other draw.
    return random.Random(f"pp2eb-forms-{seed}")


def _moment(rng: random.Random, day: date) -> datetime:
    # Shop hours 07:00-22:00, so a payment or a quick credit still falls on the same day.
    return datetime.combine(day, time(7)) + timedelta(seconds=rng.randrange(15 * 3600))


def _special_drafts(rng: random.Random, today: date) -> tuple[list[Draft], list[Customer]]:
    """One draft per case the demo must show; also returns the customers, for repeats.

    Together they are written in every form ``variants.OPTIONS`` has.
    """

    def at(days_ago: int) -> datetime:
        return _moment(rng, today - timedelta(days=days_ago))

    daniel = named("consumer", "Daniël", "Bakker", "NL", "Utrecht")
    anouk = named("consumer", "Anouk", "van den Berg", "NL", "Amsterdam")
    jeroen = named("consumer", "Jeroen", "de Jong", "NL", "Haarlem", telephone="06-12345678")
    fleur = named("consumer", "Fleur", "Visser", "NL", "Leiden")
    sanne = named("consumer", "Sanne", "Smit", "NL", "Delft")
    thijs = named("consumer", "Thijs", "Mulder", "NL", "Groningen")
    noor = named("consumer", "Noor", "Bos", "NL", "Eindhoven")
    ruben = named("consumer", "Ruben", "Vermeulen", "NL", "Tilburg")
    lieke = named("consumer", "Lieke", "Dekker", "NL", "Arnhem")
    tester = named("consumer", "Test", "Klant", "NL", "Utrecht", email="test@example.nl")
    cafe = named(
        "business",
        "Bilal",
        "de Wit",
        "NL",
        "'t Veld",
        company="Café Timmermans & Zn",
        vat_id="NL000099998B57",
        street="Sanderslaan",
        housenumber="42",
        zipcode="1448VB",
        telephone="(044) 4362837",
        website="https://cafe-timmermans.example.nl",
    )
    kroon = named(
        "reverse",
        "Wout",
        "Claes",
        "BE",
        "Antwerpen",
        company="Brouwerij De Kroon BV",
        vat_id="BE0123456749",
        street="Meir",
        zipcode="2000",
    )
    zoe = named("eu", "Zoë", "Müller", "DE", "Berlin", street="Lindenallee", zipcode="10115")
    sebastien = named("eu", "Sébastien", "Lefèvre", "FR", "Lyon", zipcode="69002")
    lotte = named("eu", "Lotte", "Peeters", "BE", "Gent", street="Veldstraat", zipcode="9000")
    jurgen = named("eu", "Jürgen", "Schäfer", "DE", "Köln", street="Hauptstraße", zipcode="50667")
    emily = named("export", "Emily", "Carter", "US", "Portland", zipcode="97205")

    credited = draft(at(30), anouk, [Pick(1), Pick(4)], variant=Variant(ids="text"))
    drafts = [
        draft(at(88), daniel, [Pick(1)]),  # NL 21%, canonical
        draft(at(85), anouk, [Pick(4)], variant=Variant(percentage="short")),  # NL 9%
        # 21% and 9% in one order; tax objects as amounts excl. and incl. VAT.
        draft(at(80), jeroen, [Pick(2), Pick(4)], variant=Variant(tax_meaning="base")),
        # An item discount; the item's amounts after it, its VAT before it.
        draft(
            at(76),
            fleur,
            [Pick(1, discount_percent=Decimal(20))],
            variant=Variant(amounts="net", tax_scope="before"),
        ),
        draft(at(70), sanne, [Pick(2)], discounts=[_ORDER_DISCOUNTS[0]]),  # order discount
        # An order discount spread over 21% and 9%, and a physical book shipped free
        # (shipping 0.00 with no taxes).
        draft(
            at(65),
            thijs,
            [Pick(1), Pick(3)],
            discounts=[_ORDER_DISCOUNTS[1]],
            free_shipping=True,
            variant=Variant(percentage="number", tax_meaning="base"),
        ),
        draft(at(60), noor, [Pick(3, 2)], variant=Variant(amounts="unit")),  # shipping, NL 21%
        draft(at(55), kroon, [Pick(1, 3)], method="banktransfer"),  # reverse charge, BE:0
        draft(at(50), zoe, [Pick(2)], variant=Variant(item_type="null")),  # OSS: DE 19%
        # OSS: FR 20%, paid via Stripe; the empty includes left out of the answer.
        draft(at(47), sebastien, [Pick(1)], provider="stripe", variant=Variant(empty="left_out")),
        draft(at(44), lotte, [Pick(6)]),  # OSS: BE 21%
        draft(at(40), jurgen, [Pick(2)], oss=False),  # EU consumer charged NL 21%
        # Export: US 0%, with shipping at 0% and no taxes entry for it.
        draft(
            at(38),
            emily,
            [Pick(1), Pick(3)],
            provider="stripe",
            variant=Variant(untaxed_shipping="none"),
        ),
        draft(at(35), daniel, [Pick(2)], mode="test"),
        draft(at(20), tester, [Pick(4)], mode="test"),
        credited,
        credit(credited, at(23), Variant(percentage="number")),
        # Net prices 37.50 and 12.50 at 21%: VAT per line 7.88 + 2.63 = 10.51, on the total 10.50.
        draft(
            at(25),
            cafe,
            [Pick(5, unit=Decimal("37.50")), Pick(6, unit=Decimal("12.50"), label="Extra uitleg")],
            source="admin",
            method="banktransfer",
        ),
        draft(at(15), zoe, [Pick(5)]),  # repeat customer
        draft(at(8), cafe, [Pick(2, 2)], method="banktransfer"),  # repeat business customer
        draft(at(12), ruben, [Pick(1)], payment_status="open", method="banktransfer"),
        draft(
            at(5),
            lieke,
            [Pick(6)],
            invoice_status="concept",
            payment_status="open",
            method=None,
            source="admin",
        ),
    ]
    pool = [daniel, anouk, jeroen, fleur, sanne, thijs, noor, ruben, lieke, cafe, kroon]
    return drafts, pool + [zoe, sebastien, lotte, jurgen, emily]


def _mix(
    rng: random.Random,
    n: int,
    start: date,
    end: date,
    pool: list[Customer],
    forms: random.Random,
) -> list[Draft]:
    """Exactly ``n`` drafts of the usual mix, each in a drawn form; new customers go to
    ``pool``."""
    kinds, weights = zip(*_KINDS, strict=True)
    drafts: list[Draft] = []
    days = (end - start).days + 1
    while len(drafts) < n:
        created = _moment(rng, start + timedelta(days=rng.randrange(days)))
        if pool and rng.random() < REPEAT_SHARE:
            customer = rng.choice(pool)
        else:
            customer = random_customer(rng, rng.choices(kinds, weights)[0], len(pool) + 1)
            pool.append(customer)
        for one in _mix_order(rng, created, customer, end, room=n - len(drafts)):
            one.variant = random_variant(forms)
            drafts.append(one)
    return drafts


def _mix_order(
    rng: random.Random, created: datetime, customer: Customer, end: date, room: int
) -> list[Draft]:
    """One random order (two when it gets credited and there is room for its credit)."""
    # Under OSS only digital products (courses) go abroad to consumers.
    shape = "standard"
    if customer.kind != "eu":
        shape = rng.choices(("standard", "reduced", "mixed"), (45, 25, 30))[0]
    picks = _basket(rng, shape)
    if rng.random() < 0.10:
        kind = rng.choice(("sale", "promotion", "tier"))
        picks[0] = replace(
            picks[0],
            discount_percent=Decimal(rng.choice((10, 15, 20, 25))),
            discount_type=kind,
            discount_code="ACTIE" if kind == "promotion" else None,
        )
    discounts = [rng.choice(_ORDER_DISCOUNTS)] if rng.random() < 0.08 else []
    fields: dict[str, Any] = {}
    roll = rng.random()
    if roll < 0.03:
        fields["mode"] = "test"
    elif roll < 0.05:
        fields |= {"invoice_status": "concept", "payment_status": "open", "method": None}
        fields["source"] = "admin"
    elif roll < 0.10:
        fields |= {"payment_status": "open", "method": "banktransfer"}
    elif roll < 0.12:
        fields |= {"payment_status": "processing", "method": "directdebit"}
    elif customer.kind in ("business", "reverse") and roll < 0.6:
        fields["method"] = "banktransfer"
    order = draft(created, customer, picks, oss=rng.random() < 0.75, discounts=discounts, **fields)
    if not (0.12 <= roll < 0.15 and room >= 2):
        return [order]
    latest = datetime.combine(end, time(22))
    when = min(created + timedelta(days=rng.randint(1, 14)), latest)
    return [order, credit(order, max(when, created + timedelta(minutes=30)))]


def _basket(rng: random.Random, shape: str) -> list[Pick]:
    def quantity() -> int:
        return 1 if rng.random() < 0.8 else rng.randint(2, 3)

    if shape == "reduced":
        return [Pick(rng.choice(REDUCED_PRODUCTS), quantity())]
    if shape == "mixed":
        return [
            Pick(rng.choice(STANDARD_PRODUCTS), quantity()),
            Pick(rng.choice(REDUCED_PRODUCTS), quantity(), type="order-bump"),
        ]
    first, second = rng.sample(STANDARD_PRODUCTS, 2)
    picks = [Pick(first, quantity())]
    if rng.random() < 0.25:
        picks.append(Pick(second, type="upsell"))
    return picks
