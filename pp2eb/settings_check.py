"""Settings checked against an e-Boekhouden account before they are stored.

``check_against`` names every ledger, VAT code and invoice template that the settings use and
the account's reference data (``pp2eb.sync.fetch_reference`` reads it live) lacks, or has of
the wrong kind. ``Settings.from_dict`` has already checked the settings on their own.
"""

from __future__ import annotations

from decimal import Decimal

from pp2eb.mapping.booking import ReferenceData
from pp2eb.mapping.orderjson import shown
from pp2eb.mapping.vatcodes import vat_rate
from pp2eb.settings import OUTSIDE_EU, REVERSE_CHARGE, Settings

_CATEGORY_NAMES = {"DEB": "a debtor ledger (DEB)", "VW": "a profit and loss ledger (VW)"}
_CATEGORY_NAMES["BAL"] = "a balance sheet ledger (BAL)"
# inferred: a payment (mutation type 3) is booked on a bank or cash ledger (FIN) at the top;
# the sandbox answers MUT_009 otherwise (reference §3.6: "for 3–6 = bank/cash (FIN)").
_CATEGORY_NAMES["FIN"] = "a bank or cash ledger (FIN), e.g. a tussenrekening"


def check_against(settings: Settings, reference: ReferenceData) -> list[str]:
    """Name every ledger, VAT code and template in ``settings`` that ``reference`` lacks."""
    wanted = [
        ("debtor_ledger", settings.debtor_ledger, "DEB"),
        ("revenue_ledger", settings.revenue_ledger, "VW"),
        ("shipping_ledger", settings.shipping_ledger, "VW"),
        ("rounding_ledger", settings.rounding_ledger, "VW"),
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
        rate = Decimal(0) if key in (REVERSE_CHARGE, OUTSIDE_EU) else Decimal(key.split(":")[1])
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
