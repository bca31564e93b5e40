"""Both sandbox APIs in a process of their own, so their CPU never counts as pp2eb's.

``python -m bench.sandbox_server --port 5210`` serves an empty Plug&Pay shop (the benchmark
seeds it with ``/_sandbox/generate``) and a fresh e-Boekhouden administration, and prints
``ready <port>`` once it listens. Served by waitress (as pp2eb itself is), which keeps HTTP/1.1
connections alive as the real APIs do; werkzeug's server closes every connection, so each call
would pay for a new TCP connection on both sides.
"""

from __future__ import annotations

import argparse
import logging

from bench.serving import serve
from pp2eb.sandbox.wsgi import create_sandbox


def main(argv: list[str] | None = None) -> None:
    """Serve until SIGTERM."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    serve(create_sandbox(orders=[]), args.host, args.port)


if __name__ == "__main__":
    main()
