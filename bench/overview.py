"""``make bench-overview``: the overview of many links (an office's home page), cold and warm.

``python -m bench.overview`` makes a fresh database (SQLite in a temporary folder; with
``--databases sqlite postgresql`` also a throwaway PostgreSQL server, ``tests.pg_run.Server``)
and fills it directly, without the APIs: ``--links`` links (``pp2eb.setup.links.add``), both
sides connected (stored encrypted, not checked live), complete settings, and ``--orders``
recorded orders per link.
The orders are the Plug&Pay sandbox's demo mix (``generate_orders``: several VAT rates, EU
consumer sales, reverse charge, exports, credit invoices, test-mode orders and concepts),
invoiced from 1 January of last year to the day before the pinned ``--today``, stored as the
engine stores them (``order_json`` and the columns ``booking_path.read`` shows), but as a
release before 0014 left them: without what each order adds to the OSS threshold; a few of
them failed, and each link has a few runs, some of which stopped.

Measured, with the clock pinned at 10:00 UTC on ``--today``:

* ``overview.rows(links.live(), now)`` in a new app context each time: the first look (every
  order with an invoice date this year or last worked out from its JSON once, and kept on its
  record), again (nothing changed; the median of ``--repeat`` looks), and after one order of
  one link changed;
* the whole page, ``GET /`` through the Flask test client as a logged-in admin, in another
  new app: cold, then warm (median of ``--repeat``).

Per look: the wall time, the SQL statements sent (``before_cursor_execute``), the orders
parsed (calls of the OSS watch's ``parse_order``) and how far the process's peak RSS rose above
its RSS before the look (``bench.measure``: the kernel's high-water mark, reset first). The
section "Overview of many links" of ``bench/results.md`` is written between its markers; the
other sections stay as they are.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import time_machine
from cryptography.fernet import Fernet

from bench.measure import peak_rss_kb, reset_peak_rss, rss_kb
from bench.report import OVERVIEW_END as SECTION_END
from bench.report import OVERVIEW_START as SECTION_START
from bench.report import write_section
from bench.run import HERE, machine
from bench.worker import BENCH_USER, OSS_LEDGERS

logger = logging.getLogger(__name__)

# Distinct generated order sets: link n gets set n % ORDER_SETS (each seeded with its number),
# so that making 200 links does not take minutes of generating; parsing costs the same.
ORDER_SETS = 20
FAILED_EVERY = 97  # every 97th live order of every third link failed
REFUSED = "e-Boekhouden refused the booking (bench)"
CSRF_INPUT = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


@dataclass
class Options:
    """What to run; the defaults are ``make bench-overview``'s."""

    links: int = 200
    orders: int = 1000
    today: date = date(2026, 11, 18)
    repeat: int = 5
    databases: list[str] = field(default_factory=lambda: ["sqlite"])
    out: Path = HERE / "results.md"


class Meter:
    """Counts the SQL statements an engine sends and the orders the OSS watch parses."""

    def __init__(self, engine: sa.Engine) -> None:
        from pp2eb.reports import oss_watch

        self.queries = self.parsed = 0
        self._oss_watch, self._parse = oss_watch, oss_watch.parse_order
        sa.event.listen(engine, "before_cursor_execute", self._count_query)

        def parse(raw: object) -> Any:
            self.parsed += 1
            return self._parse(raw)

        oss_watch.parse_order = parse

    def _count_query(self, *args: object) -> None:
        self.queries += 1

    @contextmanager
    def look(self, into: list[dict[str, Any]]) -> Iterator[None]:
        """Time the block; add its seconds, queries, parsed orders and how far the process's
        RSS rose above where it stood before (its peak, ``bench.measure``) to ``into``."""
        queries, parsed = self.queries, self.parsed
        rss = rss_kb()
        reset_peak_rss()
        started = time.perf_counter()
        yield
        into.append(
            {
                "seconds": time.perf_counter() - started,
                "queries": self.queries - queries,
                "parsed": self.parsed - parsed,
                "rss_growth_kb": max(0, peak_rss_kb() - rss),
            }
        )

    def close(self) -> None:
        self._oss_watch.parse_order = self._parse


