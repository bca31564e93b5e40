"""Settings checked against an e-Boekhouden account before they are stored.

``check_against`` names every ledger, VAT code and invoice template that the settings use and
the account's reference data (``pp2eb.engine.sync.fetch_reference`` reads it live) lacks, or has of
the wrong kind. ``Settings.from_dict`` has already checked the settings on their own.
``usual_codes`` keeps of ``USUAL_CODES`` what the account has, so that a setting a file leaves
out is filled in only with something that is there, and otherwise stays unset.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pp2eb.mapping.booking import ReferenceData
from pp2eb.mapping.problems import shown
from pp2eb.mapping.settings import KIND_VAT_KEYS, USUAL_CODES, Settings
from pp2eb.mapping.vatcodes import vat_rate

_CATEGORY_NAMES = {"DEB": "a debtor ledger (DEB)", "VW": "a profit and loss ledger (VW)"}
_CATEGORY_NAMES["BAL"] = "a balance sheet ledger (BAL)"
# inferred: a payment (mutation type 3) is booked on a bank or cash ledger (FIN) at the top; the
# sandbox answers MUT_009 otherwise (docs/reference/eboekhouden-api.md §3.6: "for 3–6 = bank/cash
# (FIN)").
_CATEGORY_NAMES["FIN"] = "a bank or cash ledger (FIN), e.g. a tussenrekening"
# The category each single-ledger setting needs.
LEDGER_CATEGORIES = {
    "debtor_ledger": "DEB",
    "revenue_ledger": "VW",
    "shipping_ledger": "VW",
    "rounding_ledger": "VW",
}


def usual_codes(reference: ReferenceData) -> dict[str, Any]:
    """The ``USUAL_CODES`` that ``reference`` has, each of the category its setting needs."""
    found: dict[str, Any] = {}
    for key, category in LEDGER_CATEGORIES.items():
        ledger = reference.ledgers.get(USUAL_CODES[key])
        if ledger is not None and ledger.category == category:
            found[key] = ledger.code
    if USUAL_CODES["invoice_template"] in reference.templates:
        found["invoice_template"] = USUAL_CODES["invoice_template"]
    vat_map = {k: c for k, c in USUAL_CODES["vat_map"].items() if c in reference.vat_codes}
    if vat_map:
        found["vat_map"] = vat_map
    return found


def with_usual_codes(data: object, reference: ReferenceData) -> object:
    """Settings JSON with the usual codes ``reference`` has for the keys ``data`` leaves out."""
    if not isinstance(data, dict):
        return data  # Settings.from_dict names the problem
    return {**usual_codes(reference), **data}


def check_against(settings: Settings, reference: ReferenceData) -> list[str]:
    """Name every ledger, VAT code and template in ``settings`` that ``reference`` lacks."""
    wanted = [
        (key, getattr(settings, key), category)
        for key, category in LEDGER_CATEGORIES.items()
        if getattr(settings, key) is not None  # an optional ledger left unset
    ]
    wanted += [(f"product_ledgers[{p}]", c, "VW") for p, c in settings.product_ledgers.items()]
    wanted += [(f"oss_ledgers[{c}]", code, "BAL") for c, code in settings.oss_ledgers.items()]
    wanted += [(f"payment_ledgers[{p}]", c, "FIN") for p, c in settings.payment_ledgers.items()]
    if settings.discount_ledger:
        wanted += [("discount_ledger", settings.discount_ledger, "VW")]
    if settings.payment_fallback_ledger:
        wanted += [("payment_fallback_ledger", settings.payment_fallback_ledger, "FIN")]
    problems = []
    for key, code, category in wanted:
        ledger = reference.ledgers.get(code)
        if ledger is None:
            problems.append(f"{key}: ledger {code} does not exist in e-Boekhouden.")
        elif ledger.category != category:
            problems.append(
                f"{key}: ledger {code} ({ledger.description}) has category {ledger.category}; "
                f"it must be {_CATEGORY_NAMES[category]}."
            )
    for key, code in settings.vat_map.items():
        if code not in reference.vat_codes:
            problems.append(f"vat_map[{key}]: {shown(code)} is not an e-Boekhouden sales VAT code.")
            continue
        rate = Decimal(0) if key in KIND_VAT_KEYS else Decimal(key.split(":")[1])
        if vat_rate(code) != rate:
            problems.append(
                f"vat_map[{key}]: e-Boekhouden books {code} at {vat_rate(code)}%, not {rate}%."
            )
    if settings.insertion == "invoice" and settings.invoice_template not in reference.templates:
        problems.append(
            f"invoice_template: there is no invoice template named "
            f"{shown(settings.invoice_template)} in e-Boekhouden."
        )
    return problems
