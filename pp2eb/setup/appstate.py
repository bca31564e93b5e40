"""Reading and writing ``AppState`` facts as JSON."""

from __future__ import annotations

import json
from typing import Any

from pp2eb.extensions import db
from pp2eb.models import AppState

SCHEDULE_PAUSED = "schedule_paused"
EXPORT = "export"


def get(key: str, default: Any = None) -> Any:
    """The value stored under ``key``, or ``default``."""
    row = db.session.get(AppState, key)
    return json.loads(row.value) if row is not None else default


def put(key: str, value: Any) -> None:
    """Store ``value`` under ``key`` and commit."""
    row = db.session.get(AppState, key)
    if row is None:
        row = AppState(key=key, value="null")
        db.session.add(row)
    row.value = json.dumps(value)
    db.session.commit()
