"""Both sandbox APIs (and the demo's mail sink) as one WSGI app, each under its own prefix.

Its own module, not the package's ``__init__``: the sandboxes import their keys from the
package, so the package must not import them.
"""

from __future__ import annotations

from werkzeug.exceptions import NotFound
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from pp2eb.sandbox import eboekhouden, mail, plugandpay


def create_sandbox(*, mailbox=None, **plugandpay_options):
    """Return one WSGI app serving both sandboxes (and ``mailbox``'s mails) under prefixes."""
    return DispatcherMiddleware(
        NotFound(),
        {
            "/plugandpay": plugandpay.create_app(**plugandpay_options),
            "/eboekhouden": eboekhouden.create_app(),
            "/mail": mail.create_app(mailbox or mail.Mailbox()),
        },
    )
