"""Mutations of the e-Boekhouden sandbox: business rules, VAT, storage and open items.

The body has already passed the spec (``openapi.validate_body``); these are the rules the spec
cannot express, each answered with the real API's code
(docs/reference/eboekhouden-api.md §1.6, §3.5, §3.6).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from pp2eb.sandbox.eboekhouden.errors import validation
from pp2eb.sandbox.eboekhouden.store import Store
from pp2eb.sandbox.eboekhouden.vat import (
    MANUAL_CODES,
    PURCHASE_CODES,
    SALE_CODES,
    Line,
    VatResult,
    compute,
)

# inferred: the top-level ledger per type. 2 = debtor is implied by MUT_011, 1 = creditor by
# MUT_010; 3-6 move money, so bank/cash; 7 (journal) takes any ledger.
TOP_CATEGORY = {1: ("CRED", "MUT_010"), 2: ("DEB", "MUT_011")}
TOP_CATEGORY.update({t: ("FIN", "MUT_009") for t in (3, 4, 5, 6)})
ROW_LEDGER_REQUIRED = (1, 2, 5, 6, 7)
ROW_FORBIDDEN = ("FIN", "CRED", "DEB")  # on types 1, 2, 5, 6 (MUT_106)
RELATION_REQUIRED = (1, 2, 3, 4)  # inferred: the invoice and invoice-payment types
MAX_ROWS = 500  # inferred: MUT_101 exists but the maximum is not published
PAYMENT_OF = {3: 2, 4: 1}  # a payment type settles open items of this type


def valid_date(text: str) -> bool:
    """True for a real calendar date in ISO form."""
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def number_in_use(store: Store, number: str) -> bool:
    """A sales invoice number is taken by an invoice or by a type-2 booking."""
    if any(i["invoiceNumber"] == number for i in store.invoices.values()):
        return True
    return any(m["type"] == 2 and m["invoiceNumber"] == number for m in store.mutations.values())


def reference_in_use(store: Store, reference: str | None) -> bool:
    """True when a booked mutation already carries this payment reference."""
    return bool(reference) and any(
        m.get("paymentReference") == reference for m in store.mutations.values()
    )


def create_mutation(store: Store, body: dict[str, Any]) -> dict[str, Any]:
    """Check the rules of ``POST /v1/mutation`` and book it; return the stored record."""
    with store.lock:
        mtype = body["type"]
        if not valid_date(body["date"]):
            raise validation("MUT_004", "date")
        ledger = store.ledgers.get(body["ledgerId"])
        if ledger is None:
            raise validation("MUT_007", "ledgerId")
        if mtype in TOP_CATEGORY and ledger["category"] != TOP_CATEGORY[mtype][0]:
            raise validation(TOP_CATEGORY[mtype][1], "ledgerId")
        if not body.get("inExVat"):
            raise validation("MUTA_005", "inExVat")
        relation_id = body.get("relationId")
        if relation_id is None and mtype in RELATION_REQUIRED:
            raise validation("MUT_012", "relationId")
        if relation_id is not None and relation_id not in store.relations:
            raise validation("MUT_013", "relationId")
        number = body.get("invoiceNumber") or None
        if number is None and mtype in (1, 2):
            raise validation("MUT_002", "invoiceNumber")
        if mtype == 2 and number_in_use(store, number):
            raise validation("MUT_019", "invoiceNumber")
        if mtype == 1 and any(
            m["type"] == 1 and m["invoiceNumber"] == number and m["relationId"] == relation_id
            for m in store.mutations.values()
        ):
            raise validation("MUT_020", "invoiceNumber")
        if body.get("termOfPayment") is not None and mtype not in (1, 2):
            raise validation("MUT_016", "termOfPayment")  # inferred: only invoice types
        rows = body.get("rows") or []
        if not rows:
            raise validation("MUT_100", "rows")
        if len(rows) > MAX_ROWS:
            raise validation("MUT_101", "rows")
        for i, row in enumerate(rows):
            _check_row(store, mtype, i, row)
        if body.get("checkPaymentReference") and reference_in_use(
            store, body.get("paymentReference")
        ):
            raise validation("MUTA_008", "paymentReference")
        return book(store, body, rows)


def _check_row(store: Store, mtype: int, i: int, row: dict[str, Any]) -> None:
    where = f"rows[{i}]"
    ledger_id = row.get("ledgerId")
    if ledger_id is None and mtype in ROW_LEDGER_REQUIRED:
        raise validation("MUTA_004", f"{where}.ledgerId")
    if ledger_id is not None:
        ledger = store.ledgers.get(ledger_id)
        if ledger is None:
            raise validation("MUT_104", f"{where}.ledgerId")
        if mtype in (1, 2, 5, 6) and ledger["category"] in ROW_FORBIDDEN:
            raise validation("MUT_106", f"{where}.ledgerId")
    code = row["vatCode"]
    if mtype == 2 and code not in SALE_CODES | {"GEEN"}:
        raise validation("MUT_111", f"{where}.vatCode")
    if mtype == 1 and code not in PURCHASE_CODES | {"GEEN"}:
        raise validation("MUT_110", f"{where}.vatCode")
    if row.get("vatAmount") is not None and code not in MANUAL_CODES:
        raise validation("MUTA_003", f"{where}.vatAmount")
    if mtype in PAYMENT_OF:
        if not row.get("invoiceNumber"):
            raise validation("MUT_120", f"{where}.invoiceNumber")
        if row.get("relationId") is None:
            raise validation("MUT_112", f"{where}.relationId")
        if row["relationId"] not in store.relations:
            raise validation("MUT_113", f"{where}.relationId")
        if not any(
            m["type"] == PAYMENT_OF[mtype]
            and m["invoiceNumber"] == row["invoiceNumber"]
            and m["relationId"] == row["relationId"]
            for m in store.mutations.values()
        ):
            raise validation("MUT_115", f"{where}.invoiceNumber")


def compute_vat(store: Store, lines: list[Line], in_ex: str) -> VatResult:
    """VAT of ``lines`` under the administration's rounding setting."""
    return compute(lines, in_ex, store.vat_rounding)


