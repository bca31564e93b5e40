"""``flask sync``, ``flask backfill``, ``flask orders show`` and ``flask settings``."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from pp2eb.cli.booking import _counts
from pp2eb.engine.runstate import RunResult
from pp2eb.extensions import db
from pp2eb.mapping.settings import USUAL_CODES
from pp2eb.models import Attempt, OrderRecord
from pp2eb.sandbox import EBOEKHOUDEN_TOKEN, PLUGANDPAY_KEY
from pp2eb.setup import connections, shopsettings
from pp2eb.states import OrderState, RunStatus
from tests.engine_helpers import (
    DEMO_REFUSED,
    SETTINGS,
    assert_exactly_once,
    clients,
    configure,
    eb_state,
    the_link,
)


@pytest.fixture
def ready(app, sandbox):
    configure(app)
    return app


def test_sync_prints_counts_and_failures_and_exits_1(ready, runner, sandbox):
    result = runner.invoke(args=["sync"])
    assert result.exit_code == 1
    first_line = result.output.splitlines()[0]
    assert first_line.startswith("booked ") and f"failed {DEMO_REFUSED}" in first_line
    assert "order 2026-00031: Order 31 to a consumer in DE" in result.output
    # Nothing new and nothing due: exit 0.
    again = runner.invoke(args=["sync"])
    assert again.exit_code == 0, again.output
    assert again.output.startswith("booked 0, skipped")


@pytest.mark.parametrize(
    "figures, line",
    [
        ({}, "booked 0, skipped 0, failed 0"),
        (
            dict(booked=1, skipped=2, failed=3, waiting=4, already_booked=5, payments_failed=6),
            "booked 1, skipped 2, failed 3, waiting 4, already booked 5, payments failed 6",
        ),
        (dict(already_booked=5), "booked 0, skipped 0, failed 0, already booked 5"),
    ],
    ids=["nothing", "every counter", "only the already booked"],
)
def test_the_counts_line_follows_the_run_counters(figures, line):
    assert _counts(RunResult(status=RunStatus.FINISHED, **figures)) == line


def test_sync_before_setup_says_what_is_missing(app, runner, sandbox):
    result = runner.invoke(args=["sync"])
    assert result.exit_code == 1
    assert "Connect Plug&Pay and e-Boekhouden.nl first" in result.output


def test_backfill_dry_run_writes_nothing(ready, runner, sandbox):
    result = runner.invoke(args=["backfill", "--since", SETTINGS["start_date"], "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "mutation 2026-" in result.output and "HOOG_VERK_21" in result.output
    assert "(ok)" in result.output and "new relation:" in result.output
    assert "to book" in result.output and "VAT code AFST_VERK" in result.output
    assert eb_state(sandbox)["mutations"] == []
    with ready.app_context():
        assert db.session.execute(db.select(OrderRecord)).first() is None


def test_backfill_books_once_even_when_run_twice(ready, runner, sandbox):
    first = runner.invoke(args=["backfill", "--since", SETTINGS["start_date"]])
    booked = int(first.output.split(",")[0].split()[1])
    second = runner.invoke(args=["backfill", "--since", SETTINGS["start_date"]])
    assert second.output.startswith("booked 0,")
    assert f"already booked {booked}" in second.output
    assert_exactly_once(sandbox, booked)


def test_backfill_until_limits_the_range(ready, runner, sandbox):
    pp, _ = clients(sandbox)
    first = next(pp.iter_orders(sort="invoice_date", direction="asc", invoice_status="final"))
    day = first["invoice_date"]
    expected = sum(1 for _ in pp.iter_orders(since_invoice_date=day, until_invoice_date=day))
    result = runner.invoke(args=["backfill", "--since", day, "--until", day, "--dry-run"])
    assert f"\n{expected} orders: " in result.output
    assert result.output.count("\norder ") + result.output.startswith("order ") == expected


def test_orders_show(ready, runner, sandbox):
    runner.invoke(args=["sync"])
    shown = runner.invoke(args=["orders", "show", "1"])
    assert shown.exit_code == 0, shown.output
    assert "State: booked (e-Boekhouden mutation" in shown.output
    assert '"paymentReference": "pp2eb-1"' in shown.output
    assert "booked: Booked." in shown.output
    failed = runner.invoke(args=["orders", "show", "31"])
    assert "State: failed" in failed.output and "What to do:" in failed.output
    assert runner.invoke(args=["orders", "show", "424242"]).exit_code == 1


def test_orders_show_gives_the_attempts_in_dutch_time(app, runner):
    with app.app_context():
        rec = OrderRecord(
            link_id=the_link().id,
            order_id=7,
            state=OrderState.FAILED,
            reason="The VAT code is gone.",
        )
        db.session.add(rec)
        db.session.flush()
        for at in (datetime(2026, 12, 31, 23, 30, 5), datetime(2027, 7, 1, 10, 5, 9)):
            db.session.add(Attempt(order_record_id=rec.id, at=at, outcome="failed"))
        db.session.commit()
    shown = runner.invoke(args=["orders", "show", "7"])
    assert shown.exit_code == 0, shown.output
    assert "  01-01-2027 00:30:05 CET failed: " in shown.output
    assert "  01-07-2027 12:05:09 CEST failed: " in shown.output
    assert "UTC" not in shown.output


def test_settings_export_and_import_round_trip(ready, runner, sandbox, tmp_path):
    exported = runner.invoke(args=["settings", "export"])
    data = json.loads(exported.output)
    assert data["debtor_ledger"] == "1300" and data["oss_ledgers"]["DE"] == "1641"
    data["shipping_ledger"] = "8020"
    path = tmp_path / "settings.json"
    path.write_text(json.dumps(data))
    result = runner.invoke(args=["settings", "import", str(path)])
    assert result.exit_code == 0, result.output
    with ready.app_context():
        assert shopsettings.load(the_link()).shipping_ledger == "8020"


def test_settings_import_names_every_problem(ready, runner, sandbox, tmp_path):
    data = {**SETTINGS, "debtor_ledger": "8000", "revenue_ledger": "9999", "colour": "red"}
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    result = runner.invoke(args=["settings", "import", str(path)])
    assert result.exit_code == 1
    assert "Unknown setting 'colour'" in result.output
    del data["colour"]
    path.write_text(json.dumps(data))
    result = runner.invoke(args=["settings", "import", str(path)])
    assert result.exit_code == 1
    assert "debtor_ledger: ledger 8000" in result.output and "DEB" in result.output
    assert "revenue_ledger: ledger 9999 does not exist" in result.output
    path.write_text("{not json")
    assert "is not valid JSON" in runner.invoke(args=["settings", "import", str(path)]).output


def test_a_file_without_the_rounding_ledger_imports_where_8090_does_not_exist(
    app, runner, sandbox, tmp_path
):
    sandbox.control("eboekhouden", "POST", "config", json={"remove_ledgers": ["8090"]})
    with app.app_context():
        connections.connect(the_link(), "plugandpay", PLUGANDPAY_KEY)
        connections.connect(the_link(), "eboekhouden", EBOEKHOUDEN_TOKEN)
    # The file names none of the usual codes: those the administration has are taken.
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({k: v for k, v in SETTINGS.items() if k not in USUAL_CODES}))

    result = runner.invoke(args=["settings", "import", str(path)])

    assert result.exit_code == 0, result.output
    with app.app_context():
        settings = shopsettings.load(the_link())
    assert (settings.debtor_ledger, settings.revenue_ledger) == ("1300", "8000")
    assert (settings.shipping_ledger, settings.rounding_ledger) == ("8050", None)
    synced = runner.invoke(args=["sync"])
    assert "Finish the set-up first" not in synced.output
    failures = [line for line in synced.output.splitlines() if line.startswith("  order ")]
    assert len(failures) > DEMO_REFUSED
    assert all("OSS" in line or "(setting rounding_ledger)" in line for line in failures)
    # Once the owner chooses the rounding ledger, a backfill books the orders that needed it.
    path.write_text(json.dumps({**json.loads(path.read_text()), "rounding_ledger": "8000"}))
    assert runner.invoke(args=["settings", "import", str(path)]).exit_code == 0
    again = runner.invoke(args=["backfill", "--since", SETTINGS["start_date"]])
    assert f"failed {DEMO_REFUSED}," in again.output.splitlines()[0]


def test_an_import_refuses_for_what_the_file_names_and_what_is_required(
    app, runner, sandbox, tmp_path
):
    sandbox.control("eboekhouden", "POST", "config", json={"remove_ledgers": ["1300", "8090"]})
    configure(app)
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"start_date": "2026-01-01", "rounding_ledger": "8090"}))

    result = runner.invoke(args=["settings", "import", str(path)])

    assert result.exit_code == 1
    assert "debtor_ledger: missing" in result.output
    path.write_text(json.dumps({"start_date": "2026-01-01", "debtor_ledger": "1300"}))
    result = runner.invoke(args=["settings", "import", str(path)])
    assert result.exit_code == 1
    assert "debtor_ledger: ledger 1300 does not exist in e-Boekhouden." in result.output


@pytest.mark.parametrize(
    "args", [["settings", "import", "FILE"], ["backfill", "--since", "2026-01-01", "--dry-run"]]
)
def test_eboekhouden_down_is_one_line_not_a_traceback(ready, runner, sandbox, tmp_path, args):
    path = tmp_path / "settings.json"
    path.write_text(json.dumps(SETTINGS))
    fault = {"path": "/v1/ledger", "status": 503, "times": None}
    sandbox.control("eboekhouden", "POST", "faults", json=fault)
    result = runner.invoke(args=[str(path) if arg == "FILE" else arg for arg in args])
    assert result.exit_code == 1
    assert result.output.startswith("Error: e-Boekhouden")
    assert len(result.output.strip().splitlines()) == 1, result.output
    assert "Traceback" not in result.output and result.exception.__class__ is SystemExit


def test_dry_run_finds_known_customers_without_a_read_each(ready, runner, sandbox):
    pp, eb = clients(sandbox)
    orders = list(pp.iter_orders(since_invoice_date=SETTINGS["start_date"]))
    emails = {o["billing"]["contact"]["email"] for o in orders if o["billing"]["contact"]["email"]}
    known = sorted(emails)[0]
    with eb:
        made = eb.create_relation({"type": "P", "name": "Already here", "emailAddress": known})
    sandbox.control("eboekhouden", "DELETE", "/stats")

    result = runner.invoke(args=["backfill", "--since", SETTINGS["start_date"], "--dry-run"])

    assert result.exit_code == 0, result.output
    assert f"relation {made['id']} (" in result.output and "already known" in result.output
    stats = sandbox.control("eboekhouden", "GET", "/stats").json()
    by_email = sum(n for call, n in stats.items() if call.startswith("GET /v1/relation"))
    # One listing of the relations and one detail read of the one pp2eb had not seen: not one
    # read per new customer.
    assert by_email <= 3, stats
    assert len(emails) > 10


def test_settings_export_and_import_carry_the_payment_settings(ready, runner, sandbox, tmp_path):
    data = json.loads(runner.invoke(args=["settings", "export"]).output)
    assert data["book_payments"] is False and data["payment_ledgers"] == {}
    assert data["payments_from"] is None and data["payment_fallback_ledger"] is None
    data |= {"book_payments": True, "payments_from": "2026-06-01"}
    data |= {"payment_ledgers": {"mollie": "1650", "stripe": "1300"}}
    path = tmp_path / "settings.json"
    path.write_text(json.dumps(data))
    refused = runner.invoke(args=["settings", "import", str(path)])
    assert refused.exit_code == 1
    assert "payment_ledgers[stripe]: ledger 1300 (Debiteuren) has category DEB" in refused.output
    data["payment_ledgers"]["stripe"] = "1660"
    data["payment_fallback_ledger"] = "1100"
    path.write_text(json.dumps(data))
    result = runner.invoke(args=["settings", "import", str(path)])
    assert result.exit_code == 0, result.output
    again = json.loads(runner.invoke(args=["settings", "export"]).output)
    assert {key: again[key] for key in data} == data
    with ready.app_context():
        settings = shopsettings.load(the_link())
    assert settings.book_payments and settings.payment_fallback_ledger == "1100"
    assert settings.payment_ledgers == {"mollie": "1650", "stripe": "1660"}
