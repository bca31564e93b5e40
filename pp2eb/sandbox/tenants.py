"""The tenants of a sandbox app: several independent accounts behind one API, one per credential.

Each sandbox serves several tenants (Plug&Pay tenants, e-Boekhouden administrations), so that
tests, benchmarks and the demo can show links that really are apart. A tenant is named by the
credentials that reach it (its API key or token); the app declares the ones it knows from the
start, and any name of the form ``<prefix>-<n>`` (``n`` from 1 to ``MAX_NUMBERED``, no leading
zero) is a numbered tenant of its own, made on first use: ``pp-sandbox-key-7`` is Plug&Pay
tenant 7, ``eb-sandbox-token-7`` e-Boekhouden administration 7. No Flask here; the controls
(``controls.py``) and each app pick the tenant of a request.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable
from typing import Any, Generic, Protocol, TypeVar

MAX_NUMBERED = 1000


def numbered(prefix: str, name: str) -> int | None:
    """``n`` when ``name`` is ``<prefix>-<n>`` with 1 <= n <= ``MAX_NUMBERED``, else None."""
    found = re.fullmatch(re.escape(prefix) + r"-([1-9][0-9]{0,3})", name)
    if found is None or int(found.group(1)) > MAX_NUMBERED:
        return None
    return int(found.group(1))


class Tenant(Protocol):
    """What the controls need of a tenant: its names, its controls, a reset and a description."""

    names: tuple[str, ...]
    controls: Any  # its ``controls.Controls`` (not imported: the controls import this module)

    def reset(self) -> None:
        """Put the tenant's data back to its seed."""

    def describe(self) -> dict[str, Any]:
        """The tenant as ``GET /_sandbox/tenants`` shows it."""


class Spec(Protocol):
    """How to make a tenant: ``names`` are the credentials that name it, the first one first."""

    names: tuple[str, ...]


T = TypeVar("T", bound=Tenant)
S = TypeVar("S", bound=Spec)


class Tenants(Generic[S, T]):
    """The tenants of one sandbox app, found by any of their names; thread-safe.

    ``specs`` are the tenants the app knows from the start (the first is the default, made at
    once); ``numbered(name)`` gives the spec a name stands for when it is not one of those (the
    ``...-<n>`` keys), or None. A tenant is made by ``make(spec)`` the first time one of its
    names is asked for. Finding a made tenant is one dict lookup without a lock, so many
    tenants never slow down the calls of one.
    """

    def __init__(
        self,
        specs: Iterable[S],
        make: Callable[[S], T],
        numbered: Callable[[str], S | None] = lambda name: None,
    ) -> None:
        self._lock = threading.Lock()
        specs = list(specs)
        self._specs: dict[str, S] = {}
        for spec in specs:
            for name in spec.names:
                self._specs.setdefault(name, spec)
        self._make, self._numbered = make, numbered
        # The default is made even when no name reaches it (an app that accepts no key).
        self.default: T = make(specs[0])
        self._made: dict[str, T] = dict.fromkeys(specs[0].names, self.default)
        self._order: list[T] = [self.default]

    def get(self, name: str | None) -> T | None:
        """The tenant ``name`` names (made now if need be), or None when it is no tenant's."""
        if not name:
            return None
        tenant = self._made.get(name)
        if tenant is not None:
            return tenant
        spec = self._specs.get(name) or self._numbered(name)
        if spec is None:
            return None
        return self._build(spec)

    def made(self) -> list[T]:
        """Every tenant made so far, the default first."""
        with self._lock:
            return list(self._order)

    def _build(self, spec: S) -> T:
        with self._lock:
            tenant = self._made.get(spec.names[0])
            if tenant is None:
                tenant = self._make(spec)
                self._order.append(tenant)
                for name in spec.names:
                    self._made.setdefault(name, tenant)
            return tenant
