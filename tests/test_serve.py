"""Serving: a port that is taken is said in one line, never a traceback; the demo's links."""

from __future__ import annotations

import socket

import pytest
import requests

from pp2eb import serve
from pp2eb.extensions import db
from pp2eb.models import User
from pp2eb.setup import links
from tests.engine_helpers import configure


def test_a_taken_port_is_said_in_one_line_with_what_to_do(app):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        app.config.update(HOST="127.0.0.1", PORT=taken.getsockname()[1], DEMO=False)
        with pytest.raises(SystemExit) as stopped:
            serve.main(app)
    message = str(stopped.value.code)
    assert message.startswith(f"pp2eb cannot listen on 127.0.0.1:{app.config['PORT']}: ")
    assert "in use" in message and "PP2EB_PORT=" in message and "\n" not in message


def test_a_taken_sandbox_port_is_said_in_one_line_with_what_to_do(app, capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        app.config.update(DEMO=True, SANDBOX_HOST="127.0.0.1", SANDBOX_PORT=taken.getsockname()[1])
        with pytest.raises(SystemExit) as stopped:
            serve.main(app)
    message = str(stopped.value.code)
    assert message.startswith(f"The sandbox cannot listen on port {app.config['SANDBOX_PORT']}: ")
    assert "in use" in message and "PP2EB_SANDBOX_PORT=" in message and "\n" not in message
    assert capsys.readouterr().err == ""  # nobody else's advice printed besides it


def test_the_demo_sandbox_answers_on_its_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    serve.start_sandbox("127.0.0.1", port)

    answer = requests.get(
        f"http://127.0.0.1:{port}/plugandpay/v2/tenant",
        headers={"Accept": "application/json"},
        timeout=5,
    )
    assert answer.status_code == 401  # the sandbox, asking for its key
    assert answer.json() == {"message": "Unauthenticated."}


def test_a_new_demo_install_has_the_demo_s_two_links_each_with_its_own_keys(app, client, auth):
    from pp2eb.sandbox import DEMO_TENANTS

    app.config["DEMO"] = True
    serve.ensure_demo_user(app)
    with app.app_context():
        names = [(link.id, link.name) for link in links.live()]
    assert [name for _, name in names] == [t.name for t in DEMO_TENANTS]
    auth.login("demo", "demo")
    for (link_id, _), tenant in zip(names, DEMO_TENANTS, strict=True):
        page = client.get(f"/links/{link_id}/connect/plugandpay").get_data(as_text=True)
        assert f'<code id="demo-secret">{tenant.key}</code>' in page
        page = client.get(f"/links/{link_id}/connect/eboekhouden").get_data(as_text=True)
        assert f'<code id="demo-secret">{tenant.token}</code>' in page
    # Made once: a demo link removed stays removed at the next start.
    with app.app_context():
        links.remove(links.pick(DEMO_TENANTS[1].name))
    serve.ensure_demo_user(app)
    with app.app_context():
        assert [link.name for link in links.live()] == [DEMO_TENANTS[0].name]


def test_an_install_in_use_gets_no_demo_links(app, sandbox):
    configure(app)  # connected: somebody's own link
    with app.app_context():
        db.session.execute(db.delete(User).filter_by(username="demo"))
        db.session.commit()
    serve.ensure_demo_user(app)
    with app.app_context():
        assert len(links.live()) == 1
