"""``make bench-links``: many links on PostgreSQL, synced by one or more processes at once.

``python -m bench.links`` starts a throwaway PostgreSQL server (``tests.pg_run.Server``: initdb
into a temporary folder, a unix socket there, removed afterwards) and the sandboxes with a
latency per API call (``bench.sandbox_server --latency-ms``). It sets up ``--links`` links in
one database, each on its own numbered sandbox tenants (``pp-sandbox-key-<n>``,
``eb-sandbox-token-<n>``) with ``--orders`` generated orders, connected and set up as
``bench.worker`` does for one link. That database is the template of every scenario: for each
number of processes (``--processes``) and each ``PP2EB_MAX_PARALLEL_LINKS`` (``--parallel``)
a copy of it is synced by that many ``flask sync --all`` processes started together, against
e-Boekhouden administrations reset to their seed. Measured per scenario: the wall time until
the last process ends, each invoice booked exactly once (counted per tenant in the sandbox),
the API calls per order (the sandboxes' own counters, per tenant), and each process's peak RSS
and CPU (``wait4``'s resource usage of the child). The wall time is compared with the bound
the latency sets: every call waits ``latency``, and at most processes × parallel links have a
call in flight, a link's calls one after another.

The results go into ``bench/results.md`` as its section "Many links on PostgreSQL" (the rest
of the file is ``make bench``'s); raw figures into ``bench/out/links/results.json``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import requests
import sqlalchemy as sa
from cryptography.fernet import Fernet

from bench.report import SECTION_END, SECTION_START, write_section
from bench.run import DAYS, HERE, ROOT, Server, machine
from bench.worker import EBOEKHOUDEN, OSS_LEDGERS, PLUGANDPAY, sandbox_control
from pp2eb import dutchtime
from pp2eb.sandbox import numbered_key, numbered_token
from tests.pg_run import Server as PostgresServer

logger = logging.getLogger(__name__)

TEMPLATE_DB = "links_template"
SET_UP_THREADS = 8


@dataclass
class Options:
    """What to run; the defaults are ``make bench-links``'s (the issue's office)."""

    links: int = 100
    orders: int = 100
    latency_ms: int = 50
    processes: list[int] = field(default_factory=lambda: [1, 3])
    parallel: list[int] = field(default_factory=lambda: [1, 4])
    port: int = 5220
    out: Path = HERE / "results.md"
    scratch: Path = HERE / "out" / "links"


def key(api: str, n: int) -> str:
    """Numbered tenant ``n``'s credential of ``api``."""
    return numbered_key(n) if api == PLUGANDPAY else numbered_token(n)


def tenant_control(root: str, api: str, method: str, path: str, n: int, **kwargs: Any) -> Any:
    """A sandbox control of numbered tenant ``n`` of ``api``."""
    return sandbox_control(root, api, method, f"{path}?tenant={key(api, n)}", **kwargs)


def seed(root: str, opts: Options) -> tuple[Any, Any]:
    """``opts.orders`` generated orders in each link's Plug&Pay tenant, over the year before
    today (seed ``n`` for tenant ``n``); the invoice-date range."""
    until = dutchtime.today() - timedelta(days=1)
    since = until - timedelta(days=DAYS - 1)
    body = {"n": opts.orders, "start": since.isoformat(), "end": until.isoformat()}

    def one(n: int) -> None:
        tenant_control(root, PLUGANDPAY, "POST", "reset", n)
        tenant_control(root, PLUGANDPAY, "POST", "generate", n, json={**body, "seed": n})

    with ThreadPoolExecutor(SET_UP_THREADS) as pool:
        list(pool.map(one, range(1, opts.links + 1)))
    return since, until


def app_config(url: str, root: str, secrets: dict[str, str]) -> dict[str, Any]:
    return {
        "PLUGANDPAY_BASE_URL": f"{root}/plugandpay/v2",
        "EBOEKHOUDEN_BASE_URL": f"{root}/eboekhouden/v1",
        "SECRET_KEY": secrets["SECRET_KEY"],
        "ENCRYPTION_KEY": secrets["ENCRYPTION_KEY"],
        "SQLALCHEMY_DATABASE_URI": url,
        "HTTP_TIMEOUT": 30.0,
    }


