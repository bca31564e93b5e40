"""The OSS return of a quarter, from the books: per country and rate, the base and the VAT.

The OSS return asks, per quarter, per EU country and per rate, the taxable amount and the VAT.
e-Boekhouden has one VAT code for every OSS sale (``AFST_VERK``), so this report reads back the
marks pp2eb writes on the quarter's sales bookings (type 2): a row whose description ends with
``DE 19% (OSS)`` belongs to that country and rate (``pp2eb.mapping.rows``); on the country's OSS
ledger it is VAT, on any other ledger it is base. A row without the mark (a booking made before
pp2eb wrote it, or by hand) is placed by the booking's OSS ledger and, when that booking has one
rate only, by that rate; otherwise its rate shows as "?". Credit invoices are negative bookings,
so they are subtracted by themselves.

Plug&Pay's side is the quarter's live final invoices, split per country and rate the way pp2eb
books them (``vat.treatments``, with ``oss_from``), and compared per line and per order, like
the monthly reconciliation (``pp2eb.reports.reconcile``). No Flask here.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from pp2eb.apis.eboekhouden import EBoekhoudenClient
from pp2eb.apis.plugandpay import PlugAndPayClient
from pp2eb.mapping.booking import ReferenceData
from pp2eb.mapping.credits import vat_date
from pp2eb.mapping.mapper import invoice_number
from pp2eb.mapping.order import Order
from pp2eb.mapping.problems import MappingError
from pp2eb.mapping.reference import read_reference
from pp2eb.mapping.settings import Settings
from pp2eb.mapping.totals import rate_totals
from pp2eb.mapping.vat import EU_CONSUMER, buyer, oss_applies, treatments
from pp2eb.mapping.vatcodes import DISTANCE_SALES
from pp2eb.reports.reconcile import (
    DIFFERENT,
    EXTRA,
    MISSING,
    OrderDifference,
    ledger_ids,
    period_mutations,
    period_orders,
)

ZERO = Decimal("0.00")
UNKNOWN = "?"  # a rate (or country) the report cannot tell
_MARK = re.compile(r"(?:^| )([A-Z]{2}) (\d{1,2}(?:\.\d{1,4})?)% \(OSS\)$")
_QUARTER = re.compile(r"(\d{4})-Q([1-4])")

Key = tuple[str, str]  # (country, rate): ("DE", "19")


@dataclass(frozen=True)
class Line:
    """One line of the return: a country and rate, its base and VAT on both sides."""

    country: str
    rate: str
    plugandpay_base: Decimal
    eboekhouden_base: Decimal
    plugandpay_vat: Decimal
    eboekhouden_vat: Decimal

    @property
    def base_difference(self) -> Decimal:
        """e-Boekhouden minus Plug&Pay."""
        return self.eboekhouden_base - self.plugandpay_base

    @property
    def vat_difference(self) -> Decimal:
        """e-Boekhouden minus Plug&Pay."""
        return self.eboekhouden_vat - self.plugandpay_vat


@dataclass(frozen=True)
class OssReturn:
    """The quarter's OSS figures; ``lines`` are what goes on the return (e-Boekhouden's)."""

    quarter: date
    lines: list[Line]
    orders: list[OrderDifference]
    order_count: int
    mutation_count: int
    unplaced: list[int] = field(default_factory=list)  # bookings with rows of unknown rate

    @property
    def in_balance(self) -> bool:
        """True when no order and no line differs and every row could be placed."""
        lines_agree = all(not (x.base_difference or x.vat_difference) for x in self.lines)
        return lines_agree and not self.orders and not self.unplaced

    def total(self, side: str, what: str) -> Decimal:
        """The sum of one column: ``side`` plugandpay/eboekhouden, ``what`` base/vat."""
        return sum((getattr(x, f"{side}_{what}") for x in self.lines), ZERO)


def quarter_bounds(day: date) -> tuple[date, date]:
    """The first and the last day of the quarter ``day`` lies in."""
    first_month = (day.month - 1) // 3 * 3 + 1
    first = date(day.year, first_month, 1)
    last = date(day.year + 1, 1, 1) if first_month == 10 else date(day.year, first_month + 3, 1)
    return first, date.fromordinal(last.toordinal() - 1)


def parse_quarter(text: str | None, today: date) -> date:
    """The first day of ``YYYY-Qn``; this quarter when absent or not a quarter."""
    match = _QUARTER.fullmatch((text or "").strip())
    if match and 2000 <= int(match.group(1)) <= 2999:
        return date(int(match.group(1)), int(match.group(2)) * 3 - 2, 1)
    return quarter_bounds(today)[0]


def quarter_name(first: date) -> str:
    """``2026-Q3`` for a quarter's first day."""
    return f"{first.year}-Q{(first.month - 1) // 3 + 1}"


