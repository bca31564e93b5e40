"""The overview of many links: each column of a row, when a link needs attention, a constant
number of queries however many links, and the table as a page shows it."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from flask import render_template, request, url_for
from markupsafe import escape

from pp2eb import dutchtime, jsonutil
from pp2eb.extensions import db
from pp2eb.models import Credential, Link, OrderRecord, SyncRun
from pp2eb.reports import oss_watch, overview
from pp2eb.reports.overview import Attention, Side
from pp2eb.runs import scheduler
from pp2eb.setup import appstate, connections, links, shopsettings
from pp2eb.states import OrderState, RunCount, RunStatus
from tests.clock import DEMO_NOW
from tests.engine_helpers import SETTINGS, configure, the_link
from tests.reports.test_oss_watch import order_data

NOW = DEMO_NOW.replace(tzinfo=None)  # naive UTC, as the database keeps moments
PP, EB = Credential.PLUGANDPAY, Credential.EBOEKHOUDEN


def _run(link: Link, started: timedelta, status=RunStatus.FINISHED, kind="sync", **counts):
    db.session.add(
        SyncRun(
            link_id=link.id,
            kind=kind,
            status=status,
            started_at=NOW - started,
            finished_at=NOW - started + timedelta(seconds=4),
            **counts,
        )
    )


def _order(link: Link, order_id: int, state: OrderState, data: dict | None = None) -> None:
    db.session.add(
        OrderRecord(
            link_id=link.id,
            order_id=order_id,
            state=state,
            invoice_date=data["invoice_date"] if data else "2026-11-01",
            order_json=jsonutil.dumps(data) if data else None,
        )
    )


@pytest.fixture
def three(app, sandbox):
    """Three links: A well, B half set up, C paused with an unreadable key, a stopped run,
    failed orders and the OSS threshold passed. Returns their ids."""
    configure(app)
    with app.app_context():
        a = the_link()
        b, c = links.add("Shop B"), links.add("Shop C")
        # B: a Plug&Pay tenant of its own, nothing else yet.
        connections.connect(b, PP, "pp-sandbox-key-2")
        ids = a.id, b.id, c.id
    configure(app, link_id=ids[2], oss="home_country")
    with app.app_context():
        a, b, c = (db.session.get(Link, i) for i in ids)
        # A: an older sync, then the newest: done, one order failed then and booked since.
        _run(a, timedelta(hours=3), booked=1)
        _run(a, timedelta(minutes=10), booked=3, skipped=1, failed=1, already_booked=2)
        _order(a, 1, OrderState.BOOKED)
        # C: a finished sync, then a retry that stopped; two failed orders; € 10,500 to a
        # German consumer this year.
        _run(c, timedelta(hours=2), booked=5)
        _run(c, timedelta(hours=1), RunStatus.ABORTED, "orders", failed=2)
        db.session.execute(
            sa.update(SyncRun)
            .where(SyncRun.link_id == c.id, SyncRun.status == RunStatus.ABORTED)
            .values(message="e-Boekhouden.nl refused the token.")
        )
        _order(c, 1, OrderState.FAILED)
        _order(c, 2, OrderState.FAILED)
        _order(c, 3, OrderState.BOOKED, order_data("10500.00", "DE", when="2026-06-01", order_id=3))
        appstate.put(c, appstate.SCHEDULE_PAUSED, True)
        connections.get_credential(c, EB).secret_encrypted = b"written with another key"
        db.session.commit()
    return ids


def _rows(app, ids) -> dict[int, overview.LinkRow]:
    with app.app_context():
        found = overview.rows([db.session.get(Link, i) for i in ids], NOW)
    assert [row.id for row in found] == list(ids)
    return {row.id: row for row in found}


def test_a_link_in_order_needs_no_attention(app, three):
    a_id = three[0]
    row = _rows(app, three)[a_id]
    with app.app_context():
        a = db.session.get(Link, a_id)
        assert row.name == a.name
        assert row.next_run_at == scheduler.next_run_at(a, NOW)
    assert [(s.service, s.state) for s in row.sides] == [(PP, Side.CONNECTED), (EB, Side.CONNECTED)]
    assert [s.name for s in row.sides] == list(connections.SERVICES.values())
    assert row.set_up and not row.paused
    # An interval (15 minutes) after the newest sync started, 10 minutes ago.
    assert row.next_run_at == NOW + timedelta(minutes=5)
    run = row.last_run
    assert (run.kind, run.status, run.stopped) == ("sync", RunStatus.FINISHED, False)
    assert run.started_at == NOW - timedelta(minutes=10)
    assert run.finished_at == NOW - timedelta(minutes=10) + timedelta(seconds=4)
    assert run.counts == {
        RunCount.BOOKED: 3,
        RunCount.SKIPPED: 1,
        RunCount.FAILED: 1,
        RunCount.WAITING: 0,
        RunCount.ALREADY_BOOKED: 2,
    }
    # The run's failed order is booked since: nothing fails now.
    assert row.failed_orders == 0
    assert (row.oss.level, row.oss.percent) == (oss_watch.OK, 0)
    assert row.attention == ()
    assert not row.needs_attention


def test_a_half_set_up_link_needs_attention(app, three):
    row = _rows(app, three)[three[1]]
    assert row.name == "Shop B"
    assert [s.state for s in row.sides] == [Side.CONNECTED, Side.NOT_CONNECTED]
    assert not row.set_up and not row.paused
    assert row.next_run_at is None
    assert row.last_run is None
    assert row.failed_orders == 0
    assert row.oss.level == oss_watch.OK
    assert row.attention == (Attention.NOT_CONNECTED, Attention.SETUP)
    assert row.needs_attention


def test_a_paused_link_with_troubles_names_each(app, three):
    c_id = three[2]
    row = _rows(app, three)[c_id]
    assert [s.state for s in row.sides] == [Side.CONNECTED, Side.UNREADABLE]
    # Set up (both keys stored, the settings complete), but paused: no next run.
    assert row.set_up and row.paused
    assert row.next_run_at is None
    with app.app_context():
        assert scheduler.next_run_at(db.session.get(Link, c_id), NOW) is None
    run = row.last_run
    assert (run.kind, run.status, run.stopped) == ("orders", RunStatus.ABORTED, True)
    assert run.started_at == NOW - timedelta(hours=1)
    assert run.message == "e-Boekhouden.nl refused the token."
    assert run.counts[RunCount.FAILED] == 2
    assert row.failed_orders == 2
    assert row.oss.level == oss_watch.PASSED and row.oss.needs_oss
    assert row.attention == (
        Attention.UNREADABLE,
        Attention.RUN_STOPPED,
        Attention.FAILED_ORDERS,
        Attention.OSS,
    )


def test_filter_attention_keeps_the_rows_that_need_it_in_order(app, three):
    found = list(_rows(app, three).values())
    assert [row.id for row in overview.filter_attention(found)] == [three[1], three[2]]
    assert overview.filter_attention([found[0]]) == []


def test_the_oss_threshold_coming_near_is_worth_a_look(app, three):
    a_id = three[0]
    with app.app_context():
        data = order_data("8000.00", "DE", when="2026-05-01", order_id=9)
        _order(db.session.get(Link, a_id), 9, OrderState.BOOKED, data)
        db.session.commit()
    row = _rows(app, three)[a_id]
    assert (row.oss.level, row.oss.percent) == (oss_watch.APPROACHING, 80)
    assert row.attention == (Attention.OSS,)


def test_the_newest_run_is_the_dashboards_latest_run(app, three):
    """Two runs started at the same moment: the later one (highest id) is the last run, as
    ``records.latest_run`` picks it; the schedule counts from the newest sync."""
    from pp2eb.reports import records

    a_id = three[0]
    with app.app_context():
        a = db.session.get(Link, a_id)
        _run(a, timedelta(minutes=2), kind="sync", booked=7)
        _run(a, timedelta(minutes=2), kind="webhook", booked=1)
        db.session.commit()
        latest = records.latest_run(a)
        next_run = scheduler.next_run_at(a, NOW)
    row = _rows(app, three)[a_id]
    assert (row.last_run.kind, row.last_run.counts[RunCount.BOOKED]) == (latest.kind, 1)
    assert row.last_run.kind == "webhook"
    assert row.next_run_at == next_run == NOW + timedelta(minutes=13)


def test_no_links_no_rows(app):
    with app.app_context():
        assert overview.rows([], NOW) == []


# --- queries ---


def _make_links(app, numbers: range) -> None:
    """Links "Client <n>" for each of ``numbers``, each with both keys, settings, runs, a
    failed order and one counted for the OSS threshold; every other one paused."""
    with app.app_context():
        vault = app.extensions["pp2eb_vault"]
        for n in numbers:
            link = links.add(f"Client {n}")
            for service in connections.SERVICES:
                db.session.add(
                    Credential(
                        link_id=link.id,
                        service=service,
                        secret_encrypted=vault.encrypt(f"secret-{n}"),
                        base_url="http://127.0.0.1:9",
                    )
                )
            shopsettings.save_draft(link, SETTINGS)
            appstate.put(link, appstate.SCHEDULE_PAUSED, n % 2 == 0)
            _run(link, timedelta(hours=1), booked=2)
            _run(link, timedelta(minutes=20), RunStatus.ABORTED, failed=1)
            _order(link, 1, OrderState.FAILED)
            _order(link, 2, OrderState.BOOKED, order_data("100.00", "BE", order_id=2))
            db.session.commit()


def _queries_for_rows(app) -> tuple[int, list[overview.LinkRow]]:
    with app.app_context():
        live = links.live()  # loaded before counting: the caller has its links
        statements: list[str] = []

        def count(conn, cursor, statement, *args):
            statements.append(statement)

        sa.event.listen(db.engine, "before_cursor_execute", count)
        try:
            found = overview.rows(live, NOW)
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", count)
    return len(statements), found


def test_the_number_of_queries_does_not_grow_with_the_links(app):
    _make_links(app, range(1))
    one, found = _queries_for_rows(app)
    assert len(found) == 2  # the install's first link and Client 0
    _make_links(app, range(1, 20))
    twenty, found = _queries_for_rows(app)
    assert len(found) == 21
    assert twenty == one <= 9
    # Looked at again, no order is read: what each adds to the OSS threshold was kept on its
    # record the first time (one statement to read the orders, one to keep that: 2 fewer).
    again, _ = _queries_for_rows(app)
    assert again == one - 2
    # Each link's own figures, not another's.
    clients = [row for row in found if row.name.startswith("Client ")]
    assert {row.failed_orders for row in clients} == {1}
    assert {row.oss.total for row in clients} == {Decimal("100.00")}
    assert {row.last_run.status for row in clients} == {RunStatus.ABORTED}
    assert [row.paused for row in clients] == [n % 2 == 0 for n in range(20)]


# --- the table ---


def _render(app, ids, attention: bool = False, lang: str = "en") -> tuple[str, dict]:
    with app.app_context():
        found = overview.rows([db.session.get(Link, i) for i in ids], NOW)
    shown = overview.filter_attention(found) if attention else found
    with app.test_request_context("/", headers={"Accept-Language": lang}):
        html = render_template(
            "dashboard/overview.html",
            rows=shown,
            attention=attention,
            total=len(found),
            needing=len(overview.filter_attention(found)),
        )
        urls = {i: url_for("dashboard.index", link_id=i) for i in ids}
        urls["failed"] = url_for("dashboard.orders", state=OrderState.FAILED, link_id=ids[2])
        # The page's own address (the lead's route), with the filter.
        urls["attention"] = url_for(request.endpoint, attention=1)
    return html, urls


def _cells(html: str, link_id: int) -> str:
    start = html.index(f'<tr id="link-{link_id}">')
    return html[start : html.index("</tr>", start)]


def test_the_table_shows_each_column_and_opens_each_dashboard(app, three):
    a_id, b_id, c_id = three
    html, urls = _render(app, three)
    assert '<div id="overview">' in html
    for link_id in three:
        assert f'href="{escape(urls[link_id])}"' in _cells(html, link_id)
    a, b, c = (_cells(html, i) for i in three)
    assert a.count("Connected") == 2 and "All well" in a and "Needs attention" not in a
    assert dutchtime.show(NOW + timedelta(minutes=5)) in a
    assert dutchtime.show(NOW - timedelta(minutes=10)) in a
    assert "booked 3, skipped 1, failed 1, waiting 0, already booked 2" in a
    assert "Below the threshold</span> · 0%" in a
    assert "Not connected" in b and "Not set up" in b and "No runs yet." in b
    assert "an account is not connected, the set-up is not finished" in b
    assert "Connect again" in c and "Paused" in c and "stopped" in c
    assert "e-Boekhouden.nl refused the token." in c
    assert f'href="{escape(urls["failed"])}">2</a>' in c
    assert "Threshold passed</span> · 105%" in c
    assert '<span class="badge attention">Needs attention</span>' in c
    assert f'href="{escape(urls["attention"])}">Needs attention (2)</a>' in html
    assert 'aria-current="page">All (3)</a>' in html


def test_the_attention_filter_shows_only_those(app, three):
    html, urls = _render(app, three, attention=True)
    assert f'<tr id="link-{three[0]}">' not in html
    assert f'<tr id="link-{three[1]}">' in html and f'<tr id="link-{three[2]}">' in html
    assert 'aria-current="page">Needs attention (2)</a>' in html


def test_the_table_in_dutch(app, three):
    html, _ = _render(app, three, lang="nl")
    assert "Koppelingen" in html and "Aandacht nodig" in html
    assert "Niet gekoppeld" in html and "Drempel overschreden" in html
    assert "Needs attention" not in html and "Not set up" not in html
