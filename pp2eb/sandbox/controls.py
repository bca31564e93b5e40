"""Test and demo controls shared by both sandbox APIs (not part of the real APIs).

A sandbox app serves several tenants (Plug&Pay tenants, e-Boekhouden administrations), each with
its own data and its own controls (faults, rate limit, latency, stats). An API call is served by
the tenant its credentials name (the app says how: :class:`Tenants`); a call that names none (no
key, an unknown key) meets the default tenant's controls and then the API's 401, as before.
A control acts on the tenant named by ``?tenant=<name>`` (a name is the API key or token the
tenant was made with), on the default tenant without it, and answers 404 for a name that is no
tenant's. Each sandbox app calls :func:`install_controls`, which adds under ``/_sandbox/``:

* ``POST /_sandbox/faults``   body ``{"path": "/v1/mutation", "method": "POST", "status": 500,
  "times": 1, "delay": 0, "retry_after": null, "after_write": false}``. ``path`` is an fnmatch
  pattern on the path inside the sandbox (``/v1/mutation``, ``/v2/orders*``); ``method`` defaults
  to ``*``; ``times`` is how many matching calls it hits (``null`` = until cleared). With
  ``after_write`` the request is handled normally (the write happens) and only then is the
  answer replaced by ``status`` (or, with ``status`` 0, just delayed by ``delay`` seconds, which
  acts out a client timeout after the remote write). ``status`` 429 adds ``Retry-After``.
  A body may be a list of such faults. ``GET`` lists them, ``DELETE`` clears them.
* ``POST /_sandbox/rate-limit`` body ``{"limit": 10, "window": 1.0}``: at most ``limit`` calls
  per sliding ``window`` seconds, then 429 with ``Retry-After``; ``{"limit": null}`` turns it off.
* ``POST /_sandbox/latency`` body ``{"latency_ms": 50}``: every API call of the tenant waits
  that long before it is handled, as a distant server would (benchmarks); ``GET`` shows it. Every
  tenant starts with the app's ``latency_ms`` (``create_app(latency_ms=...)``, ``python -m
  bench.sandbox_server --latency-ms 50``), and a reset puts that start value back.
* ``GET /_sandbox/stats``: calls counted per ``"METHOD /url-rule"``; ``DELETE`` zeroes them.
* ``POST /_sandbox/reset``: the tenant's own reset (data back to its seed) plus faults, limit,
  latency and stats.
* ``GET /_sandbox/tenants``: the tenants made so far (the default first), each as the app
  describes it. Tenants the app knows of but nobody used yet are made on first use.

Control routes are never faulted, rate limited, delayed or counted.
"""

from __future__ import annotations

import fnmatch
import math
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from flask import Flask, Response, g, jsonify, request

from pp2eb.sandbox.tenants import Tenant, Tenants

CONTROL_PREFIX = "/_sandbox/"
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}

ErrorResponder = Callable[[int, str], Response]


@dataclass
class Fault:
    """One injected fault; see the module docstring for the fields."""

    path: str
    method: str = "*"
    status: int = 500
    times: int | None = 1
    delay: float = 0.0
    retry_after: int | None = None
    after_write: bool = False

    def __post_init__(self) -> None:
        # A sandbox may parse JSON numbers as Decimal; time.sleep and ranges want plain numbers.
        self.delay = float(self.delay)
        self.status = int(self.status)
        if self.times is not None:
            self.times = int(self.times)
        if self.retry_after is not None:
            self.retry_after = int(self.retry_after)

    def matches(self, method: str, path: str) -> bool:
        """True when this fault applies to a call of ``method`` on ``path``."""
        if self.method != "*" and self.method.upper() != method:
            return False
        return fnmatch.fnmatchcase(path, self.path)


class Controls:
    """The mutable control state of one tenant of a sandbox app; thread-safe."""

    def __init__(self, *, rate_limit: tuple[int, float] | None = None, latency_ms: int = 0) -> None:
        self.lock = threading.Lock()
        self.faults: list[Fault] = []
        self.limit: int | None = None
        self.window: float = 1.0
        if rate_limit is not None:
            self.limit, self.window = int(rate_limit[0]), float(rate_limit[1])
        self.calls: deque[float] = deque()
        self.stats: Counter[str] = Counter()
        self.start_latency_ms = latency_ms
        self.latency_ms = latency_ms

    def clear(self) -> None:
        """Remove faults and rate limit, zero the stats, put the start latency back."""
        with self.lock:
            self.faults.clear()
            self.limit = None
            self.calls.clear()
            self.stats.clear()
            self.latency_ms = self.start_latency_ms

    def take_fault(self, method: str, path: str) -> Fault | None:
        """Return the first matching fault and use up one of its ``times``."""
        with self.lock:
            for fault in self.faults:
                if fault.matches(method, path):
                    if fault.times is not None:
                        fault.times -= 1
                        if fault.times <= 0:
                            self.faults.remove(fault)
                    return fault
        return None

    def rate_limited(self) -> int | None:
        """Record a call; return seconds to wait when it is over the limit, else None."""
        with self.lock:
            if self.limit is None:
                return None
            now = time.monotonic()
            while self.calls and self.calls[0] <= now - self.window:
                self.calls.popleft()
            if len(self.calls) >= self.limit:
                wait = self.calls[0] + self.window - now
                return max(1, math.ceil(wait))
            self.calls.append(now)
            return None


