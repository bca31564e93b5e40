"""The in-memory administration behind the e-Boekhouden sandbox: seed, sessions, master data.

One ``Store`` per administration (``administrations.py``); every public method takes its lock,
so the sandbox can be served threaded. Ids come from counters (deterministic), starting at large
numbers like the real ids; each administration's ids lie ``id_offset`` further (0 for the
default one), so an id of one administration is never a record of another. Mutations and
invoices live here too; their rules are in ``bookings.py`` and ``invoices.py``.
"""

from __future__ import annotations

import itertools
import re
import secrets
import threading
import time
from typing import Any

from pp2eb import dutchtime
from pp2eb.sandbox.eboekhouden import openapi
from pp2eb.sandbox.eboekhouden.errors import ApiError, validation
from pp2eb.sandbox.eboekhouden.vat import ROUNDINGS

# (id, code, description, category, group). inferred: 1500/1510/1520 use the output-VAT
# categories of the enum (AF19 = high, AF6 = low, AFOVERIG = other; the names date from the
# 19%/6% rates); OSS country ledgers are BAL as the OSS set-up notes
# (docs/reference/eboekhouden-api.md §4.5) prescribe; the
# payment providers' clearing ledgers (tussenrekeningen) are FIN, which a payment (type 3) needs.
SEED_LEDGERS = (
    (22206300, "0100", "Inventaris", "BAL", "Vaste activa"),
    (22206310, "0500", "Eigen vermogen", "BAL", "Eigen vermogen"),
    (22206320, "1000", "Kas", "FIN", "Liquide middelen"),
    (22206330, "1100", "Bank", "FIN", "Liquide middelen"),
    (22206400, "1300", "Debiteuren", "DEB", "Vorderingen"),
    (22206410, "1500", "Btw af te dragen hoog", "AF19", "Btw"),
    (22206411, "1510", "Btw af te dragen laag", "AF6", "Btw"),
    (22206412, "1520", "Btw af te dragen overig", "AFOVERIG", "Btw"),
    (22206413, "1530", "Voorbelasting", "VOOR", "Btw"),
    (22206414, "1560", "Btw rekening-courant", "BTWRC", "Btw"),
    (22206420, "1600", "Crediteuren", "CRED", "Kortlopende schulden"),
    (22206421, "1640", "Btw België OSS", "BAL", "Btw OSS"),
    (22206422, "1641", "Btw Duitsland OSS", "BAL", "Btw OSS"),
    (22206423, "1642", "Btw Frankrijk OSS", "BAL", "Btw OSS"),
    (22206430, "1650", "Tussenrekening Mollie", "FIN", "Liquide middelen"),
    (22206431, "1660", "Tussenrekening Stripe", "FIN", "Liquide middelen"),
    (22206440, "2000", "Vraagposten", "BAL", "Kortlopende schulden"),
    (22206480, "4000", "Inkoop", "VW", "Kosten"),
    (22206462, "8000", "Omzet", "VW", "Omzet"),
    (22206463, "8010", "Omzet cursussen", "VW", "Omzet"),
    (22206464, "8020", "Omzet boeken", "VW", "Omzet"),
    (22206470, "8050", "Verzendkosten", "VW", "Omzet"),
    (22206471, "8090", "Afrondingsverschillen", "VW", "Omzet"),
)
SEED_TEMPLATES = ({"id": 752296, "name": "Standaard", "active": True, "type": "E"},)
# inferred: only these categories may be made through the API (S3 changelog).
CREATABLE_CATEGORIES = ("BAL", "VW", "FIN", "DEB", "CRED")
RELATION_FIELDS = tuple(
    openapi.load_spec()["components"]["schemas"]["CreateRelation"]["properties"]
)
# inferred: REL_005's charset is undocumented; letters, digits and - _ . are allowed here.
_RELATION_CODE = re.compile(r"^[A-Za-z0-9_.\-]+$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_EMAIL_CODES = {
    "emailAddress": "REL_023",
    "emailAddressInvoice": "REL_025",
    "emailAddressReminder": "REL_027",
}


