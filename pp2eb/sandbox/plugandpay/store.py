"""The Plug&Pay sandbox's orders, each checked against the contract when it comes in.

No Flask here; the query rules (filters, sort, includes, paging) are in ``query.py``.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterable
from typing import Any

from pp2eb.sandbox.plugandpay import contract

# Always present on an order, whatever is included (docs/plugandpay-order.md).
BASE_KEYS = (
    "id",
    "amount",
    "amount_with_tax",
    "created_at",
    "updated_at",
    "deleted_at",
    "invoice_number",
    "invoice_status",
    "invoice_date",
    "is_first",
    "is_hidden",
    "mode",
    "reference",
    "source",
)


def order_key(order: dict[str, Any]) -> int:
    """The order's id as a number: the API may write an id as text (an open reading)."""
    return int(order["id"])


class OrderStore:
    """The sandbox's orders by id; every method is thread-safe.

    Every order is checked against the contract when it comes in (``contract.check_order``),
    except those a test hands over as they are (``given``), to show pp2eb an order off the
    record on purpose. A stored order is never changed, only replaced.
    """

    def __init__(self, seed_orders: Iterable[dict[str, Any]]) -> None:
        self._seed = copy.deepcopy(list(seed_orders))
        for order in self._seed:
            contract.check_order(order)
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """Put the seed orders back, dropping everything added since."""
        orders = copy.deepcopy(self._seed)
        with self._lock:
            self._orders = {order_key(order): order for order in orders}
            self._given: set[int] = set()
            self._high = max(self._orders, default=0)

    def put(self, orders: list[dict[str, Any]], *, given: bool = False) -> list[int]:
        """Add orders (an existing id is replaced); return their ids.

        ContractError unless each is in the contract, or ``given`` (taken as it is).
        """
        if not given:
            for order in orders:
                contract.check_order(order)
        # Stored orders are never changed in place, so readers may hold them without the lock.
        orders = copy.deepcopy(orders)
        ids = [order_key(order) for order in orders]
        with self._lock:
            for order_id, order in zip(ids, orders, strict=True):
                self._orders[order_id] = order
                self._high = max(self._high, order_id)
            if given:
                self._given.update(ids)
            else:
                self._given.difference_update(ids)
        return ids

    def is_given(self, order_id: int) -> bool:
        """True for an order a test handed over as it is, unchecked."""
        with self._lock:
            return order_id in self._given

    def reserve(self, n: int) -> int:
        """The first of ``n`` fresh ids, kept free for a caller that builds orders slowly."""
        with self._lock:
            first = self._high + 1
            self._high += n
            return first

    def get(self, order_id: int) -> dict[str, Any] | None:
        """The order with this id, or None."""
        with self._lock:
            return self._orders.get(order_id)

    def all(self) -> list[dict[str, Any]]:
        """A snapshot of every order, by id."""
        with self._lock:
            return [self._orders[key] for key in sorted(self._orders)]
