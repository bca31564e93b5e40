"""The states and a run's counters are defined once (``pp2eb.states``), and the rest uses them."""

from __future__ import annotations

import ast
import dataclasses
import re
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import render_template_string
from flask_babel import force_locale

from pp2eb.engine import runlog, runstate
from pp2eb.engine.runstate import RunResult, RunState
from pp2eb.engine.sync import run_once
from pp2eb.extensions import db
from pp2eb.models import SyncRun, utcnow
from pp2eb.reports import records
from pp2eb.setup import shopsettings
from pp2eb.states import (
    ORDER_FILTERS,
    RUN_COUNTS,
    AttemptOutcome,
    OrderState,
    PaymentState,
    Role,
    RunCount,
    RunStatus,
    payment_label,
    state_label,
)
from tests.engine_helpers import clients, configure, store, the_link

ROOT = Path(__file__).resolve().parents[1]
ENUMS = (OrderState, PaymentState, AttemptOutcome, RunStatus, RunCount, Role)
# Each column that holds a state, with its enum.
COLUMNS = {
    ("order_record", "state"): OrderState,
    ("order_record", "payment_state"): PaymentState,
    ("attempt", "outcome"): AttemptOutcome,
    ("sync_run", "status"): RunStatus,
}


def test_the_stored_strings_are_the_ones_in_the_databases_out_there():
    # A value changed here no longer matches the rows already stored: that needs a migration.
    values = {enum: {member.value for member in enum} for enum in ENUMS}
    assert values == {
        OrderState: {"new", "skipped", "booking", "booked", "failed", "waiting"},
        PaymentState: {"none", "booking", "booked", "failed", "skipped"},
        AttemptOutcome: {
            "booked",
            "skipped",
            "failed",
            "waiting",
            "booking",
            "payment_booked",
            "payment_failed",
            "payment_skipped",
            "payment_unconfirmed",
            "vat_check",
        },
        RunStatus: {"running", "finished", "aborted", "busy"},
        RunCount: {"booked", "skipped", "failed", "waiting", "already_booked"},
        Role: {"admin", "member"},
    }


def test_every_state_a_demo_sync_stores_is_a_member_of_its_enum(app, sandbox):
    configure(app)
    with app.app_context():
        pp, eb = clients(sandbox)
        with eb:
            run_once(pp, eb, store(), shopsettings.load(the_link()), sleep=lambda s: None)
        failed = (
            db.session.execute(
                sa.select(sa.text("order_id"))
                .select_from(sa.text("order_record"))
                .where(sa.text("state = 'failed'"))
            )
            .scalars()
            .first()
        )
        records.skip(records.find(the_link(), failed), "booked by hand", "owner")
        # Payments on, and a payment write whose answer is lost: an unconfirmed payment.
        shopsettings.save_draft(
            the_link(),
            {"book_payments": True, "payment_ledgers": {"mollie": "1650", "stripe": "1660"}},
        )
        sandbox.control(
            "eboekhouden",
            "POST",
            "faults",
            json=[
                {"path": "/v1/mutation", "method": "POST", "status": 500, "after_write": True},
                {"path": "/v1/mutation", "method": "GET", "status": 500, "times": 5},
            ],
        )
        later = utcnow() + timedelta(hours=1)
        pp, eb = clients(sandbox)
        with eb:
            run_once(
                pp, eb, store(), shopsettings.load(the_link()), order_ids=[1], clock=lambda: later
            )
        stored = {
            (table, column): set(
                db.session.execute(sa.text(f"SELECT DISTINCT {column} FROM {table}")).scalars()
            )
            for table, column in COLUMNS
        }
    for (table, column), enum in COLUMNS.items():
        found = stored[table, column]
        assert found, (table, column)
        assert all(type(value) is str for value in found)  # stored as the plain string
        assert found <= {member.value for member in enum}, (table, column, found)
    # The sync reached enough states for the check to mean something.
    assert {"booked", "skipped", "failed"} <= stored["order_record", "state"]
    assert {"none", "booking"} <= stored["order_record", "payment_state"]
    assert {"booked", "skipped", "failed", "payment_unconfirmed"} <= stored["attempt", "outcome"]
    assert stored["sync_run", "status"] == {"finished"}


# A template compares a state with a string: `== 'booked'`, `!= 'none'`, `in ('failed', ...)`,
# or names a filter with one (`state='failed'`).
_VALUES = "|".join(sorted({member.value for enum in ENUMS for member in enum}, key=len)[::-1])
_LITERAL_STATE = re.compile(
    rf"""(==|!=|\bstate=)\s*['"]({_VALUES})['"]"""
    rf"""|\bin\s*\(\s*['"]({_VALUES})['"]"""
)


