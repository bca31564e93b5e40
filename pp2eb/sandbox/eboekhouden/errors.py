"""Error bodies of the e-Boekhouden sandbox, in the shape of the real API's ``Error`` schema."""

from __future__ import annotations

import secrets
from typing import Any

from flask import Response, current_app

# The real wording is not public; these paraphrase the code catalogue
# (docs/reference/eboekhouden-api.md §1.6).
MESSAGES = {
    "ERR_001": "Something went wrong.",
    "ERR_002": "Invalid value in request.",
    "DATA_01": "No data was sent.",
    "PAGE_001": "Limit must be an integer between 1 and 2000.",
    "PAGE_002": "Offset must be an integer of 0 or more.",
    "SECURITY_010": "Not authenticated. Check your Authorization header.",
    "API_SESSION_001": "Source is missing.",
    "API_SESSION_002": "Source does not match pattern.",
    "API_SESSION_003": "Access token is missing.",
    "API_SESSION_004": "Access token has expired.",
    "REL_001": "Relation type is invalid (B, P).",
    "REL_002": "Name is missing.",
    "REL_003": "Name is too long.",
    "REL_005": "Code is invalid.",
    "REL_006": "Code is too long.",
    "REL_007": "IBAN is invalid.",
    "REL_008": "Company registration number is not numeric.",
    "REL_014": "Country is too long.",
    "REL_022": "E-mail address is too long.",
    "REL_023": "E-mail address is invalid.",
    "REL_025": "Invoice e-mail address is invalid.",
    "REL_027": "Reminder e-mail address is invalid.",
    "REL_030": "Term of payment is too low.",
    "REL_035": "VAT number is too long.",
    "REL_049": "Code already exists.",
    "REL_050": "Company registration number is too long.",
    "REL_055": "Relation not found.",
    "LEDG_011": "Ledger not found.",
    "LEDG_013": "Ledger code already exists.",
    "FACT_001": "Relation id is missing.",
    "FACT_002": "Relation not found.",
    "FACT_003": "Relation is inactive.",
    "FACT_007": "Invoice number is too long.",
    "FACT_008": "Invoice number is invalid.",
    "FACT_009": "Invoice number must end with a number.",
    "FACT_010": "In/Ex VAT must be IN or EX.",
    "FACT_012": "Date is invalid.",
    "FACT_014": "Reference is too long.",
    "FACT_015": "Term of payment is missing.",
    "FACT_016": "Term of payment is out of range.",
    "FACT_017": "Text is too long.",
    "FACT_018": "Invoice template not found.",
    "FACT_019": "Items are missing.",
    "FACT_101": "Invoice number is in use.",
    "FACT_ITEM_001": "Item description is missing.",
    "FACT_ITEM_003": "Item code is too long.",
    "FACT_ITEM_004": "Item price is missing.",
    "FACT_ITEM_007": "Item ledger is missing.",
    "FACT_ITEM_012": "Item ledger not found.",
    "FACT_ITEM_013": "Use either discount amount or discount percentage, not both.",
    "FACT_ITEM_014": "Item VAT code is invalid.",
    "FACT_ITEM_015": "VAT amount is only allowed with VAT code AFW_VERK.",
    "FACT_VERWERK_002": "Mutation description is too long.",
    "FACT_VERWERK_003": "Payment reference is too long.",
    "FACT_VERWERK_004": "Payment reference already exists.",
    "MUTA_001": "Ledger id is missing.",
    "MUTA_002": "Mutation type is missing.",
    "MUTA_003": "VAT amount is only allowed with VAT code AFW or AFW_VERK.",
    "MUTA_004": "Row ledger id is missing.",
    "MUTA_005": "In/Ex VAT is missing.",
    "MUTA_008": "Payment reference already exists.",
    "MUTA_009": "Mutation type is unknown.",
    "MUT_001": "Mutation type is invalid.",
    "MUT_002": "Invoice number is missing.",
    "MUT_003": "Date is missing.",
    "MUT_004": "Date is invalid.",
    "MUT_007": "Ledger not found.",
    "MUT_009": "Ledger category is invalid for this mutation type.",
    "MUT_010": "Ledger must be of category creditor.",
    "MUT_011": "Ledger must be of category debtor.",
    "MUT_012": "Relation is missing.",
    "MUT_013": "Relation not found.",
    "MUT_016": "Term of payment is not allowed for this mutation type.",
    "MUT_017": "In/Ex VAT must be IN or EX.",
    "MUT_018": "Invoice number is too long.",
    "MUT_019": "Invoice number already exists.",
    "MUT_020": "Combination of relation and invoice number already exists.",
    "MUT_100": "Rows are missing.",
    "MUT_101": "Too many rows.",
    "MUT_104": "Row ledger not found.",
    "MUT_106": "Row ledger category is invalid for this mutation type.",
    "MUT_109": "VAT code is invalid.",
    "MUT_110": "VAT code must be of type purchase.",
    "MUT_111": "VAT code must be of type sale.",
    "MUT_112": "Row relation is missing.",
    "MUT_113": "Row relation not found.",
    "MUT_115": "Invoice not found.",
    "MUT_120": "Row invoice number is missing.",
    "MUT_300": "Mutation not found.",
}

