"""The alert settings: one ``AlertSettings`` row, read as an ``AlertConfig``.

The mail server, the sender, the language and which mails are wanted are the install's. Each
link may have its own addresses to send to (a ``LinkState`` fact, ``LINK_TO``); a link without
them sends to the install's ``to_addresses``, so an install made before links sends where it
always did.

The SMTP password is stored encrypted with the install's vault (``setup.crypto``), like the API
keys, and only decrypted into the ``SmtpSettings`` handed to the mailer. In demo mode, until the
settings are saved, they point at the sandbox's SMTP sink with alerts on, so a new user sees
alerts arrive without any mail account.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from flask import current_app

from pp2eb.alerts.mail import NONE, STARTTLS, SmtpSettings, split_addresses
from pp2eb.extensions import db
from pp2eb.models import AlertSettings, Link
from pp2eb.setup import appstate, links
from pp2eb.setup.crypto import SecretUnreadable

logger = logging.getLogger(__name__)

FIELDS = (
    "smtp_host",
    "smtp_port",
    "smtp_security",
    "smtp_username",
    "from_address",
    "to_addresses",
    "alerts_enabled",
    "summary_enabled",
    "summary_hour",
    "language",
)
DEMO_SENDER, DEMO_RECIPIENT = "pp2eb@demo.example", "shop-owner@demo.example"
LINK_TO = "alert_to"  # LinkState: a link's own addresses (a list; empty: the install's)


@dataclass(frozen=True)
class AlertConfig:
    """The alert settings as the sender and the settings page use them."""

    smtp: SmtpSettings
    to: tuple[str, ...]  # where the mails go: the link's own addresses, else the install's
    alerts_enabled: bool
    summary_enabled: bool
    summary_hour: int
    language: str
    has_password: bool = False
    saved: bool = False
    last_sent_at: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    default_to: tuple[str, ...] = ()  # the install's addresses, for links without their own
    link_to: tuple[str, ...] = ()  # the link's own addresses, if it has them

    @property
    def ready(self) -> bool:
        """True when there is a server, a sender and someone to send to."""
        return bool(self.smtp.host and self.smtp.from_address and self.to)

    def form_data(self) -> dict:
        """The values the settings form starts with (never the password)."""
        return {
            "smtp_host": self.smtp.host,
            "smtp_port": self.smtp.port,
            "smtp_security": self.smtp.security,
            "smtp_username": self.smtp.username,
            "from_address": self.smtp.from_address,
            "to_addresses": ", ".join(self.default_to),
            "link_to_addresses": ", ".join(self.link_to),
            "alerts_enabled": self.alerts_enabled,
            "summary_enabled": self.summary_enabled,
            "summary_hour": self.summary_hour,
            "language": self.language,
        }


def _defaults() -> dict:
    cfg = current_app.config
    values = {
        "smtp_host": "",
        "smtp_port": 587,
        "smtp_security": STARTTLS,
        "smtp_username": "",
        "from_address": "",
        "to_addresses": "",
        "alerts_enabled": False,
        "summary_enabled": False,
        "summary_hour": 8,
        "language": cfg.get("BABEL_DEFAULT_LOCALE", "en"),
    }
    if cfg["DEMO"]:
        values.update(
            smtp_host=cfg["SANDBOX_HOST"],
            smtp_port=cfg["SANDBOX_SMTP_PORT"],
            smtp_security=NONE,
            from_address=DEMO_SENDER,
            to_addresses=DEMO_RECIPIENT,
            alerts_enabled=True,
            summary_enabled=True,
        )
    return values


def _row() -> AlertSettings | None:
    return db.session.execute(db.select(AlertSettings).limit(1)).scalar_one_or_none()


def row_for_update() -> AlertSettings:
    """The settings row, made from the defaults when there is none yet."""
    row = _row()
    if row is None:
        row = AlertSettings(**_defaults())
        db.session.add(row)
    return row


def load(link: Link | None = None) -> AlertConfig:
    """The saved settings (with the password decrypted), else the defaults; with ``link``,
    ``to`` is that link's own addresses if it has them."""
    row = _row()
    values = {name: getattr(row, name) for name in FIELDS} if row else _defaults()
    password = None
    if row is not None and row.smtp_password_encrypted:
        try:
            password = current_app.extensions["pp2eb_vault"].decrypt(row.smtp_password_encrypted)
        except SecretUnreadable:
            logger.warning("the stored SMTP password cannot be read with the current key")
    smtp = SmtpSettings(
        host=values["smtp_host"],
        port=values["smtp_port"],
        security=values["smtp_security"],
        username=values["smtp_username"],
        password=password,
        from_address=values["from_address"],
    )
    default_to = tuple(split_addresses(values["to_addresses"]))
    link_to = link_addresses(link) if link is not None else ()
    return AlertConfig(
        smtp=smtp,
        to=link_to or default_to,
        alerts_enabled=values["alerts_enabled"],
        summary_enabled=values["summary_enabled"],
        summary_hour=values["summary_hour"],
        language=values["language"],
        has_password=password is not None,
        saved=row is not None,
        last_sent_at=row.last_sent_at if row else None,
        last_error=row.last_error if row else None,
        last_error_at=row.last_error_at if row else None,
        default_to=default_to,
        link_to=link_to,
    )


def link_addresses(link: Link) -> tuple[str, ...]:
    """The addresses ``link`` has of its own (none: it sends to the install's)."""
    return tuple(appstate.get(link, LINK_TO, []))


def save_link_addresses(link: Link, addresses: list[str]) -> None:
    """Give ``link`` its own addresses; none sends its mails to the install's again."""
    if addresses or link_addresses(link):
        appstate.put(link, LINK_TO, list(addresses))
        logger.info("alert addresses of link %s saved (%d)", link.id, len(addresses))


def save(values: dict, password: str | None = None, *, forget_password: bool = False) -> None:
    """Store the settings; an empty ``password`` keeps the stored one."""
    row = row_for_update()
    for name in FIELDS:
        if name in values:
            setattr(row, name, values[name])
    if forget_password:
        row.smtp_password_encrypted = None
    elif password:
        row.smtp_password_encrypted = current_app.extensions["pp2eb_vault"].encrypt(password)
    db.session.commit()
    logger.info("alert settings saved (alerts %s)", "on" if row.alerts_enabled else "off")


def link(endpoint: str, link_id: int, **values) -> str | None:
    """An absolute link to a page of link ``link_id`` for a mail, when ``PUBLIC_URL`` says where
    pp2eb is reachable; under the link's own address when the install has several links."""
    base = (current_app.config.get("PUBLIC_URL") or "").strip().rstrip("/")
    if not base:
        return None
    if len(links.live()) > 1:
        values["link_id"] = link_id
    parts = urlsplit(base)
    adapter = current_app.url_map.bind(
        parts.netloc, script_name=parts.path or "/", url_scheme=parts.scheme or "https"
    )
    return adapter.build(endpoint, values, force_external=True)
