"""The overview of many links: one row per link with what its dashboard shows first, and
whether a person should look at it.

A read model: ``rows(links, now)`` answers in a fixed number of queries however many links it is
given (each asks for all the links at once and groups by ``link_id``), so that an office's home
page with 200 links costs what one with 2 does. The parts that decide something (the next run,
the OSS watch, a settings draft's completeness) are the ones the dashboard and the scheduler use,
fed with the rows read here.

The queries are few, not free: the OSS watch reads and parses every recorded order of this year
and the last, as the dashboard's card does for one link (about 0.15 ms an order here).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import sqlalchemy as sa
from flask_babel import gettext as _

from pp2eb import dutchtime
from pp2eb.extensions import db
from pp2eb.mapping.settings import Settings, SettingsError
from pp2eb.models import Credential, Link, OrderRecord, SyncRun
from pp2eb.reports import oss_watch
from pp2eb.runs import scheduler
from pp2eb.setup import appstate, connections, shopsettings
from pp2eb.states import ORDER_FILTERS, RUN_COUNTS, OrderState, RunCount, RunStatus


class Side(StrEnum):
    """Where one side's connection (``Credential``) of a link stands."""

    CONNECTED = "connected"
    NOT_CONNECTED = "not_connected"
    UNREADABLE = "unreadable"  # stored, but this install's encryption key cannot read it

    @property
    def label(self) -> str:
        """The state in words, as the dashboard's connection cards say it."""
        return {
            Side.CONNECTED: _("Connected"),
            Side.NOT_CONNECTED: _("Not connected"),
            Side.UNREADABLE: _("Connect again"),
        }[self]


class Attention(StrEnum):
    """Why a link needs a person to look at it."""

    NOT_CONNECTED = "not_connected"
    UNREADABLE = "unreadable"
    SETUP = "setup"
    RUN_STOPPED = "run_stopped"
    FAILED_ORDERS = "failed_orders"
    OSS = "oss"

    @property
    def label(self) -> str:
        """The reason in words."""
        return {
            Attention.NOT_CONNECTED: _("an account is not connected"),
            Attention.UNREADABLE: _("a stored key cannot be read"),
            Attention.SETUP: _("the set-up is not finished"),
            Attention.RUN_STOPPED: _("the last run stopped"),
            Attention.FAILED_ORDERS: _("orders failed"),
            Attention.OSS: _("OSS threshold near or passed"),
        }[self]


@dataclass(frozen=True)
class SideState:
    """One side of a link: the service (``Credential.PLUGANDPAY``...), its name, its state."""

    service: str
    name: str
    state: Side


@dataclass(frozen=True)
class LastRun:
    """The newest run of a link, as read (not a live database row)."""

    kind: str
    status: RunStatus
    started_at: datetime
    finished_at: datetime | None
    message: str | None
    counts: dict[RunCount, int]

    @property
    def stopped(self) -> bool:
        """True when the run ended before its end (``RunStatus.ABORTED``)."""
        return self.status == RunStatus.ABORTED


@dataclass(frozen=True)
class LinkRow:
    """One link on the overview."""

    id: int
    name: str
    sides: tuple[SideState, ...]  # in ``connections.SERVICES``'s order
    set_up: bool  # both sides stored and the settings complete
    paused: bool
    next_run_at: datetime | None  # None when paused or not set up
    last_run: LastRun | None
    failed_orders: int
    oss: oss_watch.OssWatch
    attention: tuple[Attention, ...]

    @property
    def needs_attention(self) -> bool:
        """True when there is at least one reason to look at the link."""
        return bool(self.attention)


def rows(links: list[Link], now: datetime) -> list[LinkRow]:
    """A row for each of ``links``, in their order, as at ``now`` (naive UTC).

    The links as loaded (``links.live()``, or the user's own): an expired one would be read
    again, a query per link.
    """
    if not links:
        return []
    ids = [link.id for link in links]
    sides = _sides(ids)
    drafts = shopsettings.drafts(links)
    paused = appstate.get_each(links, appstate.SCHEDULE_PAUSED, False)
    last_runs = _last_runs(ids)
    last_syncs = _last_syncs(ids)
    failed = _failed_orders(ids)
    watches = oss_watch.current_for(links, dutchtime.today(now), drafts)
    found = []
    for link in links:
        interval = _interval(drafts[link.id])
        stored = sides.get(link.id, {})
        link_sides = tuple(
            SideState(service, name, stored.get(service, Side.NOT_CONNECTED))
            for service, name in connections.SERVICES.items()
        )
        states = {side.state for side in link_sides}
        set_up = interval is not None and Side.NOT_CONNECTED not in states
        is_paused = bool(paused[link.id])
        next_run = None
        if set_up and not is_paused:
            next_run = scheduler.next_run_after(last_syncs.get(link.id), interval, now)
        last_run, failed_orders = last_runs.get(link.id), failed.get(link.id, 0)
        found.append(
            LinkRow(
                id=link.id,
                name=link.name,
                sides=link_sides,
                set_up=set_up,
                paused=is_paused,
                next_run_at=next_run,
                last_run=last_run,
                failed_orders=failed_orders,
                oss=watches[link.id],
                attention=_attention(states, set_up, last_run, failed_orders, watches[link.id]),
            )
        )
    return found


