"""One FlaskForm per page: login, the connect pages and each set-up step.

A step form reads its part of the settings with ``initial(draft)`` and gives it back with
``settings()``. Dropdowns of ledgers and templates get their choices in the view (see
``pp2eb.web.loaders``). The steps with one row per product, tax rate or country are in
``pp2eb.web.mapping_forms``, the Payments step in ``pp2eb.web.payment_forms``.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import URL, DataRequired, InputRequired, Length, NumberRange, Optional


class LoginForm(FlaskForm):
    username = StringField(_l("User name"), validators=[DataRequired(), Length(max=80)])
    password = PasswordField(_l("Password"), validators=[DataRequired()])
    submit = SubmitField(_l("Log in"))


def _base_url_field() -> StringField:
    return StringField(
        _l("API address"),
        validators=[Optional(), URL(require_tld=False), Length(max=255)],
        description=_l("Leave empty for the usual address."),
    )


class PlugAndPayConnectForm(FlaskForm):
    api_key = PasswordField(_l("API key"), validators=[DataRequired(), Length(max=2000)])
    base_url = _base_url_field()
    submit = SubmitField(_l("Connect"))


class EBoekhoudenConnectForm(FlaskForm):
    token = PasswordField(_l("API token"), validators=[DataRequired(), Length(max=2000)])
    base_url = _base_url_field()
    submit = SubmitField(_l("Connect"))


class VatRoundingForm(FlaskForm):
    """How e-Boekhouden rounds VAT, on the e-Boekhouden connection page."""

    LEARN = "learn"  # no mode by hand: pp2eb learns it from a booking
    vat_rounding = RadioField(
        _l("How does e-Boekhouden compute VAT in this administration?"),
        choices=[
            SelectChoice(LEARN, _l("Let pp2eb find out from a booking (recommended)")),
            SelectChoice("total", _l("Over the total per VAT code")),
            SelectChoice("row", _l("Per row")),
        ],
        validators=[InputRequired(message=_l("Choose one of the options."))],
        default=LEARN,
    )
    submit = SubmitField(_l("Save"))


class ConfirmForm(FlaskForm):
    """A button that only needs the CSRF token (disconnect, log out)."""

    submit = SubmitField(_l("Confirm"))


# --- set-up steps -----------------------------------------------------------------------------

CHOICE_LABELS: dict[str, dict[str, Any]] = {
    "group_lines": {"yes": _l("Yes"), "no": _l("No")},
    "orders": {
        "final_invoices": _l("Every final invoice, paid or not"),
        "paid": _l("Only paid orders"),
    },
    "reference": {"invoice_number": _l("Invoice numbers"), "order_number": _l("Order numbers")},
    "insertion": {"mutation": _l("Booking (mutation)"), "invoice": _l("Sales invoice")},
    "oss": {
        "home_country": _l("Charge the VAT of the shop's country"),
        "oss": _l("Use the One Stop Shop (OSS)"),
    },
    "customer_codes": {
        "eboekhouden": _l("Let e-Boekhouden.nl make the code"),
        "name": _l("Make it from the first 5 letters of the customer's name"),
    },
}
NOT_A_LEDGER = _l("Choose one of the listed ledgers.")


def choose_ledger(label: Any, *, required: bool = True, **kwargs: Any) -> SelectField:
    """A ledger dropdown: value the ledger code; the choices are set in the view."""
    validators = [DataRequired(message=_l("Choose a ledger."))] if required else []
    return SelectField(
        label, validators=validators, invalid_choice_message=NOT_A_LEDGER, choices=[], **kwargs
    )


def choose_radio(key: str, label: Any, **kwargs: Any) -> RadioField:
    """Radio buttons for the setting ``key`` with its labels from ``CHOICE_LABELS``."""
    return RadioField(
        label,
        choices=[SelectChoice(value, label) for value, label in CHOICE_LABELS[key].items()],
        validators=[InputRequired(message=_l("Choose one of the options."))],
        **kwargs,
    )


class StepForm(FlaskForm):
    """A set-up step: the settings in ``KEYS`` have a field of the same name."""

    KEYS: tuple[str, ...] = ()
    submit = SubmitField(_l("Save and continue"))

    @classmethod
    def initial(cls, draft: dict[str, Any]) -> dict[str, Any]:
        """The form's data from the stored draft."""
        return {key: draft.get(key) for key in cls.KEYS}

    def settings(self) -> dict[str, Any]:
        """The submitted settings, ready for ``shopsettings.save_draft``."""
        return {key: self[key].data for key in self.KEYS}

    def summary(self) -> list[tuple[str, str]]:
        """(label, value) of each setting, as the overview page shows them."""
        rows = []
        for field in self:
            if field.type in ("CSRFTokenField", "SubmitField", "HiddenField"):
                continue
            labels = {c.value: c.label for c in getattr(field, "choices", None) or []}
            value = labels.get(field.data, field.data)
            rows.append((str(field.label.text), "—" if value in (None, "") else str(value)))
        return rows