def _rate(percentage: Decimal) -> str:
    return format(percentage.normalize(), "f")


def split_oss(
    order: Order, settings: Settings, day: date | None, reference: ReferenceData | None = None
) -> dict[Key, tuple]:
    """The order's OSS base and VAT per (country, rate), as pp2eb books it; empty when none.

    An order pp2eb cannot book as it is, to a consumer elsewhere in the EU while OSS applies,
    goes whole under (country, "?"): it belongs on the return but pp2eb cannot say at what rate.
    ``reference`` (``read_reference``, as a run reads it) says which products are goods, as for
    a booking.
    """
    try:
        rates = rate_totals(order)
        rates_used = (t.rate for t in rates.values())
        how = treatments(order, settings, rates_used, reference or read_reference(), day)
    except MappingError:
        try:
            country, kind = buyer(order)
        except MappingError:
            return {}
        if kind != EU_CONSUMER or not oss_applies(settings, day or order.invoice_date):
            return {}
        return {(country, UNKNOWN): (order.amount, order.amount_with_tax - order.amount)}
    split: dict[Key, tuple[Decimal, Decimal]] = {}
    for key, totals in rates.items():
        country = how[key].oss_country
        if not country:
            continue
        shipping = order.shipping
        shipping_net = shipping.amount if shipping and shipping.rate.key == key else ZERO
        base = totals.lines_net + shipping_net - totals.discount_net
        split[(country, _rate(totals.rate.percentage))] = (base, totals.vat)
    return split


class _Booked:
    """The OSS rows of the quarter's bookings, placed per (country, rate)."""

    def __init__(self, oss_ledger_ids: Mapping[int, str]) -> None:
        self.ledgers = oss_ledger_ids
        self.base: dict[Key, Decimal] = defaultdict(lambda: ZERO)
        self.vat: dict[Key, Decimal] = defaultdict(lambda: ZERO)
        self.per_number: dict[str, Decimal] = defaultdict(lambda: ZERO)
        self.unplaced: list[int] = []

    def add(self, mutation: dict) -> None:
        rows = mutation.get("rows") or []
        marks = [_MARK.search(str(row.get("description") or "")) for row in rows]
        countries = {self.ledgers[_ledger(r)] for r in rows if _ledger(r) in self.ledgers}
        countries |= {m.group(1) for m in marks if m}
        rates = {m.group(2) for m in marks if m}
        number = str(mutation.get("invoiceNumber") or "")
        placed_all = True
        for row, mark in zip(rows, marks, strict=True):
            on_oss_ledger = _ledger(row) in self.ledgers
            if not (mark or on_oss_ledger or row.get("vatCode") == DISTANCE_SALES):
                continue  # not an OSS row
            amount = Decimal(str(row.get("amount") or 0))
            if mark:
                key = (mark.group(1), mark.group(2))
            else:
                # inferred: an unmarked OSS row has the booking's one country and one rate.
                country = self.ledgers.get(_ledger(row)) or _only(countries)
                key = (country, _only(rates))
                placed_all = placed_all and UNKNOWN not in key
            (self.vat if on_oss_ledger else self.base)[key] += amount
            self.per_number[number] += amount
        if not placed_all:
            self.unplaced.append(int(mutation.get("id") or 0))


def _ledger(row: dict) -> int:
    return int(row.get("ledgerId") or 0)


