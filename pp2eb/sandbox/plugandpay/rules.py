"""The Plug&Pay sandbox's rules (``/v2/rules``): where webhooks are configured.

As the official SDK shows them (``RuleService``, its fixtures and tests): list with Laravel
paging and the filters ``driver``, ``limit``, ``page``; show, create (201), update (PATCH), delete
(204) and bulk delete with ``{"ids": [...]}`` (204). A webhook is a rule with driver ``webhook``
and action ``call_webhook``; the sandbox calls its URL (see ``webhooks.py``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response, request

from pp2eb import jsonutil
from pp2eb.sandbox.plugandpay.query import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, Args, ValidationError

# inferred: the help centre lists these triggers (affiliate accepted/denied/quit, invoice created,
# order paid, subscription ended); the SDK confirms order_paid and uses order_created, third-party
# code shows order_invoice_created. The others are our snake_case of the help centre's names.
TRIGGER_TYPES = (
    "order_paid",
    "order_created",
    "order_invoice_created",
    "subscription_ended",
    "affiliate_accepted",
    "affiliate_denied",
    "affiliate_quit",
)
# inferred: only webhooks are modelled; Plug&Pay's other rule actions and drivers are not known.
ACTION_TYPES = ("call_webhook",)
DRIVERS = ("webhook",)
MAX_URL = 2048


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000000Z")


def hook_url(rule: Mapping[str, Any]) -> str | None:
    """The URL a webhook rule calls."""
    data = rule.get("action_data") or {}
    return data.get("hook_url") or data.get("url")


class RuleStore:
    """The tenant's rules by id; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """No rules, ids from 1 again."""
        with self._lock:
            self._rules: dict[int, dict[str, Any]] = {}
            self._next = 1

    def all(self) -> list[dict[str, Any]]:
        """Every rule, by id."""
        with self._lock:
            return [dict(self._rules[key]) for key in sorted(self._rules)]

    def get(self, rule_id: int) -> dict[str, Any] | None:
        """The rule with this id, or None."""
        with self._lock:
            rule = self._rules.get(rule_id)
            return dict(rule) if rule is not None else None

    def add(self, fields: dict[str, Any]) -> dict[str, Any]:
        """Store a new rule made of validated ``fields``."""
        with self._lock:
            rule = {
                "id": self._next,
                "condition_data": {},
                "readonly": False,
                "created_at": _now(),
                "updated_at": None,
                "deleted_at": None,
                **fields,
            }
            self._rules[rule["id"]] = rule
            self._next += 1
            return dict(rule)

    def update(self, rule_id: int, fields: dict[str, Any]) -> dict[str, Any] | None:
        """Change the given fields of a rule; None when it does not exist."""
        with self._lock:
            rule = self._rules.get(rule_id)
            if rule is None:
                return None
            rule.update(fields, updated_at=_now())
            return dict(rule)

    def delete(self, rule_ids: list[int]) -> list[int]:
        """Delete the rules that exist of ``rule_ids``; return the ids that did not exist."""
        with self._lock:
            missing = [rule_id for rule_id in rule_ids if rule_id not in self._rules]
            if not missing:
                for rule_id in rule_ids:
                    del self._rules[rule_id]
            return missing

    def webhooks(self, trigger_type: str) -> list[dict[str, Any]]:
        """The webhook rules that fire on ``trigger_type``."""
        # inferred: condition_data (is_first, product_id) is not modelled: every order matches.
        return [
            rule
            for rule in self.all()
            if rule["trigger_type"] == trigger_type
            and rule["driver"] == "webhook"
            and rule["action_type"] == "call_webhook"
        ]


