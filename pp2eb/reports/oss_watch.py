"""The OSS threshold watch: this year's cross-border EU consumer sales against €10,000.

Below the threshold a Dutch shop may charge NL VAT to consumers elsewhere in the EU; above it,
destination VAT is due through the OSS return (docs/reference/domain-rules.md §3.1). The threshold
counts every EU country together, net of VAT, and credit invoices lower it. pp2eb counts the live
final invoices it holds records of, booked or not.

Destination VAT is due from the sale that passes the threshold on (VAT Directive art. 59c), so
the watch also knows that sale's invoice date (``passed_on``): the date to suggest for the
``oss_from`` setting.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import NamedTuple

import sqlalchemy as sa
from flask import current_app

from pp2eb import dutchtime, jsonutil
from pp2eb.extensions import db
from pp2eb.mapping.order import Order
from pp2eb.mapping.problems import MappingError
from pp2eb.mapping.readings import parse_order
from pp2eb.mapping.vat import EU_CONSUMER, buyer
from pp2eb.models import Link, OrderRecord
from pp2eb.setup import shopsettings

logger = logging.getLogger(__name__)

THRESHOLD = Decimal("10000.00")
NEAR = Decimal("0.75")  # warn from 75% of the threshold
OK, APPROACHING, PASSED = "ok", "approaching", "passed"
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class OssWatch:
    """Where the year's cross-border EU consumer sales stand against the threshold."""

    year: int
    total: Decimal
    previous_year_total: Decimal
    per_country: dict[str, Decimal] = field(default_factory=dict)
    home_country_vat: bool = False
    threshold: Decimal = THRESHOLD
    passed_on: date | None = None
    oss_from: date | None = None

    @property
    def level(self) -> str:
        """OK, APPROACHING (from 75%) or PASSED (this year or last)."""
        # inferred: the EU rule (VAT Directive art. 59c) also applies the threshold when it was
        # passed in the previous calendar year; the rules (docs/reference/domain-rules.md §3.1) only
        # speak of "per year".
        if self.total > self.threshold or self.previous_year_total > self.threshold:
            return PASSED
        if self.total >= self.threshold * NEAR:
            return APPROACHING
        return OK

    @property
    def percent(self) -> int:
        """This year's total as a whole percentage of the threshold (at least 0)."""
        return max(0, int(self.total * 100 / self.threshold))

    @property
    def needs_oss(self) -> bool:
        """True when the threshold is passed while the settings still charge NL VAT."""
        return self.level == PASSED and self.home_country_vat

    @property
    def suggested_oss_from(self) -> date | None:
        """``passed_on``, when the settings do not already apply OSS from that day or earlier."""
        if self.passed_on is None or self.level != PASSED:
            return None
        if self.home_country_vat or self.oss_from is None or self.oss_from > self.passed_on:
            return self.passed_on
        return None


def cross_border_net(order: Order) -> tuple[str, Decimal] | None:
    """The country and net amount when ``order`` counts towards the threshold, else None."""
    if order.mode != "live" or order.invoice_status != "final":
        return None
    try:
        country, kind = buyer(order)
    except MappingError:
        return None
    if kind != EU_CONSUMER:
        return None
    # A credit invoice carries negated amounts, so it lowers the total by itself.
    return country, order.amount


def watch(
    orders: Iterable[Order], year: int, oss_setting: str, oss_from: date | None = None
) -> OssWatch:
    """Add up the orders invoiced in ``year`` (and the year before) that count."""
    return _sum(_counted(orders), year, oss_setting, oss_from)


class Sale(NamedTuple):
    """An order that counts towards the threshold: when, which, where to, and its net amount."""

    invoice_date: date
    order_id: int
    country: str
    net: Decimal


def _counted(orders: Iterable[Order]) -> list[Sale]:
    """The orders that count (``cross_border_net``), as sales."""
    sales = []
    for order in orders:
        counted = cross_border_net(order) if order.invoice_date is not None else None
        if counted is not None:
            sales.append(Sale(order.invoice_date, order.id, *counted))
    return sales


def _sum(
    sales: Iterable[Sale], year: int, oss_setting: str, oss_from: date | None = None
) -> OssWatch:
    total = previous = ZERO
    per_country: dict[str, Decimal] = {}
    passed_on = None
    for sale in sorted(sales):
        country, net = sale.country, sale.net
        if sale.invoice_date.year == year:
            total += net
            per_country[country] = per_country.get(country, ZERO) + net
            if passed_on is None and total > THRESHOLD:
                # inferred: the whole day of that sale, since pp2eb books by invoice date.
                passed_on = sale.invoice_date
        elif sale.invoice_date.year == year - 1:
            previous += net
    if previous > THRESHOLD:
        passed_on = date(year, 1, 1)  # passed last year: destination VAT all this year
    return OssWatch(
        year=year,
        total=total,
        previous_year_total=previous,
        per_country=dict(sorted(per_country.items(), key=lambda item: -item[1])),
        home_country_vat=oss_setting == "home_country",
        passed_on=passed_on,
        oss_from=oss_from,
    )


