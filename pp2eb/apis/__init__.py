"""The two API clients and what they share. No Flask, no database: only ``requests``.

* ``plugandpay``: Plug&Pay REST API v2 (orders, products, tax rates, rules, the tenant);
* ``eboekhouden``: e-Boekhouden.nl REST API v1 (session, ledgers, relations, mutations, invoices);
* ``http``: the one request loop both use (timeout, retries, waits, the call log);
* ``errors``: the error family both raise (auth, not found, rate limited, refused, unavailable);
* ``words``: those errors in words a shop owner understands, with what to do.

The clients differ from the sandboxes' only by base URL.
"""
