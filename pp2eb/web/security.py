"""Security headers on every response, a limit on failed log-ins, and sessions that logout ends.

Headers: a Content-Security-Policy that lets the pages run only the app's own files (htmx is
vendored in ``static/``; no template has an inline script, style or event handler), no framing,
no MIME sniffing, referrers only to the app itself, and no caching of the bookkeeping pages.

Log-in limit: after ``LOGIN_MAX_FAILURES`` failures for one user name, or
``LOGIN_MAX_FAILURES_PER_ADDRESS`` from one client address (higher: behind a reverse proxy
every client has the proxy's address), within ``LOGIN_LOCK_MINUTES``, further log-ins of that
name or from that address are refused for ``LOGIN_LOCK_MINUTES``, even with the right
password. The failures are ``AppState`` rows keyed by a hash of the name or address, so they
count across processes and restarts; a name that does not exist is counted like one that does,
so the limit reveals nothing about which users exist.

Sessions: the session is a signed cookie, so clearing it on logout does not stop a copy of it.
The moment of the last logout (or new password) is kept per user, and a session made before it
is refused.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
from datetime import datetime, timedelta

from flask import Flask, Response, current_app, request

from pp2eb.extensions import db
from pp2eb.models import AppState, utcnow

logger = logging.getLogger(__name__)

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    # Not "no-referrer": Flask-WTF checks the Referer of a POST made over HTTPS.
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}
_PREFIX = "login:"
_ENDED_PREFIX = "sessions_ended:"


def set_headers(response: Response) -> Response:
    """Add the security headers (and no-store outside ``static``) to ``response``."""
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if request.endpoint != "static" and "Cache-Control" not in response.headers:
        # Pages show customers, amounts and settings: nothing for a shared cache or the
        # browser's back button after logout.
        response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask) -> None:
    """Install the headers on every response of ``app``."""
    app.after_request(set_headers)


# --- failed log-ins -----------------------------------------------------------------------
# One AppState row per failure (key: prefix of the name or address, then a random part; the
# row's updated_at is the moment). Inserting never overwrites, so failures sent in parallel
# are all counted; a count kept in one row could lose some of them.


def _prefix(kind: str, value: str) -> str:
    # Hashed: the key column is short, and a typed name (perhaps a password) is not kept.
    digest = hashlib.sha256(f"{kind}\0{value}".encode("utf-8", "surrogatepass")).hexdigest()
    return f"{_PREFIX}{kind}:{digest[:16]}:"


def _counters(username: str, address: str) -> list[tuple[str, int]]:
    cfg = current_app.config
    return [
        (_prefix("name", username.strip().casefold()), cfg["LOGIN_MAX_FAILURES"]),
        (_prefix("addr", address or "-"), cfg["LOGIN_MAX_FAILURES_PER_ADDRESS"]),
    ]


def _window() -> timedelta:
    return timedelta(minutes=current_app.config["LOGIN_LOCK_MINUTES"])


def locked_until(username: str, address: str, now: datetime | None = None) -> datetime | None:
    """Until when log-ins of ``username`` or from ``address`` are refused; None when allowed.

    Locked while the last ``limit`` failures all lie within the window: until the oldest of
    them is a window old.
    """
    now = now or utcnow()
    window = _window()
    ends = []
    for prefix, limit in _counters(username, address):
        recent = (
            db.session.execute(
                db.select(AppState.updated_at)
                .where(AppState.key.startswith(prefix), AppState.updated_at > now - window)
                .order_by(AppState.updated_at.desc())
                .limit(limit)
            )
            .scalars()
            .all()
        )
        if len(recent) >= limit:
            ends.append(recent[-1] + window)
    return max(ends, default=None)


def record_failure(username: str, address: str, now: datetime | None = None) -> bool:
    """Count a failed log-in; True when the name or the address is locked now."""
    now = now or utcnow()
    for prefix, _limit in _counters(username, address):
        db.session.add(AppState(key=prefix + secrets.token_hex(6), value="1", updated_at=now))
    # Failures older than the window can no longer lock anything: gone, so they do not pile up.
    db.session.execute(
        db.delete(AppState).where(
            AppState.key.startswith(_PREFIX), AppState.updated_at <= now - _window()
        )
    )
    db.session.commit()
    locked = locked_until(username, address, now) is not None
    if locked:
        logger.warning(
            "log-ins refused for %s minutes after repeated failures",
            current_app.config["LOGIN_LOCK_MINUTES"],
        )
    return locked


def forget_failures(username: str) -> None:
    """A successful log-in clears the failures of that user name (not of the address)."""
    prefix = _counters(username, "")[0][0]
    db.session.execute(db.delete(AppState).where(AppState.key.startswith(prefix)))
    db.session.commit()


def _when(value: object) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


# --- sessions that logout ends ------------------------------------------------------------


def end_sessions(user_id: int, now: datetime | None = None) -> None:
    """Make every session of ``user_id`` made before now invalid (logout, new password).

    The session is a signed cookie: clearing it in this browser does not stop a copy of it
    elsewhere, so the server keeps the moment before which the user's sessions no longer count.
    """
    key = f"{_ENDED_PREFIX}{user_id}"
    row = db.session.get(AppState, key)
    if row is None:
        row = AppState(key=key, value="null")
        db.session.add(row)
    row.value = json.dumps((now or utcnow()).isoformat())
    db.session.commit()


def session_still_valid(user_id: int, logged_in_at: object) -> bool:
    """False when the session (logged in at ``logged_in_at``, ISO text) was ended since."""
    row = db.session.get(AppState, f"{_ENDED_PREFIX}{user_id}")
    if row is None:
        return True
    ended = _when(json.loads(row.value))
    started = _when(logged_in_at)
    return ended is None or (started is not None and started > ended)
