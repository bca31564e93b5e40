"""Finding or creating the e-Boekhouden relation of a Plug&Pay customer.

Order of search: the link pp2eb stored earlier, then e-Boekhouden's ``?email=`` filter (a
customer who is already in the administration is never made twice), then a new relation:
its code made by e-Boekhouden or from the first 5 letters of the name, with a number suffix
when the code is taken (``REL_049``).
"""

from __future__ import annotations

import logging
import unicodedata

from pp2eb import apierrors
from pp2eb.customers import RelationDraft, customer_code, relation_payload
from pp2eb.eboekhouden import EBoekhoudenClient
from pp2eb.store import Store

logger = logging.getLogger(__name__)

CODE_TAKEN = "REL_049"
MAX_CODE_ATTEMPTS = 100


def customer_key(draft: RelationDraft) -> str:
    """How pp2eb recognises a customer again: the e-mail address, else the name and country."""
    if draft.email:
        return "email:" + draft.email.strip().casefold()
    name = unicodedata.normalize("NFKC", draft.name).casefold()
    return f"name:{name}|{draft.country or ''}"


def find_relation(eb: EBoekhoudenClient, store: Store, draft: RelationDraft) -> int | None:
    """The relation id of this customer if pp2eb or e-Boekhouden already knows it."""
    key = customer_key(draft)
    link = store.customer_link(key)
    if link is not None:
        return link.relation_id
    if draft.email:
        for item in eb.iter_relations(email=draft.email, limit=1):
            store.link_customer(key, item["id"], item.get("code"))
            return item["id"]
    return None


def ensure_relation(
    eb: EBoekhoudenClient, store: Store, draft: RelationDraft, customer_codes: str
) -> int:
    """The relation id of this customer: found, or created now."""
    found = find_relation(eb, store, draft)
    if found is not None:
        return found
    key = customer_key(draft)
    if customer_codes == "eboekhouden":
        created = _create(eb, draft, None)
    else:
        created = None
        for attempt in range(MAX_CODE_ATTEMPTS):
            try:
                created = _create(eb, draft, customer_code(draft, attempt))
                break
            except apierrors.Rejected as exc:
                if exc.code != CODE_TAKEN:
                    raise
        if created is None:
            raise apierrors.Rejected(
                f"No free customer code for {draft.name} after {MAX_CODE_ATTEMPTS} tries.",
                api="e-Boekhouden.nl",
                code=CODE_TAKEN,
            )
    store.link_customer(key, created["id"], created.get("code"))
    logger.info("created relation %s (%s)", created["id"], created.get("code"))
    return created["id"]


def _create(eb: EBoekhoudenClient, draft: RelationDraft, code: str | None) -> dict:
    try:
        return eb.create_relation(relation_payload(draft, code=code))
    except apierrors.Unavailable as exc:
        if not exc.write_uncertain:
            raise
        # The relation may have been made: look before the order is tried again.
        again = _lookup_after_uncertain_write(eb, draft, code)
        if again is not None:
            return again
        raise


def _lookup_after_uncertain_write(
    eb: EBoekhoudenClient, draft: RelationDraft, code: str | None
) -> dict | None:
    if code is not None:
        search = {"code": code}
    elif draft.email:
        search = {"email": draft.email}
    else:
        return None
    try:
        return next(eb.iter_relations(limit=1, **search), None)
    except apierrors.ApiError:
        return None
