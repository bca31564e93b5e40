"""``flask links add/list/remove``, and the ``--link NAME`` option of the commands that act on one
link.

Without it the install's only link is meant; with more than one link the command names them and
stops (exit 2, one line), as it does for a name no live link has.
"""

from __future__ import annotations

import functools
import shlex
import sys
from collections.abc import Callable
from typing import NoReturn

import click
from flask.cli import AppGroup

from pp2eb.models import Link
from pp2eb.schema import needs_database
from pp2eb.setup import connections, links

LINK = click.option("--link", "link_name", default=None, metavar="NAME", help="The link to act on.")


def resolve(link_name: str | None) -> Link:
    """The link ``--link`` names, else the only one; says why not and exits 2."""
    try:
        return links.pick(link_name)
    except links.NoSuchLink as exc:
        stop(str(exc))


def stop(message: str) -> NoReturn:
    """Say ``message`` in one line and exit 2, as for a wrong option."""
    click.echo(f"Error: {message}", err=True)
    sys.exit(2)


def link_option(command: Callable) -> Callable:
    """Add ``--link NAME`` to ``command``, which gets the link as its ``link`` argument."""

    @LINK
    @functools.wraps(command)
    def wrapper(*args, link_name: str | None, **kwargs):
        return command(*args, link=resolve(link_name), **kwargs)

    return wrapper


links_group = AppGroup("links", help="The links: one Plug&Pay account into one administration.")


@links_group.command("list")
@needs_database
def links_list() -> None:
    """Name each link, with which of its accounts are connected."""
    for link in links.live():
        sides = [
            name + (" connected" if connections.get_credential(link, service) else " not connected")
            for service, name in connections.SERVICES.items()
        ]
        click.echo(f"{link.name}: {', '.join(sides)}")


@links_group.command("add")
@click.argument("name")
@needs_database
def links_add(name: str) -> None:
    """Add a link called NAME; connect its accounts on its pages or with flask connect."""
    try:
        link = links.add(name)
    except links.BadName as exc:
        stop(str(exc))
    click.echo(
        f"Link {link.name} added. Connect its accounts in the browser, or with "
        f"flask connect plugandpay --link {shlex.quote(link.name)} (then eboekhouden)."
    )


@links_group.command("remove")
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@needs_database
def links_remove(name: str, yes: bool) -> None:
    """Remove the link called NAME: it is no longer run nor shown; its history is kept."""
    link = resolve(name)
    if not yes:
        click.confirm(f"Remove {link.name}? Its orders and runs stay in the database.", abort=True)
    links.remove(link)
    click.echo(
        f"Removed {name}: it is no longer run, and its webhook address no longer answers "
        "(delete its rule in Plug&Pay if one was registered). Its history is kept."
    )
