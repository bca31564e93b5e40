"""`make test-dates`: the tests marked ``dates``, once per moment that breaks software.

Each run starts the whole pytest process (and every process it starts, and SQLite's
``CURRENT_TIMESTAMP``) with its clock at one moment, through ``faketime`` from Debian's
libfaketime package. The clock then runs on from there. Each moment is given in UTC, with the
Dutch time it is, and the machine's time zone is varied too: pp2eb must show and book Dutch
days whatever zone the server is set to.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime

# (what the moment is, the moment in UTC, the machine's time zone for that run)
MOMENTS = [
    ("the year's last hour, 2026-12-31 23:30 Dutch time", datetime(2026, 12, 31, 22, 30), "UTC"),
    ("the year's first hour, 2027-01-01 00:30 Dutch time", datetime(2026, 12, 31, 23, 30), "UTC"),
    (
        "2027-03-28 02:30, a Dutch time that does not exist (read as CET: 03:30 CEST)",
        datetime(2027, 3, 28, 1, 30),
        "Europe/Amsterdam",
    ),
    (
        "2027-10-31 02:30 CEST, the first of the two",
        datetime(2027, 10, 31, 0, 30),
        "Europe/Amsterdam",
    ),
    ("2027-10-31 02:30 CET, the second of the two", datetime(2027, 10, 31, 1, 30), "UTC"),
    ("a leap day, 2028-02-29 12:00 Dutch time", datetime(2028, 2, 29, 11, 0), "America/New_York"),
    ("month end, 2027-04-30 23:59 Dutch time", datetime(2027, 4, 30, 21, 59), "Pacific/Auckland"),
    ("month start, 2027-05-01 00:00 Dutch time", datetime(2027, 4, 30, 22, 0), "UTC"),
]


def command(moment: datetime, pytest_args: list[str]) -> list[str]:
    """The faketime command line that runs the ``dates`` tests at ``moment`` (naive UTC)."""
    epoch = int(moment.replace(tzinfo=UTC).timestamp())
    return [
        "faketime",
        "-m",  # the multi-threaded library: the tests serve the sandboxes from threads
        "--exclude-monotonic",  # timeouts and waits measure real time
        f"@{epoch}",
        sys.executable,
        "-m",
        "pytest",
        "-m",
        "dates",
        "-q",
        "-p",
        "no:cacheprovider",
        *pytest_args,
    ]


def main(argv: list[str]) -> int:
    """Run every moment, print one line each, and fail when any run failed."""
    if shutil.which("faketime") is None:
        print("make test-dates needs faketime: sudo apt-get install faketime", file=sys.stderr)
        return 2
    failed = []
    for label, moment, zone in MOMENTS:
        print(f"\n=== dates at {label} (machine time zone {zone})", flush=True)
        started = time.monotonic()
        env = {**os.environ, "TZ": zone}
        code = subprocess.call(command(moment, argv), env=env)
        print(f"=== {'passed' if code == 0 else 'FAILED'} in {time.monotonic() - started:.0f} s")
        if code != 0:
            failed.append(label)
    print(f"\ndates: {len(MOMENTS) - len(failed)} passed, {len(failed)} failed")
    for label in failed:
        print(f"  failed at {label}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
