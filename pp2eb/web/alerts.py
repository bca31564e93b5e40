"""The alert settings page: where alert e-mails go, which ones, and a test e-mail."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from pp2eb.alerts import dispatch as alerting
from pp2eb.alerts import settings as alert_settings
from pp2eb.alerts.mail import MailError
from pp2eb.sandbox import mailbox_url
from pp2eb.web import current
from pp2eb.web.alert_forms import AlertSettingsForm
from pp2eb.web.forms import ConfirmForm

bp = current.LinkBlueprint("alerts", __name__, url_prefix="/alerts")


@bp.route("", methods=("GET", "POST"))
def settings():
    """Show and save the alert settings; the password is never shown back."""
    config = alert_settings.load()
    data = config.form_data()
    if not config.saved:
        data["language"] = str(get_locale() or data["language"])
    form = AlertSettingsForm(data=data)
    if form.validate_on_submit():
        alert_settings.save(
            form.values(), form.smtp_password.data, forget_password=form.forget_password.data
        )
        flash(_("The alert settings are saved."), "success")
        return redirect(url_for("alerts.settings"))
    cfg = current_app.config
    return render_template(
        "alerts/settings.html",
        form=form,
        config=config,
        test_form=ConfirmForm(),
        mailbox=mailbox_url(cfg["SANDBOX_HOST"], cfg["SANDBOX_PORT"]) if cfg["DEMO"] else None,
    )


@bp.post("/test")
def test():
    """Send a test e-mail with the saved settings and say how it went."""
    if not ConfirmForm().validate_on_submit():
        return redirect(url_for("alerts.settings"))
    config = alert_settings.load()
    if not config.ready:
        flash(_("Save a mail server, a from address and an address to send to first."), "error")
        return redirect(url_for("alerts.settings"))
    try:
        alerting.send_check()
    except MailError as exc:
        flash(_("The test e-mail could not be sent: %(error)s", error=str(exc)), "error")
    else:
        flash(_("A test e-mail was sent to %(to)s.", to=", ".join(config.to)), "success")
    return redirect(url_for("alerts.settings"))
