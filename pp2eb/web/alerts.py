"""The alert settings page: where alert e-mails go, which ones, and a test e-mail.

The mail server and which mails are wanted are the install's; the addresses are the page's link's
(with several links: its own, else the install's for every link without its own). A member
changes only the addresses of the link; the install's settings are an admin's.
"""

from __future__ import annotations

from flask import current_app, flash, g, redirect, render_template, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from pp2eb.alerts import dispatch as alerting
from pp2eb.alerts import settings as alert_settings
from pp2eb.alerts.mail import MailError
from pp2eb.models import Link
from pp2eb.sandbox import mailbox_url
from pp2eb.setup import access, links
from pp2eb.web import current
from pp2eb.web.alert_forms import AlertSettingsForm, LinkAddressesForm
from pp2eb.web.forms import ConfirmForm

bp = current.LinkBlueprint("alerts", __name__, url_prefix="/alerts")


@bp.route("", methods=("GET", "POST"))
def settings():
    """Show and save the alert settings and the link's addresses; the password is never shown
    back."""
    link = current.link()
    config = alert_settings.load(link)
    if not access.is_admin(g.user):
        return _link_addresses_page(link, config)
    several = len(links.live()) > 1
    data = config.form_data()
    if not several:
        data["to_addresses"] = ", ".join(config.to)  # the one link's addresses
    if not config.saved:
        data["language"] = str(get_locale() or data["language"])
    form = AlertSettingsForm(data=data)
    form.several = several
    if several:
        form.to_addresses.label.text = _("Send the e-mails of links without their own addresses to")
        form.link_to_addresses.label.text = _("Send the e-mails of %(name)s to", name=link.name)
    else:
        form.to_addresses.label.text = _("Send the e-mails of %(name)s to", name=link.name)
    if form.validate_on_submit():
        alert_settings.save(
            form.values(), form.smtp_password.data, forget_password=form.forget_password.data
        )
        alert_settings.save_link_addresses(link, form.link_addresses())
        flash(_("The alert settings are saved."), "success")
        return redirect(url_for("alerts.settings"))
    cfg = current_app.config
    return render_template(
        "alerts/settings.html",
        form=form,
        config=config,
        several=several,
        test_form=ConfirmForm(),
        mailbox=mailbox_url(cfg["SANDBOX_HOST"], cfg["SANDBOX_PORT"]) if cfg["DEMO"] else None,
    )


def _link_addresses_page(link: Link, config):
    """A member's alert page: the link's own addresses; the rest is shown, not changed."""
    form = LinkAddressesForm(
        data={"link_to_addresses": ", ".join(alert_settings.link_addresses(link))}
    )
    form.link_to_addresses.label.text = _("Send the e-mails of %(name)s to", name=link.name)
    if form.validate_on_submit():
        alert_settings.save_link_addresses(link, form.link_addresses())
        flash(_("The alert settings are saved."), "success")
        return redirect(url_for("alerts.settings"))
    return render_template(
        "alerts/settings.html", form=form, config=config, member=True, test_form=ConfirmForm()
    )


@bp.post("/test")
def test():
    """Send a test e-mail with the saved settings and say how it went."""
    if not ConfirmForm().validate_on_submit():
        return redirect(url_for("alerts.settings"))
    link = current.link()
    config = alert_settings.load(link)
    if not config.ready:
        flash(_("Save a mail server, a from address and an address to send to first."), "error")
        return redirect(url_for("alerts.settings"))
    try:
        alerting.send_check(link)
    except MailError as exc:
        flash(_("The test e-mail could not be sent: %(error)s", error=str(exc)), "error")
    else:
        flash(_("A test e-mail was sent to %(to)s.", to=", ".join(config.to)), "success")
    return redirect(url_for("alerts.settings"))
