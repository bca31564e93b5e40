"""Live lists for the set-up dropdowns, from the stored connections, cached for a short while.

Ledgers and invoice templates come from e-Boekhouden.nl, products and tax rates from Plug&Pay.
One cache per process, keyed by service and then by list; an entry belongs to the stored
connection it was read with, so connecting another account never shows the old account's
lists. Failures are not cached: a retry asks the API again. No request handling here; it needs
an app context only for the stored credentials and the configured time-out.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

import requests
from flask import current_app
from flask_babel import gettext as _

from pp2eb.apis import eboekhouden, plugandpay, words
from pp2eb.apis import errors as apierrors
from pp2eb.mapping.booking import Ledger, Template
from pp2eb.mapping.order import TaxRate
from pp2eb.models import Credential, Link
from pp2eb.setup import connections

logger = logging.getLogger(__name__)

CACHE_SECONDS = 60.0
# Someone is waiting for the page: one retry at most, and never a long wait before it.
MAX_ATTEMPTS = 2
MAX_WAIT = 2.0

T = TypeVar("T")

# Why a list could not be loaded; the web layer turns each into words and advice.
NOT_CONNECTED, UNREADABLE, REFUSED, RATE_LIMITED, UNAVAILABLE, REJECTED, ERROR = (
    "not_connected",
    "unreadable",
    "refused",
    "rate_limited",
    "unavailable",
    "rejected",
    "error",
)


class LookupFailed(Exception):
    """A live list could not be loaded; ``reason`` is one of the constants above."""

    def __init__(self, service: str, reason: str, detail: str = "") -> None:
        super().__init__(f"{service}: {reason} {detail}".strip())
        self.service = service
        self.reason = reason
        self.detail = detail


def describe(exc: LookupFailed) -> str:
    """Why a call failed and what to do, in words for the shop owner (``pp2eb.apis.words``)."""
    name = connections.SERVICES[exc.service]
    if exc.reason == NOT_CONNECTED:
        return _("%(name)s is not connected yet. Connect it first, then try again.", name=name)
    if exc.reason == UNREADABLE:
        return str(connections.SecretLost(exc.service))
    if exc.reason == REFUSED:
        return words.refused_stored_key(name, _)
    if exc.reason == RATE_LIMITED:
        return words.rate_limited(name, _)
    if exc.reason == UNAVAILABLE:
        return words.unreachable(name, exc.detail, _)
    if exc.reason == REJECTED:
        return words.refused_request(name, exc.detail, _)
    return words.unreadable_answer(name, exc.detail, _)


@dataclass(frozen=True)
class Product:
    """A Plug&Pay product and the ledger code Plug&Pay keeps on it (None when it has none)."""

    id: int
    title: str
    ledger: str | None


_lock = threading.Lock()
# service -> (link id, list name) -> (expires at, connection fingerprint, value)
_cache: dict[str, dict[str, tuple[float, str, Any]]] = {}


def clear(service: str | None = None) -> None:
    """Forget the cached lists of ``service`` (of both services when None)."""
    with _lock:
        if service is None:
            _cache.clear()
        else:
            _cache.pop(service, None)


def ledgers(link: Link, category: str | None = None, *, fresh: bool = False) -> list[Ledger]:
    """The e-Boekhouden ledgers, of one category (DEB, VW, BAL ...) when given, by code."""
    # One list of all ledgers serves every category: one call instead of one per dropdown.
    every = _cached(link, Credential.EBOEKHOUDEN, "ledgers", _read_ledgers, fresh)
    return [ledger for ledger in every if category is None or ledger.category == category]


def invoice_templates(link: Link, *, fresh: bool = False) -> list[Template]:
    """The active e-Boekhouden invoice templates (factuursjablonen), by name."""
    return _cached(link, Credential.EBOEKHOUDEN, "templates", _read_templates, fresh)


def products(link: Link, *, fresh: bool = False) -> list[Product]:
    """The Plug&Pay products, by title."""
    return _cached(link, Credential.PLUGANDPAY, "products", _read_products, fresh)


def tax_rates(link: Link, *, fresh: bool = False) -> list[TaxRate]:
    """The Plug&Pay tax rates, one per ``COUNTRY:RATE``, NL first, then by country and rate."""
    return _cached(link, Credential.PLUGANDPAY, "tax_rates", _read_tax_rates, fresh)


def call(link: Link, service: str, read: Callable[[Any], T]) -> T:
    """``read(client)`` with a client of the link's stored connection of ``service``;
    LookupFailed with the reason when it cannot be made or the API fails (no cache: for calls
    that change things)."""
    credential = connections.get_credential(link, service)
    if credential is None:
        raise LookupFailed(service, NOT_CONNECTED)
    return _call(service, credential, read)


def _cached(
    link: Link, service: str, name: str, read: Callable[[Any], list[T]], fresh: bool
) -> list[T]:
    credential = connections.get_credential(link, service)
    if credential is None:
        raise LookupFailed(service, NOT_CONNECTED)
    fingerprint = f"{credential.id}|{credential.base_url}|{credential.connected_at.isoformat()}"
    now = time.monotonic()
    with _lock:
        hit = _cache.get(service, {}).get((link.id, name))
    if hit is not None and not fresh and hit[0] > now and hit[1] == fingerprint:
        return list(hit[2])  # a copy: callers may extend it, the cache stays as read
    value = _call(service, credential, read)
    seconds = float(current_app.config.get("LOOKUP_CACHE_SECONDS", CACHE_SECONDS))
    with _lock:
        _cache.setdefault(service, {})[(link.id, name)] = (now + seconds, fingerprint, value)
    return list(value)


def _call(service: str, credential: Credential, read: Callable[[Any], T]) -> T:
    options = {
        "timeout": current_app.config["HTTP_TIMEOUT"],
        "max_attempts": MAX_ATTEMPTS,
        "sleep": lambda seconds: time.sleep(min(seconds, MAX_WAIT)),
    }
    try:
        secret = connections.read_secret(credential)
    except connections.SecretLost as exc:
        raise LookupFailed(service, UNREADABLE) from exc
    try:
        if service == Credential.EBOEKHOUDEN:
            with eboekhouden.EBoekhoudenClient(secret, credential.base_url, **options) as client:
                return read(client)
        return read(plugandpay.PlugAndPayClient(secret, credential.base_url, **options))
    except apierrors.AuthError as exc:
        raise _failed(service, REFUSED, exc) from exc
    except apierrors.RateLimited as exc:
        raise _failed(service, RATE_LIMITED, exc) from exc
    except (apierrors.Unavailable, requests.RequestException) as exc:
        raise _failed(service, UNAVAILABLE, exc) from exc
    except apierrors.Rejected as exc:
        raise _failed(service, REJECTED, exc) from exc
    except (apierrors.ApiError, ValueError, KeyError, TypeError) as exc:
        # A refused request or an answer we cannot read: a person has to look at it.
        raise _failed(service, ERROR, exc) from exc


def _failed(service: str, reason: str, exc: Exception) -> LookupFailed:
    status = getattr(exc, "status", None)
    detail = f"HTTP {status}" if status else type(exc).__name__
    logger.warning("a call to %s failed (%s): %s", service, reason, exc)
    return LookupFailed(service, reason, detail)


def _read_ledgers(client: eboekhouden.EBoekhoudenClient) -> list[Ledger]:
    found = [
        Ledger(
            int(item["id"]),
            str(item["code"]),
            str(item.get("description") or ""),
            str(item.get("category") or ""),
        )
        for item in client.iter_ledgers(limit=eboekhouden.MAX_PAGE_SIZE)
    ]
    return sorted(found, key=lambda ledger: ledger.code)


def _read_templates(client: eboekhouden.EBoekhoudenClient) -> list[Template]:
    # inferred: an inactive template cannot be used for new invoices, so it is not offered.
    found = [
        Template(int(item["id"]), str(item["name"]))
        for item in client.list_invoice_templates()
        if item.get("active", True) is not False
    ]
    return sorted(found, key=lambda template: template.name.lower())


def _read_products(client: plugandpay.PlugAndPayClient) -> list[Product]:
    found = []
    for item in client.iter_products():
        ledger = item.get("ledger")
        title = item.get("title") or item.get("public_title") or f"#{item['id']}"
        found.append(Product(int(item["id"]), str(title), str(ledger) if ledger else None))
    return sorted(found, key=lambda product: (product.title.lower(), product.id))


def _read_tax_rates(client: plugandpay.PlugAndPayClient) -> list[TaxRate]:
    rates: dict[str, TaxRate] = {}
    for item in client.list_tax_rates():
        try:
            rate = TaxRate(str(item["country"]).upper(), Decimal(str(item["percentage"])))
        except InvalidOperation as exc:
            raise ValueError(f"tax rate {item.get('id')} has no readable percentage") from exc
        rates.setdefault(rate.key, rate)
    return sorted(rates.values(), key=lambda r: (r.country != "NL", r.country, -r.percentage))
