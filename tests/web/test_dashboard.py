"""The dashboard, "Sync now", the order page with retry and skip, and the export."""

from __future__ import annotations

from datetime import datetime

import pytest

from pp2eb.extensions import db
from pp2eb.models import Attempt, Credential, OrderRecord, SyncRun
from pp2eb.setup import lookups
from pp2eb.states import OrderState, RunStatus
from tests.conftest import csrf_token
from tests.engine_helpers import DEMO_REFUSED, SETTINGS, assert_exactly_once, configure, the_link


@pytest.fixture
def ready(app, sandbox, client, auth):
    configure(app)
    auth.login()
    return client


def wait_for_background(app) -> None:
    for thread in app.extensions.get("pp2eb_threads", []):
        thread.join(timeout=60)
        assert not thread.is_alive()


def sync_now(app, client, htmx=True):
    token = csrf_token(client, "/")
    headers = {"HX-Request": "true"} if htmx else {}
    resp = client.post("/runs/sync", data={"csrf_token": token}, headers=headers)
    wait_for_background(app)
    return resp


def test_sync_now_answers_with_a_polling_fragment_and_books(app, ready, sandbox):
    resp = sync_now(app, ready)
    html = resp.get_data(as_text=True)
    assert not html.lstrip().startswith("<!doctype")
    assert 'id="run-status"' in html and 'hx-trigger="every 1s"' in html
    assert "/runs/latest?after=0" in html
    # The poll sees the finished run and asks for a reload of the page.
    poll = ready.get("/runs/latest?after=0", headers={"HX-Request": "true"})
    assert poll.headers.get("HX-Refresh") == "true"
    assert f"failed {DEMO_REFUSED}" in poll.get_data(as_text=True)
    with app.app_context():
        run = db.session.execute(db.select(SyncRun)).scalar_one()
        assert run.status == RunStatus.FINISHED and run.booked > 40
    assert_exactly_once(sandbox, run.booked)


def test_poll_before_the_run_exists_keeps_waiting(app, ready):
    resp = ready.get("/runs/latest?after=0", headers={"HX-Request": "true"})
    assert "HX-Refresh" not in resp.headers
    assert "Starting" in resp.get_data(as_text=True)


def test_sync_now_without_csrf_is_refused(app, ready):
    resp = ready.post("/runs/sync", headers={"HX-Request": "true"})
    assert resp.status_code == 400


def test_dashboard_shows_counts_runs_and_schedule(app, ready):
    sync_now(app, ready)
    html = ready.get("/").get_data(as_text=True)
    assert f"<strong>{DEMO_REFUSED}</strong> failed" in html
    assert "Next sync" in html
    assert "Recent runs" in html and "Sync" in html
    token = csrf_token(ready, "/")
    ready.post("/schedule/pause", data={"csrf_token": token})
    html = ready.get("/").get_data(as_text=True)
    assert "Paused" in html and "Resume" in html
    ready.post("/schedule/resume", data={"csrf_token": token})
    assert "Next sync" in ready.get("/").get_data(as_text=True)


def test_orders_list_filters_and_search(app, ready):
    sync_now(app, ready)
    failed = ready.get("/orders?state=failed").get_data(as_text=True)
    assert failed.count('class="state-failed"') == DEMO_REFUSED
    assert 'class="state-booked"' not in failed
    found = ready.get("/orders?q=2026-00031").get_data(as_text=True)
    assert "/orders/31" in found and '/orders/1"' not in found
    fragment = ready.get("/orders?q=Sch%C3%A4fer", headers={"HX-Request": "true"})
    html = fragment.get_data(as_text=True)
    assert html.lstrip().startswith('<div id="orders">') and "Schäfer" in html


def test_order_page_shows_booking_attempts_and_explanation(app, ready):
    sync_now(app, ready)
    booked = ready.get("/orders/1").get_data(as_text=True)
    assert "Booking sent to e-Boekhouden" in booked and "equals Plug&Pay ✓" in booked
    assert "1300 — Debiteuren" in booked
    failed = ready.get("/orders/31").get_data(as_text=True)
    assert "What to do" in failed and "OSS" in failed
    assert "Retry now" in failed and "Skip with a reason" in failed
    assert ready.get("/orders/999999").status_code == 404


