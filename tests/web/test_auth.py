from pp2eb.extensions import db
from pp2eb.models import User


def test_pages_need_login(client):
    for url in ("/", "/connect/plugandpay", "/connect/eboekhouden"):
        resp = client.get(url)
        assert resp.status_code == 302
        assert resp.headers["Location"].startswith("/auth/login")


def test_htmx_request_without_login_gets_redirect_header(client):
    resp = client.get("/", headers={"HX-Request": "true"})
    assert resp.status_code == 401
    assert resp.headers["HX-Redirect"] == "/auth/login"


def test_login_page_and_static_are_public(client):
    assert client.get("/auth/login").status_code == 200
    assert client.get("/static/htmx.min.js").status_code == 200


def test_login_and_logout(client, auth):
    resp = auth.login()
    assert resp.status_code == 302 and resp.headers["Location"] == "/"
    assert client.get("/orders").status_code == 200
    auth.logout()
    assert client.get("/orders").status_code == 302


def test_wrong_password(client, auth):
    resp = auth.login(password="wrong")
    assert resp.status_code == 200
    assert "wrong password" in resp.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_login_redirects_only_to_local_paths(client):
    from tests.conftest import csrf_token

    token = csrf_token(client, "/auth/login")
    resp = client.post(
        "/auth/login?next=//evil.example/x",
        data={"username": "owner", "password": "correct horse battery", "csrf_token": token},
    )
    assert resp.headers["Location"] == "/"


def test_login_post_without_csrf_is_refused(client):
    resp = client.post(
        "/auth/login", data={"username": "owner", "password": "correct horse battery"}
    )
    assert resp.status_code == 400
    assert client.get("/").status_code == 302


def test_password_is_hashed(app):
    with app.app_context():
        user = db.session.execute(db.select(User).filter_by(username="owner")).scalar_one()
        assert "correct horse battery" not in user.password_hash
        assert user.password_hash.startswith(("scrypt:", "pbkdf2:"))


def test_create_user_command(runner, client, auth):
    result = runner.invoke(args=["create-user", "anna", "--password", "s3cret-pass"])
    assert result.exit_code == 0, result.output
    assert auth.login("anna", "s3cret-pass").headers["Location"] == "/"


def test_login_keeps_the_chosen_language(client, auth):
    client.get("/auth/login?lang=nl")
    auth.login()
    assert 'lang="nl"' in client.get("/orders").get_data(as_text=True)


def test_the_short_login_address_leads_to_the_login_page_and_then_home(client, auth):
    short = client.get("/login")
    assert short.status_code == 302 and short.headers["Location"] == "/auth/login"
    assert auth.login().headers["Location"] == "/"
    assert client.get("/login").headers["Location"] == "/auth/login"
