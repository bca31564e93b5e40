"""The start page: where the set-up stands."""

from __future__ import annotations

from flask import Blueprint, render_template

from pp2eb import connections

bp = Blueprint("dashboard", __name__)


@bp.get("/")
def index():
    """Show both connections and what to do next."""
    return render_template(
        "dashboard/index.html",
        services=connections.SERVICES,
        credentials={s: connections.get_credential(s) for s in connections.SERVICES},
    )
