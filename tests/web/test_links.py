"""Each link's pages: at their own address with one link, under ``/links/<id>/`` always; a link
the user may not see, a removed link, or the short address with several links is a 404; every
link has its own webhook address."""

from __future__ import annotations

import re

import pytest

from pp2eb.extensions import db
from pp2eb.models import Link, OrderRecord, WebhookQueue
from pp2eb.runs import jobs
from pp2eb.runs import webhook_inbox as inbox
from pp2eb.setup import appstate, links
from tests.conftest import csrf_token
from tests.engine_helpers import configure, shops_a_and_b, the_link

PAID = {"event": {"trigger_type": "order_paid", "triggerable_type": "order", "triggerable_id": 3}}


def hrefs(html: str) -> list[str]:
    return re.findall(r'(?:href|hx-get|hx-post|action)="([^"]+)"', html)


@pytest.fixture
def one(app, sandbox, client, auth):
    configure(app)
    with app.app_context():
        jobs.run("sync", link=the_link())
        link_id = the_link().id
    auth.login()
    return link_id


def test_with_one_link_each_page_answers_at_both_addresses(app, one, client):
    short = client.get("/orders")
    long = client.get(f"/links/{one}/orders")
    assert short.status_code == long.status_code == 200
    # The same page; only the addresses it links to differ.
    short_html, long_html = short.get_data(as_text=True), long.get_data(as_text=True)
    assert "All links" not in short_html and "All links" not in long_html
    assert "/orders/31" in hrefs(short_html) and f"/links/{one}/orders/31" in hrefs(long_html)
    # A page asked for under the link's address keeps the link in every link to a link's page,
    # and leaves the others (log-out, static files) alone.
    own = [h for h in hrefs(long_html) if h.startswith("/") and not h.startswith("/static/")]
    outside = {"/", "/auth/logout"}
    assert own and all(h.startswith(f"/links/{one}/") or h in outside for h in own), own
    assert client.get("/").status_code == 200
    assert client.get(f"/links/{one}/").status_code == 200


@pytest.fixture
def two(app, one):
    """Shop A (synced, orders booked) and Shop B (same sandbox, nothing run yet)."""
    a, b = shops_a_and_b(app)
    configure(app, b)
    return a, b


def test_with_two_links_the_short_addresses_are_gone_and_each_link_shows_its_own(app, two, client):
    a, b = two
    for url in ("/orders", "/orders/31", "/setup/", "/alerts", "/connect/plugandpay", "/runs"):
        assert client.get(url).status_code == 404, url
    a_page = client.get(f"/links/{a}/orders").get_data(as_text=True)
    b_page = client.get(f"/links/{b}/orders").get_data(as_text=True)
    assert f"/links/{a}/orders/31" in hrefs(a_page)
    assert "/orders/31" not in " ".join(hrefs(b_page))  # B has run nothing
    assert client.get(f"/links/{a}/orders/31").status_code == 200
    assert client.get(f"/links/{b}/orders/31").status_code == 404  # A's order, not B's
    # The navigation names the link and leads back to all links.
    assert "All links" in a_page and "Shop A" in a_page and "Shop B" not in a_page
    assert "Shop B" in b_page
    for missing in (999, 0):
        assert client.get(f"/links/{missing}/orders").status_code == 404


def test_a_form_under_a_link_acts_on_that_link_only(app, two, client):
    a, b = two
    token = csrf_token(client, f"/links/{b}/")
    paused = client.post(f"/links/{b}/schedule/pause", data={"csrf_token": token})
    assert paused.status_code == 302 and paused.headers["Location"] == f"/links/{b}/"
    with app.app_context():
        assert appstate.get(db.session.get(Link, b), appstate.SCHEDULE_PAUSED) is True
        assert appstate.get(db.session.get(Link, a), appstate.SCHEDULE_PAUSED, False) is False


def test_a_removed_link_s_pages_are_gone_and_its_history_stays(app, two, client):
    a, b = two
    with app.app_context():
        links.remove(db.session.get(Link, a))
    assert client.get(f"/links/{a}/orders").status_code == 404
    # B is the only link now: its pages are back at their own addresses.
    assert client.get("/orders").status_code == 200
    assert client.get(f"/links/{b}/orders").status_code == 200
    with app.app_context():
        kept = db.session.execute(
            db.select(db.func.count()).select_from(OrderRecord).filter_by(link_id=a)
        ).scalar()
        assert kept > 0


def test_each_link_has_its_own_webhook_address(app, two):
    a, b = two
    with app.app_context():
        for link_id in two:
            appstate.put(db.session.get(Link, link_id), appstate.SCHEDULE_PAUSED, True)
        secret_a = inbox.secret(db.session.get(Link, a))
        secret_b = inbox.secret(db.session.get(Link, b))
    assert secret_a != secret_b
    hook = app.test_client()
    assert hook.post(f"/hooks/plugandpay/{secret_b}", json=PAID).status_code == 202
    with app.app_context():
        queued = db.session.execute(db.select(WebhookQueue.link_id, WebhookQueue.order_id)).all()
        assert queued == [(b, 3)]
        links.remove(db.session.get(Link, b))
    # A removed link's address answers like any unknown one; the other link's still works.
    assert hook.post(f"/hooks/plugandpay/{secret_b}", json=PAID).status_code == 404
    assert hook.post(f"/hooks/plugandpay/{secret_a}", json=PAID).status_code == 202


def test_the_webhook_card_shows_each_link_s_own_address(app, two, client):
    a, b = two
    cards = {
        link_id: client.get(f"/links/{link_id}/realtime/card").get_data(as_text=True)
        for link_id in two
    }
    with app.app_context():
        ends = {link_id: inbox.secret(db.session.get(Link, link_id))[-4:] for link_id in two}
    assert ends[a] in cards[a] and ends[a] not in cards[b]
    assert ends[b] in cards[b]


def test_with_two_links_the_home_page_is_the_overview_of_both(app, two, client):
    a, b = two
    with app.app_context():
        # B's Plug&Pay key is gone: B needs attention, A (synced, nothing failed) may not.
        from pp2eb.setup import connections

        connections.disconnect(db.session.get(Link, b), "plugandpay")
    home = client.get("/")
    assert home.status_code == 200
    html = home.get_data(as_text=True)
    assert f'<a href="/links/{a}/">Shop A</a>' in html
    assert f'<a href="/links/{b}/">Shop B</a>' in html
    assert "All links" in html
    attention = client.get("/?attention=1").get_data(as_text=True)
    assert f'href="/links/{b}/"' in attention
    # Each row opens that link's dashboard, which names it and leads back.
    dashboard = client.get(f"/links/{a}/").get_data(as_text=True)
    assert "Shop A" in dashboard and 'href="/">All links' in dashboard


def test_with_no_link_left_the_home_page_says_how_to_add_one(app, two, client):
    with app.app_context():
        for link in links.live():
            links.remove(link)
    html = client.get("/").get_data(as_text=True)
    assert "No links yet. Add one with: flask links add NAME" in html
    assert client.get("/orders").status_code == 404
