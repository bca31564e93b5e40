"""Plug&Pay REST API v2 client: orders, products, tax rates, rules and the tenant. requests only.

Listings are generators that follow Plug&Pay's Laravel paging (``meta.current_page`` up to
``meta.last_page``). Amounts come back as the API sends them (decimal strings such as
``"12.10"``); any JSON fraction is a ``Decimal``, never a float.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, date, datetime
from typing import Any

import requests

from pp2eb.apis import errors as apierrors
from pp2eb.apis import words
from pp2eb.apis.http import ErrorBody, ErrorFamily, HttpClient, json_or_none, package_version

# The docs name https://api.plugandpay.nl/v2; the official PHP SDK's newer default is the .com
# host. Both serve v2; we follow the SDK.
PRODUCTION_BASE_URL = "https://api.plugandpay.com/v2"

# inferred: "shipping" and "related_orders" are not in the SDK's include enum; a Singer tap asks
# for them and docs/plugandpay-order.md reads both.
ORDER_INCLUDES = ("billing", "items", "taxes", "payment", "discounts", "shipping", "related_orders")

# inferred: the maximum page size is undocumented. Paging follows meta.last_page, so a server
# that caps the size lower still gets read to the end.
DEFAULT_PAGE_SIZE = 100


class PlugAndPayError(apierrors.ApiError):
    """Any failed Plug&Pay call."""

    api = words.PLUGANDPAY


class AuthError(PlugAndPayError, apierrors.AuthError):
    """Plug&Pay refused the API key."""


class RateLimited(PlugAndPayError, apierrors.RateLimited):
    """Plug&Pay kept answering 429."""


class Unavailable(PlugAndPayError, apierrors.Unavailable):
    """Plug&Pay answered 5xx, timed out or could not be reached."""


class Rejected(PlugAndPayError, apierrors.Rejected):
    """Plug&Pay refused the request (4xx, or a redirect)."""


class NotFound(Rejected, apierrors.NotFound):
    """The order, product or other resource does not exist in Plug&Pay."""


def read_error_body(response: requests.Response) -> ErrorBody:
    """Read a Plug&Pay error: Laravel ``{message, errors{field: [..]}}`` or Passport OAuth."""
    if 300 <= response.status_code < 400:
        return ErrorBody(
            detail="it answered with a redirect instead of data, which it does when the Accept "
            "header is wrong (it must be application/json)"
        )
    body = json_or_none(response)
    if not isinstance(body, dict):
        return ErrorBody()
    errors: list[str] = []
    first_field = None
    fields = body.get("errors")
    if isinstance(fields, dict):
        for field, messages in fields.items():
            first_field = first_field or str(field)
            for message in messages if isinstance(messages, list) else [messages]:
                errors.append(f"{field}: {message}")
    # Laravel Passport (/oauth/token) answers {error, error_description, hint}.
    code = body.get("error") if isinstance(body.get("error"), str) else None
    detail = body.get("message") or body.get("error_description") or body.get("hint")
    return ErrorBody(
        code=code,
        detail=str(detail) if detail else None,
        errors=tuple(errors),
        property_name=first_field,
    )


FAMILY = ErrorFamily(
    base=PlugAndPayError,
    auth=AuthError,
    rate_limited=RateLimited,
    unavailable=Unavailable,
    rejected=Rejected,
    not_found=NotFound,
    read_body=read_error_body,
)


def encode_filters(filters: Mapping[str, Any]) -> dict[str, str]:
    """Query parameters as the official SDK sends them: lists joined by ",", bools as 1/0,
    dates as Y-m-d, datetimes as "Y-m-d H:i:s", None and empty lists dropped."""
    params = {}
    for key, value in filters.items():
        text = _encode(key, value)
        if text is not None:
            params[key] = text
    return params


def _encode(key: str, value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        # inferred: the SDK drops False (it can never send is_deleted=0); Laravel reads "0" as
        # false, and dropping it would silently widen the filter.
        return "1" if value else "0"
    if isinstance(value, datetime):
        if key.endswith("_date"):
            return value.date().isoformat()
        if value.tzinfo is not None:
            # inferred: Plug&Pay's timestamps are UTC (created_at ends in "Z").
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        if key.endswith("_at"):
            # A bare day on a timestamp filter means the whole day.
            return value.isoformat() + (" 23:59:59" if key.startswith("until") else " 00:00:00")
        return value.isoformat()
    if isinstance(value, list | tuple):
        parts = [part for part in (_encode(key, item) for item in value) if part is not None]
        return ",".join(parts) or None
    return str(value)


class PlugAndPayClient:
    """A Plug&Pay API v2 client for one tenant, authenticated with a personal access token."""

    def __init__(
        self,
        api_key: str,
        base_url: str = PRODUCTION_BASE_URL,
        *,
        session: requests.Session | None = None,
        timeout: float = 25.0,
        max_attempts: int = 4,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not api_key:
            raise ValueError("a Plug&Pay API key is required")
        self._api_key = api_key
        self.base_url = base_url.rstrip("/")
        # The docs require "CustomApiCall/2"; the SDK works without it, so it is harmless.
        self._http = HttpClient(
            self.base_url,
            FAMILY,
            session=session,
            timeout=timeout,
            max_attempts=max_attempts,
            sleep=sleep,
            user_agent=f"pp2eb/{package_version()} CustomApiCall/2",
        )

    def __repr__(self) -> str:
        return f"PlugAndPayClient(base_url={self.base_url!r}, api_key='***')"

    def get_tenant(self) -> dict:
        """The tenant the key belongs to (``{id, name, plan}``); a cheap connection check."""
        return self._data(self._get("/auth/tenants/me"))

    def iter_orders(
        self,
        *,
        include: tuple[str, ...] | list[str] = ORDER_INCLUDES,
        limit: int = DEFAULT_PAGE_SIZE,
        **filters: Any,
    ) -> Iterator[dict]:
        """Every order matching ``filters`` (mode, invoice_status, since_paid_at ...), paged."""
        params = encode_filters({**filters, "include": include, "limit": limit})
        return self._paginate("/orders", params)

    def get_order(
        self, order_id: int, *, include: tuple[str, ...] | list[str] = ORDER_INCLUDES
    ) -> dict:
        """One order with the given includes."""
        params = encode_filters({"include": include})
        return self._data(self._get(f"/orders/{int(order_id)}", params))

    def iter_products(self, **filters: Any) -> Iterator[dict]:
        """Every product matching ``filters`` (q, type, product_ids, ...), page by page."""
        params = encode_filters({"limit": DEFAULT_PAGE_SIZE, **filters})
        return self._paginate("/products", params)

    def list_tax_rates(self, country: str | None = None) -> list[dict]:
        """The tax rates Plug&Pay knows, optionally of one country (ISO code)."""
        return list(self._paginate("/tax-rates", encode_filters({"country": country})))

    def iter_rules(self, **filters: Any) -> Iterator[dict]:
        """Every rule (webhooks among them) matching ``filters`` (driver, group, ...), paged."""
        params = encode_filters({"limit": DEFAULT_PAGE_SIZE, **filters})
        return self._paginate("/rules", params)

    def create_rule(
        self,
        *,
        name: str,
        trigger_type: str,
        hook_url: str,
        action_type: str = "call_webhook",
        driver: str = "webhook",
        condition_data: Mapping[str, Any] | None = None,
    ) -> dict:
        """A new rule that calls ``hook_url`` on ``trigger_type``; returns the rule."""
        body = {
            "name": name,
            "trigger_type": trigger_type,
            "action_type": action_type,
            "driver": driver,
            # inferred: the SDK's test sends action_data.url, its fixtures answer hook_url; both
            # are sent so that either reading of the request finds the address.
            "action_data": {"url": hook_url, "hook_url": hook_url},
            "condition_data": dict(condition_data or {}),
        }
        return self._data(self._send("POST", "/rules", body))

    def delete_rule(self, rule_id: int) -> None:
        """Delete one rule (NotFound when it is already gone)."""
        self._send("DELETE", f"/rules/{int(rule_id)}")

    def _get(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        return self._send("GET", path, params=params)

    def _send(
        self, method: str, path: str, body: Any = None, params: Mapping[str, str] | None = None
    ) -> Any:
        return self._http.request(
            method,
            path,
            params=params,
            body=body,
            headers={"Authorization": f"Bearer {self._api_key}"},
            secrets=(self._api_key,),
        )

    def _paginate(self, path: str, params: Mapping[str, str]) -> Iterator[dict]:
        page = 1
        while True:
            body = self._get(path, {**params, "page": str(page)})
            items = self._data(body)
            if not isinstance(items, list):
                raise PlugAndPayError(f"the list at {path} was not a list")
            yield from items
            meta = body.get("meta") or {}
            current = int(meta.get("current_page") or page)
            if meta.get("last_page") is not None:
                if current >= int(meta["last_page"]):
                    return
            elif not (body.get("links") or {}).get("next"):
                return  # an unpaged list, or paging without meta: the last page has no next
            if not items:
                return  # never loop on empty pages, whatever meta claims
            page = current + 1

    @staticmethod
    def _data(body: Any) -> Any:
        if not isinstance(body, dict) or "data" not in body:
            raise PlugAndPayError("the answer had no data")
        return body["data"]
