"""Serving: a port that is taken is said in one line, never a traceback."""

from __future__ import annotations

import socket

import pytest
import requests

from pp2eb import serve


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