def validate(body: Any, *, partial: bool) -> dict[str, Any]:
    """The fields of a create (or, with ``partial``, an update) body; ValidationError if bad."""
    if not isinstance(body, dict):
        raise ValidationError({"body": ["The body must be a JSON object."]})
    errors: dict[str, list[str]] = {}
    fields: dict[str, Any] = {}

    def fail(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message.format(name.replace("_", " ")))

    for name, allowed in (
        ("trigger_type", TRIGGER_TYPES),
        ("action_type", ACTION_TYPES),
        ("driver", DRIVERS),
    ):
        value = body.get(name)
        if value is None or value == "":
            if not partial or name in body:
                fail(name, "The {} field is required.")
        elif value not in allowed:
            fail(name, "The selected {} is invalid.")
        else:
            fields[name] = value
    name = body.get("name")
    if name is None or name == "":
        if not partial or "name" in body:
            fail("name", "The {} field is required.")
    elif not isinstance(name, str) or len(name) > 255:
        fail("name", "The {} field must be a string of at most 255 characters.")
    else:
        fields["name"] = name
    if "condition_data" in body:
        if body["condition_data"] is not None and not isinstance(body["condition_data"], dict):
            fail("condition_data", "The {} field must be an array.")
        else:
            fields["condition_data"] = body["condition_data"] or {}
    if not partial or "action_data" in body:
        url = _url(body.get("action_data"), fail)
        if url is not None:
            # inferred: the SDK sends action_data.url and its fixtures answer action_data.hook_url.
            fields["action_data"] = {"hook_url": url}
    if errors:
        raise ValidationError(errors)
    return fields


def _url(data: Any, fail: Callable[[str, str], None]) -> str | None:
    if not isinstance(data, dict):
        fail("action_data", "The {} field must be an array.")
        return None
    url = data.get("url", data.get("hook_url"))
    field = "action_data.url"
    if url is None or url == "":
        fail(field, "The {} field is required.")
        return None
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        fail(field, "The {} field must be a valid URL.")
        return None
    if len(url) > MAX_URL:
        fail(field, f"The {{}} field must not be greater than {MAX_URL} characters.")
        return None
    return url


def _body() -> Any:
    try:
        return jsonutil.loads(request.get_data() or b"null")
    except ValueError:
        raise ValidationError({"body": ["The body must be JSON."]}) from None


def install_rules(
    app: Flask,
    rules_of: Callable[[], RuleStore],
    *,
    page: Callable[..., Response],
    json: Callable[..., Response],
    error: Callable[..., Response],
) -> None:
    """Add ``/v2/rules`` to the sandbox ``app``, on the rules ``rules_of()`` gives for the
    request (its tenant's); ``page``, ``json``, ``error`` answer its way."""

    @app.get("/v2/rules")
    def list_rules() -> Response:
        """The rules, by id, paged; ``driver`` filters."""
        args = Args(request.args)
        number = args.integer("page", 1, 1)
        limit = args.integer("limit", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
        args.check()
        chosen = rules_of().all()
        if driver := args.raw("driver"):
            chosen = [rule for rule in chosen if rule["driver"] == driver]
        return page(chosen, number, limit, lambda rule: rule)

    @app.get("/v2/rules/<int:rule_id>")
    def show_rule(rule_id: int) -> Response:
        """One rule."""
        rule = rules_of().get(rule_id)
        return json({"data": rule}) if rule is not None else error(404, "Not found.")

    @app.post("/v2/rules")
    def create_rule() -> Response:
        """A new rule: 201 with the rule."""
        return json({"data": rules_of().add(validate(_body(), partial=False))}, 201)

    @app.patch("/v2/rules/<int:rule_id>")
    def update_rule(rule_id: int) -> Response:
        """Change the given fields of a rule."""
        rules = rules_of()
        if rules.get(rule_id) is None:
            return error(404, "Not found.")
        return json({"data": rules.update(rule_id, validate(_body(), partial=True))})

    @app.delete("/v2/rules/<int:rule_id>")
    def delete_rule(rule_id: int) -> Response:
        """Delete one rule: 204."""
        if rules_of().delete([rule_id]):
            return error(404, "Not found.")
        return Response(status=204)

    @app.delete("/v2/rules")
    def delete_rules() -> Response:
        """Delete several rules at once, ``{"ids": [...]}``: 204, or 422 and none deleted."""
        body = _body()
        ids = body.get("ids") if isinstance(body, dict) else None
        if not isinstance(ids, list) or not ids:
            raise ValidationError({"ids": ["The ids field is required."]})
        bad = [n for n, i in enumerate(ids) if not isinstance(i, int) or isinstance(i, bool)]
        if bad:
            raise ValidationError(
                {f"ids.{n}": [f"The ids.{n} field must be an integer."] for n in bad}
            )
        missing = rules_of().delete(ids)
        if missing:
            # inferred: Laravel's "exists" rule on each id.
            places = [ids.index(rule_id) for rule_id in missing]
            raise ValidationError(
                {f"ids.{n}": [f"The selected ids.{n} is invalid."] for n in places}
            )
        return Response(status=204)
