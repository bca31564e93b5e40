import os
import stat

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from pp2eb import create_app
from pp2eb.extensions import db
from tests.conftest import csrf_token


def test_instance_folder_secret_key_and_encryption_key(tmp_path, monkeypatch):
    instance = tmp_path / "inst"
    monkeypatch.setenv("PP2EB_INSTANCE_PATH", str(instance))
    app = create_app()
    assert app.instance_path == str(instance)
    secret_file = instance / "secret_key"
    assert app.config["SECRET_KEY"] == secret_file.read_text().strip()
    for name in ("secret_key", "encryption.key"):
        assert stat.S_IMODE(os.stat(instance / name).st_mode) == 0o600
    # A restart keeps both keys.
    assert create_app().config["SECRET_KEY"] == app.config["SECRET_KEY"]
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{instance / 'pp2eb.sqlite'}"


def test_config_file_then_environment_then_test_config(tmp_path, monkeypatch):
    instance = tmp_path / "inst"
    instance.mkdir()
    (instance / "config.py").write_text("SANDBOX_PORT = 6001\nHTTP_TIMEOUT = 7\nDEMO = True\n")
    monkeypatch.setenv("PP2EB_INSTANCE_PATH", str(instance))
    monkeypatch.setenv("PP2EB_HTTP_TIMEOUT", "9")
    app = create_app({"DEMO": False})
    assert app.config["SANDBOX_PORT"] == 6001
    assert app.config["HTTP_TIMEOUT"] == 9
    assert app.config["DEMO"] is False
    assert not app.config["TESTING"]


@pytest.mark.sqlite
def test_migrations_create_every_table_with_wal(tmp_path, monkeypatch):
    monkeypatch.setenv("PP2EB_INSTANCE_PATH", str(tmp_path))
    app = create_app()
    with app.app_context():
        upgrade()
        tables = set(sa.inspect(db.engine).get_table_names())
        assert set(db.metadata.tables) <= tables
        assert "alembic_version" in tables
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_every_route_but_login_static_and_the_webhook_needs_login(app, client):
    # A valid CSRF token (from the public login page), so that only the login check can refuse.
    # The webhook is public, guarded by its secret (tests/web/test_security.py, test_webhooks.py).
    token = csrf_token(client, "/auth/login")
    for rule in app.url_map.iter_rules():
        if rule.endpoint in ("auth.login", "static", "hooks.plugandpay"):
            continue
        url = rule.rule.replace("<service>", "plugandpay")
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            resp = client.open(url, method=method, data={"csrf_token": token})
            assert resp.status_code in (302, 401), (method, url, resp.status_code)
            if resp.status_code == 302:
                assert resp.headers["Location"].startswith("/auth/login")
