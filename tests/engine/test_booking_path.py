"""One path from a raw order to the request body: a run and the dry run take the same steps.

Where the dry run used to go its own way: the customer shown for a customer with no name (a run
shows the e-mail address), and an order a person skipped (a run leaves it alone). Orders without
an invoice number, booked under their order number, go the same way too.
"""

from __future__ import annotations

import ast
from datetime import date
from pathlib import Path

import pytest

from pp2eb import jsonutil
from pp2eb.engine import booking_path
from pp2eb.engine.preview import Preview, Summary, dry_run
from pp2eb.engine.store import Store
from pp2eb.engine.sync import backfill_orders
from pp2eb.extensions import db
from pp2eb.reports import records
from pp2eb.runs import jobs
from tests.engine.test_credits import START, _day, booked, put_orders, record
from tests.engine_helpers import clients, configure, the_link
from tests.mapping.test_order import build, item


def _order(order_id: int, day: int, *, number: str | None, email: str, **names) -> dict:
    raw = build(
        [item("Cursus", "121.00"), item("Boek", "21.80", "NL:9")],
        order_id=order_id,
        number=number,
        invoice_date=_day(day),
        **names,
    )
    raw["billing"]["contact"]["email"] = email
    return raw


NAMELESS = _order(
    9201, 1, number="2026-09201", email="naamloos@example.nl", firstname="", lastname=""
)
NUMBERLESS = _order(9202, 1, number=None, email="zondernummer@example.nl")
BY_HAND = _order(9203, 2, number="2026-09203", email="handwerk@example.nl")


def _dry_run(app, since: date, until: date) -> dict[int, Preview]:
    """The dry run as ``flask backfill --dry-run`` and the export page make it."""
    with app.app_context():
        pp, eb = jobs.build_clients(the_link())
        settings = jobs.load_settings(the_link())
        with eb:
            orders = backfill_orders(pp, since, until)
            items = dry_run(pp, eb, Store(db.session, the_link().id), settings, orders)
            return {item.order_id: item for item in items}


@pytest.mark.parametrize("insertion", ["mutation", "invoice"])
def test_the_dry_run_shows_the_body_a_run_sends(app, runner, sandbox, insertion):
    configure(app, start_date=START.isoformat(), reference="order_number", insertion=insertion)
    put_orders(sandbox, [NAMELESS, NUMBERLESS, BY_HAND])
    _pp, eb = clients(sandbox)
    with eb:  # customers e-Boekhouden knows already: the dry run knows their relation too
        for email in ("naamloos@example.nl", "zondernummer@example.nl"):
            eb.create_relation({"type": "P", "name": email, "emailAddress": email})
    with app.app_context():  # a person skipped an order pp2eb had seen
        rec = Store(db.session, the_link().id).record(9203)
        db.session.add(rec)
        db.session.flush()
        records.skip(rec, "booked by hand", "owner")
    until = date.fromisoformat(_day(2))

    shown = _dry_run(app, START, until)
    result = runner.invoke(args=["backfill", "--since", START.isoformat(), "--until", _day(2)])
    assert result.exit_code == 0, result.output

    for order_id in (9201, 9202):
        rec, item = record(app, order_id), shown[order_id]
        assert rec.state == "booked", rec.reason
        assert item.body["relationId"] == rec.relation_id  # found in both, not made
        assert jsonutil.loads(jsonutil.dumps(item.body)) == jsonutil.loads(rec.booking_json)
        assert (item.number, item.date, item.customer) == (
            rec.invoice_number,
            rec.invoice_date,
            rec.customer,
        )
    assert shown[9201].customer == "naamloos@example.nl"  # no name: the e-mail address
    assert shown[9202].number is None and shown[9202].body["invoiceNumber"] == "9202"
    # Skipped by hand: no booking in the dry run, and the run leaves it alone.
    by_hand = shown[9203]
    assert (by_hand.booking, by_hand.body) == (None, None)
    assert by_hand.skip == "Skipped by owner: booked by hand"
    summary = Summary()
    summary.add(by_hand)
    assert (summary.to_book, summary.skipped) == (0, 1)
    assert record(app, 9203).state == "skipped" and booked(sandbox, "9203") is None


@pytest.mark.parametrize(
    ("raw", "order_id", "shown"),
    [
        pytest.param({"invoice_number": "X"}, None, {}, id="no id"),
        pytest.param(
            {"id": 7, "invoice_number": 12345, "invoice_date": "2026-02-03T10:00:00"},
            7,
            # An order pp2eb cannot read adds nothing to the OSS threshold.
            {
                "invoice_number": "12345",
                "invoice_date": "2026-02-03",
                "eu_sale_country": "",
                "eu_sale_net": None,
            },
            id="unreadable",
        ),
        pytest.param(
            NAMELESS,
            9201,
            {
                "invoice_number": "2026-09201",
                "invoice_date": _day(1),
                "customer": "naamloos@example.nl",
                "email": "naamloos@example.nl",
                "amount_with_tax": "142.80",
                "eu_sale_country": "",  # a Dutch consumer: not a sale abroad
                "eu_sale_net": None,
            },
            id="a customer without a name",
        ),
    ],
)
def test_reading_an_order_keeps_what_its_record_shows(raw, order_id, shown):
    reading = booking_path.read(raw)
    assert (reading.order_id, reading.shown) == (order_id, shown)
    assert (reading.order is None) == (reading.problem is not None)
    if order_id is None:
        assert reading.problem.reason == booking_path.NO_ID


def test_outside_the_mapper_only_the_booking_path_maps_an_order_and_builds_its_body():
    path_steps = {"map_order", "to_invoice_payload", "to_mutation_payload"}
    package = Path(booking_path.__file__).resolve().parent.parent
    users = set()
    for path in package.rglob("*.py"):
        if path.parent.name == "mapping":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = {a.name for a in node.names} if isinstance(node, ast.ImportFrom) else set()
            if isinstance(node, ast.Attribute):
                names = {node.attr}
            if names & path_steps:
                users.add(path.relative_to(package).as_posix())
    assert users == {"engine/booking_path.py"}
