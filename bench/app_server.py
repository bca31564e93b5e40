"""pp2eb's web app in a process of its own, for the latency of the set-up dropdowns.

``python -m bench.app_server --sandbox URL --instance DIR --port 5211 --since D`` sets up a
fresh pp2eb like ``bench.worker`` does (connected to the sandboxes, settings stored, a user
``bench``), serves it with waitress as ``make run`` does, and prints ``ready <port>``.
"""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import date
from pathlib import Path

from bench.serving import serve
from bench.worker import make_app, set_up


def main(argv: list[str] | None = None) -> None:
    """Set up, then serve until SIGTERM."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sandbox", required=True)
    parser.add_argument("--instance", required=True, type=Path)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--since", required=True, type=date.fromisoformat)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    instance = args.instance.resolve()
    instance.mkdir(parents=True, exist_ok=True)
    app = make_app(instance, args.sandbox)
    set_up(app, args.since)
    serve(app, "127.0.0.1", args.port)


if __name__ == "__main__":
    main()
