"""A month's reconciliation: Plug&Pay's live final invoices against e-Boekhouden's bookings.

The Plug&Pay side is read live and split per e-Boekhouden VAT code the way pp2eb books it
(``vat.treatments``); the e-Boekhouden side is the month's type-2 mutations as e-Boekhouden holds
them, with the VAT it computed. Orders are matched on the invoice number pp2eb books them with.
No Flask here: the caller passes clients, settings and the invoice numbers pp2eb knows.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from pp2eb.apis.eboekhouden import MAX_PAGE_SIZE, EBoekhoudenClient
from pp2eb.apis.plugandpay import PlugAndPayClient
from pp2eb.mapping.booking import ReferenceData
from pp2eb.mapping.credits import vat_date
from pp2eb.mapping.mapper import invoice_number
from pp2eb.mapping.order import Order
from pp2eb.mapping.payloads import SALES_INVOICE_SENT
from pp2eb.mapping.problems import MappingError
from pp2eb.mapping.readings import parse_order
from pp2eb.mapping.reference import read_reference
from pp2eb.mapping.settings import Settings
from pp2eb.mapping.totals import rate_totals
from pp2eb.mapping.vat import treatments
from pp2eb.mapping.vatcodes import DISTANCE_SALES

logger = logging.getLogger(__name__)

ZERO = Decimal("0.00")
UNSPLIT = "?"  # the VAT code of an order pp2eb cannot split (it cannot book it either)
MISSING, EXTRA, DIFFERENT = "missing", "extra", "different"


@dataclass(frozen=True)
class Total:
    """One VAT code's (or OSS country's) amount and VAT on both sides."""

    key: str
    plugandpay: Decimal
    eboekhouden: Decimal
    plugandpay_vat: Decimal
    eboekhouden_vat: Decimal
    rounding: Decimal = ZERO

    @property
    def difference(self) -> Decimal:
        """e-Boekhouden without pp2eb's VAT rounding rows, minus Plug&Pay."""
        return self.eboekhouden - self.rounding - self.plugandpay


@dataclass(frozen=True)
class OrderDifference:
    """An order that is missing, extra or booked with another amount."""

    kind: str
    invoice_number: str
    order_id: int | None
    plugandpay: Decimal | None
    eboekhouden: Decimal | None

    @property
    def difference(self) -> Decimal:
        """e-Boekhouden minus Plug&Pay (a missing side counts as zero)."""
        return (self.eboekhouden or ZERO) - (self.plugandpay or ZERO)


@dataclass(frozen=True)
class Report:
    """The month's reconciliation."""

    month: date
    per_code: list[Total]
    per_country: list[Total]
    orders: list[OrderDifference]
    order_count: int
    mutation_count: int
    plugandpay_total: Decimal = ZERO
    eboekhouden_total: Decimal = ZERO
    excl_vat_mutations: list[int] = field(default_factory=list)

    @property
    def in_balance(self) -> bool:
        """True when no order and no total differs."""
        return not self.orders and all(
            t.difference == 0 and t.plugandpay_vat == t.eboekhouden_vat
            for t in self.per_code + self.per_country
        )


def month_bounds(month: date) -> tuple[date, date]:
    """The first and last day of ``month``'s month."""
    first = month.replace(day=1)
    last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    return first, last


def _money(value: object) -> Decimal:
    return Decimal(str(value if value is not None else 0))


class _Sums:
    def __init__(self) -> None:
        self.amount: dict[str, Decimal] = defaultdict(lambda: ZERO)
        self.vat: dict[str, Decimal] = defaultdict(lambda: ZERO)
        self.rounding: dict[str, Decimal] = defaultdict(lambda: ZERO)

    def add(self, key: str, amount: Decimal, vat: Decimal = ZERO) -> None:
        self.amount[key] += amount
        self.vat[key] += vat


