"""Booking payments (type 3) of booked orders against the sandboxes: once, and never in the way
of the booking. Each test checks the e-Boekhouden sandbox's own state."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest

from pp2eb import jsonutil
from pp2eb.engine.sync import run_once
from pp2eb.extensions import db
from pp2eb.models import Attempt, OrderRecord, utcnow
from pp2eb.setup import connections, shopsettings
from tests.conftest import csrf_token
from tests.engine_helpers import clients, configure, eb_state, store, the_link
from tests.web.test_dashboard import wait_for_background

MOLLIE_ID, STRIPE_ID, DEBTORS_ID = 22206430, 22206431, 22206400
ON = {"book_payments": True, "payment_ledgers": {"mollie": "1650", "stripe": "1660"}}


@pytest.fixture
def ready(app, sandbox):
    configure(app, **ON)
    with app.app_context():
        yield app


def run(sandbox, clock=None, timeout=5.0, **kwargs):
    pp, eb = clients(sandbox, timeout=timeout)
    extra = {"clock": clock} if clock else {}
    with eb:
        return run_once(
            pp, eb, store(), shopsettings.load(the_link()), sleep=lambda s: None, **extra, **kwargs
        )


def later(hours: int):
    moment = utcnow() + timedelta(hours=hours)
    return lambda: moment


def payments(sandbox) -> list[dict]:
    return [m for m in eb_state(sandbox)["mutations"] if m["type"] == 3]


def paid_numbers(sandbox) -> Counter:
    return Counter(m["invoiceNumber"] for m in payments(sandbox))


def outstanding(sandbox, **params) -> list[dict]:
    """The debtors' open items in e-Boekhouden."""
    _, eb = clients(sandbox)
    with eb:
        return list(eb.iter_outstanding("D", **params))


def record(order_id: int) -> OrderRecord:
    return db.session.execute(
        db.select(OrderRecord)
        .filter_by(order_id=order_id)
        .execution_options(populate_existing=True)
    ).scalar_one()


def stats(sandbox) -> dict:
    return sandbox.control("eboekhouden", "GET", "stats").json()


def faults(sandbox, *items) -> None:
    sandbox.control("eboekhouden", "POST", "faults", json=list(items))


def test_a_paid_order_gets_one_payment_and_is_no_longer_open(ready, sandbox):
    result = run(sandbox, order_ids=[1])
    assert result.booked == 1 and not result.failures
    rec = record(1)
    [payment] = payments(sandbox)
    assert (rec.state, rec.payment_state) == ("booked", "booked")
    assert rec.payment_mutation_id == payment["id"] and rec.payment_booked_at is not None
    assert payment["ledgerId"] == MOLLIE_ID and payment["paymentReference"] == "pp2eb-1-B"
    assert payment["invoiceNumber"] == rec.invoice_number
    assert payment["rows"][0]["ledgerId"] == DEBTORS_ID
    assert str(payment["totalIncl"]) == rec.amount_with_tax
    # e-Boekhouden no longer lists the invoice as open.
    assert outstanding(sandbox, invoiceNumber=rec.invoice_number) == []
    # Again: nothing is written, nothing is read.
    sandbox.control("eboekhouden", "DELETE", "stats")
    again = run(sandbox, order_ids=[1], clock=later(1))
    assert again.already_booked == 1 and stats(sandbox) == {}
    assert len(payments(sandbox)) == 1


def test_a_whole_sync_pays_each_paid_order_once(ready, sandbox):
    first = run(sandbox)
    numbers = paid_numbers(sandbox)
    assert numbers and max(numbers.values()) == 1
    recs = db.session.execute(db.select(OrderRecord)).scalars().all()
    booked = {r.invoice_number for r in recs if r.payment_state == "booked"}
    assert set(numbers) == booked
    # Every invoice paid through Mollie or Stripe is off the open items; Stripe has its ledger.
    open_numbers = {i["invoiceNumber"] for i in outstanding(sandbox)}
    assert open_numbers and not booked & open_numbers
    assert {m["ledgerId"] for m in payments(sandbox)} == {MOLLIE_ID, STRIPE_ID}
    sandbox.control("eboekhouden", "DELETE", "stats")
    second = run(sandbox, clock=later(1))
    assert paid_numbers(sandbox) == numbers and "POST /v1/mutation" not in stats(sandbox)
    assert first.status == second.status == "finished"


