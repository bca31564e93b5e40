"""Connecting the two accounts: check a key live, store it encrypted, build clients from it.

No request handling here: the connect pages and the ``flask connect`` commands both call these.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

import requests
from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext

from pp2eb.apis import eboekhouden, plugandpay, words
from pp2eb.apis import errors as apierrors
from pp2eb.extensions import db
from pp2eb.mapping.vatcodes import VAT_ROUNDINGS
from pp2eb.models import Credential, Link, utcnow
from pp2eb.setup import crypto, links

logger = logging.getLogger(__name__)

SERVICES = {
    Credential.PLUGANDPAY: words.PLUGANDPAY,
    Credential.EBOEKHOUDEN: words.EBOEKHOUDEN,
}


class ConnectError(Exception):
    """The key could not be checked or was refused; the message says why, for a person."""


class SecretLost(ConnectError):
    """A stored key cannot be decrypted with this install's encryption key; connect again."""

    def __init__(self, service: str) -> None:
        name = SERVICES.get(service, service)
        super().__init__(
            _(
                "The stored key of %(name)s cannot be read with this install's encryption key "
                "(was instance/encryption.key or PP2EB_ENCRYPTION_KEY changed?). "
                "Connect %(name)s again; nothing else is lost.",
                name=name,
            )
        )
        self.service = service


@dataclass(frozen=True)
class Connection:
    """What a checked key connected to."""

    service: str
    base_url: str
    account_name: str

    @property
    def description(self) -> str:
        """What it connected to, in words."""
        return describe_account(self.account_name)


def describe_account(account_name: str) -> str:
    """A stored account name in words: the tenant's name, or the administration's figures."""
    try:
        figures = json.loads(account_name)
    except ValueError:
        return account_name
    if not isinstance(figures, dict) or {"ledgers", "templates"} - set(figures):
        return account_name
    return _(
        "administration with %(ledgers)s and %(templates)s",
        ledgers=ngettext("%(num)d ledger", "%(num)d ledgers", figures["ledgers"]),
        templates=ngettext(
            "%(num)d invoice template", "%(num)d invoice templates", figures["templates"]
        ),
    )


def default_base_url(service: str) -> str:
    """The configured address, the sandbox in demo mode, else the real API."""
    cfg = current_app.config
    configured = cfg[f"{service.upper()}_BASE_URL"]
    if configured:
        return configured
    if cfg["DEMO"]:
        from pp2eb.sandbox import base_urls

        return base_urls(cfg["SANDBOX_HOST"], cfg["SANDBOX_PORT"])[service]
    if service == Credential.PLUGANDPAY:
        return plugandpay.PRODUCTION_BASE_URL
    return eboekhouden.PRODUCTION_BASE_URL


def _explain(service: str, exc: Exception) -> str:
    name = SERVICES[service]
    if isinstance(exc, apierrors.AuthError):
        return words.refused_new_key(name, _)
    if isinstance(exc, apierrors.RateLimited):
        return words.rate_limited(name, _)
    if isinstance(exc, apierrors.Unavailable):
        return words.unreachable(name, exc.particulars(), _, advice=words.CHECK_THE_ADDRESS)
    if isinstance(exc, apierrors.Rejected):
        return words.refused_request(name, exc.particulars(), _)
    if isinstance(exc, apierrors.ApiError):
        return words.unreadable_answer(name, exc.particulars(), _)
    return words.unreachable(name, type(exc).__name__, _, advice=words.CHECK_THE_ADDRESS)