def split_order(
    order: Order,
    settings: Settings,
    reference: ReferenceData | None = None,
    day: date | None = None,
) -> tuple[dict, dict]:
    """The order per VAT code ``{code: (gross, vat)}`` and per OSS country ``{country: vat}``.

    Each line, the shipping and each rate's share of the order discounts go under their own
    code (a book and a course to one company are two codes); ``reference`` (``read_reference``,
    as a run reads it) says which products are goods. An OSS rate is booked as its net on
    ``AFST_VERK`` plus the foreign VAT on the country's ledger, so its VAT counts under the
    country. An order pp2eb cannot split goes whole under "?". ``day`` is the date whose VAT
    rules apply (``vat_date``), the invoice date when not given.
    """
    try:
        rates = rate_totals(order)
        rates_used = (t.rate for t in rates.values())
        how = treatments(order, settings, rates_used, reference or read_reference(), day)
    except MappingError:
        return {UNSPLIT: (order.amount_with_tax, ZERO)}, {}
    codes: dict[str, tuple[Decimal, Decimal]] = {}
    countries: dict[str, Decimal] = {}

    def add(code: str, gross: Decimal, vat: Decimal = ZERO) -> None:
        before = codes.get(code, (ZERO, ZERO))
        codes[code] = (before[0] + gross, before[1] + vat)

    parts = [(t, line.net, line.gross) for line, t in zip(order.lines, how.lines, strict=True)]
    if order.shipping and how.shipping:
        parts.append((how.shipping, order.shipping.amount, order.shipping.amount_with_tax))
    for treatment, net, gross in parts:
        if treatment.oss_country:
            add(DISTANCE_SALES, net)
        else:
            add(treatment.vat_code, gross)
    for key, totals in rates.items():
        treatment = how[key]
        oss = treatment.oss_country
        share = totals.discount_net if oss else totals.discount_gross
        for part, amount in how.split(key, share) if share else ():
            add(DISTANCE_SALES if oss else part.vat_code, -amount)
        if oss:
            countries[oss] = countries.get(oss, ZERO) + totals.vat
        else:
            add(treatment.vat_code, ZERO, totals.vat)
    split = sum((g for g, _ in codes.values()), ZERO) + sum(countries.values(), ZERO)
    if split != order.amount_with_tax:
        # inferred: a split that does not add up to the invoice total is not shown as if it did.
        logger.warning("order %s splits to %s, not %s", order.id, split, order.amount_with_tax)
        return {UNSPLIT: (order.amount_with_tax, ZERO)}, {}
    return codes, countries


def period_orders(pp: PlugAndPayClient, first: date, last: date) -> list[Order]:
    """The live final invoices (credit invoices included) dated ``first`` to ``last``."""
    found = []
    for raw in pp.iter_orders(since_invoice_date=first, until_invoice_date=last):
        try:
            order = parse_order(raw)
        except MappingError as exc:
            logger.warning("reconciliation: unreadable order: %s", exc)
            continue
        # Filtered here as well: the listing's filters are not relied on for the period's edges.
        inside = order.invoice_date is not None and first <= order.invoice_date <= last
        if inside and order.mode == "live" and order.invoice_status == "final":
            found.append(order)
    return found


def period_mutations(eb: EBoekhoudenClient, first: date, last: date) -> list[dict]:
    """The type-2 (invoice sent) mutations dated ``first`` to ``last``, with rows and VAT."""
    items = eb.iter_mutations(
        filters={"date[range]": [first.isoformat(), last.isoformat()]}, type=SALES_INVOICE_SENT
    )
    return [
        eb.get_mutation(int(item["id"]))
        for item in items
        if item.get("type") == SALES_INVOICE_SENT
        and first.isoformat() <= str(item.get("date", ""))[:10] <= last.isoformat()
    ]


