"""Receiving Plug&Pay webhooks: the secret, the payload, and the queue of announced orders.

Plug&Pay signs nothing (the reference, section 6), so the webhook's URL carries a secret:
``secrets.token_urlsafe(32)``, made once per link, kept encrypted in the link's ``LinkState`` and
compared in constant time; the secret tells which link a webhook is for. The payload carries
only ids; the order's id goes into ``WebhookQueue``, one row per link and order, so a flood of
webhooks for one order is one row. New rows are limited per link and minute
(``WEBHOOK_MAX_PER_MINUTE``) and in all (``WEBHOOK_MAX_QUEUE``), so a flood cannot fill the disk.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask import current_app

from pp2eb import jsonutil
from pp2eb.extensions import db
from pp2eb.models import Link, LinkState, WebhookQueue, utcnow
from pp2eb.setup.crypto import SecretUnreadable

logger = logging.getLogger(__name__)

SECRET = "webhook_secret"
LAST = "webhook_last"
MAX_BODY = 16 * 1024
# inferred: order_paid is confirmed (SDK); the invoice-created names are the help centre's
# trigger and the one third-party code shows. Each means the order may now be bookable.
HANDLED_TRIGGERS = frozenset({"order_paid", "order_invoice_created", "invoice_created"})
ORDER_TYPES = frozenset({"order", "orders"})
# A queued order whose run stopped early this often is left to the scheduled sync.
MAX_ATTEMPTS = 3
_DIGITS = re.compile(r"[0-9]{1,18}")


@dataclass(frozen=True)
class Event:
    """What a webhook announced: an order, and why."""

    order_id: int
    trigger_type: str


class BadPayload(Exception):
    """A webhook body pp2eb does not take; ``status`` is the HTTP answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class Refused(Exception):
    """Too many new orders this minute, or the queue is full: try again later (429)."""


def parse(data: bytes) -> Event:
    """The event of a webhook body (``{"event": {...}}`` or flat); BadPayload if it is not one."""
    try:
        body = jsonutil.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise BadPayload(400, "The body must be JSON.") from None
    if not isinstance(body, dict):
        raise BadPayload(400, "The body must be a JSON object.")
    event = body.get("event", body)
    if not isinstance(event, dict):
        raise BadPayload(422, "event must be an object.")
    order_id = _positive_id(event.get("triggerable_id"))
    if order_id is None:
        raise BadPayload(422, "triggerable_id must be a positive whole number.")
    if event.get("triggerable_type") not in ORDER_TYPES:
        raise BadPayload(422, "triggerable_type must be order.")
    trigger = event.get("trigger_type")
    if trigger not in HANDLED_TRIGGERS:
        raise BadPayload(422, "trigger_type is not one pp2eb handles.")
    return Event(order_id, trigger)


def _positive_id(value: object) -> int | None:
    if isinstance(value, str) and _DIGITS.fullmatch(value):
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**63:
        return value
    return None


# --- the secret ---------------------------------------------------------------------------
# One per link, in its ``LinkState`` rows: the secret names the link, so every link has its own
# address and a webhook can only ever be queued for the link whose secret it carries.


def secret(link: Link) -> str:
    """The secret of ``link``'s webhook URL; made (once) when there is none yet."""
    known = stored_secret(link)
    if known is not None:
        return known
    if db.session.get(LinkState, (link.id, SECRET)) is not None:
        return rotate_secret(link)  # unreadable with this encryption key: the old URL is dead
    made = secrets.token_urlsafe(32)
    db.session.add(LinkState(link_id=link.id, key=SECRET, value=_sealed(made)))
    try:
        db.session.commit()
    except sa.exc.IntegrityError:  # made at the same moment by another request: take that one
        db.session.rollback()
        return stored_secret(link) or made
    return made


def _sealed(value: str) -> str:
    return json.dumps(current_app.extensions["pp2eb_vault"].encrypt(value).decode())


def _opened(row: LinkState) -> str | None:
    try:
        return current_app.extensions["pp2eb_vault"].decrypt(json.loads(row.value).encode())
    except SecretUnreadable:
        logger.warning("the webhook secret of link %s cannot be read with this key", row.link_id)
        return None


def stored_secret(link: Link) -> str | None:
    """``link``'s stored secret, or None when there is none (or it cannot be read)."""
    row = db.session.get(LinkState, (link.id, SECRET))
    return None if row is None else _opened(row)


def rotate_secret(link: Link) -> str:
    """Replace ``link``'s secret: a webhook to the old URL is refused from now on."""
    made = secrets.token_urlsafe(32)
    row = db.session.get(LinkState, (link.id, SECRET))
    if row is None:
        row = LinkState(link_id=link.id, key=SECRET, value="null")
        db.session.add(row)
    row.value = _sealed(made)
    db.session.commit()
    return made


