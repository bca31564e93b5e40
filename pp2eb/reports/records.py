"""What the dashboard asks of the order records and runs, and what it may change by hand."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from pp2eb import jsonutil
from pp2eb.engine import payments
from pp2eb.extensions import db
from pp2eb.models import Attempt, Link, OrderRecord, SyncRun, utcnow
from pp2eb.setup import shopsettings
from pp2eb.states import ORDER_FILTERS, AttemptOutcome, OrderState

PAGE_SIZE = 50


@dataclass(frozen=True)
class Page:
    """One page of a list, with what the pager needs."""

    items: list
    page: int
    pages: int
    total: int


def list_orders(
    link: Link, state: str | None = None, query: str | None = None, page: int = 1
) -> Page:
    """The link's orders, newest invoice first, filtered by state group and searched by number
    or name."""
    select = sa.select(OrderRecord).where(OrderRecord.link_id == link.id)
    if state in ORDER_FILTERS:
        select = select.where(OrderRecord.state.in_(ORDER_FILTERS[state]))
    if query:
        like = f"%{query.strip()}%"
        conditions = [
            OrderRecord.invoice_number.ilike(like),
            OrderRecord.customer.ilike(like),
            OrderRecord.email.ilike(like),
        ]
        digits = query.strip()
        # ASCII digits only ("²".isdigit() is true) and within SQLite's 64-bit integers.
        if digits.isascii() and digits.isdigit() and len(digits) <= 18:
            conditions.append(OrderRecord.order_id == int(digits))
        select = select.where(sa.or_(*conditions))
    # Orders without an invoice date last, as SQLite sorts NULL; PostgreSQL would put them first.
    newest = OrderRecord.invoice_date.desc().nulls_last()
    return _page(select.order_by(newest, OrderRecord.order_id.desc()), page)


def _runs(link: Link) -> sa.Select:
    newest = (SyncRun.started_at.desc(), SyncRun.id.desc())
    return sa.select(SyncRun).where(SyncRun.link_id == link.id).order_by(*newest)


def list_runs(link: Link, page: int = 1) -> Page:
    """The link's runs, newest first."""
    return _page(_runs(link), page)


def recent_runs(link: Link, limit: int) -> list[SyncRun]:
    """The link's newest ``limit`` runs."""
    select = _runs(link)
    return list(db.session.execute(select.limit(limit)).scalars())


def _page(select, page: int) -> Page:
    total = db.session.execute(sa.select(sa.func.count()).select_from(select.subquery())).scalar()
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(page, 1), pages)
    items = db.session.execute(select.limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).scalars()
    return Page(list(items), page, pages, total)


def counts(link: Link) -> dict[str, int]:
    """How many of the link's orders are in each filter group."""
    rows = db.session.execute(
        sa.select(OrderRecord.state, sa.func.count())
        .where(OrderRecord.link_id == link.id)
        .group_by(OrderRecord.state)
    ).all()
    by_state = dict(rows)
    return {name: sum(by_state.get(s, 0) for s in group) for name, group in ORDER_FILTERS.items()}


def latest_run(link: Link, kind: str | None = None) -> SyncRun | None:
    """The link's newest run (of ``kind``)."""
    select = _runs(link).limit(1)
    if kind:
        select = select.where(SyncRun.kind == kind)
    return db.session.execute(select).scalar_one_or_none()


def find(link: Link, order_id: int) -> OrderRecord | None:
    """The link's record of Plug&Pay order ``order_id``."""
    return db.session.execute(
        sa.select(OrderRecord).where(
            OrderRecord.link_id == link.id, OrderRecord.order_id == order_id
        )
    ).scalar_one_or_none()


def attempts(rec: OrderRecord) -> list[Attempt]:
    """Every attempt at the order, oldest first."""
    return list(
        db.session.execute(
            sa.select(Attempt).where(Attempt.order_record_id == rec.id).order_by(Attempt.id)
        ).scalars()
    )


def booking_notes(rec: OrderRecord, attempts: list[Attempt]) -> list[str]:
    """What the mapper noted on the order's booking (an assumed kind of product, a territory
    rule, an inferred reverse charge, ...): the lines after the first of the message of the
    attempt that booked it (``OrderBooker._booked`` writes them so)."""
    if rec.state != OrderState.BOOKED:
        return []
    booked = [a for a in attempts if a.outcome == AttemptOutcome.BOOKED and a.message]
    return booked[-1].message.splitlines()[1:] if booked else []


def order_data(rec: OrderRecord) -> dict | None:
    """The order as Plug&Pay last sent it."""
    return jsonutil.loads(rec.order_json) if rec.order_json else None


def booking_data(rec: OrderRecord) -> dict | None:
    """The request body pp2eb sent (or is about to send) to e-Boekhouden."""
    return jsonutil.loads(rec.booking_json) if rec.booking_json else None


def payment_data(rec: OrderRecord) -> dict | None:
    """The payment body pp2eb sent (or is about to send) to e-Boekhouden."""
    return jsonutil.loads(rec.payment_json) if rec.payment_json else None


def payment_retryable(link: Link, rec: OrderRecord) -> bool:
    """True when the order is booked, the link books payments, and its payment may be tried
    again."""
    booking = shopsettings.load_draft(link).get("book_payments") is True
    return booking and rec.state == OrderState.BOOKED and rec.payment_state in payments.RETRYABLE


def make_payment_due(rec: OrderRecord) -> None:
    """Let the next run try the order's payment at once."""
    rec.payment_next_attempt_at = utcnow()
    db.session.commit()


def make_due(rec: OrderRecord) -> None:
    """Let the next run try the order at once (undoing a skip by hand)."""
    rec.next_attempt_at = utcnow()
    rec.skipped_by_hand = False
    db.session.commit()


def skip(rec: OrderRecord, reason: str, user: str) -> bool:
    """Skip an unbooked order on purpose; False when it is booked (or being booked)."""
    if rec.state in (OrderState.BOOKED, OrderState.BOOKING):
        return False
    rec.state, rec.skipped_by_hand = OrderState.SKIPPED, True
    rec.reason = f"Skipped by {user}: {reason}"
    rec.fix = rec.error_code = rec.next_attempt_at = None
    db.session.add(
        Attempt(
            order_record_id=rec.id,
            at=utcnow(),
            outcome=AttemptOutcome.SKIPPED,
            message=rec.reason,
        )
    )
    db.session.commit()
    return True
