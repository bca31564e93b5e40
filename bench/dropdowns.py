"""Latency of the set-up dropdowns (HTMX fragments), as a browser asks for them.

Logged in as ``bench``, each fragment is asked ``count`` times cold (``?refresh=1``: the list is
read from the API again) and ``count`` times warm (from pp2eb's lookup cache), with the
``HX-Request`` header htmx sends. Each answer must be the fragment with its ``<select>`` and no
problem message, or the measurement stops: a fast error page would flatter the figures.
"""

from __future__ import annotations

import math
import re
import time

import requests

# The ledger dropdown asks e-Boekhouden.nl (ledgers); the VAT-code rows ask Plug&Pay (its tax
# rates) and offer e-Boekhouden's VAT codes for each.
FRAGMENTS = {
    "ledger dropdown (/htmx/ledgers/revenue_ledger)": "/htmx/ledgers/revenue_ledger",
    "VAT-code rows (/htmx/vat-rows)": "/htmx/vat-rows",
}
CSRF = re.compile(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"')
PROBLEM = "load-problem"


class FragmentError(Exception):
    """A fragment answered with something else than its dropdown."""


def percentile(samples: list[float], share: float) -> float:
    """The nearest-rank percentile (``share`` 0.5 is the median)."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def log_in(root: str, user: str, password: str) -> requests.Session:
    """A session logged in to pp2eb at ``root``."""
    session = requests.Session()
    page = session.get(f"{root}/auth/login", timeout=30)
    match = CSRF.search(page.text)
    if match is None:
        raise FragmentError("no CSRF token on the login page")
    answer = session.post(
        f"{root}/auth/login",
        data={"username": user, "password": password, "csrf_token": match.group(1)},
        timeout=30,
        allow_redirects=False,
    )
    if answer.status_code != 302:
        raise FragmentError(f"login failed with HTTP {answer.status_code}")
    return session


def _timed(session: requests.Session, url: str) -> float:
    started = time.perf_counter()
    answer = session.get(url, headers={"HX-Request": "true"}, timeout=30)
    elapsed = time.perf_counter() - started
    if answer.status_code != 200 or "<select" not in answer.text or PROBLEM in answer.text:
        raise FragmentError(f"{url} answered HTTP {answer.status_code} without its dropdown")
    return elapsed


def measure(root: str, user: str, password: str, count: int) -> dict[str, dict[str, list]]:
    """Seconds per request for each fragment: ``{"name": {"cold": [...], "warm": [...]}}``."""
    session = log_in(root, user, password)
    results: dict[str, dict[str, list]] = {}
    for name, path in FRAGMENTS.items():
        cold = [_timed(session, f"{root}{path}?refresh=1") for _ in range(count)]
        _timed(session, f"{root}{path}")  # the cache is filled by the last cold one already
        warm = [_timed(session, f"{root}{path}") for _ in range(count)]
        results[name] = {"cold": cold, "warm": warm}
    return results
