"""People and access: an admin sees every link; a member only the links granted to them.

The walk: every route of the app, with every method it answers, under the address of a link the
member was not granted (its pages, HTMX fragments, exports, forms and settings) answers 404, as
an unknown address does, and changes nothing. The same walk under the member's own link reaches
the pages. The webhook is the only way in without a login, and it needs the link's secret.
"""

from __future__ import annotations

import pytest

from pp2eb.alerts import settings as alert_settings
from pp2eb.extensions import db
from pp2eb.models import Link
from pp2eb.runs import jobs
from pp2eb.setup import access, appstate, links, users
from pp2eb.states import Role
from tests.conftest import AuthActions, csrf_token, stored_text
from tests.engine_helpers import configure, the_link
from tests.web.test_security import urls

MEMBER = ("carla", "member password 1")


@pytest.fixture
def office(app, sandbox):
    """Shop A (synced) and Shop B (set up), and Carla, a member granted Shop B only."""
    configure(app)
    with app.app_context():
        a = the_link()
        a.name = "Shop A"
        db.session.commit()
        jobs.run("sync", link=a)
        b = links.add("Shop B")
        access.grant(users.add(*MEMBER, Role.MEMBER), b)
        ids = a.id, b.id
    configure(app, ids[1])
    return ids


def member(app) -> tuple:
    client = app.test_client()
    assert AuthActions(client).login(*MEMBER).status_code == 302
    return client, AuthActions(client)


def walk(app, link_id: int) -> list[tuple[str, str]]:
    """Every (method, URL) of every route under ``/links/<link_id>/``, with each sample."""
    out = []
    methods = {m for rule in app.url_map.iter_rules() for m in rule.methods} - {"HEAD", "OPTIONS"}
    for method in sorted(methods):
        for url in urls(app, method, order_ids=(31,)):
            if url.startswith("/links/1/"):
                out.append((method, f"/links/{link_id}/" + url.removeprefix("/links/1/")))
    return out


def test_a_member_gets_404_on_every_route_of_a_link_not_granted(app, office):
    a, b = office
    client, _ = member(app)
    token = csrf_token(client, f"/links/{b}/")  # a valid token: only the access check can refuse
    with app.app_context():
        before = stored_text(app)
    routes = walk(app, a)
    endpoints = {app.url_map.bind("localhost").match(url, method=m)[0] for m, url in routes}
    # Every page of a link is in the walk: all but the log-in, log-out, static files and the
    # webhook, which have no link in their address.
    every = {r.endpoint for r in app.url_map.iter_rules()}
    assert endpoints == every - {
        "static",
        "auth.login",
        "auth.login_elsewhere",
        "auth.logout",
        "hooks.plugandpay",
    }
    for method, url in routes:
        for headers in ({}, {"HX-Request": "true"}):
            resp = client.open(url, method=method, data={"csrf_token": token}, headers=headers)
            assert resp.status_code == 404, (method, url, resp.status_code)
            assert "Shop A" not in resp.get_data(as_text=True), (method, url)
    with app.app_context():
        assert stored_text(app) == before  # nothing of Shop A (nor anything else) changed


def test_the_same_walk_under_the_member_s_own_link_reaches_its_pages(app, office):
    a, b = office
    client, _ = member(app)
    answered = {}
    for method, url in walk(app, b):
        if method == "GET":
            answered[url] = client.get(url).status_code
    assert answered[f"/links/{b}/orders"] == 200
    assert answered[f"/links/{b}/"] == 200
    # Some pages answer 404 for their own reasons (an order B never saw, a step that is not
    # one); none is refused as another link's: the same walk as an admin answers the same.
    admin = app.test_client()
    AuthActions(admin).login()
    for url, status in answered.items():
        assert admin.get(url).status_code == status, url


def test_a_member_with_one_link_sees_it_as_a_one_link_install(app, office):
    a, b = office
    client, _ = member(app)
    home = client.get("/")
    html = home.get_data(as_text=True)
    assert home.status_code in (200, 302)
    assert "Shop A" not in html and "All links" not in html
    orders = client.get("/orders").get_data(as_text=True)
    assert "Shop A" not in orders
    # Short addresses are Shop B's: pausing pauses B.
    token = csrf_token(client, "/orders")
    assert client.post("/schedule/pause", data={"csrf_token": token}).status_code == 302
    with app.app_context():
        assert appstate.get(db.session.get(Link, b), appstate.SCHEDULE_PAUSED) is True
        assert appstate.get(db.session.get(Link, a), appstate.SCHEDULE_PAUSED, False) is False


def test_a_grant_taken_back_or_a_removed_link_is_a_404_at_once(app, office):
    a, b = office
    client, _ = member(app)
    assert client.get(f"/links/{b}/orders").status_code == 200
    with app.app_context():
        access.revoke(users.find(MEMBER[0]), db.session.get(Link, b))
    assert client.get(f"/links/{b}/orders").status_code == 404
    assert client.get("/orders").status_code == 404  # no link to see at all
    html = client.get("/").get_data(as_text=True)
    assert "No link is shared with you yet: ask an admin" in html and "Shop B" not in html


def test_an_admin_sees_every_link_and_a_member_s_alert_page_changes_only_its_link(app, office):
    a, b = office
    admin = app.test_client()
    AuthActions(admin).login()
    home = admin.get("/").get_data(as_text=True)
    assert f'href="/links/{a}/"' in home and f'href="/links/{b}/"' in home
    client, _ = member(app)
    page = client.get(f"/links/{b}/alerts").get_data(as_text=True)
    assert "set by an admin" in page and "smtp_host" not in page
    token = csrf_token(client, f"/links/{b}/alerts")
    saved = client.post(
        f"/links/{b}/alerts",
        data={"csrf_token": token, "link_to_addresses": "carla@shop-b.example"},
        # A member's post of the install's fields is not taken.
    )
    assert saved.status_code == 302
    refused = client.post(
        f"/links/{b}/alerts",
        data={"csrf_token": token, "link_to_addresses": "x", "smtp_host": "evil.example"},
    )
    assert "Not an e-mail address: x" in refused.get_data(as_text=True)
    with app.app_context():
        assert alert_settings.link_addresses(db.session.get(Link, b)) == ("carla@shop-b.example",)
        assert alert_settings.link_addresses(db.session.get(Link, a)) == ()
        assert not alert_settings.load().saved  # the install's settings: untouched