DEBTORS_ID = 22206400  # the sandbox's ledger 1300 Debiteuren


def test_order_page_renders_with_e_boekhouden_unreachable(app, ready):
    sync_now(app, ready)
    with app.app_context():
        credential = db.session.execute(
            db.select(Credential).filter_by(service=Credential.EBOEKHOUDEN)
        ).scalar_one()
        credential.base_url = "http://127.0.0.1:9/v1"  # nothing listens there
        db.session.commit()
    lookups.clear()
    resp = ready.get("/orders/1")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert "Booking sent to e-Boekhouden" in html and "equals Plug&Pay ✓" in html
    assert "1300 — Debiteuren" not in html
    assert f"Debtor ledger: {DEBTORS_ID}</p>" in html  # the bare id


def test_order_page_looks_the_ledgers_up_once_before_rendering(app, ready, sandbox):
    sync_now(app, ready)
    lookups.clear()
    sandbox.control(
        "eboekhouden", "POST", "faults", json={"path": "/v1/ledger", "status": 500, "times": 20}
    )
    sandbox.control("eboekhouden", "DELETE", "stats")
    html = ready.get("/orders/1").get_data(as_text=True)
    assert "Booking sent to e-Boekhouden" in html and f"Debtor ledger: {DEBTORS_ID}</p>" in html
    # One look-up for every ledger on the page (its tries), not one per ledger shown.
    asked = sandbox.control("eboekhouden", "GET", "stats").json().get("GET /v1/ledger")
    assert asked == lookups.MAX_ATTEMPTS
    assert "ledger_label" not in app.jinja_env.globals


def test_skip_with_a_reason_sticks_and_retry_undoes_it(app, ready, sandbox):
    sync_now(app, ready)
    token = csrf_token(ready, "/orders/31")
    html = ready.post(
        "/orders/31/skip", data={"csrf_token": token, "reason": ""}, follow_redirects=True
    ).get_data(as_text=True)
    assert "Give a reason" in html
    ready.post("/orders/31/skip", data={"csrf_token": token, "reason": "geboekt door accountant"})
    with app.app_context():
        rec = db.session.execute(db.select(OrderRecord).filter_by(order_id=31)).scalar_one()
        assert rec.state == OrderState.SKIPPED and rec.skipped_by_hand
        assert "owner: geboekt door accountant" in rec.reason
    # A backfill leaves an order skipped by hand alone.
    with app.app_context():
        from pp2eb.runs import jobs

        jobs.run(
            "backfill",
            link=the_link(),
            since=__import__("datetime").date.fromisoformat(SETTINGS["start_date"]),
        )
        rec = db.session.execute(db.select(OrderRecord).filter_by(order_id=31)).scalar_one()
        assert rec.state == OrderState.SKIPPED
    ready.post("/orders/31/retry", data={"csrf_token": token})
    wait_for_background(app)
    with app.app_context():
        rec = db.session.execute(db.select(OrderRecord).filter_by(order_id=31)).scalar_one()
        assert rec.state == OrderState.FAILED and not rec.skipped_by_hand


def test_a_booked_order_cannot_be_skipped(app, ready):
    sync_now(app, ready)
    token = csrf_token(ready, "/orders/1")
    html = ready.post(
        "/orders/1/skip", data={"csrf_token": token, "reason": "x"}, follow_redirects=True
    ).get_data(as_text=True)
    assert "cannot be skipped" in html


