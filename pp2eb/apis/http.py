"""The one request loop both API clients share: timeout, retry policy, errors, call log.

Retry policy, in one place:

* **429** means the request was not processed, so any call (writes too) waits ``Retry-After``
  (default 1 s, at most 120 s per wait) and is sent again, up to ``max_attempts``; then
  ``RateLimited``.
* **Safe calls** (GET, HEAD, DELETE, or a call marked ``retry_safe``) also retry 5xx, time-outs
  and connection errors with exponential backoff (0.5 s, 1 s, 2 s ... at most 8 s).
* A **write** (POST/PATCH) that got a 5xx, a time-out or a connection error after it may have
  been sent is never retried: ``Unavailable(write_uncertain=True)``, because a second send could
  book an order twice. A write whose connection was never opened is retried like a safe call.
"""

from __future__ import annotations

import logging
import math
import os
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import requests
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from pp2eb import jsonutil
from pp2eb.apis.errors import ApiError, AuthError, NotFound, RateLimited, Rejected, Unavailable

logger = logging.getLogger(__name__)

# DELETE is idempotent; the only one pp2eb sends is DELETE /session.
SAFE_METHODS = frozenset({"GET", "HEAD", "DELETE"})
BACKOFF_FIRST = 0.5
BACKOFF_CAP = 8.0
RETRY_AFTER_DEFAULT = 1.0
RETRY_AFTER_CAP = 120.0
REDACTED = "***"


@dataclass(frozen=True)
class ErrorBody:
    """What an API's error body says, read by that API's client."""

    code: str | None = None
    detail: str | None = None
    errors: tuple[str, ...] = ()
    property_name: str | None = None


@dataclass(frozen=True)
class ErrorFamily:
    """The exception classes of one client and the reader of its error bodies."""

    base: type[ApiError]
    auth: type[AuthError]
    rate_limited: type[RateLimited]
    unavailable: type[Unavailable]
    rejected: type[Rejected]
    not_found: type[NotFound]
    read_body: Callable[[requests.Response], ErrorBody]


def package_version() -> str:
    """pp2eb's version for the User-Agent, read late so importing a client imports no app."""
    package = sys.modules.get("pp2eb")
    return getattr(package, "__version__", None) or "dev"


def json_or_none(response: requests.Response) -> Any:
    """The response body parsed as JSON (Decimal for fractions), or None if it is not JSON."""
    try:
        return jsonutil.loads(response.content) if response.content else None
    except ValueError:
        return None


def retry_after_seconds(value: str | None) -> float:
    """Seconds to wait from a ``Retry-After`` header (seconds or HTTP date), capped."""
    if not value:
        return RETRY_AFTER_DEFAULT
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return RETRY_AFTER_DEFAULT
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    if not math.isfinite(seconds):
        return RETRY_AFTER_DEFAULT
    return min(max(seconds, 0.0), RETRY_AFTER_CAP)


def backoff_seconds(attempt: int) -> float:
    """Wait before attempt ``attempt + 1`` after a retryable failure: 0.5, 1, 2 ... capped."""
    return min(BACKOFF_FIRST * 2 ** (attempt - 1), BACKOFF_CAP)


def scrub(text: str | None, secrets: Iterable[str | None]) -> str | None:
    """``text`` with every secret replaced, in case an API echoes one back."""
    if not text:
        return text
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return text


def new_session(base_url: str) -> requests.Session:
    """A session that takes its proxy and CA settings from the environment once, not per call."""
    session = requests.Session()
    # With trust_env, requests reads the proxy variables and ~/.netrc again on every call: a
    # quarter of its CPU per call. Read once here, the same settings apply. As a bonus a
    # ~/.netrc entry can no longer replace the Authorization header the clients set.
    session.trust_env = False
    session.proxies.update(requests.utils.get_environ_proxies(base_url))
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if bundle:
        session.verify = bundle
    return session


