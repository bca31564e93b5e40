"""The dashboard's lists read the same on both databases."""

from __future__ import annotations

from pp2eb.extensions import db
from pp2eb.models import OrderRecord
from pp2eb.reports.records import list_orders
from tests.engine_helpers import the_link


def test_orders_without_an_invoice_date_come_last(app):
    """SQLite sorts NULL last in a descending order, PostgreSQL first: the list says which."""
    with app.app_context():
        for order_id, day in [(1, "2026-03-01"), (2, None), (3, "2026-03-02"), (4, None)]:
            db.session.add(OrderRecord(link_id=the_link().id, order_id=order_id, invoice_date=day))
        db.session.commit()
        assert [rec.order_id for rec in list_orders(the_link()).items] == [3, 1, 4, 2]
