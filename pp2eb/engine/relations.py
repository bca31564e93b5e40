"""Finding or creating the e-Boekhouden relation of a Plug&Pay customer.

Order of search: the link pp2eb stored earlier, then the relations already in e-Boekhouden (a
customer who is already in the administration is never made twice), then a new relation: its
code made by e-Boekhouden or from the first 5 letters of the name, with a number suffix when
the code is taken (``REL_049``).

The relations already in e-Boekhouden are not searched by ``?email=`` for each new customer
(one read per customer: 6,500 reads in a backfill of 10,000 orders, 22 minutes at the assumed
limit). Instead a run lists the relation ids, 2,000 a page, and reads the details of each one no
customer link points to yet, once: one with an e-mail address is linked under it, as a customer
found by ``?email=`` would be, and one without is marked as seen. After that every relation in
e-Boekhouden has a link, and a customer without one is new. A run repeats the listing every
``RECHECK_EVERY`` seconds, to notice relations a person adds meanwhile, and after a create that
was not confirmed.

Before a reverse-charge booking the relation must carry the buyer's VAT id and type B
(``ensure_vat_id``); why pp2eb updates the customer's relation rather than making a second one
is written there.
"""

from __future__ import annotations

import itertools
import logging
import time
import unicodedata
from collections.abc import Callable

import sqlalchemy as sa

from pp2eb.apis import errors as apierrors
from pp2eb.apis.eboekhouden import MAX_PAGE_SIZE, EBoekhoudenClient
from pp2eb.engine.store import Store
from pp2eb.mapping.customers import (
    RelationDraft,
    customer_code,
    relation_payload,
    relation_update,
    vat_id_key,
)
from pp2eb.mapping.problems import QUOTED, MappingError, cut

logger = logging.getLogger(__name__)

CODE_TAKEN = "REL_049"
MAX_CODE_ATTEMPTS = 100
RECHECK_EVERY = 600.0  # seconds
SEEN_PREFIX = "relation:"  # the link of a relation without an e-mail address: seen, no customer


def customer_key(draft: RelationDraft) -> str:
    """How pp2eb recognises a customer again: the e-mail address, else the name and country."""
    if draft.email:
        return email_key(draft.email)
    name = unicodedata.normalize("NFKC", draft.name).casefold()
    return f"name:{name}|{draft.country or ''}"


def email_key(email: str) -> str:
    """The customer key of an e-mail address."""
    return "email:" + email.strip().casefold()


class Relations:
    """The relations of one run: found from the links, or created and linked at once."""

    def __init__(
        self,
        eb: EBoekhoudenClient,
        store: Store,
        customer_codes: str,
        clock: Callable[[], float] = time.monotonic,
        tick: Callable[[], None] = lambda: None,
    ) -> None:
        self.eb, self.store, self.customer_codes, self.clock = eb, store, customer_codes, clock
        self.tick = tick  # called while a long first look goes on (the engine renews its lease)
        self.indexed_at: float | None = None
        self.vat_ids: dict[int, str] = {}  # relation id -> VAT id (vat_id_key) seen this run

    def find(self, draft: RelationDraft) -> sa.Row | None:
        """The stored link of this customer, after a look at e-Boekhouden's relations if needed."""
        key = customer_key(draft)
        link = self.store.customer_link(key)
        if link is None and draft.email and self._index():
            link = self.store.customer_link(key)
        return link

    def ensure(self, draft: RelationDraft) -> int:
        """The relation id of this customer: found, or created now."""
        link = self.find(draft)
        if link is not None:
            return link.relation_id
        key = customer_key(draft)
        try:
            return _create_and_link(self.eb, self.store, draft, key, self.customer_codes)
        except apierrors.Unavailable:
            self.indexed_at = None  # the relation may exist now without a link: look again
            raise

    def ensure_vat_id(self, relation_id: int, draft: RelationDraft, vat_id: str) -> None:
        """Give relation ``relation_id`` the VAT id and type B of a reverse-charge order.

        The customer's own relation is updated (``PATCH``); no second, business relation is
        made. Because:

        * one customer stays one debtor: the e-mail link pp2eb keeps points to one relation,
          and that customer's open items and payments stay together in e-Boekhouden;
        * the intra-EU invoice and the ICP return read the buyer's VAT id from the relation.
          The earlier consumer sales on it carry Dutch or OSS VAT codes, not the intra-EU ones,
          so the VAT id does not bring them onto the ICP return (see docs/bookkeeping.md);
        * a second relation would need a second customer key beside the e-mail address, and
          would split one customer over two debtors.

        A different VAT id already on the relation is never overwritten: the order fails with
        both ids, for a person to decide (MappingError).
        """
        # inferred: e-Boekhouden's ICP report selects bookings by VAT code and reads the VAT id
        # from the relation, so the consumer sales already on it stay off the ICP return.
        key = vat_id_key(vat_id)
        if self.vat_ids.get(relation_id) == key:
            return
        current = self.eb.get_relation(relation_id)
        there = current.get("vatNumber")
        if there and vat_id_key(there) != key:
            name = cut(str(current.get("name") or draft.name), QUOTED)
            raise MappingError(
                f"The customer is relation {current.get('code') or relation_id} ({name}) in "
                f"e-Boekhouden, which has VAT id {cut(there, QUOTED)}, but this reverse-charge "
                f"order has VAT id {cut(vat_id, QUOTED)}. pp2eb does not overwrite a VAT id.",
                fix="If the VAT id in e-Boekhouden is out of date, correct it there and retry "
                "the order. If another business uses the same e-mail address, book this order "
                "by hand in e-Boekhouden and skip it here.",
            )
        if not there or current.get("type") != "B":
            # The id as the relation already writes it, if it has it.
            self.eb.update_relation(relation_id, relation_update(current, draft, there or vat_id))
            logger.info("relation %s now has VAT id %s and type B", relation_id, there or vat_id)
        self.vat_ids[relation_id] = key

    def _index(self) -> bool:
        """Link every relation no link points to; True when any was linked."""
        now = self.clock()
        if self.indexed_at is not None and now - self.indexed_at < RECHECK_EVERY:
            return False
        pages = _batches(item["id"] for item in self.eb.iter_relations(limit=MAX_PAGE_SIZE))
        added = 0
        for ids in pages:
            for relation_id in sorted(set(ids) - self.store.linked_relations(ids)):
                self.tick()
                details = self.eb.get_relation(relation_id)
                email = details.get("emailAddress")
                key = email_key(email) if email else None
                if key is None or self.store.customer_link(key) is not None:
                    key = f"{SEEN_PREFIX}{relation_id}"  # no address, or one linked already
                self.store.link_customer(key, relation_id, details.get("code"))
                added += 1
        if added:
            logger.info("linked %d relation(s) found in e-Boekhouden", added)
        self.indexed_at = now
        return bool(added)


def _batches(ids, size: int = MAX_PAGE_SIZE):
    iterator = iter(ids)
    while batch := list(itertools.islice(iterator, size)):
        yield batch


def _create_and_link(
    eb: EBoekhoudenClient, store: Store, draft: RelationDraft, key: str, customer_codes: str
) -> int:
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
    # Committed with the order's intent, which follows before any other call.
    store.link_customer(key, created["id"], created.get("code"), commit=False)
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
