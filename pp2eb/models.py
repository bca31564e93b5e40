"""Database models. Secrets are stored only encrypted (see ``setup/crypto.py``)."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from pp2eb.extensions import db
from pp2eb.states import OrderState, PaymentState, Role, RunStatus

# An id given by Plug&Pay or e-Boekhouden: 64 bits in their APIs. BIGINT on PostgreSQL, whose
# INTEGER has 32; SQLite's INTEGER has 64 bits already (and is the table's row id as a key).
ApiId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def utcnow() -> datetime:
    """Now, in UTC, without tzinfo (both databases store naive datetimes, as UTC)."""
    return datetime.now(UTC).replace(tzinfo=None)


class User(db.Model):
    """A person who may log in, with a ``Role``; what a member may see is ``LinkGrant``'s."""

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(80), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Admin unless said otherwise: before roles every user could do everything, and
    # ``flask create-user`` (and the demo's login) still make such users.
    role: Mapped[str] = mapped_column(sa.String(10), default=Role.ADMIN)

    def __repr__(self) -> str:
        return f"<User {self.id} {self.username} {self.role}>"


class Link(db.Model):
    """One Plug&Pay account booked into one e-Boekhouden administration (a "koppeling").

    Its keys, settings and wizard progress point at it (``link_id``); removing a link sets
    ``removed_at`` and keeps its history.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    removed_at: Mapped[datetime | None]

    def __repr__(self) -> str:
        return f"<Link {self.id} {self.name}>"


class LinkGrant(db.Model):
    """A member's access to one link (admins see every link without one)."""

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"), primary_key=True)
    link_id: Mapped[int] = mapped_column(sa.ForeignKey("link.id"), primary_key=True, index=True)
    granted_at: Mapped[datetime] = mapped_column(default=utcnow)


def link_column() -> Mapped[int]:
    """The link a per-link row belongs to."""
    return mapped_column(sa.ForeignKey("link.id"), index=True)


class Credential(db.Model):
    """The connection to one API of one link: its encrypted secret and what it connected to."""

    __table_args__ = (sa.UniqueConstraint("link_id", "service"),)

    PLUGANDPAY = "plugandpay"
    EBOEKHOUDEN = "eboekhouden"

    id: Mapped[int] = mapped_column(primary_key=True)
    link_id: Mapped[int] = link_column()
    service: Mapped[str] = mapped_column(sa.String(20))
    secret_encrypted: Mapped[bytes] = mapped_column(sa.LargeBinary)
    base_url: Mapped[str] = mapped_column(sa.String(255))
    account_name: Mapped[str] = mapped_column(sa.String(255), default="")
    connected_at: Mapped[datetime] = mapped_column(default=utcnow)
    checked_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(sa.Text, default=None)
    # e-Boekhouden only: how the administration rounds VAT, "total" or "row" (None: not known
    # yet), who set it (DETECTED from a booking read back, or BY_HAND), and which booking
    # (mutation id) it was read from. See pp2eb/engine/vat_rounding.py.
    DETECTED, BY_HAND = "detected", "hand"
    vat_rounding: Mapped[str | None] = mapped_column(sa.String(10), default=None)
    vat_rounding_by: Mapped[str | None] = mapped_column(sa.String(10), default=None)
    vat_rounding_from: Mapped[int | None] = mapped_column(sa.BigInteger, default=None)

    def __repr__(self) -> str:
        return f"<Credential {self.service} {self.base_url}>"


