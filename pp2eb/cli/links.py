"""The ``--link NAME`` option of the commands that act on one link.

Without it the install's only link is meant; with more than one link the command names them and
stops (exit 2, one line), as it does for a name no live link has.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable

import click

from pp2eb.setup import links


def link_option(command: Callable) -> Callable:
    """Add ``--link NAME`` to ``command``, which gets the link as its ``link`` argument."""

    @click.option("--link", "link_name", default=None, metavar="NAME", help="The link to act on.")
    @functools.wraps(command)
    def wrapper(*args, link_name: str | None, **kwargs):
        try:
            link = links.pick(link_name)
        except links.NoSuchLink as exc:
            click.echo(f"Error: {exc}", err=True)
            sys.exit(2)
        return command(*args, link=link, **kwargs)

    return wrapper
