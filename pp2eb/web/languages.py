"""The languages of the pages, and the one a request is shown in.

The app factory gives ``select_locale`` to Flask-Babel and runs ``remember_language`` before each
request; the alert settings offer ``LANGUAGES`` for the mails.
"""

from __future__ import annotations

from flask import has_request_context, request, session

LANGUAGES = {"en": "English", "nl": "Nederlands"}


def select_locale() -> str | None:
    """The language chosen in the header, else the browser's preferred one among ours."""
    if not has_request_context():
        return None
    if session.get("language") in LANGUAGES:
        return session["language"]
    return request.accept_languages.best_match(LANGUAGES)


def remember_language() -> None:
    """Keep the language picked with ``?lang=`` (the header's switch) in the session."""
    language = request.args.get("lang")
    if language in LANGUAGES:
        session["language"] = language
