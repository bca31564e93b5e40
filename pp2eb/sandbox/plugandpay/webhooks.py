"""The Plug&Pay sandbox sends webhooks: when an order becomes paid, every ``order_paid`` webhook
rule (see ``rules.py``) gets a POST with the Webhooks V2 payload, which carries only ids:

    {"event": {"trigger_type": "order_paid", "triggerable_type": "order", "triggerable_id": 12},
     "rule_id": 1, "sent_at": "2026-11-25T10:00:00.000000Z", "tenant_id": 1}

inferred: the shape is that of the help centre's field list and of third-party receivers (the
reference, section 6); Plug&Pay documents no signature, so none is sent. Deliveries go out from a
few background threads with a short timeout, so the sandbox request that made the order paid is
never held up. Controls (not part of the real API):

* ``POST /_sandbox/orders/<id>/pay``: the order becomes paid (a concept invoice final) and its
  webhooks go out; answers ``{"id", "paid_at", "webhooks"}`` (how many were sent).
* ``POST /_sandbox/webhooks/send`` body ``{"order_id": 12, "times": 1, "trigger_type":
  "order_paid", "url": null}``: send an order's webhook again, ``times`` times (a flood, a retry
  storm), to every matching rule or to ``url``.
* ``GET /_sandbox/webhooks``: ``{"pending": n, "deliveries": [{url, rule_id, order_id, status,
  error, sent_at}]}``, newest last; ``DELETE`` forgets the deliveries.

Each tenant has its own rules, deliveries and ``tenant_id``; the controls act on the tenant of
``?tenant=<key>`` (the default without it). The tenants share one ``DeliveryPool``, so a hundred
tenants do not start four hundred threads.
"""

from __future__ import annotations

import copy
import functools
import logging
import queue
import threading
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import requests
from flask import Flask, Response, request

from pp2eb import jsonutil
from pp2eb.sandbox.plugandpay import contract
from pp2eb.sandbox.plugandpay.query import Args, ValidationError
from pp2eb.sandbox.plugandpay.rules import TRIGGER_TYPES, RuleStore, hook_url
from pp2eb.sandbox.plugandpay.store import OrderStore, order_key

logger = logging.getLogger(__name__)

TIMEOUT = 5.0  # seconds; a receiver that does not answer in time counts as a failed delivery
WORKERS = 4
KEPT_DELIVERIES = 1000
MAX_TIMES = 1000


def _timestamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000000Z")


def is_paid(order: dict[str, Any] | None) -> bool:
    """True when the order's payment status is ``paid`` (a mangled payment is not paid)."""
    payment = order.get("payment") if isinstance(order, dict) else None
    return isinstance(payment, dict) and payment.get("status") == "paid"


