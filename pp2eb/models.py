"""Database models. Secrets are stored only encrypted (see ``crypto.py``)."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from pp2eb.extensions import db


def utcnow() -> datetime:
    """Now, in UTC, without tzinfo (SQLite stores naive datetimes)."""
    return datetime.now(UTC).replace(tzinfo=None)


class User(db.Model):
    """A person who may log in."""

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(80), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Credential(db.Model):
    """The connection to one API: its encrypted secret and what it connected to."""

    PLUGANDPAY = "plugandpay"
    EBOEKHOUDEN = "eboekhouden"

    id: Mapped[int] = mapped_column(primary_key=True)
    service: Mapped[str] = mapped_column(sa.String(20), unique=True)
    secret_encrypted: Mapped[bytes] = mapped_column(sa.LargeBinary)
    base_url: Mapped[str] = mapped_column(sa.String(255))
    account_name: Mapped[str] = mapped_column(sa.String(255), default="")
    connected_at: Mapped[datetime] = mapped_column(default=utcnow)
    checked_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(sa.Text, default=None)

    def __repr__(self) -> str:
        return f"<Credential {self.service} {self.base_url}>"
