"""``flask`` commands: connections, backups, the scheduler, the sandbox; ``--link`` is
``links``'s, the users and create-user ``users``'s."""

from __future__ import annotations

import threading
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from pp2eb import backup
from pp2eb.cli import booking as cli_booking
from pp2eb.cli.links import link_option, links_group
from pp2eb.cli.users import create_user_command, users_group
from pp2eb.models import Credential, Link
from pp2eb.schema import needs_database
from pp2eb.setup import connections


@click.group("connect", cls=AppGroup)
def connect_group() -> None:
    """Connect an account: the key is checked live, then stored encrypted."""


def _connect(
    link: Link, service: str, secret: str | None, base_url: str | None, asked: str
) -> None:
    # Asked for here, not by click: a database that is not ready is said before the question.
    secret = secret or click.prompt(asked, hide_input=True)
    try:
        connection = connections.connect(link, service, secret, base_url)
    except connections.ConnectError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Connected {connections.SERVICES[service]}: {connection.description}")
    click.echo(f"API address: {connection.base_url}")


@connect_group.command("plugandpay")
@click.option(
    "--api-key",
    envvar="PP2EB_PLUGANDPAY_API_KEY",
    help="The Plug&Pay API key (asked for when left out).",
)
@click.option("--base-url", default=None, help="API address, version included.")
@needs_database
@link_option
def connect_plugandpay(api_key: str | None, base_url: str | None, link: Link) -> None:
    """Connect Plug&Pay with an API key."""
    _connect(link, Credential.PLUGANDPAY, api_key, base_url, "Api key")


@connect_group.command("eboekhouden")
@click.option(
    "--token",
    envvar="PP2EB_EBOEKHOUDEN_TOKEN",
    help="The e-Boekhouden.nl API token (asked for when left out).",
)
@click.option("--base-url", default=None, help="API address, version included.")
@needs_database
@link_option
def connect_eboekhouden(token: str | None, base_url: str | None, link: Link) -> None:
    """Connect e-Boekhouden.nl with an API token."""
    _connect(link, Credential.EBOEKHOUDEN, token, base_url, "Token")


@connect_group.command("vat-rounding")
@click.argument("how", type=click.Choice(["learn", "total", "row"]))
@link_option
def connect_vat_rounding(how: str, link: Link) -> None:
    """Set how e-Boekhouden computes VAT: over the TOTAL per VAT code, per ROW, or LEARN it
    from a booking (the default)."""
    try:
        connections.set_vat_rounding(link, None if how == "learn" else how)
    except connections.ConnectError as exc:
        raise click.ClickException(str(exc)) from exc
    if how == "learn":
        click.echo("pp2eb learns how e-Boekhouden computes VAT from a booking it reads back.")
    else:
        click.echo(f"VAT rounding set by hand: {how}.")


@click.command("disconnect")
@with_appcontext
@click.argument("service", type=click.Choice(sorted(connections.SERVICES)))
@needs_database
@link_option
def disconnect_command(service: str, link: Link) -> None:
    """Delete the stored key of SERVICE."""
    if connections.disconnect(link, service):
        click.echo(f"Disconnected {connections.SERVICES[service]}; the stored key is deleted.")
    else:
        click.echo(f"{connections.SERVICES[service]} was not connected.")


@click.command("backup")
@with_appcontext
@click.argument("path", type=click.Path(file_okay=False, path_type=Path))
def backup_command(path: Path) -> None:
    """Copy the database and the key files into the new folder PATH, while the app runs."""
    try:
        made = backup.make_backup(current_app, path)
    except backup.BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    for file in made.files:
        click.echo(f"wrote {file}")
    for note in made.notes:
        click.echo(f"note: {note}")


@click.command("scheduler")
@with_appcontext
@needs_database
def scheduler_command() -> None:
    """Run the schedule in this process, without the web pages, until stopped (Ctrl+C)."""
    from pp2eb.runs import scheduler

    click.echo(f"pp2eb scheduler: every {scheduler.TICK_SECONDS} s, the links that are due run.")
    try:
        scheduler.run_until(current_app._get_current_object(), threading.Event())
    except KeyboardInterrupt:  # how a person stops it: no traceback
        click.echo("pp2eb scheduler stopped.")


@click.group("sandbox", cls=AppGroup)
def sandbox_group() -> None:
    """The sandbox APIs of Plug&Pay and e-Boekhouden (demo mode and tests)."""


@sandbox_group.command("serve")
@click.option("--host", default=None, help="Address to listen on (default: SANDBOX_HOST).")
@click.option("--port", default=None, type=int, help="Port (default: SANDBOX_PORT, 5001).")
def sandbox_serve(host: str | None, port: int | None) -> None:
    """Serve both sandbox APIs until stopped."""
    from werkzeug.serving import run_simple

    from pp2eb.sandbox import base_urls
    from pp2eb.sandbox.wsgi import create_sandbox

    host = host or current_app.config["SANDBOX_HOST"]
    port = port or current_app.config["SANDBOX_PORT"]
    for name, url in base_urls(host, port).items():
        click.echo(f"{name}: {url}")
    run_simple(host, port, create_sandbox(), threaded=True)


def init_app(app: Flask) -> None:
    """Register the commands on ``app``."""
    app.cli.add_command(create_user_command)
    app.cli.add_command(connect_group)
    app.cli.add_command(disconnect_command)
    app.cli.add_command(backup_command)
    app.cli.add_command(scheduler_command)
    app.cli.add_command(sandbox_group)
    app.cli.add_command(links_group)
    app.cli.add_command(users_group)
    for command in cli_booking.COMMANDS:
        app.cli.add_command(command)
