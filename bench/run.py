"""``make bench``: every scenario against one sandbox process, then the table.

Processes: the sandboxes (``bench.sandbox_server``), and per scenario a fresh pp2eb
(``bench.worker``), the naive connector (``bench.naive``) or pp2eb's web app
(``bench.app_server``), so each one's CPU and peak RSS are its own. Between scenarios the
sandboxes are reset and seeded with ``/_sandbox/generate`` (the demo mix, ~30% repeat
customers) over the year before today. Scratch files go to ``bench/out/``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import shutil
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import requests

from bench import dropdowns, report
from bench.worker import BENCH_USER, sandbox_control
from pp2eb import dutchtime

logger = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SEED = 7
DAYS = 365  # "a shop with years of orders": one year of them, invoiced up to yesterday
START_TIMEOUT = 60.0


@dataclass
class Options:
    """What to run; the defaults are ``make bench``'s."""

    sizes: list[int] = field(default_factory=lambda: [1000, 10000])
    naive_size: int = 1000
    limited_size: int = 100
    dropdown_requests: int = 200
    port: int = 5210
    out: Path = HERE / "results.md"
    scratch: Path = HERE / "out"


class Server:
    """A child process that prints ``ready <port>`` once it listens; stopped on exit."""

    def __init__(self, args: list[str], log: Path) -> None:
        self.args, self.log = args, log
        self.proc: subprocess.Popen | None = None
        self.port = 0

    def __enter__(self) -> Server:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", *self.args],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=self.log.open("w"),
            text=True,
        )
        line = self.proc.stdout.readline() if self.proc.stdout else ""
        if not line.startswith("ready "):
            self.__exit__()
            raise RuntimeError(f"{self.args[0]} did not start; see {self.log}")
        self.port = int(line.split()[1])
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    @property
    def pid(self) -> int:
        """The child's process id."""
        return self.proc.pid if self.proc is not None else 0

    @property
    def root(self) -> str:
        """The server's address."""
        return f"http://127.0.0.1:{self.port}"


def json_lines(args: list[str], log: Path) -> list[dict[str, Any]]:
    """Run ``python -m args`` to its end; its stdout's JSON lines."""
    with log.open("w") as errors:
        done = subprocess.run(
            [sys.executable, "-m", *args],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
        )
    if done.returncode != 0:
        raise RuntimeError(f"{args[0]} failed ({done.returncode}); see {log}")
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def seed_orders(root: str, n: int) -> tuple[date, date]:
    """Reset both sandboxes and add ``n`` generated orders; the invoice-date range to book."""
    until = dutchtime.today() - timedelta(days=1)  # invoice dates are Dutch days
    since = until - timedelta(days=DAYS - 1)
    for api in ("plugandpay", "eboekhouden"):
        sandbox_control(root, api, "POST", "reset")
    if n:
        body = {"n": n, "seed": SEED, "start": since.isoformat(), "end": until.isoformat()}
        sandbox_control(root, "plugandpay", "POST", "generate", json=body)
    return since, until


def booked_once(root: str) -> dict[str, int]:
    """How many bookings e-Boekhouden holds and how many of them book a number twice."""
    state = sandbox_control(root, "eboekhouden", "GET", "state")
    numbers = Counter(m["invoiceNumber"] for m in state["mutations"])
    return {
        "bookings": sum(numbers.values()),
        "duplicates": sum(count - 1 for count in numbers.values() if count > 1),
        "relations": len(state["relations"]),
    }


def fresh(opts: Options, name: str) -> Path:
    """An empty instance folder for one scenario's pp2eb."""
    path = opts.scratch / name
    shutil.rmtree(path, ignore_errors=True)
    return path


def backfill(sandbox: Server, opts: Options, n: int, module: str, runs: int = 2) -> dict:
    """A backfill (and its re-run) of ``n`` orders by ``module`` (worker or naive)."""
    since, until = seed_orders(sandbox.root, n)
    name = f"{module.rsplit('.', 1)[-1]}-{n}"
    args = [module, "--sandbox", sandbox.root, "--since", str(since), "--until", str(until)]
    args += ["--runs", str(runs), "--sandbox-pid", str(sandbox.pid)]
    if module == "bench.worker":
        args += ["--instance", str(fresh(opts, name))]
    logger.info("%s: %d orders", name, n)
    phases = json_lines(args, opts.scratch / f"{name}.log")
    return {"n": n, "runs": phases, "check": booked_once(sandbox.root)}


