"""Controls that put orders into the Plug&Pay sandbox (not part of the real API).

* ``POST /_sandbox/orders``: add or replace orders given in the ``GET /v2/orders/{id}`` shape,
  each checked against the contract (``?contract=off`` takes them as they are);
* ``POST /_sandbox/generate`` body ``{"n", "seed", "start", "end"}``: add ``n`` orders of the
  demo mix (benchmarks).

Both put the orders into the tenant of ``?tenant=<key>`` (the default without it).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from flask import Flask, Response, request

from pp2eb import dutchtime, jsonutil
from pp2eb.sandbox.plugandpay import contract
from pp2eb.sandbox.plugandpay.demo_data import generate_orders
from pp2eb.sandbox.plugandpay.query import Args, ValidationError
from pp2eb.sandbox.plugandpay.store import BASE_KEYS, OrderStore
from pp2eb.sandbox.plugandpay.webhooks import WebhookSender, put_and_notify

logger = logging.getLogger(__name__)


def install_seeding(
    app: Flask,
    shop: Callable[[], tuple[OrderStore, WebhookSender]],
    *,
    json: Callable[..., Response],
) -> None:
    """Add the controls that put orders into the sandbox ``app``, into the store (and through
    the webhooks) ``shop()`` gives for the request's tenant; ``json`` answers its way."""

    @app.post("/_sandbox/orders")
    def add_orders() -> Response:
        """Add or replace orders given in the ``GET /v2/orders/{id}`` shape; answers their ids.

        Each must be in the contract (422 names what is not), unless ``?contract=off``: then
        the orders are taken as they are, to show pp2eb an order off the record on purpose.
        """
        given = request.args.get("contract") == "off"
        body = jsonutil.loads(request.get_data() or b"null")
        orders = [body] if isinstance(body, dict) else body
        if not isinstance(orders, list) or not orders:
            raise ValidationError({"orders": ["The body must be a list of orders."]})
        errors: dict[str, list[str]] = {}
        for index, order in enumerate(orders):
            if not isinstance(order, dict):
                errors[str(index)] = ["An order must be an object."]
                continue
            order_id = order.get("id")
            if isinstance(order_id, str) and order_id.isdigit():
                order_id = int(order_id)  # an id as text: an open reading of the record
            if not isinstance(order_id, int) or isinstance(order_id, bool) or order_id < 1:
                errors[f"{index}.id"] = ["The id field must be a positive integer."]
            missing = [key for key in BASE_KEYS if key not in order]
            if missing:
                errors[f"{index}"] = [f"Missing field(s): {', '.join(missing)}."]
            elif not given and (found := contract.violations("order", order)):
                errors[f"{index}"] = [f"Off the Plug&Pay contract: {v}" for v in found]
        if errors:
            raise ValidationError(errors)
        ids = put_and_notify(*shop(), orders, given=given)[0]
        logger.info("sandbox: stored %d order(s)", len(ids))
        return json({"ids": ids})

    @app.post("/_sandbox/generate")
    def generate() -> Response:
        """Add ``n`` generated orders (benchmarks); ids follow the highest id so far."""
        body = jsonutil.loads(request.get_data() or b"{}")
        if not isinstance(body, dict):
            raise ValidationError({"body": ["The body must be an object."]})
        args = Args({k: str(v) for k, v in body.items() if v is not None})
        n = args.integer("n", 0, 1, 1_000_000)
        seed = args.integer("seed", 1, 0)
        end = args.moment("end", "Y-m-d") or dutchtime.today()
        start = args.moment("start", "Y-m-d") or end - timedelta(days=90)
        if "n" not in body:
            args.fail("n", "The {} field is required.")
        if start > end:
            args.fail("start", "The {} field must be a date before or equal to end.")
        args.check()
        store, sender = shop()
        first_id = store.reserve(n)
        ids = put_and_notify(store, sender, generate_orders(n, seed, start, end, first_id))[0]
        logger.info("sandbox: generated %d order(s) from id %d", n, first_id)
        return json({"count": len(ids), "first_id": ids[0], "last_id": ids[-1]})