def link_for_secret(given: str) -> Link | None:
    """The live link whose secret is ``given``, or None.

    Every live link's secret is compared, each in constant time, whatever matched before: the
    answer takes as long for a wrong secret as for a right one.
    """
    given_bytes = given.encode("utf-8", "surrogatepass")
    rows = db.session.execute(
        sa.select(LinkState)
        .join(Link, Link.id == LinkState.link_id)
        .where(LinkState.key == SECRET, Link.removed_at.is_(None))
    ).scalars()
    found = None
    for row in rows:
        known = _opened(row)
        expected = (known or secrets.token_urlsafe(32)).encode()
        if hmac.compare_digest(given_bytes, expected) and known:
            found = row.link_id
    return db.session.get(Link, found) if found is not None else None


def mask(url: str, secret_value: str) -> str:
    """``url`` with the secret hidden but for its last four characters."""
    return url.replace(secret_value, "••••••" + secret_value[-4:])


# --- the queue ----------------------------------------------------------------------------


class _Window:
    """Moments of one link's new rows of the last minute, in this process."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.moments: deque[float] = deque()

    def admit(self, limit: int) -> bool:
        now = time.monotonic()
        with self.lock:
            while self.moments and self.moments[0] <= now - 60:
                self.moments.popleft()
            if len(self.moments) >= limit:
                return False
            self.moments.append(now)
            return True


def _window(link: Link) -> _Window:
    # Per link: a flood of one shop's webhooks never refuses another's.
    windows = current_app.extensions.setdefault("pp2eb_webhook_windows", {})
    return windows.setdefault(link.id, _Window())


def enqueue(link: Link, event: Event, now: datetime | None = None) -> bool:
    """Queue the event's order for a run of ``link``; True when it was not queued yet.
    Refused: try later."""
    now = now or utcnow()
    try:
        new = _enqueue(link, event, now)
        db.session.commit()
    except sa.exc.IntegrityError:  # the same order (or the first webhook) at the same moment
        db.session.rollback()
        new = _enqueue(link, event, now)
        db.session.commit()
    return new


def _enqueue(link: Link, event: Event, now: datetime) -> bool:
    # Plain statements, no loaded row: a run may remove the row at any moment.
    again = sa.update(WebhookQueue).where(
        WebhookQueue.link_id == link.id, WebhookQueue.order_id == event.order_id
    )
    again = again.values(received_at=now, trigger_type=event.trigger_type)
    new = db.session.execute(again).rowcount == 0
    if new:
        cfg = current_app.config
        if waiting(link) >= cfg["WEBHOOK_MAX_QUEUE"] or not _window(link).admit(
            cfg["WEBHOOK_MAX_PER_MINUTE"]
        ):
            db.session.rollback()
            raise Refused("Too many webhooks; try again later.")
        db.session.execute(
            sa.insert(WebhookQueue).values(
                link_id=link.id,
                order_id=event.order_id,
                trigger_type=event.trigger_type,
                received_at=now,
                attempts=0,
            )
        )
    last = json.dumps({"at": now.isoformat(), "order_id": event.order_id})
    noted = (
        sa.update(LinkState)
        .where(LinkState.link_id == link.id, LinkState.key == LAST)
        .values(value=last, updated_at=now)
    )
    if db.session.execute(noted).rowcount == 0:
        db.session.execute(
            sa.insert(LinkState).values(link_id=link.id, key=LAST, value=last, updated_at=now)
        )
    return new


def waiting(link: Link) -> int:
    """How many orders of ``link`` are queued."""
    return db.session.execute(
        sa.select(sa.func.count()).where(WebhookQueue.link_id == link.id)
    ).scalar_one()


def queued(link: Link, limit: int) -> list[int]:
    """The ids of up to ``limit`` queued orders of ``link``, first announced first."""
    return list(
        db.session.execute(
            sa.select(WebhookQueue.order_id)
            .where(WebhookQueue.link_id == link.id)
            .order_by(WebhookQueue.received_at)
            .limit(limit)
        ).scalars()
    )


def settle(link: Link, order_ids: list[int], started: datetime, *, finished: bool) -> None:
    """After a run of ``link`` that started at ``started`` over ``order_ids``: empty their queue
    rows.

    A row announced again after the run started stays for the next run. After a run that
    stopped early a row stays too, until ``MAX_ATTEMPTS`` such runs: then the scheduled sync,
    which finds every order anyway, is left to book it.
    """
    mine = sa.and_(
        WebhookQueue.link_id == link.id,
        WebhookQueue.order_id.in_(order_ids),
        WebhookQueue.received_at <= started,
    )
    if finished:
        db.session.execute(sa.delete(WebhookQueue).where(mine))
    else:
        db.session.execute(
            sa.update(WebhookQueue).where(mine).values(attempts=WebhookQueue.attempts + 1)
        )
        dropped = db.session.execute(
            sa.delete(WebhookQueue).where(
                WebhookQueue.link_id == link.id, WebhookQueue.attempts >= MAX_ATTEMPTS
            )
        ).rowcount
        if dropped:
            logger.warning("%d webhook order(s) left to the scheduled sync", dropped)
    db.session.commit()


def last_received(link: Link) -> dict | None:
    """The latest webhook taken for ``link``: ``{"at": datetime, "order_id": int}``, or None."""
    row = db.session.get(LinkState, (link.id, LAST))
    if row is None:
        return None
    value = json.loads(row.value)
    return {"at": datetime.fromisoformat(value["at"]), "order_id": value["order_id"]}
