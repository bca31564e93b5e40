"""``flask links list``, and the ``--link NAME`` option of the commands that act on one link.

Without it the install's only link is meant; with more than one link the command names them and
stops (exit 2, one line), as it does for a name no live link has.
"""

from __future__ import annotations

import functools
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
