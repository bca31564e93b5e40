"""A link's settings in the database: a draft the wizard fills step by step.

The wizard saves one step at a time, so what is stored may be incomplete; ``load()`` turns it
into a complete, checked ``Settings`` or raises ``SettingsError`` naming what is missing.
"""

from __future__ import annotations

import json
from typing import Any

from pp2eb.extensions import db
from pp2eb.mapping.settings import DEFAULTS, Settings, upgraded_vat_map
from pp2eb.models import Link, ShopSettings


def _row(link: Link) -> ShopSettings | None:
    return db.session.execute(
        db.select(ShopSettings).filter_by(link_id=link.id).order_by(ShopSettings.id).limit(1)
    ).scalar_one_or_none()


def load_draft(link: Link) -> dict[str, Any]:
    """The link's stored settings over the defaults, as plain JSON data (may be incomplete)."""
    return _draft(_row(link))


def drafts(links: list[Link]) -> dict[int, dict[str, Any]]:
    """Each link's draft (as ``load_draft``), by link id, in one query for all of them."""
    rows = db.session.execute(
        db.select(ShopSettings)
        .where(ShopSettings.link_id.in_([link.id for link in links]))
        .order_by(ShopSettings.id.desc())
    ).scalars()
    # Lowest id last, so that it is the one kept: the row ``_row`` reads.
    first = {row.link_id: row for row in rows}
    return {link.id: _draft(first.get(link.id)) for link in links}


def _draft(row: ShopSettings | None) -> dict[str, Any]:
    stored = json.loads(row.data) if row is not None else {}
    draft = {**json.loads(json.dumps(DEFAULTS)), **stored}
    if isinstance(draft.get("vat_map"), dict):
        # Saved before goods and services had their own VAT rows: read (and export) it as now.
        draft["vat_map"] = upgraded_vat_map(draft["vat_map"])
    return draft


def save_draft(link: Link, values: dict[str, Any]) -> dict[str, Any]:
    """Merge ``values`` into the link's stored draft and commit; return the new draft."""
    draft = {**load_draft(link), **values}
    row = _row(link)
    if row is None:
        row = ShopSettings(link_id=link.id, data="{}")
        db.session.add(row)
    row.data = json.dumps(draft, sort_keys=True)
    db.session.commit()
    return draft


def load(link: Link) -> Settings:
    """The link's complete settings; ``SettingsError`` when something is missing or wrong."""
    return Settings.from_dict(load_draft(link))


def replace(link: Link, settings: Settings) -> None:
    """Store ``settings`` as the link's, as a whole (``flask settings import``)."""
    save_draft(link, settings.to_dict())


def is_stored(link: Link) -> bool:
    """True once anything has been saved for the link."""
    return _row(link) is not None