def app_config(url: str, encryption_key: str) -> dict[str, Any]:
    return {
        "SECRET_KEY": "bench-secret-key",
        "ENCRYPTION_KEY": encryption_key,
        "SQLALCHEMY_DATABASE_URI": url,
        "SCHEDULER": False,
        "PLUGANDPAY_BASE_URL": "http://127.0.0.1:9/plugandpay/v2",  # never called
        "EBOEKHOUDEN_BASE_URL": "http://127.0.0.1:9/eboekhouden/v1",
    }


def name(n: int) -> str:
    return f"Shop {n:03d}"


def order_sets(opts: Options) -> list[list[dict[str, Any]]]:
    """The recorded orders' columns, ``min(links, ORDER_SETS)`` sets of ``opts.orders``."""
    from pp2eb import jsonutil
    from pp2eb.engine import booking_path
    from pp2eb.sandbox.plugandpay.demo_data import generate_orders

    start, end = date(opts.today.year - 1, 1, 1), opts.today - timedelta(days=1)
    sets = []
    for number in range(1, min(opts.links, ORDER_SETS) + 1):
        rows, live = [], 0
        for raw in generate_orders(opts.orders, number, start, end):
            reading = booking_path.read(raw)
            order, shown = reading.order, reading.shown
            state, reason = "booked", None
            if order is None:
                state, reason = "failed", str(reading.problem)
            elif order.mode != "live" or order.invoice_status != "final":
                state, reason = "skipped", "a test order or a concept"
            else:
                live += 1
                if live % FAILED_EVERY == 0:
                    state, reason = "failed", REFUSED
            day = date.fromisoformat(shown["invoice_date"]) if shown.get("invoice_date") else end
            seen = datetime.combine(day, clock_time(12))
            rows.append(
                {
                    "order_id": reading.order_id,
                    "state": state,
                    "reason": reason,
                    "order_json": jsonutil.dumps(raw),
                    "first_seen_at": seen,
                    "updated_at": seen,
                    "booked_at": seen if state == "booked" else None,
                    "eboekhouden_id": reading.order_id if state == "booked" else None,
                    **shown,
                    # As records from before 0014: what each order adds to the OSS threshold
                    # is not kept yet, so the first look works it out (a run writes it).
                    "eu_sale_country": None,
                    "eu_sale_net": None,
                }
            )
        sets.append(rows)
    return sets