def set_up(url: str, root: str, opts: Options, secrets: dict[str, str], since) -> None:
    """Migrate the database at ``url`` and add ``opts.links`` links, "Shop 001" on tenant 1
    and so on, each connected to its own tenants and set up as ``bench.worker`` sets up one."""
    from flask_migrate import upgrade

    from pp2eb import create_app
    from pp2eb.extensions import db
    from pp2eb.mapping.settings import USUAL_CODES
    from pp2eb.models import Link
    from pp2eb.setup import connections, links, shopsettings

    os.environ["PP2EB_INSTANCE_PATH"] = str(opts.scratch / "set-up")
    app = create_app(app_config(url, root, secrets))
    settings = {
        **USUAL_CODES,
        "start_date": since.isoformat(),
        "oss": "oss",
        "oss_ledgers": OSS_LEDGERS,
    }
    with app.app_context():
        upgrade()
        first = links.only()
        first.name = name(1)
        db.session.commit()
        ids = [first.id] + [links.add(name(n)).id for n in range(2, opts.links + 1)]

    def connect(n: int, link_id: int) -> None:
        with app.app_context():
            link = db.session.get(Link, link_id)
            connections.connect(link, PLUGANDPAY, key(PLUGANDPAY, n))
            connections.connect(link, EBOEKHOUDEN, key(EBOEKHOUDEN, n))
            shopsettings.save_draft(link, settings)

    with ThreadPoolExecutor(SET_UP_THREADS) as pool:
        list(pool.map(connect, range(1, opts.links + 1), ids))
    with app.app_context():
        db.engine.dispose()  # a template database must have no connections


def name(n: int) -> str:
    return f"Shop {n:03d}"


def admin_engine(server_url: str) -> sa.Engine:
    return sa.create_engine(server_url, isolation_level="AUTOCOMMIT")


def database_url(server_url: str, database: str) -> str:
    url = sa.make_url(server_url).set(database=database)
    return url.render_as_string(hide_password=False)


def copy_database(server_url: str, database: str) -> str:
    """A new database ``database``, a copy of the set-up one; its URL."""
    engine = admin_engine(server_url)
    with engine.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{database}"'))
        conn.execute(sa.text(f'CREATE DATABASE "{database}" TEMPLATE "{TEMPLATE_DB}"'))
    engine.dispose()
    return database_url(server_url, database)


def fresh_administrations(root: str, opts: Options) -> None:
    """Every link's e-Boekhouden administration back to its seed, and all counters zeroed."""

    def one(n: int) -> None:
        tenant_control(root, EBOEKHOUDEN, "POST", "reset", n)
        tenant_control(root, PLUGANDPAY, "DELETE", "stats", n)
        tenant_control(root, EBOEKHOUDEN, "DELETE", "stats", n)

    with ThreadPoolExecutor(SET_UP_THREADS) as pool:
        list(pool.map(one, range(1, opts.links + 1)))


@dataclass
class Process:
    """One ``flask sync --all`` process and what ``wait4`` said of it."""

    popen: subprocess.Popen
    log: Path
    seconds: float = 0.0
    exit_code: int | None = None
    peak_rss_mib: float = 0.0
    cpu_seconds: float = 0.0


