"""``flask sync``, ``flask backfill``, ``flask orders show`` and ``flask settings``."""

from __future__ import annotations

import json
import sys
from contextlib import contextmanager
from datetime import date

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from pp2eb.apis import errors as apierrors
from pp2eb.cli.links import LINK, link_option, resolve, stop
from pp2eb.dutchtime import show
from pp2eb.engine import preview
from pp2eb.engine.runstate import RunResult
from pp2eb.engine.store import Store
from pp2eb.engine.sync import backfill_orders, fetch_reference
from pp2eb.extensions import db
from pp2eb.mapping.settings import OLD_VAT_KEYS, Settings, SettingsError
from pp2eb.models import Attempt, Link, OrderRecord
from pp2eb.runs import jobs, scheduler
from pp2eb.schema import needs_database
from pp2eb.setup import shopsettings
from pp2eb.setup.settings_check import check_against, with_usual_codes
from pp2eb.states import RUN_COUNTS, PaymentState, RunCount, RunStatus

# The counters ``flask sync`` always reports; the others only when not zero.
REPORTED_ALWAYS = (RunCount.BOOKED, RunCount.SKIPPED, RunCount.FAILED)


def _ready(link: Link):
    try:
        clients = jobs.build_clients(link)
        return jobs.load_settings(link), clients
    except jobs.NotReady as exc:
        raise click.ClickException(str(exc)) from exc


@contextmanager
def _api_errors():
    """An API call that fails says what failed and what to do in one line, not a traceback."""
    try:
        yield
    except apierrors.ApiError as exc:
        raise click.ClickException(str(exc)) from exc


def _report(result: RunResult) -> None:
    if result.status == RunStatus.BUSY:
        click.echo(result.message)
        return
    click.echo(_counts(result))
    for failure in result.failures:
        click.echo(f"  order {failure.number or failure.order_id}: {failure.reason}")
    for flagged in result.flagged:
        click.echo(f"  order {flagged.number or flagged.order_id} (booked): {flagged.reason}")
    if result.message:
        click.echo(result.message)
    if not result.ok:
        sys.exit(1)


def _counts(result: RunResult) -> str:
    """The run's counters in one line, in ``RunCount``'s order, then failed payments if any."""
    parts = [
        f"{count.words} {getattr(result, count)}"
        for count in RUN_COUNTS
        if count in REPORTED_ALWAYS or getattr(result, count)
    ]
    if result.payments_failed:
        parts.append(f"payments failed {result.payments_failed}")
    return ", ".join(parts)


@click.command("sync")
@LINK
@click.option("--all", "every", is_flag=True, help="Sync every link the schedule finds due.")
@with_appcontext
@needs_database
def sync_command(link_name: str | None, every: bool) -> None:
    """Book every new order, and retry the ones that are due. Exit 1 when any failed."""
    if every:
        if link_name is not None:
            stop("--all and --link exclude each other.")
        _sync_every_due_link()
        return
    link = resolve(link_name)
    try:
        _report(jobs.run("sync", link=link))
    except jobs.NotReady as exc:
        raise click.ClickException(str(exc)) from exc


def _sync_every_due_link() -> None:
    """Sync each live link that is due (not paused, its interval up), up to
    ``PP2EB_MAX_PARALLEL_LINKS`` at once, then one line per link in the links' order."""
    ok = True
    for name, outcome in scheduler.sync_due_links(current_app._get_current_object()):
        result = outcome.result
        if result is None:
            click.echo(f"{name}: {outcome.message or outcome.status}")
            ok = ok and outcome.status == scheduler.NOT_DUE
            continue
        busy = result.status == RunStatus.BUSY
        click.echo(f"{name}: {result.message if busy else _counts(result)}")
        for failure in result.failures:
            click.echo(f"  order {failure.number or failure.order_id}: {failure.reason}")
        if result.message and not busy:
            click.echo(f"  {result.message}")
        ok = ok and (result.ok or busy)
    if not ok:
        sys.exit(1)


@click.command("backfill")
@click.option(
    "--since",
    required=True,
    type=click.DateTime(["%Y-%m-%d"]),
    help="First invoice date, YYYY-MM-DD.",
)
@click.option("--until", type=click.DateTime(["%Y-%m-%d"]), help="Last invoice date.")
@click.option("--dry-run", is_flag=True, help="Show what would be booked; write nothing.")
@with_appcontext
@needs_database
@link_option
def backfill_command(since, until, dry_run: bool, link: Link) -> None:
    """Book the existing invoices of a date range (or show them with --dry-run)."""
    since_day: date = since.date()
    until_day: date | None = until.date() if until else None
    if not dry_run:
        try:
            _report(jobs.run("backfill", link=link, since=since_day, until=until_day))
        except jobs.NotReady as exc:
            raise click.ClickException(str(exc)) from exc
        return
    settings, (pp, eb) = _ready(link)
    with _api_errors(), eb:
        summary = preview.Summary()
        orders = backfill_orders(pp, since_day, until_day)
        for item in preview.dry_run(pp, eb, Store(db.session, link.id), settings, orders):
            summary.add(item)
            _echo_preview(item)
    _echo_summary(summary)


