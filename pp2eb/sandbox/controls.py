"""Test and demo controls shared by both sandbox APIs (not part of the real APIs).

Each sandbox app calls :func:`install_controls`, which adds under ``/_sandbox/``:

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
* ``GET /_sandbox/stats``: calls counted per ``"METHOD /url-rule"``; ``DELETE`` zeroes them.
* ``POST /_sandbox/reset``: the app's own reset (data back to the seed) plus faults, limit, stats.

Control routes are never faulted, rate limited or counted.
"""

from __future__ import annotations

import fnmatch
import math
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import asdict, dataclass

from flask import Flask, Response, g, jsonify, request

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
    """The mutable control state of one sandbox app; thread-safe."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.faults: list[Fault] = []
        self.limit: int | None = None
        self.window: float = 1.0
        self.calls: deque[float] = deque()
        self.stats: Counter[str] = Counter()

    def clear(self) -> None:
        """Remove faults and rate limit, zero the stats."""
        with self.lock:
            self.faults.clear()
            self.limit = None
            self.calls.clear()
            self.stats.clear()

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


def install_controls(
    app: Flask, *, reset: Callable[[], None], error_response: ErrorResponder
) -> Controls:
    """Add the ``/_sandbox/`` control routes and the fault/rate-limit hooks to ``app``.

    ``reset`` puts the app's data back to its seed. ``error_response(status, message)`` builds an
    error in the shape the imitated API uses, so injected faults look like the real thing.
    """
    controls = Controls()
    app.extensions["sandbox_controls"] = controls

    def is_control() -> bool:
        return request.path.startswith(CONTROL_PREFIX)

    @app.before_request
    def _apply_controls():
        if is_control():
            return None
        rule = request.url_rule.rule if request.url_rule else request.path
        with controls.lock:
            controls.stats[f"{request.method} {rule}"] += 1
        wait = controls.rate_limited()
        if wait is not None:
            resp = error_response(429, "Too many requests, slow down.")
            resp.headers["Retry-After"] = str(wait)
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
        body = request.get_json(force=True) or {}
        with controls.lock:
            controls.limit = body.get("limit")
            controls.window = float(body.get("window", 1.0))
            if controls.limit is not None:
                controls.limit = int(controls.limit)
            controls.calls.clear()
            return jsonify({"limit": controls.limit, "window": controls.window})

    @app.route("/_sandbox/stats", methods=["GET", "DELETE"])
    def _stats():
        with controls.lock:
            if request.method == "DELETE":
                controls.stats.clear()
            return jsonify(dict(controls.stats))

    @app.post("/_sandbox/reset")
    def _reset():
        reset()
        controls.clear()
        return jsonify({"reset": True})

    return controls


def _fault_response(fault: Fault, error_response: ErrorResponder) -> Response | None:
    if fault.delay and not fault.after_write:
        time.sleep(fault.delay)
    if fault.status == 0:
        return None  # a pure delay: let the request through
    resp = error_response(fault.status, f"Injected fault: status {fault.status}.")
    if fault.status == 429:
        resp.headers["Retry-After"] = str(fault.retry_after if fault.retry_after is not None else 1)
    return resp