def test_templates_compare_states_with_the_enums_not_with_strings():
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in sorted((ROOT / "templates").rglob("*.html"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if _LITERAL_STATE.search(line)
    ]
    assert not found, "compare with OrderState.BOOKED and the like:\n" + "\n".join(found)


def test_the_pattern_finds_what_templates_used_to_write():
    for line in (
        "{% if run.status == 'aborted' %}",
        "{% if rec.payment_state != 'none' %}",
        "{% if rec.payment_state in ('failed', 'booking') %}",
        "url_for('dashboard.orders', state='failed')",
    ):
        assert _LITERAL_STATE.search(line), line
    assert not _LITERAL_STATE.search("{% if category == 'error' %}")


# Strings in pp2eb's code that spell a state's value but mean something else.
NOT_STATES = {
    ("pp2eb/alerts/dispatch.py", "aborted"),  # the problem key of an alert (``AlertSent``)
    ("pp2eb/alerts/mail.py", "none"),  # SMTP without TLS
    ("pp2eb/models.py", "none"),  # the same, as ``AlertSettings.NONE``
    ("pp2eb/mapping/figures.py", "none"),  # Plug&Pay's tax_exempt flag
    ("pp2eb/mapping/booking.py", "skipped"),  # how a credit invoice's original stands
    ("pp2eb/engine/originals.py", "failed"),  # the same, in the words of a reason
}


def test_no_module_spells_a_state_as_a_string():
    values = {member.value for enum in ENUMS for member in enum}
    found = set()
    for path in sorted((ROOT / "pp2eb").rglob("*.py")):
        name = path.relative_to(ROOT).as_posix()
        if name == "pp2eb/states.py" or name.startswith(("pp2eb/migrations/", "pp2eb/sandbox/")):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and node.value in values:
                found.add((name, node.value))
    assert found == NOT_STATES


def test_every_state_and_counter_has_its_words_in_english_and_dutch(app):
    labelled = [*OrderState, *PaymentState, *AttemptOutcome, *RunCount, *Role]
    labelled += [RunStatus.RUNNING, RunStatus.FINISHED, RunStatus.ABORTED]
    with app.test_request_context():
        english = [member.label for member in labelled]
        with force_locale("nl"):
            dutch = [member.label for member in labelled]
    assert all(english) and all(dutch)
    assert not {word for word in english if word in dutch}  # every label is translated
    assert english[: len(OrderState)] == [
        "new",
        "skipped",
        "being booked",
        "booked",
        "failed",
        "waiting",
    ]
    assert RunCount.ALREADY_BOOKED.label == "already booked"
    assert RunCount.ALREADY_BOOKED.words == "already booked"
    assert [dutch[labelled.index(role)] for role in Role] == ["beheerder", "lid"]


def test_the_label_filters_read_the_enums_and_keep_an_unknown_value():
    assert state_label("booking") == OrderState.BOOKING.label == "being booked"
    assert state_label("payment_unconfirmed") == AttemptOutcome.PAYMENT_UNCONFIRMED.label
    assert state_label("vat_check") == "VAT differs"
    assert payment_label("none") == payment_label("skipped") == "not booked"
    assert state_label("something else") == "something else"
    assert payment_label("something else") == "something else"


def test_templates_get_the_enums_and_the_label_filters(app):
    with app.test_request_context():
        html = render_template_string(
            "{{ OrderState.BOOKED == 'booked' }} {{ RunStatus.ABORTED.label }} "
            "{{ 'payment_failed'|state_label }} {{ 'booking'|payment_label }} "
            "{% for name in ORDER_FILTERS %}{{ name }}={{ name.label }};{% endfor %}"
        )
    assert html == (
        "True stopped payment failed being booked "
        "failed=failed;waiting=waiting;booked=booked;skipped=skipped;"
    )


def test_the_order_filters_count_every_state_once():
    grouped = [state for group in ORDER_FILTERS.values() for state in group]
    assert sorted(grouped) == sorted(OrderState)
    assert all(name in group for name, group in ORDER_FILTERS.items())


# --- a run's counters ---


def test_the_run_log_and_the_run_state_use_the_one_list_of_counters():
    assert RUN_COUNTS == tuple(RunCount)
    assert runlog.RUN_COUNTS is RUN_COUNTS and runstate.RUN_COUNTS is RUN_COUNTS


def test_every_counter_is_a_column_of_a_run_and_a_field_of_its_result():
    columns = SyncRun.__table__.columns
    fields = {field.name: field for field in dataclasses.fields(RunResult)}
    for count in RunCount:
        assert isinstance(columns[count].type, sa.Integer), count
        assert fields[count].type == "int" and fields[count].default == 0, count


@pytest.mark.parametrize("count", list(RunCount))
def test_a_runs_result_and_its_end_carry_every_counter(app, count):
    with app.app_context():
        log = runlog.RunLog(db.session, the_link().id)
        now = utcnow()
        run = log.start_run("sync", now)
        setattr(run, count, 7)
        state = RunState(log, run, "test-holder", lambda: now, lambda s: None)
        state.finish(RunStatus.FINISHED, None)
        result = state.result()
        saved = db.session.get(SyncRun, run.id)
        db.session.refresh(saved)
    assert result.status is RunStatus.FINISHED and saved.status == "finished"
    assert getattr(result, count) == getattr(saved, count) == 7
    assert sum(getattr(result, other) for other in RunCount) == 7