# inferred: the type/title per status follows the mapping S4 uses (400 validation, 401 auth,
# 403 security, 404 not found, 429 rate limit); titles are ASP.NET's defaults.
_KINDS = {
    400: ("validation", "One or more validation errors occurred."),
    401: ("security", "Unauthorized"),
    403: ("security", "Forbidden"),
    404: ("notFound", "Not Found"),
    405: ("error", "Method Not Allowed"),
    415: ("error", "Unsupported Media Type"),
    429: ("rateLimit", "Too Many Requests"),
}
# inferred: no documented code for these statuses, so the generic ones are used; 404, 405,
# 415 and 429 come from the web framework or gateway and carry no API code at all.
_DEFAULT_CODES = {400: "ERR_002", 401: "SECURITY_010", 403: "SECURITY_001"}


class ApiError(Exception):
    """An error answer of the API; raised anywhere below a view, rendered by the app."""

    def __init__(
        self,
        status: int,
        code: str | None,
        message: str | None = None,
        *,
        property_name: str | None = None,
        errors: list[str] | None = None,
        title: str | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.message = message or MESSAGES.get(code or "", "")
        self.property_name = property_name
        self.errors = errors
        self.title = title
        super().__init__(f"{status} {code}: {self.message}")

    def body(self) -> dict[str, Any]:
        """The body: ``{type, title, status, code, message, [propertyName], errors, traceId}``."""
        kind, title = _KINDS.get(self.status, ("error", "Internal Server Error"))
        body: dict[str, Any] = {
            "type": kind,
            "title": self.title or title,
            "status": self.status,
            "code": self.code,
            "message": self.message,
        }
        if self.property_name is not None:
            body["propertyName"] = self.property_name
        # The notes say errors[] comes with validation errors; the other kinds get an empty
        # list so every error body has the same keys.
        if self.errors is not None:
            body["errors"] = self.errors
        else:
            body["errors"] = [self.message] if kind == "validation" else []
        body["traceId"] = f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-00"
        return body

    def response(self) -> Response:
        """A Flask response carrying this error."""
        resp = current_app.json.response(self.body())
        resp.status_code = self.status
        return resp


def validation(code: str, property_name: str | None = None, message: str | None = None) -> ApiError:
    """A 400 validation error with one of the API's codes."""
    return ApiError(400, code, message, property_name=property_name)


def error_response(status: int, message: str) -> Response:
    """Error body for ``status`` with a generic code; used by the sandbox controls."""
    code = _DEFAULT_CODES.get(status, "ERR_001" if status >= 500 else None)
    return ApiError(status, code, message).response()
