"""Which e-Boekhouden VAT code each part of an order is booked with.

Each line is goods (its Plug&Pay product is ``is_physical``) or a service; a line whose product
Plug&Pay does not know follows ``unknown_product_kind``, and shipping goes with the goods of
its order. The buyer of each kind decides next (``pp2eb.mapping.buyer``): an EU business abroad
is reverse charge and anyone outside the EU VAT area is a sale outside the EU, each with the
``vat_map`` code of its kind (``reverse_charge_goods``, ``outside_eu_services``, ...); a
consumer elsewhere in the EU falls under the OSS setting. Only what remains (NL, and EU
consumers charged NL VAT) is looked up as ``COUNTRY:RATE`` in ``vat_map``. A line of a product
in ``dutch_vat_products`` that was charged Dutch VAT keeps its Dutch code wherever the buyer
is: its place of supply is the Netherlands. A rate that does not fit its buyer is an error,
never a guess.

The OSS setting applies from ``oss_from`` (an invoice date; empty: always). An order dated
before it, and a credit invoice of such an order, is booked as it was then: with Dutch VAT, as
under ``oss=home_country``. So switching to OSS in the middle of a year leaves the year's
earlier orders, their backfills and their credit invoices as they were.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from pp2eb.mapping.booking import ReferenceData
from pp2eb.mapping.buyer import DOMESTIC, EU_CONSUMER, EXPORT, REVERSE, Buyer, decide_buyer
from pp2eb.mapping.countries import HOME_COUNTRY
from pp2eb.mapping.order import Line, Order, TaxRate
from pp2eb.mapping.problems import MappingError, shown
from pp2eb.mapping.settings import (
    OUTSIDE_EU_GOODS,
    OUTSIDE_EU_SERVICES,
    REVERSE_CHARGE_GOODS,
    REVERSE_CHARGE_SERVICES,
    Settings,
)
from pp2eb.mapping.totals import round_to_total
from pp2eb.mapping.vatcodes import DISTANCE_SALES, vat_rate

GOODS, SERVICES = "goods", "services"
# The vat_map key of each buyer and kind of supply that is not looked up by its rate.
KIND_KEYS = {
    (REVERSE, GOODS): REVERSE_CHARGE_GOODS,
    (REVERSE, SERVICES): REVERSE_CHARGE_SERVICES,
    (EXPORT, GOODS): OUTSIDE_EU_GOODS,
    (EXPORT, SERVICES): OUTSIDE_EU_SERVICES,
}
_BUYER_WORDS = {REVERSE: "a reverse-charge order", EXPORT: "a sale outside the EU"}


@dataclass(frozen=True)
class Treatment:
    """How one part is booked; with ``oss_country`` the VAT goes on that country's OSS ledger."""

    vat_code: str
    oss_country: str | None = None


class VatPlan(Mapping[str, Treatment]):
    """The treatment of every part of one order.

    As a mapping it gives the treatment of each rate's VAT (by ``COUNTRY:RATE``): a rate with
    VAT has one treatment for all its parts. ``lines`` and ``shipping`` give each part's own:
    a 0% rate can hold goods and services, each with its code. ``notes`` say in words what
    was decided that the order itself does not show. ``reverse_charge`` is True when any part
    is booked as a reverse-charge supply to a business elsewhere in the EU: then the booking
    carries the buyer's VAT id (for Northern Ireland that is the goods only, not its services).
    """

    def __init__(
        self,
        rates: dict[str, Treatment],
        lines: tuple[Treatment, ...],
        shipping: Treatment | None,
        weights: dict[str, dict[Treatment, Decimal]],
        notes: tuple[str, ...],
        reverse_charge: bool = False,
    ):
        self.rates, self.lines, self.shipping, self.notes = rates, lines, shipping, notes
        self.reverse_charge = reverse_charge
        self._weights = weights

    def __getitem__(self, key: str) -> Treatment:
        return self.rates[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.rates)

    def __len__(self) -> int:
        return len(self.rates)

    def split(self, key: str, amount: Decimal) -> list[tuple[Treatment, Decimal]]:
        """An order discount's ``amount`` at rate ``key`` over that rate's treatments, in
        proportion to their lines (one treatment: all of it)."""
        # inferred: an order discount lowers every line alike, so each kind keeps its share.
        weights = self._weights.get(key) or {self.rates[key]: Decimal(1)}
        if len(weights) == 1:
            return [(next(iter(weights)), amount)]
        whole = sum((abs(w) for w in weights.values()), Decimal(0))
        parts = round_to_total([amount * abs(w) / whole for w in weights.values()], amount)
        return list(zip(weights, parts, strict=True))


