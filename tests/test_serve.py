"""Serving: a port that is taken is said in one line, never a traceback."""

from __future__ import annotations

import socket

import pytest

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
