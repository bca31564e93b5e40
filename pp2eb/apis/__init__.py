"""The two API clients and what they share. No Flask, no database: only ``requests``.

* ``plugandpay``: Plug&Pay REST API v2 (orders, products, tax rates, rules, the tenant);
* ``eboekhouden``: e-Boekhouden.nl REST API v1 (session, ledgers, relations, mutations, invoices);
* ``http``: the one request loop both use (timeout, retries, waits, the call log);
* ``errors``: the error family both raise (auth, not found, rate limited, refused, unavailable);
* ``words``: the one place for the words about API failures (what happened, which side, what
  to do), used by the errors, the engine and the set-up pages alike.

The clients differ from the sandboxes' only by base URL.
"""
