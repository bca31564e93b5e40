"""The webhook rule in Plug&Pay that calls this app: found, registered, removed, renewed.

A rule is ours when its URL ends in our secret: nobody else can know it, and the address before
it may change (``PUBLIC_URL``), which the card then shows. Registering makes the rule pp2eb
needs: trigger ``order_paid``, action ``call_webhook``, driver ``webhook``, name ``pp2eb``.
Someone is waiting for each of these calls, so the client tries twice at most.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from pp2eb.apis import errors as apierrors
from pp2eb.apis.plugandpay import PlugAndPayClient
from pp2eb.models import Credential, Link
from pp2eb.runs import webhook_inbox as inbox
from pp2eb.setup import lookups

logger = logging.getLogger(__name__)

RULE_NAME = "pp2eb"
TRIGGER = "order_paid"


class RulesUnavailable(Exception):
    """Plug&Pay could not be asked; the message says why, for a person."""

    def __init__(self, message: str, *, connected: bool = True) -> None:
        super().__init__(message)
        self.connected = connected


def rule_url(rule: dict) -> str:
    """The address a webhook rule calls (``hook_url`` in answers, ``url`` in requests)."""
    data = rule.get("action_data") or {}
    return str(data.get("hook_url") or data.get("url") or "")


def is_ours(rule: dict, secret: str) -> bool:
    """True when the rule calls a URL that ends in ``secret``."""
    return rule_url(rule).rstrip("/").endswith("/" + secret)


def _calling(link: Link, call: Callable[[PlugAndPayClient], object]):
    try:
        return lookups.call(link, Credential.PLUGANDPAY, call)
    except lookups.LookupFailed as exc:
        connected = exc.reason != lookups.NOT_CONNECTED
        raise RulesUnavailable(lookups.describe(exc), connected=connected) from exc


def find(link: Link, secret: str) -> list[dict]:
    """Our rules in the link's Plug&Pay."""
    return _calling(
        link, lambda pp: [r for r in pp.iter_rules(driver="webhook") if is_ours(r, secret)]
    )


def register(link: Link, url: str, secret: str) -> dict:
    """Make sure a rule calls ``url`` when an order is paid; the rule (existing or new)."""
    for rule in find(link, secret):
        if rule_url(rule) == url and rule.get("trigger_type") == TRIGGER:
            return rule
    return _create(link, url)


def _create(link: Link, url: str) -> dict:
    rule = _calling(
        link, lambda pp: pp.create_rule(name=RULE_NAME, trigger_type=TRIGGER, hook_url=url)
    )
    logger.info("webhook rule %s registered in Plug&Pay", rule.get("id"))
    return rule


def _delete(pp: PlugAndPayClient, rules: list[dict]) -> int:
    for rule in rules:
        try:
            pp.delete_rule(rule["id"])
        except apierrors.NotFound:
            pass  # already gone: what we wanted
    return len(rules)


def remove(link: Link, secret: str) -> int:
    """Delete our rules from Plug&Pay; how many there were."""
    rules = find(link, secret)
    return _calling(link, lambda pp: _delete(pp, rules))


def rotate(link: Link, url_for_secret: Callable[[str], str]) -> tuple[bool, str | None]:
    """A new secret, and our rule in Plug&Pay replaced by one that calls the new URL.

    The secret is renewed even when Plug&Pay cannot be asked (a leaked secret must go at once).
    Returns whether a rule was re-registered, and a problem in words (or None).
    """
    old = inbox.stored_secret(link)
    problem = None
    try:
        had = find(link, old) if old else []
    except RulesUnavailable as exc:
        had, problem = [], str(exc) if exc.connected else None
    new = inbox.rotate_secret(link)
    if not had:
        return False, problem
    try:
        _calling(link, lambda pp: _delete(pp, had))
        _create(link, url_for_secret(new))
    except RulesUnavailable as exc:
        return False, str(exc)
    return True, None
