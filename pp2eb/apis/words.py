"""API failures in words a shop owner understands: what happened, on which side, what to do.

The one place for these words. The errors' own text (``str(exc)``, see ``errors``), an order's
reason and fix (``explain_api_error``), a stopped run's message (``run_stopped_*``), the connect
pages' check and the set-up's live lists (``refused_new_key``, ``refused_stored_key``,
``unreachable`` ...) all take them from here, so that a situation is worded one way everywhere;
``tests/apis/test_words.py`` keeps it so.

No Flask here, not even Babel: the words a page shows are marked with ``N_`` for the Dutch
catalogue and translated where they are shown, by the ``translate`` the caller passes
(``flask_babel.gettext``). Without one they stay English, as the words of a run are: they are
stored on the order and the run, and logged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol


class ApiError(Protocol):
    """What these words read of an ``errors.ApiError``: declared here, not imported, because
    ``errors`` takes its words from this module (and an import back would be a cycle)."""

    api: str
    kind: str  # "auth", "rate_limited", "unavailable", "rejected", "not_found" or "error"
    status: int | None
    code: str | None
    detail: str | None

    def what_happened(self) -> str: ...

    def particulars(self) -> str: ...


#: ``translate(message, **variables)``: flask_babel's ``gettext``, or ``english``.
Translate = Callable[..., str]


def N_(message: str) -> str:  # gettext's name for a no-op mark; pybabel extracts it
    """Mark ``message`` for the catalogue; it is translated where it is shown."""
    return message


def english(message: str, **variables: object) -> str:
    """``message`` filled in, untranslated: the words of a run, of an error, of a log line."""
    return message % variables if variables else message


# --- the two sides ---------------------------------------------------------------------------

PLUGANDPAY = "Plug&Pay"
EBOEKHOUDEN = "e-Boekhouden.nl"
ANY_API = "The API"  # an error raised without a side (only tests do)

# --- what happened: each kind of error's first words, "<side> <what happened>" ----------------

ANSWERED_WITH_AN_ERROR = "%(name)s answered with an error"
REFUSED_THE_CREDENTIALS = "%(name)s refused the credentials"
ASKS_TO_SLOW_DOWN = N_("%(name)s asks us to slow down")
NOT_REACHED = N_("%(name)s could not be reached or did not answer in time")
REFUSED_THE_REQUEST = N_("%(name)s refused the request")
COULD_NOT_FIND_IT = "%(name)s could not find it"
UNREADABLE_ANSWER = N_(
    "%(name)s gave an answer pp2eb cannot read (%(detail)s). Try again; if it keeps failing, "
    "check the connection."
)

# --- a refused key or token: the one way to say "connect again with a new key" ----------------

REFUSED_THE_STORED_KEY = N_("%(name)s refused the stored API key.")
REFUSED_THE_STORED_TOKEN = N_("%(name)s refused the stored API token.")
CONNECT_AGAIN_WITH_A_NEW_KEY = N_("Connect %(name)s again with a new API key.")
CONNECT_AGAIN_WITH_A_NEW_TOKEN = N_(
    "Connect %(name)s again with a new API token (Beheer > Inrichting > Koppelingen > API)."
)
#: The link to the connect page, whose title is "Connect <side>".
CONNECT_AGAIN = N_("Connect %(name)s again")
# A key or token just typed in on the connect page: most often not copied whole.
REFUSED_THE_NEW_KEY = N_(
    "%(name)s refused the API key: check that you copied all of it and that it has not been "
    "deleted in Plug&Pay."
)
REFUSED_THE_NEW_TOKEN = N_(
    "%(name)s refused the API token: check that you copied all of it and that it has not "
    "expired (Beheer > Inrichting > Koppelingen > API)."
)

# --- what to do when someone waits for the answer (a page, a command) -------------------------

TRY_AGAIN_IN_A_MINUTE = N_("Try again in a minute.")
TRY_AGAIN_SOON = N_("Try again in a moment.")
CHECK_THE_ADDRESS = N_("Check the address and try again later.")

# --- what to do in a run: the words stay English, stored on the order or the run --------------

TRIED_AGAIN_NEXT_RUN = "The next run will try again."
IF_IT_LASTS = "If it lasts, check the service's status page."
CHECK_BEFORE_TRYING_AGAIN = (
    "The change may have been saved anyway: check %(name)s before trying again."
)
CHECK_THE_ORDER = "Check the order and the settings; retry once it is fixed."
KEPT_ASKING_TO_SLOW_DOWN = "%(name)s kept asking us to slow down; the rest follows next run."
NOT_REACHED_TIMES = (
    "%(name)s could not be reached %(times)d times in a row; the run stopped and the rest "
    "follows next run."
)
ORDERS_UNTOUCHED = "The orders are untouched."


def uses_tokens(api: str) -> bool:
    """Whether ``api`` calls its secret a token (e-Boekhouden.nl) rather than a key."""
    return api == EBOEKHOUDEN


def _brackets(detail: str) -> str:
    return f" ({detail})" if detail else ""


def reconnect(api: str, translate: Translate = english) -> str:
    """What to do about a refused stored key or token: connect ``api`` again with a new one."""
    message = CONNECT_AGAIN_WITH_A_NEW_TOKEN if uses_tokens(api) else CONNECT_AGAIN_WITH_A_NEW_KEY
    return translate(message, name=api)


def connect_again(api: str, translate: Translate = english) -> str:
    """The label of a link to ``api``'s connect page, after its key was refused."""
    return translate(CONNECT_AGAIN, name=api)