def tenant() -> Any:
    """The tenant the current request is served by (None for an API call that names none)."""
    return g.get("sandbox_tenant")


def install_controls(
    app: Flask,
    *,
    tenants: Tenants,
    tenant_of_request: Callable[[], Tenant | None],
    error_response: ErrorResponder,
) -> None:
    """Add the ``/_sandbox/`` control routes and the fault/rate-limit/latency hooks to ``app``.

    ``tenant_of_request()`` names the tenant an API call is for, from its credentials.
    ``error_response(status, message)`` builds an error in the shape the imitated API uses, so
    injected faults look like the real thing. The chosen tenant is in ``g.sandbox_tenant`` for
    the app's own views (:func:`tenant`).
    """
    app.extensions["sandbox_tenants"] = tenants

    def is_control() -> bool:
        return request.path.startswith(CONTROL_PREFIX)

    @app.before_request
    def _apply_controls():
        if is_control():
            name = request.args.get("tenant")
            chosen = tenants.default if name is None else tenants.get(name)
            if chosen is None:
                return error_response(404, f"The sandbox has no tenant {name!r}.")
            g.sandbox_tenant = chosen
            return None
        chosen = tenant_of_request()
        g.sandbox_tenant = chosen
        controls = (chosen or tenants.default).controls
        rule = request.url_rule.rule if request.url_rule else request.path
        with controls.lock:
            controls.stats[f"{request.method} {rule}"] += 1
            latency_ms = controls.latency_ms
        if latency_ms:
            wait(latency_ms / 1000)
        delay = controls.rate_limited()
        if delay is not None:
            resp = error_response(429, "Too many requests, slow down.")
            resp.headers["Retry-After"] = str(delay)
            return resp
        fault = controls.take_fault(request.method, request.path)
        if fault is None:
            return None
        if fault.after_write:
            g.sandbox_after_write = fault
            return None
        return _fault_response(fault, error_response)

    @app.after_request
    def _after_write(resp: Response) -> Response:
        fault = g.pop("sandbox_after_write", None)
        if fault is None or resp.status_code >= 400:
            return resp
        if fault.status == 0:
            time.sleep(fault.delay)
            return resp
        return _fault_response(fault, error_response)

    @app.route("/_sandbox/faults", methods=["GET", "POST", "DELETE"])
    def _faults():
        controls = tenant().controls
        if request.method == "POST":
            body = request.get_json(force=True)
            items = body if isinstance(body, list) else [body]
            try:
                new = [Fault(**item) for item in items]
            except TypeError as exc:
                return jsonify({"error": str(exc)}), 400
            with controls.lock:
                controls.faults.extend(new)
        elif request.method == "DELETE":
            with controls.lock:
                controls.faults.clear()
        with controls.lock:
            return jsonify([asdict(f) for f in controls.faults])

    @app.post("/_sandbox/rate-limit")
    def _rate_limit():
        controls = tenant().controls
        body = request.get_json(force=True) or {}
        with controls.lock:
            controls.limit = body.get("limit")
            controls.window = float(body.get("window", 1.0))
            if controls.limit is not None:
                controls.limit = int(controls.limit)
            controls.calls.clear()
            return jsonify({"limit": controls.limit, "window": controls.window})

    @app.route("/_sandbox/latency", methods=["GET", "POST"])
    def _latency():
        controls = tenant().controls
        if request.method == "POST":
            body = request.get_json(force=True, silent=True)
            value = body.get("latency_ms") if isinstance(body, dict) else None
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                return jsonify({"error": "latency_ms: milliseconds, 0 or more."}), 400
            with controls.lock:
                controls.latency_ms = value
        with controls.lock:
            return jsonify({"latency_ms": controls.latency_ms})

    @app.route("/_sandbox/stats", methods=["GET", "DELETE"])
    def _stats():
        controls = tenant().controls
        with controls.lock:
            if request.method == "DELETE":
                controls.stats.clear()
            return jsonify(dict(controls.stats))

    @app.post("/_sandbox/reset")
    def _reset():
        chosen = tenant()
        chosen.reset()
        chosen.controls.clear()
        return jsonify({"reset": True})

    @app.get("/_sandbox/tenants")
    def _tenants():
        return jsonify({"tenants": [one.describe() for one in tenants.made()]})


def wait(seconds: float) -> None:
    """Hold an API call back for the tenant's latency (a seam for tests)."""
    time.sleep(seconds)


def _fault_response(fault: Fault, error_response: ErrorResponder) -> Response | None:
    if fault.delay and not fault.after_write:
        time.sleep(fault.delay)
    if fault.status == 0:
        return None  # a pure delay: let the request through
    resp = error_response(fault.status, f"Injected fault: status {fault.status}.")
    if fault.status == 429:
        resp.headers["Retry-After"] = str(fault.retry_after if fault.retry_after is not None else 1)
    return resp
