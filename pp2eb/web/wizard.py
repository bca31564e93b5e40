"""The set-up wizard: the steps, declared once in order, and the settings overview.

Navigation, the progress bar, "next" and the overview all derive from ``STEPS``. Steps 1 and 2
are the connect pages (``pp2eb.web.connect``); the others each save their part of the settings
with ``shopsettings.save_draft``, so what the wizard writes is exactly what ``flask settings
export`` reads. Which steps the owner has saved is an ``AppState`` fact, not a setting: the
settings hold only the owner's choices.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from pp2eb.mapping.settings import Settings, SettingsError
from pp2eb.models import Credential
from pp2eb.setup import appstate, connections, shopsettings
from pp2eb.web import current, loaders
from pp2eb.web.forms import (
    CustomerCodesForm,
    DebtorForm,
    GroupLinesForm,
    InsertionForm,
    InvoicesForm,
    ReferenceForm,
    ShippingForm,
    StepForm,
    SyncForm,
)
from pp2eb.web.mapping_forms import OssForm, RevenueForm, VatForm
from pp2eb.web.payment_forms import PaymentsForm

logger = logging.getLogger(__name__)

bp = current.LinkBlueprint("wizard", __name__, url_prefix="/setup")

# The AppState key of the slugs of the steps saved in the wizard.
SAVED_STEPS = "setup_steps_saved"


@dataclass(frozen=True)
class Step:
    """One step: a connect page (``service``) or a form that saves ``form.KEYS`` and its rows."""

    slug: str
    title: Any
    form: type[StepForm] | None = None
    service: str | None = None
    # Settings keys this step writes besides the form's KEYS (its rows), for problem lookup.
    extra: tuple[str, ...] = ()

    @property
    def template(self) -> str:
        """The step's page template."""
        return f"wizard/{self.slug.replace('-', '_')}.html"

    @property
    def keys(self) -> tuple[str, ...]:
        """Every settings key this step writes."""
        form_keys = self.form.KEYS if self.form else ()
        return (*form_keys, *self.extra)


STEPS: tuple[Step, ...] = (
    Step("plugandpay", _l("Connect Plug&Pay"), service=Credential.PLUGANDPAY),
    Step("eboekhouden", _l("Connect e-Boekhouden.nl"), service=Credential.EBOEKHOUDEN),
    Step("group-lines", _l("Group order lines"), GroupLinesForm),
    Step("invoices", _l("Export existing invoices"), InvoicesForm),
    Step("reference", _l("Order or invoice numbers"), ReferenceForm),
    Step("insertion", _l("Insertion type"), InsertionForm, extra=("invoice_template",)),
    Step("debtor", _l("Debtor ledger"), DebtorForm),
    Step("revenue", _l("Revenue ledgers"), RevenueForm, extra=("product_ledgers",)),
    Step("vat", _l("VAT mapping"), VatForm, extra=("vat_map",)),
    Step("shipping", _l("Shipping costs"), ShippingForm),
    Step("oss", _l("VAT in other EU countries (OSS)"), OssForm, extra=("oss_from", "oss_ledgers")),
    Step("customer-codes", _l("Customer codes"), CustomerCodesForm),
    Step(
        "payments",
        _l("Payments"),
        PaymentsForm,
        extra=("payments_from", "payment_ledgers", "payment_fallback_ledger"),
    ),
    Step("sync", _l("Sync interval"), SyncForm),
)
BY_SLUG = {step.slug: step for step in STEPS}
EXTRA_LABELS = {
    "invoice_template": _l("Invoice template"),
    "product_ledgers": _l("Per-product ledgers"),
    "vat_map": _l("VAT codes"),
    "oss_ledgers": _l("OSS ledgers"),
    "oss_from": _l("OSS from"),
    "payments_from": _l("Book payments made from"),
    "payment_ledgers": _l("Clearing ledgers"),
    "payment_fallback_ledger": _l("Clearing ledger for any other provider"),
}


# --- progress -------------------------------------------------------------------------------


def saved_steps() -> set[str] | None:
    """Slugs of the steps saved in the wizard; None when the wizard never saved one."""
    saved = appstate.get(current.link(), SAVED_STEPS)
    return None if saved is None else {slug for slug in saved if slug in BY_SLUG}


def save_step(step: Step, values: dict[str, Any]) -> None:
    """Save the step's settings in the draft and remember that the step was done."""
    shopsettings.save_draft(current.link(), values)
    appstate.put(current.link(), SAVED_STEPS, sorted((saved_steps() or set()) | {step.slug}))
    logger.info("set-up step %s saved", step.slug)