class GroupLinesForm(StepForm):
    KEYS = ("group_lines",)
    group_lines = choose_radio("group_lines", _l("Group order lines by VAT code and ledger?"))

    @classmethod
    def initial(cls, draft: dict[str, Any]) -> dict[str, Any]:
        return {"group_lines": "yes" if draft.get("group_lines") else "no"}

    def settings(self) -> dict[str, Any]:
        return {"group_lines": self.group_lines.data == "yes"}


class InvoicesForm(StepForm):
    KEYS = ("start_date", "orders")
    start_date = DateField(
        _l("Start date"),
        validators=[InputRequired(message=_l("Choose the date of the first invoice to book."))],
        description=_l("Invoices from this date on are booked, also those that exist already."),
    )
    orders = choose_radio("orders", _l("Which orders to book"))

    def settings(self) -> dict[str, Any]:
        return {"start_date": self.start_date.data.isoformat(), "orders": self.orders.data}

    @classmethod
    def initial(cls, draft: dict[str, Any]) -> dict[str, Any]:
        start = draft.get("start_date")
        return {
            "start_date": date.fromisoformat(start) if start else None,
            "orders": draft["orders"],
        }


class ReferenceForm(StepForm):
    KEYS = ("reference",)
    reference = choose_radio("reference", _l("Number to transfer to e-Boekhouden.nl"))


class InsertionForm(StepForm):
    KEYS = ("insertion",)
    insertion = choose_radio("insertion", _l("Insert orders into e-Boekhouden.nl as"))

    @staticmethod
    def for_choice(insertion: str | None) -> type[InsertionForm]:
        """The form for the chosen insertion type: a sales invoice also needs its template."""
        return InvoiceInsertionForm if insertion == "invoice" else InsertionForm


class InvoiceInsertionForm(InsertionForm):
    KEYS = ("insertion", "invoice_template")
    invoice_template = SelectField(
        _l("Invoice template"),
        validators=[DataRequired(message=_l("Choose an invoice template."))],
        invalid_choice_message=_l("Choose one of the listed invoice templates."),
        choices=[],
    )


class DebtorForm(StepForm):
    KEYS = ("debtor_ledger", "term_of_payment")
    debtor_ledger = choose_ledger(_l("Debtor ledger"))
    term_of_payment = IntegerField(
        _l("Payment term (days)"),
        validators=[InputRequired(message=_l("Enter a number of days.")), NumberRange(0, 365)],
        render_kw={"min": 0, "max": 365},
    )


class ShippingForm(StepForm):
    KEYS = ("shipping_ledger", "rounding_ledger")
    shipping_ledger = choose_ledger(_l("Shipping costs ledger"))
    rounding_ledger = choose_ledger(
        _l("Rounding differences ledger"),
        description=_l(
            "Where a cent of VAT rounding difference is booked, visibly, in its own row."
        ),
    )


class CustomerCodesForm(StepForm):
    KEYS = ("customer_codes",)
    customer_codes = choose_radio("customer_codes", _l("Code for new customers"))


class SyncForm(StepForm):
    KEYS = ("sync_interval_minutes",)
    sync_interval_minutes = IntegerField(
        _l("Look for new orders every (minutes)"),
        validators=[
            InputRequired(message=_l("Enter a number of minutes.")),
            NumberRange(1, 24 * 60),
        ],
        render_kw={"min": 1, "max": 24 * 60},
    )
    submit = SubmitField(_l("Save and finish"))


def with_rows(base: type, fields: dict[str, tuple[str, Any]]) -> type:
    """A subclass of ``base`` with extra fields; ``ROWS`` maps each field name to its key."""
    attrs: dict[str, Any] = {name: field for name, (_, field) in fields.items()}
    attrs["ROWS"] = {name: key for name, (key, _) in fields.items()}
    return type(base.__name__, (base,), attrs)
