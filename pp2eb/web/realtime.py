"""The dashboard's "Near-real-time booking" card: the webhook's address (its secret masked),
whether Plug&Pay calls it, and the buttons to register, remove and renew it.

The card asks Plug&Pay (``GET /v2/rules``), so the dashboard loads it after the page (htmx
``load``); each button answers with the card again. Without htmx the buttons flash and redirect.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import ip_address
from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from pp2eb.runs import webhook_inbox as inbox
from pp2eb.setup import webhook_rule as rules
from pp2eb.web import current
from pp2eb.web.forms import ConfirmForm

bp = current.LinkBlueprint("realtime", __name__, url_prefix="/realtime")


@dataclass
class Card:
    """What the card shows."""

    url: str  # masked
    local: bool
    connected: bool = True
    registered: bool = False
    elsewhere: list[str] | None = None  # our rules that call another address (masked)
    problem: str | None = None
    notice: str | None = None
    last: dict | None = None
    waiting: int = 0


def hook_url(secret: str) -> str:
    """The webhook's address: ``PUBLIC_URL``, else the address this page was asked at."""
    path = url_for("hooks.plugandpay", secret=secret)
    public = current_app.config.get("PUBLIC_URL")
    if public:
        return public.rstrip("/") + path[len(request.script_root) :]
    return request.host_url.rstrip("/") + path


def _is_local(url: str) -> bool:
    """True for an address the internet cannot reach (this machine, a private network)."""
    host = urlsplit(url).hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_private


def _card(notice: str | None = None, problem: str | None = None) -> Card:
    link = current.link()
    secret = inbox.secret(link)
    url = hook_url(secret)
    # In demo mode the sandbox runs on this machine and reaches the local address.
    local = _is_local(url) and not current_app.config["DEMO"]
    card = Card(url=inbox.mask(url, secret), local=local, notice=notice, problem=problem)
    card.last, card.waiting = inbox.last_received(link), inbox.waiting(link)
    try:
        ours = rules.find(link, secret)
    except rules.RulesUnavailable as exc:
        card.connected = exc.connected
        card.problem = card.problem or str(exc)
        return card
    card.registered = any(rules.rule_url(rule) == url for rule in ours)
    card.elsewhere = [
        inbox.mask(rules.rule_url(r), secret) for r in ours if rules.rule_url(r) != url
    ]
    return card


def _answer(notice: str | None = None, problem: str | None = None):
    """The card (htmx), or a flash and the dashboard."""
    if request.headers.get("HX-Request"):
        return render_template(
            "partials/realtime_card.html", card=_card(notice, problem), form=ConfirmForm()
        )
    if problem:
        flash(problem, "error")
    elif notice:
        flash(notice, "success")
    return redirect(url_for("dashboard.index"))


@bp.get("/card")
def card():
    """The card, with what Plug&Pay says now."""
    return render_template("partials/realtime_card.html", card=_card(), form=ConfirmForm())


@bp.post("/register")
def register():
    """Create the webhook rule in Plug&Pay: it calls this app when an order is paid."""
    if not ConfirmForm().validate_on_submit():
        return _answer()
    secret = inbox.secret(current.link())
    try:
        rules.register(current.link(), hook_url(secret), secret)
    except rules.RulesUnavailable as exc:
        return _answer(problem=str(exc))
    return _answer(_("Registered: Plug&Pay now calls pp2eb when an order is paid."))


@bp.post("/remove")
def remove():
    """Delete the webhook rule from Plug&Pay; the scheduled sync goes on as before."""
    if not ConfirmForm().validate_on_submit():
        return _answer()
    try:
        rules.remove(current.link(), inbox.secret(current.link()))
    except rules.RulesUnavailable as exc:
        return _answer(problem=str(exc))
    return _answer(_("Removed: Plug&Pay no longer calls pp2eb; the scheduled sync goes on."))


@bp.post("/rotate")
def rotate():
    """A new secret: the old address stops working; a registered rule moves to the new one."""
    if not ConfirmForm().validate_on_submit():
        return _answer()
    moved, problem = rules.rotate(current.link(), hook_url)
    if problem:
        return _answer(problem=_("The secret is new, but: %(problem)s", problem=problem))
    if moved:
        return _answer(_("The secret is new, and the rule in Plug&Pay uses the new address."))
    return _answer(_("The secret is new; the old address no longer works."))
