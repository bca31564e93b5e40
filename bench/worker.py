"""pp2eb's side of a benchmark, in a process of its own: set up, then the measured backfills.

``python -m bench.worker --sandbox http://127.0.0.1:5210 --instance DIR --since D --until D
--runs 2`` makes a fresh pp2eb (SQLite file in ``DIR``), connects it to the sandboxes, stores
settings that fit the demo chart, and then runs ``jobs.run("backfill", ...)`` ``--runs`` times:
the first books everything, the next ones find everything booked. It prints one JSON line per
run: wall time, CPU, the HTTP client's share, peak RSS, the calls the sandboxes counted, and
what the run did.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from datetime import date
from pathlib import Path
from typing import Any

import requests
from cryptography.fernet import Fernet

from bench.measure import HttpMeter, measured

# The settings of the engine tests (tests/engine_helpers.py): OSS with one ledger per country.
OSS_LEDGERS = {"BE": "1640", "DE": "1641", "FR": "1642"}
PLUGANDPAY, EBOEKHOUDEN = "plugandpay", "eboekhouden"
BENCH_USER = ("bench", "bench-password")


def sandbox_control(root: str, api: str, method: str, path: str, **kwargs: Any) -> Any:
    """Call ``/_sandbox/<path>`` of one sandbox API (never counted, limited or faulted)."""
    resp = requests.request(method, f"{root}/{api}/_sandbox/{path}", timeout=60, **kwargs)
    resp.raise_for_status()
    return resp.json() if resp.content else None


def sandbox_stats(root: str, *, zero: bool = False) -> dict[str, dict[str, int]]:
    """Calls per ``"METHOD /rule"`` of both APIs; ``zero`` reads and zeroes them."""
    method = "DELETE" if zero else "GET"
    return {api: sandbox_control(root, api, method, "stats") for api in (PLUGANDPAY, EBOEKHOUDEN)}


def make_app(instance: Path, root: str):
    """A fresh pp2eb on a SQLite file in ``instance``, pointed at the sandboxes at ``root``."""
    os.environ["PP2EB_INSTANCE_PATH"] = str(instance)
    from pp2eb import create_app

    return create_app(
        {
            "SECRET_KEY": "bench-secret-key",
            "ENCRYPTION_KEY": Fernet.generate_key().decode(),
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{instance / 'pp2eb.sqlite'}",
            "PLUGANDPAY_BASE_URL": f"{root}/plugandpay/v2",
            "EBOEKHOUDEN_BASE_URL": f"{root}/eboekhouden/v1",
            "HTTP_TIMEOUT": 30.0,
        }
    )


def set_up(app, since: date) -> None:
    """Migrate, add a user, connect both sandbox accounts and store complete settings."""
    from flask_migrate import upgrade

    from pp2eb.mapping.settings import USUAL_CODES
    from pp2eb.sandbox import EBOEKHOUDEN_TOKEN, PLUGANDPAY_KEY
    from pp2eb.setup import connections, links, shopsettings
    from pp2eb.web.auth import create_user

    with app.app_context():
        upgrade()
        create_user(*BENCH_USER)
        link = links.only()
        connections.connect(link, PLUGANDPAY, PLUGANDPAY_KEY)
        connections.connect(link, EBOEKHOUDEN, EBOEKHOUDEN_TOKEN)
        shopsettings.save_draft(
            link,
            {
                **USUAL_CODES,  # the sandbox's chart has them all
                "start_date": since.isoformat(),
                "oss": "oss",
                "oss_ledgers": OSS_LEDGERS,
            },
        )


def backfill(app, meter: HttpMeter, args: argparse.Namespace) -> dict[str, Any]:
    """One measured ``jobs.run("backfill")``; the sandboxes' counts are zeroed before it."""
    from pp2eb.runs import jobs
    from pp2eb.setup import links

    root, since, until = args.sandbox, args.since, args.until
    sandbox_stats(root, zero=True)
    with app.app_context(), measured(meter, args.sandbox_pid) as phase:
        result = jobs.run("backfill", link=links.only(), since=since, until=until)
    return {
        **phase.as_dict(),
        "stats": sandbox_stats(root),
        "result": {
            "status": result.status,
            "booked": result.booked,
            "skipped": result.skipped,
            "failed": result.failed,
            "waiting": result.waiting,
            "already_booked": result.already_booked,
            "message": result.message,
            "failures": [f.reason for f in result.failures[:5]],
        },
    }


def main(argv: list[str] | None = None) -> None:
    """Set up once, then print one JSON line per measured backfill."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sandbox", required=True, help="root URL of bench.sandbox_server")
    parser.add_argument("--instance", required=True, type=Path)
    parser.add_argument("--since", required=True, type=date.fromisoformat)
    parser.add_argument("--until", required=True, type=date.fromisoformat)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--sandbox-pid", type=int, help="to measure the sandboxes' CPU too")
    parser.add_argument("--profile", type=Path, help="write cProfile stats of run 1 here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    args.instance = args.instance.resolve()
    args.instance.mkdir(parents=True, exist_ok=True)
    app = make_app(args.instance, args.sandbox)
    set_up(app, args.since)
    meter = HttpMeter()
    meter.install()
    for number in range(args.runs):
        if args.profile and number == 0:
            import cProfile

            profiler = cProfile.Profile()
            report = profiler.runcall(backfill, app, meter, args)
            profiler.dump_stats(args.profile)
        else:
            report = backfill(app, meter, args)
        sys.stdout.write(json.dumps(report) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