def book(
    store: Store, body: dict[str, Any], rows: list[dict], invoice_id: int | None = None
) -> dict[str, Any]:
    """Store a checked mutation with its computed VAT; the caller holds the lock."""
    lines = [Line(Decimal(r["amount"]), r["vatCode"], r.get("vatAmount")) for r in rows]
    vat = compute_vat(store, lines, body["inExVat"])
    record = {
        "id": store.next_id("mutation"),
        "type": body["type"],
        "date": body["date"],
        "description": body.get("description", ""),
        "termOfPayment": body.get("termOfPayment"),
        "ledgerId": body["ledgerId"],
        "relationId": body.get("relationId"),
        "inExVat": body["inExVat"],
        "invoiceNumber": body.get("invoiceNumber") or None,
        "entryNumber": body.get("entryNumber", ""),
        "paymentReference": body.get("paymentReference"),
        "rows": [
            {**row, "net": s.net, "vat": s.vat, "gross": s.gross}
            for row, s in zip(rows, vat.lines, strict=True)
        ],
        "vat": [{"vatCode": c, "amount": a} for c, a in vat.per_code.items()],
        "totalExcl": vat.total_excl,
        "totalVat": vat.total_vat,
        "totalIncl": vat.total_incl,
        "vatRounding": store.vat_rounding,
        "invoiceId": invoice_id,
    }
    store.mutations[record["id"]] = record
    return record


def outstanding(store: Store, cred_deb: str) -> list[dict[str, Any]]:
    """Open items of debtors (``D``, type 2) or creditors (``C``, type 1), oldest first."""
    invoice_type, payment_type = (2, 3) if cred_deb == "D" else (1, 4)
    with store.lock:
        items = []
        for m in store.mutations.values():
            if m["type"] != invoice_type:
                continue
            paid = sum(
                (
                    row["gross"]
                    for p in store.mutations.values()
                    if p["type"] == payment_type
                    for row in p["rows"]
                    if row.get("invoiceNumber") == m["invoiceNumber"]
                    and row.get("relationId") == m["relationId"]
                ),
                Decimal("0.00"),
            )
            if paid == m["totalIncl"]:
                continue
            relation = store.relations.get(m["relationId"]) or {}
            items.append(
                {
                    "date": m["date"],
                    "mutationId": m["id"],
                    "invoiceNumber": m["invoiceNumber"],
                    "relationId": m["relationId"],
                    "relationCode": relation.get("code"),
                    "company": relation.get("name"),
                    "totalAmount": m["totalIncl"],
                    "paidAmount": paid,
                    "outstandingAmount": m["totalIncl"] - paid,
                }
            )
        return sorted(items, key=lambda x: (x["date"], x["mutationId"]))
