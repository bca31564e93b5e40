"""The dashboard: connections, the schedule, runs, orders, and "Sync now"."""

from __future__ import annotations

from decimal import Decimal

from flask import (
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _

from pp2eb.mapping import payloads
from pp2eb.models import SyncRun, utcnow
from pp2eb.reports import oss_watch, overview, records
from pp2eb.runs import background, scheduler
from pp2eb.setup import access, appstate, connections, lookups
from pp2eb.states import OrderState, RunStatus
from pp2eb.web import current
from pp2eb.web.dashboard_forms import SkipForm
from pp2eb.web.forms import ConfirmForm

bp = current.LinkBlueprint("dashboard", __name__)


def _setup_url() -> str | None:
    from pp2eb.web import wizard

    return wizard.next_step_url()


@bp.get("/")
def index():
    """Where everything stands; an unfinished set-up is continued first. Without a link in the
    address and with other than one link to see: the overview of them all."""
    if g.get("link_id") is None and not current.only_one():
        return links_overview()
    setup = _setup_url()
    if setup is not None and records.latest_run(current.link()) is None:
        return redirect(setup)
    credentials = {s: connections.get_credential(current.link(), s) for s in connections.SERVICES}
    return render_template(
        "dashboard/index.html",
        services=connections.SERVICES,
        credentials=credentials,
        unreadable={s for s, c in credentials.items() if c and not connections.readable(c)},
        setup_url=setup,
        paused=appstate.get(current.link(), appstate.SCHEDULE_PAUSED, False),
        next_run=scheduler.next_run_at(current.link()),
        runs=records.recent_runs(current.link(), 8),
        counts=records.counts(current.link()),
        run=records.latest_run(current.link()),
        starting=False,
        after=None,
        form=ConfirmForm(),
        oss_watch=oss_watch.current(current.link()),
    )


def links_overview():
    """One row per link the user may see (``?attention=1``: only those that need attention)."""
    found = overview.rows(current.visible(), utcnow())
    attention = request.args.get("attention") == "1"
    needing = overview.filter_attention(found)
    return render_template(
        "dashboard/overview.html",
        rows=needing if attention else found,
        attention=attention,
        total=len(found),
        needing=len(needing),
        admin=access.is_admin(g.user),
    )


@bp.post("/schedule/<action>")
def schedule(action: str):
    """Pause or resume the scheduled sync."""
    if action not in ("pause", "resume"):
        abort(404)
    if ConfirmForm().validate_on_submit():
        appstate.put(current.link(), appstate.SCHEDULE_PAUSED, action == "pause")
        flash(
            _("The schedule is paused.") if action == "pause" else _("The schedule runs."),
            "success",
        )
    return redirect(url_for("dashboard.index"))


@bp.post("/runs/sync")
def sync_now():
    """Start a sync in the background; answer with the run's live status."""
    before = records.latest_run(current.link())
    if ConfirmForm().validate_on_submit():
        background.start("sync", current.link())
    if request.headers.get("HX-Request"):
        return render_template(
            "partials/dashboard_run.html",
            run=before,
            form=ConfirmForm(),
            starting=True,
            after=before.id if before else 0,
        )
    flash(_("The sync has started."), "success")
    return redirect(url_for("dashboard.index"))


@bp.get("/runs/latest")
def run_status():
    """The newest run's status, polled while a run is going.

    ``after`` is the newest run before "Sync now": until a newer one exists the run is still
    starting. When the run has ended, the whole page reloads to show the new counts.
    """
    after = request.args.get("after", type=int)
    run = records.latest_run(current.link())
    if after is not None and (run is None or run.id <= after):
        return render_template(
            "partials/dashboard_run.html", run=run, starting=True, after=after, form=ConfirmForm()
        )
    html = render_template(
        "partials/dashboard_run.html", run=run, starting=False, after=None, form=ConfirmForm()
    )
    if not is_running(run):
        return html, {"HX-Refresh": "true"}
    return html


@bp.get("/runs")
def runs():
    """Every run, newest first."""
    page = records.list_runs(current.link(), request.args.get("page", 1, type=int))
    return render_template("dashboard/runs.html", page=page)


@bp.get("/orders")
def orders():
    """Orders with filters (failed, booked, skipped, waiting) and search."""
    state = request.args.get("state") or None
    query = request.args.get("q", "").strip() or None
    page = records.list_orders(current.link(), state, query, request.args.get("page", 1, type=int))
    template = (
        "partials/dashboard_orders.html"
        if request.headers.get("HX-Request")
        else "dashboard/orders.html"
    )
    return render_template(
        template, page=page, state=state, q=query or "", counts=records.counts(current.link())
    )


@bp.get("/orders/<int:order_id>")
def order(order_id: int):
    """One order: what Plug&Pay sent, the booking, the e-Boekhouden id, every attempt."""
    rec = records.find(current.link(), order_id)
    if rec is None:
        abort(404)
    booking = records.booking_data(rec)
    total = payloads.sent_total(booking) if booking else None
    retry_payment = records.payment_retryable(current.link(), rec)
    attempts = records.attempts(rec)
    payment = records.payment_data(rec)
    return render_template(
        "dashboard/order.html",
        rec=rec,
        order=records.order_data(rec),
        booking=booking,
        ledger_labels=_ledger_labels() if booking or payment else {},
        rows=payloads.sent_rows(booking) if booking else [],
        total=total,
        matches=booking is not None
        and rec.amount_with_tax is not None
        and total == Decimal(rec.amount_with_tax),
        payment=payment,
        attempts=attempts,
        notes=records.booking_notes(rec, attempts),
        skip_form=SkipForm(),
        retry_form=ConfirmForm(),
        can_skip=rec.state not in (OrderState.BOOKED, OrderState.BOOKING),
        can_retry=rec.state != OrderState.BOOKED or retry_payment,
        retry_payment=retry_payment,
    )


def _ledger_labels() -> dict[int, str]:
    """ "code — description" of each e-Boekhouden ledger, by id: one (cached) look-up before the
    page renders, never while it does. Empty when the list cannot be loaded: the page shows ids."""
    try:
        return {
            ledger.id: f"{ledger.code} — {ledger.description}"
            for ledger in lookups.ledgers(current.link())
        }
    except lookups.LookupFailed:
        return {}


@bp.post("/orders/<int:order_id>/retry")
def retry(order_id: int):
    """Try an order again now, in the background."""
    rec = records.find(current.link(), order_id) or abort(404)
    if not ConfirmForm().validate_on_submit():
        return redirect(url_for("dashboard.order", order_id=order_id))
    if rec.state != OrderState.BOOKED:
        records.make_due(rec)
        background.start("orders", current.link(), order_ids=[order_id])
        flash(_("Order %(id)s is being tried again.", id=order_id), "success")
    elif records.payment_retryable(current.link(), rec):
        records.make_payment_due(rec)
        background.start("orders", current.link(), order_ids=[order_id])
        flash(_("The payment of order %(id)s is being tried again.", id=order_id), "success")
    return redirect(url_for("dashboard.order", order_id=order_id))


@bp.post("/orders/<int:order_id>/skip")
def skip(order_id: int):
    """Skip an order on purpose, with a reason."""
    rec = records.find(current.link(), order_id) or abort(404)
    form = SkipForm()
    if form.validate_on_submit():
        if records.skip(rec, form.reason.data, g.user.username):
            flash(_("Order %(id)s is skipped.", id=order_id), "success")
        else:
            flash(_("A booked order cannot be skipped."), "error")
    else:
        flash(_("Give a reason for skipping the order."), "error")
    return redirect(url_for("dashboard.order", order_id=order_id))


def run_kind(kind: str) -> str:
    """A run's kind in words."""
    names = {
        "sync": _("Sync"),
        "backfill": _("Export"),
        "orders": _("Retry"),
        "webhook": _("Webhook"),
    }
    return names.get(kind, kind)


def is_running(run: SyncRun | None) -> bool:
    """True while the run is going."""
    return run is not None and run.status == RunStatus.RUNNING