def refused_stored_key(api: str, translate: Translate = english) -> str:
    """``api`` refused the stored key or token, and what to do about it."""
    message = REFUSED_THE_STORED_TOKEN if uses_tokens(api) else REFUSED_THE_STORED_KEY
    return f"{translate(message, name=api)} {reconnect(api, translate)}"


def refused_new_key(api: str, translate: Translate = english) -> str:
    """``api`` refused the key or token just typed in, and what to check."""
    message = REFUSED_THE_NEW_TOKEN if uses_tokens(api) else REFUSED_THE_NEW_KEY
    return translate(message, name=api)


def rate_limited(api: str, translate: Translate = english) -> str:
    """``api`` asks us to slow down; someone waits, so: try again in a minute."""
    return f"{translate(ASKS_TO_SLOW_DOWN, name=api)}. {translate(TRY_AGAIN_IN_A_MINUTE)}"


def unreachable(
    api: str, detail: str, translate: Translate = english, *, advice: str = TRY_AGAIN_SOON
) -> str:
    """``api`` could not be reached or did not answer in time (``detail``), then ``advice``."""
    return f"{translate(NOT_REACHED, name=api)}{_brackets(detail)}. {translate(advice)}"


def refused_request(api: str, detail: str, translate: Translate = english) -> str:
    """``api`` refused the request; ``detail`` is its status, or its own message."""
    return f"{translate(REFUSED_THE_REQUEST, name=api)}{_brackets(detail)}."


def unreadable_answer(api: str, detail: str, translate: Translate = english) -> str:
    """``api`` answered something pp2eb cannot read (``detail``)."""
    return translate(UNREADABLE_ANSWER, name=api, detail=detail)


def run_stopped_by_refused_key(exc: ApiError) -> str:
    """Why a run stopped when a stored key or token was refused, and what to do."""
    return f"{refused_stored_key(exc.api)} {ORDERS_UNTOUCHED}{_brackets(exc.particulars())}"


def run_stopped_by_rate_limit(api: str) -> str:
    """Why a run stopped when ``api`` kept answering 429 past the run's patience."""
    return english(KEPT_ASKING_TO_SLOW_DOWN, name=api)


def run_stopped_by_unreachable(api: str, times: int) -> str:
    """Why a run stopped when ``api`` could not be reached ``times`` times in a row."""
    return english(NOT_REACHED_TIMES, name=api, times=times)


# --- an order's reason and fix ----------------------------------------------------------------

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


# Codes a payment (type 3) meets with other words than a booking. A booking's MUT_019 means
# "already booked"; inferred: on a payment, the top-level ``invoiceNumber`` (sent only to find
# the payment again) is the one e-Boekhouden refuses as taken.
PAYMENT_CODES: dict[str, tuple[str, str]] = {
    "MUT_019": (
        "e-Boekhouden refuses the payment because its invoice number is taken (MUT_019).",
        "Book this payment by hand; pp2eb's payment body may need changing for your account.",
    ),
}


def explain_api_error(exc: ApiError, *, payment: bool = False) -> tuple[str, str]:
    """(what happened, what to do) for an API error on an order (or on its ``payment``)."""
    if payment and exc.code in PAYMENT_CODES:
        return PAYMENT_CODES[exc.code]
    if exc.code and exc.code in EBOEKHOUDEN_CODES:
        reason, fix = EBOEKHOUDEN_CODES[exc.code]
        return f"{reason} ({exc.code}: {exc.detail or 'no details'})", fix
    if exc.kind == "auth":
        return exc.what_happened(), reconnect(exc.api)
    if exc.kind == "rate_limited":
        return exc.what_happened(), TRIED_AGAIN_NEXT_RUN
    if exc.kind == "unavailable":
        return f"{english(NOT_REACHED, name=exc.api)}.", f"{TRIED_AGAIN_NEXT_RUN} {IF_IT_LASTS}"
    if exc.code and exc.code.startswith("REL_"):
        return (
            f"e-Boekhouden refused the customer's details: {exc.detail} ({exc.code}).",
            "Correct the customer's details in Plug&Pay, then retry.",
        )
    return (
        f"{exc.api} refused the booking: {exc.detail or exc} ({exc.code or exc.status}).",
        CHECK_THE_ORDER,
    )
