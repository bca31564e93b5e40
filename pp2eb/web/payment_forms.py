"""The form of the set-up step "Payments": book payments or not, from when, on which ledgers.

Kept apart from ``pp2eb.web.forms`` (the step machinery and the simpler steps) for its size, as
the revenue, VAT and OSS steps are in ``pp2eb.web.mapping_forms``. Like the OSS step, choosing
"yes" reveals the rows: one clearing-ledger dropdown (category FIN) per payment provider, a
fallback for any other provider or method, and the date to book from.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import DateField, RadioField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Optional, ValidationError

from pp2eb.web.forms import StepForm, choose_ledger, with_rows

# The providers Plug&Pay works with that get a row of their own; any other provider or method
# saved in the settings (``flask settings import``) gets one too.
PROVIDERS = {"mollie": "Mollie", "stripe": "Stripe"}


class PaymentsForm(StepForm):
    KEYS = ("book_payments",)
    ROWS: dict[str, str] = {}  # field name -> provider
    book_payments = RadioField(
        _l("Book the payments of paid orders?"),
        choices=[
            SelectChoice("yes", _l("Yes, on a clearing ledger per payment provider")),
            SelectChoice("no", _l("No, payments are booked in e-Boekhouden.nl itself")),
        ],
        validators=[InputRequired(message=_l("Choose one of the options."))],
    )

    @staticmethod
    def for_choice(book: str | None, providers: Iterable[str] = ()) -> type[PaymentsForm]:
        """The form for the choice: "yes" adds the date, a row per provider and the fallback."""
        if book != "yes":
            return PaymentsForm
        names = [*PROVIDERS, *sorted(set(providers) - set(PROVIDERS))]
        fields = {
            f"pay_{name}": (name, choose_ledger(PROVIDERS.get(name, name), required=False))
            for name in names
        }
        return with_rows(RevealedPaymentsForm, fields)

    @classmethod
    def initial(cls, draft: dict[str, Any]) -> dict[str, Any]:
        return {"book_payments": "yes" if draft.get("book_payments") else "no"}

    def settings(self) -> dict[str, Any]:
        # "No" keeps the ledgers and the date as they were, for when it is switched on again.
        return {"book_payments": self.book_payments.data == "yes"}


class RevealedPaymentsForm(PaymentsForm):
    KEYS = ("book_payments", "payments_from", "payment_fallback_ledger")
    payments_from = DateField(
        _l("Book payments made from"),
        validators=[Optional()],
        description=_l(
            "Payments made before this date are left to you: pp2eb does not book them. Empty: "
            "from the start date."
        ),
    )
    payment_fallback_ledger = choose_ledger(
        _l("Any other provider or method (e.g. bank transfer)"), required=False
    )

    @classmethod
    def initial(cls, draft: dict[str, Any]) -> dict[str, Any]:
        chosen = draft.get("payment_ledgers") or {}
        start = draft.get("payments_from")
        return {
            **super().initial(draft),
            "payments_from": date.fromisoformat(start) if start else None,
            "payment_fallback_ledger": draft.get("payment_fallback_ledger") or "",
            **{name: chosen.get(provider, "") for name, provider in cls.ROWS.items()},
        }

    def validate_book_payments(self, field: RadioField) -> None:
        """Booking payments needs the clearing ledger of at least one provider."""
        if field.data == "yes" and not (
            self.payment_fallback_ledger.data or any(self[name].data for name in self.ROWS)
        ):
            raise ValidationError(_l("Choose the clearing ledger of at least one provider."))

    def settings(self) -> dict[str, Any]:
        chosen = {p: self[name].data for name, p in self.ROWS.items() if self[name].data}
        when = self.payments_from.data
        return {
            **super().settings(),
            "payments_from": when.isoformat() if when else None,
            "payment_ledgers": chosen,
            "payment_fallback_ledger": self.payment_fallback_ledger.data or None,
        }