def buyer(order: Order, goods: bool = False) -> tuple[str, str]:
    """The buyer's VAT country and kind (DOMESTIC, REVERSE, EXPORT or EU_CONSUMER)."""
    found = decide_buyer(order, goods)
    return found.country, found.kind


def cross_border_sale(order: Order) -> tuple[str, Decimal] | None:
    """The country and net amount when ``order`` counts towards the OSS threshold (a live,
    final invoice to a consumer in another EU country: docs/reference/domain-rules.md §3.1),
    else None. A credit invoice carries negated amounts, so it lowers the total by itself."""
    if order.mode != "live" or order.invoice_status != "final" or order.invoice_date is None:
        return None
    try:
        country, kind = buyer(order)
    except MappingError:
        return None
    return (country, order.amount) if kind == EU_CONSUMER else None


def oss_applies(settings: Settings, day: date | None) -> bool:
    """True when the OSS rules apply to an invoice dated ``day``: OSS on, from ``oss_from``."""
    if settings.oss != "oss":
        return False
    # inferred: an order without a date (never a final invoice) follows the setting as it is.
    return settings.oss_from is None or day is None or day >= settings.oss_from


def treatments(
    order: Order,
    settings: Settings,
    rates: Iterable[TaxRate],
    ref: ReferenceData,
    day: date | None = None,
) -> VatPlan:
    """The treatment of every line, the shipping and every rate (``COUNTRY:RATE``) used.

    ``day`` is the date whose rules apply (``oss_from``): the order's invoice date when not
    given; for a credit invoice, its original's.
    """
    decide = _Decider(order, settings, ref, day or order.invoice_date)
    lines = tuple(decide.line(line) for line in order.lines)
    kinds = [decide.kind(line)[0] for line in order.lines]
    # Shipping goes with the goods it ships. inferred: an order without goods that has shipping
    # costs books them with its services (costs that go with a supply follow it).
    default = GOODS if GOODS in kinds else SERVICES
    shipping = None
    if order.shipping:
        shipping = decide.part(default, order.shipping.rate, None, "shipping")
    weights: dict[str, dict[Treatment, Decimal]] = {}
    parts: dict[str, list[Treatment]] = {}
    for line, treatment in zip(order.lines, lines, strict=True):
        at_rate = weights.setdefault(line.rate.key, {})
        at_rate[treatment] = at_rate.get(treatment, Decimal(0)) + line.net
        parts.setdefault(line.rate.key, []).append(treatment)
    if order.shipping and shipping:
        parts.setdefault(order.shipping.rate.key, []).append(shipping)
    by_rate = {}
    for rate in rates:
        found = parts.get(rate.key) or [decide.part(default, rate, None, "order")]
        if rate.percentage and len(set(found)) > 1:
            # Cannot happen by the rules above: a rate with VAT fits its buyer one way only.
            raise MappingError(
                f"Order {order.id} would book the VAT at {rate.key} with more than one code.",
                fix="Report this to pp2eb; the order was not booked.",
            )
        by_rate[rate.key] = found[0]
    notes = tuple(dict.fromkeys(decide.notes))
    # Every part was decided for the buyer of its kind (goods or services), so these are all
    # the buyers the booking has.
    reverse = any(found.kind == REVERSE for found in decide.buyers.values())
    return VatPlan(by_rate, lines, shipping, weights, notes, reverse_charge=reverse)


