"""e-Boekhouden.nl REST API v1 client: session, ledgers, relations, templates, mutations, invoices.

The API token opens a session (``POST /session``) whose token goes in the ``Authorization``
header of every other call. The client opens one lazily, renews it shortly before it expires,
and on a 401 opens one new session and retries that call once. Money is ``Decimal`` both ways.
One client per thread: the session token is shared state.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import requests

from pp2eb.apis import errors as apierrors
from pp2eb.apis import words
from pp2eb.apis.http import ErrorBody, ErrorFamily, HttpClient, json_or_none, package_version

logger = logging.getLogger(__name__)

PRODUCTION_BASE_URL = "https://api.e-boekhouden.nl/v1"
PAGE_SIZE = 100
MAX_PAGE_SIZE = 2000
# inferred: expiresIn's real value is undocumented; used only if the answer lacks it.
DEFAULT_EXPIRES_IN = 3600
RENEW_BEFORE = 60.0
SOURCE_PATTERN = re.compile(r"^[\w ]{1,10}$", re.ASCII)
# API_SESSION_003 / _004: the API token is missing or expired; a person must make a new one.
TOKEN_REFUSED_CODES = frozenset({"API_SESSION_003", "API_SESSION_004"})

Filters = Mapping[str, Any] | None
Params = Mapping[str, str] | None


class EBoekhoudenError(apierrors.ApiError):
    """Any failed e-Boekhouden.nl call."""

    api = words.EBOEKHOUDEN


class AuthError(EBoekhoudenError, apierrors.AuthError):
    """e-Boekhouden.nl refused the API token or the session."""


class RateLimited(EBoekhoudenError, apierrors.RateLimited):
    """e-Boekhouden.nl kept answering 429."""


class Unavailable(EBoekhoudenError, apierrors.Unavailable):
    """e-Boekhouden.nl answered 5xx, timed out or could not be reached."""


class Rejected(EBoekhoudenError, apierrors.Rejected):
    """e-Boekhouden.nl refused the request; ``code`` says why (e.g. MUT_019)."""


class NotFound(Rejected, apierrors.NotFound):
    """The ledger, relation, mutation or invoice does not exist."""


def read_error_body(response: requests.Response) -> ErrorBody:
    """Read ``{type, title, status, code, message, errors, propertyName, traceId}``."""
    body = json_or_none(response)
    if not isinstance(body, dict):
        return ErrorBody()
    errors = body.get("errors")
    detail = body.get("message") or body.get("title")
    return ErrorBody(
        code=body.get("code") or None,
        detail=str(detail) if detail else None,
        errors=tuple(str(e) for e in errors) if isinstance(errors, list) else (),
        property_name=body.get("propertyName") or None,
    )


FAMILY = ErrorFamily(
    base=EBoekhoudenError,
    auth=AuthError,
    rate_limited=RateLimited,
    unavailable=Unavailable,
    rejected=Rejected,
    not_found=NotFound,
    read_body=read_error_body,
)


def encode_filters(filters: Mapping[str, Any]) -> dict[str, str]:
    """Query parameters: keys as given (``"date[gte]"`` style operators allowed), dates as
    YYYY-MM-DD, ranges (lists) joined by ",", bools as true/false, None dropped."""
    return {key: _plain(value) for key, value in filters.items() if value is not None}


def _plain(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"  # inferred: the .NET API reads true/false
    if isinstance(value, datetime):
        return value.date().isoformat()  # the API takes dates only
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, list | tuple):
        return ",".join(_plain(item) for item in value)  # [range]=a,b
    return str(value)


class EBoekhoudenClient:
    """An e-Boekhouden.nl API v1 client for the administration the API token belongs to."""

    def __init__(
        self,
        api_token: str,
        base_url: str = PRODUCTION_BASE_URL,
        *,
        session: requests.Session | None = None,
        timeout: float = 30.0,
        source: str = "pp2eb",
        max_attempts: int = 4,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not api_token:
            raise ValueError("an e-Boekhouden.nl API token is required")
        if not SOURCE_PATTERN.match(source):
            raise ValueError("source must be 1-10 letters, digits, underscores or spaces")
        self._api_token = api_token
        self.base_url = base_url.rstrip("/")
        self.source = source
        self._clock = clock
        self._token: str | None = None
        self._renew_at = 0.0
        self._session_count = 0
        self._http = HttpClient(
            self.base_url,
            FAMILY,
            session=session,
            timeout=timeout,
            max_attempts=max_attempts,
            sleep=sleep,
            user_agent=f"pp2eb/{package_version()}",
        )

    def __repr__(self) -> str:
        return (
            f"EBoekhoudenClient(base_url={self.base_url!r}, source={self.source!r}, "
            f"api_token='***', session_open={self._token is not None})"
        )

    def __enter__(self) -> EBoekhoudenClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.end_session()

    @property
    def session_count(self) -> int:
        """How many sessions this client has opened."""
        return self._session_count

    def start_session(self) -> None:
        """Open a session with the API token; its token is used until shortly before it expires."""
        try:
            # A second session is harmless, so unlike other POSTs this one may be retried.
            answer = self._http.request(
                "POST",
                "/session",
                body={"accessToken": self._api_token, "source": self.source},
                secrets=self._secrets(),
                retry_safe=True,
            )
        except Rejected as exc:
            if exc.code in TOKEN_REFUSED_CODES:
                # inferred: the HTTP status of these codes is undocumented; they mean the token.
                raise AuthError(exc.detail, status=exc.status, code=exc.code) from None
            raise
        if not isinstance(answer, dict) or not answer.get("token"):
            raise EBoekhoudenError("the session answer had no token")
        expires_in = float(answer.get("expiresIn") or DEFAULT_EXPIRES_IN)
        self._token = str(answer["token"])
        # Renew a minute early (half the lifetime for very short sessions) so that no call
        # goes out with a token that expires on the way.
        self._renew_at = self._clock() + expires_in - min(RENEW_BEFORE, expires_in / 2)
        self._session_count += 1
        logger.debug(
            "e-Boekhouden.nl session %d opened for %.0f s", self._session_count, expires_in
        )

    def end_session(self) -> None:
        """Close the open session, if any; a failure is logged, since the session expires anyway."""
        token, self._token = self._token, None
        if token is None:
            return
        try:
            self._http.request(
                "DELETE", "/session", headers={"Authorization": token}, secrets=self._secrets(token)
            )
        except apierrors.ApiError as exc:
            logger.warning("could not end the e-Boekhouden.nl session: %s", exc)

    def iter_ledgers(self, filters: Filters = None, **params: Any) -> Iterator[dict]:
        """Ledgers ``{id, code, description, category, group}``; filters ``code``, ``category``."""
        return self._paginate("/ledger", filters, params)

    def get_ledger(self, ledger_id: int) -> dict:
        """One ledger by its numeric id."""
        return self._call("GET", f"/ledger/{int(ledger_id)}")

    def iter_relations(self, filters: Filters = None, **params: Any) -> Iterator[dict]:
        """Relations ``{id, type, code}``; filter on the server by ``email``, ``name``, ``code``."""
        return self._paginate("/relation", filters, params)

    def get_relation(self, relation_id: int) -> dict:
        """One relation with all its details."""
        return self._call("GET", f"/relation/{int(relation_id)}")

    def create_relation(self, body: Mapping[str, Any]) -> dict:
        """Create a relation; returns ``{id, code}``. A taken code gives Rejected REL_049."""
        return self._call("POST", "/relation", body=body)

    def update_relation(self, relation_id: int, body: Mapping[str, Any]) -> None:
        """Change a relation (``PATCH``, ``name`` required); e-Boekhouden answers nothing."""
        # The same body twice leaves the same relation, so unlike a booking it may be retried.
        self._call("PATCH", f"/relation/{int(relation_id)}", body=body, retry_safe=True)

    def list_invoice_templates(self) -> list[dict]:
        """All invoice templates ``{id, name, active, type}``."""
        return list(self._paginate("/invoicetemplate", None, {}))

    def iter_mutations(self, filters: Filters = None, **params: Any) -> Iterator[dict]:
        """Mutations; filters ``type``, ``invoiceNumber``, ``date[gte]`` and the like."""
        return self._paginate("/mutation", filters, params)

    def iter_mutations_of_invoice(self, number: str, mutation_type: int) -> Iterator[dict]:
        """The mutations of ``mutation_type`` with exactly the invoice number ``number``."""
        for item in self.iter_mutations(invoiceNumber=number, type=mutation_type, limit=10):
            if (
                item.get("type") in (None, mutation_type)
                and str(item.get("invoiceNumber")) == number
            ):
                yield item

    def get_mutation(self, mutation_id: int) -> dict:
        """One mutation with its rows."""
        return self._call("GET", f"/mutation/{int(mutation_id)}")

    def create_mutation(self, body: Mapping[str, Any]) -> dict:
        """Book a mutation; returns ``{id}``. Never retried after it may have been sent."""
        return self._call("POST", "/mutation", body=body)

    def iter_outstanding(self, cred_deb: str = "D", **params: Any) -> Iterator[dict]:
        """Open items of debtors (``D``) or creditors (``C``); filter ``invoiceNumber``."""
        return self._paginate(
            "/mutation/invoice/outstanding", None, {"credDeb": cred_deb, **params}
        )

    def iter_invoices(self, filters: Filters = None, **params: Any) -> Iterator[dict]:
        """Invoices; filters ``invoiceNumber``, ``relationId``, ``date``."""
        return self._paginate("/invoice", filters, params)

    def get_invoice(self, invoice_id: int) -> dict:
        """One invoice with its items and totals."""
        return self._call("GET", f"/invoice/{int(invoice_id)}")

    def create_invoice(self, body: Mapping[str, Any]) -> dict:
        """Create an invoice (booked when ``mutation.ledgerId`` is set); returns ``{id, ...}``."""
        return self._call("POST", "/invoice", body=body)

    def _secrets(self, *extra: str | None) -> tuple[str | None, ...]:
        return (self._api_token, self._token, *extra)

    def _ensure_session(self) -> str:
        if self._token is None or self._clock() >= self._renew_at:
            self.start_session()
        assert self._token is not None
        return self._token

    def _call(
        self,
        method: str,
        path: str,
        *,
        params: Params = None,
        body: Any = None,
        retry_safe: bool | None = None,
    ) -> Any:
        for retry in (False, True):
            token = self._ensure_session()
            try:
                return self._http.request(
                    method,
                    path,
                    params=params,
                    body=body,
                    headers={"Authorization": token},  # the raw token, no "Bearer" (quick start)
                    secrets=self._secrets(),
                    retry_safe=retry_safe,
                )
            except AuthError:
                if retry:
                    raise
                # A 401 was not processed, so even a write may go again, once, on a new session.
                logger.info(
                    "e-Boekhouden.nl refused the session on %s %s; opening a new one", method, path
                )
                self._token = None
        raise AssertionError("unreachable")

    def _paginate(self, path: str, filters: Filters, params: Mapping[str, Any]) -> Iterator[dict]:
        query = encode_filters({**(filters or {}), **params})
        limit = int(query.pop("limit", PAGE_SIZE))
        if not 1 <= limit <= MAX_PAGE_SIZE:
            raise ValueError(f"limit must be between 1 and {MAX_PAGE_SIZE}")
        offset = int(query.pop("offset", 0))
        while True:
            answer = self._call(
                "GET", path, params={**query, "limit": str(limit), "offset": str(offset)}
            )
            items = answer.get("items") if isinstance(answer, dict) else None
            if not isinstance(items, list):
                raise EBoekhoudenError(f"the list at {path} had no items")
            yield from items
            # "count" is the size of this page, not a total, so a short page is the last one.
            if len(items) < limit:
                return
            offset += len(items)