def sync_all(url: str, parallel: int, count: int, folder: Path, secrets: dict) -> dict:
    """``count`` ``flask sync --all`` processes started together; each one's figures."""
    folder.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PP2EB_")}
    env.update(
        PP2EB_INSTANCE_PATH=str(folder / "instance"),
        PP2EB_DATABASE_URL=url,
        PP2EB_MAX_PARALLEL_LINKS=str(parallel),
        PP2EB_SECRET_KEY=secrets["SECRET_KEY"],
        PP2EB_ENCRYPTION_KEY=secrets["ENCRYPTION_KEY"],
    )
    procs = []
    started = time.perf_counter()
    for number in range(1, count + 1):
        log = folder / f"process-{number}.log"
        popen = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "app", "sync", "--all"],
            cwd=ROOT,
            env=env,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
        )
        procs.append(Process(popen, log))
    waiting = list(procs)
    while waiting:
        for proc in list(waiting):
            pid, status, usage = os.wait4(proc.popen.pid, os.WNOHANG)
            if pid == 0:
                continue
            proc.seconds = time.perf_counter() - started
            proc.exit_code = os.waitstatus_to_exitcode(status)
            proc.popen.returncode = proc.exit_code  # reaped here, not by Popen
            proc.peak_rss_mib = usage.ru_maxrss / 1024  # KiB on Linux
            proc.cpu_seconds = usage.ru_utime + usage.ru_stime
            waiting.remove(proc)
        time.sleep(0.05)
    return {
        "wall": max(p.seconds for p in procs),
        "runs": [
            {
                "seconds": p.seconds,
                "exit_code": p.exit_code,
                "peak_rss_mib": p.peak_rss_mib,
                "cpu_seconds": p.cpu_seconds,
                **link_lines(p.log.read_text()),
            }
            for p in procs
        ],
    }


def link_lines(output: str) -> dict[str, Any]:
    """What one process's ``flask sync --all`` said: links it synced, found not due or busy,
    and any other line (errors)."""
    counts: Counter[str] = Counter()
    other = []
    for line in output.splitlines():
        if line.startswith("  "):
            continue  # an order's failure, counted from the database instead
        _, sep, said = line.partition(": ")
        if not sep:
            other.append(line)
        elif said.startswith("booked "):
            counts["synced"] += 1
        elif said == "not due":
            counts["not due"] += 1
        elif said.startswith("Another run is in progress"):
            counts["busy"] += 1
        else:
            other.append(line)
    return {"links": dict(counts), "other": other[:5]}


def check(root: str, url: str, opts: Options) -> dict[str, Any]:
    """Bookings per tenant (each invoice once?), the database's order states, API calls."""

    def one(n: int) -> dict[str, Any]:
        state = tenant_control(root, EBOEKHOUDEN, "GET", "state", n)
        numbers = Counter(m["invoiceNumber"] for m in state["mutations"])
        calls = {
            api: sum(tenant_control(root, api, "GET", "stats", n).values())
            for api in (PLUGANDPAY, EBOEKHOUDEN)
        }
        return {
            "bookings": sum(numbers.values()),
            "duplicates": sum(c - 1 for c in numbers.values() if c > 1),
            "calls": calls,
        }

    with ThreadPoolExecutor(SET_UP_THREADS) as pool:
        tenants = list(pool.map(one, range(1, opts.links + 1)))
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        states = dict(
            conn.execute(sa.text("SELECT state, count(*) FROM order_record GROUP BY state")).all()
        )
        runs = conn.execute(sa.text("SELECT count(*) FROM sync_run")).scalar_one()
    engine.dispose()
    per_link_calls = [sum(t["calls"].values()) for t in tenants]
    return {
        "bookings": sum(t["bookings"] for t in tenants),
        "duplicates": sum(t["duplicates"] for t in tenants),
        "states": states,
        "runs": runs,
        "calls": {api: sum(t["calls"][api] for t in tenants) for api in (PLUGANDPAY, EBOEKHOUDEN)},
        "most_calls_of_a_link": max(per_link_calls),
    }


def bound(result: dict[str, Any], opts: Options) -> float:
    """The least wall time the latency allows: all calls spread over processes × parallel
    links, but never less than the busiest link's calls one after another."""
    latency = opts.latency_ms / 1000
    calls = sum(result["check"]["calls"].values())
    lanes = min(result["processes"] * result["parallel"], opts.links)
    return max(calls * latency / lanes, result["check"]["most_calls_of_a_link"] * latency)