def filter_attention(found: list[LinkRow]) -> list[LinkRow]:
    """The rows that need attention, in their order."""
    return [row for row in found if row.needs_attention]


def _attention(
    states: set[Side],
    set_up: bool,
    last_run: LastRun | None,
    failed_orders: int,
    oss: oss_watch.OssWatch,
) -> tuple[Attention, ...]:
    reasons = {
        Attention.NOT_CONNECTED: Side.NOT_CONNECTED in states,
        Attention.UNREADABLE: Side.UNREADABLE in states,
        Attention.SETUP: not set_up,
        Attention.RUN_STOPPED: last_run is not None and last_run.stopped,
        Attention.FAILED_ORDERS: failed_orders > 0,
        # As the dashboard's OSS card: shown, and so worth a look, from 75% of the threshold.
        Attention.OSS: oss.level != oss_watch.OK,
    }
    return tuple(reason for reason, applies in reasons.items() if applies)


def _interval(draft: dict) -> timedelta | None:
    """The sync interval of complete settings; None while the set-up is unfinished (as
    ``jobs.load_settings`` refuses them)."""
    try:
        return timedelta(minutes=Settings.from_dict(draft).sync_interval_minutes)
    except SettingsError:
        return None


def _sides(ids: list[int]) -> dict[int, dict[str, Side]]:
    """The stored connections of the links: connected, or stored but unreadable."""
    credentials = db.session.execute(
        sa.select(Credential).where(Credential.link_id.in_(ids))
    ).scalars()
    found: dict[int, dict[str, Side]] = {}
    for credential in credentials:
        side = Side.CONNECTED if connections.readable(credential) else Side.UNREADABLE
        found.setdefault(credential.link_id, {})[credential.service] = side
    return found


def _last_runs(ids: list[int]) -> dict[int, LastRun]:
    """Each link's newest run, as ``records.latest_run`` picks it (latest start, then highest
    id)."""
    latest = (
        sa.select(SyncRun.link_id, sa.func.max(SyncRun.started_at).label("started_at"))
        .where(SyncRun.link_id.in_(ids))
        .group_by(SyncRun.link_id)
        .subquery()
    )
    runs = db.session.execute(
        sa.select(SyncRun)
        .join(
            latest,
            sa.and_(SyncRun.link_id == latest.c.link_id, SyncRun.started_at == latest.c.started_at),
        )
        .order_by(SyncRun.id)
    ).scalars()
    # Two runs started at the same moment: the highest id comes last, and stays.
    return {run.link_id: _last_run(run) for run in runs}


def _last_run(run: SyncRun) -> LastRun:
    return LastRun(
        kind=run.kind,
        status=RunStatus(run.status),
        started_at=run.started_at,
        finished_at=run.finished_at,
        message=run.message,
        counts={count: getattr(run, count) for count in RUN_COUNTS},
    )


def _last_syncs(ids: list[int]) -> dict[int, datetime]:
    """When each link's latest sync started, the schedule's starting point
    (``scheduler.next_run_at``)."""
    found = db.session.execute(
        sa.select(SyncRun.link_id, sa.func.max(SyncRun.started_at))
        .where(SyncRun.link_id.in_(ids), SyncRun.kind == "sync")
        .group_by(SyncRun.link_id)
    ).all()
    return dict(found)


def _failed_orders(ids: list[int]) -> dict[int, int]:
    """How many orders of each link are in the dashboard's "failed" filter."""
    found = db.session.execute(
        sa.select(OrderRecord.link_id, sa.func.count())
        .where(
            OrderRecord.link_id.in_(ids),
            OrderRecord.state.in_(ORDER_FILTERS[OrderState.FAILED]),
        )
        .group_by(OrderRecord.link_id)
    ).all()
    return dict(found)
