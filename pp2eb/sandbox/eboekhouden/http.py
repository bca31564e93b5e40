"""Request plumbing of the e-Boekhouden sandbox: JSON with Decimal, bodies, ids, tokens."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from flask import request
from flask.json.provider import DefaultJSONProvider

from pp2eb import jsonutil
from pp2eb.sandbox.eboekhouden import openapi
from pp2eb.sandbox.eboekhouden.errors import ApiError, validation


class MoneyJSONProvider(DefaultJSONProvider):
    """JSON that writes ``Decimal`` as a number and reads non-integers as ``Decimal``."""

    sort_keys = False

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        """Serialize with ``jsonutil.dumps``."""
        kwargs.pop("default", None)
        return jsonutil.dumps(obj, **kwargs)

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        """Parse with ``jsonutil.loads``."""
        return jsonutil.loads(s)


def session_token() -> str:
    """The session token of this request's ``Authorization`` header."""
    header = request.headers.get("Authorization", "").strip()
    # The official quick start sends the raw token; some clients send "Bearer <token>".
    if header[:7].lower() == "bearer ":
        header = header[7:].strip()
    return header


def json_body(schema: str, prepare: Callable[[Any], Any] | None = None) -> Any:
    """The request's JSON body, checked against a spec schema; raises ``ApiError``."""
    mimetype = request.mimetype or ""
    if mimetype != "application/json" and not mimetype.endswith("+json"):
        # inferred: the framework's 415 carries no API code.
        raise ApiError(415, None, "Content-Type must be application/json.")
    raw = request.get_data(cache=True)
    if not raw.strip():
        raise validation("DATA_01")
    try:
        body = jsonutil.loads(raw)
    except ValueError:
        raise validation("ERR_002", None, "The body is not valid JSON.") from None
    if body is None:
        raise validation("DATA_01")
    if _has_float(body):  # NaN or Infinity, which .NET's JSON reader rejects
        raise validation("ERR_002", None, "The body is not valid JSON.")
    if prepare is not None:
        body = prepare(body)
    openapi.validate_body(schema, body)
    return body


def _has_float(value: Any) -> bool:
    if isinstance(value, float):
        return True
    if isinstance(value, dict):
        return any(_has_float(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_float(v) for v in value)
    return False


def path_id(text: str) -> int:
    """A numeric id from the URL path; ERR_002 otherwise."""
    if not re.fullmatch(r"\d{1,18}", text, re.ASCII):
        raise validation("ERR_002", "id", f"id: '{text}' is not an integer.")
    return int(text)


def found(record: dict | None, code: str | None, what: str) -> dict:
    """``record``, or a 404 with the resource's not-found code."""
    if record is None:
        raise ApiError(404, code, f"{what} not found.", property_name="id")
    return record


def drop_empty_number(body: Any) -> Any:
    """The invoice body without an empty ``invoiceNumber``."""
    # "If empty, we will create a new number": an empty number is not a bad pattern (FACT_009).
    if isinstance(body, dict) and body.get("invoiceNumber") in ("", None):
        return {k: v for k, v in body.items() if k != "invoiceNumber"}
    return body