def run(opts: Options) -> dict[str, Any]:
    """Every scenario; the raw results (also written to ``<scratch>/results.json``)."""
    shutil.rmtree(opts.scratch, ignore_errors=True)
    opts.scratch.mkdir(parents=True, exist_ok=True)
    secrets = {"SECRET_KEY": "bench-secret-key", "ENCRYPTION_KEY": Fernet.generate_key().decode()}
    results: dict[str, Any] = {
        "machine_before": machine(),
        "options": {k: v for k, v in asdict(opts).items() if k not in ("out", "scratch")},
        "scenarios": [],
    }
    started = time.perf_counter()
    folder = Path(tempfile.mkdtemp(prefix="pp2eb-bench-pg-"))
    postgres = PostgresServer(folder)
    sandbox_args = ["bench.sandbox_server", "--port", str(opts.port)]
    sandbox_args += ["--latency-ms", str(opts.latency_ms)]
    try:
        postgres.start()
        with Server(sandbox_args, opts.scratch / "sandbox.log") as sandbox:
            logger.info("seeding %d tenants with %d orders each", opts.links, opts.orders)
            since, _until = seed(sandbox.root, opts)
            engine = admin_engine(postgres.url)
            with engine.connect() as conn:
                conn.execute(sa.text(f'CREATE DATABASE "{TEMPLATE_DB}"'))
            engine.dispose()
            set_up_started = time.perf_counter()
            set_up(database_url(postgres.url, TEMPLATE_DB), sandbox.root, opts, secrets, since)
            results["set_up_seconds"] = time.perf_counter() - set_up_started
            for count in opts.processes:
                for parallel in opts.parallel:
                    label = f"{count}-process-{parallel}-parallel"
                    logger.info("%s: %d links x %d orders", label, opts.links, opts.orders)
                    url = copy_database(postgres.url, label.replace("-", "_"))
                    fresh_administrations(sandbox.root, opts)
                    scenario = {"processes": count, "parallel": parallel}
                    scenario.update(sync_all(url, parallel, count, opts.scratch / label, secrets))
                    scenario["check"] = check(sandbox.root, url, opts)
                    scenario["bound"] = bound(scenario, opts)
                    results["scenarios"].append(scenario)
                    logger.info(
                        "%s: %.1f s (bound %.1f s)", label, scenario["wall"], scenario["bound"]
                    )
    finally:
        try:
            postgres.stop()
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    results["total_seconds"] = time.perf_counter() - started
    results["machine_after"] = machine()
    (opts.scratch / "results.json").write_text(json.dumps(results, indent=1, default=str))
    return results


