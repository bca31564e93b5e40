"""The link a request is about, kept in ``g.link`` for the request.

With one link (every install so far) that is the install's only link, as before links. Pages
under a link's own URL come later; until then more than one link is not served (404).
"""

from __future__ import annotations

from flask import abort, g

from pp2eb.models import Link
from pp2eb.setup import links


def link() -> Link:
    """The link of this request (read once per request)."""
    if "link" not in g:
        try:
            g.link = links.only()
        except links.NoSuchLink:
            abort(404)
    return g.link
