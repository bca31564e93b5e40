"""Credit invoices: against their booked original, on their own, or waiting, with the reason.

First the mapper's decision, one row per case a bookkeeper would recognise; then the whole
path: orders in the Plug&Pay sandbox, ``flask sync``, the booking e-Boekhouden's sandbox stored.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from pp2eb.extensions import db
from pp2eb.mapping.booking import (
    BY_HAND,
    GONE,
    PENDING,
    SKIPPED,
    UNSEEN,
    Booking,
    OriginalNotBooked,
    Wait,
)
from pp2eb.models import OrderRecord
from pp2eb.reports import records
from pp2eb.setup import shopsettings
from pp2eb.states import OrderState
from tests.clock import DEMO_TODAY
from tests.engine_helpers import clients, configure, eb_state, the_link
from tests.mapping.test_mapper import CREDITED, ORIGINAL, REF, map_raw
from tests.mapping.test_order import build, item

# SETTINGS start on 2026-01-01; the credit invoice is dated 2026-02-03.
CREDIT = build([item("Cursus", "121.00")], payment_status="credit_invoice", related=CREDITED)
WAITS = "Credit invoice 2026-00042 waits for its original, order 41 (invoice 2026-00041), "
ALONE = "Booked on its own: its original, order 41 (invoice 2026-00041), "


@pytest.mark.parametrize(
    ("original", "alone"),
    [
        pytest.param(
            OriginalNotBooked(UNSEEN, date(2025, 12, 31)),
            ALONE + "is dated 2025-12-31, before the start date 2026-01-01.",
            id="original before the start date",
        ),
        pytest.param(
            OriginalNotBooked(BY_HAND, date(2026, 1, 5), "Skipped by owner: in Excel"),
            ALONE + "was skipped by hand (booked outside pp2eb).",
            id="original booked by hand",
        ),
        pytest.param(
            OriginalNotBooked(SKIPPED, date(2026, 1, 5), "Nothing to book: order 41 totals 0."),
            ALONE + "is skipped (Nothing to book: order 41 totals 0).",
            id="original skipped for good",
        ),
        pytest.param(
            OriginalNotBooked(GONE),
            ALONE + "no longer exists in Plug&Pay.",
            id="original gone from Plug&Pay",
        ),
    ],
)
def test_a_credit_whose_original_pp2eb_does_not_book_is_booked_on_its_own(original, alone):
    booking = map_raw(CREDIT, REF.with_original(41, original))
    assert isinstance(booking, Booking)
    assert booking.alone == alone
    assert booking.relation_id is None  # found as for any order: link, e-mail, new
    assert booking.relation.email == "klant@example.nl"
    assert booking.credit_of == "2026-00041"
    assert booking.description == "Plug&Pay creditfactuur 2026-00042 bij 2026-00041"
    assert [(r.ledger.code, r.vat_code, str(r.amount)) for r in booking.rows] == [
        ("8010", "HOOG_VERK_21", "-121.00")
    ]


def test_a_credit_of_a_booked_original_is_not_alone():
    booking = map_raw(CREDIT, REF.with_original(41, ORIGINAL))
    assert (booking.relation_id, booking.alone) == (4711, None)


@pytest.mark.parametrize(
    ("original", "reason"),
    [
        pytest.param(
            OriginalNotBooked(PENDING, date(2026, 1, 5), "failed: No OSS ledger is linked."),
            WAITS + "to be booked; the original failed: No OSS ledger is linked. It follows "
            "once the original is booked, or skipped by hand if it was booked outside pp2eb.",
            id="original failed",
        ),
        pytest.param(
            OriginalNotBooked(UNSEEN, date(2026, 1, 1)),
            WAITS + "to be booked; pp2eb has not seen the original yet (invoice date "
            "2026-01-01). The next sync, or a backfill from that date, books it.",
            id="original on the start date, not seen yet",
        ),
        pytest.param(
            OriginalNotBooked(UNSEEN),
            WAITS + "to be booked; pp2eb has not seen the original yet (invoice date "
            "unknown). The next sync, or a backfill from that date, books it.",
            id="original not seen, date unknown",
        ),
    ],
)
def test_a_credit_waits_while_its_original_is_pp2ebs_to_book(original, reason):
    assert map_raw(CREDIT, REF.with_original(41, original)) == Wait(reason)


def test_an_original_without_invoice_number_is_named_by_its_order_number():
    raw = build(
        [item("Cursus", "121.00")],
        payment_status="credit_invoice",
        related=[{"id": 41, "invoice_number": None, "payment_status": "credited"}],
    )
    booking = map_raw(raw, REF.with_original(41, OriginalNotBooked(GONE)))
    assert booking.description == "Plug&Pay creditfactuur 2026-00042 bij order 41"


# --- the whole path: sandbox order → flask sync → e-Boekhouden's stored booking ---------------

START = DEMO_TODAY - timedelta(days=10)  # after every demo order but the last ten days'


def _day(offset: int) -> str:
    return (START + timedelta(days=offset)).isoformat()


def customer(raw: dict, email: str, firstname: str, lastname: str, country: str = "NL") -> dict:
    contact = raw["billing"]["contact"]
    contact.update(email=email, firstname=firstname, lastname=lastname)
    raw["billing"]["address"]["country"] = country
    return raw


def original_and_credit(
    order_id: int, original_day: int, credit_day: int, rate: str = "NL:21", **who
) -> list[dict]:
    """An order and, ``order_id + 1``, its credit invoice, dated days from START."""
    number, credit_number = f"2026-{order_id:05d}", f"2026-{order_id + 1:05d}"
    original = build(
        [item("Cursus", "121.00", rate)],
        order_id=order_id,
        number=number,
        invoice_date=_day(original_day),
        payment_status="credited",
        related=[
            {
                "id": order_id + 1,
                "invoice_number": credit_number,
                "payment_status": "credit_invoice",
            }
        ],
    )
    credit = build(
        [item("Cursus", "121.00", rate)],
        order_id=order_id + 1,
        number=credit_number,
        invoice_date=_day(credit_day),
        payment_status="credit_invoice",
        related=[{"id": order_id, "invoice_number": number, "payment_status": "credited"}],
    )
    return [customer(original, **who), customer(credit, **who)]


def put_orders(sandbox, orders: list[dict]) -> None:
    sandbox.control("plugandpay", "POST", "orders", json=orders)


def booked(sandbox, number: str) -> dict | None:
    """The sales booking (type 2) of invoice ``number`` in e-Boekhouden's sandbox."""
    state = eb_state(sandbox)
    found = [m for m in state["mutations"] if m["type"] == 2 and m["invoiceNumber"] == number]
    assert len(found) <= 1, f"{number} booked twice"
    return found[0] if found else None


