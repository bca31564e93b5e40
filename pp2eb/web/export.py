"""Export existing invoices: a date range, a preview (a dry run), then booking in the background."""

from __future__ import annotations

from datetime import date

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from pp2eb.apis import errors as apierrors
from pp2eb.engine.preview import Summary, dry_run
from pp2eb.engine.store import Store
from pp2eb.engine.sync import backfill_orders
from pp2eb.extensions import db
from pp2eb.reports import records
from pp2eb.runs import background, jobs
from pp2eb.setup import appstate
from pp2eb.web import current
from pp2eb.web.dashboard_forms import ExportForm

bp = current.LinkBlueprint("export", __name__, url_prefix="/export")

MAX_PROBLEMS = 200


def preview(since: date, until: date | None) -> tuple[Summary, list]:
    """Dry-run the range: totals, and the orders that would not be booked as they are."""
    pp, eb = jobs.build_clients(current.link())
    settings = jobs.load_settings(current.link())
    summary, problems = Summary(), []
    with eb:
        orders = backfill_orders(pp, since, until)
        for item in dry_run(pp, eb, Store(db.session, current.link().id), settings, orders):
            summary.add(item)
            if (item.error or item.wait) and len(problems) < MAX_PROBLEMS:
                problems.append(item)
    return summary, problems


@bp.route("", methods=("GET", "POST"))
def page():
    """The form; its preview; on confirm, the backfill starts in the background."""
    form = ExportForm()
    if request.method == "GET":
        try:
            form.since.data = jobs.load_settings(current.link()).start_date
        except jobs.NotReady:
            pass
    summary = problems = None
    if form.validate_on_submit():
        since, until = form.since.data, form.until.data
        if form.confirm.data == "yes":
            appstate.put(
                current.link(),
                appstate.EXPORT,
                {
                    "since": since.isoformat(),
                    "until": until.isoformat() if until else None,
                    "expected": request.form.get("expected", type=int),
                },
            )
            background.start("backfill", current.link(), since=since, until=until)
            flash(_("The export has started. You can leave this page; it goes on."), "success")
            return redirect(url_for("export.page"))
        try:
            summary, problems = preview(since, until)
        except jobs.NotReady as exc:
            flash(str(exc), "error")
        except apierrors.ApiError as exc:
            flash(_("The preview could not be made: %(error)s", error=str(exc)), "error")
    return render_template(
        "dashboard/export.html",
        form=form,
        summary=summary,
        problems=problems,
        run=records.latest_run(current.link(), "backfill"),
        export=appstate.get(current.link(), appstate.EXPORT),
    )


@bp.get("/progress")
def progress():
    """The running (or last) export's progress, polled by the page."""
    return render_template(
        "partials/export_progress.html",
        run=records.latest_run(current.link(), "backfill"),
        export=appstate.get(current.link(), appstate.EXPORT),
    )


def processed(run) -> int:
    """How many orders a run has dealt with so far."""
    if run is None:
        return 0
    return run.booked + run.skipped + run.failed + run.waiting + run.already_booked
