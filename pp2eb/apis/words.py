"""API errors in words a shop owner understands, with what to do about them."""

from __future__ import annotations

from pp2eb.apis import errors as apierrors

# e-Boekhouden error code -> (what happened, what to do). Codes from the API's own catalogue.
EBOEKHOUDEN_CODES: dict[str, tuple[str, str]] = {
    "MUT_005": (
        "The booking date lies in a period that is closed in e-Boekhouden.",
        "Ask your accountant to reopen the period, or book this order by hand.",
    ),
    "SECURITY_007": (
        "The period is closed by your accountant in e-Boekhouden.",
        "Ask your accountant to reopen the period, or book this order by hand.",
    ),
    "FACT_VERWERK_001": (
        "The invoice date lies in a closed period in e-Boekhouden.",
        "Ask your accountant to reopen the period, or book this order by hand.",
    ),
    "FACT_013": (
        "e-Boekhouden does not accept this invoice date (no open book year for it).",
        "Open the book year in e-Boekhouden, then retry.",
    ),
    "FACT_018": (
        "The invoice template (factuursjabloon) does not exist in e-Boekhouden.",
        "Create an invoice template in e-Boekhouden, or choose another one in the settings.",
    ),
    "FACT_009": (
        "An e-Boekhouden sales invoice number must end with a digit.",
        "Switch the reference setting to order numbers, or book as a booking (mutation).",
    ),
    "FACT_003": (
        "The customer's relation is inactive in e-Boekhouden.",
        "Make the relation active again in e-Boekhouden, then retry.",
    ),
    "MUT_106": (
        "A ledger in the booking has a category e-Boekhouden does not allow on a sales booking.",
        "Choose profit-and-loss ledgers for revenue and shipping in the settings.",
    ),
    "MUT_011": (
        "The debtor ledger is not a debtors (DEB) ledger in e-Boekhouden.",
        "Choose a debtors ledger in the settings.",
    ),
    "MUT_007": (
        "A ledger of the booking does not exist in e-Boekhouden.",
        "Check the ledgers chosen in the settings.",
    ),
    "MUT_104": (
        "A ledger of the booking does not exist in e-Boekhouden.",
        "Check the ledgers chosen in the settings.",
    ),
    "FACT_ITEM_012": (
        "A ledger of the invoice does not exist in e-Boekhouden.",
        "Check the ledgers chosen in the settings.",
    ),
    "MUT_019": (
        "e-Boekhouden already has a booking with this invoice number that pp2eb cannot match "
        "to this order.",
        "Look the number up in e-Boekhouden. If it is this order, skip it here with a reason; "
        "otherwise switch the reference setting to order numbers.",
    ),
    "FACT_101": (
        "e-Boekhouden already has an invoice with this number that pp2eb cannot match to "
        "this order.",
        "Look the number up in e-Boekhouden. If it is this order, skip it here with a reason.",
    ),
    "MUTA_008": (
        "e-Boekhouden already has a booking with pp2eb's payment reference for this order, "
        "but under another invoice number.",
        "Look the order up in e-Boekhouden; if it is booked, skip it here with a reason.",
    ),
    "MODULE_001": (
        "The free trial limit of the e-Boekhouden accounting module is reached.",
        "Upgrade your e-Boekhouden subscription, then retry.",
    ),
    "MODULE_002": (
        "The free trial limit of the e-Boekhouden invoicing module is reached.",
        "Upgrade your e-Boekhouden subscription, or book as a booking (mutation).",
    ),
    "FACT_102": (
        "The free trial limit of the e-Boekhouden invoicing module is reached.",
        "Upgrade your e-Boekhouden subscription, or book as a booking (mutation).",
    ),
    "REL_023": (
        "e-Boekhouden does not accept the customer's e-mail address.",
        "Correct the customer's e-mail address in Plug&Pay, then retry.",
    ),
}
# Codes only a payment (type 3) meets.
EBOEKHOUDEN_CODES["MUT_009"] = (
    "The clearing ledger is not a bank or cash ledger (FIN) in e-Boekhouden.",
    "Make the tussenrekening a bank ledger, or choose another on the Payments settings page.",
)
EBOEKHOUDEN_CODES["MUT_115"] = (
    "e-Boekhouden does not find the booked invoice on this relation to pay.",
    "Look the invoice up in e-Boekhouden; book the payment by hand if it differs.",
)
EBOEKHOUDEN_CODES["MUT_020"] = EBOEKHOUDEN_CODES["MUT_019"]
EBOEKHOUDEN_CODES["FACT_VERWERK_004"] = EBOEKHOUDEN_CODES["MUTA_008"]


def explain_api_error(exc: apierrors.ApiError) -> tuple[str, str]:
    """(what happened, what to do) for an API error, in plain words."""
    if exc.code and exc.code in EBOEKHOUDEN_CODES:
        reason, fix = EBOEKHOUDEN_CODES[exc.code]
        return f"{reason} ({exc.code}: {exc.detail or 'no details'})", fix
    if isinstance(exc, apierrors.AuthError):
        return str(exc), f"Reconnect {exc.api or 'the account'} with a new key."
    if isinstance(exc, apierrors.RateLimited):
        return str(exc), "Nothing: pp2eb tries again later."
    if isinstance(exc, apierrors.Unavailable):
        return (
            f"{exc.api or 'The API'} could not be reached or did not answer in time.",
            "Nothing: pp2eb tries again later. If it lasts, check the service's status page.",
        )
    if exc.code and exc.code.startswith("REL_"):
        return (
            f"e-Boekhouden refused the customer's details: {exc.detail} ({exc.code}).",
            "Correct the customer's details in Plug&Pay, then retry.",
        )
    return (
        f"{exc.api or 'The API'} refused the booking: {exc.detail or exc} "
        f"({exc.code or exc.status}).",
        "Check the order and the settings; retry once it is fixed.",
    )
