"""The database URL (SQLite by default, PostgreSQL with PP2EB_DATABASE_URL) and the settings each
connection gets; a URL pp2eb cannot use, or a server it cannot reach, is one line."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from pp2eb import create_app
from pp2eb.dbconfig import BUSY_TIMEOUT_MS, DatabaseURLError
from pp2eb.extensions import db
from pp2eb.models import AppState
from tests.alert_helpers import closed_port

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "pw-that-stays-secret"


def run_for_real(tmp_path, url: str, *args: str) -> subprocess.CompletedProcess:
    """``python ARGS`` as a person runs it, with PP2EB_DATABASE_URL set to ``url``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PP2EB_")}
    env.update(PP2EB_INSTANCE_PATH=str(tmp_path / "instance"), PP2EB_DATABASE_URL=url)
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


def assert_one_line(done: subprocess.CompletedProcess, expected: str) -> None:
    assert done.returncode == 1
    assert done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert expected in done.stderr
    for word in ("Traceback", "sqlalchemy", "psycopg.", PASSWORD):
        assert word not in done.stderr, done.stderr


def test_the_default_is_sqlite_in_the_instance_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("PP2EB_DATABASE_URL", raising=False)
    monkeypatch.setenv("PP2EB_INSTANCE_PATH", str(tmp_path))
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'pp2eb.sqlite'}"
    assert (
        "SQLALCHEMY_ENGINE_OPTIONS" not in app.config or not app.config["SQLALCHEMY_ENGINE_OPTIONS"]
    )


@pytest.mark.parametrize("scheme", ["postgresql+psycopg", "postgresql"])
def test_PP2EB_DATABASE_URL_chooses_postgresql_with_psycopg(tmp_path, monkeypatch, scheme):
    monkeypatch.setenv("PP2EB_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("PP2EB_DATABASE_URL", f"{scheme}://pp2eb:{PASSWORD}@db.internal/books")
    app = create_app()  # makes the engine; connects only when used
    assert app.config["SQLALCHEMY_DATABASE_URI"] == (
        f"postgresql+psycopg://pp2eb:{PASSWORD}@db.internal/books"
    )
    with app.app_context():
        assert db.engine.dialect.name == "postgresql"
        assert db.engine.dialect.driver == "psycopg"
    options = app.config["SQLALCHEMY_ENGINE_OPTIONS"]
    assert options["pool_pre_ping"] is True
    assert options["connect_args"] == {"connect_timeout": 10}


def test_the_config_file_and_PP2EB_SQLALCHEMY_DATABASE_URI_still_win(tmp_path, monkeypatch):
    monkeypatch.setenv("PP2EB_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("PP2EB_DATABASE_URL", "postgresql+psycopg://pp2eb@db.internal/books")
    (tmp_path / "config.py").write_text(f"SQLALCHEMY_DATABASE_URI = 'sqlite:///{tmp_path}/c.db'\n")
    assert create_app().config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path}/c.db"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("db.internal/books", "The database URL (PP2EB_DATABASE_URL) is not a URL; write it as"),
        ("mysql://pp2eb@db.internal/books", "not on mysql; write the database URL"),
        ("postgresql+psycopg2://pp2eb@db.internal/books", "not on postgresql+psycopg2;"),
    ],
)
def test_a_url_pp2eb_cannot_use_is_refused_in_words(tmp_path, monkeypatch, url, expected):
    monkeypatch.setenv("PP2EB_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("PP2EB_DATABASE_URL", url)
    with pytest.raises(DatabaseURLError, match=re.escape(expected)):
        create_app()


def test_a_bad_url_stops_the_server_and_the_commands_with_one_line(tmp_path):
    url = f"mysql://pp2eb:{PASSWORD}@db.internal/books"
    expected = "pp2eb runs on SQLite or on PostgreSQL with psycopg 3, not on mysql"
    assert_one_line(run_for_real(tmp_path, url, "app.py"), expected)
    assert_one_line(run_for_real(tmp_path, url, "-m", "flask", "--app", "app", "sync"), expected)


def test_a_server_that_cannot_be_reached_is_one_line_everywhere(tmp_path):
    url = f"postgresql+psycopg://pp2eb:{PASSWORD}@127.0.0.1:{closed_port()}/books"
    expected = "The database cannot be opened (connection failed: "
    for args in (["sync"], ["db", "upgrade"], ["create-user", "anna"]):
        done = run_for_real(tmp_path, url, "-m", "flask", "--app", "app", *args)
        assert_one_line(done, f"Error: {expected}")
        assert "Connection refused" in done.stderr
    served = run_for_real(tmp_path, url, "app.py")
    assert_one_line(served, expected)


def test_every_connection_gets_the_settings_of_its_database(app):
    """SQLite: WAL, busy timeout, foreign keys. PostgreSQL: its counterparts, a lock timeout
    and UTC (it always has a write-ahead log and always enforces foreign keys)."""
    with app.app_context(), db.engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == BUSY_TIMEOUT_MS
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        else:
            assert conn.exec_driver_sql("SHOW lock_timeout").scalar() == "15s"
            assert conn.exec_driver_sql("SHOW TimeZone").scalar() == "UTC"
            # Set for the session, not only for the transaction that set it.
            conn.rollback()
            assert conn.exec_driver_sql("SHOW lock_timeout").scalar() == "15s"


def test_text_with_a_nul_character_is_stored_not_refused(app, client, auth):
    """PostgreSQL's text cannot hold NUL, SQLite's can: on PostgreSQL it becomes U+FFFD."""
    with app.app_context():
        db.session.add(AppState(key="nul\x00key", value="a\x00b"))
        db.session.commit()
        db.session.expire_all()
        stored = db.session.execute(
            db.select(AppState.value).where(AppState.key.startswith("nul"))
        ).scalar_one()
        nul = "\x00" if db.engine.dialect.name == "sqlite" else "\ufffd"
        assert stored == f"a{nul}b"
        assert db.session.get(AppState, "nul\x00key").value == stored  # found by the same key
    # A search and a log-in with one are ordinary, not a server error.
    auth.login()
    assert client.get("/orders", query_string={"q": "Jan\x00"}).status_code == 200
    auth.logout()
    assert auth.login("\x00", "\x00").status_code == 200
