"""Reading and writing a link's ``LinkState`` facts as JSON (its schedule's pause, its last
export, the wizard's saved steps). Install-wide facts are ``AppState`` rows, kept by their
owners (``web.security``, ``runs.webhook_inbox``)."""

from __future__ import annotations

import json
from typing import Any

from pp2eb.extensions import db
from pp2eb.models import Link, LinkState

SCHEDULE_PAUSED = "schedule_paused"
EXPORT = "export"


def get(link: Link, key: str, default: Any = None) -> Any:
    """The value stored under ``key`` for ``link``, or ``default``."""
    row = db.session.get(LinkState, (link.id, key))
    return json.loads(row.value) if row is not None else default


def put(link: Link, key: str, value: Any) -> None:
    """Store ``value`` under ``key`` for ``link`` and commit."""
    row = db.session.get(LinkState, (link.id, key))
    if row is None:
        row = LinkState(link_id=link.id, key=key, value="null")
        db.session.add(row)
    row.value = json.dumps(value)
    db.session.commit()


def get_each(links: list[Link], key: str, default: Any = None) -> dict[int, Any]:
    """The value stored under ``key`` for each link (``default`` where none), by link id, in one
    query for all of them."""
    rows = db.session.execute(
        db.select(LinkState).where(
            LinkState.key == key, LinkState.link_id.in_([link.id for link in links])
        )
    ).scalars()
    stored = {row.link_id: json.loads(row.value) for row in rows}
    return {link.id: stored.get(link.id, default) for link in links}
