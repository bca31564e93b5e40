"""The link a request is about, kept in ``g.link`` for the request, and the addresses of a
link's pages.

Every page of a link answers at two addresses (``LinkBlueprint``): its own one, ``/orders``,
for the only link the user may see, so that with one link every page looks as it did before
links; and ``/links/<id>/orders`` for any link the user may see. A page asked for under a link's
address makes every ``url_for`` of a link's page on it keep that link (``add_link_id``), so a
user who opened one link stays in it. A link the user may not see (``setup/access.py``: an admin
sees every link, a member the links granted to them), a removed link, or the short address when
the user sees more than one link: 404, as for any unknown address.
"""

from __future__ import annotations

from flask import Blueprint, Flask, abort, current_app, g, request

from pp2eb.models import Link
from pp2eb.setup import access, links

LINK_PREFIX = "/links/<int:link_id>"


class LinkBlueprint(Blueprint):
    """A blueprint of a link's pages: each route at ``url_prefix + rule`` and under
    ``/links/<id>`` (the same endpoint; ``url_for`` builds the long one when given a link)."""

    def __init__(self, name: str, import_name: str, url_prefix: str = "", **options) -> None:
        super().__init__(name, import_name, **options)
        self.link_prefix = url_prefix

    def add_url_rule(self, rule: str, endpoint=None, view_func=None, **options) -> None:
        own = self.link_prefix + rule
        super().add_url_rule(own or "/", endpoint, view_func, **options)
        super().add_url_rule(LINK_PREFIX + (own or "/"), endpoint, view_func, **options)


def init_app(app: Flask) -> None:
    """Take the link from the address, check it before the view runs, and keep it in links.

    Call after the auth blueprint is registered: the check needs the logged-in user."""
    app.url_value_preprocessor(take_link_id)
    app.url_defaults(add_link_id)
    app.before_request(check_link)


def take_link_id(endpoint: str | None, values: dict | None) -> None:
    """Move ``link_id`` from the address's values to ``g`` (the views do not take it)."""
    if values and "link_id" in values:
        g.link_id = values.pop("link_id")


def add_link_id(endpoint: str, values: dict) -> None:
    """In a page asked for under a link's address, links to a link's pages keep that link."""
    link_id = g.get("link_id")
    if link_id is None or "link_id" in values:
        return
    if current_app.url_map.is_endpoint_expecting(endpoint, "link_id"):
        values["link_id"] = link_id


# The home page: with a link in its address that link's dashboard, without one the dashboard of
# the user's only link or, with several, the overview of all.
HOME = "dashboard.index"


def check_link() -> None:
    """Before the view of any link's page: 404 for a link the logged-in user may not see, or for
    the short address when the user sees several links (the view itself may not ask)."""
    if g.get("user") is None or not isinstance(
        current_app.blueprints.get(request.blueprint or ""), LinkBlueprint
    ):
        return
    if request.endpoint == HOME and g.get("link_id") is None:
        return
    link()


def visible() -> list[Link]:
    """The live links the logged-in user may see, by id (read once per request)."""
    if "visible_links" not in g:
        # Every request has ``g.user`` (auth's hook sets it, None for no one), so a request
        # shows only what its user may see. Outside a request (a command, a test calling a
        # view's helper in an app context) there is no one to ask: every live link.
        g.visible_links = access.links_for(g.user) if "user" in g else links.live()
    return g.visible_links


def only_one() -> bool:
    """True when the user sees exactly one link (its pages then need no link in the address)."""
    return len(visible()) == 1


def several() -> bool:
    """True when the user sees more than one link (the overview is then the home page)."""
    return len(visible()) > 1


def of_page() -> Link | None:
    """The link the page shown is about, for the navigation; None on the overview."""
    if "link" in g:
        return g.link
    if g.get("link_id") is None and only_one():
        return visible()[0]
    return None


def link() -> Link:
    """The link of this request: the one in its address, else the user's only link; 404 when
    the user may not see it or sees several."""
    if "link" not in g:
        g.link = _resolve()
    return g.link


def _resolve() -> Link:
    link_id = g.get("link_id")
    if link_id is None:
        if not only_one():
            abort(404)
        return visible()[0]
    # Among the links the user may see (read for the navigation anyway): none, or a removed
    # link's id, is a 404.
    found = next((seen for seen in visible() if seen.id == link_id), None)
    if found is None:
        abort(404)
    return found
