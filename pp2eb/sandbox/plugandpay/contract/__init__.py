"""The Plug&Pay contract: a JSON Schema of what pp2eb reads, and the check of every answer.

``plugandpay.schema.json`` is transcribed field by field from the public record
(``docs/reference/plugandpay-api.md``), each definition naming its source. The sandbox checks
every answer it gives against it (``answer_violations``), the way the e-Boekhouden sandbox checks
each request against its OpenAPI subset: what the sandbox sends is the documented shape, or an
open reading ``docs/plugandpay-order.md`` lists, and never a field that no source shows. The
schema lives here, in the package, because the sandbox reads it at run time; ``tests/contract/``
holds the tests that hold it to the record and to the sandbox.
"""

from __future__ import annotations

import functools
import json
import logging
import threading
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

logger = logging.getLogger(__name__)

SCHEMA_PATH = Path(__file__).resolve().parent / "plugandpay.schema.json"
# Endpoint (the sandbox view's name) -> (envelope, definition of each item in ``data``). Orders
# are checked whole, once, when they enter the sandbox's store (``OrderStore.put``; they never
# change there), and an answer only leaves out the includes not asked for: checking them again
# on every page would cost the sandbox a millisecond an order.
ANSWERS: dict[str, tuple[str, str | None]] = {
    "list_orders": ("page", None),
    "show_order": ("one", None),
    "list_products": ("page", "product"),
    "show_product": ("one", "product"),
    "list_tax_rates": ("unpaged", "tax_rate"),
    "tenant": ("one", "tenant"),
    "list_rules": ("page", "rule"),
    "show_rule": ("one", "rule"),
    "create_rule": ("one", "rule"),
    "update_rule": ("one", "rule"),
}
MAX_SHOWN = 5  # violations named per value; the first is usually the cause of the rest


class ContractError(Exception):
    """The sandbox was about to send something the contract does not allow."""

    def __init__(self, found: list[str]) -> None:
        super().__init__("; ".join(found))
        self.violations = found


class ContractLog:
    """What the sandbox found itself sending off the contract; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._found: list[dict[str, Any]] = []

    def report(self, where: str, found: list[str]) -> None:
        """Remember (and log) the violations of one answer or webhook."""
        logger.error("sandbox answer off the Plug&Pay contract (%s): %s", where, found[0])
        with self._lock:
            self._found.append({"where": where, "violations": found})

    def snapshot(self) -> list[dict[str, Any]]:
        """Every report so far, oldest first."""
        with self._lock:
            return list(self._found)

    def clear(self) -> None:
        """Forget the reports."""
        with self._lock:
            self._found.clear()


@functools.cache
def load_schema() -> dict[str, Any]:
    """The contract schema, read once from the package."""
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


@functools.cache
def _validator(name: str) -> Draft202012Validator:
    schema = load_schema()
    return Draft202012Validator({"$defs": schema["$defs"], "$ref": f"#/$defs/{name}"})


def _path(where: str, parts: Any) -> str:
    text = where
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "the answer"


def violations(name: str, value: Any, where: str = "") -> list[str]:
    """How ``value`` breaks the definition ``name`` of the schema, outer places first."""
    errors = sorted(_validator(name).iter_errors(value), key=lambda e: len(e.absolute_path))
    return [f"{_path(where, e.absolute_path)}: {e.message}" for e in errors[:MAX_SHOWN]]


def answer_violations(endpoint: str | None, status: int, body: Any) -> list[str]:
    """How one answer of the sandbox (the decoded JSON body) breaks the contract."""
    if status >= 400:
        return violations("error", body)
    if endpoint not in ANSWERS:
        return [f"{endpoint}: the contract has no answer for this endpoint"]
    envelope, item = ANSWERS[endpoint]
    found = violations(envelope, body)
    data = body.get("data") if isinstance(body, dict) and item else None
    if isinstance(data, list):
        for index, value in enumerate(data):
            found += violations(item, value, f"data[{index}]")
    elif isinstance(data, dict):
        found += violations(item, data, "data")
    return found


def check_order(order: Any) -> None:
    """Raise ContractError unless ``order`` (with every include) is in the contract."""
    where = f"order {order.get('id')}" if isinstance(order, dict) else "order"
    found = violations("order", order, where)
    if found:
        raise ContractError(found)