def relation(sandbox, relation_id: int) -> dict:
    return next(r for r in eb_state(sandbox)["relations"] if r["id"] == relation_id)


def record(app, order_id: int) -> OrderRecord | None:
    with app.app_context():
        found = db.session.execute(db.select(OrderRecord).filter_by(order_id=order_id))
        return found.scalar_one_or_none()


@pytest.fixture(params=["mutation", "invoice"])
def insertion(request):
    return request.param


@pytest.fixture
def shop(app, sandbox, insertion):
    configure(app, start_date=START.isoformat(), insertion=insertion)
    return app


MARIT = {"email": "marit@example.nl", "firstname": "Marit", "lastname": "de Vries"}


def test_credit_of_an_order_from_before_the_start_date_is_booked_on_its_own(
    shop, runner, sandbox, insertion
):
    put_orders(sandbox, original_and_credit(9101, -30, 2, **MARIT))
    result = runner.invoke(args=["sync"])
    assert result.exit_code == 0, result.output
    assert booked(sandbox, "2026-09101") is None  # the original is not pp2eb's
    credit = booked(sandbox, "2026-09102")
    assert Decimal(str(credit["totalIncl"])) == Decimal("-121.00")
    assert credit["description"] == "Plug&Pay creditfactuur 2026-09102 bij 2026-09101"
    assert [(r["vatCode"], Decimal(str(r["amount"]))) for r in credit["rows"]] == [
        ("HOOG_VERK_21", Decimal("-121.00"))
    ]
    new = relation(sandbox, credit["relationId"])  # no link, no e-mail match: a new relation
    assert (new["name"], new["emailAddress"]) == ("Marit de Vries", "marit@example.nl")
    rec = record(shop, 9102)
    assert (rec.state, rec.insertion, rec.relation_id) == ("booked", insertion, new["id"])
    if insertion == "invoice":
        invoices = eb_state(sandbox)["invoices"]
        invoice = next(i for i in invoices if i["invoiceNumber"] == "2026-09102")
        assert invoice["mutationId"] == credit["id"]


def test_credit_on_its_own_finds_the_relation_by_e_mail(shop, runner, sandbox):
    _pp, eb = clients(sandbox)
    with eb:
        known = eb.create_relation(
            {"type": "P", "name": "M. de Vries", "emailAddress": "marit@example.nl"}
        )
    put_orders(sandbox, original_and_credit(9111, -30, 2, **MARIT))
    assert runner.invoke(args=["sync"]).exit_code == 0
    assert booked(sandbox, "2026-09112")["relationId"] == known["id"]


