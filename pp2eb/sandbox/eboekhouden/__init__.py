"""A fake of the e-Boekhouden.nl REST API v1 for tests, benchmarks and the demo mode.

Same paths, fields, status codes, error bodies, paging and session tokens as the real API as far
as ``docs/reference/eboekhouden-api.md`` knows them; request bodies and query parameters are checked
against ``spec/eboekhouden-v1-subset.openapi.json``. Not part of the real API: ``/_sandbox/``
(``state``, ``config``, ``expire-sessions`` here; faults, rate limit, latency, stats, reset,
tenants from ``controls``).

Each API token reaches its own administration (``administrations.py``): a session is opened in
the administration of the token ``POST /v1/session`` was given, and every call with its session
token is served from that administration only. The controls act on the administration of
``?tenant=<the API token it was made with>``, the default (``EBOEKHOUDEN_TOKEN``) without it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from pp2eb import jsonutil
from pp2eb.sandbox import EBOEKHOUDEN_TOKEN
from pp2eb.sandbox.controls import install_controls
from pp2eb.sandbox.controls import tenant as current
from pp2eb.sandbox.eboekhouden import bookings, invoices, query, views
from pp2eb.sandbox.eboekhouden.administrations import Administration, Administrations
from pp2eb.sandbox.eboekhouden.errors import ApiError, error_response, validation
from pp2eb.sandbox.eboekhouden.http import (
    MoneyJSONProvider,
    drop_empty_number,
    found,
    json_body,
    path_id,
    session_token,
)
from pp2eb.sandbox.eboekhouden.store import Store

logger = logging.getLogger(__name__)

# inferred: the real limit is unpublished ("bursts reportedly get throttled"); benchmarks turn
# this on with POST /_sandbox/rate-limit {"limit": 5, "window": 1.0}. Calls per seconds.
ASSUMED_RATE_LIMIT = (5, 1.0)
# inferred: the real session lifetime is undocumented; one hour, as S3 assumes.
DEFAULT_SESSION_TTL = 3600


def create_app(
    *,
    api_tokens: tuple[str, ...] = (EBOEKHOUDEN_TOKEN,),
    session_ttl: int = DEFAULT_SESSION_TTL,
    latency_ms: int = 0,
) -> Flask:
    """Build the sandbox app with fresh seeded administrations.

    ``api_tokens`` reach the default administration; ``session_ttl`` is every administration's
    session lifetime at the start, and each answers every call ``latency_ms`` late.
    """
    app = Flask(__name__)
    app.json = MoneyJSONProvider(app)
    admins = Administrations(tuple(api_tokens), session_ttl=session_ttl, latency_ms=latency_ms)
    # The default administration's data, for a test or a debugger that looks inside.
    app.extensions["eboekhouden_store"] = admins.default.store
    # Controls first: their hook must run before the auth check, as a gateway would.
    install_controls(
        app,
        tenants=admins.tenants,
        tenant_of_request=lambda: _administration_of_request(admins),
        error_response=error_response,
    )
    _install_auth(app)
    _install_errors(app)
    _install_master_routes(app, admins)
    _install_booking_routes(app)
    _install_sandbox_routes(app)
    return app


def _administration_of_request(admins: Administrations) -> Administration | None:
    """The administration a call is for: its session token's, or the API token's it logs in
    with; None when it names none."""
    if request.path == "/v1/session" and request.method == "POST":
        try:
            body = jsonutil.loads(request.get_data(cache=True) or b"null")
        except ValueError:
            return None  # the view answers the bad body
        token = body.get("accessToken") if isinstance(body, dict) else None
        return admins.by_access_token(token) if isinstance(token, str) else None
    return admins.owner(session_token())


def _store() -> Store:
    """The data of the request's administration."""
    return current().store


def _install_auth(app: Flask) -> None:
    @app.before_request
    def _require_session() -> Response | None:
        if not request.path.startswith("/v1/"):
            return None
        if request.path == "/v1/session" and request.method == "POST":
            return None
        admin = current()
        if admin is None or not admin.store.session_valid(session_token()):
            raise ApiError(401, "SECURITY_010")
        return None


def _install_errors(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError) -> Response:
        return exc.response()

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        return error_response(exc.code or 500, exc.description or exc.name)

    @app.errorhandler(Exception)
    def _crash(exc: Exception) -> Response:
        logger.exception("e-Boekhouden sandbox crashed on %s %s", request.method, request.path)
        return error_response(500, "Something went wrong.")


def _listing(
    path: str, records: list[dict], getters: dict[str, Callable[[dict], Any]], show: Callable
) -> Response:
    parsed = query.parse(path, request.args)
    return jsonify(query.page([show(r) for r in query.select(records, parsed, getters)], parsed))


def _field(name: str) -> Callable[[dict], Any]:
    return lambda record: record.get(name)


