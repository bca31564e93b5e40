"""The ``--link NAME`` option: without it the only link; with several links, a name."""

from __future__ import annotations

import json

import pytest

from pp2eb.extensions import db
from pp2eb.models import Credential, Link, OrderRecord, SyncRun, utcnow
from pp2eb.sandbox import EBOEKHOUDEN_TOKEN
from pp2eb.setup import connections, links
from tests.engine_helpers import configure, shops_a_and_b, the_link


@pytest.fixture
def two(app, sandbox):
    """Shop A, connected and set up; Shop B, with other settings and no e-Boekhouden key."""
    a, b = shops_a_and_b(app)
    configure(app, a, start_date="2026-01-01")
    configure(app, b, start_date="2026-03-01")
    with app.app_context():
        connections.disconnect(db.session.get(Link, b), Credential.EBOEKHOUDEN)
    return b


def test_with_one_link_no_name_is_needed_and_a_wrong_one_is_said(ready_app, runner):
    assert runner.invoke(args=["settings", "export"]).exit_code == 0
    with ready_app.app_context():
        name = the_link().name  # the tenant's, since Plug&Pay was connected
    assert runner.invoke(args=["settings", "export", "--link", name]).exit_code == 0
    result = runner.invoke(args=["sync", "--link", "Nope"])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        f"Error: No link is called 'Nope'; the links are: {name}."
    ]


@pytest.fixture
def ready_app(app, sandbox):
    configure(app)
    return app


@pytest.mark.parametrize(
    "args",
    [
        ["sync"],
        ["backfill", "--since", "2026-01-01"],
        ["settings", "export"],
        ["connect", "eboekhouden", "--token", "x"],
        ["connect", "vat-rounding", "row"],
        ["disconnect", "plugandpay"],
        ["orders", "show", "31"],
    ],
)
def test_with_two_links_a_command_names_them_and_stops(two, runner, args):
    result = runner.invoke(args=args)
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "Error: This install has 2 links (Shop A, Shop B); name one with --link."
    ]
    assert "Traceback" not in result.output


