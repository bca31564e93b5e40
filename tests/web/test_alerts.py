"""The alerts page and its link's addresses: with one link its one address field is that
link's (the install's addresses, as before links); with several, the link's own addresses and
the install's for the links without their own. The test e-mail goes to the link's addresses."""

from __future__ import annotations

import pytest

from pp2eb.alerts import settings as alert_settings
from pp2eb.extensions import db
from pp2eb.models import Link, LinkState
from pp2eb.setup import links
from tests.alert_helpers import FORM, mails, page, send_test, sink_server, use
from tests.conftest import csrf_token
from tests.engine_helpers import the_link

sink = pytest.fixture(sink_server)
OFFICE = "office@accounting.example"


def name_first_link(app, name: str = "Bakkerij Jansen") -> int:
    with app.app_context():
        link = the_link()
        link.name = name
        db.session.commit()
        return link.id


def save(client, at: str = "", **fields):
    token = csrf_token(client, f"{at}/alerts")
    data = {**FORM, "smtp_port": "2525", **fields, "csrf_token": token}
    return client.post(f"{at}/alerts", data=data, follow_redirects=True)


def addresses(app, link_id: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The link's own addresses and where its mails go."""
    with app.app_context():
        link = db.session.get(Link, link_id)
        return alert_settings.link_addresses(link), alert_settings.load(link).to


def link_states(app) -> list[str]:
    with app.app_context():
        return list(db.session.execute(db.select(LinkState.key)).scalars())


# --- one link -------------------------------------------------------------------------------


def test_with_one_link_its_one_address_field_is_the_installs(app, client, auth):
    link_id = name_first_link(app)
    use(app, 2525, to_addresses=OFFICE)
    auth.login()
    html = page(client)
    assert '<label for="to_addresses">Send the e-mails of Bakkerij Jansen to</label>' in html
    assert f'value="{OFFICE}"' in html
    assert 'name="link_to_addresses"' not in html

    saved = save(client, to_addresses="anna@bakkerij.example; bert@bakkerij.example")
    assert "The alert settings are saved." in saved.get_data(as_text=True)
    both = ("anna@bakkerij.example", "bert@bakkerij.example")
    assert addresses(app, link_id) == ((), both)
    with app.app_context():
        assert alert_settings.load().default_to == both
    assert link_states(app) == []  # nothing per link: the install's addresses are the link's


def test_with_one_link_left_its_own_addresses_are_shown_and_saving_makes_them_the_installs(
    app, client, auth
):
    """A link that kept its own addresses after the others were removed: the page shows where
    its mails go, and saving them makes them the install's."""
    link_id = name_first_link(app)
    use(app, 2525, to_addresses=OFFICE)
    with app.app_context():
        alert_settings.save_link_addresses(db.session.get(Link, link_id), ["anna@bakkerij.example"])
    auth.login()
    html = page(client)
    assert 'value="anna@bakkerij.example"' in html and OFFICE not in html
    save(client, to_addresses="anna@bakkerij.example")
    assert addresses(app, link_id) == ((), ("anna@bakkerij.example",))
    with app.app_context():
        assert alert_settings.load().default_to == ("anna@bakkerij.example",)


def test_the_test_email_names_the_link(app, client, auth, sink):
    name_first_link(app)
    use(app, sink.port, to_addresses=OFFICE)
    auth.login()
    assert f"A test e-mail was sent to {OFFICE}." in send_test(client)
    [mail] = mails(sink)
    assert mail["to"] == [OFFICE]
    assert mail["subject"] == "pp2eb (Bakkerij Jansen): test e-mail"
    assert mail["body"].startswith("Link: Bakkerij Jansen\n")


# --- several links --------------------------------------------------------------------------


@pytest.fixture
def second_link(app) -> int:
    """A second link, "Second shop"; the tests open its pages at its own address."""
    name_first_link(app)
    with app.app_context():
        return links.add("Second shop").id


def test_with_several_links_the_page_shows_the_links_own_addresses_and_the_installs(
    app, client, auth, second_link
):
    use(app, 2525, to_addresses=OFFICE)
    auth.login()
    html = page(client, f"/links/{second_link}")
    label = '<label for="link_to_addresses">Send the e-mails of Second shop to</label>'
    assert label in html
    assert (
        '<label for="to_addresses">Send the e-mails of links without their own addresses to' in html
    )
    assert f'value="{OFFICE}"' in html

    save(
        client,
        f"/links/{second_link}",
        link_to_addresses="carla@second.example",
        to_addresses=OFFICE,
    )
    assert addresses(app, second_link) == (("carla@second.example",),) * 2
    with app.app_context():
        first = links.pick("Bakkerij Jansen").id
    assert addresses(app, first) == ((), (OFFICE,))  # the other link is left as it was
    assert 'value="carla@second.example"' in page(client, f"/links/{second_link}")

    # Emptied, the link's mails go to the install's addresses again.
    save(
        client,
        f"/links/{second_link}",
        link_to_addresses="",
        to_addresses="desk@accounting.example",
    )
    assert addresses(app, second_link) == ((), ("desk@accounting.example",))


def test_with_several_links_the_test_email_goes_to_the_links_addresses(
    app, client, auth, sink, second_link
):
    use(app, sink.port, to_addresses=OFFICE)
    auth.login()
    save(
        client,
        f"/links/{second_link}",
        smtp_port=str(sink.port),
        link_to_addresses="carla@second.example",
    )
    assert "A test e-mail was sent to carla@second.example." in send_test(
        client, f"/links/{second_link}"
    )
    [mail] = mails(sink)
    assert mail["to"] == ["carla@second.example"]
    assert mail["subject"] == "pp2eb (Second shop): test e-mail"


@pytest.mark.parametrize(
    ("link_to", "to", "error"),
    [
        ("", "", "Enter at least one address to send to."),
        ("carla@second, carla@second.example", OFFICE, "Not an e-mail address: carla@second"),
        ("", "office.accounting.example", "Not an e-mail address: office.accounting.example"),
    ],
)
def test_with_several_links_the_form_refuses_what_cannot_work(
    app, client, auth, second_link, link_to, to, error
):
    auth.login()
    resp = save(client, f"/links/{second_link}", link_to_addresses=link_to, to_addresses=to)
    assert error in resp.get_data(as_text=True)
    with app.app_context():
        assert not alert_settings.load().saved
    assert link_states(app) == []


def test_with_several_links_the_links_own_addresses_are_enough(app, client, auth, second_link):
    auth.login()
    resp = save(
        client, f"/links/{second_link}", link_to_addresses="carla@second.example", to_addresses=""
    )
    assert "The alert settings are saved." in resp.get_data(as_text=True)
    assert addresses(app, second_link) == (("carla@second.example",),) * 2
