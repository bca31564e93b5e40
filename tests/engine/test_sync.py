"""The engine against both sandboxes over loopback: exactly once, to the cent, through faults."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from pp2eb.engine.sync import run_once
from pp2eb.extensions import db
from pp2eb.models import Attempt, OrderRecord, utcnow
from pp2eb.setup import shopsettings
from pp2eb.states import OrderState, RunStatus
from tests.engine_helpers import (
    DEMO_REFUSED,
    add_ledger,
    assert_exactly_once,
    booked_numbers,
    clients,
    configure,
    eb_state,
    store,
    the_link,
)


@pytest.fixture
def ready(app, sandbox):
    configure(app)
    with app.app_context():
        yield app


def run(sandbox, kind="sync", sleep=None, **kwargs):
    pp, eb = clients(sandbox, sleep=sleep, timeout=kwargs.pop("timeout", 5.0))
    with eb:
        return run_once(
            pp,
            eb,
            store(),
            shopsettings.load(the_link()),
            kind=kind,
            sleep=sleep or (lambda s: None),
            **kwargs,
        )


def records(state=None):
    query = db.select(OrderRecord)
    if state:
        query = query.filter_by(state=state)
    return db.session.execute(query).scalars().all()


def test_books_every_order_once_and_a_rerun_books_nothing(ready, sandbox):
    first = run(sandbox)
    assert first.status == RunStatus.FINISHED
    assert first.failed == DEMO_REFUSED
    assert all("OSS" in f.reason for f in first.failures)
    assert first.booked == len(records(OrderState.BOOKED)) > 40
    assert_exactly_once(sandbox, first.booked)
    settings = shopsettings.load(the_link())
    second = run(sandbox, kind="backfill", since=settings.start_date)
    assert (second.booked, second.already_booked) == (0, first.booked)
    assert_exactly_once(sandbox, first.booked)


def test_each_booking_adds_up_to_the_cent(ready, sandbox):
    run(sandbox)
    mutations = {m["id"]: m for m in eb_state(sandbox)["mutations"]}
    for rec in records(OrderState.BOOKED):
        mutation = mutations[rec.eboekhouden_id]
        assert Decimal(str(mutation["totalIncl"])) == Decimal(rec.amount_with_tax), rec.order_id
        assert mutation["invoiceNumber"] == rec.reference == rec.invoice_number


def test_skips_test_mode_and_concept_with_reason(ready, sandbox):
    run(sandbox)
    reasons = [rec.reason for rec in records(OrderState.SKIPPED)]
    assert any(r.startswith("Test-mode order") for r in reasons)
    assert not any(n.startswith("T") for n in booked_numbers(sandbox))
    # A concept has no invoice date yet, so only a look by id finds it; it is checked again.
    pp, _ = clients(sandbox)
    concept = next(pp.iter_orders(invoice_status="concept"))
    run(sandbox, order_ids=[concept["id"]])
    rec = db.session.execute(db.select(OrderRecord).filter_by(order_id=concept["id"])).scalar_one()
    assert rec.state == OrderState.SKIPPED and rec.reason.startswith("Concept invoice")
    assert rec.next_attempt_at is not None


def test_failed_order_keeps_reason_fix_and_is_retried_later(ready, sandbox):
    result = run(sandbox)
    failed = records(OrderState.FAILED)
    assert len(failed) == result.failed == DEMO_REFUSED
    for rec in failed:
        assert "OSS" in rec.reason and rec.fix
        assert rec.next_attempt_at > utcnow()
        assert rec.attempts == 1
    # Not due yet: a second sync leaves them alone; once due, they are tried again.
    assert run(sandbox).failed == 0
    later = utcnow() + timedelta(hours=1)
    retried = run(sandbox, clock=lambda: later)
    assert retried.failed == DEMO_REFUSED
    assert all(rec.attempts == 2 for rec in records(OrderState.FAILED))


def test_write_then_500_books_once(ready, sandbox):
    sandbox.control(
        "eboekhouden",
        "POST",
        "faults",
        json={
            "path": "/v1/mutation",
            "method": "POST",
            "status": 500,
            "times": 2,
            "after_write": True,
        },
    )
    result = run(sandbox)
    assert result.status == RunStatus.FINISHED
    assert_exactly_once(sandbox, result.booked)
    notes = db.session.execute(db.select(Attempt.message)).scalars().all()
    assert sum("did not answer, but the booking is there" in n for n in notes) == 2


def test_timeout_after_the_write_books_once(ready, sandbox):
    sandbox.control(
        "eboekhouden",
        "POST",
        "faults",
        json={
            "path": "/v1/mutation",
            "method": "POST",
            "status": 0,
            "delay": 1.0,
            "times": 1,
            "after_write": True,
        },
    )
    result = run(sandbox, timeout=0.4)
    assert result.status == RunStatus.FINISHED
    assert_exactly_once(sandbox, result.booked)
    assert result.booked == len(records(OrderState.BOOKED))


def test_unconfirmed_intent_is_looked_up_before_writing_again(ready, sandbox):
    # A crash right after the write: the record says "booking", e-Boekhouden has it.
    run(sandbox, order_ids=[1])
    rec = records(OrderState.BOOKED)[0]
    rec.state, rec.write_uncertain, rec.eboekhouden_id = OrderState.BOOKING, True, None
    db.session.commit()
    result = run(sandbox, order_ids=[1])
    assert result.booked == 1
    assert_exactly_once(sandbox, 1)
    assert (
        "unconfirmed write"
        in db.session.execute(db.select(Attempt.message).order_by(Attempt.id.desc()))
        .scalars()
        .first()
    )


def test_number_already_in_eboekhouden_is_marked_booked_not_failed(ready, sandbox):
    pp, eb = clients(sandbox)
    order = pp.get_order(1)
    with eb:
        debtor = next(eb.iter_ledgers(code="1300"))["id"]
        revenue = next(eb.iter_ledgers(code="8000"))["id"]
        relation = eb.create_relation({"name": "Handmatig", "type": "P"})["id"]
        existing = eb.create_mutation(
            {
                "type": 2,
                "date": order["invoice_date"],
                "ledgerId": debtor,
                "relationId": relation,
                "invoiceNumber": order["invoice_number"],
                "inExVat": "IN",
                "rows": [{"ledgerId": revenue, "vatCode": "HOOG_VERK_21", "amount": 1}],
            }
        )["id"]
    result = run(sandbox, order_ids=[1])
    assert (result.booked, result.failed) == (1, 0)
    rec = records(OrderState.BOOKED)[0]
    assert rec.eboekhouden_id == existing
    note = db.session.execute(db.select(Attempt.message)).scalars().all()[-1]
    assert "MUT_019" in note


def test_rate_limit_storm_slows_down_and_books_everything(ready, sandbox):
    waits = []
    sandbox.control(
        "eboekhouden",
        "POST",
        "faults",
        json={
            "path": "/v1/mutation",
            "method": "POST",
            "status": 429,
            "retry_after": 3,
            "times": 6,
        },
    )
    result = run(sandbox, sleep=waits.append)
    assert result.status == RunStatus.FINISHED
    assert sum(waits) >= 6 * 3
    assert_exactly_once(sandbox, result.booked)
    assert result.failed == DEMO_REFUSED


class ExpireAfter:
    """A Plug&Pay client that calls a sandbox control after ``n`` orders of the list."""

    def __init__(self, pp, n, action):
        self.pp, self.n, self.action = pp, n, action

    def __getattr__(self, name):
        return getattr(self.pp, name)

    def iter_orders(self, **kwargs):
        for i, order in enumerate(self.pp.iter_orders(**kwargs)):
            if i == self.n:
                self.action()
            yield order


def test_expired_session_mid_run_makes_one_new_session(ready, sandbox):
    pp, eb = clients(sandbox)
    pp = ExpireAfter(pp, 10, lambda: sandbox.control("eboekhouden", "POST", "expire-sessions"))
    with eb:
        result = run_once(pp, eb, store(), shopsettings.load(the_link()))
    assert result.status == RunStatus.FINISHED
    assert eb.session_count == 2
    assert_exactly_once(sandbox, result.booked)


def test_revoked_token_stops_the_run_without_failing_orders(ready, sandbox):
    pp, eb = clients(sandbox)
    revoke = lambda: sandbox.control(  # noqa: E731
        "eboekhouden", "POST", "config", json={"revoke_api_token": "eb-sandbox-token"}
    )
    with eb:
        result = run_once(ExpireAfter(pp, 10, revoke), eb, store(), shopsettings.load(the_link()))
    assert result.status == RunStatus.ABORTED
    assert "Connect e-Boekhouden.nl again with a new API token" in result.message
    assert result.booked == len(booked_numbers(sandbox)) <= 10
    for rec in records():
        assert rec.state != OrderState.BOOKING
        assert "refused" not in (rec.reason or "")


def test_eboekhouden_down_stops_the_run_and_the_next_run_books_the_rest(ready, sandbox):
    sandbox.control(
        "eboekhouden",
        "POST",
        "faults",
        json={
            "path": "/v1/mutation",
            "method": "POST",
            "status": 503,
            "times": None,
        },
    )
    down = run(sandbox)
    assert down.status == RunStatus.ABORTED
    assert "could not be reached 3 times in a row" in down.message
    assert down.booked == 0
    sandbox.control("eboekhouden", "DELETE", "faults")
    later = utcnow() + timedelta(hours=1)
    back = run(sandbox, clock=lambda: later)
    assert back.status == RunStatus.FINISHED
    assert_exactly_once(sandbox, back.booked)
    assert back.booked == len(records(OrderState.BOOKED)) > 40


def test_credit_invoice_waits_for_its_original(ready, sandbox):
    pp, _ = clients(sandbox)
    credit = next(pp.iter_orders(payment_status="credit_invoice"))
    original_id = credit["related_orders"][0]["id"]
    waiting = run(sandbox, order_ids=[credit["id"]])
    assert (waiting.waiting, waiting.booked) == (1, 0)
    done = run(sandbox, order_ids=[original_id, credit["id"]])
    assert done.booked == 2
    by_order = {r.order_id: r for r in records(OrderState.BOOKED)}
    assert by_order[credit["id"]].relation_id == by_order[original_id].relation_id
    mutations = {m["id"]: m for m in eb_state(sandbox)["mutations"]}
    total = Decimal(str(mutations[by_order[credit["id"]].eboekhouden_id]["totalIncl"]))
    assert total == -Decimal(by_order[original_id].amount_with_tax) < 0


def test_unusable_orders_fail_with_a_reason_and_the_run_goes_on(ready, sandbox):
    pp, _ = clients(sandbox)
    good = pp.get_order(1)
    bad_amount = {**good, "id": 9001, "invoice_number": "2026-09001", "amount": "abc"}
    odd_rate = {**good, "id": 9002, "invoice_number": "2026-09002"}
    odd_rate["items"] = [
        {**item, "tax": {**item["tax"], "rate": {"id": 999, "country": "NL", "percentage": "13.0"}}}
        for item in good["items"]
    ]
    odd_rate["taxes"] = [
        {**t, "rate": {"id": 999, "country": "NL", "percentage": "13.0"}} for t in good["taxes"]
    ]
    sandbox.control(
        "plugandpay", "POST", "orders", json=[bad_amount, odd_rate], params={"contract": "off"}
    )
    result = run(sandbox)
    assert result.status == RunStatus.FINISHED
    reasons = {f.order_id: f.reason for f in result.failures}
    assert "amount" in reasons[9001]
    assert "13" in reasons[9002]
    assert result.booked > 40


def test_second_process_waits_its_turn(ready, sandbox):
    from pp2eb.engine.runlog import lease_holder

    holder = lease_holder().replace(":", "-x-", 1)  # another machine's process: alive
    # Kept while it holds the lease: on PostgreSQL its connection holds the link's lock.
    other = store().run_log
    assert other.acquire_lease(holder, utcnow(), timedelta(minutes=5))
    busy = run(sandbox)
    assert busy.status == "busy"
    assert booked_numbers(sandbox) == {}
    other.release_lease(holder)
    assert run(sandbox).status == RunStatus.FINISHED


def test_lease_of_a_dead_process_is_taken_over(ready, sandbox):
    import socket

    dead = f"{socket.gethostname()}:999999:dead"
    assert store().run_log.acquire_lease(dead, utcnow(), timedelta(minutes=5))
    assert run(sandbox).status == RunStatus.FINISHED


def test_sales_invoices_are_booked_once_with_the_template(app, sandbox):
    configure(app, insertion="invoice", invoice_template="Standaard")
    with app.app_context():
        first = run(sandbox)
        assert (first.status, first.failed) == (RunStatus.FINISHED, DEMO_REFUSED), first.failures
        state = eb_state(sandbox)
        numbers = [i["invoiceNumber"] for i in state["invoices"]]
        assert len(numbers) == len(set(numbers)) == first.booked > 40
        assert {i["templateId"] for i in state["invoices"]} == {752296}
        # Each invoice made its booking too (mutation.ledgerId), once.
        assert_exactly_once(sandbox, first.booked)
        again = run(sandbox, kind="backfill", since=shopsettings.load(the_link()).start_date)
        assert (again.booked, again.already_booked) == (0, first.booked)


def test_customer_codes_from_the_name_get_a_suffix_when_taken(app, sandbox):
    configure(app, customer_codes="name")
    with app.app_context():
        pp, eb = clients(sandbox)
        order = pp.get_order(1)
        contact = order["billing"]["contact"]
        with eb:
            # Someone else already has the code this customer would get.
            from pp2eb.mapping.customers import customer_code, relation_draft
            from pp2eb.mapping.readings import parse_order

            code = customer_code(relation_draft(parse_order(order)))
            eb.create_relation({"name": "Iemand anders", "code": code, "type": "P"})
        run(sandbox, order_ids=[1])
        relations = {
            r["emailAddress"]: r for r in eb_state(sandbox)["relations"] if r.get("emailAddress")
        }
        assert relations[contact["email"]]["code"] == f"{code}1"


def test_a_customer_already_in_eboekhouden_is_found_by_email(ready, sandbox):
    pp, eb = clients(sandbox)
    email = pp.get_order(1)["billing"]["contact"]["email"]
    with eb:
        existing = eb.create_relation({"name": "Bestaande klant", "emailAddress": email})["id"]
    run(sandbox, order_ids=[1])
    rec = records(OrderState.BOOKED)[0]
    assert rec.relation_id == existing
    assert sum(r.get("emailAddress") == email for r in eb_state(sandbox)["relations"]) == 1


def test_a_reading_the_record_is_silent_on_is_logged_once_per_run(ready, sandbox, caplog):
    pp, _ = clients(sandbox)
    base = pp.get_order(1)
    twins = []
    for order_id in (9101, 9102):
        order = {**base, "id": str(order_id), "invoice_number": f"2026-{order_id}"}
        order["items"] = [{**line, "type": None} for line in base["items"]]
        twins.append({k: v for k, v in order.items() if k != "related_orders"})
    sandbox.control("plugandpay", "POST", "orders", json=twins)
    caplog.set_level("INFO", logger="pp2eb.engine.sync")
    for _ in range(2):
        result = run(sandbox, order_ids=[9101, 9102])
        assert result.status == RunStatus.FINISHED
    lines = [r.getMessage() for r in caplog.records if "reads Plug&Pay's orders" in r.getMessage()]
    for reading in ("ids read from text", "related_orders: missing from the answer, read as none"):
        said = [line for line in lines if line.endswith(reading) or reading in line]
        assert len(said) == 2, lines  # once in each of the two runs, not once an order
        assert "first seen on order 9101" in said[0]


@pytest.mark.parametrize("insertion", ["mutation", "invoice"])
def test_an_order_discount_lowers_the_ledgers_it_was_given_on(app, sandbox, insertion):
    """A course (8010) and a book (8020), 10.00 off the order: 6.67 and 3.33, not all on 8000."""
    from pp2eb.sandbox.plugandpay.store import BASE_KEYS
    from tests.mapping.test_order import build, item

    configure(app, insertion=insertion, invoice_template="Standaard")
    pp, _eb = clients(sandbox)
    demo = pp.get_order(1)
    lines = [item("Cursus", "121.00", product=1), item("Boek", "60.50", product=3)]
    raw = build(lines, discounts=[("10.00", "WELKOM")], order_id=9300, number="2026-09300")
    order = {**{key: demo[key] for key in BASE_KEYS}, **raw, "invoice_date": demo["invoice_date"]}
    sandbox.control("plugandpay", "POST", "orders", json=[order])
    with app.app_context():
        run(sandbox, order_ids=[9300])
        rec = db.session.execute(db.select(OrderRecord).filter_by(order_id=9300)).scalar_one()
        assert rec.state == OrderState.BOOKED, rec.reason
    [booking] = [m for m in eb_state(sandbox)["mutations"] if m["invoiceNumber"] == "2026-09300"]
    ids = {22206463: "8010", 22206464: "8020"}
    amounts = [(ids[r["ledgerId"]], Decimal(str(r["amount"]))) for r in booking["rows"]]
    assert sorted(amounts) == sorted(
        [("8010", Decimal("121.00")), ("8020", Decimal("60.50"))]
        + [("8010", Decimal("-6.67")), ("8020", Decimal("-3.33"))]
    )


def test_unset_optional_ledgers_fail_only_the_orders_that_need_them(app, sandbox):
    # An administration without e-Boekhouden's usual shipping and rounding ledgers.
    sandbox.control("eboekhouden", "POST", "config", json={"remove_ledgers": ["8050", "8090"]})
    configure(app, shipping_ledger=None, rounding_ledger=None)
    with app.app_context():
        first = run(sandbox)
        assert first.status == RunStatus.FINISHED
        needing = {f.order_id: f.reason for f in first.failures if "OSS" not in f.reason}
        shipping = [i for i, r in needing.items() if "(setting shipping_ledger)" in r]
        rounding = [i for i, r in needing.items() if "(setting rounding_ledger)" in r]
        assert shipping and rounding and len(shipping) + len(rounding) == len(needing)
        assert first.failed == DEMO_REFUSED + len(needing)
        assert first.booked > 30
        for rec in records(OrderState.FAILED):
            assert rec.order_id not in needing or "on the settings page" in rec.fix

        add_ledger(sandbox, "8055", "Verzendkosten")
        add_ledger(sandbox, "8095", "Afrondingsverschillen")
        shopsettings.save_draft(the_link(), {"shipping_ledger": "8055", "rounding_ledger": "8095"})
        retried = run(sandbox, order_ids=list(needing))
        assert (retried.booked, retried.failed) == (len(needing), 0), retried.failures
        assert_exactly_once(sandbox, first.booked + len(needing))
        ledgers = {x["id"]: x["code"] for x in eb_state(sandbox)["ledgers"]}
        rows = [row for m in eb_state(sandbox)["mutations"] for row in m["rows"]]
        assert {"8055", "8095"} <= {ledgers[row["ledgerId"]] for row in rows}
