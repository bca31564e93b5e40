"""The Plug&Pay sandbox's tenants: each API key reaches one shop with its own data and controls.

A tenant holds its orders, rules, webhook deliveries, contract reports and controls (faults, rate
limit, latency, stats); its products and tax rates are the demo catalog's, which nothing changes.
The tenants are the demo's (``DEMO_TENANTS``: the first is the default, the others are seeded
with demo orders of their own on first use) and the numbered ones, ``pp-sandbox-key-<n>``, made
empty on first use (benchmarks seed them with ``/_sandbox/generate?tenant=...``). No routes
here: ``__init__.py`` picks the tenant of each request.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from pp2eb.sandbox import DEMO_TENANTS, PLUGANDPAY_KEY
from pp2eb.sandbox.controls import Controls
from pp2eb.sandbox.plugandpay import contract
from pp2eb.sandbox.plugandpay.demo_data import PRODUCTS, TAX_RATES, generate_demo_orders
from pp2eb.sandbox.plugandpay.rules import RuleStore
from pp2eb.sandbox.plugandpay.store import OrderStore
from pp2eb.sandbox.plugandpay.webhooks import DeliveryPool, WebhookSender
from pp2eb.sandbox.tenants import Tenants, numbered

PLAN = "lite"
# The demo shops after the first: (seed, first order id, number of orders). The second shop's
# order ids, and so its invoice numbers (2026-05001), start where the first's never reach, so
# that the two links' bookings differ at a glance.
DEMO_SHOPS = ((2, 5001, 40),)
# Numbered tenant n has id NUMBERED_ID + n, above the demo shops' ids (1, 2, ...).
NUMBERED_ID = 1000


@dataclass(frozen=True)
class TenantSpec:
    """How to make one tenant: its API keys (the first names it), ``tenants/me`` and orders."""

    names: tuple[str, ...]
    id: int
    name: str
    seed_orders: Callable[[], list[dict[str, Any]]]


class Tenant:
    """One Plug&Pay account of the sandbox: its shop's data and its controls."""

    def __init__(
        self,
        spec: TenantSpec,
        *,
        pool: DeliveryPool,
        rate_limit: tuple[int, float] | None = None,
        latency_ms: int = 0,
    ) -> None:
        self.names = spec.names
        self.key = spec.names[0] if spec.names else None  # names it in the controls
        self.info = {"id": spec.id, "name": spec.name, "plan": PLAN}
        self.store = OrderStore(spec.seed_orders())
        self.rules = RuleStore()
        self.checked = contract.ContractLog()
        self.sender = WebhookSender(self.rules, spec.id, self.checked, pool=pool)
        self.controls = Controls(rate_limit=rate_limit, latency_ms=latency_ms)
        self.products: list[dict[str, Any]] = PRODUCTS
        self.tax_rates: list[dict[str, Any]] = TAX_RATES

    def reset(self) -> None:
        """Orders back to the seed; no rules, deliveries or contract reports."""
        self.store.reset()
        self.rules.reset()
        self.sender.reset()
        self.checked.clear()

    def describe(self) -> dict[str, Any]:
        """``{"tenant": its key, "id", "name", "orders"}`` for ``GET /_sandbox/tenants``."""
        return {"tenant": self.key, **self.info, "orders": len(self.store.all())}


def make_tenants(
    default_orders: Callable[[], list[dict[str, Any]]],
    *,
    keys: tuple[str, ...] = (PLUGANDPAY_KEY,),
    today: date | None = None,
    rate_limit: tuple[int, float] | None = None,
    latency_ms: int = 0,
) -> Tenants[TenantSpec, Tenant]:
    """The tenants of one sandbox app: the default (reached by ``keys``, holding
    ``default_orders()``), the other demo shops (their orders made around ``today``) and the
    numbered ones. Each starts with ``rate_limit`` and ``latency_ms``."""
    pool = DeliveryPool()
    first = DEMO_TENANTS[0]
    specs = [TenantSpec(tuple(keys), 1, first.name, default_orders)]
    for number, (demo, shop) in enumerate(zip(DEMO_TENANTS[1:], DEMO_SHOPS, strict=True), 2):
        specs.append(TenantSpec((demo.key,), number, demo.name, _demo_orders(today, *shop)))

    def make(spec: TenantSpec) -> Tenant:
        return Tenant(spec, pool=pool, rate_limit=rate_limit, latency_ms=latency_ms)

    return Tenants(specs, make, numbered_spec)


def numbered_spec(key: str) -> TenantSpec | None:
    """The spec of numbered tenant ``pp-sandbox-key-<n>``: no orders, id ``NUMBERED_ID + n``."""
    n = numbered(PLUGANDPAY_KEY, key)
    if n is None:
        return None
    return TenantSpec((key,), NUMBERED_ID + n, f"Sandbox Shop {n}", list)


def _demo_orders(
    today: date | None, seed: int, first_id: int, count: int
) -> Callable[[], list[dict[str, Any]]]:
    return lambda: generate_demo_orders(seed, today, count, first_id=first_id)