def test_export_preview_then_confirm_books_in_the_background(app, ready, sandbox):
    token = csrf_token(ready, "/export")
    data = {"csrf_token": token, "since": SETTINGS["start_date"], "until": ""}
    html = ready.post("/export", data=data).get_data(as_text=True)
    assert "orders in this period" in html and "Problems found" in html
    assert "HOOG_VERK_21" in html and "8010 Omzet cursussen" in html
    from tests.engine_helpers import eb_state

    assert eb_state(sandbox)["mutations"] == []  # the preview wrote nothing
    resp = ready.post("/export", data={**data, "confirm": "yes", "expected": "59"})
    assert resp.status_code == 302
    wait_for_background(app)
    progress = ready.get("/export/progress", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert progress.lstrip().startswith('<div id="export-progress"')
    assert "of 59 orders" in progress and "done" in progress
    with app.app_context():
        run = db.session.execute(db.select(SyncRun)).scalar_one()
        assert run.kind == "backfill" and run.booked > 40
    assert_exactly_once(sandbox, run.booked)


def test_export_date_range_is_validated(app, ready):
    token = csrf_token(ready, "/export")
    html = ready.post(
        "/export", data={"csrf_token": token, "since": "2026-05-01", "until": "2026-04-01"}
    ).get_data(as_text=True)
    assert "The end date lies before the start date." in html


def test_runs_page_lists_every_run_with_its_figures(app, ready):
    sync_now(app, ready)
    sync_now(app, ready)
    html = ready.get("/runs").get_data(as_text=True)
    assert html.count('class="run-finished"') == 2
    assert f'<a href="/orders?state=failed">{DEMO_REFUSED}</a>' in html


def test_dutch_dashboard(app, ready):
    sync_now(app, ready)
    html = ready.get("/?lang=nl").get_data(as_text=True)
    assert 'lang="nl"' in html and "Nu synchroniseren" in html
    # The account is stored as figures and put into words in the reader's language.
    assert "administratie met 23 grootboekrekeningen en 1 factuursjabloon" in html


def test_every_time_a_person_reads_is_dutch_time(app, ready):
    """Stored in UTC, shown in Dutch time: a run late on New Year's Eve UTC is in the new year,
    and the two 02:30s of the night the clocks go back read apart."""
    with app.app_context():
        db.session.add(
            SyncRun(
                link_id=the_link().id,
                kind="sync",
                status=RunStatus.FINISHED,
                booked=1,
                started_at=datetime(2026, 12, 31, 23, 30, 5),
                finished_at=datetime(2026, 12, 31, 23, 30, 9),
            )
        )
        failed = OrderRecord(
            link_id=the_link().id,
            order_id=7,
            state=OrderState.FAILED,
            reason="The VAT code is gone.",
            next_attempt_at=datetime(2026, 7, 1, 10, 5),
        )
        booked = OrderRecord(
            link_id=the_link().id,
            order_id=8,
            state=OrderState.BOOKED,
            payment_state="booked",
            payment_mutation_id=5,
            booked_at=datetime(2026, 12, 4, 11, 49),
            payment_booked_at=datetime(2026, 12, 4, 11, 49),
        )
        db.session.add_all([failed, booked])
        db.session.flush()
        for at in (datetime(2027, 10, 31, 0, 30), datetime(2027, 10, 31, 1, 30)):
            db.session.add(Attempt(order_record_id=failed.id, at=at, outcome="failed"))
        credential = db.session.execute(
            db.select(Credential).filter_by(service=Credential.PLUGANDPAY)
        ).scalar_one()
        credential.connected_at = datetime(2026, 3, 29, 0, 59)  # the last minute of winter time
        db.session.commit()

    dashboard = ready.get("/").get_data(as_text=True)
    assert "Last run: 01-01-2027 00:30 CET" in dashboard
    assert "<td>01-01-2027 00:30:05 CET</td>" in dashboard
    runs = ready.get("/runs").get_data(as_text=True)
    assert "<th>Started</th>" in runs and "<td>01-01-2027 00:30:05 CET</td>" in runs
    order = ready.get("/orders/7").get_data(as_text=True)
    assert "Next automatic try: 01-07-2026 12:05 CEST" in order
    assert "<th>When</th>" in order
    assert "<td>31-10-2027 02:30:00 CEST</td>" in order
    assert "<td>31-10-2027 02:30:00 CET</td>" in order
    payment = ready.get("/orders/8").get_data(as_text=True)
    assert "booked on 04-12-2026 12:49 CET" in payment
    connect = ready.get("/connect/plugandpay").get_data(as_text=True)
    assert "since 29-03-2026 01:59 CET" in connect
    dutch = ready.get("/connect/plugandpay?lang=nl").get_data(as_text=True)
    assert "sinds 29-03-2026 01:59 CET" in dutch
    for html in (dashboard, runs, order, payment, connect, dutch):
        assert "UTC" not in html