def test_with_two_links_each_command_acts_on_the_named_link(app, two, runner):
    a = json.loads(runner.invoke(args=["settings", "export", "--link", "Shop A"]).output)
    b = json.loads(runner.invoke(args=["settings", "export", "--link", "Shop B"]).output)
    assert (a["start_date"], b["start_date"]) == ("2026-01-01", "2026-03-01")
    refused = runner.invoke(args=["sync", "--link", "Shop B"])
    assert refused.exit_code == 1 and "Connect e-Boekhouden.nl first" in refused.output
    synced = runner.invoke(args=["sync", "--link", "Shop A"])
    assert synced.output.startswith("booked ")
    shown = runner.invoke(args=["orders", "show", "31", "--link", "Shop A"])
    assert shown.exit_code == 0 and shown.output.startswith("Plug&Pay order 31:")
    unseen = runner.invoke(args=["orders", "show", "31", "--link", "Shop B"])
    assert unseen.exit_code == 1 and "has not seen Plug&Pay order 31" in unseen.output
    with app.app_context():
        runs = db.session.execute(db.select(SyncRun.link_id)).scalars()
        assert list(runs) == [
            db.session.execute(db.select(Link.id).filter_by(name="Shop A")).scalar()
        ]
    result = runner.invoke(
        args=["connect", "eboekhouden", "--link", "Shop B", "--token", EBOEKHOUDEN_TOKEN]
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert connections.get_credential(db.session.get(Link, two), "eboekhouden") is not None


def test_links_list_names_each_live_link_and_its_connections(app, two, runner):
    result = runner.invoke(args=["links", "list"])
    assert result.exit_code == 0
    assert result.output.splitlines() == [
        "Shop A: Plug&Pay connected, e-Boekhouden.nl connected",
        "Shop B: Plug&Pay connected, e-Boekhouden.nl not connected",
    ]
    with app.app_context():
        links.pick("Shop B").removed_at = utcnow()
        db.session.commit()
    assert runner.invoke(args=["links", "list"]).output.splitlines() == [
        "Shop A: Plug&Pay connected, e-Boekhouden.nl connected"
    ]


def test_sync_all_syncs_each_link_that_is_due(app, two, runner):
    with app.app_context():
        connections.connect(db.session.get(Link, two), Credential.EBOEKHOUDEN, EBOEKHOUDEN_TOKEN)
    first = runner.invoke(args=["sync", "--all"])
    assert first.exit_code == 1  # two demo orders are refused on purpose, in each link
    lines = [line for line in first.output.splitlines() if not line.startswith("  ")]
    assert [line.partition(": ")[0] for line in lines] == ["Shop A", "Shop B"]
    assert all(": booked " in line for line in lines)
    again = runner.invoke(args=["sync", "--all"])
    assert again.exit_code == 0
    assert again.output.splitlines() == ["Shop A: not due", "Shop B: not due"]
    with app.app_context():
        # One run each; the links sync side by side, so in either order.
        runs = db.session.execute(db.select(SyncRun.link_id)).scalars()
        assert sorted(runs) == sorted([links.pick("Shop A").id, two])
    both = runner.invoke(args=["sync", "--all", "--link", "Shop A"])
    assert both.exit_code == 2
    assert both.output.strip() == "Error: --all and --link exclude each other."


def test_links_add_makes_a_link_of_its_own_and_refuses_a_taken_or_empty_name(app, two, runner):
    added = runner.invoke(args=["links", "add", "  Café   Ødegård "])
    assert added.exit_code == 0, added.output
    assert added.output.startswith("Link Café Ødegård added.")
    assert "flask connect plugandpay --link 'Café Ødegård'" in added.output
    with app.app_context():
        new = links.pick("Café Ødegård")
        # Nothing of another link is its: no keys, no settings.
        assert all(connections.get_credential(new, s) is None for s in connections.SERVICES)
    for name, why in [
        ("Shop A", "There is a link called 'Shop A' already."),
        ("   ", "A link needs a name."),
        ("x" * 121, "A link's name has at most 120 characters."),
    ]:
        refused = runner.invoke(args=["links", "add", name])
        assert refused.exit_code == 2
        assert refused.output.strip() == f"Error: {why}"
    assert [
        line.partition(":")[0] for line in runner.invoke(args=["links", "list"]).output.splitlines()
    ] == [
        "Shop A",
        "Shop B",
        "Café Ødegård",
    ]


def test_links_remove_keeps_the_history_and_frees_the_name(app, two, runner):
    assert runner.invoke(args=["sync", "--link", "Shop A"]).output.startswith("booked ")
    asked = runner.invoke(args=["links", "remove", "Shop A"], input="n\n")
    assert asked.exit_code == 1 and "Aborted" in asked.output
    removed = runner.invoke(args=["links", "remove", "Shop A", "--yes"])
    assert removed.exit_code == 0, removed.output
    assert removed.output.startswith("Removed Shop A: it is no longer run")
    assert runner.invoke(args=["links", "list"]).output.splitlines() == [
        "Shop B: Plug&Pay connected, e-Boekhouden.nl not connected"
    ]
    # The only link now: commands need no --link, and a removed one is not found.
    assert runner.invoke(args=["sync", "--link", "Shop A"]).exit_code == 2
    with app.app_context():
        gone = db.session.execute(db.select(Link).where(Link.removed_at.is_not(None))).scalar_one()
        assert gone.name == f"Shop A (removed, #{gone.id})"
        runs = db.session.execute(db.select(SyncRun).filter_by(link_id=gone.id)).scalars().all()
        assert len(runs) == 1  # its history stays
        orders = db.session.execute(
            db.select(db.func.count()).select_from(OrderRecord).filter_by(link_id=gone.id)
        ).scalar()
        assert orders > 0
    # The name is free again: a new link, empty.
    assert runner.invoke(args=["links", "add", "Shop A"]).exit_code == 0
    with app.app_context():
        assert links.pick("Shop A").id != gone.id
    unknown = runner.invoke(args=["links", "remove", "Nope", "--yes"])
    assert unknown.exit_code == 2 and unknown.output.startswith("Error: No link is called 'Nope'")