def fill(app, opts: Options) -> dict[str, Any]:
    """Links, users, connections, settings, recorded orders and runs; what was made."""
    from pp2eb.extensions import db
    from pp2eb.mapping.settings import USUAL_CODES
    from pp2eb.models import Credential, Link, OrderRecord, ShopSettings, SyncRun
    from pp2eb.setup import appstate, connections, links, shopsettings
    from pp2eb.states import RunStatus
    from pp2eb.web.auth import create_user

    sets = order_sets(opts)
    now = datetime.combine(opts.today, clock_time(10))
    with app.app_context():
        create_user(*BENCH_USER)  # an admin: sees every link
        first = links.only()
        first.name = name(1)
        db.session.commit()
        ids = [first.id] + [links.add(name(n)).id for n in range(2, opts.links + 1)]
        vault = app.extensions["pp2eb_vault"]
        for link_id in ids:
            for service in connections.SERVICES:
                db.session.add(
                    Credential(
                        link_id=link_id,
                        service=service,
                        secret_encrypted=vault.encrypt(f"{service}-secret-{link_id}"),
                        base_url=connections.default_base_url(service),
                        account_name=f"{service} {link_id}",
                    )
                )
        db.session.commit()
        settings = {
            **USUAL_CODES,
            "start_date": date(opts.today.year - 1, 1, 1).isoformat(),
            "oss": "oss",
            "oss_ledgers": OSS_LEDGERS,
        }
        data = sa.select(ShopSettings.data).where(ShopSettings.link_id == ids[0])
        shopsettings.save_draft(db.session.get(Link, ids[0]), settings)
        oss = db.session.execute(data).scalar_one()
        shopsettings.save_draft(db.session.get(Link, ids[0]), {"oss": "home_country"})
        home = db.session.execute(data).scalar_one()
        shopsettings.save_draft(db.session.get(Link, ids[0]), {"oss": "oss"})
        # Every fourth link charges NL VAT abroad (below the threshold), the others use OSS.
        db.session.execute(
            sa.insert(ShopSettings),
            [
                {"link_id": link_id, "data": home if n % 4 == 0 else oss}
                for n, link_id in enumerate(ids[1:], start=2)
            ],
        )
        db.session.commit()
        for n, link_id in enumerate(ids, start=1):
            if n % 25 == 0:
                appstate.put(db.session.get(Link, link_id), appstate.SCHEDULE_PAUSED, True)
        orders = 0
        for n, link_id in enumerate(ids, start=1):
            rows = [{**row, "link_id": link_id} for row in sets[(n - 1) % len(sets)]]
            if n % 3:  # the refused bookings only on every third link; unreadable ones stay
                for row in rows:
                    if row["reason"] == REFUSED:
                        row.update(state="booked", reason=None, eboekhouden_id=row["order_id"])
                        row["booked_at"] = row["updated_at"]
            db.session.execute(sa.insert(OrderRecord), rows)
            orders += len(rows)
            runs = []
            for back in range(3, 0, -1):
                started = now - timedelta(minutes=60 * back + n % 60)
                stopped = back == 1 and n % 10 == 0
                runs.append(
                    {
                        "link_id": link_id,
                        "kind": "sync",
                        "status": RunStatus.ABORTED if stopped else RunStatus.FINISHED,
                        "started_at": started,
                        "finished_at": started + timedelta(seconds=20),
                        "booked": 3,
                        "skipped": 1,
                        "failed": 1 if n % 3 == 0 else 0,
                        "already_booked": 40,
                        "message": "e-Boekhouden did not answer (bench)" if stopped else None,
                    }
                )
            db.session.execute(sa.insert(SyncRun), runs)
            db.session.commit()
        states = dict(
            db.session.execute(
                sa.select(OrderRecord.state, sa.func.count()).group_by(OrderRecord.state)
            ).all()
        )
    return {"links": len(ids), "orders": orders, "states": states}


def login(client) -> None:
    page = client.get("/auth/login").get_data(as_text=True)
    token = CSRF_INPUT.search(page)
    if token is None:
        raise RuntimeError("no CSRF token on the login page")
    username, password = BENCH_USER
    answer = client.post(
        "/auth/login",
        data={"username": username, "password": password, "csrf_token": token.group(1)},
    )
    if answer.status_code != 302:
        raise RuntimeError(f"logging in answered {answer.status_code}")


def measure(make_app: Callable[[], Any], opts: Options) -> dict[str, Any]:
    """Every look (see the module's docstring); their figures by name."""
    from pp2eb.extensions import db
    from pp2eb.models import OrderRecord
    from pp2eb.reports import overview
    from pp2eb.setup import links

    now = datetime.combine(opts.today, clock_time(10))
    looks: dict[str, list[dict[str, Any]]] = {
        name: [] for name in ("rows cold", "rows warm", "rows after one change")
    }
    looks.update({"page cold": [], "page warm": []})
    app = make_app()
    with app.app_context():
        meter = Meter(db.engine)
    try:

        def rows(into: str) -> list:
            with app.app_context(), meter.look(looks[into]):
                return overview.rows(links.live(), now)

        found = rows("rows cold")
        for _ in range(opts.repeat):
            rows("rows warm")
        with app.app_context():
            # One order of the last link was booked after all: its record changes.
            record = db.session.execute(
                sa.select(OrderRecord)
                .where(OrderRecord.link_id == found[-1].id)
                .order_by(OrderRecord.id.desc())
                .limit(1)
            ).scalar_one()
            record.state = "booked"
            record.updated_at = now
            db.session.commit()
        rows("rows after one change")
        attention = sum(1 for row in found if row.needs_attention)
    finally:
        meter.close()
    page = make_app()
    with page.app_context():
        meter = Meter(db.engine)
    try:
        client = page.test_client()
        login(client)
        for into, times in (("page cold", 1), ("page warm", opts.repeat)):
            for _ in range(times):
                with meter.look(looks[into]):
                    answer = client.get("/")
                html = answer.get_data(as_text=True)
                if answer.status_code != 200 or name(opts.links) not in html:
                    raise RuntimeError(f"GET / answered {answer.status_code} without the links")
    finally:
        meter.close()
    page_bytes = len(html.encode())
    return {"looks": looks, "rows": len(found), "attention": attention, "page_bytes": page_bytes}