def test_payments_off_cost_no_call_and_no_write(app, sandbox, monkeypatch):
    configure(app)  # the default: payments off
    with app.app_context():  # known, so no earlier booking is listed to learn it
        connections.set_vat_rounding(the_link(), "total")
    listed: list[dict] = []
    pp, eb = clients(sandbox)
    original = pp.iter_orders

    def iter_orders(**kwargs):
        listed.append(kwargs)
        return original(**kwargs)

    monkeypatch.setattr(pp, "iter_orders", iter_orders)
    sandbox.control("eboekhouden", "DELETE", "stats")
    with app.app_context(), eb:
        first = run_once(pp, eb, store(), shopsettings.load(the_link()))
        calls = stats(sandbox)
        sandbox.control("eboekhouden", "DELETE", "stats")
        run_once(pp, eb, store(), shopsettings.load(the_link()))
        second = stats(sandbox)
        states = db.session.execute(db.select(OrderRecord.payment_state)).scalars().all()
    # One write per booked order, no look-up of a payment, and nothing at all the second time.
    assert first.booked > 40 and calls["POST /v1/mutation"] == first.booked
    assert "GET /v1/mutation" not in calls and second == {}
    assert payments(sandbox) == [] and set(states) == {"none"}
    assert len(listed) == 2 and not any("since_paid_at" in kwargs for kwargs in listed)


def test_an_order_paid_after_its_booking_is_paid_in_a_later_sync(ready, sandbox):
    pp, _ = clients(sandbox)
    unpaid = next(
        o for o in pp.iter_orders() if o["payment"]["status"] == "open" and o["invoice_number"]
    )
    run(sandbox)
    rec = record(unpaid["id"])
    assert (rec.state, rec.payment_state) == ("booked", "none")
    # Paid through Mollie an hour after the first sync; the invoice-date window is long past.
    paid_at = utcnow().strftime("%Y-%m-%dT%H:%M:%S.000000Z")
    payment = {**unpaid["payment"], "status": "paid", "provider": "mollie", "method": "ideal"}
    sandbox.control(
        "plugandpay", "POST", "orders", json={**unpaid, "payment": {**payment, "paid_at": paid_at}}
    )
    result = run(sandbox, clock=later(1))
    assert result.booked == 0 and result.status == "finished"
    rec = record(unpaid["id"])
    assert rec.payment_state == "booked"
    assert paid_numbers(sandbox)[rec.invoice_number] == 1
    assert outstanding(sandbox, invoiceNumber=rec.invoice_number) == []


@pytest.mark.parametrize(
    "fault",
    [
        {"status": 500, "after_write": True},
        {"status": 0, "delay": 0.6, "after_write": True},  # a time-out after the write
    ],
    ids=["500 after the write", "time-out after the write"],
)
def test_an_unconfirmed_payment_write_is_looked_up_not_written_twice(app, sandbox, fault):
    configure(app)
    with app.app_context():
        run(sandbox, order_ids=[1])  # booked while payments were off
        shopsettings.save_draft(the_link(), ON)
        faults(sandbox, {"path": "/v1/mutation", "method": "POST", "times": 1, **fault})
        result = run(sandbox, order_ids=[1], timeout=0.4, clock=later(1))
        rec = record(1)
        assert rec.state == "booked" and rec.payment_state == "booked"
        assert len(payments(sandbox)) == 1 and rec.payment_mutation_id == payments(sandbox)[0]["id"]
        assert result.already_booked == 1 and not result.failures


def test_a_payment_left_unconfirmed_is_looked_up_in_a_later_run(app, sandbox):
    configure(app)
    with app.app_context():
        run(sandbox)  # everything booked while payments were off
        shopsettings.save_draft(the_link(), ON)
        # The write succeeds but its answer is lost, and so are the look-ups after it.
        faults(
            sandbox,
            {"path": "/v1/mutation", "method": "POST", "status": 500, "after_write": True},
            {"path": "/v1/mutation", "method": "GET", "status": 500, "times": 5},
        )
        result = run(sandbox, order_ids=[1], clock=later(1))
        rec = record(1)
        assert (rec.state, rec.payment_state) == ("booked", "booking")
        assert "looks it up in e-Boekhouden before it tries again" in rec.payment_reason
        assert [f.reason[:20] for f in result.failures] == ["Payment not booked: "]
        assert payments_due(later(1)) == [] and payments_due(later(2)) == [1]
        sandbox.control("eboekhouden", "DELETE", "faults")
        # A scheduled sync: order 1 is long out of its windows; it comes back as due.
        run(sandbox, clock=later(2))
        rec = record(1)
        assert rec.payment_state == "booked" and paid_numbers(sandbox)[rec.invoice_number] == 1
        assert "Found in e-Boekhouden after an unconfirmed write" in _last_attempt(rec).message