def reconcile(
    orders: Iterable[Order],
    mutations: Iterable[dict],
    settings: Settings,
    *,
    month: date,
    known_numbers: Mapping[str, int],
    oss_ledger_ids: Mapping[int, str],
    rounding_ledger_id: int | None = None,
    reference: ReferenceData | None = None,
    original_dates: Mapping[int, date] | None = None,
) -> Report:
    """Compare the month's orders with its mutations.

    ``known_numbers`` maps every invoice number pp2eb booked (any month) to its order id: a
    mutation with such a number but no order of this month is extra. ``oss_ledger_ids`` maps
    each OSS ledger's id to its country. Rows on ``rounding_ledger_id`` are pp2eb's VAT
    rounding pairs (+x at a rate, -x at GEEN, so that e-Boekhouden computes Plug&Pay's VAT):
    they count in e-Boekhouden's amounts, are shown as ``rounding`` and left out of the
    difference. ``reference`` says which Plug&Pay products are goods. ``original_dates`` (order
    id → invoice date) lets a credit invoice follow its original's VAT rules (``oss_from``).
    """
    pp, eb = _Sums(), _Sums()
    pp_countries, eb_countries = _Sums(), _Sums()
    expected: dict[str, tuple[int, Decimal]] = {}
    orders = list(orders)
    for order in orders:
        try:
            number = invoice_number(order, settings)
        except MappingError:
            number = order.invoice_number or str(order.id)
        previous = expected.get(number, (order.id, ZERO))[1]
        expected[number] = (order.id, previous + order.amount_with_tax)
        day = vat_date(order, original_dates or {})
        codes, countries = split_order(order, settings, reference, day)
        for code, (gross, vat) in codes.items():
            pp.add(code, gross, vat)
        for country, vat in countries.items():
            pp_countries.add(country, vat, vat)
    booked: dict[str, Decimal] = defaultdict(lambda: ZERO)
    mutations = list(mutations)
    excl_vat = []
    for mutation in mutations:
        number = str(mutation.get("invoiceNumber") or "")
        if str(mutation.get("inExVat", "IN")).upper() != "IN":
            # inferred: pp2eb books incl. VAT; a mutation entered excl. VAT is added up as sent.
            excl_vat.append(int(mutation.get("id") or 0))
        for row in mutation.get("rows") or []:
            amount = _money(row.get("amount"))
            booked[number] += amount
            ledger_id = int(row.get("ledgerId") or 0)
            code = str(row.get("vatCode") or UNSPLIT)
            if ledger_id in oss_ledger_ids:
                eb_countries.add(oss_ledger_ids[ledger_id], amount, amount)
                continue
            eb.add(code, amount)
            if ledger_id == rounding_ledger_id:
                eb.rounding[code] += amount
        for vat in mutation.get("vat") or []:
            eb.add(str(vat.get("vatCode")), ZERO, _money(vat.get("amount")))
    differences = []
    for number, (order_id, amount) in expected.items():
        if number not in booked:
            differences.append(OrderDifference(MISSING, number, order_id, amount, None))
        elif booked[number] != amount:
            differences.append(OrderDifference(DIFFERENT, number, order_id, amount, booked[number]))
    for number, amount in booked.items():
        if number not in expected and number in known_numbers:
            differences.append(OrderDifference(EXTRA, number, known_numbers[number], None, amount))
    differences.sort(key=lambda d: (d.kind, d.invoice_number))
    return Report(
        month=month_bounds(month)[0],
        per_code=_totals(pp, eb),
        per_country=_totals(pp_countries, eb_countries),
        orders=differences,
        order_count=len(orders),
        mutation_count=len(mutations),
        plugandpay_total=sum((a for _, a in expected.values()), ZERO),
        eboekhouden_total=sum(booked.values(), ZERO),
        excl_vat_mutations=excl_vat,
    )


def _totals(pp: _Sums, eb: _Sums) -> list[Total]:
    keys = sorted(set(pp.amount) | set(eb.amount) | set(eb.rounding))
    return [
        Total(k, pp.amount[k], eb.amount[k], pp.vat[k], eb.vat[k], eb.rounding[k]) for k in keys
    ]


def ledger_ids(eb: EBoekhoudenClient, codes: Iterable[str]) -> dict[str, int]:
    """The ids of the ledgers with ``codes``."""
    wanted = set(codes)
    return {
        str(item["code"]): int(item["id"])
        for item in eb.iter_ledgers(limit=MAX_PAGE_SIZE)
        if str(item.get("code")) in wanted
    }


def run(
    pp: PlugAndPayClient,
    eb: EBoekhoudenClient,
    settings: Settings,
    month: date,
    known_numbers: Mapping[str, int],
    original_dates: Mapping[int, date] | None = None,
) -> Report:
    """Read both sides of ``month`` live and reconcile them."""
    ids = ledger_ids(eb, [*settings.oss_ledgers.values(), settings.rounding_ledger])
    return reconcile(
        period_orders(pp, *month_bounds(month)),
        period_mutations(eb, *month_bounds(month)),
        settings,
        month=month,
        known_numbers=known_numbers,
        oss_ledger_ids={
            ids[code]: country for country, code in settings.oss_ledgers.items() if code in ids
        },
        rounding_ledger_id=ids.get(settings.rounding_ledger),
        reference=read_reference(products=pp.iter_products()),
        original_dates=original_dates,
    )