def _never_sent(exc: requests.RequestException) -> bool:
    """True when the connection was never opened, so the server cannot have seen the request."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    if isinstance(exc, requests.ConnectionError):
        reason = exc.args[0] if exc.args else None
        reason = getattr(reason, "reason", reason)  # urllib3's MaxRetryError wraps the cause
        return isinstance(reason, (NewConnectionError, ConnectTimeoutError))
    return False


class HttpClient:
    """Sends requests to one API with its retry policy and turns failures into its errors."""

    def __init__(
        self,
        base_url: str,
        family: ErrorFamily,
        *,
        session: requests.Session | None = None,
        timeout: float,
        max_attempts: int,
        sleep: Callable[[float], None] = time.sleep,
        user_agent: str,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.base_url = base_url.rstrip("/")
        self.family = family
        self.session = session or new_session(self.base_url)
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.sleep = sleep
        self.user_agent = user_agent

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        secrets: Iterable[str | None] = (),
        retry_safe: bool | None = None,
    ) -> Any:
        """Send one call with the retry policy; return the parsed JSON body (None if empty)."""
        method = method.upper()
        safe = method in SAFE_METHODS if retry_safe is None else retry_safe
        secrets = tuple(secrets)
        all_headers = {"Accept": "application/json", "User-Agent": self.user_agent}
        all_headers.update(headers or {})
        data = None
        if body is not None:
            data = jsonutil.dumps(body).encode("utf-8")
            all_headers["Content-Type"] = "application/json"
        url = self.base_url + path
        for attempt in range(1, self.max_attempts + 1):
            last = attempt == self.max_attempts
            started = time.perf_counter()
            try:
                response = self.session.request(
                    method,
                    url,
                    params=params,
                    data=data,
                    headers=all_headers,
                    timeout=self.timeout,
                    allow_redirects=False,  # Plug&Pay answers a bad Accept header with a 302
                )
            except (
                requests.ConnectionError,
                requests.Timeout,
                requests.exceptions.ChunkedEncodingError,
            ) as exc:
                self._log(method, url, type(exc).__name__, started)
                if (safe or _never_sent(exc)) and not last:
                    self._wait(method, path, type(exc).__name__, attempt, backoff_seconds(attempt))
                    continue
                uncertain = not safe and not _never_sent(exc)
                raise self._unreachable(exc, write_uncertain=uncertain) from exc
            self._log(method, url, response.status_code, started)
            status = response.status_code
            if status == 429 and not last:
                wait = retry_after_seconds(response.headers.get("Retry-After"))
                self._wait(method, path, status, attempt, wait)
                continue
            if status >= 500 and safe and not last:
                self._wait(method, path, status, attempt, backoff_seconds(attempt))
                continue
            if status >= 300:
                raise self._error(response, write_uncertain=not safe, secrets=secrets)
            if not response.content:
                return None
            try:
                return jsonutil.loads(response.content)
            except ValueError:
                raise self.family.base("the answer was not JSON", status=status) from None
        raise AssertionError("unreachable")  # the loop always returns or raises

    def _log(self, method: str, url: str, outcome: int | str, started: float) -> None:
        ms = (time.perf_counter() - started) * 1000
        path = urlsplit(url).path  # no query string: filters can hold e-mail addresses
        logger.debug("%s %s %s -> %s in %.0f ms", self.family.base.api, method, path, outcome, ms)

    def _wait(self, method: str, path: str, outcome: Any, attempt: int, seconds: float) -> None:
        logger.info(
            "%s %s %s -> %s, attempt %d of %d, trying again in %.1f s",
            self.family.base.api,
            method,
            path,
            outcome,
            attempt,
            self.max_attempts,
            seconds,
        )
        self.sleep(seconds)

    def _unreachable(self, exc: Exception, *, write_uncertain: bool) -> Unavailable:
        if isinstance(exc, requests.Timeout) and not isinstance(
            exc, requests.exceptions.ConnectTimeout
        ):
            detail = f"no answer within {self.timeout:g} s"
        else:
            detail = "no connection"
        return self.family.unavailable(detail, write_uncertain=write_uncertain)

    def _error(
        self, response: requests.Response, *, write_uncertain: bool, secrets: tuple
    ) -> ApiError:
        status = response.status_code
        try:
            body = self.family.read_body(response)
        except Exception:  # a malformed error body must not hide the status
            logger.debug("unreadable error body from %s", self.family.base.api, exc_info=True)
            body = ErrorBody()
        detail = scrub(body.detail, secrets) or response.reason or None
        common = {"status": status, "code": body.code}
        fam = self.family
        if status == 401:
            return fam.auth(detail, **common)
        if status == 429:
            wait = retry_after_seconds(response.headers.get("Retry-After"))
            return fam.rate_limited(detail, retry_after=wait, **common)
        if status >= 500:
            return fam.unavailable(detail, write_uncertain=write_uncertain, **common)
        errors = [scrub(e, secrets) or "" for e in body.errors]
        cls = fam.not_found if status == 404 else fam.rejected
        return cls(detail, errors=errors, property_name=body.property_name, **common)