def paid_copy(order: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The order as it is once paid at ``now``."""
    paid = copy.deepcopy(order)
    before = order.get("payment") if isinstance(order.get("payment"), dict) else {}
    paid["payment"] = {**before, "status": "paid", "paid_at": _timestamp(now)}
    paid["updated_at"] = _timestamp(now)
    if paid.get("invoice_status") == "concept":
        # inferred: Plug&Pay makes the final invoice of a concept when it is paid.
        prefix = "T" if paid.get("mode") == "test" else ""
        paid["invoice_status"] = "final"
        paid["invoice_date"] = now.date().isoformat()
        paid["invoice_number"] = (
            paid.get("invoice_number") or f"{prefix}{now.year}-{order_key(paid):05d}"
        )
    return paid


class DeliveryPool:
    """A few daemon threads that deliver the webhooks of every tenant of one sandbox app."""

    def __init__(self, workers: int = WORKERS) -> None:
        self._lock = threading.Lock()
        self._queue: queue.Queue[Callable[[], None]] = queue.Queue()
        self._size = workers
        self._workers: list[threading.Thread] = []

    def submit(self, job: Callable[[], None]) -> None:
        """Run ``job`` on a worker; the workers start with the first job."""
        with self._lock:
            while len(self._workers) < self._size:
                worker = threading.Thread(
                    target=self._work, name=f"sandbox-webhook-{len(self._workers)}", daemon=True
                )
                worker.start()
                self._workers.append(worker)
        self._queue.put(job)

    def _work(self) -> None:
        while True:
            job = self._queue.get()
            try:
                job()
            except Exception:  # a worker must outlive any one delivery
                logger.exception("sandbox webhook delivery failed")


class WebhookSender:
    """Sends one tenant's webhooks through a ``DeliveryPool`` and remembers each delivery;
    thread-safe."""

    def __init__(
        self,
        rules: RuleStore,
        tenant_id: int,
        checked: contract.ContractLog | None = None,
        *,
        pool: DeliveryPool | None = None,
        timeout: float = TIMEOUT,
    ) -> None:
        self.rules, self.tenant_id, self.timeout = rules, tenant_id, timeout
        self.checked = checked or contract.ContractLog()
        self.pool = pool or DeliveryPool()
        self._lock = threading.Lock()
        self._generation = 0
        self._pending = 0
        self.deliveries: deque[dict[str, Any]] = deque(maxlen=KEPT_DELIVERIES)

    def reset(self) -> None:
        """Forget the deliveries; webhooks still waiting to go out are dropped."""
        with self._lock:
            self._generation += 1
            self.deliveries.clear()

    def forget(self) -> None:
        """Forget the deliveries made so far."""
        with self._lock:
            self.deliveries.clear()

    def send(
        self,
        order_id: int,
        *,
        trigger_type: str = "order_paid",
        times: int = 1,
        url: str | None = None,
    ) -> int:
        """Queue an order's webhook ``times`` times to each matching rule (or ``url``)."""
        if url is not None:
            targets = [(None, url)]
        else:
            targets = [(rule["id"], hook_url(rule)) for rule in self.rules.webhooks(trigger_type)]
        if not targets:
            return 0
        with self._lock:
            generation = self._generation
            self._pending += times * len(targets)
        for _ in range(times):
            for rule_id, target in targets:
                self.pool.submit(
                    functools.partial(
                        self._run, generation, rule_id, target, trigger_type, order_id
                    )
                )
        return times * len(targets)

    def snapshot(self) -> dict[str, Any]:
        """How many deliveries are still to go, and the ones made."""
        with self._lock:
            return {"pending": self._pending, "deliveries": list(self.deliveries)}

    def _run(self, generation: int, *delivery: Any) -> None:
        try:
            with self._lock:
                current = generation == self._generation
            if current:
                self._deliver(*delivery)
        finally:
            with self._lock:
                self._pending -= 1

    def _deliver(self, rule_id: int | None, url: str, trigger_type: str, order_id: int) -> None:
        now = datetime.now(UTC)
        payload = {
            "event": {
                "trigger_type": trigger_type,
                "triggerable_type": "order",
                "triggerable_id": order_id,
            },
            "rule_id": rule_id,
            "sent_at": _timestamp(now),
            "tenant_id": self.tenant_id,
        }
        # A delivery to a bare URL (the send control's ``url``) belongs to no rule.
        if rule_id is not None and (found := contract.violations("webhook_body", payload)):
            self.checked.report(f"webhook to {url}", found)
        status, error = None, None
        try:
            resp = requests.post(
                url,
                data=jsonutil.dumps(payload),
                headers={"Content-Type": "application/json", "User-Agent": "pp2eb-sandbox"},
                timeout=self.timeout,
                allow_redirects=False,
            )
            status = resp.status_code
        except requests.RequestException as exc:
            error = type(exc).__name__
        with self._lock:
            self.deliveries.append(
                {
                    "url": url,
                    "rule_id": rule_id,
                    "order_id": order_id,
                    "trigger_type": trigger_type,
                    "status": status,
                    "error": error,
                    "sent_at": _timestamp(now),
                }
            )


def put_and_notify(
    store: OrderStore, sender: WebhookSender, orders: list[dict], *, given: bool = False
) -> tuple[list[int], int]:
    """Store orders (``given``: as they are); each that became paid sends its webhooks.

    Returns the ids stored and how many webhooks went out.
    """
    was_paid = {order_key(order): is_paid(store.get(order_key(order))) for order in orders}
    ids = store.put(orders, given=given)
    sent = 0
    if sender.rules.webhooks("order_paid"):
        for order in orders:
            if is_paid(order) and not was_paid[order_key(order)]:
                sent += sender.send(order_key(order))
    return ids, sent


def install_webhooks(
    app: Flask,
    shop: Callable[[], tuple[OrderStore, WebhookSender]],
    *,
    json: Callable[..., Response],
    error: Callable[..., Response],
) -> None:
    """Add the webhook controls to the sandbox ``app``; each acts on the store and webhooks
    ``shop()`` gives for the request's tenant."""

    @app.post("/_sandbox/orders/<int:order_id>/pay")
    def pay(order_id: int) -> Response:
        """The order becomes paid now; its webhooks go out."""
        store, sender = shop()
        order = store.get(order_id)
        if order is None:
            return error(404, "Not found.")
        sent = 0
        if not is_paid(order):
            order = paid_copy(order, datetime.now(UTC))
            sent = put_and_notify(store, sender, [order], given=store.is_given(order_id))[1]
        paid_at = order["payment"]["paid_at"]
        return json({"id": order_id, "paid_at": paid_at, "webhooks": sent})

    @app.post("/_sandbox/webhooks/send")
    def send() -> Response:
        """Send an order's webhook (again), ``times`` times."""
        body = jsonutil.loads(request.get_data() or b"{}")
        if not isinstance(body, dict):
            raise ValidationError({"body": ["The body must be an object."]})
        args = Args({k: str(v) for k, v in body.items() if v is not None})
        order_id = args.integer("order_id", 0, 1)
        times = args.integer("times", 1, 1, MAX_TIMES)
        trigger = args.choice("trigger_type", TRIGGER_TYPES, "order_paid")
        if "order_id" not in body:
            args.fail("order_id", "The {} field is required.")
        args.check()
        sender = shop()[1]
        sent = sender.send(order_id, trigger_type=trigger, times=times, url=body.get("url"))
        return json({"sent": sent})

    @app.route("/_sandbox/webhooks", methods=["GET", "DELETE"])
    def deliveries() -> Response:
        """The deliveries so far and how many are still going out."""
        sender = shop()[1]
        if request.method == "DELETE":
            sender.forget()
        return json(sender.snapshot())
