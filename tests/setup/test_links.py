"""Links: every install has one; each link's keys, settings and facts are its own."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from pp2eb.extensions import db
from pp2eb.models import Credential, Link, SyncRun, utcnow
from pp2eb.runs import jobs, scheduler
from pp2eb.sandbox import EBOEKHOUDEN_TOKEN, PLUGANDPAY_KEY
from pp2eb.setup import appstate, connections, links, shopsettings
from tests.engine_helpers import configure, shops_a_and_b, the_link


def test_a_new_install_has_one_link_called_by_the_placeholder(app):
    with app.app_context():
        assert [link.name for link in links.live()] == [links.PLACEHOLDER]
        assert links.only() is links.pick(None)


def test_the_first_plugandpay_connection_names_the_link_after_its_tenant(app, sandbox):
    with app.app_context():
        connection = connections.connect(the_link(), Credential.PLUGANDPAY, PLUGANDPAY_KEY)
        tenant = links.tenant_name(connection.account_name)
        assert tenant and tenant != links.PLACEHOLDER
        assert the_link().name == tenant
        # Named once: a person's name for the link is never overwritten by a later check.
        the_link().name = "Webshop"
        db.session.commit()
        connections.connect(the_link(), Credential.PLUGANDPAY, PLUGANDPAY_KEY)
        assert the_link().name == "Webshop"


@pytest.mark.parametrize(
    ("stored", "name"),
    [
        ("Café Ødegård (tenant 7)", "Café Ødegård"),
        ("Plug&Pay (tenant None)", "Plug&Pay"),
        ('{"ledgers": 3, "templates": 1}', None),
        ("", None),
    ],
)
def test_the_tenant_name_is_read_from_the_stored_account_name(stored, name):
    assert links.tenant_name(stored) == name


@pytest.fixture
def two(app, sandbox):
    """Two links on the same sandbox accounts, with different start dates and intervals."""
    ids = shops_a_and_b(app)
    configure(app, ids[0], start_date="2026-01-01")
    configure(app, ids[1], start_date="2026-03-01", sync_interval_minutes=120)
    return ids


def test_two_links_keep_their_own_keys_settings_and_facts(app, two):
    with app.app_context():
        a, b = (db.session.get(Link, link_id) for link_id in two)
        assert jobs.load_settings(a).start_date == date(2026, 1, 1)
        assert jobs.load_settings(b).start_date == date(2026, 3, 1)
        assert jobs.load_settings(b).sync_interval_minutes == 120
        shopsettings.save_draft(a, {"shipping_ledger": "8055"})
        assert shopsettings.load_draft(a)["shipping_ledger"] == "8055"
        assert shopsettings.load_draft(b)["shipping_ledger"] != "8055"
        # A pause is the link's own.
        appstate.put(b, appstate.SCHEDULE_PAUSED, True)
        assert scheduler.next_run_at(b) is None
        assert scheduler.next_run_at(a) is not None
        assert appstate.get(a, appstate.SCHEDULE_PAUSED, False) is False
        # So are its keys: disconnecting one link leaves the other connected.
        assert connections.disconnect(b, Credential.EBOEKHOUDEN)
        assert connections.get_credential(b, Credential.EBOEKHOUDEN) is None
        assert connections.get_credential(a, Credential.EBOEKHOUDEN) is not None
        with pytest.raises(jobs.NotReady, match="e-Boekhouden"):
            jobs.build_clients(b)
        jobs.build_clients(a)
        connections.set_vat_rounding(a, "row")
        connections.connect(b, Credential.EBOEKHOUDEN, EBOEKHOUDEN_TOKEN)
        assert connections.get_credential(b, Credential.EBOEKHOUDEN).vat_rounding is None
        assert connections.get_credential(a, Credential.EBOEKHOUDEN).vat_rounding == "row"
        assert db.session.execute(db.select(db.func.count()).select_from(Credential)).scalar() == 4


def test_with_two_links_a_link_is_named(app, two):
    with app.app_context():
        with pytest.raises(links.NoSuchLink, match="2 links \\(Shop A, Shop B\\)"):
            links.only()
        assert links.pick("Shop B").id == two[1]
        with pytest.raises(links.NoSuchLink, match="the links are: Shop A, Shop B"):
            links.pick("Shop C")


def test_a_removed_link_is_no_longer_live_and_keeps_its_rows(app, two):
    with app.app_context():
        b = db.session.get(Link, two[1])
        b.removed_at = utcnow()
        db.session.commit()
        assert [link.name for link in links.live()] == ["Shop A"]
        assert links.by_name("Shop B") is None
        assert links.only().id == two[0]
        assert connections.get_credential(b, Credential.PLUGANDPAY) is not None


def test_a_tick_syncs_each_link_that_is_due_with_its_own_schedule(app, two):
    assert scheduler.tick(app) == "Shop A: finished; Shop B: finished"
    assert scheduler.tick(app) == "Shop A: not due; Shop B: not due"
    with app.app_context():
        # One run each; the links sync side by side, so in either order.
        runs = db.session.execute(db.select(SyncRun.link_id)).scalars()
        assert sorted(runs) == sorted(two)
        a, b = (db.session.get(Link, link_id) for link_id in two)
        run_a, run_b = (
            db.session.execute(db.select(SyncRun).filter_by(link_id=link.id)).scalar_one()
            for link in (a, b)
        )
        assert scheduler.next_run_at(b) == run_b.started_at + timedelta(minutes=120)
        interval = timedelta(minutes=jobs.load_settings(a).sync_interval_minutes)
        assert scheduler.next_run_at(a) == run_a.started_at + interval
