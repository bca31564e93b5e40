"""The pure mapper: one Plug&Pay order in, one e-Boekhouden booking (or a reason) out.

``readings.parse_order`` reads the Plug&Pay JSON (``figures`` its shape, ``readings`` what its
figures mean where the record is silent) into an ``order``; ``mapper.map_order`` books it, and
the other modules are its parts: ``totals`` checks that it adds up, ``vat`` decides the VAT
treatment of each line (``buyer`` who buys, ``territories`` where, for VAT), ``rows`` and
``rounding`` build the booking's rows, ``payloads`` the request bodies, ``customers`` the
relation, ``booking`` holds the types. ``problems`` is why an order cannot be booked
(``MappingError``) and how a reason quotes a value. No clock, no database, no HTTP anywhere in
here.

The modules that read an order need nothing of the modules that write a booking: both raise
``problems.MappingError``. ``settings`` stands on the vocabulary alone (``problems``,
``countries``, ``order``), which imports nothing, so every other module may use the settings.
Kept free of imports on purpose. ``tests/test_layout.py`` holds all three to it.
"""