class ShopSettings(db.Model):
    """A link's choices: the JSON of ``pp2eb.mapping.settings.Settings``.

    One row per link, the one with the lowest id (``pp2eb.setup.shopsettings``): releases before
    links read the row with id 1 only, and the upgrade keeps any other row as it was.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    link_id: Mapped[int] = link_column()
    data: Mapped[str] = mapped_column(sa.Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class SyncRun(db.Model):
    """One run of the engine: a scheduled or manual sync, a backfill, a retry.

    ``status`` holds a ``RunStatus``; the counters are ``RunCount``'s (``pp2eb.states``).
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    link_id: Mapped[int] = link_column()
    kind: Mapped[str] = mapped_column(sa.String(20))
    status: Mapped[str] = mapped_column(sa.String(20), default=RunStatus.RUNNING)
    started_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    finished_at: Mapped[datetime | None]
    since: Mapped[str | None] = mapped_column(sa.String(10))
    until: Mapped[str | None] = mapped_column(sa.String(10))
    booked: Mapped[int] = mapped_column(default=0)
    skipped: Mapped[int] = mapped_column(default=0)
    failed: Mapped[int] = mapped_column(default=0)
    waiting: Mapped[int] = mapped_column(default=0)
    already_booked: Mapped[int] = mapped_column(default=0)
    message: Mapped[str | None] = mapped_column(sa.Text)


