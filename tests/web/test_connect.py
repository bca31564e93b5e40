import logging

import pytest

from pp2eb.extensions import db
from pp2eb.models import Credential, SyncRun, utcnow
from pp2eb.sandbox import EBOEKHOUDEN_TOKEN, PLUGANDPAY_KEY
from pp2eb.states import RunStatus
from tests.conftest import csrf_token
from tests.engine_helpers import the_link

PAGES = {
    "plugandpay": ("api_key", PLUGANDPAY_KEY),
    "eboekhouden": ("token", EBOEKHOUDEN_TOKEN),
}


def submit(client, service, secret, base_url=""):
    field, _ = PAGES[service]
    url = f"/connect/{service}"
    token = csrf_token(client, url)
    return client.post(
        url,
        data={field: secret, "base_url": base_url, "csrf_token": token},
        follow_redirects=True,
    )


def stored(app, service):
    with app.app_context():
        return db.session.execute(
            db.select(Credential).filter_by(service=service)
        ).scalar_one_or_none()


@pytest.fixture
def logged_in(client, auth, sandbox):
    auth.login()
    return client


@pytest.mark.parametrize("service", sorted(PAGES))
def test_page_shows_not_connected(logged_in, service):
    html = logged_in.get(f"/connect/{service}").get_data(as_text=True)
    assert "Not connected" in html


def test_connect_plugandpay_shows_tenant(app, logged_in):
    html = submit(logged_in, "plugandpay", PLUGANDPAY_KEY).get_data(as_text=True)
    assert "Connected to" in html and "tenant" in html
    credential = stored(app, "plugandpay")
    assert credential is not None
    assert PLUGANDPAY_KEY.encode() not in credential.secret_encrypted
    assert PLUGANDPAY_KEY not in html


def test_connect_eboekhouden_shows_administration(app, logged_in):
    html = submit(logged_in, "eboekhouden", EBOEKHOUDEN_TOKEN).get_data(as_text=True)
    assert "Connected to administration with" in html
    assert "ledgers" in html
    credential = stored(app, "eboekhouden")
    assert EBOEKHOUDEN_TOKEN.encode() not in credential.secret_encrypted
    with app.app_context():
        from pp2eb.setup.connections import read_secret

        assert read_secret(credential) == EBOEKHOUDEN_TOKEN


@pytest.mark.parametrize(
    ("service", "expected"),
    [("plugandpay", "refused the API key"), ("eboekhouden", "refused the API token")],
)
def test_wrong_key_is_explained_and_not_stored(app, logged_in, service, expected):
    html = submit(logged_in, service, "not-the-key").get_data(as_text=True)
    assert expected in html
    assert stored(app, service) is None


def test_unreachable_api(app, logged_in):
    html = submit(logged_in, "plugandpay", PLUGANDPAY_KEY, "http://127.0.0.1:9/v2")
    assert "could not be reached" in html.get_data(as_text=True)
    assert stored(app, "plugandpay") is None


def test_api_error_500(app, logged_in, sandbox):
    sandbox.control(
        "plugandpay",
        "POST",
        "faults",
        json={"path": "/v2/auth/tenants/me", "status": 500, "times": 10},
    )
    html = submit(logged_in, "plugandpay", PLUGANDPAY_KEY).get_data(as_text=True)
    assert "could not be reached or did not answer in time" in html
    assert stored(app, "plugandpay") is None


def test_timeout(app, logged_in, sandbox):
    app.config["HTTP_TIMEOUT"] = 0.3
    sandbox.control(
        "eboekhouden",
        "POST",
        "faults",
        json={"path": "/v1/session", "status": 0, "delay": 1.0, "times": 10},
    )
    html = submit(logged_in, "eboekhouden", EBOEKHOUDEN_TOKEN).get_data(as_text=True)
    assert "did not answer in time" in html
    assert stored(app, "eboekhouden") is None


def test_invalid_base_url_is_a_field_error(logged_in):
    html = submit(logged_in, "plugandpay", PLUGANDPAY_KEY, "not a url").get_data(as_text=True)
    assert "Invalid URL" in html


def test_disconnect_deletes_secret(app, logged_in):
    submit(logged_in, "plugandpay", PLUGANDPAY_KEY)
    token = csrf_token(logged_in, "/connect/plugandpay")
    html = logged_in.post(
        "/connect/plugandpay/disconnect", data={"csrf_token": token}, follow_redirects=True
    ).get_data(as_text=True)
    assert "Disconnected" in html
    assert stored(app, "plugandpay") is None


def test_post_without_csrf_is_refused(app, logged_in):
    resp = logged_in.post("/connect/plugandpay", data={"api_key": PLUGANDPAY_KEY})
    assert resp.status_code == 400
    assert stored(app, "plugandpay") is None
    assert logged_in.post("/connect/plugandpay/disconnect").status_code == 400


def test_unknown_service_is_404(logged_in):
    assert logged_in.get("/connect/nothing").status_code == 404