def render(results: dict[str, Any]) -> str:
    """The section of ``bench/results.md``, between its markers."""
    opts, before = results["options"], results["machine_before"]
    after = results["machine_after"]
    orders = opts["links"] * opts["orders"]
    scenarios = results["scenarios"]
    head = [f"{s['processes']} process(es), {s['parallel']} parallel" for s in scenarios]

    def row(label: str, values: list[str]) -> str:
        return "| " + " | ".join([label, *values]) + " |"

    def per_process(s: dict, fmt: str, key: str) -> str:
        return " / ".join(fmt.format(p[key]) for p in s["runs"])

    lines = [
        SECTION_START,
        "## Many links on PostgreSQL",
        "",
        f"Written by `make bench-links` on {before['date']} (Python {before['python']}, "
        f"{before['cpus']} CPUs; load average {before['load'][0]:.2f} before, "
        f"{after['load'][0]:.2f} after; {results['total_seconds']:.0f} s in all, of which "
        f"{results['set_up_seconds']:.0f} s setting up the links). "
        f"**{opts['links']} links × {opts['orders']} orders** ({orders:,} orders), each link "
        f"on its own sandbox tenants; sandbox latency {opts['latency_ms']} ms per API call; "
        "PostgreSQL (a throwaway server, no fsync); every process `flask sync --all`, all "
        "started together on the same database. How it is measured: `bench/README.md`.",
        "",
        row("", head),
        "|" + "---|" * (len(head) + 1),
        row("wall time (s)", [f"{s['wall']:.1f}" for s in scenarios]),
        row(
            "bound: latency × calls ÷ (processes × parallel) (s)",
            [f"{s['bound']:.1f}" for s in scenarios],
        ),
        row(
            "wall time ÷ bound",
            [f"{s['wall'] / s['bound']:.2f}" if s["bound"] else "-" for s in scenarios],
        ),
        row(
            "bookings (e-Boekhouden sandbox, all tenants)",
            [f"{s['check']['bookings']:,}" for s in scenarios],
        ),
        row(
            "orders booked / skipped / failed (database)",
            [
                " / ".join(
                    str(s["check"]["states"].get(state, 0))
                    for state in ("booked", "skipped", "failed")
                )
                for s in scenarios
            ],
        ),
        row("invoice numbers booked twice", [str(s["check"]["duplicates"]) for s in scenarios]),
        row(
            "API calls per order (Plug&Pay + e-Boekhouden)",
            [
                f"{sum(s['check']['calls'].values()) / orders:.2f} "
                f"({s['check']['calls'][PLUGANDPAY] / orders:.2f} + "
                f"{s['check']['calls'][EBOEKHOUDEN] / orders:.2f})"
                for s in scenarios
            ],
        ),
        row(
            "links synced by each process",
            [" / ".join(str(p["links"].get("synced", 0)) for p in s["runs"]) for s in scenarios],
        ),
        row(
            "peak RSS per process (MiB)",
            [per_process(s, "{:.0f}", "peak_rss_mib") for s in scenarios],
        ),
        row("CPU per process (s)", [per_process(s, "{:.1f}", "cpu_seconds") for s in scenarios]),
        "",
        *bound_notes(results),
        SECTION_END,
    ]
    return "\n".join(lines) + "\n"


def bound_notes(results: dict[str, Any]) -> list[str]:
    """How close each wall time comes to its bound, in words."""
    notes = []
    for s in results["scenarios"]:
        lanes = s["processes"] * s["parallel"]
        cpu = sum(p["cpu_seconds"] for p in s["runs"])
        notes.append(
            f"- {s['processes']} process(es) × {s['parallel']} parallel = {lanes} link(s) at "
            f"once: {s['wall']:.1f} s against a bound of {s['bound']:.1f} s "
            f"(the bound is {100 * s['bound'] / s['wall']:.0f}% of the wall time); the pp2eb "
            "processes used "
            f"{cpu:.0f} s of CPU in all."
        )
    return notes + [""]


def main(argv: list[str] | None = None) -> None:
    """Run the scenarios, print the section and write it into ``bench/results.md``."""
    defaults = Options()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--links", type=int, default=defaults.links)
    parser.add_argument("--orders", type=int, default=defaults.orders, help="per link")
    parser.add_argument("--latency-ms", type=int, default=defaults.latency_ms)
    parser.add_argument("--processes", type=int, nargs="+", default=defaults.processes)
    parser.add_argument("--parallel", type=int, nargs="+", default=defaults.parallel)
    parser.add_argument("--port", type=int, default=defaults.port)
    parser.add_argument("--out", type=Path, default=defaults.out)
    parser.add_argument(
        "--from-json", type=Path, help="write the section from a run's results.json; run nothing"
    )
    args = parser.parse_args(argv)
    if args.from_json:
        section = render(json.loads(args.from_json.read_text()))
        write_section(args.out, section)
        sys.stdout.write(section)
        return
    logging.basicConfig(level=logging.WARNING, format="bench: %(message)s", stream=sys.stderr)
    logging.getLogger("bench").setLevel(logging.INFO)
    opts = Options(
        links=args.links,
        orders=args.orders,
        latency_ms=args.latency_ms,
        processes=args.processes,
        parallel=args.parallel,
        port=args.port,
        out=args.out,
    )
    try:
        results = run(opts)
    except (RuntimeError, requests.RequestException, subprocess.CalledProcessError) as exc:
        sys.exit(f"bench: {exc}")
    section = render(results)
    write_section(opts.out, section)
    sys.stdout.write(section)


if __name__ == "__main__":
    main()
