"""The pure mapper: one Plug&Pay order in, one e-Boekhouden booking (or a reason) out.

``readings.parse_order`` reads the Plug&Pay JSON (``figures`` its shape, ``readings`` what its
figures mean where the record is silent) into an ``order``; ``mapper.map_order`` books it, and
the other modules are its parts: ``totals`` checks that it adds up, ``vat`` decides the VAT
treatment of each line (``buyer`` who buys, ``territories`` where, for VAT), ``rows`` and
``rounding`` build the booking's rows, ``payloads`` the request bodies, ``customers`` the
relation, ``booking`` holds the types. No clock, no database, no HTTP anywhere in here.

Kept free of imports on purpose: ``mapping.settings`` uses some of these modules, and the mapper
uses the settings.
"""
