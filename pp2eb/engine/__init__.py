"""The booking engine: each Plug&Pay order booked in e-Boekhouden exactly once.

* ``sync``: one run, which decides what to book (``Engine``, ``run_once``, ``backfill_orders``);
* ``booker``: one order booked: map, find the relation, intent, write, confirm;
* ``booking_path``: the one path from an order's JSON to the request body, a run's and the
  dry run's: read, left alone or not, map, body;
* ``payments``: the payments of booked orders, booked once too;
* ``relations``: the e-Boekhouden relation of a Plug&Pay customer, found or made;
* ``originals``: the original of a credit invoice, for the mapper;
* ``vat_rounding``: how the administration rounds VAT, learnt and checked;
* ``store``: the engine's memory of orders (records, attempts, customer links);
* ``runlog``: the lease and the run rows; ``runstate``: a run's lease kept, waits, counts, end;
* ``preview``: the dry run, through the same path to a booking, writing nothing.

Who starts a run is ``pp2eb.runs``; what a booking looks like is ``pp2eb.mapping``.
"""
