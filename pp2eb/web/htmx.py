"""HTMX fragments of the set-up steps: small endpoints, each returning one partial.

Each endpoint builds its step's form with the choices filled live (``pp2eb.web.loaders``;
``?refresh=1`` bypasses the lookup cache) and renders one partial of ``templates/partials/``:
the same partial the step page includes on its first paint, so a refresh or a retry swaps it in
place. A list that could not be loaded is the partial's ``problem``: it shows what failed, what
to do and a retry button, never an empty list.
"""

from __future__ import annotations

from typing import Any

from flask import abort, render_template, request
from flask_babel import get_locale

from pp2eb.web import current
from pp2eb.web.forms import InsertionForm
from pp2eb.web.loaders import (
    LEDGER_FIELDS,
    OSS_ROWS,
    PAYMENT_ROWS,
    PRODUCT_ROWS,
    TEMPLATE_PICK,
    VAT_ROWS,
    Loaded,
    Source,
    load,
    load_ledger,
)
from pp2eb.web.mapping_forms import OssForm, RevenueForm, VatForm
from pp2eb.web.payment_forms import PaymentsForm

bp = current.LinkBlueprint("htmx", __name__, url_prefix="/htmx")


def country_name(code: str) -> str:
    """The country's name in the page's language (from Babel's CLDR data)."""
    return get_locale().territories.get(code, code)


def _source() -> Source:
    return Source(request.args, fresh=request.args.get("refresh") == "1")


@bp.get("/ledgers/<name>")
def ledger_select(name: str):
    """One ledger dropdown, filtered to the category its setting needs."""
    if name not in LEDGER_FIELDS:
        abort(404)
    loaded = load_ledger(name, _source())
    problem = loaded.problems.get(f"pick-{name}")
    return render_template("partials/ledger_select.html", field=loaded.form[name], problem=problem)


@bp.get("/invoice-template")
def template_select():
    """The invoice-template dropdown when the insertion type is a sales invoice; else nothing."""
    loaded = load(InsertionForm, _source())
    return render_template("partials/template_select.html", **_context(loaded, TEMPLATE_PICK))


@bp.get("/product-ledgers")
def product_ledgers():
    """One VW ledger dropdown per Plug&Pay product."""
    loaded = load(RevenueForm, _source())
    return render_template("partials/product_ledgers.html", **_context(loaded, PRODUCT_ROWS))


@bp.get("/vat-rows")
def vat_rows():
    """One VAT-code dropdown per Plug&Pay tax rate, plus reverse charge and outside the EU."""
    loaded = load(VatForm, _source())
    return render_template("partials/vat_rows.html", **_context(loaded, VAT_ROWS))


@bp.get("/oss-ledgers")
def oss_ledgers():
    """One BAL ledger dropdown per EU country when OSS is chosen; else nothing."""
    loaded = load(OssForm, _source())
    return render_template("partials/oss_ledgers.html", **_context(loaded, OSS_ROWS))


@bp.get("/payment-ledgers")
def payment_ledgers():
    """The date and one FIN ledger dropdown per payment provider when payments are booked."""
    loaded = load(PaymentsForm, _source())
    return render_template("partials/payment_ledgers.html", **_context(loaded, PAYMENT_ROWS))


def _context(loaded: Loaded, where: str) -> dict[str, Any]:
    return {"form": loaded.form, "problem": loaded.problems.get(where)}
