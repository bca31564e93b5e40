"""What the store writes fits both databases: PostgreSQL refuses what SQLite keeps (a NUL in
text, an id beyond 32 bits, a string longer than its column), and an order must never stop a
run because of it."""

from __future__ import annotations

import pytest

from pp2eb.extensions import db
from pp2eb.models import OrderRecord
from pp2eb.states import OrderState, RunStatus
from tests.clock import DEMO_TODAY
from tests.engine.test_sync import run
from tests.engine_helpers import (
    add_order,
    assert_exactly_once,
    booked_numbers,
    configure,
    demo_order,
)


@pytest.fixture
def ready(app, sandbox):
    configure(app)
    with app.app_context():
        yield app


def record(order_id: int) -> OrderRecord:
    db.session.expire_all()
    return db.session.execute(db.select(OrderRecord).filter_by(order_id=order_id)).scalar_one()


def paid(order: dict) -> bool:
    return order["status"] == "paid" if "status" in order else True


def test_an_order_id_beyond_32_bits_is_booked_once(ready, sandbox):
    big = 3_000_000_123  # Plug&Pay ids are 64-bit; PostgreSQL's integer is 32
    added = add_order(sandbox, demo_order(sandbox, lambda o: True), big, DEMO_TODAY)
    first = run(sandbox)
    assert first.status == RunStatus.FINISHED, first.message
    assert record(big).state == record(1).state
    before = booked_numbers(sandbox)
    again = run(sandbox)
    assert again.status == RunStatus.FINISHED
    assert booked_numbers(sandbox) == before
    assert added["invoice_number"] in before or record(big).state != OrderState.BOOKED


def test_a_nul_character_in_a_name_never_stops_a_run(ready, sandbox):
    order = demo_order(sandbox, lambda o: True)
    add_order(sandbox, order, 90001, DEMO_TODAY, firstname="Jan\x00", lastname="de\x00Vries")
    result = run(sandbox)
    assert result.status == RunStatus.FINISHED, result.message
    rec = record(90001)
    assert rec.customer is not None and "Vries" in rec.customer
    assert_exactly_once(sandbox, result.booked)


def test_an_invoice_number_longer_than_its_column_fails_the_order_not_the_run(ready, sandbox):
    order = demo_order(sandbox, lambda o: True)
    added = add_order(sandbox, order, 90002, DEMO_TODAY)
    added["invoice_number"] = "2026-" + "9" * 95
    from pp2eb import jsonutil

    sandbox.control(
        "plugandpay", "POST", "orders", data=jsonutil.dumps([added]), params={"contract": "off"}
    )
    result = run(sandbox)
    assert result.status == RunStatus.FINISHED, result.message
    rec = record(90002)
    assert rec.state == OrderState.FAILED
    assert "longer than" in rec.reason