def test_credit_on_its_own_takes_the_stored_link_of_the_customer(shop, runner, sandbox):
    later = build(
        [item("Boek", "21.80", "NL:9")], order_id=9123, number="2026-09123", invoice_date=_day(1)
    )
    put_orders(sandbox, [*original_and_credit(9121, -30, 2, **MARIT), customer(later, **MARIT)])
    assert runner.invoke(args=["sync"]).exit_code == 0
    # The later order made the link (it is booked first, by date); the credit invoice used it.
    linked = booked(sandbox, "2026-09123")["relationId"]
    assert booked(sandbox, "2026-09122")["relationId"] == linked


def test_credit_waits_while_its_original_failed_and_goes_alone_once_skipped_by_hand(
    shop, runner, sandbox, insertion
):
    # e-Boekhouden refuses the original's booking once; its credit invoice must not go first.
    fault = {"path": f"/v1/{insertion}", "method": "POST", "status": 400, "times": 1}
    sandbox.control("eboekhouden", "POST", "faults", json=fault)
    put_orders(sandbox, original_and_credit(9131, 1, 2, **MARIT))
    result = runner.invoke(args=["sync"])
    assert result.exit_code == 1 and "order 2026-09131:" in result.output
    credit = record(shop, 9132)
    assert credit.state == OrderState.WAITING
    assert credit.reason.startswith(
        "Credit invoice 2026-09132 waits for its original, order 9131 (invoice 2026-09131), "
        "to be booked; the original failed: "
    )
    assert credit.reason.endswith(
        "It follows once the original is booked, or skipped by hand if it was booked outside pp2eb."
    )
    assert booked(sandbox, "2026-09132") is None
    # The owner booked the original by hand and says so; the credit invoice then goes alone.
    with shop.app_context():
        records.skip(records.find(the_link(), 9131), "booked by hand in e-Boekhouden", "owner")
        records.make_due(records.find(the_link(), 9132))
    again = runner.invoke(args=["sync"])
    assert again.exit_code == 0, again.output
    assert Decimal(str(booked(sandbox, "2026-09132")["totalIncl"])) == Decimal("-121.00")
    assert booked(sandbox, "2026-09131") is None
    with shop.app_context():
        attempts = records.attempts(records.find(the_link(), 9132))
        assert attempts[-1].message == (
            "Booked on its own: its original, order 9131 (invoice 2026-09131), was skipped by "
            "hand (booked outside pp2eb)."
        )


def test_credit_dated_before_the_start_date_is_skipped_like_any_order(shop, runner, sandbox):
    put_orders(sandbox, original_and_credit(9141, -30, -1, **MARIT))
    assert runner.invoke(args=["sync"]).exit_code == 0
    assert record(shop, 9142) is None and record(shop, 9141) is None
    assert booked(sandbox, "2026-09142") is None


def test_an_unpaid_original_credited_later_is_looked_at_again_and_booked_first(
    shop, runner, sandbox
):
    with shop.app_context():
        shopsettings.save_draft(the_link(), {"orders": "paid"})
    # The second sync lists only the credit invoice (of the last two days), not the original.
    original, credit = original_and_credit(9151, 1, 9, **MARIT)
    unpaid = {
        **original,
        "payment": {**original["payment"], "status": "open", "paid_at": None},
        "related_orders": [],
    }
    put_orders(sandbox, [unpaid])
    runner.invoke(args=["sync"])
    assert record(shop, 9151).state == OrderState.SKIPPED
    put_orders(sandbox, [original, credit])  # credited: the original counts as paid now
    assert runner.invoke(args=["sync"]).exit_code == 0
    first, second = booked(sandbox, "2026-09151"), booked(sandbox, "2026-09152")
    assert second["relationId"] == first["relationId"]
    assert second["description"] == "Plug&Pay creditfactuur 2026-09152 bij 2026-09151"


def test_the_dry_run_shows_a_credit_on_its_own_and_writes_nothing(shop, runner, sandbox):
    put_orders(sandbox, original_and_credit(9161, -30, 2, **MARIT))
    result = runner.invoke(args=["backfill", "--since", START.isoformat(), "--dry-run"])
    assert result.exit_code == 0, result.output
    shown = result.output[result.output.index("order 9162") :]
    assert "2026-09162" in shown.splitlines()[1] and "new relation: Marit de Vries" in shown
    assert booked(sandbox, "2026-09162") is None and record(shop, 9162) is None