def recorded_orders(link: Link, first: date, last: date) -> Iterable[Order]:
    """The link's orders pp2eb holds records of, invoiced from ``first`` to ``last``
    (inclusive)."""
    for _link_id, order in _recorded([link.id], first, last):
        yield order


def _in_range(link_ids: list[int], first: date, last: date) -> sa.ColumnElement[bool]:
    return sa.and_(
        OrderRecord.link_id.in_(link_ids),
        OrderRecord.invoice_date >= first.isoformat(),
        OrderRecord.invoice_date <= last.isoformat(),
        OrderRecord.order_json.is_not(None),
    )


def _recorded(link_ids: list[int], first: date, last: date) -> Iterable[tuple[int, Order]]:
    """(link id, order) of the links' recorded orders invoiced from ``first`` to ``last``, by
    link: one query, read a batch at a time."""
    rows = db.session.execute(
        sa.select(OrderRecord.link_id, OrderRecord.order_json)
        .where(_in_range(link_ids, first, last))
        .order_by(OrderRecord.link_id)
        .execution_options(yield_per=500)
    )
    for link_id, text in rows:
        try:
            yield link_id, parse_order(jsonutil.loads(text))
        except (MappingError, ValueError):
            # An order pp2eb cannot read is already listed as failed on the dashboard.
            continue


def current(link: Link, today: date | None = None) -> OssWatch:
    """The watch for this calendar year, from the records and the link's OSS setting."""
    today = today or dutchtime.today()
    return current_for([link], today, {link.id: shopsettings.load_draft(link)})[link.id]


def current_for(
    links: list[Link], today: date | None = None, drafts: dict[int, dict] | None = None
) -> dict[int, OssWatch]:
    """Each link's watch (as ``current``), by link id: one query for all their orders, and one
    for their settings unless ``drafts`` (``shopsettings.drafts``) is given.

    Reading an order's JSON is what costs (about 0.15 ms an order): the sales of each link are
    kept per process (``_SalesCache``) and read again only when its records changed.
    """
    today = today or dutchtime.today()
    drafts = shopsettings.drafts(links) if drafts is None else drafts
    first, last = date(today.year - 1, 1, 1), date(today.year, 12, 31)
    sales = _sales_cache().sales([link.id for link in links], first, last)
    return {
        link.id: _watch_with(sales.get(link.id, ()), today.year, drafts[link.id]) for link in links
    }


def _watch_with(sales: Iterable[Sale], year: int, draft: dict) -> OssWatch:
    """``_sum`` of ``sales`` with the OSS setting and its start date of a settings draft."""
    oss_from = draft.get("oss_from")
    try:
        since = date.fromisoformat(oss_from) if isinstance(oss_from, str) else None
    except ValueError:
        since = None  # the settings page names the problem
    return _sum(sales, year, str(draft.get("oss", "")), since)


class _SalesCache:
    """The sales of each link's records in a date range, kept with a stamp of those records:
    their number, their latest change and their JSON's total length. A stamp read again (one
    grouped query, no JSON read) that is unchanged means the sales are too."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._kept: dict[tuple[int, date, date], tuple[tuple, list[Sale]]] = {}

    def sales(self, link_ids: list[int], first: date, last: date) -> dict[int, list[Sale]]:
        stamps = {
            link_id: tuple(stamp)
            for link_id, *stamp in db.session.execute(
                sa.select(
                    OrderRecord.link_id,
                    sa.func.count(),
                    sa.func.max(OrderRecord.updated_at),
                    sa.func.sum(sa.func.length(OrderRecord.order_json)),
                )
                .where(_in_range(link_ids, first, last))
                .group_by(OrderRecord.link_id)
            )
        }
        with self._lock:
            found = {
                i: kept[1]
                for i in stamps
                if (kept := self._kept.get((i, first, last))) and kept[0] == stamps[i]
            }
        stale = [i for i in stamps if i not in found]
        if stale:
            read: dict[int, list[Order]] = {i: [] for i in stale}
            for link_id, order in _recorded(stale, first, last):
                read[link_id].append(order)
            with self._lock:
                for link_id, orders in read.items():
                    found[link_id] = _counted(orders)
                    self._kept[(link_id, first, last)] = (stamps[link_id], found[link_id])
        return found


def _sales_cache() -> _SalesCache:
    # Per app: each app (each test's) has its own database.
    return current_app.extensions.setdefault("pp2eb_oss_sales", _SalesCache())
