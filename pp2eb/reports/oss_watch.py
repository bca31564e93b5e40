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

import itertools
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import sqlalchemy as sa

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
    total = previous = ZERO
    per_country: dict[str, Decimal] = {}
    passed_on = None
    dated = [order for order in orders if order.invoice_date is not None]
    for order in sorted(dated, key=lambda o: (o.invoice_date, o.id)):
        counted = cross_border_net(order)
        if counted is None:
            continue
        country, net = counted
        if order.invoice_date.year == year:
            total += net
            per_country[country] = per_country.get(country, ZERO) + net
            if passed_on is None and total > THRESHOLD:
                # inferred: the whole day of that sale, since pp2eb books by invoice date.
                passed_on = order.invoice_date
        elif order.invoice_date.year == year - 1:
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


def _recorded(link_ids: list[int], first: date, last: date) -> Iterable[tuple[int, Order]]:
    """(link id, order) of the links' recorded orders invoiced from ``first`` to ``last``, by
    link: one query, read a batch at a time."""
    rows = db.session.execute(
        sa.select(OrderRecord.link_id, OrderRecord.order_json)
        .where(
            OrderRecord.link_id.in_(link_ids),
            OrderRecord.invoice_date >= first.isoformat(),
            OrderRecord.invoice_date <= last.isoformat(),
            OrderRecord.order_json.is_not(None),
        )
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
    orders = recorded_orders(link, date(today.year - 1, 1, 1), date(today.year, 12, 31))
    return _watch_with(orders, today.year, shopsettings.load_draft(link))


def current_for(
    links: list[Link], today: date | None = None, drafts: dict[int, dict] | None = None
) -> dict[int, OssWatch]:
    """Each link's watch (as ``current``), by link id: one query for all their orders, and one
    for their settings unless ``drafts`` (``shopsettings.drafts``) is given."""
    today = today or dutchtime.today()
    drafts = shopsettings.drafts(links) if drafts is None else drafts
    ids = [link.id for link in links]
    orders = _recorded(ids, date(today.year - 1, 1, 1), date(today.year, 12, 31))
    watches = {
        link_id: _watch_with((order for _, order in group), today.year, drafts[link_id])
        for link_id, group in itertools.groupby(orders, key=lambda pair: pair[0])
    }
    # A link without a counted order: a watch at zero, with its settings.
    return {i: watches.get(i) or _watch_with((), today.year, drafts[i]) for i in ids}


def _watch_with(orders: Iterable[Order], year: int, draft: dict) -> OssWatch:
    """``watch`` of ``orders`` with the OSS setting and its start date of a settings draft."""
    oss_from = draft.get("oss_from")
    try:
        since = date.fromisoformat(oss_from) if isinstance(oss_from, str) else None
    except ValueError:
        since = None  # the settings page names the problem
    return watch(orders, year, str(draft.get("oss", "")), since)
