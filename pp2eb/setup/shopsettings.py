"""The shop owner's settings in the database: a draft the wizard fills step by step.

The wizard saves one step at a time, so what is stored may be incomplete; ``load()`` turns it
into a complete, checked ``Settings`` or raises ``SettingsError`` naming what is missing.
"""

from __future__ import annotations

import json
from typing import Any

from pp2eb.extensions import db
from pp2eb.mapping.settings import DEFAULTS, Settings, upgraded_vat_map
from pp2eb.models import ShopSettings


def _row() -> ShopSettings | None:
    return db.session.get(ShopSettings, 1)


def load_draft() -> dict[str, Any]:
    """The stored settings over the defaults, as plain JSON data (may be incomplete)."""
    row = _row()
    stored = json.loads(row.data) if row is not None else {}
    draft = {**json.loads(json.dumps(DEFAULTS)), **stored}
    if isinstance(draft.get("vat_map"), dict):
        # Saved before goods and services had their own VAT rows: read (and export) it as now.
        draft["vat_map"] = upgraded_vat_map(draft["vat_map"])
    return draft


def save_draft(values: dict[str, Any]) -> dict[str, Any]:
    """Merge ``values`` into the stored draft and commit; return the new draft."""
    draft = {**load_draft(), **values}
    row = _row()
    if row is None:
        row = ShopSettings(id=1, data="{}")
        db.session.add(row)
    row.data = json.dumps(draft, sort_keys=True)
    db.session.commit()
    return draft


def load() -> Settings:
    """The complete settings; ``SettingsError`` when something is missing or wrong."""
    return Settings.from_dict(load_draft())


def replace(settings: Settings) -> None:
    """Store ``settings`` as a whole (``flask settings import``)."""
    save_draft(settings.to_dict())


def is_stored() -> bool:
    """True once anything has been saved."""
    return _row() is not None
