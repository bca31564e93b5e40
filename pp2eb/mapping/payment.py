"""The payment of a booked order: Plug&Pay's ``payment`` in, a type-3 mutation out. Pure.

With ``book_payments`` on, a booked order that is paid gets a second mutation, "Invoice payment
received" (type 3): the amount comes in on the payment provider's clearing ledger (a
tussenrekening, category FIN) and goes off the debtor ledger against the booked invoice, so the
invoice no longer shows as open in e-Boekhouden. ``why_not`` says whether the order's payment is
to be booked (from the order and the settings only: no API call for orders that need none),
``build_payment`` makes it, ``to_payment_payload`` the request body.

Which payments are booked:

* payment status ``paid`` with a ``paid_at``, dated on the day it was paid (Dutch time);
* a credited original (``credited``) with a ``paid_at``: that money did come in. Its refund is a
  separate movement at the payment provider, which the bookkeeper matches to the credit invoice
  from the provider's statement. inferred: a bookkeeper's reading, no documented rule;
* never a credit invoice: the refund is made at the provider, not paid through Plug&Pay;
* not (yet) an open, processing or reversed payment, nor one without ``paid_at``;
* not one paid before ``payments_from`` (default the start date): switched on later, with that
  date set to the day it was switched on (the wizard suggests it), pp2eb leaves the payments
  of earlier orders, which the bookkeeper may have matched by hand already, alone;
* not one through a provider (or method) without a clearing ledger, when there is no fallback.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation

from pp2eb.dutchtime import local_day
from pp2eb.mapping.booking import Ledger
from pp2eb.mapping.payloads import MAX_MUTATION_DESCRIPTION, sent_rows, sent_total
from pp2eb.mapping.problems import MappingError, cut
from pp2eb.mapping.settings import Settings

PAYMENT_RECEIVED = 3  # mutation type "Invoice payment received" (SOAP: FactuurbetalingOntvangen)
PAYABLE = ("paid", "credited")
PAYMENT_SUFFIX = "-B"  # betaling: the booking's payment reference plus this, never the same


@dataclass(frozen=True)
class PaymentInfo:
    """What Plug&Pay says about an order's payment; ``paid_at`` in UTC, without tzinfo."""

    status: str | None
    method: str | None
    provider: str | None
    paid_at: datetime | None

    @property
    def via(self) -> str:
        """The provider, else the method: the name a clearing ledger is chosen by."""
        return self.provider or self.method or "unknown"


@dataclass(frozen=True)
class BookedSale:
    """What the order's booking put in e-Boekhouden, read from the body that was sent."""

    order_id: int
    invoice_number: str
    relation_id: int
    debtor_ledger_id: int
    total: Decimal
    payment_reference: str


@dataclass(frozen=True)
class Payment:
    """One payment to book: ``sale.total`` from ``ledger`` (FIN) to the sale's debtor ledger."""

    sale: BookedSale
    date: date
    ledger: Ledger
    via: str
    description: str
    payment_reference: str


@dataclass(frozen=True)
class NoPayment:
    """No payment now; ``skipped`` when not until something changes, ``reason`` in words."""

    reason: str | None
    skipped: bool = False


def _text(value: object) -> str | None:
    return (value.strip().lower() or None) if isinstance(value, str) else None


def read_payment(raw: object) -> PaymentInfo:
    """The ``payment`` of a Plug&Pay order; what cannot be read is None, never an error."""
    payment = raw.get("payment") if isinstance(raw, dict) else None
    payment = payment if isinstance(payment, dict) else {}
    return PaymentInfo(
        status=_text(payment.get("status")),
        method=_text(payment.get("method")),
        provider=_text(payment.get("provider")),
        paid_at=_moment(payment.get("paid_at")),
    )


def _moment(value: object) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    # inferred: paid_at is UTC ("...Z"; Laravel's default time zone) when it names no zone.
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def paid_on(info: PaymentInfo) -> date | None:
    """The day the payment was made, in the shop's (Dutch) time, as the bank statement has it."""
    if info.paid_at is None:
        return None
    return local_day(info.paid_at)


def clearing_code(info: PaymentInfo, settings: Settings) -> str | None:
    """The code of the clearing ledger for this payment: its provider's, its method's, or the
    fallback; None when the settings book no payments made this way."""
    for name in (info.provider, info.method):
        if name and name in settings.payment_ledgers:
            return settings.payment_ledgers[name]
    return settings.payment_fallback_ledger


