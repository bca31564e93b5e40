"""What pp2eb tells about the books, read-only: reports and the dashboard's read models.

* ``reconcile``: a month's Plug&Pay invoices against e-Boekhouden's bookings;
* ``oss_return``: a quarter's OSS return, from the books;
* ``oss_watch``: this year's cross-border EU consumer sales against the €10,000 threshold;
* ``records``: what the dashboard asks of the order records and runs (and may change by hand);
* ``overview``: one row per link for the home page of many links, and which need attention.
"""