def _install_master_routes(app: Flask, admins: Administrations) -> None:
    @app.post("/v1/session")
    def start_session() -> Response:
        """Open a session with an API token."""
        body = json_body("SessionRequest")
        if not body["accessToken"].strip():
            raise validation("API_SESSION_003", "accessToken")
        return jsonify(admins.start_session(current(), body["accessToken"]))

    @app.delete("/v1/session")
    def end_session() -> Response:
        """Revoke the session token of this request."""
        _store().end_session(session_token())
        return Response(status=204)

    @app.get("/v1/ledger")
    def list_ledgers() -> Response:
        """Ledgers, filtered on code and category."""
        getters = {"code": _field("code"), "category": _field("category")}
        store = _store()
        with store.lock:
            records = list(store.ledgers.values())
        return _listing("/v1/ledger", records, getters, views.ledger)

    @app.get("/v1/ledger/<ledger_id>")
    def get_ledger(ledger_id: str) -> Response:
        """One ledger."""
        return jsonify(
            views.ledger(found(_store().ledgers.get(path_id(ledger_id)), "LEDG_011", "Ledger"))
        )

    @app.post("/v1/ledger")
    def create_ledger() -> Response:
        """Add a ledger (categories BAL, VW, FIN, DEB, CRED)."""
        return jsonify(views.ledger(_store().create_ledger(json_body("CreateLedger"))))

    @app.get("/v1/relation")
    def list_relations() -> Response:
        """Relations as ``{id, type, code}``, filtered server-side."""
        getters = {
            "code": _field("code"),
            "type": _field("type"),
            "email": _field("emailAddress"),
            "name": _field("name"),
            "contact": _field("contact"),
            "city": _field("city"),
        }
        store = _store()
        with store.lock:
            records = list(store.relations.values())
        return _listing("/v1/relation", records, getters, views.relation_item)

    @app.get("/v1/relation/<relation_id>")
    def get_relation(relation_id: str) -> Response:
        """One relation with every field."""
        store = _store()
        with store.lock:
            record = found(store.relations.get(path_id(relation_id)), "REL_055", "Relation")
            return jsonify(dict(record))

    @app.post("/v1/relation")
    def create_relation() -> Response:
        """Add a relation; answers ``{id, code}``."""
        record = _store().save_relation(json_body("CreateRelation"))
        return jsonify({"id": record["id"], "code": record["code"]})

    @app.patch("/v1/relation/<relation_id>")
    def update_relation(relation_id: str) -> Response:
        """Change a relation; empty answer."""
        rid = path_id(relation_id)
        _store().save_relation(json_body("CreateRelation"), rid)
        return Response(status=204)

    @app.get("/v1/invoicetemplate")
    def list_templates() -> Response:
        """Invoice templates."""
        getters = {k: _field(k) for k in ("name", "type", "active")}
        store = _store()
        with store.lock:
            records = list(store.templates.values())
        return _listing("/v1/invoicetemplate", records, getters, dict)

    @app.get("/v1/costcenter")
    def list_cost_centers() -> Response:
        """Cost centres: the seed has none."""
        return _listing("/v1/costcenter", [], {}, dict)


def _install_booking_routes(app: Flask) -> None:
    @app.get("/v1/mutation")
    def list_mutations() -> Response:
        """Mutations as list items."""
        getters = {k: _field(k) for k in ("type", "id", "description", "invoiceNumber", "date")}
        store = _store()
        with store.lock:
            records = list(store.mutations.values())
        return _listing("/v1/mutation", records, getters, views.mutation_item)

    @app.get("/v1/mutation/<mutation_id>")
    def get_mutation(mutation_id: str) -> Response:
        """One mutation with rows and VAT per code."""
        store = _store()
        with store.lock:
            record = found(store.mutations.get(path_id(mutation_id)), "MUT_300", "Mutation")
            return jsonify(views.mutation(record))

    @app.post("/v1/mutation")
    def create_mutation() -> Response:
        """Book a mutation; answers ``{id}``."""
        return jsonify(
            {"id": bookings.create_mutation(_store(), json_body("CreateMutation"))["id"]}
        )

    @app.get("/v1/mutation/invoice/outstanding")
    def list_outstanding() -> Response:
        """Open items of debtors (D) or creditors (C)."""
        parsed = query.parse("/v1/mutation/invoice/outstanding", request.args)
        items = bookings.outstanding(_store(), parsed.plain["credDeb"])
        chosen = query.select(items, parsed, {"invoiceNumber": _field("invoiceNumber")})
        return jsonify(query.page(chosen, parsed))

    @app.get("/v1/invoice")
    def list_invoices() -> Response:
        """Invoices as list items."""
        getters = {k: _field(k) for k in ("invoiceNumber", "relationId", "date")}
        store = _store()
        with store.lock:
            records = list(store.invoices.values())
        return _listing("/v1/invoice", records, getters, views.invoice_item)

    @app.get("/v1/invoice/<invoice_id>")
    def get_invoice(invoice_id: str) -> Response:
        """One invoice with totals and items."""
        store = _store()
        with store.lock:
            # inferred: no documented code for an unknown invoice id.
            record = found(store.invoices.get(path_id(invoice_id)), None, "Invoice")
            return jsonify(views.invoice(record))

    @app.post("/v1/invoice")
    def create_invoice() -> Response:
        """Make an invoice (and with ``mutation.ledgerId`` its booking)."""
        record = invoices.create_invoice(_store(), json_body("CreateInvoice", drop_empty_number))
        return jsonify(
            {
                "id": record["id"],
                "invoiceNumber": record["invoiceNumber"],
                "inExVat": record["inExVat"],
            }
        )


def _install_sandbox_routes(app: Flask) -> None:
    @app.get("/_sandbox/state")
    def sandbox_state() -> Response:
        """Every ledger, relation, mutation and invoice with computed VAT and totals."""
        return jsonify(_store().state())

    @app.post("/_sandbox/config")
    def sandbox_config() -> Response:
        """Change session_ttl, vat_rounding, api_tokens, revoke an API token or remove ledgers."""
        body = request.get_json(force=True, silent=True)
        if not isinstance(body, dict):
            raise validation("DATA_01")
        return jsonify(_store().configure(body))

    @app.post("/_sandbox/expire-sessions")
    def sandbox_expire_sessions() -> Response:
        """End every open session token."""
        return jsonify({"expired": _store().expire_sessions()})
