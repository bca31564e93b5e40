"""Serving a WSGI app for a benchmark: waitress on loopback, ``ready <port>`` once it listens."""

from __future__ import annotations

import signal
import sys

import waitress


def serve(app, host: str, port: int, threads: int = 4) -> None:
    """Serve ``app`` with ``threads`` workers until SIGTERM; announce the port on stdout for the
    parent process."""
    server = waitress.create_server(app, host=host, port=port, threads=threads)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    sys.stdout.write(f"ready {server.effective_port}\n")
    sys.stdout.flush()
    try:
        server.run()
    finally:
        server.close()