def check(service: str, secret: str, base_url: str) -> Connection:
    """Check ``secret`` live against the API at ``base_url``; raise ConnectError if it fails."""
    # Someone is waiting for the answer: one retry at most, not the sync's patient backoff.
    options = {"timeout": current_app.config["HTTP_TIMEOUT"], "max_attempts": 2}
    try:
        if service == Credential.PLUGANDPAY:
            client = plugandpay.PlugAndPayClient(secret, base_url, **options)
            tenant = client.get_tenant()
            account = f"{tenant.get('name') or 'Plug&Pay'} (tenant {tenant.get('id')})"
        else:
            client = eboekhouden.EBoekhoudenClient(secret, base_url, **options)
            with client:
                client.start_session()
                ledgers = sum(1 for _ in client.iter_ledgers())
                templates = len(client.list_invoice_templates())
            # Stored as figures, put into words in the reader's language when shown.
            account = json.dumps({"ledgers": ledgers, "templates": templates})
    except (apierrors.ApiError, requests.RequestException, ValueError) as exc:
        message = _explain(service, exc)
        logger.warning("connection check of %s failed: %s", service, message)
        raise ConnectError(message) from exc
    return Connection(service, base_url, account)


def connect(link: Link, service: str, secret: str, base_url: str | None = None) -> Connection:
    """Check the secret live, then store it encrypted as the link's, with what it connected to.

    A link still called by the placeholder name takes its Plug&Pay tenant's name.
    """
    secret = secret.strip()
    base_url = (base_url or "").strip().rstrip("/") or default_base_url(service)
    connection = check(service, secret, base_url)
    vault = current_app.extensions["pp2eb_vault"]
    credential = get_credential(link, service)
    if credential is None:
        credential = Credential(link_id=link.id, service=service)
        db.session.add(credential)
    if credential.vat_rounding_by != Credential.BY_HAND:
        # Another token may open another administration: learn its VAT rounding afresh.
        credential.vat_rounding = credential.vat_rounding_by = credential.vat_rounding_from = None
    credential.secret_encrypted = vault.encrypt(secret)
    credential.base_url = base_url
    credential.account_name = connection.account_name
    credential.connected_at = credential.checked_at = utcnow()
    credential.last_error = None
    if service == Credential.PLUGANDPAY:
        links.name_after_tenant(link, connection.account_name)
    db.session.commit()
    logger.info("connected %s at %s", service, base_url)
    return connection


def set_vat_rounding(link: Link, mode: str | None) -> None:
    """Set how the e-Boekhouden administration rounds VAT by hand (``VAT_ROUNDINGS``), or with
    None let pp2eb learn it again from a booking (``pp2eb.engine.vat_rounding``)."""
    if mode is not None and mode not in VAT_ROUNDINGS:
        raise ValueError(f"VAT rounding must be one of {', '.join(VAT_ROUNDINGS)}")
    credential = get_credential(link, Credential.EBOEKHOUDEN)
    if credential is None:
        raise ConnectError(_("Connect %(name)s first.", name=SERVICES[Credential.EBOEKHOUDEN]))
    credential.vat_rounding = mode
    credential.vat_rounding_by = Credential.BY_HAND if mode else None
    credential.vat_rounding_from = None
    db.session.commit()
    logger.info("VAT rounding set by hand: %s", mode or "learn from a booking")


def disconnect(link: Link, service: str) -> bool:
    """Remove the link's stored secret of ``service``; True when there was one."""
    deleted = db.session.execute(
        db.delete(Credential).filter_by(link_id=link.id, service=service)
    ).rowcount
    db.session.commit()
    return bool(deleted)


def get_credential(link: Link, service: str) -> Credential | None:
    """The link's stored connection of ``service``, if any."""
    return db.session.execute(
        db.select(Credential).filter_by(link_id=link.id, service=service)
    ).scalar_one_or_none()


def read_secret(credential: Credential) -> str:
    """The decrypted secret of a stored connection; SecretLost when it cannot be read."""
    try:
        return current_app.extensions["pp2eb_vault"].decrypt(credential.secret_encrypted)
    except crypto.SecretUnreadable as exc:
        logger.warning("the stored %s key cannot be decrypted", credential.service)
        raise SecretLost(credential.service) from exc


def readable(credential: Credential) -> bool:
    """Whether the stored secret can still be decrypted (the encryption key did not change)."""
    try:
        read_secret(credential)
    except SecretLost:
        return False
    return True