def problem_keys() -> set[str]:
    """The settings keys that ``Settings.from_dict`` finds a problem with."""
    try:
        Settings.from_dict(shopsettings.load_draft(current.link()))
    except SettingsError as exc:
        return {m.group(1) for p in exc.problems if (m := re.match(r"([a-z_]+)[:\[]", p))}
    return set()


def finished() -> dict[str, bool]:
    """Per step slug: is it done (connected; saved and without a problem)?"""
    saved = saved_steps()
    problems = problem_keys()
    if saved is None and shopsettings.is_stored(current.link()) and not problems:
        # Complete settings that did not come from the wizard (``flask settings import``).
        saved = set(BY_SLUG)
    done = {}
    for step in STEPS:
        if step.service:
            done[step.slug] = connections.get_credential(current.link(), step.service) is not None
        else:
            done[step.slug] = step.slug in (saved or set()) and not problems & set(step.keys)
    return done


def step_url(step: Step) -> str:
    """Where a step is done: its connect page or its wizard page."""
    if step.service:
        return url_for("connect.page", service=step.service)
    return url_for("wizard.step", slug=step.slug)


def next_step_url() -> str | None:
    """The URL of the first unfinished step, or None when the set-up is complete."""
    done = finished()
    return next((step_url(step) for step in STEPS if not done[step.slug]), None)


def progress(current: Step) -> dict[str, Any]:
    """What the progress bar shows: every step, which are done, which is current, what's next."""
    done = finished()
    index = STEPS.index(current)
    following = STEPS[index + 1] if index + 1 < len(STEPS) else None
    items = [
        {"number": n, "step": s, "url": step_url(s), "done": done[s.slug], "current": s == current}
        for n, s in enumerate(STEPS, start=1)
    ]
    # On a connect page the page's own form connects; the bar offers the way on once it did.
    go_on = following is not None and current.service is not None and done[current.slug]
    return {
        "steps": items,
        "number": index + 1,
        "done_count": sum(done.values()),
        "total": len(STEPS),
        "next_url": step_url(following) if go_on else None,
        "next_title": following.title if following else None,
    }


def progress_on_connect_pages() -> dict[str, Any]:
    """Show the progress bar on the connect pages (steps 1 and 2) while the set-up is unfinished."""
    if request.endpoint != "connect.page" or not request.view_args:
        return {}
    step = next((s for s in STEPS if s.service == request.view_args.get("service")), None)
    if step is None or next_step_url() is None:
        return {}
    return {"wizard_progress": progress(step)}


# --- views ----------------------------------------------------------------------------------


@bp.get("/")
def overview():
    """The settings page: every step, whether it is done, its current values, a link to it."""
    done = finished()
    draft = shopsettings.load_draft(current.link())
    rows = []
    for number, step in enumerate(STEPS, start=1):
        summary = []
        if step.form:
            summary = step.form(data=step.form.initial(draft), meta={"csrf": False}).summary()
        extra = [(EXTRA_LABELS[key], _describe(draft.get(key))) for key in step.extra]
        rows.append(
            {
                "number": number,
                "step": step,
                "url": step_url(step),
                "done": done[step.slug],
                "summary": summary + extra,
            }
        )
    return render_template(
        "wizard/overview.html",
        rows=rows,
        credentials={
            s.service: connections.get_credential(current.link(), s.service) for s in STEPS[:2]
        },
        complete=all(done.values()),
    )


@bp.route("/<slug>", methods=("GET", "POST"))
def step(slug: str):
    """Show one step with its live dropdowns; save it and go on to the next."""
    step = BY_SLUG.get(slug)
    if step is None:
        abort(404)
    if step.service:
        return redirect(step_url(step))
    posted = request.method == "POST"
    source = loaders.Source(request.form, submitted=True) if posted else loaders.Source()
    loaded = loaders.load(step.form, source)
    if not loaded.problems and loaded.form.validate_on_submit():
        save_step(step, loaded.form.settings())
        target, message = _after(step)
        flash(message, "success")
        return redirect(target)
    return render_template(
        step.template,
        step=step,
        form=loaded.form,
        problems=loaded.problems,
        wizard_progress=progress(step),
        previous_url=step_url(STEPS[STEPS.index(step) - 1]),
    )


def _describe(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{key} → {code}" for key, code in sorted(value.items())) or "—"
    return str(value) if value not in (None, "") else "—"


def _after(step: Step) -> tuple[str, str]:
    """Where to go after saving, and what to say: the first unfinished step; when all are
    done, the dashboard after the last step and the overview after any other."""
    saved = _("Saved: %(step)s.", step=step.title)
    following = next_step_url()
    if following:
        return following, saved
    if step == STEPS[-1]:
        return url_for("dashboard.index"), _("The set-up is complete.")
    return url_for("wizard.overview"), saved