DATABASES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


def run(opts: Options) -> dict[str, Any]:
    """For each of ``opts.databases``: make the database, fill it, measure; the raw results."""
    results: dict[str, Any] = {
        "machine_before": machine(),
        "options": {k: str(v) for k, v in asdict(opts).items() if k != "out"},
        "runs": [],
    }
    pinned = time_machine.travel(
        datetime.combine(opts.today, clock_time(10), tzinfo=UTC), tick=True
    )
    pinned.start()
    try:
        for database in opts.databases:
            logger.info("%s: %d links x %d orders", database, opts.links, opts.orders)
            results["runs"].append(run_on(database, opts))
    finally:
        pinned.stop()
    results["machine_after"] = machine()
    return results


def run_on(database: str, opts: Options) -> dict[str, Any]:
    """One database in a temporary folder: made, filled, measured."""
    from flask_migrate import upgrade

    from pp2eb import create_app
    from pp2eb.extensions import db

    results: dict[str, Any] = {"database": DATABASES[database]}
    folder = Path(tempfile.mkdtemp(prefix="pp2eb-bench-overview-"))
    made: list = []
    postgres = None
    try:
        if database == "postgresql":
            from tests.pg_run import Server as PostgresServer

            postgres = PostgresServer(folder)
            postgres.start()
            url = postgres.url
        else:
            url = f"sqlite:///{folder / 'pp2eb.sqlite'}"
        config = app_config(url, Fernet.generate_key().decode())

        def make_app():
            instance = os.environ.get("PP2EB_INSTANCE_PATH")
            os.environ["PP2EB_INSTANCE_PATH"] = str(folder / "instance")
            try:
                app = create_app(config)
            finally:
                if instance is None:
                    os.environ.pop("PP2EB_INSTANCE_PATH")
                else:
                    os.environ["PP2EB_INSTANCE_PATH"] = instance
            made.append(app)
            return app

        started = time.perf_counter()
        app = make_app()
        with app.app_context():
            upgrade()
        results["made"] = fill(app, opts)
        results["fill_seconds"] = time.perf_counter() - started
        results.update(measure(make_app, opts))
    finally:
        for app in made:
            with app.app_context():
                db.engine.dispose()
        try:
            if postgres is not None:
                postgres.stop()
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    return results


def figures(run: dict[str, Any], look: str) -> dict[str, float]:
    """One look's milliseconds (the median of its repeats), queries and orders parsed."""
    samples = run["looks"][look]
    return {
        "ms": 1000 * statistics.median(s["seconds"] for s in samples),
        "queries": statistics.median(s["queries"] for s in samples),
        "parsed": statistics.median(s["parsed"] for s in samples),
        "rss_mib": statistics.median(s["rss_growth_kb"] for s in samples) / 1024,
    }


LOOKS = (
    (
        "rows cold",
        "`overview.rows`, first look after the upgrade (each order's OSS sale worked out once "
        "from its JSON, and kept)",
    ),
    ("rows warm", "`overview.rows` again (nothing changed)"),
    ("rows after one change", "`overview.rows` after one order of one link changed"),
    ("page cold", "`GET /` as an admin in a new process"),
    ("page warm", "`GET /` as an admin, again"),
)


