"""One FlaskForm per page: login, the connect pages and each set-up step.

A step form reads its part of the settings with ``initial(draft)`` and gives it back with
``settings()``. Dropdowns of ledgers, templates and VAT codes get their choices in the view (see
``pp2eb.web.htmx``); the forms with one row per product, tax rate or country are made per
request by ``with_products``, ``with_rates`` and ``with_countries``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
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
from wtforms.validators import (
    URL,
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from pp2eb.mapping.countries import EU_COUNTRIES, HOME_COUNTRY
from pp2eb.mapping.order import TaxRate
from pp2eb.mapping.vatcodes import SALE_VAT_CODES, vat_rate
from pp2eb.settings import OUTSIDE_EU, REVERSE_CHARGE


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
# e-Boekhouden has no VAT-code list endpoint: the sales codes are a fixed enum.
VAT_CODE_LABELS: dict[str, Any] = {
    "HOOG_VERK_21": _l("Sales, high rate 21%"),
    "LAAG_VERK_9": _l("Sales, low rate 9%"),
    "GEEN": _l("No VAT"),
    "BI_EU_VERK_D": _l("Services to businesses in other EU countries, 0%"),
    "BI_EU_VERK": _l("Goods to businesses in other EU countries, 0%"),
    "BU_EU_VERK": _l("Sales outside the EU, 0%"),
    "AFST_VERK": _l("Distance sales within the EU, 0%"),
    "VERL_VERK": _l("Sales with VAT reverse-charged, high rate"),
    "VERL_VERK_L9": _l("Sales with VAT reverse-charged, low rate"),
    "AFW_VERK": _l("Sales at a different rate"),
}
SPECIAL_VAT_ROWS = {
    REVERSE_CHARGE: _l("Reverse charge: businesses in other EU countries"),
    OUTSIDE_EU: _l("Customers outside the EU"),
}
NOT_A_LEDGER = _l("Choose one of the listed ledgers.")
NOT_A_CODE = _l("Choose one of the listed VAT codes.")


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


class RevenueForm(StepForm):
    KEYS = ("revenue_ledger",)
    ROWS: dict[str, str] = {}  # field name -> Plug&Pay product id
    revenue_ledger = choose_ledger(
        _l("Revenue ledger"),
        description=_l("A counter account must be a profit and loss ledger."),
    )

    @classmethod
    def with_products(cls, products: Iterable[Any]) -> type[RevenueForm]:
        """This form with one optional ledger dropdown per Plug&Pay product."""
        fields = {f"product_{p.id}": (str(p.id), choose_ledger(p.title, required=False))
                  for p in products}  # fmt: skip
        return _with_rows(cls, fields)

    @classmethod
    def initial(cls, draft: dict[str, Any]) -> dict[str, Any]:
        chosen = draft.get("product_ledgers") or {}
        rows = {name: chosen.get(pid, "") for name, pid in cls.ROWS.items()}
        return {**super().initial(draft), **rows}

    def settings(self) -> dict[str, Any]:
        chosen = {pid: self[name].data for name, pid in self.ROWS.items() if self[name].data}
        return {**super().settings(), "product_ledgers": chosen}


class ShippingForm(StepForm):
    KEYS = ("shipping_ledger", "rounding_ledger")
    shipping_ledger = choose_ledger(_l("Shipping costs ledger"))
    rounding_ledger = choose_ledger(
        _l("Rounding differences ledger"),
        description=_l(
            "Where a cent of VAT rounding difference is booked, visibly, in its own row."
        ),
    )


class VatForm(StepForm):
    KEYS = ()
    ROWS: dict[str, str] = {}  # field name -> vat_map key

    @classmethod
    def with_rates(cls, rates: Iterable[TaxRate]) -> type[VatForm]:
        """This form with a VAT-code dropdown per Dutch Plug&Pay tax rate, plus the two specials.

        Other countries' rates get no row: reverse charge and exports have their own codes, and an
        EU consumer's foreign rate is booked through the OSS step (with home-country VAT such a
        rate is an error to correct in Plug&Pay, not something to map).
        """
        fields: dict[str, tuple[str, SelectField]] = {}
        for rate in rates:
            if rate.country != HOME_COUNTRY:
                continue
            label = f"{rate.country} {format(rate.percentage.normalize(), 'f')}%"
            # A rate needs a code, unless e-Boekhouden has none at that rate at all.
            required = bool(vat_codes_at(rate.percentage))
            fields[vat_field_name(rate.key)] = (rate.key, _vat_field(label, required))
        for key, label in SPECIAL_VAT_ROWS.items():
            fields[vat_field_name(key)] = (key, _vat_field(label, True))
        return _with_rows(cls, fields)

    @classmethod
    def initial(cls, draft: dict[str, Any]) -> dict[str, Any]:
        chosen = draft.get("vat_map") or {}
        return {name: chosen.get(key, "") for name, key in cls.ROWS.items()}

    def settings(self) -> dict[str, Any]:
        return {
            "vat_map": {key: self[name].data for name, key in self.ROWS.items() if self[name].data}
        }


class OssForm(StepForm):
    KEYS = ("oss",)
    ROWS: dict[str, str] = {}  # field name -> country code
    oss = choose_radio(
        "oss",
        _l(
            "How do you want to handle VAT for orders to individuals in other EU countries "
            "(One Stop Shop, OSS)?"
        ),
    )

    @staticmethod
    def for_choice(oss: str | None) -> type[OssForm]:
        """The form for the chosen VAT arrangement: OSS adds a ledger per EU country."""
        if oss != "oss":
            return OssForm
        fields = {f"oss_{c}": (c, choose_ledger(c, required=False)) for c in oss_countries()}
        return _with_rows(OssForm, fields)

    @classmethod
    def initial(cls, draft: dict[str, Any]) -> dict[str, Any]:
        chosen = draft.get("oss_ledgers") or {}
        rows = {name: chosen.get(country, "") for name, country in cls.ROWS.items()}
        return {**super().initial(draft), **rows}

    def validate_oss(self, field: RadioField) -> None:
        """The One Stop Shop needs the VAT ledger of at least one country."""
        if self.ROWS and not any(self[name].data for name in self.ROWS):
            raise ValidationError(_l("Link the VAT ledger of at least one EU country below."))

    def settings(self) -> dict[str, Any]:
        if not self.ROWS:
            return super().settings()  # home-country VAT: the country ledgers stay as they were
        chosen = {c: self[name].data for name, c in self.ROWS.items() if self[name].data}
        return {**super().settings(), "oss_ledgers": chosen}


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


def vat_codes_at(percentage: Decimal) -> list[str]:
    """The sales VAT codes e-Boekhouden books at ``percentage``, most common first."""
    return [c for c in VAT_CODE_LABELS if c in SALE_VAT_CODES and vat_rate(c) == percentage]


def oss_countries() -> list[str]:
    """The EU countries that can have an OSS ledger: all but the shop's own."""
    return sorted(EU_COUNTRIES - {HOME_COUNTRY})


def vat_field_name(key: str) -> str:
    """A field name for a ``vat_map`` key, safe in ids and CSS: ``NL:5.5`` → ``vat_NL_5_5``."""
    return "vat_" + re.sub(r"[^A-Za-z0-9]", "_", key)


def _vat_field(label: Any, required: bool) -> SelectField:
    validators = [DataRequired(message=_l("Choose a VAT code."))] if required else []
    return SelectField(label, validators=validators, invalid_choice_message=NOT_A_CODE, choices=[])


def _with_rows(base: type, fields: dict[str, tuple[str, Any]]) -> type:
    """A subclass of ``base`` with extra fields; ``ROWS`` maps each field name to its key."""
    attrs: dict[str, Any] = {name: field for name, (_, field) in fields.items()}
    attrs["ROWS"] = {name: key for name, (key, _) in fields.items()}
    return type(base.__name__, (base,), attrs)
