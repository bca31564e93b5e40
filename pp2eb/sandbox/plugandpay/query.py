"""The Plug&Pay sandbox's query rules: validation, filters, sort, includes.

No Flask here: the app in ``plugandpay.py`` passes ``request.args`` in and turns
``ValidationError`` into Laravel's 422 answer.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pp2eb.sandbox.plugandpay.store import order_key

# inferred: 10 is the per_page of the SDK's fixture; the real default is not documented.
DEFAULT_PAGE_SIZE = 10
# inferred: no maximum is documented; third parties use up to 100, Laravel APIs often cap there.
MAX_PAGE_SIZE = 100

# include= name -> key in the order (include=discounts gives total_discounts).
INCLUDES = {
    "billing": "billing",
    "items": "items",
    "taxes": "taxes",
    "payment": "payment",
    "discounts": "total_discounts",
    "shipping": "shipping",
    "related_orders": "related_orders",
    "comments": "comments",
    "tags": "tags",
}
_INCLUDE_KEYS = frozenset(INCLUDES.values())
# inferred: the Singer tap requests these too and the API answers, so they are allowed; the
# sandbox has no data for them and leaves them out. Any other name gets the 400 that
# spatie/laravel-query-builder gives (the reference suggests a Laravel API), so a typo in a
# client shows up in tests instead of silently dropping data.
UNMODELLED_INCLUDES = frozenset(
    "checkout collection_costs commissions custom_fields is_collectible note products "
    "subscriptions".split()
)
MODES = ("live", "test")
INVOICE_STATUSES = ("final", "concept")
PAYMENT_STATUSES = ("open", "processing", "paid", "credited", "credit_invoice", "reversed")
ORDER_SORTS = {
    "id": order_key,
    "paid_at": lambda o: (o.get("payment") or {}).get("paid_at"),
    "invoice_number": lambda o: o.get("invoice_number"),
    "invoice_date": lambda o: o.get("invoice_date"),
}


class ValidationError(Exception):
    """Laravel-style validation failure: ``errors`` maps a field to its messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        first = next(iter(errors.values()))[0]
        more = sum(len(m) for m in errors.values()) - 1
        if more:
            first += f" (and {more} more error{'s' if more > 1 else ''})"
        super().__init__(first)
        self.message = first
        self.errors = errors


class IncludeError(Exception):
    """An include name the API does not allow (answered with 400)."""


def _label(name: str) -> str:
    return name.replace("_", " ")


@dataclass
class Args:
    """Validates query parameters one by one, collecting Laravel's messages."""

    source: Mapping[str, str]
    errors: dict[str, list[str]] = field(default_factory=dict)

    def raw(self, name: str) -> str | None:
        # Laravel turns empty strings into null, and a null filter is no filter.
        value = self.source.get(name)
        return value.strip() or None if value is not None else None

    def fail(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message.format(_label(name)))

    def choice(self, name: str, allowed: Iterable[str], default: str | None = None) -> str | None:
        value = self.raw(name)
        if value is not None and value not in allowed:
            self.fail(name, "The selected {} is invalid.")
        return value if value is not None else default

    def choices(self, name: str, allowed: Iterable[str]) -> list[str] | None:
        value = self.raw(name)
        if value is None:
            return None
        parts = [part.strip() for part in value.split(",") if part.strip()]
        if not parts or any(part not in allowed for part in parts):
            self.fail(name, "The selected {} is invalid.")
        return parts

    def integer(self, name: str, default: int, low: int, high: int | None = None) -> int:
        value = self.raw(name)
        if value is None:
            return default
        if not re.fullmatch(r"[+-]?\d+", value):
            self.fail(name, "The {} field must be an integer.")
            return default
        number = int(value)
        if number < low:
            self.fail(name, f"The {{}} field must be at least {low}.")
        elif high is not None and number > high:
            self.fail(name, f"The {{}} field must not be greater than {high}.")
        return number

    def moment(self, name: str, php_format: str) -> Any:
        value = self.raw(name)
        if value is None:
            return None
        py_format = php_format.replace("Y", "%Y").replace("m", "%m").replace("d", "%d")
        py_format = py_format.replace("H", "%H").replace("i", "%M").replace("s", "%S")
        try:
            parsed = datetime.strptime(value, py_format)
        except ValueError:
            parsed = None
        # strptime also takes "2026-1-5"; PHP's date_format does not.
        if parsed is None or parsed.strftime(py_format) != value:
            self.fail(name, f"The {{}} field must match the format {php_format}.")
            return None
        return parsed.date() if php_format == "Y-m-d" else parsed

    def check(self) -> None:
        if self.errors:
            raise ValidationError(self.errors)


@dataclass
class OrderQuery:
    """A validated ``GET /v2/orders`` query."""

    includes: list[str]
    page: int = 1
    limit: int = DEFAULT_PAGE_SIZE
    sort: str = "id"
    descending: bool = True
    filters: list[Any] = field(default_factory=list)