def render(results: dict[str, Any]) -> str:
    """The section of ``bench/results.md``, between its markers."""
    opts, before, after = results["options"], results["machine_before"], results["machine_after"]
    runs = results["runs"]
    made, first = runs[0]["made"], runs[0]
    states = made["states"]
    fills = ", ".join(f"{r['fill_seconds']:.0f} s filling {r['database']}" for r in runs)
    lines = [
        SECTION_START,
        "## Overview of many links",
        "",
        f"Written by `make bench-overview` on {before['date']} (Python {before['python']}, "
        f"{before['cpus']} CPUs; load average {before['load'][0]:.2f} before, "
        f"{after['load'][0]:.2f} after; {fills}). "
        f"**{made['links']} links × {opts['orders']} recorded orders** "
        f"({made['orders']:,} records: {states.get('booked', 0):,} booked, "
        f"{states.get('skipped', 0):,} skipped, {states.get('failed', 0):,} failed), the "
        f"sandbox's demo mix invoiced from 1 January last year to the day before "
        f"{opts['today']}, the pinned today; each database new in a temporary folder (PostgreSQL: "
        "a throwaway server, no fsync), filled directly (no APIs). "
        f"{first['attention']} of the {first['rows']} rows need attention. Warm figures "
        f"are the median of {opts['repeat']} looks. How it is measured: `bench/README.md`.",
        "",
        "| look | "
        + " | ".join(f"{r['database']}: wall time (ms)" for r in runs)
        + " | SQL statements | orders parsed | "
        + " | ".join(f"{r['database']}: peak RSS rise (MiB)" for r in runs)
        + " |",
        "|---|" + "---|" * (2 * len(runs) + 2),
    ]
    for look, label in LOOKS:
        each = [figures(r, look) for r in runs]
        queries = " / ".join(sorted({f"{f['queries']:.0f}" for f in each}))
        parsed = " / ".join(sorted({f"{f['parsed']:,.0f}" for f in each}))
        times = " | ".join(f"{f['ms']:.1f}" for f in each)
        rss = " | ".join(f"{f['rss_mib']:.0f}" for f in each)
        lines.append(f"| {label} | {times} | {queries} | {parsed} | {rss} |")
    lines.append("")
    for r in runs:
        cold = figures(r, "rows cold")
        per_order = cold["ms"] / cold["parsed"] if cold["parsed"] else 0.0
        lines.append(
            f"- {r['database']}: the first look, {per_order:.3f} ms per order worked out over "
            f"the whole look; the page is {r['page_bytes'] / 1024:.0f} KiB of HTML."
        )
    lines += [
        "- The records are filled as a release before 0014 left them: without what each order "
        "adds to the OSS threshold. The first look works that out from the JSON of every "
        "recorded order with an invoice date in this year or the last (concepts have none) "
        "and keeps it on the record; every later look, in this process or another, sums the "
        "kept columns and parses nothing. A run writes them with each order it records. The "
        "page's SQL statements include the log-in session's and the user's.",
        "",
        SECTION_END,
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    """Fill, measure, print the section and write it into ``bench/results.md``."""
    defaults = Options()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--links", type=int, default=defaults.links)
    parser.add_argument("--orders", type=int, default=defaults.orders, help="per link")
    parser.add_argument("--today", type=date.fromisoformat, default=defaults.today)
    parser.add_argument("--repeat", type=int, default=defaults.repeat, help="warm looks")
    parser.add_argument(
        "--databases",
        nargs="+",
        choices=list(DATABASES),
        default=defaults.databases,
        help="postgresql: a throwaway server (tests.pg_run)",
    )
    parser.add_argument("--out", type=Path, default=defaults.out)
    args = parser.parse_args(argv)
    if args.links < 2 or args.orders < 1 or args.repeat < 1:
        parser.error("need at least 2 links (the overview), 1 order and 1 repeat")
    logging.basicConfig(level=logging.WARNING, format="bench: %(message)s", stream=sys.stderr)
    logging.getLogger("bench").setLevel(logging.INFO)
    opts = Options(**vars(args))
    try:
        results = run(opts)
    except (RuntimeError, OSError) as exc:
        sys.exit(f"bench: {exc}")
    section = render(results)
    write_section(opts.out, section, SECTION_START, SECTION_END)
    sys.stdout.write(section)


if __name__ == "__main__":
    main()
