"""The e-Boekhouden sandbox's administrations: each API token reaches one, with its own data.

An administration holds its ``Store`` (ledgers, relations, mutations, invoices, templates,
sessions, VAT rounding) and its controls (faults, rate limit, latency, stats). They are the
demo's (``DEMO_TENANTS``: the first is the default) and the numbered ones,
``eb-sandbox-token-<n>``, made on first use; every one starts with the seed chart of accounts,
its ids ``ID_SPAN`` apart from the others'. ``POST /v1/session`` opens a session in the
administration whose API token it was given, and a session token reaches only that
administration. No routes here: ``__init__.py`` picks the administration of each request.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from pp2eb.sandbox import DEMO_TENANTS, EBOEKHOUDEN_TOKEN
from pp2eb.sandbox.controls import Controls
from pp2eb.sandbox.eboekhouden.errors import ApiError
from pp2eb.sandbox.eboekhouden.store import Store
from pp2eb.sandbox.tenants import Tenants, numbered

# Ids of administration k start k * ID_SPAN above the default's. The highest, of numbered
# administration MAX_NUMBERED, stay below 2**31 (a test holds it): a client that keeps ids in
# 32 bits still works.
ID_SPAN = 1_000_000


@dataclass(frozen=True)
class AdministrationSpec:
    """How to make one administration: its API tokens (the first names it) and its id place."""

    names: tuple[str, ...]
    place: int  # the ids lie place * ID_SPAN above the default's


class Administration:
    """One e-Boekhouden administration of the sandbox: its data and its controls."""

    def __init__(self, spec: AdministrationSpec, *, session_ttl: int, latency_ms: int) -> None:
        self.names = spec.names
        self.token = spec.names[0] if spec.names else None  # names it in the controls
        self.store = Store(spec.names, session_ttl, spec.place * ID_SPAN)
        self.controls = Controls(latency_ms=latency_ms)

    def reset(self) -> None:
        """Data and settings back to the seed; open sessions stay open."""
        self.store.reset()

    def describe(self) -> dict[str, Any]:
        """``{"tenant": its first token, "mutations", "open_sessions"}`` for the controls."""
        with self.store.lock:
            return {
                "tenant": self.token,
                "mutations": len(self.store.mutations),
                "open_sessions": len(self.store.sessions),
            }


class Administrations:
    """The administrations of one sandbox app, and which one holds each session token."""

    def __init__(
        self, api_tokens: tuple[str, ...], *, session_ttl: int, latency_ms: int = 0
    ) -> None:
        specs = [AdministrationSpec(tuple(api_tokens), 0)]
        specs += [AdministrationSpec((d.token,), n) for n, d in enumerate(DEMO_TENANTS[1:], 1)]

        def make(spec: AdministrationSpec) -> Administration:
            return Administration(spec, session_ttl=session_ttl, latency_ms=latency_ms)

        self.tenants: Tenants[AdministrationSpec, Administration] = Tenants(
            specs, make, _numbered_spec
        )
        self._lock = threading.Lock()
        self._owners: dict[str, Administration] = {}
        self._prune_at = 1024

    @property
    def default(self) -> Administration:
        """The administration of ``EBOEKHOUDEN_TOKEN`` (or the app's first API token)."""
        return self.tenants.default

    def by_access_token(self, access_token: str | None) -> Administration | None:
        """The administration this API token (valid or revoked) belongs to, or None."""
        if not access_token:
            return None
        # First the one the token names (it may have been given other tokens since), then any
        # that was given this token by /_sandbox/config.
        named = self.tenants.get(access_token)
        if named is not None and named.store.knows(access_token):
            return named
        for one in self.tenants.made():
            if one.store.knows(access_token):
                return one
        return named

    def start_session(self, admin: Administration | None, access_token: str) -> dict[str, Any]:
        """Open a session in ``admin`` (that of ``access_token``): ``{token, expiresIn}``."""
        if admin is None:
            # inferred: no documented code for an unknown token; one client keys on the title.
            raise ApiError(401, None, "Login failed.", title="Login failed")
        answer = admin.store.start_session(access_token)
        with self._lock:
            self._owners[answer["token"]] = admin
            if len(self._owners) > self._prune_at:
                # Forget the tokens whose administration ended them, so a long benchmark
                # does not pile them up.
                self._owners = {t: a for t, a in self._owners.items() if a.store.has_session(t)}
                self._prune_at = max(1024, 2 * len(self._owners))
        return answer

    def owner(self, session_token: str) -> Administration | None:
        """The administration that opened this session token, or None."""
        return self._owners.get(session_token) if session_token else None


def _numbered_spec(token: str) -> AdministrationSpec | None:
    n = numbered(EBOEKHOUDEN_TOKEN, token)
    return None if n is None else AdministrationSpec((token,), len(DEMO_TENANTS) - 1 + n)
