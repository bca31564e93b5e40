"""JSON with exact money: numbers parse to ``Decimal`` and ``Decimal`` is written as a number.

The standard library writes no ``Decimal`` and reads numbers as ``float``; both would put a
float on the money path. Used by the clients, the sandboxes and the settings file.
"""

from __future__ import annotations

import json
import re
import secrets
from decimal import Decimal
from typing import Any


def dumps(value: Any, **kwargs: Any) -> str:
    """``json.dumps`` that writes each ``Decimal`` as a JSON number, digit for digit."""
    # A random marker per call, so no string in the data can pass for a number.
    mark = f"dec-{secrets.token_hex(8)}:"

    def default(obj: Any) -> Any:
        if isinstance(obj, Decimal):
            if not obj.is_finite():
                raise ValueError(f"cannot write {obj} as a JSON number")
            return mark + str(obj)
        raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")

    text = json.dumps(value, default=default, **kwargs)
    return re.sub(f'"{mark}([^"]+)"', r"\1", text)


def loads(text: str | bytes) -> Any:
    """``json.loads`` that reads every non-integer number as a ``Decimal``."""
    return json.loads(text, parse_float=Decimal)
