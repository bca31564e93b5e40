"""A fake of the Plug&Pay REST API v2 for tests, benchmarks and demo mode.

It answers like the real API as far as the public record (``docs/reference/plugandpay-api.md``)
tells: same paths and fields, Bearer auth with 401 ``{"message": "Unauthenticated."}``, a 302
when the client does not ask for JSON, Laravel's 422 ``errors`` and resource-collection paging.
Every answer is checked against the contract (``contract/``, the JSON Schema transcribed from
the public record) before it goes out; one that breaks it becomes a 500 naming the violation,
and ``GET /_sandbox/contract`` lists them. The orders are kept in ``store.py`` and queried by
``query.py``; ``variants.py`` says in which of the forms the record leaves open each is written.
Test controls live under ``/_sandbox/`` (see ``controls.py``, ``seed.py`` for
``/_sandbox/orders`` and ``/_sandbox/generate``, and ``/_sandbox/contract`` here). Rules
(``/v2/rules``) are in ``rules.py``; the webhooks they make the sandbox send, and their
controls, in ``webhooks.py``.

Each API key reaches its own tenant (``tenants.py``): a call is served from the tenant its
Bearer key names, and a key no tenant has is the 401 above. The controls act on the tenant of
``?tenant=<its key>``, the default (``PLUGANDPAY_KEY``) without it; only ``GET
/_sandbox/contract`` answers for every tenant at once (each report names its tenant), since a
broken contract is the sandbox's fault whichever tenant showed it.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable
from datetime import date
from typing import Any
from urllib.parse import urlencode

from flask import Flask, Response, redirect, request
from werkzeug.exceptions import HTTPException

from pp2eb import jsonutil
from pp2eb.sandbox import PLUGANDPAY_KEY
from pp2eb.sandbox.controls import CONTROL_PREFIX, install_controls
from pp2eb.sandbox.controls import tenant as current
from pp2eb.sandbox.plugandpay import contract
from pp2eb.sandbox.plugandpay.demo_data import generate_demo_orders
from pp2eb.sandbox.plugandpay.query import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    Args,
    IncludeError,
    ValidationError,
    parse_includes,
    parse_order_query,
    project,
    select_orders,
)
from pp2eb.sandbox.plugandpay.rules import install_rules
from pp2eb.sandbox.plugandpay.seed import install_seeding
from pp2eb.sandbox.plugandpay.store import OrderStore
from pp2eb.sandbox.plugandpay.tenants import Tenant, TenantSpec, make_tenants
from pp2eb.sandbox.plugandpay.webhooks import WebhookSender, install_webhooks
from pp2eb.sandbox.tenants import Tenants

logger = logging.getLogger(__name__)

# inferred: Plug&Pay documents no rate limit; this is Laravel's default API throttle
# (60 calls a minute). Off unless create_app(rate_limit=...) or /_sandbox/rate-limit sets it.
ASSUMED_RATE_LIMIT = (60, 60.0)
PRODUCT_SORTS = {"id": lambda p: p["id"], "title": lambda p: p["title"].lower()}


def error_response(status: int, message: str, errors: dict | None = None) -> Response:
    """An error the way Plug&Pay (Laravel) writes it: ``{"message"}``, plus ``errors`` on 422."""
    body: dict[str, Any] = {"message": message}
    if errors is not None:
        body["errors"] = errors
    return _json(body, status)


def _json(body: Any, status: int = 200) -> Response:
    return Response(jsonutil.dumps(body), status=status, mimetype="application/json")


def create_app(
    *,
    orders: list[dict] | None = None,
    seed: int = 1,
    today: date | None = None,
    count: int = 60,
    keys: Iterable[str] = (PLUGANDPAY_KEY,),
    rate_limit: tuple[int, float] | None = None,
    latency_ms: int = 0,
) -> Flask:
    """The sandbox app. Its default tenant holds ``orders`` as given, else the demo orders of
    ``seed``/``today``/``count``; the other demo shops' orders are made around ``today`` too.

    ``keys`` are the default tenant's API keys; ``rate_limit`` (calls, seconds), e.g.
    ``ASSUMED_RATE_LIMIT``, throttles each tenant from the start, and each answers every call
    ``latency_ms`` late.
    """
    app = Flask(__name__)
    seed_orders = orders if orders is not None else generate_demo_orders(seed, today, count)
    tenants = make_tenants(
        lambda: seed_orders,
        keys=tuple(keys),
        today=today,
        rate_limit=rate_limit,
        latency_ms=latency_ms,
    )
    default = tenants.default
    # The default tenant's parts, for a test or a debugger that looks inside.
    app.extensions["plugandpay_store"] = default.store
    app.extensions["plugandpay_webhooks"] = default.sender
    app.extensions["plugandpay_contract"] = default.checked

    # Registered before the controls: after_request runs last-registered first, so this one
    # sees the answer as it finally goes out (an injected fault included).
    @app.after_request
    def _check_contract(response: Response) -> Response:
        if request.path.startswith(CONTROL_PREFIX) or not response.is_json:
            return response
        found = contract.answer_violations(
            request.endpoint, response.status_code, response.get_json()
        )
        if not found:
            return response
        (current() or default).checked.report(f"{request.method} {request.path}", found)
        return error_response(500, f"The sandbox broke the Plug&Pay contract: {found[0]}")

    install_controls(
        app,
        tenants=tenants,
        tenant_of_request=_tenant_of_key(tenants),
        error_response=error_response,
    )

    @app.before_request
    def _guard() -> Response | None:
        if request.path.startswith(CONTROL_PREFIX):
            return None
        if not _wants_json():
            # The docs: "302 Found - You probably sent a wrong accept header." inferred: every
            # non-JSON request is redirected (Laravel sends such clients to its login page),
            # so a client that forgets the header fails in tests, not only in production.
            return redirect(f"{request.url_root}login", 302)
        if current() is None:
            return error_response(401, "Unauthenticated.")
        return None

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        if exc.code == 404:
            return error_response(404, "Not found.")
        if exc.code == 405:
            return error_response(405, f"The {request.method} method is not supported.")
        return error_response(exc.code or 500, exc.name)

    @app.errorhandler(ValidationError)
    def _invalid(exc: ValidationError) -> Response:
        return error_response(422, exc.message, exc.errors)

    @app.errorhandler(IncludeError)
    def _bad_include(exc: IncludeError) -> Response:
        return error_response(400, str(exc))

    @app.errorhandler(contract.ContractError)
    def _off_contract(exc: contract.ContractError) -> Response:
        (current() or default).checked.report(f"{request.method} {request.path}", exc.violations)
        return error_response(500, f"The sandbox broke the Plug&Pay contract: {exc}")

    _add_api_routes(app)
    install_rules(app, lambda: current().rules, page=_page, json=_json, error=error_response)
    install_seeding(app, _shop, json=_json)

    @app.get("/_sandbox/contract")
    def contract_violations() -> Response:
        """What the sandbox found itself sending off the contract since each tenant's reset."""
        found = [
            {"tenant": one.key, **report}
            for one in tenants.made()
            for report in one.checked.snapshot()
        ]
        return _json({"violations": found})

    install_webhooks(app, _shop, json=_json, error=error_response)
    return app


