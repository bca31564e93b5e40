"""Processes a test starts (a ``flask`` command, a sandbox server) on the test's calendar: each
runs through ``tests/pinned.py`` with its clock where the test's is now (``tests/clock.py``)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def pinned(*args: str, **kwargs) -> subprocess.Popen:
    """``python -m ARGS`` with its clock where the test's is now (``tests/pinned.py``)."""
    now = datetime.now(UTC).isoformat()
    return subprocess.Popen(
        [sys.executable, "-m", "tests.pinned", now, *args], cwd=ROOT, text=True, **kwargs
    )


def flask(app, *args: str) -> subprocess.Popen:
    """``flask ARGS`` in a new process on the same instance, database and keys as ``app``; its
    output (with errors) in ``stdout``."""
    env = {
        **os.environ,
        "PP2EB_INSTANCE_PATH": app.instance_path,
        "PP2EB_SECRET_KEY": app.config["SECRET_KEY"],
        "PP2EB_ENCRYPTION_KEY": app.config["ENCRYPTION_KEY"],
        "PP2EB_SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
    }
    return pinned(
        "flask", "--app", "app", *args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
