"""Invoices of the e-Boekhouden sandbox: rules, totals and, with ``mutation.ledgerId``, the booking.

The body has already passed the spec (``openapi.validate_body``); these are the rules the spec
cannot express, each answered with the real API's code
(docs/reference/eboekhouden-api.md §1.6, §3.5).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pp2eb import dutchtime
from pp2eb.sandbox.eboekhouden.bookings import (
    ROW_FORBIDDEN,
    book,
    compute_vat,
    number_in_use,
    reference_in_use,
    valid_date,
)
from pp2eb.sandbox.eboekhouden.errors import validation
from pp2eb.sandbox.eboekhouden.store import Store
from pp2eb.sandbox.eboekhouden.vat import SALE_CODES, Line, cents


def create_invoice(store: Store, body: dict[str, Any]) -> dict[str, Any]:
    """Check ``POST /v1/invoice``, store it and, with ``mutation.ledgerId``, book it."""
    with store.lock:
        relation = store.relations.get(body["relationId"])
        if relation is None:
            raise validation("FACT_002", "relationId")
        if relation.get("inactive"):
            raise validation("FACT_003", "relationId")
        if body.get("date") is not None and not valid_date(body["date"]):
            raise validation("FACT_012", "date")
        if body["termOfPayment"] < 0:
            raise validation("FACT_016", "termOfPayment")
        if body["templateId"] not in store.templates:
            raise validation("FACT_018", "templateId")
        number = body.get("invoiceNumber")
        if number and number_in_use(store, number):
            raise validation("FACT_101", "invoiceNumber")
        booking = body.get("mutation") or {}
        debtor_id = booking.get("ledgerId")
        for i, item in enumerate(body["items"]):
            _check_item(store, i, item, booked=debtor_id is not None)
        if debtor_id is not None:
            debtor = store.ledgers.get(debtor_id)
            # inferred: the booking follows the type-2 mutation rules and codes.
            if debtor is None:
                raise validation("MUT_007", "mutation.ledgerId")
            if debtor["category"] != "DEB":
                raise validation("MUT_011", "mutation.ledgerId")
        if booking.get("checkPaymentReference") and reference_in_use(
            store, booking.get("paymentReference")
        ):
            raise validation("FACT_VERWERK_004", "mutation.paymentReference")
        return _store_invoice(store, body, number or store.new_invoice_number())


def _check_item(store: Store, i: int, item: dict[str, Any], *, booked: bool) -> None:
    where = f"items[{i}]"
    if item.get("pricePerUnit") is None:
        raise validation("FACT_ITEM_004", f"{where}.pricePerUnit")
    # inferred: an invoice is a sale, so purchase codes count as invalid VAT codes.
    if item["vatCode"] not in SALE_CODES | {"GEEN"}:
        raise validation("FACT_ITEM_014", f"{where}.vatCode")
    if item.get("vatAmount") is not None and item["vatCode"] != "AFW_VERK":
        raise validation("FACT_ITEM_015", f"{where}.vatAmount")
    if item.get("discountAmount") is not None and item.get("discountPercentage") is not None:
        raise validation("FACT_ITEM_013", f"{where}.discountAmount")
    ledger = store.ledgers.get(item["ledgerId"])
    if ledger is None:
        raise validation("FACT_ITEM_012", f"{where}.ledgerId")
    if booked and ledger["category"] in ROW_FORBIDDEN:
        raise validation("MUT_106", f"{where}.ledgerId")


def line_amount(item: dict[str, Any]) -> Decimal:
    """An item's amount: quantity x price less its discount, rounded to cents."""
    # inferred: quantity defaults to 1 and the discount applies to the line, not the unit.
    quantity = item.get("quantity", item.get("amount", 1))
    amount = Decimal(quantity) * Decimal(item["pricePerUnit"])
    if item.get("discountPercentage") is not None:
        amount -= amount * Decimal(item["discountPercentage"]) / 100
    if item.get("discountAmount") is not None:
        amount -= Decimal(item["discountAmount"])
    return cents(amount)


def _store_invoice(store: Store, body: dict[str, Any], number: str) -> dict[str, Any]:
    in_ex = body.get("inExVat") or "EX"  # the spec's default
    amounts = [line_amount(item) for item in body["items"]]
    lines = [
        Line(a, item["vatCode"], item.get("vatAmount"))
        for a, item in zip(amounts, body["items"], strict=True)
    ]
    vat = compute_vat(store, lines, in_ex)
    invoice_id = store.next_id("invoice")
    # inferred: an invoice without a date gets the Dutch day (e-Boekhouden is a Dutch service)
    date = body.get("date") or dutchtime.today().isoformat()
    record = {
        **{k: v for k, v in body.items() if k not in ("items", "mutation")},
        "id": invoice_id,
        "invoiceNumber": number,
        "date": date,
        "inExVat": in_ex,
        "urlPdfFile": f"https://sandbox.invalid/eboekhouden/invoice/{invoice_id}.pdf",
        "items": [
            {**item, "lineAmount": a, "net": s.net, "vat": s.vat, "gross": s.gross}
            for item, a, s in zip(body["items"], amounts, vat.lines, strict=True)
        ],
        "vat": [{"vatCode": c, "amount": a} for c, a in vat.per_code.items()],
        "totalExcl": vat.total_excl,
        "vatAmount": vat.total_vat,
        "totalAmount": vat.total_incl,
        "mutation": body.get("mutation"),
        "mutationId": None,
    }
    booking = body.get("mutation") or {}
    if booking.get("ledgerId") is not None:
        rows = [
            {
                "ledgerId": item["ledgerId"],
                "vatCode": item["vatCode"],
                "amount": a,
                "description": item["description"],
                **({"vatAmount": item["vatAmount"]} if "vatAmount" in item else {}),
            }
            for item, a in zip(body["items"], amounts, strict=True)
        ]
        mutation = {
            "type": 2,
            "date": date,
            "ledgerId": booking["ledgerId"],
            "relationId": body["relationId"],
            "invoiceNumber": number,
            "termOfPayment": body["termOfPayment"],
            "inExVat": in_ex,
            "description": booking.get("description", ""),
            "paymentReference": booking.get("paymentReference"),
        }
        record["mutationId"] = book(store, mutation, rows, invoice_id)["id"]
    store.invoices[invoice_id] = record
    return record
