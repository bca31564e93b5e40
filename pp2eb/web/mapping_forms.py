"""The set-up steps that map Plug&Pay's rows onto e-Boekhouden.nl: revenue, VAT and OSS.

Each has rows that only exist per shop, so its form class is made per request: ``RevenueForm``
with a ledger dropdown per Plug&Pay product (``with_products``), ``VatForm`` with a VAT-code
dropdown per tax rate (``with_rates``) and ``OssForm`` with its date (``oss_from``) and a ledger
per EU country when OSS is chosen (``for_choice``). ``ROWS`` maps each added field to its key
in the settings (``product_ledgers``, ``vat_map``, ``oss_ledgers``). The machinery they share
(``StepForm``, ``choose_ledger``) and the simpler steps are in ``pp2eb.web.forms``; the choices
are set by ``pp2eb.web.loaders``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import DateField, RadioField, SelectField, SelectMultipleField
from wtforms.validators import DataRequired, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from pp2eb.mapping.countries import EU_COUNTRIES, HOME_COUNTRY
from pp2eb.mapping.order import TaxRate
from pp2eb.mapping.settings import (
    OUTSIDE_EU_GOODS,
    OUTSIDE_EU_SERVICES,
    REVERSE_CHARGE_GOODS,
    REVERSE_CHARGE_SERVICES,
)
from pp2eb.mapping.vatcodes import SALE_VAT_CODES, vat_rate
from pp2eb.web.forms import StepForm, choose_ledger, choose_radio, with_rows

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
    REVERSE_CHARGE_GOODS: _l("Reverse charge, goods: businesses in other EU countries"),
    REVERSE_CHARGE_SERVICES: _l("Reverse charge, services: businesses in other EU countries"),
    OUTSIDE_EU_GOODS: _l("Goods to customers outside the EU (export)"),
    OUTSIDE_EU_SERVICES: _l("Services to customers outside the EU"),
}
NOT_A_CODE = _l("Choose one of the listed VAT codes.")


class RevenueForm(StepForm):
    KEYS = ("revenue_ledger", "discount_ledger")
    ROWS: dict[str, str] = {}  # field name -> Plug&Pay product id
    revenue_ledger = choose_ledger(
        _l("Revenue ledger"),
        description=_l("A counter account must be a profit and loss ledger."),
    )
    discount_ledger = choose_ledger(
        _l("Discount ledger (optional)"),
        required=False,
        description=_l(
            "Where order discounts are booked. Without one, each discount lowers the revenue "
            "ledgers of the lines it was given on, in proportion."
        ),
    )

    @classmethod
    def with_products(cls, products: Iterable[Any]) -> type[RevenueForm]:
        """This form with one optional ledger dropdown per Plug&Pay product."""
        fields = {
            f"product_{p.id}": (str(p.id), choose_ledger(p.title, required=False)) for p in products
        }
        return with_rows(cls, fields)

    @classmethod
    def initial(cls, draft: dict[str, Any]) -> dict[str, Any]:
        chosen = draft.get("product_ledgers") or {}
        rows = {name: chosen.get(pid, "") for name, pid in cls.ROWS.items()}
        discount = {"discount_ledger": draft.get("discount_ledger") or ""}
        return {**super().initial(draft), **rows, **discount}

    def settings(self) -> dict[str, Any]:
        chosen = {pid: self[name].data for name, pid in self.ROWS.items() if self[name].data}
        discount = self.discount_ledger.data or None
        return {**super().settings(), "product_ledgers": chosen, "discount_ledger": discount}


class VatForm(StepForm):
    KEYS = ("unknown_product_kind", "dutch_vat_products")
    ROWS: dict[str, str] = {}  # field name -> vat_map key
    unknown_product_kind = choose_radio(
        "unknown_product_kind",
        _l("A product Plug&Pay does not say is physical or not is booked as"),
    )
    # The Plug&Pay products as choices, set by the loader.
    dutch_vat_products = SelectMultipleField(
        _l("Products taxed in the Netherlands wherever the customer is"),
        description=_l(
            "Admission to an event held in the Netherlands, coaching on location: the Dutch VAT "
            "on these is booked with its Dutch code, also for customers abroad."
        ),
        choices=[],
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )

    @classmethod
    def with_rates(cls, rates: Iterable[TaxRate]) -> type[VatForm]:
        """This form with a VAT-code dropdown per Dutch Plug&Pay tax rate, plus four rows for
        reverse charge and sales outside the EU, each for goods and for services.

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
        return with_rows(cls, fields)

    @classmethod
    def initial(cls, draft: dict[str, Any]) -> dict[str, Any]:
        chosen = draft.get("vat_map") or {}
        rows = {name: chosen.get(key, "") for name, key in cls.ROWS.items()}
        return {**super().initial(draft), **rows}

    def settings(self) -> dict[str, Any]:
        chosen = {key: self[name].data for name, key in self.ROWS.items() if self[name].data}
        return {**super().settings(), "vat_map": chosen}


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
        """The form for the chosen VAT arrangement: OSS adds its date and a ledger per country."""
        if oss != "oss":
            return OssForm
        fields = {f"oss_{c}": (c, choose_ledger(c, required=False)) for c in oss_countries()}
        return with_rows(RevealedOssForm, fields)

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


class RevealedOssForm(OssForm):
    KEYS = ("oss", "oss_from")
    oss_from = DateField(
        _l("OSS from"),
        validators=[Optional()],
        description=_l(
            "Invoices dated before this day, and their credit invoices, are booked as they were "
            "then: with Dutch VAT. Empty: OSS applies to every invoice."
        ),
    )

    @classmethod
    def initial(cls, draft: dict[str, Any]) -> dict[str, Any]:
        start = draft.get("oss_from")
        return {**super().initial(draft), "oss_from": date.fromisoformat(start) if start else None}

    def settings(self) -> dict[str, Any]:
        when = self.oss_from.data
        return {**super().settings(), "oss_from": when.isoformat() if when else None}


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