def _only(values: set[str]) -> str:
    return next(iter(values)) if len(values) == 1 else UNKNOWN


def oss_return(
    orders: Iterable[Order],
    mutations: Iterable[dict],
    settings: Settings,
    *,
    quarter: date,
    oss_ledger_ids: Mapping[int, str],
    known_numbers: Mapping[str, int],
    original_dates: Mapping[int, date] | None = None,
    reference: ReferenceData | None = None,
) -> OssReturn:
    """Compare the quarter's orders with its bookings, per country and rate and per order.

    ``oss_ledger_ids`` maps each OSS ledger's id to its country; ``known_numbers`` every invoice
    number pp2eb booked to its order id; ``original_dates`` (order id → invoice date) lets a
    credit invoice follow its original's VAT rules; ``reference`` says which products are goods.
    """
    plugandpay_base: dict[Key, Decimal] = defaultdict(lambda: ZERO)
    plugandpay_vat: dict[Key, Decimal] = defaultdict(lambda: ZERO)
    expected: dict[str, tuple[int, Decimal]] = {}
    orders = list(orders)
    for order in orders:
        split = split_oss(order, settings, vat_date(order, original_dates or {}), reference)
        if not split:
            continue
        for key, (base, vat) in split.items():
            plugandpay_base[key] += base
            plugandpay_vat[key] += vat
        try:
            number = invoice_number(order, settings)
        except MappingError:
            number = order.invoice_number or str(order.id)
        previous = expected.get(number, (order.id, ZERO))[1]
        total = sum((base + vat for base, vat in split.values()), ZERO)
        expected[number] = (order.id, previous + total)
    booked = _Booked(oss_ledger_ids)
    mutations = list(mutations)
    numbers = set()
    for mutation in mutations:
        numbers.add(str(mutation.get("invoiceNumber") or ""))
        booked.add(mutation)
    differences = []
    for number, (order_id, amount) in expected.items():
        if number not in numbers:
            differences.append(OrderDifference(MISSING, number, order_id, amount, None))
        elif booked.per_number.get(number, ZERO) != amount:
            got = booked.per_number.get(number, ZERO)
            differences.append(OrderDifference(DIFFERENT, number, order_id, amount, got))
    for number, amount in booked.per_number.items():
        if number not in expected and amount:
            order_id = known_numbers.get(number)
            differences.append(OrderDifference(EXTRA, number, order_id, None, amount))
    differences.sort(key=lambda d: (d.kind, d.invoice_number))
    keys = set(plugandpay_base) | set(plugandpay_vat) | set(booked.base) | set(booked.vat)
    lines = [
        Line(
            country,
            rate,
            plugandpay_base[(country, rate)],
            booked.base[(country, rate)],
            plugandpay_vat[(country, rate)],
            booked.vat[(country, rate)],
        )
        for country, rate in sorted(keys, key=_order_of_lines)
    ]
    return OssReturn(
        quarter=quarter_bounds(quarter)[0],
        lines=lines,
        orders=differences,
        order_count=len(orders),
        mutation_count=len(mutations),
        unplaced=booked.unplaced,
    )


def _order_of_lines(key: Key) -> tuple:
    """By country, then from the highest rate down; unknowns last."""
    country, rate = key
    return (country == UNKNOWN, country, rate == UNKNOWN, -Decimal(rate if rate != UNKNOWN else 0))


def run(
    pp: PlugAndPayClient,
    eb: EBoekhoudenClient,
    settings: Settings,
    quarter: date,
    known_numbers: Mapping[str, int],
    original_dates: Mapping[int, date] | None = None,
) -> OssReturn:
    """Read both sides of the quarter live and compare them."""
    first, last = quarter_bounds(quarter)
    ids = ledger_ids(eb, settings.oss_ledgers.values())
    return oss_return(
        period_orders(pp, first, last),
        period_mutations(eb, first, last),
        settings,
        quarter=first,
        oss_ledger_ids={
            ids[code]: country for country, code in settings.oss_ledgers.items() if code in ids
        },
        known_numbers=known_numbers,
        original_dates=original_dates,
        reference=read_reference(products=pp.iter_products()),
    )
