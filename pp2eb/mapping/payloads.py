"""e-Boekhouden request bodies from a ``Booking``: ``POST /v1/mutation`` and ``POST /v1/invoice``.

Both carry ``paymentReference`` (``pp2eb-<order id>``) with ``checkPaymentReference: true``, so
e-Boekhouden itself refuses a second booking of the same order (MUTA_008 / FACT_VERWERK_004);
the engine relies on that for exactly-once. Amounts stay ``Decimal``: write the body with
``pp2eb.jsonutil.dumps``.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from pp2eb.mapping.problems import cut

if TYPE_CHECKING:
    from pp2eb.mapping.booking import Booking, BookingRow

SALES_INVOICE_SENT = 2  # mutation type "Invoice sent" (SOAP: FactuurVerstuurd)
# Text limits, as the schemas in pp2eb/sandbox/eboekhouden/spec/eboekhouden-v1-subset.openapi.json
# have them.
# A booking's description is CreateMutation.description (maxLength 50) and, on an invoice,
# CreateInvoiceMutation.description (maxLength 200): the shorter one fits both. A payment's
# description is CreateMutation.description too.
MAX_MUTATION_DESCRIPTION = 50
# CreateMutationRow.description and CreateInvoiceItem.description have no maxLength; this keeps
# a row's or an item's description readable.
MAX_ROW_DESCRIPTION = 200
MAX_REFERENCE = 50  # CreateInvoice.reference (maxLength 50)


def _check_relation(booking: Booking, relation_id: int) -> None:
    # A credit invoice belongs to the original's relation; any other would split the debtor.
    if booking.relation_id is not None and relation_id != booking.relation_id:
        raise ValueError(
            f"order {booking.order_id} must be booked on relation {booking.relation_id}, "
            f"not {relation_id}"
        )


def to_mutation_payload(booking: Booking, *, relation_id: int) -> dict[str, Any]:
    """The ``CreateMutation`` body: a type-2 sales booking on the debtor ledger, incl. VAT."""
    _check_relation(booking, relation_id)
    rows = []
    for row in booking.rows:
        item = {"ledgerId": row.ledger.id, "vatCode": row.vat_code, "amount": row.amount}
        if row.description:
            item["description"] = row.description
        rows.append(item)
    return {
        "type": SALES_INVOICE_SENT,
        "date": booking.date.isoformat(),
        "ledgerId": booking.debtor_ledger.id,
        "relationId": relation_id,
        "invoiceNumber": booking.invoice_number,
        "termOfPayment": booking.term_of_payment,
        "description": booking.description,
        "inExVat": "IN",
        "paymentReference": booking.payment_reference,
        "checkPaymentReference": True,
        "rows": rows,
    }


def _item_text(row: BookingRow) -> str:
    # An invoice item needs a description (FACT_ITEM_001); grouped rows have none of their own.
    text = row.ledger.description or f"Grootboek {row.ledger.code}"
    return row.description or cut(text, MAX_ROW_DESCRIPTION)


def to_invoice_payload(booking: Booking, *, relation_id: int) -> dict[str, Any]:
    """The ``CreateInvoice`` body, booked at once through ``mutation.ledgerId`` (the debtor)."""
    _check_relation(booking, relation_id)
    if booking.template is None:
        raise ValueError(f"booking of order {booking.order_id} has no invoice template")
    return {
        "relationId": relation_id,
        "invoiceNumber": booking.invoice_number,
        "date": booking.date.isoformat(),
        "termOfPayment": booking.term_of_payment,
        "inExVat": "IN",
        "templateId": booking.template.id,
        "reference": cut(f"Plug&Pay order {booking.order_id}", MAX_REFERENCE),
        "mutation": {
            "ledgerId": booking.debtor_ledger.id,
            "description": booking.description,
            "paymentReference": booking.payment_reference,
            "checkPaymentReference": True,
        },
        "items": [
            {
                "description": _item_text(row),
                "quantity": 1,
                "pricePerUnit": row.amount,
                "vatCode": row.vat_code,
                "ledgerId": row.ledger.id,
            }
            for row in booking.rows
        ],
    }


def sent_rows(body: Mapping[str, Any]) -> list[dict]:
    """The rows of a sent booking (mutation rows, or invoice items) with their ``amount``."""
    if body.get("rows") is not None:
        return list(body["rows"])
    return [
        {
            **item,
            "amount": Decimal(str(item["pricePerUnit"])) * Decimal(str(item.get("quantity", 1))),
        }
        for item in body.get("items") or []
    ]


def sent_total(body: Mapping[str, Any]) -> Decimal:
    """The total of a sent booking's rows, as e-Boekhouden got it."""
    return sum((Decimal(str(row["amount"])) for row in sent_rows(body)), Decimal("0.00"))