def parse_includes(value: str | None) -> list[str]:
    """The order keys an ``include=`` value asks for; IncludeError on a name not allowed."""
    names = [part.strip() for part in (value or "").split(",") if part.strip()]
    bad = [n for n in names if n not in INCLUDES and n not in UNMODELLED_INCLUDES]
    if bad:
        allowed = ", ".join(sorted([*INCLUDES, *UNMODELLED_INCLUDES]))
        raise IncludeError(
            f"Requested include(s) `{', '.join(bad)}` are not allowed. "
            f"Allowed include(s) are `{allowed}`."
        )
    return [INCLUDES[n] for n in names if n in INCLUDES]


def parse_order_query(source: Mapping[str, str]) -> OrderQuery:
    """Validate the list query; raises ValidationError (422) or IncludeError (400)."""
    includes = parse_includes(source.get("include"))
    args = Args(source)
    query = OrderQuery(
        includes=includes,
        page=args.integer("page", 1, 1),
        limit=args.integer("limit", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE),
        sort=args.choice("sort", ORDER_SORTS, "id"),
        # inferred: newest first unless asked otherwise, as Plug&Pay's own order list shows.
        descending=args.choice("direction", ("asc", "desc"), "desc") == "desc",
    )
    equal = {
        "mode": (args.choice("mode", MODES), lambda o: o.get("mode")),
        "invoice_status": (
            args.choice("invoice_status", INVOICE_STATUSES),
            lambda o: o.get("invoice_status"),
        ),
    }
    for wanted, get in equal.values():
        if wanted is not None:
            query.filters.append(lambda o, w=wanted, g=get: g(o) == w)
    statuses = args.choices("payment_status", PAYMENT_STATUSES)
    if statuses is not None:
        query.filters.append(lambda o: _payment(o).get("status") in statuses)
    _add_range(query, args, "invoice_date", "Y-m-d", _invoice_date)
    _add_range(query, args, "paid_at", "Y-m-d H:i:s", _paid_at)
    country = args.raw("country")
    if country is not None:
        if not re.fullmatch(r"[A-Za-z]{2}", country):
            args.fail("country", "The {} field must be 2 characters.")
        query.filters.append(lambda o: _contact(o, "address").get("country") == country.upper())
    email = args.raw("email")
    if email is not None:
        if "@" not in email:
            args.fail("email", "The {} field must be a valid email address.")
        wanted_email = email.lower()
        query.filters.append(
            lambda o: (_contact(o, "contact").get("email") or "").lower() == wanted_email
        )
    text = args.raw("q")
    if text is not None:
        needle = text.lower()
        query.filters.append(lambda o: needle in _search_text(o))
    args.check()
    return query


def _add_range(query: OrderQuery, args: Args, name: str, fmt: str, get: Any) -> None:
    since, until = args.moment(f"since_{name}", fmt), args.moment(f"until_{name}", fmt)
    # Both ends inclusive; an order without the value never matches a range. Values are
    # compared as ISO text ("2026-01-31", "2026-01-31 09:15:00"), which sorts like time.
    if since is not None:
        low = str(since)
        query.filters.append(lambda o: (v := get(o)) is not None and v >= low)
    if until is not None:
        high = str(until)
        query.filters.append(lambda o: (v := get(o)) is not None and v <= high)


def _payment(order: dict) -> dict:
    return order.get("payment") or {}


def _contact(order: dict, part: str) -> dict:
    return (order.get("billing") or {}).get(part) or {}


def _invoice_date(order: dict) -> str | None:
    return order.get("invoice_date") or None


def _paid_at(order: dict) -> str | None:
    # inferred: the API compares paid_at in UTC (Laravel's default app timezone); the stored
    # "2026-01-31T09:15:00.000000Z" becomes "2026-01-31 09:15:00" like the filter value.
    value = _payment(order).get("paid_at")
    return value[:19].replace("T", " ") if value else None


def _search_text(order: dict) -> str:
    # inferred: q searches invoice number, reference, customer name/company/e-mail and lines.
    contact = _contact(order, "contact")
    parts = [str(order.get("id")), order.get("invoice_number"), order.get("reference")]
    parts += [contact.get(k) for k in ("firstname", "lastname", "company", "email")]
    parts += [item.get("label") for item in order.get("items") or []]
    return " ".join(p for p in parts if p).lower()


def select_orders(orders: list[dict[str, Any]], query: OrderQuery) -> list[dict[str, Any]]:
    """Filter and sort; ties (and missing values) are ordered by id so paging is stable."""
    filters = query.filters
    kept = [o for o in orders if all(f(o) for f in filters)] if filters else list(orders)
    get = ORDER_SORTS[query.sort]

    def key(order: dict) -> tuple:
        value = get(order)
        return (value is not None, value if value is not None else "", order_key(order))

    # inferred: MySQL order: null first ascending, last descending; id breaks ties the same way.
    kept.sort(key=key, reverse=query.descending)
    return kept


def project(order: dict[str, Any], includes: Iterable[str]) -> dict[str, Any]:
    """The order as answered: include keys not asked for are absent, everything else stays."""
    wanted = set(includes)
    return {k: v for k, v in order.items() if k not in _INCLUDE_KEYS or k in wanted}
