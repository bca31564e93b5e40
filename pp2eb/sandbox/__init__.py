"""Sandbox servers of both APIs, for tests, benchmarks and demo mode.

``wsgi.create_sandbox()`` mounts Plug&Pay under ``/plugandpay`` and e-Boekhouden under
``/eboekhouden`` in one WSGI app, so ``flask sandbox serve --port 5001`` serves
``http://127.0.0.1:5001/plugandpay/v2/...`` and ``http://127.0.0.1:5001/eboekhouden/v1/...``.
``/mail/_sandbox/`` lists what the SMTP sink of demo mode (``pp2eb.sandbox.mail``) received.

Each sandbox serves several independent tenants, one per key or token (``tenants.py``): the
demo's ``DEMO_TENANTS``, the first of which is the default that tests use, and any number of
numbered ones (``pp-sandbox-key-<n>``, ``eb-sandbox-token-<n>``) made empty on first use.
The test controls (``controls.py``) act on one tenant, chosen with ``?tenant=<key or token>``.
"""

from __future__ import annotations

from typing import NamedTuple

PLUGANDPAY_KEY = "pp-sandbox-key"
EBOEKHOUDEN_TOKEN = "eb-sandbox-token"
# The second demo link's accounts; not of the numbered form, so a benchmark's numbered tenants
# never meet the second demo shop's orders.
PLUGANDPAY_KEY_2 = "pp-sandbox-key-second"
EBOEKHOUDEN_TOKEN_2 = "eb-sandbox-token-second"


class DemoTenant(NamedTuple):
    """One demo link: a Plug&Pay tenant and the e-Boekhouden administration it books into."""

    name: str  # the Plug&Pay tenant's name (``GET /v2/auth/tenants/me``), a link's name
    key: str  # the Plug&Pay API key
    token: str  # the e-Boekhouden API token


DEMO_TENANTS = (
    DemoTenant("Demo Webshop", PLUGANDPAY_KEY, EBOEKHOUDEN_TOKEN),
    DemoTenant("Demo Academy", PLUGANDPAY_KEY_2, EBOEKHOUDEN_TOKEN_2),
)


def numbered_key(n: int) -> str:
    """The API key of numbered Plug&Pay tenant ``n`` (1 to ``tenants.MAX_NUMBERED``), made
    empty on first use."""
    return f"{PLUGANDPAY_KEY}-{n}"


def numbered_token(n: int) -> str:
    """The API token of numbered e-Boekhouden administration ``n``, made with the seed chart on
    first use."""
    return f"{EBOEKHOUDEN_TOKEN}-{n}"


def base_urls(host: str = "127.0.0.1", port: int = 5001) -> dict[str, str]:
    """The client base URLs of a sandbox served at ``host:port``."""
    root = f"http://{host}:{port}"
    return {"plugandpay": f"{root}/plugandpay/v2", "eboekhouden": f"{root}/eboekhouden/v1"}


def mailbox_url(host: str = "127.0.0.1", port: int = 5001) -> str:
    """The page that lists the mails the demo's SMTP sink received."""
    return f"http://{host}:{port}/mail/_sandbox/"