def _tenant_of_key(tenants: Tenants[TenantSpec, Tenant]) -> Callable[[], Tenant | None]:
    def tenant_of_request() -> Tenant | None:
        """The tenant the call's Bearer key names, or None."""
        scheme, _, key = request.headers.get("Authorization", "").partition(" ")
        return tenants.get(key.strip()) if scheme.lower() == "bearer" else None

    return tenant_of_request


def _shop() -> tuple[OrderStore, WebhookSender]:
    """The orders and webhooks of the request's tenant."""
    chosen = current()
    return chosen.store, chosen.sender


def _wants_json() -> bool:
    """Laravel's ``wantsJson()``: the most preferred Accept type is JSON."""
    best = request.accept_mimetypes.best
    return bool(best) and ("/json" in best.lower() or "+json" in best.lower())


def _page(items: list, page: int, limit: int, render: Any) -> Response:
    """A Laravel resource collection: ``data``, ``meta`` and ``links`` with full URLs."""
    total = len(items)
    last = max(1, math.ceil(total / limit))
    start = (page - 1) * limit
    chunk = items[start : start + limit]
    path = request.base_url  # includes the mount prefix (SCRIPT_NAME)

    def url(number: int) -> str:
        # Keep the caller's query string, as Laravel's withQueryString() does: the page
        # number takes the place of a given ``page``, else it goes last.
        params = [(k, str(number) if k == "page" else v) for k, v in request.args.items()]
        if "page" not in request.args:
            params.append(("page", str(number)))
        return f"{path}?{urlencode(params)}"

    return _json(
        {
            "data": [render(item) for item in chunk],
            "links": {
                "first": url(1),
                "last": url(last),
                "prev": url(page - 1) if page > 1 else None,
                "next": url(page + 1) if page < last else None,
            },
            "meta": {
                "current_page": page,
                "from": start + 1 if chunk else None,
                "last_page": last,
                "path": path,
                "per_page": limit,
                "to": start + len(chunk) if chunk else None,
                "total": total,
            },
        }
    )


