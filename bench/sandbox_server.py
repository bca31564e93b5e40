"""Both sandbox APIs in a process of their own, so their CPU never counts as pp2eb's.

``python -m bench.sandbox_server --port 5210`` serves an empty Plug&Pay shop (the benchmark
seeds it with ``/_sandbox/generate``) and a fresh e-Boekhouden administration, and prints
``ready <port>`` once it listens. Served by waitress (as pp2eb itself is), which keeps HTTP/1.1
connections alive as the real APIs do; werkzeug's server closes every connection, so each call
would pay for a new TCP connection on both sides.

Every numbered tenant (``pp-sandbox-key-<n>``, ``eb-sandbox-token-<n>``, n up to 1000) is there
too, made empty on first use and seeded the same way with ``?tenant=<key>``.
``--latency-ms 50`` makes every API call of every tenant wait 50 ms before it is answered, as
the real APIs far away would; a call waiting holds a server thread, so with a latency the
server runs ``--threads`` (default 64) of them, enough for every call in flight.
"""

from __future__ import annotations

import argparse
import logging

from bench.serving import serve
from pp2eb.sandbox.wsgi import create_sandbox

THREADS = 4  # without latency: the CPU-bound sandbox gains nothing from more
THREADS_WITH_LATENCY = 64


def main(argv: list[str] | None = None) -> None:
    """Serve until SIGTERM."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--latency-ms", type=int, default=0, help="per API call, every tenant")
    parser.add_argument("--threads", type=int, help="server threads (default 4, 64 with latency)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    threads = args.threads or (THREADS_WITH_LATENCY if args.latency_ms else THREADS)
    serve(create_sandbox(orders=[], latency_ms=args.latency_ms), args.host, args.port, threads)


if __name__ == "__main__":
    main()
