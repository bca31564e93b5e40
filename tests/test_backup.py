"""``flask backup PATH``: a consistent copy while the app writes, and a restore that works."""

from __future__ import annotations

import os
import resource
import shutil
import sqlite3
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from flask_migrate import upgrade

from pp2eb import create_app
from pp2eb.backup import BackupError, database_path
from pp2eb.extensions import db
from pp2eb.models import Credential, OrderRecord
from pp2eb.runs import jobs
from pp2eb.sandbox import EBOEKHOUDEN_TOKEN, PLUGANDPAY_KEY
from pp2eb.setup import connections
from pp2eb.states import OrderState, RunStatus
from pp2eb.web.auth import create_user
from tests.conftest import AuthActions
from tests.engine_helpers import assert_exactly_once, configure, the_link

ROOT = Path(__file__).resolve().parent.parent


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def rows(path: Path, sql: str) -> list[tuple]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


@pytest.fixture
def installed(tmp_path, monkeypatch, sandbox):
    """An app laid out as a real install: database and generated keys in the instance folder."""
    instance = tmp_path / "instance"
    monkeypatch.setenv("PP2EB_INSTANCE_PATH", str(instance))
    config = {
        "TESTING": True,
        "PLUGANDPAY_BASE_URL": sandbox.plugandpay_url,
        "EBOEKHOUDEN_BASE_URL": sandbox.eboekhouden_url,
        "HTTP_TIMEOUT": 5.0,
    }

    def make():
        app = create_app(config)
        with app.app_context():
            upgrade()
        return app

    app = make()
    with app.app_context():
        create_user("owner", "correct horse battery")
    configure(app)
    return instance, make, app


@pytest.mark.sqlite
def test_backup_copies_the_database_and_the_key_files(installed, tmp_path):
    instance, _make, app = installed
    with app.app_context():
        booked = jobs.run("sync", link=the_link()).booked
    assert booked > 40
    result = app.test_cli_runner().invoke(args=["backup", str(tmp_path / "backup")])
    assert result.exit_code == 0, result.output
    folder = tmp_path / "backup"
    assert sorted(p.name for p in folder.iterdir()) == [
        "encryption.key",
        "pp2eb.sqlite",
        "secret_key",
    ]
    assert mode(folder) == 0o700
    assert all(mode(p) == 0o600 for p in folder.iterdir())
    copy = folder / "pp2eb.sqlite"
    assert f"wrote {copy}" in result.output
    assert rows(copy, "PRAGMA integrity_check") == [("ok",)]
    # One self-contained file: no -wal beside it, nothing it depends on.
    assert rows(copy, "PRAGMA journal_mode") == [("delete",)]
    assert rows(copy, "SELECT count(*) FROM order_record WHERE state = 'booked'") == [(booked,)]
    for name in ("encryption.key", "secret_key"):
        assert (folder / name).read_bytes() == (instance / name).read_bytes()


@pytest.mark.sqlite
def test_a_configured_encryption_key_is_named_as_not_included(app, runner, tmp_path):
    result = runner.invoke(args=["backup", str(tmp_path / "backup")])
    assert result.exit_code == 0, result.output
    assert "ENCRYPTION_KEY" in result.output and "not kept in encryption.key" in result.output
    assert [p.name for p in (tmp_path / "backup").iterdir()] == ["pp2eb.sqlite"]


