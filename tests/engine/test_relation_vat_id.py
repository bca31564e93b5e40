"""A customer who first bought as a consumer buys under reverse charge: the relation gets the
VAT id and type B before the booking, and a different VAT id already there is never overwritten.

Each test runs the whole path: orders in the Plug&Pay sandbox, ``flask sync``, the relation and
booking the e-Boekhouden sandbox stored.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from pp2eb.extensions import db
from pp2eb.models import OrderRecord
from tests.clock import DEMO_TODAY
from tests.engine_helpers import add_order, clients, configure, demo_order, eb_state

EMAIL = "sam.peeters@example.be"
VAT_ID = "BE0999888777"


def consumer(order: dict) -> bool:
    contact = order["billing"]["contact"]
    return (
        order["billing"]["address"]["country"] == "NL"
        and not contact["company"]
        and contact["tax_exempt"] == "none"
        and order["payment"]["status"] == "paid"
        and float(order["amount_with_tax"]) > 0
    )


def reverse_charge(order: dict) -> bool:
    return (
        order["billing"]["contact"]["tax_exempt"] == "reverse"
        and float(order["amount_with_tax"]) > 0
    )


def add_consumer_then_business(sandbox) -> None:
    """Order 9001 bought as a consumer, order 9002 a day later under reverse charge."""
    day = DEMO_TODAY - timedelta(days=2)
    person = {"firstname": "Sam", "lastname": "Peeters", "email": EMAIL}
    order = demo_order(sandbox, consumer)
    add_order(sandbox, order, 9001, day, company=None, vat_id_number=None, **person)
    add_business(sandbox)


def add_business(sandbox) -> None:
    """Order 9002: Sam Peeters for Peeters Consult BV, Belgium, reverse charge."""
    business = {"company": "Peeters Consult BV", "vat_id_number": VAT_ID, "email": EMAIL}
    business |= {"firstname": "Sam", "lastname": "Peeters"}
    order = demo_order(sandbox, reverse_charge)
    add_order(sandbox, order, 9002, DEMO_TODAY - timedelta(days=1), **business)


def record(app, order_id: int) -> OrderRecord:
    with app.app_context():
        return db.session.execute(db.select(OrderRecord).filter_by(order_id=order_id)).scalar_one()


def relations_of(sandbox, email: str) -> list[dict]:
    return [r for r in eb_state(sandbox)["relations"] if r.get("emailAddress") == email]


def booking_of(sandbox, number: str) -> dict | None:
    return next((m for m in eb_state(sandbox)["mutations"] if m["invoiceNumber"] == number), None)


def patches(sandbox) -> int:
    stats = sandbox.control("eboekhouden", "GET", "stats").json()
    return stats.get("PATCH /v1/relation/<relation_id>", 0)


@pytest.mark.parametrize("insertion", ["mutation", "invoice"])
def test_the_consumers_relation_gets_the_vat_id_and_type_b(app, runner, sandbox, insertion):
    configure(app, insertion=insertion, invoice_template="Standaard")
    add_consumer_then_business(sandbox)
    runner.invoke(args=["sync"])
    first, second = record(app, 9001), record(app, 9002)
    assert (first.state, second.state) == ("booked", "booked"), second.reason
    assert first.relation_id == second.relation_id
    [relation] = relations_of(sandbox, EMAIL)
    assert relation["id"] == second.relation_id
    assert (relation["type"], relation["vatNumber"]) == ("B", VAT_ID)
    assert (relation["name"], relation["contact"]) == ("Peeters Consult BV", "Sam Peeters")
    booking = booking_of(sandbox, "2026-09002")
    assert booking["relationId"] == relation["id"]
    assert {row["vatCode"] for row in booking["rows"]} == {"BI_EU_VERK_D"}
    if insertion == "invoice":
        [invoice] = [i for i in eb_state(sandbox)["invoices"] if i["invoiceNumber"] == "2026-09002"]
        assert invoice["relationId"] == relation["id"]
    assert patches(sandbox) == 1


def test_a_different_vat_id_is_never_overwritten_the_order_fails(app, runner, sandbox):
    configure(app)
    _, eb = clients(sandbox)
    with eb:
        made = eb.create_relation(
            {"name": "Peeters", "type": "B", "emailAddress": EMAIL, "vatNumber": "BE0111222333"}
        )
    add_business(sandbox)
    result = runner.invoke(args=["sync"])
    assert result.exit_code == 1
    rec = record(app, 9002)
    assert rec.state == "failed"
    assert "BE0111222333" in rec.reason and VAT_ID in rec.reason
    assert "does not overwrite" in rec.reason and "correct it there" in rec.fix
    assert "order 2026-09002: " in result.output
    [relation] = relations_of(sandbox, EMAIL)
    assert (relation["id"], relation["vatNumber"], relation["name"]) == (
        made["id"],
        "BE0111222333",
        "Peeters",
    )
    assert booking_of(sandbox, "2026-09002") is None
    assert patches(sandbox) == 0


def test_the_same_vat_id_written_otherwise_needs_no_update(app, runner, sandbox):
    configure(app)
    _, eb = clients(sandbox)
    with eb:
        eb.create_relation(
            {"name": "Peeters", "type": "B", "emailAddress": EMAIL, "vatNumber": "be 0999.888.777"}
        )
    add_business(sandbox)
    runner.invoke(args=["sync"])
    assert record(app, 9002).state == "booked"
    [relation] = relations_of(sandbox, EMAIL)
    assert relation["vatNumber"] == "be 0999.888.777"
    assert patches(sandbox) == 0
