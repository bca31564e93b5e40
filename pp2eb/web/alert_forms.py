"""The form of the alert settings page."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, NumberRange, Optional, ValidationError

from pp2eb.alerts.mail import NONE, SSL, STARTTLS, split_addresses, valid_address
from pp2eb.web.languages import LANGUAGES


def link_addresses_field() -> StringField:
    """The field of a link's own addresses (the admin's form and a member's)."""
    return StringField(
        _l("Send to"),
        validators=[Length(max=1000)],
        description=_l(
            "One or more addresses, separated by commas. Leave empty to use the addresses for "
            "every link without its own."
        ),
    )


class AlertSettingsForm(FlaskForm):
    """Where alert e-mails go, how they are sent, and which ones are wanted.

    Everything is the install's but ``link_to_addresses``: the addresses of the page's link. With
    one link (``several`` false) the page shows only ``to_addresses``, as that link's addresses;
    with several, the link's own (empty: the install's) and the install's for links without.
    """

    several = False  # set by the view: the install has more than one link

    smtp_host = StringField(
        _l("Mail server (SMTP)"),
        validators=[Length(max=255)],
        description=_l("For example smtp.example.com."),
    )
    smtp_port = IntegerField(
        _l("Port"),
        validators=[
            InputRequired(message=_l("Enter a port number.")),
            NumberRange(1, 65535, message=_l("A port is a number from 1 to 65535.")),
        ],
    )
    smtp_security = RadioField(
        _l("Security"),
        choices=[
            SelectChoice(STARTTLS, _l("STARTTLS (usually port 587)")),
            SelectChoice(SSL, _l("SSL/TLS (usually port 465)")),
            SelectChoice(
                NONE, _l("None: only for a mail server on this machine or a trusted network")
            ),
        ],
    )
    smtp_username = StringField(
        _l("User name"),
        validators=[Length(max=255)],
        description=_l("Leave empty if the server needs no log-in."),
    )
    smtp_password = PasswordField(
        _l("Password"),
        validators=[Optional(), Length(max=1000)],
        description=_l("Stored encrypted and never shown. Leave empty to keep the stored one."),
    )
    forget_password = BooleanField(_l("Delete the stored password"))
    from_address = StringField(_l("From address"), validators=[Length(max=255)])
    to_addresses = StringField(
        _l("Send to"),
        validators=[Length(max=1000)],
        description=_l("One or more addresses, separated by commas."),
    )
    link_to_addresses = link_addresses_field()
    alerts_enabled = BooleanField(
        _l("E-mail me when orders fail or a connection stops working (at most once a day each)")
    )
    summary_enabled = BooleanField(_l("Send a daily summary"))
    summary_hour = SelectField(
        _l("Send the summary after"),
        coerce=int,
        choices=[SelectChoice(hour, f"{hour:02d}:00") for hour in range(24)],
        description=_l("Dutch time (Europe/Amsterdam)."),
    )
    language = SelectField(
        _l("Language of the e-mails"),
        choices=[SelectChoice(code, name) for code, name in LANGUAGES.items()],
    )
    submit = SubmitField(_l("Save"))

    def validate_from_address(self, field) -> None:
        if field.data and not valid_address(field.data.strip()):
            raise ValidationError(_l("This is not an e-mail address."))
        if not field.data and self._sends():
            raise ValidationError(_l("Enter the address the e-mails come from."))

    def validate_to_addresses(self, field) -> None:
        addresses = _addresses(field)
        own = self.several and split_addresses(self.link_to_addresses.data)
        if not addresses and not own and self._sends():
            raise ValidationError(_l("Enter at least one address to send to."))

    def validate_link_to_addresses(self, field) -> None:
        if self.several:
            _addresses(field)

    def validate_smtp_host(self, field) -> None:
        if not field.data.strip() and self._sends():
            raise ValidationError(_l("Enter the mail server to send the e-mails with."))

    def _sends(self) -> bool:
        return bool(self.alerts_enabled.data or self.summary_enabled.data)

    def values(self) -> dict:
        """The settings to store (the password apart)."""
        return {
            "smtp_host": self.smtp_host.data.strip(),
            "smtp_port": self.smtp_port.data,
            "smtp_security": self.smtp_security.data,
            "smtp_username": self.smtp_username.data.strip(),
            "from_address": self.from_address.data.strip(),
            "to_addresses": ", ".join(split_addresses(self.to_addresses.data)),
            "alerts_enabled": self.alerts_enabled.data,
            "summary_enabled": self.summary_enabled.data,
            "summary_hour": self.summary_hour.data,
            "language": self.language.data,
        }

    def link_addresses(self) -> list[str]:
        """The link's own addresses to store; with one link it has none (the install's are
        its addresses)."""
        return split_addresses(self.link_to_addresses.data) if self.several else []


class LinkAddressesForm(FlaskForm):
    """A member's part of the alert settings: the addresses of the page's link only (the mail
    server and which e-mails are sent are the install's, set by an admin)."""

    link_to_addresses = link_addresses_field()
    submit = SubmitField(_l("Save"))

    def validate_link_to_addresses(self, field) -> None:
        _addresses(field)

    def link_addresses(self) -> list[str]:
        """The link's own addresses to store."""
        return split_addresses(self.link_to_addresses.data)


def _addresses(field) -> list[str]:
    """The addresses in ``field``; ValidationError naming those that are not addresses."""
    addresses = split_addresses(field.data)
    wrong = [address for address in addresses if not valid_address(address)]
    if wrong:
        raise ValidationError(
            _l("Not an e-mail address: %(addresses)s", addresses=", ".join(wrong))
        )
    return addresses
