"""Login and logout. Every page but the login page and static files needs a logged-in user;
the Plug&Pay webhook is public too, guarded by the secret in its URL (``hooks.py``)."""

from __future__ import annotations

import logging

from flask import Blueprint, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from werkzeug.security import check_password_hash, generate_password_hash

from pp2eb.extensions import db
from pp2eb.models import User, utcnow
from pp2eb.web import security
from pp2eb.web.forms import LoginForm

logger = logging.getLogger(__name__)

bp = Blueprint("auth", __name__, url_prefix="/auth")

PUBLIC_ENDPOINTS = {"auth.login", "auth.login_elsewhere", "static", "hooks.plugandpay"}
# Checked when the user name is unknown, so that a wrong name takes as long as a wrong password
# and the answer's timing does not tell which names exist.
_DUMMY_HASH = generate_password_hash("not a password of anyone")


@bp.before_app_request
def load_logged_in_user():
    """Put the logged-in user on ``g``; send anyone else to the login page."""
    user_id = session.get("user_id")
    g.user = db.session.get(User, user_id) if user_id is not None else None
    if g.user is not None and not security.session_still_valid(g.user.id, session.get("since")):
        # A copy of a session cookie from before a logout or a password change.
        session.clear()
        g.user = None
    if g.user is None and request.endpoint not in PUBLIC_ENDPOINTS:
        if request.headers.get("HX-Request"):
            # htmx follows this header with a full-page redirect instead of a swapped fragment.
            return "", 401, {"HX-Redirect": url_for("auth.login")}
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    return None


def create_user(username: str, password: str) -> User:
    """Add a user with a hashed password, or change the password of an existing one."""
    user = db.session.execute(db.select(User).filter_by(username=username)).scalar_one_or_none()
    if user is None:
        user = User(username=username, password_hash="")
        db.session.add(user)
    user.password_hash = generate_password_hash(password)
    db.session.commit()
    # A new password logs out every session made with the old one.
    security.end_sessions(user.id)
    return user


@bp.route("/login", methods=("GET", "POST"))
def login():
    """Show the login form; log the user in (refused for a while after repeated failures)."""
    form = LoginForm()
    if form.validate_on_submit():
        name, address = form.username.data, request.remote_addr or ""
        if security.locked_until(name, address) is not None:
            logger.warning("log-in refused while locked: %r from %s", name, address)
            # The same words as a wrong password: a lock tells nothing about the account.
            flash(_("Unknown user name or wrong password."), "error")
            return render_template("auth/login.html", form=form), 429
        user = db.session.execute(db.select(User).filter_by(username=name)).scalar_one_or_none()
        stored = user.password_hash if user is not None else _DUMMY_HASH
        if check_password_hash(stored, form.password.data) and user is not None:
            security.forget_failures(name)
            # A fresh session against fixation; only the chosen language carries over.
            language = session.get("language")
            session.clear()
            if language:
                session["language"] = language
            session["user_id"] = user.id
            session["since"] = utcnow().isoformat()
            logger.info("user %s logged in", user.username)
            target = request.args.get("next", "")
            # Only a local path: never an open redirect to another site.
            if not target.startswith("/") or target.startswith("//"):
                target = url_for("dashboard.index")
            return redirect(target)
        logger.info("failed login for %r", name)
        security.record_failure(name, address)
        flash(_("Unknown user name or wrong password."), "error")
    return render_template("auth/login.html", form=form)


@bp.record_once
def _short_login_address(state) -> None:
    # /login is what people type: it leads to the log-in page (not to a 404 after logging in).
    state.app.add_url_rule(
        "/login", f"{bp.name}.login_elsewhere", lambda: redirect(url_for("auth.login"))
    )


@bp.post("/logout")
def logout():
    """Log out: the whole session is cleared, and copies of its cookie stop working."""
    if g.user is not None:
        security.end_sessions(g.user.id)
    session.clear()
    return redirect(url_for("auth.login"))
