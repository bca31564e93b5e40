"""Near-real-time booking: Plug&Pay calls pp2eb when an order is paid, and pp2eb books it.

* ``inbox.py``: the secret in the webhook's URL, the payload, the queue of announced orders;
* ``runs.py``: the background run that fetches each queued order and books it through the engine;
* ``rules.py``: the webhook rule in Plug&Pay (``/v2/rules``) that points at this app.

A webhook only speeds things up: the scheduled sync still finds every order, so a webhook that
never arrives, or is refused, loses nothing. Exactly once remains the engine's job.
"""