class _Decider:
    def __init__(self, order: Order, settings: Settings, ref: ReferenceData, day: date | None):
        self.order = order
        self.settings = settings
        self.ref = ref
        self.day = day
        self.oss = oss_applies(settings, day)
        self.notes: list[str] = []
        self.buyers: dict[str, Buyer] = {}

    def buyer(self, kind: str) -> Buyer:
        if kind not in self.buyers:
            self.buyers[kind] = found = decide_buyer(self.order, kind == GOODS)
            self.notes += found.notes
        return self.buyers[kind]

    def kind(self, line: Line) -> tuple[str, bool]:
        """GOODS or SERVICES, and whether that was assumed (the product does not say)."""
        physical = None
        if line.product_id is not None:
            physical = self.ref.product_physical.get(line.product_id)
        if physical is None:
            return self.settings.unknown_product_kind, True
        return (GOODS if physical else SERVICES), False

    def line(self, line: Line) -> Treatment:
        kind, assumed = self.kind(line)
        what = f"line {shown(line.label)}"
        treatment, key = self.decide(kind, line.rate, line.product_id, what)
        if assumed and (key in KIND_KEYS.values() or self.buyer(kind).by_kind):
            if line.product_id is None:
                product = "it has no Plug&Pay product"
            elif line.product_id in self.ref.product_ledgers:
                product = f"Plug&Pay's product {line.product_id} does not say if it is physical"
            else:
                product = f"product {line.product_id} is not in Plug&Pay's product list"
            self.notes.append(
                f"Line {shown(line.label)}: {product}, so it is booked as "
                f"{'goods' if kind == GOODS else 'a service'} (setting unknown_product_kind)."
            )
        return treatment

    def part(self, kind: str, rate: TaxRate, product: int | None, what: str) -> Treatment:
        return self.decide(kind, rate, product, what)[0]

    def decide(
        self, kind: str, rate: TaxRate, product: int | None, what: str
    ) -> tuple[Treatment, str | None]:
        """The treatment of one part of ``kind`` at ``rate``, and the vat_map key it used."""
        buyer = self.buyer(kind)
        if buyer.kind == DOMESTIC:
            return Treatment(self.mapped(rate.key, rate)), rate.key
        dutch = product is not None and str(product) in self.settings.dutch_vat_products
        if dutch and rate.country == HOME_COUNTRY:
            code = self.mapped(rate.key, rate)
            if buyer.kind != EU_CONSUMER or self.oss:
                self.notes.append(
                    f"The {what} (product {product}) is taxed in the Netherlands wherever the "
                    f"customer is (setting dutch_vat_products): booked with {code} although "
                    f"the buyer is in {buyer.country}."
                )
            return Treatment(code), rate.key
        # inferred: such a product at 0% to a business abroad is reverse charge, not refused:
        # coaching for a business is taxed where the business is (VAT Directive art. 44); only
        # admission to an event (art. 53) is not, and that one is charged Dutch VAT.
        if buyer.kind in (REVERSE, EXPORT):
            if rate.percentage:
                raise self.charged(buyer, rate, product, what)
            key = KIND_KEYS[(buyer.kind, kind)]
            return Treatment(self.mapped(key, rate)), key
        return self.eu_consumer(buyer, rate, product, what), None

    def eu_consumer(self, buyer: Buyer, rate: TaxRate, product: int | None, what: str) -> Treatment:
        order_id = self.order.id
        if not self.oss:
            if rate.country != HOME_COUNTRY:
                raise self.foreign_before_oss(buyer, rate)
            return Treatment(self.mapped(rate.key, rate))
        if buyer.country == "XI":
            # inferred: OSS declares Northern Ireland's goods under XI, which has no OSS ledger
            # here (oss_ledgers takes EU countries).
            raise MappingError(
                f"Order {order_id} sells goods to a consumer in Northern Ireland under OSS; "
                "those go on the OSS return under XI, for which pp2eb has no OSS ledger.",
                fix="Book this order by hand in e-Boekhouden and skip it here.",
            )
        if rate.country != buyer.country:
            raise self.charged(buyer, rate, product, what)
        if rate.country not in self.settings.oss_ledgers:
            raise MappingError(
                f"No OSS ledger is linked for {rate.country}, so the {rate.key} VAT of order "
                f"{order_id} has nowhere to go.",
                fix=f"Link a VAT ledger (category BAL) for {rate.country} on the OSS page.",
                setting="oss_ledgers",
            )
        self.known(DISTANCE_SALES, "OSS revenue")
        return Treatment(DISTANCE_SALES, oss_country=rate.country)

    def foreign_before_oss(self, buyer: Buyer, rate: TaxRate) -> MappingError:
        """A foreign rate where Dutch VAT is booked: OSS off, or the order before ``oss_from``."""
        charged = f"Order {self.order.id} to a consumer in {buyer.country} was charged {rate.key}"
        if self.settings.oss == "oss":
            return MappingError(
                f"{charged}, not an NL rate, but it is dated {self.day}, before OSS applies "
                f"(from {self.settings.oss_from}): orders before then are booked with Dutch VAT.",
                fix=f"If OSS applied to this order, set 'OSS from' to {self.day} or earlier on "
                "the OSS page; otherwise correct the rate in Plug&Pay.",
                setting="oss_from",
            )
        return MappingError(
            f"{charged}, not an NL rate, but the OSS setting books home-country VAT.",
            fix=f"Switch the OSS setting to 'oss' and link an OSS ledger for {rate.country}, "
            "or charge NL VAT in Plug&Pay.",
            setting="oss",
        )

    def charged(self, buyer: Buyer, rate: TaxRate, product: int | None, what: str) -> MappingError:
        """The refusal of a rate that does not fit its buyer, with every way out."""
        order_id = self.order.id
        if buyer.kind == EU_CONSUMER:
            reason = (
                f"Order {order_id} to a consumer in {buyer.country} was charged {rate.key} on "
                f"the {what}, but the OSS setting books the VAT of the destination "
                f"({buyer.country})."
            )
            fix = (
                "Switch the OSS setting to home-country VAT, set 'OSS from' to a date after "
                "this order's if it was made before the switch, or correct the rate in Plug&Pay."
            )
            setting = "oss"
        else:
            reason = (
                f"Order {order_id} to {buyer.country} is {_BUYER_WORDS[buyer.kind]} but was "
                f"charged VAT at {rate.key} on the {what}."
            )
            fix = "Correct the order's VAT in Plug&Pay (or the customer's VAT status)."
            setting = None
        if rate.country == HOME_COUNTRY and product is not None:
            fix = (
                f"If product {product} is taxed in the Netherlands wherever the customer is "
                "(admission to an event held in the Netherlands, coaching on location), add it "
                "to the products taxed in the Netherlands on the VAT mapping page (setting "
                "dutch_vat_products). Otherwise: " + fix
            )
            setting = "dutch_vat_products"
        return MappingError(reason, fix=fix, setting=setting)

    def mapped(self, key: str, rate: TaxRate) -> str:
        """The vat_map code for ``key``, which must be a known code at the rate charged."""
        code = self.settings.vat_map.get(key)
        label = "rate " + rate.key if key == rate.key else f"{key} ({rate.key})"
        if code is None:
            raise MappingError(
                f"Unknown VAT {label} on order {self.order.id}: the VAT mapping has no code "
                "for it.",
                fix=f"Map {key} to an e-Boekhouden VAT code on the VAT mapping page.",
                setting="vat_map",
            )
        self.known(code, key)
        if vat_rate(code) != rate.percentage:
            raise MappingError(
                f"The VAT mapping books {key} with {code}, which e-Boekhouden computes at "
                f"{vat_rate(code)}%, but order {self.order.id} was charged {rate.percentage}%.",
                fix=f"Map {key} to a VAT code of {rate.percentage}% on the VAT mapping page.",
                setting="vat_map",
            )
        return code

    def known(self, code: str, what: str) -> None:
        if code not in self.ref.vat_codes:
            raise MappingError(
                f"VAT code {code} (for {what}) is not an e-Boekhouden sales VAT code.",
                fix="Choose an existing sales VAT code on the VAT mapping page.",
                setting="vat_map",
            )
