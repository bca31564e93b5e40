"""Query strings of the e-Boekhouden sandbox: paging and filters with operator suffixes.

``?code=X`` is ``[eq]``; ``code[not_eq]``, ``[like]``/``[not_like]`` (``%`` many, ``?`` one
character), ``[gt] [gte] [lt] [lte]`` and ``[range]=a,b`` (inclusive) follow
docs/reference/eboekhouden-api.md §1.4.
Only one filter per parameter.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from werkzeug.datastructures import MultiDict

from pp2eb.sandbox.eboekhouden import openapi
from pp2eb.sandbox.eboekhouden.errors import ApiError

OPERATORS = frozenset({"eq", "not_eq", "like", "not_like", "gt", "gte", "lt", "lte", "range"})
_KEY = re.compile(r"^(\w+)(?:\[(\w*)\])?$")
_FILTERABLE = "[op]"  # the spec marks filter parameters in their description


@dataclass(frozen=True)
class Filter:
    """One filter: a parameter, an operator and its typed value(s)."""

    name: str
    op: str
    values: tuple[Any, ...]


@dataclass
class Query:
    """A parsed query string: paging, filters and plain parameters (such as ``credDeb``)."""

    limit: int = 100
    offset: int = 0
    filters: list[Filter] = field(default_factory=list)
    plain: dict[str, Any] = field(default_factory=dict)


def parse(path: str, args: MultiDict, *, dates: Iterable[str] = ("date",)) -> Query:
    """Validate ``args`` against the spec's parameters of ``GET path``; raise ``ApiError``."""
    params = openapi.query_parameters(path)
    query = Query()
    seen: set[str] = set()
    for key in args:
        match = _KEY.match(key)
        # inferred: unknown query parameters are ignored, as ASP.NET model binding does.
        if match is None or match.group(1) not in params:
            continue
        name, op = match.group(1), match.group(2)
        if name in seen or len(args.getlist(key)) > 1:
            raise _bad(key, "Only one filter per parameter is allowed.")
        seen.add(name)
        param, text = params[name], args.get(key, "")
        if name in ("limit", "offset"):
            code = "PAGE_001" if name == "limit" else "PAGE_002"
            value = openapi.coerce(param["schema"], text)
            if op is not None or openapi.value_errors(param["schema"], value):
                raise ApiError(400, code, property_name=name)
            setattr(query, name, value)
        elif _FILTERABLE in param.get("description", ""):
            query.filters.append(_filter(name, op or "eq", key, text, param, name in dates))
        else:
            if op is not None:
                raise _bad(key, f"{name} takes no operator.")
            value = openapi.coerce(param["schema"], text)
            if errs := openapi.value_errors(param["schema"], value):
                raise _bad(key, f"{key}: {errs[0]}")
            query.plain[name] = value
    for name, param in params.items():
        if param.get("required") and name not in seen:
            raise _bad(name, f"'{name}' is required.")
    return query


def _filter(name: str, op: str, key: str, text: str, param: dict, is_date: bool) -> Filter:
    if op not in OPERATORS:
        raise _bad(key, f"Unknown filter operator '{op}'.")
    if op in ("like", "not_like"):
        return Filter(name, op, (text,))
    parts = text.split(",") if op == "range" else [text]
    if op == "range" and len(parts) != 2:
        raise _bad(key, "A range takes two values: from,to.")
    values = []
    for part in parts:
        value = openapi.coerce(param["schema"], part.strip())
        if errs := openapi.value_errors(param["schema"], value):
            raise _bad(key, f"{key}: {errs[0]}")
        if is_date and not _is_date(value):
            raise _bad(key, f"{key}: '{value}' is not a date (YYYY-MM-DD).")
        values.append(value)
    return Filter(name, op, tuple(values))


def _is_date(value: Any) -> bool:
    try:
        return bool(re.fullmatch(r"\d{4}-\d{2}-\d{2}", value)) and bool(
            dt.date.fromisoformat(value)
        )
    except (TypeError, ValueError):
        return False


def _bad(key: str, message: str) -> ApiError:
    return ApiError(400, "ERR_002", message, property_name=key)


def _norm(value: Any) -> Any:
    # inferred: text compares case-insensitively, like SQL Server's default collation.
    return value.casefold() if isinstance(value, str) else value


def matches(flt: Filter, actual: Any) -> bool:
    """True when a record's ``actual`` value passes the filter."""
    if flt.op in ("like", "not_like"):
        pattern = "".join(
            ".*" if ch == "%" else "." if ch == "?" else re.escape(ch) for ch in flt.values[0]
        )
        hit = actual is not None and re.fullmatch(pattern, str(actual), re.I | re.S) is not None
        return hit if flt.op == "like" else not hit
    if flt.op == "not_eq":
        return _norm(actual) != _norm(flt.values[0])
    if actual is None:
        return False
    a, vals = _norm(actual), [_norm(v) for v in flt.values]
    try:
        return {
            "eq": lambda: a == vals[0],
            "gt": lambda: a > vals[0],
            "gte": lambda: a >= vals[0],
            "lt": lambda: a < vals[0],
            "lte": lambda: a <= vals[0],
            "range": lambda: vals[0] <= a <= vals[1],
        }[flt.op]()
    except TypeError:
        return False


def select(
    records: Iterable[dict], query: Query, getters: dict[str, Callable[[dict], Any]]
) -> list[dict]:
    """The records that pass every filter of ``query``, in their original order."""
    chosen = []
    for record in records:
        if all(matches(f, getters[f.name](record)) for f in query.filters if f.name in getters):
            chosen.append(record)
    return chosen


def page(items: list[Any], query: Query) -> dict[str, Any]:
    """The list envelope ``{items, count}`` of one page."""
    # inferred: count is the number of items on this page ("the number of retrieved items").
    chosen = items[query.offset : query.offset + query.limit]
    return {"items": chosen, "count": len(chosen)}