def _echo_preview(item) -> None:
    head = (
        f"order {item.order_id} · invoice {item.number or '-'} · {item.date or '-'} · "
        f"{item.customer or '-'}"
    )
    click.echo(head)
    if item.already_booked:
        click.echo("  already booked")
    elif item.booking is None:
        click.echo(
            f"  {'skip' if item.skip else 'wait' if item.wait else 'ERROR'}: "
            f"{item.skip or item.wait or item.error}"
        )
    else:
        b = item.booking
        click.echo(f"  {b.insertion} {b.invoice_number} on {b.date} · {item.relation}")
        for row in b.rows:
            click.echo(
                f"    {row.ledger.code:>6} {row.vat_code:<13} {row.amount:>10} "
                f"{(row.description or '')[:50]}"
            )
        vat = ", ".join(f"{code} {amount}" for code, amount in b.vat_expected.items())
        check = "ok" if b.rows_total == b.total else "DIFFERS"
        click.echo(f"    total {b.rows_total} = Plug&Pay {b.total} ({check}); VAT {vat or '-'}")
        for note in b.notes:
            click.echo(f"    note: {note}")


def _echo_summary(summary: preview.Summary) -> None:
    click.echo(
        f"\n{summary.orders} orders: {summary.to_book} to book ({summary.total}), "
        f"{summary.already_booked} already booked, {summary.skipped} skipped, "
        f"{summary.waiting} waiting, {summary.problems} with problems"
    )
    for code, amount in sorted(summary.per_vat_code.items()):
        click.echo(f"  VAT code {code:<13} {amount:>12}")
    for ledger, amount in sorted(summary.per_ledger.items()):
        click.echo(f"  ledger {ledger:<30} {amount:>12}")


orders_group = AppGroup("orders", help="Look at the orders pp2eb has seen.")


@orders_group.command("show")
@click.argument("order_id", type=int)
@needs_database
@link_option
def orders_show(order_id: int, link: Link) -> None:
    """Show an order, the booking made from it, its e-Boekhouden id and every attempt."""
    rec = db.session.execute(
        db.select(OrderRecord).filter_by(link_id=link.id, order_id=order_id)
    ).scalar_one_or_none()
    if rec is None:
        raise click.ClickException(f"pp2eb has not seen Plug&Pay order {order_id}.")
    click.echo(
        f"Plug&Pay order {rec.order_id}: invoice {rec.invoice_number or '-'} of "
        f"{rec.invoice_date or '-'}, {rec.customer or '-'}, {rec.amount_with_tax or '-'}"
    )
    click.echo(
        f"State: {rec.state}"
        + (f" (e-Boekhouden {rec.insertion} {rec.eboekhouden_id})" if rec.eboekhouden_id else "")
    )
    if rec.reason:
        click.echo(f"Reason: {rec.reason}")
    if rec.fix:
        click.echo(f"What to do: {rec.fix}")
    if rec.payment_state != PaymentState.NONE or rec.payment_reason:
        _echo_payment(rec)
    if rec.booking_json:
        click.echo("Booking sent:")
        click.echo(json.dumps(json.loads(rec.booking_json), indent=2, ensure_ascii=False))
    attempts = db.session.execute(
        db.select(Attempt).filter_by(order_record_id=rec.id).order_by(Attempt.at)
    ).scalars()
    click.echo("Attempts:")
    for attempt in attempts:
        code = f" [{attempt.error_code}]" if attempt.error_code else ""
        when = show(attempt.at, seconds=True)
        click.echo(f"  {when} {attempt.outcome}{code}: {attempt.message}")


def _echo_payment(rec: OrderRecord) -> None:
    body = json.loads(rec.payment_json) if rec.payment_json else {}
    found = f" (e-Boekhouden mutation {rec.payment_mutation_id})" if rec.payment_mutation_id else ""
    when = f" dated {body['date']} on ledger id {body['ledgerId']}" if body else ""
    click.echo(f"Payment: {rec.payment_state}{found}{when}")
    if rec.payment_reason:
        click.echo(f"Payment reason: {rec.payment_reason}")


settings_group = AppGroup("settings", help="Export or import the shop's settings as JSON.")


@settings_group.command("export")
@click.argument("file", type=click.File("w"), default="-")
@needs_database
@link_option
def settings_export(file, link: Link) -> None:
    """Write the settings as JSON to FILE (default: the screen)."""
    json.dump(shopsettings.load_draft(link), file, indent=2, sort_keys=True, ensure_ascii=False)
    file.write("\n")


@settings_group.command("import")
@click.argument("file", type=click.File("r"))
@needs_database
@link_option
def settings_import(file, link: Link) -> None:
    """Read settings from FILE, check them against e-Boekhouden, and store them.

    A ledger or template that FILE leaves out takes its usual code only when the e-Boekhouden
    account has it; otherwise it stays unset, which refuses the file only when it is required.
    """
    try:
        data = json.load(file)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        reason = str(exc) if isinstance(exc, json.JSONDecodeError) else type(exc).__name__
        raise click.ClickException(f"{file.name} is not valid JSON: {reason}") from exc
    try:
        pp, eb = jobs.build_clients(link)
    except jobs.NotReady as exc:
        raise click.ClickException(str(exc) + " The settings are checked against it.") from exc
    with _api_errors(), eb:
        reference = fetch_reference(eb, pp)
    try:
        settings = Settings.from_dict(with_usual_codes(data, reference))
    except SettingsError as exc:
        raise click.ClickException(
            "The settings have problems:\n  " + "\n  ".join(exc.problems)
        ) from exc
    problems = check_against(settings, reference)
    if problems:
        raise click.ClickException(
            "The settings do not fit the e-Boekhouden account:\n  " + "\n  ".join(problems)
        )
    shopsettings.replace(link, settings)
    click.echo("Settings imported.")
    old = data.get("vat_map") or {}
    for key, new_keys in OLD_VAT_KEYS.items():
        if key in old:
            click.echo(
                f"vat_map[{key}] ({old[key]}) now sets {' and '.join(new_keys)}: goods and "
                "services each have their own VAT code; check both on the VAT mapping page."
            )


COMMANDS = (sync_command, backfill_command, orders_group, settings_group)
