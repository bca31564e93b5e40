"""The links of an install: a link is one Plug&Pay account booked into one e-Boekhouden
administration, with its own keys, settings and wizard progress (``link_id`` on their rows).

Every install has its first link (made by the migration that brought links); ``flask links add``
adds more. Removing a link sets ``removed_at``: its history stays, and it is left out of
``live()``.
"""

from __future__ import annotations

import re

from pp2eb.extensions import db
from pp2eb.models import Link, utcnow

# The first link's name until a Plug&Pay connection check tells the tenant's (migration 0009).
PLACEHOLDER = "Plug&Pay"
NAME_LENGTH = 120  # Link.name's column
_TENANT = re.compile(r"^(?P<name>.+) \(tenant [^()]*\)$")


class NoSuchLink(LookupError):
    """No live link has that name, or there is more than one link and none was named."""


def live() -> list[Link]:
    """The links that are not removed, by id."""
    return list(
        db.session.execute(
            db.select(Link).where(Link.removed_at.is_(None)).order_by(Link.id)
        ).scalars()
    )


def by_name(name: str) -> Link | None:
    """The live link called ``name``, if any."""
    return db.session.execute(
        db.select(Link).where(Link.name == name, Link.removed_at.is_(None))
    ).scalar_one_or_none()


def only() -> Link:
    """The one live link; NoSuchLink naming the links when there is none or more than one."""
    found = live()
    if not found:
        raise NoSuchLink("This install has no links.")
    if len(found) > 1:
        names = ", ".join(link.name for link in found)
        raise NoSuchLink(f"This install has {len(found)} links ({names}); name one with --link.")
    return found[0]


def pick(name: str | None) -> Link:
    """The live link called ``name``, or with no name the only one; NoSuchLink otherwise."""
    if name is None:
        return only()
    found = by_name(name)
    if found is None:
        names = ", ".join(link.name for link in live())
        raise NoSuchLink(
            f"No link is called {name!r}; the links are: {names}."
            if names
            else f"No link is called {name!r}; this install has no links."
        )
    return found


def tenant_name(account_name: str) -> str | None:
    """The tenant's name in a Plug&Pay connection's stored ``account_name``, if it has one."""
    found = _TENANT.match(account_name or "")
    return found["name"].strip()[:120] or None if found else None


def name_after_tenant(link: Link, account_name: str) -> None:
    """Give a link still called ``PLACEHOLDER`` its Plug&Pay tenant's name, unless another
    link has that name; the caller commits."""
    name = tenant_name(account_name)
    if link.name != PLACEHOLDER or not name:
        return
    taken = db.session.execute(db.select(Link.id).where(Link.name == name)).first()
    if taken is None:
        link.name = name


class BadName(ValueError):
    """A name a new link cannot have: empty, too long, or a live link's already."""


def add(name: str) -> Link:
    """A new link called ``name``, committed; BadName says why not."""
    name = " ".join(name.split())
    if not name:
        raise BadName("A link needs a name.")
    if len(name) > NAME_LENGTH:
        raise BadName(f"A link's name has at most {NAME_LENGTH} characters.")
    if by_name(name) is not None:
        raise BadName(f"There is a link called {name!r} already.")
    link = Link(name=name, created_at=utcnow())
    db.session.add(link)
    db.session.commit()
    return link


def remove(link: Link) -> None:
    """Remove ``link``: it is no longer run, shown or called, and its history stays.

    Its name is freed for a new link: the removed one is renamed "NAME (removed, #ID)".
    """
    link.removed_at = utcnow()
    suffix = f" (removed, #{link.id})"
    link.name = link.name[: NAME_LENGTH - len(suffix)] + suffix
    db.session.commit()
