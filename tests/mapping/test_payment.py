"""The payment of a booked order, pure: which payments are booked, on which ledger, the body."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from pp2eb.mapping.booking import Ledger
from pp2eb.mapping.payment import (
    BookedSale,
    NoPayment,
    Payment,
    PaymentInfo,
    booked_sale,
    build_payment,
    read_payment,
    to_payment_payload,
    why_not,
)
from pp2eb.mapping.problems import MappingError
from pp2eb.mapping.settings import USUAL_CODES, Settings

MOLLIE = Ledger(101, "1650", "Tussenrekening Mollie", "FIN")
STRIPE = Ledger(102, "1660", "Tussenrekening Stripe", "FIN")
BANK = Ledger(103, "1100", "Bank", "FIN")
LOAN = Ledger(104, "0600", "Lening", "BAL")
LEDGERS = {ledger.code: ledger for ledger in (MOLLIE, STRIPE, BANK, LOAN)}
SETTINGS = Settings.from_dict(
    {
        **USUAL_CODES,
        "start_date": "2026-01-01",
        "book_payments": True,
        "payment_ledgers": {"mollie": "1650", "stripe": "1660"},
    }
)
SALE = BookedSale(42, "2026-00042", 41000001, 22206400, Decimal("121.00"), "pp2eb-42")


def paid(status="paid", provider="mollie", method="ideal", at="2026-03-14T10:11:12.000000Z"):
    return read_payment(
        {"payment": {"status": status, "provider": provider, "method": method, "paid_at": at}}
    )


def test_reads_plugandpay_payment_leniently():
    info = paid(provider="Mollie", at="2026-03-14T23:30:00.000000Z")
    assert info == PaymentInfo("paid", "ideal", "mollie", datetime(2026, 3, 14, 23, 30))
    assert read_payment({"payment": None}) == PaymentInfo(None, None, None, None)
    assert read_payment({"payment": {"paid_at": "yesterday", "status": 3}}).paid_at is None
    assert read_payment([]).status is None


# One row per case a bookkeeper would recognise: (payment, settings changes, expected).
CASES = [
    ("paid through Mollie", paid(), {}, ("book", MOLLIE, date(2026, 3, 14))),
    ("paid through Stripe", paid(provider="stripe", method="creditcard"), {}, ("book", STRIPE)),
    (
        "paid late in the evening: the Dutch date",
        paid(at="2026-03-14T23:30:00.000000Z"),
        {},
        ("book", MOLLIE, date(2026, 3, 15)),
    ),
    ("a credited original that was paid", paid(status="credited"), {}, ("book", MOLLIE)),
    ("credited before it was paid", paid(status="credited", at=None), {}, ("none", None)),
    ("a credit invoice", paid(status="credit_invoice", at=None), {}, ("skip", "refund")),
    ("open", paid(status="open", at=None), {}, ("none", None)),
    ("processing", paid(status="processing", at=None), {}, ("none", None)),
    ("reversed", paid(status="reversed"), {}, ("none", None)),
    ("paid without a date", paid(at=None), {}, ("none", "no payment date")),
    (
        "paid before payments are booked",
        paid(at="2026-02-27T12:00:00Z"),
        {"payments_from": "2026-03-01"},
        ("skip", "before 2026-03-01"),
    ),
    ("paid before the start date", paid(at="2025-12-31T12:00:00Z"), {}, ("skip", "2026-01-01")),
    (
        "a bank transfer without a fallback",
        paid(provider=None, method="banktransfer"),
        {},
        ("skip", "Paid through banktransfer, which has no clearing ledger"),
    ),
    (
        "a bank transfer with the bank as fallback",
        paid(provider=None, method="banktransfer"),
        {"payment_fallback_ledger": "1100"},
        ("book", BANK),
    ),
    (
        "a method with its own ledger",
        paid(provider=None, method="banktransfer"),
        {"payment_ledgers": {"banktransfer": "1100"}},
        ("book", BANK),
    ),
    ("a provider without a ledger", paid(provider="paypal"), {}, ("skip", "paypal")),
    (
        "a clearing ledger that is not FIN",
        paid(),
        {"payment_ledgers": {"mollie": "0600"}},
        ("error", "has category BAL"),
    ),
    (
        "a clearing ledger that does not exist",
        paid(),
        {"payment_ledgers": {"mollie": "1999"}},
        ("error", "1999 does not exist"),
    ),
]


@pytest.mark.parametrize(("case", "info", "changes", "expected"), CASES, ids=[c[0] for c in CASES])
def test_which_payments_are_booked(case, info, changes, expected):
    settings = Settings.from_dict({**SETTINGS.to_dict(), **changes})
    kind = expected[0]
    if kind == "error":
        with pytest.raises(MappingError) as error:
            build_payment(info, SALE, settings, LEDGERS)
        assert expected[1] in error.value.reason and error.value.setting == "payment_ledgers"
        return
    result = build_payment(info, SALE, settings, LEDGERS)
    if kind == "book":
        assert isinstance(result, Payment) and why_not(info, settings) is None
        assert result.ledger == expected[1]
        if len(expected) > 2:
            assert result.date == expected[2]
        return
    assert isinstance(result, NoPayment) and result == why_not(info, settings)
    assert result.skipped is (kind == "skip")
    if expected[1] is None:
        assert result.reason is None
    else:
        assert expected[1] in result.reason


def test_the_payload_pays_the_booked_invoice_in_full():
    payment = build_payment(paid(), SALE, SETTINGS, LEDGERS)
    assert to_payment_payload(payment) == {
        "type": 3,
        "date": "2026-03-14",
        "ledgerId": 101,
        "relationId": 41000001,
        "invoiceNumber": "2026-00042",
        "inExVat": "EX",
        "description": "Betaling 2026-00042 via Mollie",
        "paymentReference": "pp2eb-42-B",
        "checkPaymentReference": True,
        "rows": [
            {
                "ledgerId": 22206400,
                "vatCode": "GEEN",
                "amount": Decimal("121.00"),
                "invoiceNumber": "2026-00042",
                "relationId": 41000001,
            }
        ],
    }


MUTATION = {
    "type": 2,
    "ledgerId": 22206400,
    "inExVat": "IN",
    "paymentReference": "pp2eb-7",
    "rows": [{"amount": Decimal("100.00")}, {"amount": Decimal("21.01")}, {"amount": 6}],
}
INVOICE = {
    "inExVat": "IN",
    "mutation": {"ledgerId": 22206400, "paymentReference": "pp2eb-7"},
    "items": [{"pricePerUnit": Decimal("60.50"), "quantity": 2}, {"pricePerUnit": "6.00"}],
}


@pytest.mark.parametrize(
    ("body", "total"),
    [(MUTATION, Decimal("127.01")), (INVOICE, Decimal("127.00"))],
    ids=["booking (mutation)", "sales invoice"],
)
def test_the_sale_is_read_from_what_was_booked(body, total):
    sale = booked_sale(7, "2026-00007", 41000009, body)
    assert sale == BookedSale(7, "2026-00007", 41000009, 22206400, total, "pp2eb-7")


@pytest.mark.parametrize(
    "body",
    [None, {**MUTATION, "inExVat": "EX"}, {**MUTATION, "rows": [{"amount": "x"}]}, {"rows": []}],
)
def test_a_booking_pp2eb_cannot_read_is_an_error(body):
    with pytest.raises(MappingError):
        booked_sale(7, "2026-00007", 41000009, body)


def test_a_long_invoice_number_keeps_the_description_short():
    sale = BookedSale(7, "X" * 50, 1, 2, Decimal("1.00"), "pp2eb-7")
    payment = build_payment(paid(), sale, SETTINGS, LEDGERS)
    assert len(payment.description) == 50 and payment.payment_reference == "pp2eb-7-B"
