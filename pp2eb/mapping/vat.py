"""Which e-Boekhouden VAT code each Plug&Pay rate of an order is booked with.

The buyer decides first, from ``tax_exempt`` and the billing country: an EU business with a VAT
id abroad is reverse charge, anyone outside the EU is an export, a consumer elsewhere in the EU
falls under the OSS setting. Only what remains (NL, and EU consumers charged NL VAT) is looked
up as ``COUNTRY:RATE`` in ``vat_map``. A rate that does not fit its buyer is an error, never a
guess.

The OSS setting applies from ``oss_from`` (an invoice date; empty: always). An order dated
before it, and a credit invoice of such an order, is booked as it was then: with Dutch VAT, as
under ``oss=home_country``. So switching to OSS in the middle of a year leaves the year's
earlier orders, their backfills and their credit invoices as they were.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from pp2eb.mapping.booking import MappingError
from pp2eb.mapping.countries import EU_COUNTRIES, HOME_COUNTRY
from pp2eb.mapping.order import Order, TaxRate
from pp2eb.mapping.vatcodes import DISTANCE_SALES, vat_rate
from pp2eb.settings import OUTSIDE_EU, REVERSE_CHARGE, Settings

# The special vat_map keys double as the buyer kinds they are looked up for.
DOMESTIC, REVERSE, EXPORT, EU_CONSUMER = "domestic", REVERSE_CHARGE, OUTSIDE_EU, "eu_consumer"


@dataclass(frozen=True)
class Treatment:
    """How one rate is booked; with ``oss_country`` the VAT goes on that country's OSS ledger."""

    vat_code: str
    oss_country: str | None = None


def buyer(order: Order) -> tuple[str, str]:
    """The billing country and the kind of buyer (DOMESTIC, REVERSE, EXPORT or EU_CONSUMER)."""
    country = order.address.country
    if country is None:
        rates = {line.rate.country for line in order.lines}
        if order.shipping:
            rates.add(order.shipping.rate.country)
        # inferred: without a billing country, an order charged only NL rates is a domestic sale.
        if rates <= {HOME_COUNTRY}:
            return HOME_COUNTRY, DOMESTIC
        raise MappingError(
            f"Order {order.id} has no billing country, so its VAT treatment cannot be decided.",
            fix="Add the customer's country to the order in Plug&Pay.",
        )
    if country == HOME_COUNTRY:
        return country, DOMESTIC
    if country not in EU_COUNTRIES:
        return country, EXPORT
    if order.contact.tax_exempt == "reverse":
        if not (order.contact.vat_id_number or "").strip():
            raise MappingError(
                f"Order {order.id} to {country} is marked reverse charge but has no VAT id; "
                "pp2eb does not guess whether VAT was due.",
                fix="Add the customer's VAT id in Plug&Pay, or correct the order.",
            )
        return country, REVERSE
    return country, EU_CONSUMER


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
    vat_codes: frozenset[str],
    day: date | None = None,
) -> dict[str, Treatment]:
    """The treatment of every rate (by ``COUNTRY:RATE`` key) used in the order.

    ``day`` is the date whose rules apply (``oss_from``): the order's invoice date when not
    given; for a credit invoice, its original's.
    """
    country, kind = buyer(order)
    decide = _Decider(order, settings, vat_codes, country, day or order.invoice_date)
    return {rate.key: decide(kind, rate) for rate in rates}


class _Decider:
    def __init__(
        self,
        order: Order,
        settings: Settings,
        vat_codes: frozenset[str],
        country: str,
        day: date | None,
    ):
        self.order = order
        self.settings = settings
        self.vat_codes = vat_codes
        self.country = country
        self.day = day
        self.oss = oss_applies(settings, day)

    def __call__(self, kind: str, rate: TaxRate) -> Treatment:
        if kind == DOMESTIC:
            return Treatment(self.mapped(rate.key, rate))
        if kind in (REVERSE, EXPORT):
            if rate.percentage:
                what = "a reverse-charge order" if kind == REVERSE else "an export order"
                raise MappingError(
                    f"Order {self.order.id} to {self.country} is {what} but was charged VAT "
                    f"at {rate.key}.",
                    fix="Correct the order's VAT in Plug&Pay (or the customer's VAT status).",
                )
            return Treatment(self.mapped(kind, rate))
        if not self.oss:
            if rate.country != HOME_COUNTRY:
                raise self.foreign_before_oss(rate)
            return Treatment(self.mapped(rate.key, rate))
        if rate.country != self.country:
            raise MappingError(
                f"Order {self.order.id} to a consumer in {self.country} was charged {rate.key}, "
                f"but the OSS setting books the VAT of the destination ({self.country}).",
                fix="Switch the OSS setting to home-country VAT, set 'OSS from' to a date after "
                "this order's if it was made before the switch, or correct the rate in Plug&Pay.",
                setting="oss",
            )
        if rate.country not in self.settings.oss_ledgers:
            raise MappingError(
                f"No OSS ledger is linked for {rate.country}, so the {rate.key} VAT of order "
                f"{self.order.id} has nowhere to go.",
                fix=f"Link a VAT ledger (category BAL) for {rate.country} on the OSS page.",
                setting="oss_ledgers",
            )
        self.known(DISTANCE_SALES, "OSS revenue")
        return Treatment(DISTANCE_SALES, oss_country=rate.country)

    def foreign_before_oss(self, rate: TaxRate) -> MappingError:
        """A foreign rate where Dutch VAT is booked: OSS off, or the order before ``oss_from``."""
        charged = f"Order {self.order.id} to a consumer in {self.country} was charged {rate.key}"
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
        if code not in self.vat_codes:
            raise MappingError(
                f"VAT code {code} (for {what}) is not an e-Boekhouden sales VAT code.",
                fix="Choose an existing sales VAT code on the VAT mapping page.",
                setting="vat_map",
            )