@pytest.mark.sqlite
def test_backups_taken_while_the_database_is_written_are_consistent(app, runner, tmp_path):
    """A writer commits pairs (a row and the count of rows) as fast as it can; every copy has
    the count equal to the rows: a snapshot of one commit, never between two."""
    source = database_path(app.config["SQLALCHEMY_DATABASE_URI"])
    stop, started = threading.Event(), threading.Event()
    written = []

    def writer():
        conn = sqlite3.connect(source, timeout=15, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("INSERT INTO app_state VALUES ('bk:count', '0', CURRENT_TIMESTAMP)")
        n = 0
        while not stop.is_set():
            n += 1
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO app_state VALUES (?, 'x', CURRENT_TIMESTAMP)", (f"bk:{n}",))
            conn.execute("UPDATE app_state SET value = ? WHERE key = 'bk:count'", (str(n),))
            conn.execute("COMMIT")
            written.append(n)
            started.set()
        conn.close()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert started.wait(10)
        counts = []
        for i in range(8):
            result = runner.invoke(args=["backup", str(tmp_path / f"backup{i}")])
            assert result.exit_code == 0, result.output
            copy = tmp_path / f"backup{i}" / "pp2eb.sqlite"
            assert rows(copy, "PRAGMA integrity_check") == [("ok",)]
            (count,) = rows(copy, "SELECT value FROM app_state WHERE key = 'bk:count'")[0]
            (present,) = rows(copy, "SELECT count(*) FROM app_state WHERE key GLOB 'bk:[0-9]*'")[0]
            assert int(count) == present
            counts.append(present)
    finally:
        stop.set()
        thread.join()
    # The writer really was writing during the backups, not before or after them.
    assert len(set(counts)) > 1 and counts == sorted(counts), counts
    assert written[-1] > counts[-1]


@pytest.mark.sqlite
def test_restore_of_an_older_backup_books_nothing_twice(installed, tmp_path, sandbox):
    """Back up, book more, lose the instance folder, restore as the README says, sync again."""
    instance, make, app = installed
    with app.app_context():
        assert jobs.run("orders", link=the_link(), order_ids=list(range(1, 11))).booked >= 5
        early = db.session.execute(
            db.select(OrderRecord.order_id).filter_by(state=OrderState.BOOKED)
        ).scalars()
        early = sorted(early)
    result = app.test_cli_runner().invoke(args=["backup", str(tmp_path / "backup")])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert (
            jobs.run("sync", link=the_link()).booked > 30
        )  # booked after the backup: unknown to it
        db.engine.dispose()

    # The disaster: the whole instance folder is gone.
    shutil.rmtree(instance)
    # The restore, step by step as in the README: the backup's files into an empty instance
    # folder (no -wal or -shm of another database), then `make migrate`, then start.
    instance.mkdir()
    for file in (tmp_path / "backup").iterdir():
        shutil.copy2(file, instance / file.name)
    restored = make()

    with restored.app_context():
        for service, secret in (("plugandpay", PLUGANDPAY_KEY), ("eboekhouden", EBOEKHOUDEN_TOKEN)):
            credential = db.session.execute(
                db.select(Credential).filter_by(service=service)
            ).scalar_one()
            assert connections.read_secret(credential) == secret
        booked = db.session.execute(
            db.select(OrderRecord.order_id).filter_by(state=OrderState.BOOKED)
        ).scalars()
        assert sorted(booked) == early
        # Logins made before the backup still hold, and the owner can log in.
        client = restored.test_client()
        assert AuthActions(client).login().status_code == 302
        assert client.get("/orders").status_code == 200
        again = jobs.run("sync", link=the_link())
        assert again.status == RunStatus.FINISHED
        total = db.session.execute(
            db.select(db.func.count()).where(OrderRecord.state == OrderState.BOOKED)
        ).scalar_one()
    # What the lost rows had booked is recognised in e-Boekhouden, not booked again.
    assert_exactly_once(sandbox, total)


@pytest.mark.sqlite
def test_an_existing_backup_is_never_overwritten(app, runner, tmp_path):
    folder = tmp_path / "backup"
    assert runner.invoke(args=["backup", str(folder)]).exit_code == 0
    before = (folder / "pp2eb.sqlite").read_bytes()
    result = runner.invoke(args=["backup", str(folder)])
    assert result.exit_code == 1
    assert "already holds a backup" in result.output
    assert (folder / "pp2eb.sqlite").read_bytes() == before


@pytest.mark.sqlite
def test_a_full_disk_leaves_no_half_copy(app, tmp_path):
    """The copy process may write only 16 KiB per file (RLIMIT_FSIZE), like a full disk."""
    source = database_path(app.config["SQLALCHEMY_DATABASE_URI"])
    with app.app_context():
        for i in range(300):
            db.session.execute(
                db.text("INSERT INTO app_state VALUES (:k, :v, CURRENT_TIMESTAMP)"),
                {"k": f"filler:{i}", "v": "x" * 500},
            )
        db.session.commit()
        db.engine.dispose()
    assert source.stat().st_size > 64 * 1024  # the last connection closed: WAL checkpointed
    folder = tmp_path / "backup"
    env = {
        **os.environ,
        "PP2EB_INSTANCE_PATH": app.instance_path,
        "PP2EB_SECRET_KEY": app.config["SECRET_KEY"],
        "PP2EB_ENCRYPTION_KEY": app.config["ENCRYPTION_KEY"],
        "PP2EB_SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
    }

    def small_files():
        resource.setrlimit(resource.RLIMIT_FSIZE, (16 * 1024, 16 * 1024))

    proc = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", "backup", str(folder)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=small_files,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "The database could not be copied" in proc.stderr and "Traceback" not in proc.stderr
    assert list(folder.iterdir()) == []  # no .part file, no copy


def test_only_an_sqlite_file_can_be_backed_up():
    with pytest.raises(BackupError, match="this database is PostgreSQL: back it up with pg_dump"):
        database_path("postgresql+psycopg://u@localhost/pp2eb")
    with pytest.raises(BackupError, match="SQLite"):
        database_path("mysql://u@localhost/pp2eb")
    with pytest.raises(BackupError):
        database_path("sqlite://")
    assert database_path("sqlite:////var/lib/pp2eb/pp2eb.sqlite") == Path(
        "/var/lib/pp2eb/pp2eb.sqlite"
    )


def test_on_postgresql_flask_backup_says_in_one_line_to_use_pg_dump(tmp_path, databases):
    """There is no file to copy: exit 1, one line naming pg_dump, no traceback, nothing made."""
    # Without the PostgreSQL test server: a server that is not there (backup never connects).
    url = databases.empty() if databases.postgres else "postgresql+psycopg://pp2eb@127.0.0.1:1/x"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PP2EB_")}
    env.update(PP2EB_INSTANCE_PATH=str(tmp_path / "instance"), PP2EB_DATABASE_URL=url)
    folder = tmp_path / "backup"
    proc = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", "backup", str(folder)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert proc.stderr.strip() == (
        "Error: flask backup copies an SQLite database file; this database is PostgreSQL: back "
        'it up with pg_dump (README, "PostgreSQL"), and copy the instance folder\'s '
        "encryption.key and secret_key with it."
    )
    assert not folder.exists()
