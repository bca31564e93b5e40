"""``make test-postgres``: the whole suite on a throwaway PostgreSQL server.

``python -m tests.pg_run [PYTEST ARGS]`` starts Debian's PostgreSQL (``initdb`` into a new
temporary folder, listening only on a unix socket in that folder, so no port can clash), runs
pytest with ``PP2EB_TEST_DATABASE_URL`` set to it (``tests/conftest.py`` then gives each test
its own database), leaves out the tests marked ``sqlite``, and stops the server and removes the
folder whatever happens: tests that fail, Ctrl+C, a ``kill``. The server is made for speed, not
for keeping data (no fsync). PostgreSQL refuses to run as root; as root it runs as ``nobody``.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
USER = "pp2eb"
SETTINGS = {
    "listen_addresses": "''",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "200",
}


def server_bin() -> Path:
    """The newest installed PostgreSQL's bin folder (Debian: /usr/lib/postgresql/N/bin)."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4])
    )
    if not found:
        sys.exit(
            "PostgreSQL is not installed: install Debian's package first "
            "(sudo apt-get install postgresql), then run make test-postgres again."
        )
    return Path(found[-1]).parent


def as_server_user(folder: Path) -> list[str]:
    """The command prefix that runs PostgreSQL's programs as a user it accepts."""
    if os.geteuid() != 0:
        return []
    shutil.chown(folder, "nobody")
    return ["runuser", "-u", "nobody", "--"]


class Server:
    """A PostgreSQL server in ``folder``, started and stopped with ``pg_ctl``."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.bin = folder, server_bin()
        self.data, self.log = folder / "data", folder / "server.log"
        self.prefix = as_server_user(folder)

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://{USER}@/postgres?host={self.folder}"

    def _run(self, *args: str) -> None:
        subprocess.run([*self.prefix, *args], check=True, stdout=subprocess.DEVNULL)

    def start(self) -> None:
        self._run(
            str(self.bin / "initdb"),
            "--pgdata",
            str(self.data),
            "--username",
            USER,
            "--auth",
            "trust",
            "--encoding",
            "UTF8",
            "--locale",
            "C.UTF-8",
            "--no-sync",
        )
        options = " ".join(f"-c {key}={value}" for key, value in SETTINGS.items())
        options += f" -c unix_socket_directories={self.folder}"
        self._run(
            str(self.bin / "pg_ctl"),
            "start",
            "--wait",
            "--pgdata",
            str(self.data),
            "--log",
            str(self.log),
            "--options",
            options,
        )

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run(
                str(self.bin / "pg_ctl"), "stop", "--pgdata", str(self.data), "--mode", "immediate"
            )


def _stop_on_sigterm(signum, frame) -> None:
    raise SystemExit(128 + signum)  # unwinds through the ``finally`` that stops the server


def main(args: list[str]) -> int:
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    folder = Path(tempfile.mkdtemp(prefix="pp2eb-pg-"))
    server = Server(folder)
    try:
        server.start()
        print(f"PostgreSQL running in {folder}; the suite runs against it.", flush=True)
        env = {**os.environ, "PP2EB_TEST_DATABASE_URL": server.url}
        command = [sys.executable, "-m", "pytest", "-m", "not sqlite", *args]
        return subprocess.run(command, cwd=ROOT, env=env).returncode
    finally:
        try:
            server.stop()
        finally:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
