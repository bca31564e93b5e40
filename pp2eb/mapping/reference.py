"""The mapper's ``ReferenceData``, read from the listings as the two APIs give them.

One way for every reader: a run and the dry run (``pp2eb.engine.sync.fetch_reference``:
e-Boekhouden's ledgers and invoice templates, Plug&Pay's products) and the reports, which split
orders per VAT code the way pp2eb books them and so must know the products as a run does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pp2eb.mapping.booking import Ledger, ReferenceData, Template
from pp2eb.mapping.figures import read_id

Listing = Iterable[Mapping[str, Any]]


def read_reference(
    ledgers: Listing = (), templates: Listing = (), products: Listing = ()
) -> ReferenceData:
    """``ReferenceData`` from e-Boekhouden's ledgers and invoice templates and Plug&Pay's
    products (each product's ledger code, and whether it is goods); a listing left out is empty."""
    products = list(products)
    product_ledgers = {read_id(p.get("id")): _ledger_code(p.get("ledger")) for p in products}
    product_ledgers.pop(None, None)  # a product without a readable id cannot be on an order line
    return ReferenceData.build(
        [
            Ledger(
                id=item["id"],
                code=str(item["code"]),
                description=item.get("description") or "",
                category=item.get("category") or "",
            )
            for item in ledgers
        ],
        [Template(id=t["id"], name=t["name"]) for t in templates],
        product_ledgers,
        # Goods or a service: the VAT code abroad differs.
        product_physical=products_physical(products),
    )


def products_physical(products: Listing) -> dict[int, bool]:
    """Plug&Pay's product listing as ``{id: is_physical}``, for the products that say."""
    found = {read_id(p.get("id")): p.get("is_physical") for p in products}
    return {
        pid: value for pid, value in found.items() if pid is not None and isinstance(value, bool)
    }


def _ledger_code(value: object) -> str | None:
    # The SDK types the product ledger as int|string|null (PR #109): read it as text.
    return None if value is None or value == "" else str(value)
