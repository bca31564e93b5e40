"""Both sandbox APIs (and the demo's mail sink) as one WSGI app, each under its own prefix.

Its own module, not the package's ``__init__``: the sandboxes import their keys from the
package, so the package must not import them.
"""

from __future__ import annotations

from werkzeug.exceptions import NotFound
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from pp2eb.sandbox import eboekhouden, mail, plugandpay


def create_sandbox(*, mailbox=None, latency_ms: int = 0, **plugandpay_options):
    """Return one WSGI app serving both sandboxes (and ``mailbox``'s mails) under prefixes.

    Every tenant of both answers each API call ``latency_ms`` late (benchmarks; see
    ``controls.py`` for changing it per tenant).
    """
    return DispatcherMiddleware(
        NotFound(),
        {
            "/plugandpay": plugandpay.create_app(latency_ms=latency_ms, **plugandpay_options),
            "/eboekhouden": eboekhouden.create_app(latency_ms=latency_ms),
            "/mail": mail.create_app(mailbox or mail.Mailbox()),
        },
    )