def test_unfinished_setup_is_continued_from_the_dashboard(logged_in):
    assert logged_in.get("/").headers["Location"] == "/connect/plugandpay"
    submit(logged_in, "plugandpay", PLUGANDPAY_KEY)
    submit(logged_in, "eboekhouden", EBOEKHOUDEN_TOKEN)
    assert logged_in.get("/").headers["Location"].startswith("/setup/")


def test_secrets_never_logged(app, logged_in, caplog, sandbox):
    caplog.set_level(logging.DEBUG)
    submit(logged_in, "plugandpay", PLUGANDPAY_KEY)
    submit(logged_in, "eboekhouden", EBOEKHOUDEN_TOKEN)
    submit(logged_in, "eboekhouden", "wrong-token-value-123")
    sandbox.control(
        "plugandpay",
        "POST",
        "faults",
        json={"path": "/v2/auth/tenants/me", "status": 500, "times": 10},
    )
    submit(logged_in, "plugandpay", "another-wrong-key-456")
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert caplog.records, "expected some log records"
    for secret in (
        PLUGANDPAY_KEY,
        EBOEKHOUDEN_TOKEN,
        "wrong-token-value-123",
        "another-wrong-key-456",
    ):
        assert secret not in text


# The command line


def test_cli_connect_both(app, runner, sandbox):
    result = runner.invoke(args=["connect", "plugandpay", "--api-key", PLUGANDPAY_KEY])
    assert result.exit_code == 0, result.output
    assert "Connected Plug&Pay" in result.output
    result = runner.invoke(args=["connect", "eboekhouden", "--token", EBOEKHOUDEN_TOKEN])
    assert result.exit_code == 0, result.output
    assert "administration with" in result.output
    assert stored(app, "plugandpay") and stored(app, "eboekhouden")


def test_cli_wrong_key_exits_1(app, runner, sandbox):
    result = runner.invoke(args=["connect", "plugandpay", "--api-key", "nope"])
    assert result.exit_code == 1
    assert "refused the API key" in result.output
    assert "nope" not in result.output
    assert stored(app, "plugandpay") is None


def test_cli_base_url_and_disconnect(app, runner, sandbox):
    result = runner.invoke(
        args=[
            "connect",
            "eboekhouden",
            "--token",
            EBOEKHOUDEN_TOKEN,
            "--base-url",
            sandbox.eboekhouden_url + "/",
        ]
    )
    assert result.exit_code == 0, result.output
    assert stored(app, "eboekhouden").base_url == sandbox.eboekhouden_url
    result = runner.invoke(args=["disconnect", "eboekhouden"])
    assert "stored key is deleted" in result.output
    assert stored(app, "eboekhouden") is None


def test_cli_unreachable_exits_1(runner):
    result = runner.invoke(
        args=[
            "connect",
            "eboekhouden",
            "--token",
            EBOEKHOUDEN_TOKEN,
            "--base-url",
            "http://127.0.0.1:9/v1",
        ]
    )
    assert result.exit_code == 1
    assert "could not be reached" in result.output


# --- a stored key the current encryption key cannot read ----------------------------------


def test_lost_encryption_key_asks_to_connect_again(app, logged_in, runner):
    from cryptography.fernet import Fernet

    from pp2eb.runs import jobs
    from pp2eb.setup import crypto
    from tests.engine_helpers import configure

    configure(app)
    app.extensions["pp2eb_vault"] = crypto.Vault(Fernet.generate_key())  # the key file replaced

    with app.app_context(), pytest.raises(jobs.NotReady, match="Connect Plug&Pay again"):
        jobs.build_clients(the_link())
    result = runner.invoke(args=["sync"])
    assert result.exit_code == 1
    assert "cannot be read with this install's encryption key" in result.output
    assert "Traceback" not in result.output

    fragment = logged_in.get("/htmx/ledgers/debtor_ledger", headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    text = fragment.get_data(as_text=True)
    assert "Connect e-Boekhouden.nl again" in text
    assert "/connect/eboekhouden" in text

    with app.app_context():
        db.session.add(
            SyncRun(
                link_id=the_link().id, kind="sync", status=RunStatus.FINISHED, started_at=utcnow()
            )
        )
        db.session.commit()
    page = logged_in.get("/").get_data(as_text=True)
    assert page.count("Connect again") == 2


def test_connecting_again_after_a_lost_key_works(app, logged_in):
    from cryptography.fernet import Fernet

    from pp2eb.setup import connections, crypto

    submit(logged_in, "plugandpay", PLUGANDPAY_KEY)
    app.extensions["pp2eb_vault"] = crypto.Vault(Fernet.generate_key())
    with app.app_context():
        assert not connections.readable(stored(app, "plugandpay"))
    submit(logged_in, "plugandpay", PLUGANDPAY_KEY)
    with app.app_context():
        credential = stored(app, "plugandpay")
        assert connections.readable(credential)
        assert connections.read_secret(credential) == PLUGANDPAY_KEY
