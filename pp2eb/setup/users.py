"""The people who may log in: each a ``User`` with a ``Role`` (``pp2eb.states``). What a member
may see is ``access``'s; logging in and sessions are ``pp2eb.web.auth``'s and ``security``'s.

An install keeps at least one admin: the last one cannot be removed, or no one could manage the
users and links any more.
"""

from __future__ import annotations

from werkzeug.security import generate_password_hash

from pp2eb.extensions import db
from pp2eb.models import LinkGrant, User, utcnow
from pp2eb.states import Role

NAME_LENGTH = 80  # User.username


class UserError(ValueError):
    """A user name that is taken, unknown or unfit, or the last admin to remove; in words."""


def every() -> list[User]:
    """Every user, by name."""
    return list(db.session.execute(db.select(User).order_by(User.username)).scalars())


def by_name(name: str) -> User | None:
    """The user called ``name``, if any."""
    return db.session.execute(db.select(User).filter_by(username=name)).scalar_one_or_none()


def find(name: str) -> User:
    """The user called ``name``; UserError naming the users there are otherwise."""
    found = by_name(name)
    if found is None:
        names = ", ".join(user.username for user in every())
        raise UserError(
            f"No user is called {name!r}; the users are: {names}."
            if names
            else f"No user is called {name!r}; this install has no users."
        )
    return found


def check_new_name(name: str) -> None:
    """UserError unless ``name`` may be given to a new user."""
    if not name.strip() or name != name.strip():
        raise UserError("A user name cannot be empty or start or end with a space.")
    if len(name) > NAME_LENGTH:
        raise UserError(f"A user name has at most {NAME_LENGTH} characters.")
    if by_name(name) is not None:
        raise UserError(f"A user called {name!r} exists already.")


def add(name: str, password: str, role: Role) -> User:
    """A new user called ``name`` with ``password`` (stored hashed) and ``role``, committed."""
    check_new_name(name)
    if not password:
        raise UserError("The password cannot be empty.")
    user = User(
        username=name,
        password_hash=generate_password_hash(password),
        role=Role(role),
        created_at=utcnow(),
    )
    db.session.add(user)
    db.session.commit()
    return user


def admins() -> int:
    """How many admins the install has."""
    return db.session.execute(
        db.select(db.func.count()).select_from(User).where(User.role == Role.ADMIN)
    ).scalar_one()


def remove(user: User) -> None:
    """Delete ``user`` and their grants, committed; UserError for the last admin.

    The caller ends their sessions too (``pp2eb.web.security.end_sessions``): a new user may be
    given the same id, and a copy of the old session cookie must not log them in.
    """
    if user.role == Role.ADMIN and admins() <= 1:
        raise UserError(
            f"{user.username} is the last admin; add another admin before removing them."
        )
    db.session.execute(db.delete(LinkGrant).where(LinkGrant.user_id == user.id))
    db.session.delete(user)
    db.session.commit()