def why_not(info: PaymentInfo, settings: Settings) -> NoPayment | None:
    """Why this order's payment is not booked now, or None when it is to be booked."""
    if info.status == "credit_invoice":
        return NoPayment(
            "A credit invoice gets no payment booking: the refund is made at the payment "
            "provider; match it to this credit invoice from the provider's statement.",
            skipped=True,
        )
    if info.status not in PAYABLE:
        return NoPayment(None)  # not paid (yet): a later sync looks again
    day = paid_on(info)
    if day is None and info.status == "credited":
        return NoPayment(None)  # credited before it was paid: no money came in
    if day is None:
        return NoPayment("Paid, but Plug&Pay gives no payment date yet; pp2eb looks again later.")
    if day < settings.payments_start:
        return NoPayment(
            f"Paid on {day}, before {settings.payments_start}, the date payments are booked "
            "from: pp2eb leaves it to the bookkeeper.",
            skipped=True,
        )
    if clearing_code(info, settings) is None:
        return NoPayment(
            f"Paid through {info.via}, which has no clearing ledger in the payment settings, "
            "so the payment is not booked. Choose one on the Payments settings page to book it.",
            skipped=True,
        )
    return None


def booked_sale(
    order_id: int, invoice_number: str | None, relation_id: int | None, body: object
) -> BookedSale:
    """The sale as booked, from the mutation or invoice body sent; MappingError if unreadable."""
    if not isinstance(body, dict) or not invoice_number or relation_id is None:
        raise MappingError(f"The booking of order {order_id} is not recorded in full.")
    own = body.get("mutation") if isinstance(body.get("mutation"), dict) else body
    debtor = own.get("ledgerId")
    if body.get("inExVat") != "IN" or not isinstance(debtor, int):
        raise MappingError(f"The booking of order {order_id} is not one pp2eb can pay.")
    try:
        if not sent_rows(body):
            raise KeyError("rows")
        total = sent_total(body)
    except (KeyError, TypeError, InvalidOperation) as exc:
        raise MappingError(f"The booking of order {order_id} has unreadable amounts.") from exc
    reference = own.get("paymentReference") or f"pp2eb-{order_id}"
    return BookedSale(order_id, invoice_number, relation_id, debtor, total, str(reference))


def build_payment(
    info: PaymentInfo, sale: BookedSale, settings: Settings, ledgers: Mapping[str, Ledger]
) -> Payment | NoPayment:
    """The payment of a sale that ``why_not`` lets through; MappingError for a wrong ledger."""
    no, day = why_not(info, settings), paid_on(info)
    if no is not None or day is None:
        return no or NoPayment(None)
    if sale.total <= 0:
        return NoPayment(f"Nothing to pay: the booking totals {sale.total}.", skipped=True)
    code = clearing_code(info, settings) or ""
    ledger = ledgers.get(code)
    if ledger is None or ledger.category != "FIN":
        found = "does not exist" if ledger is None else f"has category {ledger.category}"
        raise MappingError(
            f"The clearing ledger {code} {found} in e-Boekhouden; payments through "
            f"{info.via} are booked on a bank or cash ledger (FIN).",
            fix="Create the tussenrekening in e-Boekhouden as a bank ledger (FIN), or choose "
            "another one on the Payments settings page.",
            setting="payment_ledgers",
        )
    via = info.via.capitalize()
    return Payment(
        sale=sale,
        date=day,
        ledger=ledger,
        via=info.via,
        description=cut(f"Betaling {sale.invoice_number} via {via}", MAX_MUTATION_DESCRIPTION),
        payment_reference=sale.payment_reference + PAYMENT_SUFFIX,
    )


def to_payment_payload(payment: Payment) -> dict:
    """The ``CreateMutation`` body of a type-3 payment against the booked invoice.

    The row's ``invoiceNumber`` and ``relationId`` link it to the open item (MUT_115/MUT_120); the
    top-level ``invoiceNumber`` lets pp2eb find the payment again by ``GET /v1/mutation`` (inferred:
    docs/reference/eboekhouden-api.md §3.6's example sends both). Amounts excl. VAT with ``GEEN``: a
    payment carries no VAT.
    """
    sale = payment.sale
    return {
        "type": PAYMENT_RECEIVED,
        "date": payment.date.isoformat(),
        "ledgerId": payment.ledger.id,
        "relationId": sale.relation_id,
        "invoiceNumber": sale.invoice_number,
        "inExVat": "EX",
        "description": payment.description,
        "paymentReference": payment.payment_reference,
        "checkPaymentReference": True,
        "rows": [
            {
                "ledgerId": sale.debtor_ledger_id,
                "vatCode": "GEEN",
                "amount": sale.total,
                "invoiceNumber": sale.invoice_number,
                "relationId": sale.relation_id,
            }
        ],
    }
