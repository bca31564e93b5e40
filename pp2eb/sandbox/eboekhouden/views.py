"""How the e-Boekhouden sandbox shows its records in API answers (``GET`` bodies)."""

from __future__ import annotations

from typing import Any

ROW_FIELDS = (
    "ledgerId",
    "vatCode",
    "amount",
    "description",
    "costCenterId",
    "invoiceNumber",
    "relationId",
)
INVOICE_LIST_FIELDS = (
    "id",
    "invoiceNumber",
    "relationId",
    "date",
    "reference",
    "text",
    "urlPdfFile",
    "totalExcl",
    "totalAmount",
    "vatAmount",
    "termOfPayment",
    "templateId",
    "print",
)
_COMPUTED = ("lineAmount", "net", "vat", "gross")


def ledger(record: dict[str, Any]) -> dict[str, Any]:
    """``{id, code, description, category, group}``."""
    return {k: record[k] for k in ("id", "code", "description", "category", "group")}


def relation_item(record: dict[str, Any]) -> dict[str, Any]:
    """A relation list item: only ``{id, type, code}``, as in the real API."""
    return {k: record[k] for k in ("id", "type", "code")}


def mutation_item(record: dict[str, Any]) -> dict[str, Any]:
    """A mutation list item; ``amount`` is the total incl. VAT."""
    # inferred: the list's "amount" is read as the mutation's total including VAT.
    return {
        "id": record["id"],
        "type": record["type"],
        "date": record["date"],
        "invoiceNumber": record["invoiceNumber"],
        "ledgerId": record["ledgerId"],
        "amount": record["totalIncl"],
        "entryNumber": record["entryNumber"],
    }


def mutation(record: dict[str, Any]) -> dict[str, Any]:
    """``GET /v1/mutation/{id}``: header, rows and VAT per code."""
    per_row = record["vatRounding"] == "row"
    rows = []
    for row in record["rows"]:
        out = {k: row.get(k) for k in ROW_FIELDS}
        # "only returned when VAT is calculated per row" (docs/reference/eboekhouden-api.md §3.6)
        if per_row:
            out["vatAmount"] = row["vat"]
        rows.append(out)
    return {
        **{
            k: record[k]
            for k in (
                "id",
                "type",
                "date",
                "description",
                "termOfPayment",
                "ledgerId",
                "relationId",
                "inExVat",
                "invoiceNumber",
                "entryNumber",
            )
        },
        "rows": rows,
        "vat": [dict(v) for v in record["vat"]],
    }


def invoice_item(record: dict[str, Any]) -> dict[str, Any]:
    """An invoice list item (``InvoiceListItem``)."""
    return {k: record.get(k) for k in INVOICE_LIST_FIELDS}


def invoice(record: dict[str, Any]) -> dict[str, Any]:
    """``GET /v1/invoice/{id}``: the list fields plus ``inExVat`` and the items as sent."""
    items = [{k: v for k, v in item.items() if k not in _COMPUTED} for item in record["items"]]
    return {**invoice_item(record), "inExVat": record["inExVat"], "items": items}
