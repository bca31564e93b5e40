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
"""

from __future__ import annotations

import itertools
import logging
import time
import unicodedata
from collections.abc import Callable

import sqlalchemy as sa

from pp2eb import apierrors
from pp2eb.eboekhouden import MAX_PAGE_SIZE, EBoekhoudenClient
from pp2eb.mapping.customers import RelationDraft, customer_code, relation_payload
from pp2eb.store import Store

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
