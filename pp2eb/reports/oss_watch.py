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
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import NamedTuple

import sqlalchemy as sa

from pp2eb import dutchtime, jsonutil
from pp2eb.engine.booking_path import eu_sale
from pp2eb.extensions import db
from pp2eb.mapping.order import Order
from pp2eb.mapping.problems import MappingError
from pp2eb.mapping.readings import parse_order
from pp2eb.mapping.vat import cross_border_sale
from pp2eb.models import Link, OrderRecord
from pp2eb.setup import shopsettings

logger = logging.getLogger(__name__)

THRESHOLD = Decimal("10000.00")
NEAR = Decimal("0.75")  # warn from 75% of the threshold
OK, APPROACHING, PASSED = "ok", "approaching", "passed"
ZERO = Decimal("0.00")
BATCH = 500  # records worked out from their JSON per statement


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
        counted = cross_border_sale(order)
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


def current(link: Link, today: date | None = None) -> OssWatch:
    """The watch for this calendar year, from the records and the link's OSS setting."""
    today = today or dutchtime.today()
    return current_for([link], today, {link.id: shopsettings.load_draft(link)})[link.id]


def current_for(
    links: list[Link], today: date | None = None, drafts: dict[int, dict] | None = None
) -> dict[int, OssWatch]:
    """Each link's watch (as ``current``), by link id: one query for all their sales, and one
    for their settings unless ``drafts`` (``shopsettings.drafts``) is given."""
    today = today or dutchtime.today()
    drafts = shopsettings.drafts(links) if drafts is None else drafts
    first, last = date(today.year - 1, 1, 1), date(today.year, 12, 31)
    sales = recorded_sales([link.id for link in links], first, last)
    return {link.id: _watch_with(sales[link.id], today.year, drafts[link.id]) for link in links}


def recorded_sales(link_ids: list[int], first: date, last: date) -> dict[int, list[Sale]]:
    """The sales of the links' records invoiced from ``first`` to ``last`` (inclusive), by link
    id, from what each record keeps of its order (``eu_sale_country``, ``eu_sale_net``).

    A record that has not worked that out yet (one from before those columns) is read from its
    JSON once, here, and the answer kept on it: the next look reads the columns only.
    """
    found: dict[int, list[Sale]] = {link_id: [] for link_id in link_ids}
    counts_or_unknown = sa.or_(
        OrderRecord.eu_sale_country.is_(None), OrderRecord.eu_sale_country != ""
    )
    rows = db.session.execute(
        sa.select(
            OrderRecord.id,
            OrderRecord.link_id,
            OrderRecord.order_id,
            OrderRecord.invoice_date,
            OrderRecord.eu_sale_country,
            OrderRecord.eu_sale_net,
        ).where(_in_range(link_ids, first, last), counts_or_unknown)
    )
    unknown = []
    for row in rows:
        if row.eu_sale_country is None:
            unknown.append(row.id)
        else:
            when = date.fromisoformat(row.invoice_date)
            sale = Sale(when, row.order_id, row.eu_sale_country, Decimal(row.eu_sale_net))
            found[row.link_id].append(sale)
    for start in range(0, len(unknown), BATCH):
        for link_id, sale in _work_out(unknown[start : start + BATCH]):
            found[link_id].append(sale)
    return found


def work_out_pending(limit: int) -> int:
    """Work out what up to ``limit`` records that do not keep it yet add to the threshold, and
    keep it; how many were worked out (the scheduler's tick does a share a minute)."""
    pending = list(
        db.session.execute(
            sa.select(OrderRecord.id)
            .where(OrderRecord.eu_sale_country.is_(None), OrderRecord.order_json.is_not(None))
            .limit(limit)
        ).scalars()
    )
    for start in range(0, len(pending), BATCH):
        _work_out(pending[start : start + BATCH])
    return len(pending)


def _work_out(record_ids: list[int]) -> list[tuple[int, Sale]]:
    """Read the orders of ``record_ids`` from their JSON, keep what each adds to the threshold
    on its record (only where nothing is kept yet: a run may have written it meanwhile), and
    return (link id, sale) of those that count."""
    rows = db.session.execute(
        sa.select(
            OrderRecord.id, OrderRecord.link_id, OrderRecord.invoice_date, OrderRecord.order_json
        ).where(OrderRecord.id.in_(record_ids))
    )
    kept, sales = [], []
    for record_id, link_id, invoice_date, text in rows:
        try:
            order = parse_order(jsonutil.loads(text))
        except (MappingError, ValueError):
            order = None  # an order pp2eb cannot read is listed as failed on the dashboard
        columns = eu_sale(order)
        kept.append({"record_id": record_id, **columns})
        if columns["eu_sale_country"]:
            when = date.fromisoformat(invoice_date)
            net = Decimal(columns["eu_sale_net"])
            sales.append((link_id, Sale(when, order.id, columns["eu_sale_country"], net)))
    if kept:
        _keep(kept)
    return sales


def _keep(kept: list[dict]) -> None:
    """Write what was worked out, in a transaction of its own: the caller's session is left as
    it was (a commit there would expire every object it holds). Only a saving: when the
    database is busy (another writer on SQLite) it is worked out again next time."""
    try:
        with db.engine.begin() as conn:
            conn.execute(_KEEP, kept)
    except sa.exc.OperationalError as exc:
        logger.info("what %d orders add to the OSS threshold is not kept now: %s", len(kept), exc)


# Only where nothing is kept yet, and without touching ``updated_at`` (nothing of the order
# changed).
_KEEP = (
    sa.update(OrderRecord.__table__)
    .where(
        OrderRecord.__table__.c.id == sa.bindparam("record_id"),
        OrderRecord.__table__.c.eu_sale_country.is_(None),
    )
    .values(
        eu_sale_country=sa.bindparam("eu_sale_country"),
        eu_sale_net=sa.bindparam("eu_sale_net"),
        updated_at=OrderRecord.__table__.c.updated_at,
    )
)


def _in_range(link_ids: list[int], first: date, last: date) -> sa.ColumnElement[bool]:
    return sa.and_(
        OrderRecord.link_id.in_(link_ids),
        OrderRecord.invoice_date >= first.isoformat(),
        OrderRecord.invoice_date <= last.isoformat(),
        OrderRecord.order_json.is_not(None),
    )


def _watch_with(sales: Iterable[Sale], year: int, draft: dict) -> OssWatch:
    """``_sum`` of ``sales`` with the OSS setting and its start date of a settings draft."""
    oss_from = draft.get("oss_from")
    try:
        since = date.fromisoformat(oss_from) if isinstance(oss_from, str) else None
    except ValueError:
        since = None  # the settings page names the problem
    return _sum(sales, year, str(draft.get("oss", "")), since)
