"""``flask users ...``: the people who may log in, their roles and the links members may see;
and ``flask create-user``, which makes an admin (or sets a new password) as it always did.

A name no user or link has is said in one line naming those there are (exit 2, as a wrong
option); a name that is taken, or the last admin to remove, in one line too (exit 1).
"""

from __future__ import annotations

import click
from flask.cli import AppGroup, with_appcontext

from pp2eb.cli.links import resolve, stop
from pp2eb.models import User
from pp2eb.schema import needs_database
from pp2eb.setup import access, users
from pp2eb.states import Role
from pp2eb.web import auth, security

PASSWORD = click.option("--password", help="The password (asked for when left out).")

users_group = AppGroup(
    "users", help="The users: admins manage users and links; members see the links granted."
)


def _ask_password(password: str | None) -> str:
    # Asked for here, not by click: a database that is not ready is said before the question.
    return password or click.prompt("Password", hide_input=True, confirmation_prompt=True)


def _user(name: str) -> User:
    """The user called ``name``; says which users there are and exits 2 otherwise."""
    try:
        return users.find(name)
    except users.UserError as exc:
        stop(str(exc))


def _add(name: str, password: str | None, role: Role) -> User:
    try:
        users.check_new_name(name)
        return users.add(name, _ask_password(password), role)
    except users.UserError as exc:
        raise click.ClickException(str(exc)) from exc


@users_group.command("add")
@click.argument("name")
@click.option(
    "--role",
    type=click.Choice([role.value for role in Role]),
    required=True,
    help="admin: manages users and links, sees every link; member: sees the links granted.",
)
@PASSWORD
@needs_database
def users_add(name: str, role: str, password: str | None) -> None:
    """Add the user NAME with a role (a member sees no link until one is granted)."""
    _add(name, password, Role(role))
    if role == Role.MEMBER:
        click.echo(f"Added member {name}; grant links with `flask users grant {name} LINK`.")
    else:
        click.echo(f"Added admin {name}.")


@users_group.command("grant")
@click.argument("name")
@click.argument("link_name", metavar="LINK")
@needs_database
def users_grant(name: str, link_name: str) -> None:
    """Let the member NAME see and act on the link LINK."""
    user, link = _user(name), resolve(link_name)
    if access.is_admin(user):
        click.echo(f"{name} is an admin and sees every link; granting {link.name} changes nothing.")
    elif access.grant(user, link):
        click.echo(f"{name} may now see {link.name}.")
    else:
        click.echo(f"{name} could already see {link.name}.")


@users_group.command("revoke")
@click.argument("name")
@click.argument("link_name", metavar="LINK")
@needs_database
def users_revoke(name: str, link_name: str) -> None:
    """Stop letting the member NAME see the link LINK."""
    user, link = _user(name), resolve(link_name)
    if access.is_admin(user):
        click.echo(f"{name} is an admin and sees every link; revoking {link.name} changes nothing.")
    elif access.revoke(user, link):
        click.echo(f"{name} no longer sees {link.name}.")
    else:
        click.echo(f"{name} had not been granted {link.name}.")


@users_group.command("list")
@needs_database
def users_list() -> None:
    """Name each user, with their role and the links they see."""
    found = users.every()
    if not found:
        click.echo("No users yet; add an admin with `flask create-user NAME`.")
    for user in found:
        if access.is_admin(user):
            seen = "every link"
        else:
            seen = ", ".join(link.name for link in access.links_for(user)) or "no links"
        click.echo(f"{user.username} ({user.role}): {seen}")


@users_group.command("remove")
@click.argument("name")
@needs_database
def users_remove(name: str) -> None:
    """Remove the user NAME and their grants (never the last admin); they are logged out."""
    user = _user(name)
    user_id = user.id
    try:
        users.remove(user)
    except users.UserError as exc:
        raise click.ClickException(str(exc)) from exc
    # A later user may get this id: a copy of the removed user's session cookie must not count.
    security.end_sessions(user_id)
    click.echo(f"Removed user {name}.")


@click.command("create-user")
@with_appcontext
@click.argument("username")
@PASSWORD
@needs_database
def create_user_command(username: str, password: str | None) -> None:
    """Create an admin who can log in, or set a new password for an existing user (whose role
    stays). `flask users add` makes members."""
    if users.by_name(username) is None:
        _add(username, password, Role.ADMIN)
    else:
        # A new password ends the user's other sessions (auth.create_user).
        auth.create_user(username, _ask_password(password))
    click.echo(f"User {username} can now log in.")
