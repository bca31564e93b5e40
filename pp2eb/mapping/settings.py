"""The shop owner's choices as one frozen ``Settings``, read from and written to plain JSON.

``Settings.from_dict`` checks the file on its own and names every problem at once;
``pp2eb.setup.settings_check`` checks it against an e-Boekhouden account. Ledgers are kept as their
codes, as a person sees them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from pp2eb.mapping.countries import EU_COUNTRIES, HOME_COUNTRY, ISO_COUNTRIES
from pp2eb.mapping.order import rate_key
from pp2eb.mapping.problems import shown

CHOICES: dict[str, tuple[str, ...]] = {
    "orders": ("final_invoices", "paid"),
    "reference": ("invoice_number", "order_number"),
    "insertion": ("mutation", "invoice"),
    "oss": ("home_country", "oss"),
    "customer_codes": ("eboekhouden", "name"),
    "unknown_product_kind": ("services", "goods"),
}
# The vat_map keys of sales that are not looked up by their rate: reverse charge to an EU
# business and sales outside the EU, each for goods and for services.
REVERSE_CHARGE_GOODS, REVERSE_CHARGE_SERVICES = "reverse_charge_goods", "reverse_charge_services"
OUTSIDE_EU_GOODS, OUTSIDE_EU_SERVICES = "outside_eu_goods", "outside_eu_services"
KIND_VAT_KEYS = (
    REVERSE_CHARGE_GOODS,
    REVERSE_CHARGE_SERVICES,
    OUTSIDE_EU_GOODS,
    OUTSIDE_EU_SERVICES,
)
# Settings made before goods and services had codes of their own had one key for both: read
# there, each sets both of its new keys (unless the file names them too).
REVERSE_CHARGE, OUTSIDE_EU = "reverse_charge", "outside_eu"
OLD_VAT_KEYS = {
    REVERSE_CHARGE: (REVERSE_CHARGE_GOODS, REVERSE_CHARGE_SERVICES),
    OUTSIDE_EU: (OUTSIDE_EU_GOODS, OUTSIDE_EU_SERVICES),
}
# Every order needs these two; the other two only the orders with shipping costs or a VAT
# rounding difference, which fail with a reason naming the setting while it is not set.
REQUIRED_LEDGERS = ("debtor_ledger", "revenue_ledger")
OPTIONAL_LEDGERS = ("shipping_ledger", "rounding_ledger")
_RATE_KEY = re.compile(r"([A-Z]{2}):(\d{1,2}(?:\.\d{1,4})?)")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_PROVIDER = re.compile(r"[a-z0-9][a-z0-9_.-]{0,39}")
MAX_LEDGER_CODE = 10  # the ledger list's ``code`` filter takes at most 10 characters

# What the wizard starts from. start_date has no sensible default: the owner picks it. Nothing
# here names a ledger, VAT code or template: those are in ``USUAL_CODES``.
DEFAULTS: dict[str, Any] = {
    "orders": "final_invoices",
    "start_date": None,
    "reference": "invoice_number",
    "insertion": "mutation",
    "invoice_template": None,
    "group_lines": False,
    "debtor_ledger": None,
    "revenue_ledger": None,
    "product_ledgers": {},
    "shipping_ledger": None,
    "discount_ledger": None,  # order discounts; None: where the discounted revenue went
    "vat_map": {},
    # A line whose Plug&Pay product is unknown (or says nothing of is_physical) is this.
    # inferred: most of what Plug&Pay shops sell is services (courses, e-books, coaching).
    "unknown_product_kind": "services",
    # Plug&Pay product ids taxed in the Netherlands wherever the customer is (admission to an
    # event held in the Netherlands, coaching on location): booked with their Dutch VAT code.
    "dutch_vat_products": [],
    "oss": "home_country",
    "oss_ledgers": {},
    "oss_from": None,  # invoice date from which OSS applies; None: always (pp2eb/mapping/vat.py)
    "customer_codes": "eboekhouden",
    "sync_interval_minutes": 15,
    # Where a VAT rounding difference is booked, visibly (pp2eb.mapping.rounding).
    "rounding_ledger": None,
    "term_of_payment": 14,
    # Payments (mutation type 3, see pp2eb/engine/payments.py): off unless the owner turns them on.
    "book_payments": False,
    "payments_from": None,  # paid on or after this date; None: from start_date
    "payment_ledgers": {},  # provider (or method) -> clearing ledger (FIN): {"mollie": "1650"}
    "payment_fallback_ledger": None,  # any other provider or method; None: not booked
}

# The codes of e-Boekhouden's standard chart of accounts. Suggested, never assumed: an
# administration need not have them, so an import takes one and the wizard preselects it only
# where the administration has it (``pp2eb.setup.settings_check.usual_codes``).
USUAL_CODES: dict[str, Any] = {
    "invoice_template": "Standaard",
    "debtor_ledger": "1300",
    "revenue_ledger": "8000",
    "shipping_ledger": "8050",
    "rounding_ledger": "8090",
    "vat_map": {
        "NL:21": "HOOG_VERK_21",
        "NL:9": "LAAG_VERK_9",
        "NL:0": "GEEN",
        REVERSE_CHARGE_GOODS: "BI_EU_VERK",
        REVERSE_CHARGE_SERVICES: "BI_EU_VERK_D",
        OUTSIDE_EU_GOODS: "BU_EU_VERK",
        # inferred: a service supplied outside the EU is no Dutch supply, so no box of the
        # Dutch VAT return applies (box 3a is for goods exported).
        OUTSIDE_EU_SERVICES: "GEEN",
    },
}


class SettingsError(ValueError):
    """Settings that cannot be used; ``problems`` names every one of them."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Settings:
    """The shop owner's choices; see ``DEFAULTS`` for the keys and the README for meanings."""

    orders: str
    start_date: date
    reference: str
    insertion: str
    invoice_template: str | None
    group_lines: bool
    debtor_ledger: str
    revenue_ledger: str
    product_ledgers: dict[str, str]
    shipping_ledger: str | None
    discount_ledger: str | None
    vat_map: dict[str, str]
    unknown_product_kind: str
    dutch_vat_products: tuple[str, ...]
    oss: str
    oss_ledgers: dict[str, str]
    oss_from: date | None
    customer_codes: str
    sync_interval_minutes: int
    rounding_ledger: str | None
    term_of_payment: int
    book_payments: bool
    payments_from: date | None
    payment_ledgers: dict[str, str]
    payment_fallback_ledger: str | None

    @property
    def payments_start(self) -> date:
        """The first payment date whose payment is booked."""
        return self.payments_from or self.start_date

    @classmethod
    def from_dict(cls, data: object) -> Settings:
        """Read settings JSON (missing keys take ``DEFAULTS``); SettingsError names each problem."""
        if not isinstance(data, dict):
            raise SettingsError(["The settings must be a JSON object."])
        problems = [f"Unknown setting {shown(key)}." for key in data if key not in DEFAULTS]
        values = {**DEFAULTS, **{k: v for k, v in data.items() if k in DEFAULTS}}
        read = _Reader(values, problems)
        settings = {
            **{key: read.choice(key) for key in CHOICES},
            "start_date": read.date("start_date"),
            "invoice_template": read.optional_text("invoice_template"),
            "group_lines": read.flag("group_lines"),
            **{key: read.required_ledger(key) for key in REQUIRED_LEDGERS},
            **{key: read.optional_ledger(key) for key in OPTIONAL_LEDGERS},
            "product_ledgers": read.ledger_map(
                "product_ledgers", _product_id, "a Plug&Pay product id (a number)"
            ),
            "vat_map": read.vat_map(),
            "dutch_vat_products": read.product_ids("dutch_vat_products"),
            "oss_ledgers": read.ledger_map(
                "oss_ledgers", _oss_country, f"an EU country code other than {HOME_COUNTRY}"
            ),
            "oss_from": read.date("oss_from", required=False),
            "sync_interval_minutes": read.number("sync_interval_minutes", 1, 24 * 60),
            "term_of_payment": read.number("term_of_payment", 0, 365),
            "book_payments": read.flag("book_payments"),
            "payments_from": read.date("payments_from", required=False),
            "payment_ledgers": read.ledger_map(
                "payment_ledgers", _provider, "a payment provider or method, e.g. mollie"
            ),
            "payment_fallback_ledger": read.optional_ledger("payment_fallback_ledger"),
            "discount_ledger": read.optional_ledger("discount_ledger"),
        }
        if settings["insertion"] == "invoice" and not settings["invoice_template"]:
            problems.append("invoice_template: name the invoice template to book invoices with.")
        if settings["book_payments"] and not (
            settings["payment_ledgers"] or settings["payment_fallback_ledger"]
        ):
            problems.append(
                "payment_ledgers: name the clearing ledger of at least one payment provider."
            )
        if problems:
            raise SettingsError(problems)
        return cls(**settings)

    def to_dict(self) -> dict[str, Any]:
        """The settings as JSON-ready data; ``Settings.from_dict(s.to_dict()) == s``."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        for key in ("start_date", "payments_from", "oss_from"):
            data[key] = data[key].isoformat() if data[key] else None
        for key in ("product_ledgers", "vat_map", "oss_ledgers", "payment_ledgers"):
            data[key] = dict(data[key])
        data["dutch_vat_products"] = list(self.dutch_vat_products)
        return data


def _bare(key: object) -> str:
    """A key as it goes between brackets in a problem (``vat_map[NL:21]``), cut short."""
    text = str(key)
    return text if len(text) <= 30 else text[:29] + "…"


def _product_id(key: object) -> str | None:
    """The product id as Plug&Pay writes it ("012" is product 12), or None."""
    if not isinstance(key, str) or not key.isascii() or not key.isdigit():
        return None
    return str(int(key))


def _oss_country(key: object) -> str | None:
    return key if key in EU_COUNTRIES and key != HOME_COUNTRY else None


def _provider(key: object) -> str | None:
    """A payment provider or method as Plug&Pay writes it, in lower case ("Mollie" → mollie)."""
    name = key.strip().lower() if isinstance(key, str) else ""
    return name if _PROVIDER.fullmatch(name) else None


class _Reader:
    """Reads one setting at a time, recording a problem instead of stopping at the first."""

    def __init__(self, values: dict[str, Any], problems: list[str]):
        self.values = values
        self.problems = problems

    def choice(self, key: str) -> str:
        value = self.values[key]
        if value not in CHOICES[key]:
            self.problems.append(f"{key}: {shown(value)} is not one of {', '.join(CHOICES[key])}.")
        return value

    def date(self, key: str, *, required: bool = True) -> date | None:
        value = self.values[key]
        if value is None:
            if required:
                self.problems.append(f"{key}: missing; choose the first invoice date to book.")
            return None
        if isinstance(value, str) and _DATE.fullmatch(value):
            try:
                return date.fromisoformat(value)
            except ValueError:
                pass
        self.problems.append(f"{key}: {shown(value)} is not a date (YYYY-MM-DD).")
        return None

    def optional_text(self, key: str) -> str | None:
        value = self.values[key]
        if value is None:
            return None
        if not isinstance(value, str):
            self.problems.append(f"{key}: expected text, got {shown(value)}.")
            return None
        return value.strip() or None

    def flag(self, key: str) -> bool:
        value = self.values[key]
        if not isinstance(value, bool):
            self.problems.append(f"{key}: expected true or false, got {shown(value)}.")
        return value is True

    def number(self, key: str, low: int, high: int) -> int:
        value = self.values[key]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.problems.append(
                f"{key}: expected a whole number {low}-{high}, got {shown(value)}."
            )
            return low
        return value

    def ledger(self, key: str, value: object) -> str:
        if not isinstance(value, str):
            self.problems.append(f'{key}: a ledger code is text, e.g. "8000"; got {shown(value)}.')
            return ""
        if not value or value != value.strip() or len(value) > MAX_LEDGER_CODE:
            self.problems.append(f"{key}: {shown(value)} is not a ledger code.")
        return value

    def required_ledger(self, key: str) -> str:
        value = self.values[key]
        if value is None:
            self.problems.append(f"{key}: missing; choose one of the ledgers in e-Boekhouden.")
            return ""
        return self.ledger(key, value)

    def optional_ledger(self, key: str) -> str | None:
        value = self.values[key]
        return None if value in (None, "") else self.ledger(key, value)

    def _mapping(self, key: str) -> dict:
        value = self.values[key]
        if not isinstance(value, dict):
            self.problems.append(f"{key}: expected an object, got {shown(value)}.")
            return {}
        return value

    def ledger_map(
        self, key: str, canonical: Callable[[object], str | None], expected: str
    ) -> dict[str, str]:
        result: dict[str, str] = {}
        for item, code in self._mapping(key).items():
            name = canonical(item)
            if name is None:
                self.problems.append(f"{key}: {shown(item)} is not {expected}.")
                continue
            if name in result:
                self.problems.append(f"{key}: {shown(item)} is listed twice.")
            result[name] = self.ledger(f"{key}[{_bare(item)}]", code)
        return result

    def product_ids(self, key: str) -> tuple[str, ...]:
        value = self.values[key]
        if not isinstance(value, list):
            self.problems.append(
                f"{key}: expected a list of Plug&Pay product ids, got {shown(value)}."
            )
            return ()
        result: list[str] = []
        for item in value:
            # A number (12) or its text ("12"), as JSON lists and settings forms write ids.
            number = isinstance(item, int) and not isinstance(item, bool)
            product = _product_id(str(item) if number else item)
            if product is None:
                self.problems.append(
                    f"{key}: {shown(item)} is not a Plug&Pay product id (a number)."
                )
            elif product in result:
                self.problems.append(f"{key}: {shown(item)} is listed twice.")
            else:
                result.append(product)
        return tuple(result)

    def vat_map(self) -> dict[str, str]:
        result: dict[str, str] = {}
        seen: set[str] = set()
        for key, code in self._mapping("vat_map").items():
            canonical = _vat_map_key(key)
            if canonical is None:
                self.problems.append(
                    f'vat_map: {shown(key)} is not COUNTRY:RATE (e.g. "NL:21") or one of '
                    f"{', '.join(KIND_VAT_KEYS)}."
                )
                continue
            if canonical in seen:
                self.problems.append(f"vat_map: {shown(key)} is listed twice.")
            seen.add(canonical)
            if not isinstance(code, str) or not code:
                self.problems.append(
                    f"vat_map[{_bare(key)}]: expected a VAT code, got {shown(code)}."
                )
                continue
            result[canonical] = code
        return upgraded_vat_map(result)


def upgraded_vat_map(vat_map: dict[str, str]) -> dict[str, str]:
    """``vat_map`` with the keys of before goods and services had their own codes replaced:
    ``reverse_charge`` sets ``reverse_charge_goods`` and ``reverse_charge_services`` (and
    ``outside_eu`` both of its own), unless the map names them itself."""
    result = {key: code for key, code in vat_map.items() if key not in OLD_VAT_KEYS}
    for old, new_keys in OLD_VAT_KEYS.items():
        if old in vat_map:
            for key in new_keys:
                result.setdefault(key, vat_map[old])
    return result


def _vat_map_key(key: object) -> str | None:
    """``NL:21.0`` → ``NL:21``; the special keys as they are; None when not a valid key."""
    if not isinstance(key, str):
        return None
    if key in KIND_VAT_KEYS or key in OLD_VAT_KEYS:
        return key
    match = _RATE_KEY.fullmatch(key)
    if not match or match.group(1) not in ISO_COUNTRIES:
        return None
    try:
        return rate_key(match.group(1), Decimal(match.group(2)))
    except InvalidOperation:
        return None