class OrderRecord(db.Model):
    """One Plug&Pay order and where it stands; the intent is written before the remote write.

    ``state`` holds an ``OrderState``, ``payment_state`` a ``PaymentState`` (``pp2eb.states``).
    An order is its link's: two links may have orders with the same Plug&Pay id.
    """

    __table_args__ = (sa.UniqueConstraint("link_id", "order_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    link_id: Mapped[int] = link_column()
    order_id: Mapped[int] = mapped_column(ApiId)
    state: Mapped[str] = mapped_column(sa.String(10), default=OrderState.NEW, index=True)
    invoice_number: Mapped[str | None] = mapped_column(sa.String(64))
    invoice_date: Mapped[str | None] = mapped_column(sa.String(10), index=True)
    customer: Mapped[str | None] = mapped_column(sa.String(255))
    email: Mapped[str | None] = mapped_column(sa.String(255))
    # Money as text: SQLite has no decimal type and a float would lose cents.
    amount_with_tax: Mapped[str | None] = mapped_column(sa.String(32))
    reason: Mapped[str | None] = mapped_column(sa.Text)
    fix: Mapped[str | None] = mapped_column(sa.Text)
    error_code: Mapped[str | None] = mapped_column(sa.String(40))
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(index=True)
    # The booking as sent (intent): reference, payment reference and request body.
    insertion: Mapped[str | None] = mapped_column(sa.String(10))
    reference: Mapped[str | None] = mapped_column(sa.String(64))
    payment_reference: Mapped[str | None] = mapped_column(sa.String(64))
    booking_json: Mapped[str | None] = mapped_column(sa.Text)
    write_uncertain: Mapped[bool] = mapped_column(default=False)
    # Skipped by a person on the dashboard: the engine leaves it alone until "retry".
    skipped_by_hand: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    relation_id: Mapped[int | None] = mapped_column(ApiId)
    eboekhouden_id: Mapped[int | None] = mapped_column(ApiId)
    order_json: Mapped[str | None] = mapped_column(sa.Text)
    # What the order adds to the OSS threshold (``mapping.vat.cross_border_sale``), kept with
    # its JSON so that the threshold is summed without reading every order: the buyer's EU
    # country and the net amount; "" when it does not count; None when not worked out yet (a
    # record from before 0014: ``reports.oss_watch`` works it out once and keeps it).
    eu_sale_country: Mapped[str | None] = mapped_column(sa.String(2))
    eu_sale_net: Mapped[str | None] = mapped_column(sa.String(32))
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    booked_at: Mapped[datetime | None]
    # The payment of the booked order (mutation type 3, ``pp2eb.engine.payments``), with its own
    # intent: ``booking`` is committed before the write, like the order's own state.
    payment_state: Mapped[str] = mapped_column(
        sa.String(10), default=PaymentState.NONE, server_default=PaymentState.NONE.value, index=True
    )
    payment_json: Mapped[str | None] = mapped_column(sa.Text)
    payment_mutation_id: Mapped[int | None] = mapped_column(ApiId)
    payment_reason: Mapped[str | None] = mapped_column(sa.Text)
    payment_error_code: Mapped[str | None] = mapped_column(sa.String(40))
    payment_attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    payment_next_attempt_at: Mapped[datetime | None]
    payment_booked_at: Mapped[datetime | None]


class Attempt(db.Model):
    """One try at booking an order, with its outcome (an ``AttemptOutcome``) in plain words."""

    id: Mapped[int] = mapped_column(primary_key=True)
    order_record_id: Mapped[int] = mapped_column(sa.ForeignKey("order_record.id"), index=True)
    run_id: Mapped[int | None] = mapped_column(sa.ForeignKey("sync_run.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    outcome: Mapped[str] = mapped_column(sa.String(20))
    error_code: Mapped[str | None] = mapped_column(sa.String(40))
    message: Mapped[str | None] = mapped_column(sa.Text)


class CustomerLink(db.Model):
    """A Plug&Pay customer (by e-mail, else by name) linked to an e-Boekhouden relation, in
    one link."""

    __table_args__ = (sa.UniqueConstraint("link_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    link_id: Mapped[int] = link_column()
    key: Mapped[str] = mapped_column(sa.String(255))
    relation_id: Mapped[int] = mapped_column(ApiId)
    relation_code: Mapped[str | None] = mapped_column(sa.String(20))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Lease(db.Model):
    """A named lock of a link with an expiry, so that only one process runs its sync at a time."""

    link_id: Mapped[int] = mapped_column(sa.ForeignKey("link.id"), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    holder: Mapped[str | None] = mapped_column(sa.String(120))
    expires_at: Mapped[datetime | None]


class AppState(db.Model):
    """Small install-wide facts the app keeps between requests (failed log-ins, ended sessions,
    the webhook's secret); a link's own facts are ``LinkState``'s."""

    key: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    value: Mapped[str] = mapped_column(sa.Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class LinkState(db.Model):
    """Small facts the app keeps per link (its schedule's pause, its last export, the wizard's
    saved steps); install-wide facts are ``AppState``'s."""

    link_id: Mapped[int] = mapped_column(sa.ForeignKey("link.id"), primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    value: Mapped[str] = mapped_column(sa.Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class AlertSettings(db.Model):
    """Where alert e-mails go and when (one row); the SMTP password only encrypted."""

    NONE, STARTTLS, SSL = "none", "starttls", "ssl"

    id: Mapped[int] = mapped_column(primary_key=True)
    smtp_host: Mapped[str] = mapped_column(sa.String(255), default="")
    smtp_port: Mapped[int] = mapped_column(default=587)
    smtp_security: Mapped[str] = mapped_column(sa.String(10), default=STARTTLS)
    smtp_username: Mapped[str] = mapped_column(sa.String(255), default="")
    smtp_password_encrypted: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    from_address: Mapped[str] = mapped_column(sa.String(255), default="")
    # One or more addresses, separated by commas.
    to_addresses: Mapped[str] = mapped_column(sa.Text, default="")
    alerts_enabled: Mapped[bool] = mapped_column(default=False)
    summary_enabled: Mapped[bool] = mapped_column(default=False)
    summary_hour: Mapped[int] = mapped_column(default=8)  # local time, Europe/Amsterdam
    language: Mapped[str] = mapped_column(sa.String(5), default="en")
    last_sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    last_error_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class AlertSent(db.Model):
    """One alert claimed for a link's problem on a (local) day; ``sent_at`` once the server
    took it."""

    __table_args__ = (sa.UniqueConstraint("link_id", "problem", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    link_id: Mapped[int] = link_column()
    problem: Mapped[str] = mapped_column(sa.String(60))
    day: Mapped[str] = mapped_column(sa.String(10))  # ISO date in Europe/Amsterdam
    claimed_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]


class WebhookQueue(db.Model):
    """An order a Plug&Pay webhook announced, waiting for a run of its link to book it: one row
    per link and order."""

    link_id: Mapped[int] = mapped_column(sa.ForeignKey("link.id"), primary_key=True)
    order_id: Mapped[int] = mapped_column(ApiId, primary_key=True, autoincrement=False)
    trigger_type: Mapped[str] = mapped_column(sa.String(40))
    # The latest webhook for the order: a row is removed only by a run that started after it.
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    # Runs that stopped before their end while the order was queued (see pp2eb/webhooks.py).
    attempts: Mapped[int] = mapped_column(default=0)