def limited(sandbox: Server, opts: Options) -> dict:
    """A backfill with both sandboxes throttled to the API limits pp2eb assumes."""
    from pp2eb.sandbox import eboekhouden, plugandpay

    limits = {
        "plugandpay": plugandpay.ASSUMED_RATE_LIMIT,
        "eboekhouden": eboekhouden.ASSUMED_RATE_LIMIT,
    }
    since, until = seed_orders(sandbox.root, opts.limited_size)
    for api, (calls, window) in limits.items():
        sandbox_control(
            sandbox.root, api, "POST", "rate-limit", json={"limit": calls, "window": window}
        )
    name = f"limited-{opts.limited_size}"
    args = ["bench.worker", "--sandbox", sandbox.root, "--since", str(since), "--until", str(until)]
    args += ["--runs", "1", "--instance", str(fresh(opts, name))]
    args += ["--sandbox-pid", str(sandbox.pid)]
    logger.info("%s: rate limited", name)
    phases = json_lines(args, opts.scratch / f"{name}.log")
    for api in limits:
        sandbox_control(sandbox.root, api, "POST", "rate-limit", json={"limit": None})
    return {
        "n": opts.limited_size,
        "runs": phases,
        "limits": limits,
        "check": booked_once(sandbox.root),
    }


def dropdown_latency(sandbox: Server, opts: Options) -> dict:
    """p50 and p95 of the dropdown fragments, cold and warm, against pp2eb's own process."""
    since, _until = seed_orders(sandbox.root, 0)
    args = ["bench.app_server", "--sandbox", sandbox.root, "--port", str(opts.port + 1)]
    args += ["--instance", str(fresh(opts, "app")), "--since", str(since)]
    logger.info("dropdowns: %d requests each", opts.dropdown_requests)
    with Server(args, opts.scratch / "app.log") as app:
        return dropdowns.measure(app.root, *BENCH_USER, opts.dropdown_requests)


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    return {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load": os.getloadavg(),
        "date": time.strftime("%Y-%m-%d %H:%M"),
    }


def run(opts: Options) -> dict[str, Any]:
    """Every scenario; the raw results (also written to ``bench/out/results.json``)."""
    opts.scratch.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {
        "machine_before": machine(),
        "options": {
            "sizes": opts.sizes,
            "naive_size": opts.naive_size,
            "limited_size": opts.limited_size,
            "dropdown_requests": opts.dropdown_requests,
        },
    }
    started = time.perf_counter()
    sandbox_args = ["bench.sandbox_server", "--port", str(opts.port)]
    with Server(sandbox_args, opts.scratch / "sandbox.log") as sandbox:
        results["pp2eb"] = [backfill(sandbox, opts, n, "bench.worker") for n in opts.sizes]
        if opts.naive_size:
            results["naive"] = backfill(sandbox, opts, opts.naive_size, "bench.naive")
        if opts.limited_size:
            results["limited"] = limited(sandbox, opts)
        if opts.dropdown_requests:
            results["dropdowns"] = dropdown_latency(sandbox, opts)
    results["total_seconds"] = time.perf_counter() - started
    results["machine_after"] = machine()
    (opts.scratch / "results.json").write_text(json.dumps(results, indent=1, default=str))
    return results


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark, print the table and write it to ``bench/results.md``."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=Options().sizes)
    parser.add_argument("--naive-size", type=int, default=Options.naive_size)
    parser.add_argument("--limited-size", type=int, default=Options.limited_size)
    parser.add_argument("--dropdown-requests", type=int, default=Options.dropdown_requests)
    parser.add_argument("--port", type=int, default=Options.port, help="sandbox; app is +1")
    parser.add_argument("--out", type=Path, default=Options.out)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="bench: %(message)s", stream=sys.stderr)
    logging.getLogger("bench").setLevel(logging.INFO)
    opts = Options(
        sizes=args.sizes,
        naive_size=args.naive_size,
        limited_size=args.limited_size,
        dropdown_requests=args.dropdown_requests,
        port=args.port,
        out=args.out,
    )
    try:
        results = run(opts)
    except (RuntimeError, requests.RequestException, dropdowns.FragmentError) as exc:
        sys.exit(f"bench: {exc}")
    text = report.render(results)
    # The sections of ``make bench-links`` and ``make bench-overview`` stay as they were written.
    before = opts.out.read_text() if opts.out.exists() else ""
    opts.out.write_text(report.with_kept_sections(text, before))
    sys.stdout.write(text)


if __name__ == "__main__":
    main()