def payments_due(clock) -> list[int]:
    from pp2eb.engine.payments import due

    return due(store(), clock())


@pytest.mark.parametrize("written", [True, False], ids=["written", "never written"])
def test_a_crash_between_intent_and_confirmation_never_books_twice(app, sandbox, written):
    configure(app, **(ON if written else {}))
    with app.app_context():
        run(sandbox, order_ids=[1])  # with payments on: booked and paid; off: booked only
        shopsettings.save_draft(the_link(), ON)
        rec = record(1)
        # As a kill -9 after the intent was committed leaves it: "booking", nothing confirmed.
        rec.payment_state, rec.payment_mutation_id, rec.payment_booked_at = "booking", None, None
        db.session.commit()
        before = payments(sandbox)
        sandbox.control("eboekhouden", "DELETE", "stats")
        run(sandbox, order_ids=[1], clock=later(3))
        rec = record(1)
        assert rec.payment_state == "booked" and len(payments(sandbox)) == 1
        assert stats(sandbox)["GET /v1/mutation"] == 1  # looked up first
        if written:
            assert rec.payment_mutation_id == before[0]["id"]
            assert "POST /v1/mutation" not in stats(sandbox)
        else:
            assert before == [] and stats(sandbox)["POST /v1/mutation"] == 1


def _last_attempt(rec: OrderRecord) -> Attempt:
    return (
        db.session.execute(
            db.select(Attempt).filter_by(order_record_id=rec.id).order_by(Attempt.id.desc())
        )
        .scalars()
        .first()
    )


def test_a_duplicate_answer_means_the_payment_is_there(ready, sandbox):
    run(sandbox, order_ids=[1])
    [payment] = payments(sandbox)
    rec = record(1)
    # pp2eb forgot the payment (an old backup restored): e-Boekhouden refuses it (MUTA_008).
    rec.payment_state, rec.payment_mutation_id = "none", None
    db.session.commit()
    run(sandbox, order_ids=[1], clock=later(1))
    rec = record(1)
    assert rec.payment_state == "booked" and rec.payment_mutation_id == payment["id"]
    assert "MUTA_008" in _last_attempt(rec).message and len(payments(sandbox)) == 1


def test_a_missing_clearing_ledger_leaves_the_booking_booked(app, sandbox):
    configure(app, book_payments=True, payment_ledgers={"mollie": "1650", "stripe": "1999"})
    with app.app_context():
        result = run(sandbox)
        stripe = [
            r
            for r in db.session.execute(db.select(OrderRecord)).scalars()
            if r.payment_error_code is None and r.payment_state == "failed"
        ]
        assert len(stripe) == 2
        for rec in stripe:
            assert rec.state == "booked" and rec.eboekhouden_id
            assert "The clearing ledger 1999 does not exist in e-Boekhouden" in rec.payment_reason
            assert rec.payment_next_attempt_at > utcnow()
        assert sum(f.reason.startswith("Payment not booked") for f in result.failures) == 2
        assert result.payments_failed == 2 and not result.ok
        # Bank transfers have no ledger and no fallback: skipped, with the reason.
        rec = record(22)
        assert rec.state == "booked" and rec.payment_state == "skipped"
        assert "Paid through banktransfer, which has no clearing ledger" in rec.payment_reason
        # The tussenrekening is made in e-Boekhouden; the next due retry books the payments.
        ledger = {"code": "1999", "description": "Stripe", "category": "FIN"}
        _, eb = clients(sandbox)
        with eb:
            eb._call("POST", "/ledger", body=ledger)
        run(sandbox, clock=later(7))
        assert {record(r.order_id).payment_state for r in stripe} == {"booked"}


def test_a_credit_invoice_gets_no_payment(ready, sandbox):
    run(sandbox)
    recs = db.session.execute(db.select(OrderRecord)).scalars().all()
    status = {r.order_id: jsonutil.loads(r.order_json)["payment"]["status"] for r in recs}
    notes = [r for r in recs if status[r.order_id] == "credit_invoice"]
    assert len(notes) == 2
    for rec in notes:
        assert rec.state == "booked" and rec.payment_state == "skipped"
        assert "refund is made at the payment provider" in rec.payment_reason
        assert rec.invoice_number not in paid_numbers(sandbox)
    # The originals were paid before they were credited: that money came in, so it is booked.
    originals = [r for r in recs if status[r.order_id] == "credited"]
    assert len(originals) == 2 and all(r.payment_state == "booked" for r in originals)


