"""Sandbox servers of both APIs, for tests, benchmarks and demo mode.

``wsgi.create_sandbox()`` mounts Plug&Pay under ``/plugandpay`` and e-Boekhouden under
``/eboekhouden`` in one WSGI app, so ``flask sandbox serve --port 5001`` serves
``http://127.0.0.1:5001/plugandpay/v2/...`` and ``http://127.0.0.1:5001/eboekhouden/v1/...``.
``/mail/_sandbox/`` lists what the SMTP sink of demo mode (``pp2eb.sandbox.mail``) received.
"""

from __future__ import annotations

PLUGANDPAY_KEY = "pp-sandbox-key"
EBOEKHOUDEN_TOKEN = "eb-sandbox-token"


def base_urls(host: str = "127.0.0.1", port: int = 5001) -> dict[str, str]:
    """The client base URLs of a sandbox served at ``host:port``."""
    root = f"http://{host}:{port}"
    return {"plugandpay": f"{root}/plugandpay/v2", "eboekhouden": f"{root}/eboekhouden/v1"}


def mailbox_url(host: str = "127.0.0.1", port: int = 5001) -> str:
    """The page that lists the mails the demo's SMTP sink received."""
    return f"http://{host}:{port}/mail/_sandbox/"
