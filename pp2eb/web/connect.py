"""Connect Plug&Pay and e-Boekhouden.nl: paste a key, checked live, stored encrypted."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _

from pp2eb.models import Credential, Link
from pp2eb.sandbox import DEMO_TENANTS
from pp2eb.setup import connections
from pp2eb.web import current
from pp2eb.web.forms import (
    ConfirmForm,
    EBoekhoudenConnectForm,
    PlugAndPayConnectForm,
    VatRoundingForm,
)

bp = current.LinkBlueprint("connect", __name__, url_prefix="/connect")

PAGES = {
    Credential.PLUGANDPAY: (PlugAndPayConnectForm, "api_key"),
    Credential.EBOEKHOUDEN: (EBoekhoudenConnectForm, "token"),
}


def demo_secret(link: Link, service: str) -> str:
    """The sandbox key or token of ``link``'s demo tenant (by its name, else the first)."""
    tenant = next((t for t in DEMO_TENANTS if t.name == link.name), DEMO_TENANTS[0])
    return tenant.key if service == Credential.PLUGANDPAY else tenant.token


@bp.route("/<service>", methods=("GET", "POST"))
def page(service: str):
    """Show the connection of ``service`` and connect it with a pasted key."""
    if service not in PAGES:
        abort(404)
    form_class, secret_field = PAGES[service]
    form = form_class()
    if form.validate_on_submit():
        try:
            connection = connections.connect(
                current.link(), service, form[secret_field].data, form.base_url.data
            )
        except connections.ConnectError as exc:
            flash(str(exc), "error")
        else:
            flash(_("Connected to %(account)s.", account=connection.description), "success")
            return redirect(url_for("connect.page", service=service))
    credential = connections.get_credential(current.link(), service)
    return render_template(
        "connect/page.html",
        service=service,
        service_name=connections.SERVICES[service],
        form=form,
        secret_field=form[secret_field],
        credential=credential,
        default_base_url=connections.default_base_url(service),
        demo_secret=demo_secret(current.link(), service) if current_app.config["DEMO"] else None,
        disconnect_form=ConfirmForm(),
        rounding_form=_rounding_form(credential),
    )


def _rounding_form(credential: Credential | None) -> VatRoundingForm:
    """The VAT rounding form, showing the rounding set by hand (else: let pp2eb find out)."""
    form = VatRoundingForm(formdata=None)
    if credential is not None and credential.vat_rounding_by == Credential.BY_HAND:
        form.vat_rounding.data = credential.vat_rounding
    return form


@bp.post("/eboekhouden/vat-rounding")
def vat_rounding():
    """Set how e-Boekhouden rounds VAT by hand, or let pp2eb find out from a booking."""
    form = VatRoundingForm()
    if form.validate_on_submit():
        chosen = form.vat_rounding.data
        try:
            connections.set_vat_rounding(
                current.link(), None if chosen == VatRoundingForm.LEARN else chosen
            )
        except connections.ConnectError as exc:
            flash(str(exc), "error")
        else:
            flash(_("VAT rounding saved."), "success")
    else:
        flash(_("Choose one of the options."), "error")
    return redirect(url_for("connect.page", service=Credential.EBOEKHOUDEN))


@bp.post("/<service>/disconnect")
def disconnect(service: str):
    """Forget the stored key of ``service``."""
    if service not in PAGES:
        abort(404)
    if ConfirmForm().validate_on_submit() and connections.disconnect(current.link(), service):
        flash(_("Disconnected. The stored key has been deleted."), "success")
    return redirect(url_for("connect.page", service=service))


def vat_rounding_label(mode: str | None) -> str:
    """How e-Boekhouden rounds VAT, in words."""
    labels = {"total": _("over the total per VAT code"), "row": _("per row")}
    return labels.get(mode or "", "")


def account(account_name: str) -> str:
    """A connection's stored account name in words, in the reader's language."""
    return connections.describe_account(account_name)
