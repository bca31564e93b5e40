"""One FlaskForm per page."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField, SubmitField
from wtforms.validators import URL, DataRequired, Length, Optional


class LoginForm(FlaskForm):
    username = StringField(_l("User name"), validators=[DataRequired(), Length(max=80)])
    password = PasswordField(_l("Password"), validators=[DataRequired()])
    submit = SubmitField(_l("Log in"))


class PlugAndPayConnectForm(FlaskForm):
    api_key = PasswordField(_l("API key"), validators=[DataRequired(), Length(max=2000)])
    base_url = StringField(
        _l("API address"),
        validators=[Optional(), URL(require_tld=False), Length(max=255)],
        description=_l("Leave empty for the usual address."),
    )
    submit = SubmitField(_l("Connect"))


class EBoekhoudenConnectForm(FlaskForm):
    token = PasswordField(_l("API token"), validators=[DataRequired(), Length(max=2000)])
    base_url = StringField(
        _l("API address"),
        validators=[Optional(), URL(require_tld=False), Length(max=255)],
        description=_l("Leave empty for the usual address."),
    )
    submit = SubmitField(_l("Connect"))


class ConfirmForm(FlaskForm):
    """A button that only needs the CSRF token (disconnect, log out)."""

    submit = SubmitField(_l("Confirm"))
