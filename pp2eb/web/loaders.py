"""The loaders that fill a set-up step's form with its choices, live.

Every dropdown of ledgers and templates is filled from e-Boekhouden.nl, the product and tax-rate
rows from Plug&Pay, through ``pp2eb.setup.lookups`` (a short cache; ``Source.fresh`` bypasses it).
``load`` builds a step's form with its choices set, for the wizard's views (before they
validate) and for the HTMX fragments (``pp2eb.web.htmx``) alike. A list that cannot be loaded
becomes a ``Problem``, under the id of the fragment that shows it: the page says what failed and
what to do, never shows an empty list.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict
from wtforms.fields.choices import SelectChoice

from pp2eb import dutchtime
from pp2eb.mapping.order import TaxRate
from pp2eb.mapping.settings import OPTIONAL_LEDGERS, USUAL_CODES
from pp2eb.reports import oss_watch, records
from pp2eb.setup import lookups, shopsettings
from pp2eb.states import OrderState
from pp2eb.web import current
from pp2eb.web.forms import DebtorForm, InsertionForm, ShippingForm, StepForm
from pp2eb.web.mapping_forms import VAT_CODE_LABELS, OssForm, RevenueForm, VatForm, vat_codes_at
from pp2eb.web.payment_forms import PaymentsForm

# The ledger dropdowns and the category each is filtered to (revenue and shipping are VW).
LEDGER_FIELDS: dict[str, tuple[str, type[StepForm]]] = {
    "debtor_ledger": ("DEB", DebtorForm),
    "revenue_ledger": ("VW", RevenueForm),
    "discount_ledger": ("VW", RevenueForm),
    "shipping_ledger": ("VW", ShippingForm),
    "rounding_ledger": ("VW", ShippingForm),
}
# The ids of the fragments a problem is shown in; a ledger dropdown's is "pick-" + its name.
PRODUCT_ROWS, VAT_ROWS, OSS_ROWS = "product-ledgers", "vat-rows", "oss-ledgers"
DUTCH_PRODUCTS = "dutch-vat-products"
PAYMENT_ROWS = "payment-ledgers"
TEMPLATE_PICK = "pick-invoice_template"


@dataclass(frozen=True)
class Problem:
    """A list that could not be loaded: what failed, and whether reconnecting is the fix."""

    message: str
    service: str
    reconnect: bool


@dataclass
class Loaded:
    """A step form with its choices set; ``problems`` by fragment id, empty when all loaded."""

    form: StepForm
    problems: dict[str, Problem] = field(default_factory=dict)


def explain(exc: lookups.LookupFailed) -> Problem:
    """What failed and what to do about it, in words for the shop owner."""
    message = lookups.describe(exc)
    reconnect = exc.reason in (lookups.NOT_CONNECTED, lookups.UNREADABLE, lookups.REFUSED)
    return Problem(message, exc.service, reconnect)


def ledger_options(category: str, fresh: bool = False) -> list[SelectChoice]:
    """The ledgers of ``category`` as options: value the code, label "code — description"."""
    ledgers = lookups.ledgers(current.link(), category, fresh=fresh)
    return [SelectChoice(x.code, f"{x.code} — {x.description}") for x in ledgers]


def vat_code_options(percentage: Decimal) -> list[SelectChoice]:
    """The sales VAT codes e-Boekhouden books at ``percentage``: label "code — meaning"."""
    codes = vat_codes_at(percentage)
    return [SelectChoice(code, f"{code} — {VAT_CODE_LABELS[code]}") for code in codes]


@dataclass(frozen=True)
class Source:
    """Where a form's values come from: the stored draft, then ``formdata``.

    A submitted step (``submitted``) takes only what was posted, so a dropdown that was never
    shown cannot be saved with its stored value; a fragment request fills in from the draft
    whatever it does not carry. ``fresh`` bypasses the lookup cache.
    """

    formdata: MultiDict | None = None
    fresh: bool = False
    submitted: bool = False


def load(base: type[StepForm], source: Source = Source()) -> Loaded:
    """The form of the step whose form is ``base``, with every choice filled."""
    loader = LOADERS.get(base)
    draft = shopsettings.load_draft(current.link())
    if loader is None:
        return Loaded(_make(base, draft, source))
    return loader(draft, source)


def _make(form_class: type[StepForm], draft: dict, source: Source) -> StepForm:
    if source.submitted:
        form = form_class(formdata=source.formdata)
        for field_ in form:
            if field_.type == "SelectField" and field_.data is None:
                field_.data = ""  # a dropdown that was not on the page: nothing chosen
        return form
    data = form_class.initial(draft)
    if source.formdata is None:
        return form_class(data=data)
    return form_class(formdata=source.formdata, data=data)


def _fill(loaded: Loaded, names: list[str], options: Callable[[], list], blank: str, where: str):
    """Set the choices of fields ``names``; a failed list becomes the problem of ``where``."""
    try:
        choices = [SelectChoice("", blank), *options()]
    except lookups.LookupFailed as exc:
        choices = []
        loaded.problems.setdefault(where, explain(exc))
    for name in names:
        loaded.form[name].choices = choices
    return bool(choices)


def _suggest(loaded: Loaded, name: str, draft: dict, source: Source) -> None:
    """Preselect the usual code (``USUAL_CODES``) in a dropdown nobody chose for yet, only when
    its list offers it: a code the administration lacks is never shown as chosen."""
    field_ = loaded.form[name]
    touched = source.submitted or (source.formdata is not None and name in source.formdata)
    usual = USUAL_CODES.get(name)  # the discount ledger has none: empty is its usual choice
    if usual is None or touched or draft.get(name) is not None or field_.data:
        return
    if usual in {choice.value for choice in field_.choices}:
        field_.data = usual


def _chosen(source: Source, key: str, draft: dict) -> Any:
    return source.formdata.get(key, draft[key]) if source.formdata else draft[key]


def load_ledger(name: str, source: Source = Source()) -> Loaded:
    """The form of the step with the ledger dropdown ``name`` (a key of ``LEDGER_FIELDS``),
    with only that dropdown filled."""
    form_class = LEDGER_FIELDS[name][1]
    draft = shopsettings.load_draft(current.link())
    loaded = Loaded(_make(form_class, draft, source))
    _fill_ledger(loaded, name, draft, source)
    return loaded


def _fill_ledger(loaded: Loaded, name: str, draft: dict, source: Source) -> None:
    category = LEDGER_FIELDS[name][0]
    options = lambda: ledger_options(category, source.fresh)  # noqa: E731
    if name == "discount_ledger":
        blank = _("— none: with the revenue —")
    elif name in OPTIONAL_LEDGERS:
        blank = _("— none —")
    else:
        blank = _("— choose a ledger —")
    _fill(loaded, [name], options, blank, f"pick-{name}")
    _suggest(loaded, name, draft, source)


def _load_ledgers(base: type[StepForm]) -> Callable[..., Loaded]:
    def loader(draft: dict, source: Source) -> Loaded:
        loaded = Loaded(_make(base, draft, source))
        for name, (_category, form_class) in LEDGER_FIELDS.items():
            if form_class is base:
                _fill_ledger(loaded, name, draft, source)
        return loaded

    return loader


def _load_insertion(draft: dict, source: Source) -> Loaded:
    form_class = InsertionForm.for_choice(_chosen(source, "insertion", draft))
    loaded = Loaded(_make(form_class, draft, source))
    if "invoice_template" in loaded.form:

        def options() -> list[SelectChoice]:
            return [
                SelectChoice(t.name)
                for t in lookups.invoice_templates(current.link(), fresh=source.fresh)
            ]

        blank = _("— choose a template —")
        _fill(loaded, ["invoice_template"], options, blank, TEMPLATE_PICK)
        if len(loaded.form.invoice_template.choices) == 1:
            loaded.form.invoice_template.choices = []  # only the blank: there is none to choose
        _suggest(loaded, "invoice_template", draft, source)
    return loaded


def _load_revenue(draft: dict, source: Source) -> Loaded:
    problems, fresh = {}, source.fresh
    try:
        products = lookups.products(current.link(), fresh=fresh)
    except lookups.LookupFailed as exc:
        products, problems[PRODUCT_ROWS] = [], explain(exc)
    loaded = Loaded(_make(RevenueForm.with_products(products), draft, source), problems)
    vw = lambda: ledger_options("VW", fresh)  # noqa: E731
    _fill(loaded, ["revenue_ledger"], vw, _("— choose a ledger —"), "pick-revenue_ledger")
    _suggest(loaded, "revenue_ledger", draft, source)
    _fill(loaded, ["discount_ledger"], vw, _("— none: with the revenue —"), "pick-discount_ledger")
    automatic = _("Automatic: the Plug&Pay ledger if it exists here, else the revenue ledger")
    if _fill(loaded, list(loaded.form.ROWS), vw, automatic, PRODUCT_ROWS):
        # Prefill a product nobody chose for yet with the ledger Plug&Pay keeps on it, when
        # e-Boekhouden has that ledger as a VW ledger.
        known = {choice.value for choice in loaded.form.revenue_ledger.choices if choice.value}
        for product in products:
            name = f"product_{product.id}"
            untouched = source.formdata is None or name not in source.formdata
            if untouched and not loaded.form[name].data and product.ledger in known:
                loaded.form[name].data = product.ledger
    return loaded


def _load_vat(draft: dict, source: Source) -> Loaded:
    problems = {}
    try:
        rates = lookups.tax_rates(current.link(), fresh=source.fresh)
    except lookups.LookupFailed as exc:
        rates, problems[VAT_ROWS] = [], explain(exc)
    known = {rate.key for rate in rates}
    # A rate mapped earlier that Plug&Pay no longer lists keeps its row, so it is not lost.
    rates = [*rates, *(rate for rate in _saved_rates(draft) if rate.key not in known)]
    loaded = Loaded(_make(VatForm.with_rates(rates), draft, source), problems)
    percentages = {rate.key: rate.percentage for rate in rates}
    for name, key in loaded.form.ROWS.items():
        field_ = loaded.form[name]
        options = vat_code_options(percentages.get(key, Decimal(0)))
        blank = [] if field_.flags.required else [SelectChoice("", _("— not mapped —"))]
        field_.choices = [*blank, *options]
        usual = USUAL_CODES["vat_map"].get(key)
        touched = source.submitted or (source.formdata is not None and name in source.formdata)
        if not touched and not field_.data and usual in {o.value for o in options}:
            field_.data = usual
    _fill_products(loaded, draft, source)
    return loaded


def _fill_products(loaded: Loaded, draft: dict, source: Source) -> None:
    """The Plug&Pay products to tick as taxed in the Netherlands; a product ticked earlier that
    Plug&Pay no longer lists keeps its box, so it is not lost."""
    try:
        choices = [
            SelectChoice(str(p.id), p.title)
            for p in lookups.products(current.link(), fresh=source.fresh)
        ]
    except lookups.LookupFailed as exc:
        choices = []
        loaded.problems[DUTCH_PRODUCTS] = explain(exc)
    listed = {choice.value for choice in choices}
    saved = [str(pid) for pid in draft.get("dutch_vat_products") or [] if str(pid) not in listed]
    choices += [SelectChoice(pid, _("Product %(id)s", id=pid)) for pid in saved]
    loaded.form.dutch_vat_products.choices = choices


def _saved_rates(draft: dict) -> list[TaxRate]:
    rates = []
    for key in draft.get("vat_map") or {}:
        country, _sep, percentage = key.partition(":")
        try:
            rates.append(TaxRate(country, Decimal(percentage)))
        except InvalidOperation:
            continue  # reverse_charge, outside_eu: rows of their own
    return rates


def _load_oss(draft: dict, source: Source) -> Loaded:
    form_class = OssForm.for_choice(_chosen(source, "oss", draft))
    loaded = Loaded(_make(form_class, draft, source))
    if form_class.ROWS:
        blank = _("— no OSS ledger —")
        options = lambda: ledger_options("BAL", source.fresh)  # noqa: E731
        _fill(loaded, list(form_class.ROWS), options, blank, OSS_ROWS)
        switching_on = draft.get("oss") != "oss" and not draft.get("oss_from")
        if switching_on and not source.submitted:
            # The threshold watch knows the sale that passed the threshold: OSS from that day.
            loaded.form.oss_from.data = oss_watch.current(current.link()).passed_on
    return loaded


def _load_payments(draft: dict, source: Source) -> Loaded:
    saved = draft.get("payment_ledgers") or {}
    # The form says "yes"/"no"; the saved settings say True/False.
    initial = PaymentsForm.initial(draft)["book_payments"]
    chosen = source.formdata.get("book_payments", initial) if source.formdata else initial
    form_class = PaymentsForm.for_choice(chosen, saved)
    loaded = Loaded(_make(form_class, draft, source))
    if form_class.ROWS:
        names = [*form_class.ROWS, "payment_fallback_ledger"]
        options = lambda: ledger_options("FIN", source.fresh)  # noqa: E731
        _fill(loaded, names, options, _("— not booked —"), PAYMENT_ROWS)
        switching_on = not draft.get("book_payments") and not draft.get("payments_from")
        if (
            switching_on
            and not source.submitted
            and records.counts(current.link())[OrderState.BOOKED]
        ):
            # Switched on after orders were booked: from today, not for every order before.
            loaded.form.payments_from.data = dutchtime.today()
    return loaded


LOADERS: dict[type[StepForm], Callable[..., Loaded]] = {
    DebtorForm: _load_ledgers(DebtorForm),
    ShippingForm: _load_ledgers(ShippingForm),
    InsertionForm: _load_insertion,
    RevenueForm: _load_revenue,
    VatForm: _load_vat,
    OssForm: _load_oss,
    PaymentsForm: _load_payments,
}