class Store:
    """Ledgers, relations, templates, mutations, invoices, sessions and settings."""

    def __init__(self, api_tokens: tuple[str, ...], session_ttl: int, id_offset: int = 0) -> None:
        self.lock = threading.RLock()
        self._initial = (tuple(api_tokens), session_ttl)
        self.id_offset = id_offset
        self.sessions: dict[str, dict[str, Any]] = {}
        self.reset()

    def reset(self) -> None:
        """Put data and settings back to the seed; open sessions stay open."""
        with self.lock:
            tokens, ttl = self._initial
            self.api_tokens: set[str] = set(tokens)
            self.revoked_tokens: set[str] = set()
            self.session_ttl = ttl
            self.vat_rounding = "total"
            off = self.id_offset
            self.ledgers = {
                lid + off: {"id": lid + off, "code": c, "description": d, "category": k, "group": g}
                for lid, c, d, k, g in SEED_LEDGERS
            }
            self.templates = {t["id"] + off: {**t, "id": t["id"] + off} for t in SEED_TEMPLATES}
            self.relations: dict[int, dict[str, Any]] = {}
            self.mutations: dict[int, dict[str, Any]] = {}
            self.invoices: dict[int, dict[str, Any]] = {}
            self._ids = {
                "ledger": itertools.count(22207001 + off),
                "relation": itertools.count(41000001 + off),
                "mutation": itertools.count(98000001 + off),
                "invoice": itertools.count(75000001 + off),
            }
            self._relation_codes = itertools.count(1)
            self._invoice_numbers = itertools.count(1)

    def next_id(self, kind: str) -> int:
        """The next id of a kind of record."""
        return next(self._ids[kind])

    # --- sessions -------------------------------------------------------------------------

    def start_session(self, access_token: str) -> dict[str, Any]:
        """Open a session for an API token: ``{token, expiresIn}`` or a 401 ``ApiError``."""
        with self.lock:
            if access_token in self.revoked_tokens:
                # inferred: a revoked token answers like an expired one (API_SESSION_004).
                raise ApiError(401, "API_SESSION_004", title="Login failed")
            if access_token not in self.api_tokens:
                # inferred: no documented code for an unknown token; one client keys on the
                # title "Login failed".
                raise ApiError(401, None, "Login failed.", title="Login failed")
            now = time.monotonic()
            # Forget sessions that ran out, so a long benchmark does not pile them up.
            self.sessions = {t: s for t, s in self.sessions.items() if s["expiresAt"] > now}
            token = secrets.token_urlsafe(24)
            self.sessions[token] = {
                "apiToken": access_token,
                "expiresAt": now + self.session_ttl,
            }
            return {"token": token, "expiresIn": self.session_ttl}

    def knows(self, access_token: str) -> bool:
        """True for an API token of this administration, valid or revoked."""
        with self.lock:
            return access_token in self.api_tokens or access_token in self.revoked_tokens

    def has_session(self, token: str) -> bool:
        """True while this administration holds the session token (expired or not)."""
        with self.lock:
            return token in self.sessions

    def session_valid(self, token: str) -> bool:
        """True for an open, unexpired session whose API token is still valid."""
        with self.lock:
            session = self.sessions.get(token)
            return (
                session is not None
                and time.monotonic() < session["expiresAt"]
                and session["apiToken"] in self.api_tokens
            )

    def end_session(self, token: str) -> None:
        """Revoke one session token."""
        with self.lock:
            self.sessions.pop(token, None)

    def expire_sessions(self) -> int:
        """Make every open session token answer 401; return how many there were."""
        with self.lock:
            count = len(self.sessions)
            self.sessions.clear()
            return count

    def configure(self, body: dict[str, Any]) -> dict[str, Any]:
        """Apply sandbox settings (``session_ttl``, ``vat_rounding``, API tokens) or remove
        ledgers (``remove_ledgers``: codes)."""
        with self.lock:
            if "session_ttl" in body:
                ttl = body["session_ttl"]
                if not isinstance(ttl, int) or isinstance(ttl, bool) or ttl < 0:
                    raise validation("ERR_002", "session_ttl", "session_ttl: seconds, 0 or more.")
                self.session_ttl = ttl
            if "vat_rounding" in body:
                if body["vat_rounding"] not in ROUNDINGS:
                    raise validation("ERR_002", "vat_rounding", "vat_rounding: total or row.")
                self.vat_rounding = body["vat_rounding"]
            if "api_tokens" in body:
                tokens = body["api_tokens"]
                if not isinstance(tokens, list) or not all(isinstance(t, str) for t in tokens):
                    raise validation("ERR_002", "api_tokens", "api_tokens: a list of strings.")
                self.api_tokens = set(tokens)
                self.revoked_tokens -= self.api_tokens
            if "remove_ledgers" in body:
                codes = body["remove_ledgers"]
                if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
                    raise validation("ERR_002", "remove_ledgers", "remove_ledgers: ledger codes.")
                # An administration without some of the seed's ledgers, until the next reset.
                self.ledgers = {i: lg for i, lg in self.ledgers.items() if lg["code"] not in codes}
            if "revoke_api_token" in body:
                token = body["revoke_api_token"]
                self.api_tokens.discard(token)
                self.revoked_tokens.add(token)
            # Sessions of a token that is no longer valid end for good, even if a reset or a
            # new token list brings the token back.
            self.sessions = {
                t: s for t, s in self.sessions.items() if s["apiToken"] in self.api_tokens
            }
            return self.settings()

    def settings(self) -> dict[str, Any]:
        """The current sandbox settings (API tokens are not shown)."""
        with self.lock:
            return {
                "session_ttl": self.session_ttl,
                "vat_rounding": self.vat_rounding,
                "api_token_count": len(self.api_tokens),
                "open_sessions": len(self.sessions),
            }

    # --- ledgers --------------------------------------------------------------------------

    def create_ledger(self, body: dict[str, Any]) -> dict[str, Any]:
        """Add a ledger; LEDG_013 when the code exists."""
        with self.lock:
            category = body.get("category", "BAL")
            if category not in CREATABLE_CATEGORIES:
                raise validation(
                    "ERR_002", "category", f"category: only {', '.join(CREATABLE_CATEGORIES)}."
                )
            if any(
                lg["code"].casefold() == body["code"].casefold() for lg in self.ledgers.values()
            ):
                raise validation("LEDG_013", "code")
            ledger = {
                "id": self.next_id("ledger"),
                "code": body["code"],
                "description": body["description"],
                "category": category,
                "group": body.get("group", ""),
            }
            self.ledgers[ledger["id"]] = ledger
            return dict(ledger)

    # --- relations ------------------------------------------------------------------------

    def save_relation(self, body: dict[str, Any], relation_id: int | None = None) -> dict:
        """Create (no id) or update a relation after the rules the spec cannot express."""
        with self.lock:
            current = self.relations.get(relation_id) if relation_id is not None else None
            if relation_id is not None and current is None:
                raise ApiError(404, "REL_055", property_name="id")
            self._check_relation(body, relation_id)
            if current is None:
                record = {name: None for name in RELATION_FIELDS}
                record["type"] = "B"  # inferred default when no type is sent
                record.update(
                    id=self.next_id("relation"),
                    date=dutchtime.today().isoformat(),  # inferred: the Dutch day
                    isClubOrAssociationMember=False,
                )
                record.update(body)
                if not record.get("code"):
                    record["code"] = self._new_relation_code()
                self.relations[record["id"]] = record
                return record
            # inferred: PATCH changes the fields sent and keeps the others; an empty code
            # keeps the current one, as on create where it means "make one".
            current.update({k: v for k, v in body.items() if k != "code" or v})
            return current

    def _check_relation(self, body: dict[str, Any], relation_id: int | None) -> None:
        code = body.get("code")
        if code:
            if not _RELATION_CODE.match(code):
                raise validation("REL_005", "code")
            for other in self.relations.values():
                if other["id"] != relation_id and other["code"].casefold() == code.casefold():
                    raise validation("REL_049", "code")
        for field, err in _EMAIL_CODES.items():
            if body.get(field) and not _EMAIL.match(body[field]):
                raise validation(err, field)
        kvk = body.get("companyRegistrationNumber")
        if kvk and not kvk.isdigit():
            raise validation("REL_008", "companyRegistrationNumber")
        if body.get("iban") and not _iban_ok(body["iban"]):
            raise validation("REL_007", "iban")
        if (body.get("termOfPayment") or 0) < 0:
            raise validation("REL_030", "termOfPayment")

    def _new_relation_code(self) -> str:
        # inferred: e-Boekhouden's own code series is unknown; plain numbers are used.
        taken = {r["code"].casefold() for r in self.relations.values()}
        while (code := str(next(self._relation_codes))) in taken:
            pass
        return code

    def new_invoice_number(self) -> str:
        """The next free number of the administration's own invoice series."""
        # inferred: the real series format is unknown; it must end with a digit (FACT_009).
        taken = {i["invoiceNumber"] for i in self.invoices.values()}
        taken |= {m["invoiceNumber"] for m in self.mutations.values()}
        while (number := f"F{next(self._invoice_numbers):05d}") in taken:
            pass
        return number

    def state(self) -> dict[str, Any]:
        """Everything in the administration, for tests and the demo (not part of the API)."""
        with self.lock:
            return {
                "settings": self.settings(),
                "ledgers": [dict(v) for v in self.ledgers.values()],
                "invoiceTemplates": [dict(v) for v in self.templates.values()],
                "relations": [dict(v) for v in self.relations.values()],
                "mutations": [_copy(v) for v in self.mutations.values()],
                "invoices": [_copy(v) for v in self.invoices.values()],
            }


def _copy(record: dict[str, Any]) -> dict[str, Any]:
    out = dict(record)
    for key in ("rows", "items", "vat"):
        if key in out:
            out[key] = [dict(r) for r in out[key]]
    return out


def _iban_ok(iban: str) -> bool:
    text = iban.replace(" ", "").upper()
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{10,30}", text):
        return False
    digits = "".join(str(int(ch, 36)) for ch in text[4:] + text[:4])
    return int(digits) % 97 == 1
