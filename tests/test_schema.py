"""A database that is not ready (never migrated, older, newer) explains itself in one line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
import sqlalchemy.exc
from flask_migrate import upgrade

from pp2eb import create_app
from pp2eb.extensions import db
from pp2eb.runs import jobs

ROOT = Path(__file__).resolve().parent.parent
NOT_SET_UP = (
    "Error: The database is not set up yet: run `make migrate` (or `flask --app app db upgrade`)."
)
# Every command that uses the database; the options and input a person might give it.
COMMANDS = [
    ["sync"],
    ["backfill", "--since", "2026-01-01"],
    ["backfill", "--since", "2026-01-01", "--dry-run"],
    ["connect", "plugandpay"],
    ["connect", "eboekhouden", "--token", "a-token"],
    ["disconnect", "plugandpay"],
    ["orders", "show", "1"],
    ["settings", "export"],
    ["settings", "import", "SETTINGS_FILE"],
    ["create-user", "anna"],
    ["create-user", "anna", "--password", "a long password"],
    ["users", "add", "bob", "--role", "member"],
    ["users", "grant", "bob", "Plug&Pay"],
    ["users", "revoke", "bob", "Plug&Pay"],
    ["users", "list"],
    ["users", "remove", "bob"],
]


@pytest.fixture
def fresh(tmp_path, monkeypatch, databases):
    """An app whose database (SQLite file or PostgreSQL database) was never migrated."""
    monkeypatch.setenv("PP2EB_INSTANCE_PATH", str(tmp_path / "instance"))
    return create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test",
            "SQLALCHEMY_DATABASE_URI": databases.empty("never-migrated"),
        }
    )


def assert_no_internals(output: str) -> None:
    for word in ("Traceback", "sqlalchemy", "SELECT", "FROM ", "[SQL"):
        assert word not in output, output


def invoke(app, args, tmp_path):
    path = tmp_path / "settings.json"
    path.write_text('{"start_date": "2026-01-01"}')
    args = [str(path) if arg == "SETTINGS_FILE" else arg for arg in args]
    # Input for any question: a command must not ask before it says what is wrong.
    return app.test_cli_runner().invoke(args=args, input="secret\nsecret\n")


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_every_command_on_a_fresh_database_says_what_to_run(fresh, tmp_path, args):
    result = invoke(fresh, args, tmp_path)
    assert result.exit_code == 1
    assert result.output.strip() == NOT_SET_UP
    assert_no_internals(result.output)


def test_flask_db_upgrade_sets_it_up_and_then_the_commands_work(fresh, tmp_path):
    runner = fresh.test_cli_runner()
    assert runner.invoke(args=["db", "upgrade"]).exit_code == 0
    created = runner.invoke(args=["create-user", "anna"], input="a long password\n" * 2)
    assert created.exit_code == 0, created.output
    assert "User anna can now log in." in created.output
    synced = runner.invoke(args=["sync"])
    assert synced.output.strip() == "Error: Connect Plug&Pay and e-Boekhouden.nl first."


def test_a_database_of_an_earlier_release_says_to_migrate(fresh):
    with fresh.app_context():
        upgrade(revision="0005_webhooks")
    result = fresh.test_cli_runner().invoke(args=["sync"])
    assert result.output.strip() == (
        "Error: The database is from an earlier release of pp2eb: run `make migrate` to upgrade it."
    )


def test_a_database_of_a_newer_release_says_so(fresh):
    with fresh.app_context():
        upgrade()
        with db.engine.begin() as conn:
            conn.execute(sa.text("UPDATE alembic_version SET version_num = '0099_future'"))
    result = fresh.test_cli_runner().invoke(args=["orders", "show", "1"])
    assert "made by a newer release of pp2eb" in result.output
    assert_no_internals(result.output)


def test_a_database_that_fails_underway_is_one_line_without_sql(app, runner, monkeypatch):
    def locked(kind, **kwargs):
        raise sqlalchemy.exc.OperationalError(
            "SELECT lease.holder FROM lease", {}, Exception("database is locked")
        )

    monkeypatch.setattr(jobs, "run", locked)
    result = runner.invoke(args=["sync"])
    assert result.exit_code == 1
    assert result.output.startswith("Error: The database could not be written")
    assert len(result.output.strip().splitlines()) == 1
    assert_no_internals(result.output)


def test_every_page_on_a_fresh_database_says_what_to_run(fresh):
    client = fresh.test_client()
    for url in ("/", "/auth/login", "/setup/", "/orders"):
        response = client.get(url)
        assert response.status_code == 503, url
        html = response.get_data(as_text=True)
        assert "The database is not set up yet: run `make migrate`" in html
        assert_no_internals(html)
    assert client.get("/static/style.css").status_code == 200
    with fresh.app_context():
        upgrade()
    assert client.get("/auth/login").status_code == 200


def test_the_page_is_in_dutch_too(fresh):
    html = fresh.test_client().get("/", headers={"Accept-Language": "nl"}).get_data(as_text=True)
    assert "De database is nog niet ingericht" in html


def run_for_real(tmp_path, databases, *args) -> subprocess.CompletedProcess:
    """``python ARGS`` as a person runs it: the instance folder's SQLite file, or on the
    PostgreSQL test server an empty database given as PP2EB_DATABASE_URL."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PP2EB_")}
    env["PP2EB_INSTANCE_PATH"] = str(tmp_path / "instance")
    if databases.postgres:
        env["PP2EB_DATABASE_URL"] = databases.empty()
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


def test_flask_sync_as_a_real_command_says_what_to_run(tmp_path, databases):
    done = run_for_real(tmp_path, databases, "-m", "flask", "--app", "app", "sync")
    assert done.returncode == 1
    assert done.stderr.strip() == NOT_SET_UP and done.stdout == ""
    assert_no_internals(done.stderr)


def test_serving_on_a_fresh_database_stops_with_what_to_run(tmp_path, databases):
    done = run_for_real(tmp_path, databases, "app.py")
    assert done.returncode == 1
    assert done.stderr.strip() == NOT_SET_UP.removeprefix("Error: ")
    assert_no_internals(done.stdout + done.stderr)