def _add_api_routes(app: Flask) -> None:
    """The API's own resources, each read from the tenant of the request."""

    @app.get("/v2/orders")
    def list_orders() -> Response:
        """Orders, filtered, sorted and paged like the real list endpoint."""
        query = parse_order_query(request.args)
        chosen = select_orders(current().store.all(), query)
        return _page(chosen, query.page, query.limit, lambda o: project(o, query.includes))

    @app.get("/v2/orders/<int:order_id>")
    def show_order(order_id: int) -> Response:
        """One order with the asked-for includes."""
        includes = parse_includes(request.args.get("include"))
        order = current().store.get(order_id)
        if order is None:
            return error_response(404, "Not found.")
        return _json({"data": project(order, includes)})

    @app.get("/v2/products")
    def list_products() -> Response:
        """The shop's products (each with its ``ledger`` code or null), paged."""
        args = Args(request.args)
        page = args.integer("page", 1, 1)
        limit = args.integer("limit", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
        sort = args.choice("sort", PRODUCT_SORTS, "id")
        direction = args.choice("direction", ("asc", "desc"), "asc")
        args.check()
        products = list(current().products)
        if text := args.raw("q"):
            products = [p for p in products if text.lower() in p["title"].lower()]
        if ids := args.raw("product_ids"):
            wanted = {part.strip() for part in ids.split(",")}
            products = [p for p in products if str(p["id"]) in wanted]
        products.sort(key=PRODUCT_SORTS[sort], reverse=direction == "desc")
        return _page(products, page, limit, lambda p: p)

    @app.get("/v2/products/<int:product_id>")
    def show_product(product_id: int) -> Response:
        """One product."""
        for product in current().products:
            if product["id"] == product_id:
                return _json({"data": product})
        return error_response(404, "Not found.")

    @app.get("/v2/tax-rates")
    def list_tax_rates() -> Response:
        """The shop's tax rates, optionally of one ``country``."""
        # inferred: a short fixed list, answered whole without paging.
        country = (request.args.get("country") or "").strip().upper()
        rates = [r for r in current().tax_rates if not country or r["country"] == country]
        return _json({"data": rates})

    @app.get("/v2/auth/tenants/me")
    def tenant() -> Response:
        """The tenant the key belongs to: the connection check."""
        return _json({"data": current().info})