# --- the order page, the orders list and ``flask orders show`` ---


def test_the_order_page_shows_the_payment_and_the_list_marks_it(app, ready, sandbox, client, auth):
    run(sandbox, order_ids=[1, 22])
    auth.login()
    html = client.get("/orders/1").get_data(as_text=True)
    section = html[html.index('id="payment"') :].split("</section>")[0]
    rec = record(1)
    assert "booked" in section and f"payment (mutation) {rec.payment_mutation_id}" in section
    assert "1650 — Tussenrekening Mollie" in section and "pp2eb-1-B" in section
    assert "Retry the payment now" not in html and "Retry now" not in html
    listed = client.get("/orders?state=booked").get_data(as_text=True)
    assert listed.count(">paid</span>") == 1
    # A bank transfer without a clearing ledger: not booked, and the page says why.
    html = client.get("/orders/22").get_data(as_text=True)
    section = html[html.index('id="payment"') :].split("</section>")[0]
    assert "not booked" in section and "Paid through banktransfer" in section


def test_retry_on_the_order_page_retries_a_failed_payment(app, sandbox, client, auth):
    configure(app, book_payments=True, payment_ledgers={"mollie": "1999"})
    auth.login()
    with app.app_context():
        run(sandbox, order_ids=[1])
        assert (record(1).state, record(1).payment_state) == ("booked", "failed")
    html = client.get("/orders/1").get_data(as_text=True)
    assert "Retry the payment now" in html and "The clearing ledger 1999 does not exist" in html
    with app.app_context():
        shopsettings.save_draft(the_link(), {"payment_ledgers": {"mollie": "1650"}})
    token = csrf_token(client, "/orders/1")
    response = client.post("/orders/1/retry", data={"csrf_token": token})
    wait_for_background(app)
    assert response.status_code == 302
    assert "The payment of order 1 is being tried again." in client.get("/orders/1").get_data(
        as_text=True
    )
    with app.app_context():
        assert record(1).payment_state == "booked" and len(payments(sandbox)) == 1
    assert "payment booked" in client.get("/orders/1").get_data(as_text=True)  # an attempt


def test_orders_show_prints_the_payment(ready, sandbox, runner):
    run(sandbox, order_ids=[1, 22])
    shown = runner.invoke(args=["orders", "show", "1"]).output
    rec = record(1)
    assert f"Payment: booked (e-Boekhouden mutation {rec.payment_mutation_id}) dated " in shown
    assert f"on ledger id {MOLLIE_ID}" in shown
    skipped = runner.invoke(args=["orders", "show", "22"]).output
    assert "Payment: skipped" in skipped and "Payment reason: Paid through banktransfer" in skipped


def test_exporting_a_range_again_books_the_payments_of_its_booked_orders(app, sandbox):
    configure(app)
    with app.app_context():
        first = run(sandbox)  # booked while payments were off
        shopsettings.save_draft(the_link(), ON)
        since = shopsettings.load(the_link()).start_date
        again = run(sandbox, kind="backfill", since=since, clock=later(1))
        assert again.booked == 0 and again.already_booked == first.booked
        paid = (
            db.session.execute(db.select(OrderRecord).filter_by(payment_state="booked"))
            .scalars()
            .all()
        )
        assert len(paid) == len(payments(sandbox)) > 30
        assert max(paid_numbers(sandbox).values()) == 1


def test_a_sales_invoice_is_paid_like_a_booking(app, sandbox):
    configure(app, insertion="invoice", **ON)
    with app.app_context():
        result = run(sandbox, order_ids=[1])
        rec = record(1)
        assert result.booked == 1 and rec.insertion == "invoice"
        assert rec.payment_state == "booked" and paid_numbers(sandbox) == {rec.invoice_number: 1}
        assert outstanding(sandbox, invoiceNumber=rec.invoice_number) == []


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("MUT_009", "not a bank or cash ledger (FIN)"),
        ("MUT_115", "does not find the booked invoice"),
        ("MUT_019", "refuses the payment because its invoice number is taken"),
        ("MUT_005", "period that is closed"),
    ],
)
def test_a_refused_payment_is_explained_in_words(code, words):
    from pp2eb.apis import eboekhouden
    from pp2eb.engine.payments import _explain

    reason, fix = _explain(eboekhouden.Rejected("refused", code=code))
    assert words in reason and fix
