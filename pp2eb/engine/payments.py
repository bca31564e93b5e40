"""Payments of booked orders, booked inside an engine run: exactly once, like the bookings.

With ``book_payments`` on, ``Engine.book_raw`` hands every booked order (booked in this run or
earlier) to ``Payments.book``. An order that is paid gets one "Invoice payment received"
mutation (type 3, built by ``pp2eb.mapping.payment``) on its provider's clearing ledger, so the
invoice no longer shows as open in e-Boekhouden. With payments off the engine makes no
``Payments``: no call, no query, no write more than before.

Exactly once rests on the same three things as a booking (``pp2eb.engine.sync``):

* the intent (``payment_state`` ``booking`` and the body) is committed before the write and
  confirmed after it; a payment still in ``booking`` (a crash, a timeout or a 500 after the
  write) is looked up in e-Boekhouden (``GET /v1/mutation?type=3&invoiceNumber=``) before
  anything is written again;
* the body carries its own ``paymentReference`` (the booking's plus ``-B``) with
  ``checkPaymentReference``, so e-Boekhouden refuses a second copy (``MUTA_008``), which counts
  as booked;
* it runs inside the engine's run, under its lease.

A payment that fails never touches the booking: the order stays booked, the payment gets
``failed`` with the reason in words, and comes back by ``due`` with a growing delay (and by the
order page's retry button). Payments pp2eb leaves alone on purpose (a credit invoice, a provider
without a clearing ledger, paid before ``payments_from``) are ``skipped`` with the reason.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from pp2eb import jsonutil
from pp2eb.apis import errors as apierrors
from pp2eb.apis.eboekhouden import EBoekhoudenClient
from pp2eb.apis.words import explain_api_error
from pp2eb.engine.runstate import Failure, RunState, retry_delay
from pp2eb.engine.store import Store
from pp2eb.mapping.booking import ReferenceData
from pp2eb.mapping.payment import (
    PAYMENT_RECEIVED,
    NoPayment,
    Payment,
    booked_sale,
    build_payment,
    read_payment,
    to_payment_payload,
    why_not,
)
from pp2eb.mapping.problems import MappingError
from pp2eb.mapping.settings import Settings
from pp2eb.models import OrderRecord
from pp2eb.states import AttemptOutcome, OrderState, PaymentState

logger = logging.getLogger(__name__)

# What the order page's retry button tries again.
RETRYABLE = (PaymentState.FAILED, PaymentState.BOOKING, PaymentState.SKIPPED)
DUPLICATE_CODES = frozenset({"MUTA_008"})  # "payment reference already exists"


def due(store: Store, now: datetime) -> list[int]:
    """Booked orders whose payment failed or is unconfirmed, and is due to be tried again."""
    return list(
        store.session.execute(
            sa.select(OrderRecord.order_id)
            .where(
                OrderRecord.link_id == store.link_id,
                OrderRecord.state == OrderState.BOOKED,
                OrderRecord.payment_state.in_((PaymentState.FAILED, PaymentState.BOOKING)),
                sa.or_(
                    OrderRecord.payment_next_attempt_at.is_(None),
                    OrderRecord.payment_next_attempt_at <= now,
                ),
            )
            .order_by(OrderRecord.invoice_date, OrderRecord.order_id)
        ).scalars()
    )


class Payments:
    """The payment part of one engine run; ``Engine`` makes it when payments are on.

    ``state`` is the run's: its patience with 429s, its count of unavailable answers (a few in
    a row stop the run), its report of failures. ``reference`` gives the run's reference data,
    fetched at the first order or payment that needs it; a failure there stops the run.
    """

    def __init__(
        self,
        eb: EBoekhoudenClient,
        store: Store,
        settings: Settings,
        state: RunState,
        reference: Callable[[], ReferenceData],
    ) -> None:
        self.eb, self.store, self.settings, self.state = eb, store, settings, state
        self.run, self.clock, self.reference = state.run, state.clock, reference
        self.fresh_intent = False

    def due(self) -> list[int]:
        """The orders whose payment is due to be tried again now."""
        return due(self.store, self.clock())

    def book(self, rec: OrderRecord, raw: dict) -> None:
        """Book the payment of ``rec`` if the order is booked, paid, and its payment is not."""
        if rec.state != OrderState.BOOKED or rec.payment_state == PaymentState.BOOKED:
            return
        info = read_payment(raw)
        if rec.payment_state == PaymentState.BOOKING and self._found_earlier(rec):
            return
        reason = why_not(info, self.settings)
        if reason is not None:
            self._not_now(rec, reason)
            return
        ledgers = self.reference().ledgers  # like a booking's: a failure here stops the run
        self.fresh_intent = False
        try:
            body = jsonutil.loads(rec.booking_json) if rec.booking_json else None
            sale = booked_sale(rec.order_id, rec.reference, rec.relation_id, body)
            payment = build_payment(info, sale, self.settings, ledgers)
            if isinstance(payment, NoPayment):
                self._not_now(rec, payment)
                return
            self._write(rec, payment)
        except MappingError as exc:
            self._failed(rec, exc.reason, exc.fix, None)
        except apierrors.AuthError:
            self._undo_intent(rec)
            raise
        except apierrors.Unavailable as exc:
            self._failed(rec, *_explain(exc), exc.code)
            self.state.note_unavailable(exc)
        except apierrors.ApiError as exc:
            self._failed(rec, *_explain(exc), exc.code)

    # --- the write ---

    def _write(self, rec: OrderRecord, payment: Payment) -> None:
        body = to_payment_payload(payment)
        number, ledger_id = payment.sale.invoice_number, payment.ledger.id
        intent = {"payment_state": PaymentState.BOOKING, "payment_json": jsonutil.dumps(body)}
        self._save(rec, intent)
        self.fresh_intent = True
        try:
            created = self.state.patiently(lambda: self.eb.create_mutation(body))
        except apierrors.Rejected as exc:
            if exc.code not in DUPLICATE_CODES:
                raise
            found = self._safe_lookup(number, ledger_id)
            self._booked(rec, found, f"Already in e-Boekhouden ({exc.code}); not booked again.")
            return
        except apierrors.Unavailable as exc:
            if not exc.write_uncertain:
                raise
            found = self._safe_lookup(number, ledger_id)
            if found is not None:
                self._booked(rec, found, "e-Boekhouden did not answer, but the payment is there.")
                return
            self._unconfirmed(rec, f"{exc.api} did not confirm the payment ({exc}).", exc.code)
            self.state.note_unavailable(exc)
            return
        self._booked(rec, int(created["id"]), "Payment booked.")

    def _found_earlier(self, rec: OrderRecord) -> bool:
        """An unconfirmed payment, looked up: True when that settles it for this run (found and
        booked, or the look-up failed and it stays unconfirmed), False when it is not there."""
        body = jsonutil.loads(rec.payment_json) if rec.payment_json else {}
        try:
            found = self.state.patiently(
                lambda: self._lookup(rec.reference or "", body.get("ledgerId"))
            )
        except apierrors.AuthError:
            raise
        except apierrors.ApiError as exc:
            self._unconfirmed(rec, f"It could not be looked up in e-Boekhouden ({exc}).", exc.code)
            if isinstance(exc, apierrors.Unavailable):
                self.state.note_unavailable(exc)
            return True  # it stays unconfirmed, and nothing is written
        if found is None:
            return False
        self._booked(
            rec, found, "Found in e-Boekhouden after an unconfirmed write; not booked again."
        )
        return True

    def _lookup(self, number: str, ledger_id: Any) -> int | None:
        """The id of a payment of invoice ``number`` in e-Boekhouden, ours first."""
        if not number:
            return None
        found = list(self.eb.iter_mutations_of_invoice(number, PAYMENT_RECEIVED))
        found.sort(key=lambda item: item.get("ledgerId") != ledger_id)
        return int(found[0]["id"]) if found else None

    def _safe_lookup(self, number: str, ledger_id: int) -> int | None:
        try:
            return self._lookup(number, ledger_id)
        except apierrors.ApiError:
            return None

    # --- recording ---

    def _booked(self, rec: OrderRecord, mutation_id: int | None, note: str) -> None:
        self.state.reached()
        now = self.clock()
        values = {"payment_state": PaymentState.BOOKED, "payment_mutation_id": mutation_id}
        values |= {"payment_booked_at": now, "payment_reason": None, "payment_error_code": None}
        values["payment_next_attempt_at"] = None
        self._save(rec, values, AttemptOutcome.PAYMENT_BOOKED, note)
        logger.info("payment of order %s booked as mutation %s", rec.order_id, mutation_id)

    def _not_now(self, rec: OrderRecord, no: NoPayment) -> None:
        state = PaymentState.SKIPPED if no.skipped else PaymentState.NONE
        if rec.payment_state == state and rec.payment_reason == no.reason:
            return  # nothing new: no write
        values = {"payment_state": state, "payment_reason": no.reason, "payment_error_code": None}
        values["payment_next_attempt_at"] = None
        outcome = AttemptOutcome.PAYMENT_SKIPPED if no.skipped else None
        self._save(rec, values, outcome, no.reason)

    def _failed(self, rec: OrderRecord, reason: str, fix: str | None, code: str | None) -> None:
        """Not booked, and certainly not written: try again later, ever less often."""
        attempts = rec.payment_attempts + 1
        text = f"{reason} {fix}" if fix else reason
        values = {"payment_state": PaymentState.FAILED, "payment_reason": text}
        values |= {"payment_error_code": code, "payment_attempts": attempts}
        values["payment_next_attempt_at"] = self.clock() + retry_delay(attempts)
        self._save(rec, values, AttemptOutcome.PAYMENT_FAILED, text, code)
        self.state.payments_failed += 1
        self._report(rec, text)

    def _unconfirmed(self, rec: OrderRecord, reason: str, code: str | None) -> None:
        """Perhaps written: it stays ``booking``, to be looked up before any new write."""
        text = f"{reason} pp2eb looks it up in e-Boekhouden before it tries again."
        values = {"payment_state": PaymentState.BOOKING, "payment_reason": text}
        values["payment_error_code"] = code
        values["payment_next_attempt_at"] = self.clock() + retry_delay(1)
        self._save(rec, values, AttemptOutcome.PAYMENT_UNCONFIRMED, text, code)
        self._report(rec, text)

    def _undo_intent(self, rec: OrderRecord) -> None:
        """A refused token: this attempt's write was not made, so its intent goes."""
        if self.fresh_intent:
            self._save(rec, {"payment_state": PaymentState.FAILED, "payment_next_attempt_at": None})
        self.fresh_intent = False

    def _report(self, rec: OrderRecord, text: str) -> None:
        number = rec.invoice_number or str(rec.order_id)
        self.state.failures.append(Failure(rec.order_id, number, f"Payment not booked: {text}"))
        logger.info("payment of order %s not booked: %s", rec.order_id, text)

    def _save(self, rec, values, outcome=None, message=None, code=None) -> None:
        """Write ``values`` to the record (and an attempt when ``outcome``), then commit."""
        attempt = None if outcome is None else (outcome, code, message)
        self.store.save_payment(rec, values, self.run, self.clock(), attempt)


def _explain(exc: apierrors.ApiError) -> tuple[str, str | None]:
    return explain_api_error(exc, payment=True)  # a payment's MUT_019 has its own words
