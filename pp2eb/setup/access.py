"""Who may see which link: an admin sees every live link; a member only the live links granted
to them (``LinkGrant``). A removed link is seen by no one.

The web asks ``links_for`` once per request (what to list, and whether a link's page may be
shown, else 404: ``pp2eb.web.current``); ``may_see`` answers for one link without listing
them. The ``flask users`` commands change the grants with ``grant`` and ``revoke``.
"""

from __future__ import annotations

from pp2eb.extensions import db
from pp2eb.models import Link, LinkGrant, User
from pp2eb.setup import links
from pp2eb.states import Role


def is_admin(user: User | None) -> bool:
    """Whether ``user`` is an admin (manages users and links, sees every link)."""
    return user is not None and user.role == Role.ADMIN


def links_for(user: User | None) -> list[Link]:
    """The live links ``user`` may see, by id: every one for an admin, the granted ones for a
    member, none for no user."""
    if user is None:
        return []
    if is_admin(user):
        return links.live()
    return list(
        db.session.execute(
            db.select(Link)
            .join(LinkGrant, LinkGrant.link_id == Link.id)
            .where(LinkGrant.user_id == user.id, Link.removed_at.is_(None))
            .order_by(Link.id)
        ).scalars()
    )


def may_see(user: User | None, link: Link | None) -> bool:
    """Whether ``user`` may see and act on ``link``: never a removed link, always a live one for
    an admin, a granted one for a member."""
    if user is None or link is None or link.removed_at is not None:
        return False
    return is_admin(user) or db.session.get(LinkGrant, (user.id, link.id)) is not None


def grant(user: User, link: Link) -> bool:
    """Let ``user`` see ``link``; True when that is new. Committed."""
    if db.session.get(LinkGrant, (user.id, link.id)) is not None:
        return False
    db.session.add(LinkGrant(user_id=user.id, link_id=link.id))
    db.session.commit()
    return True


def revoke(user: User, link: Link) -> bool:
    """Stop letting ``user`` see ``link``; True when they had been granted it. Committed."""
    found = db.session.get(LinkGrant, (user.id, link.id))
    if found is None:
        return False
    db.session.delete(found)
    db.session.commit()
    return True
