"""How the e-Boekhouden administration rounds VAT, learnt from a booking and checked after one.

Rounding per row or over the total per VAT code is a setting of the administration that the API does
not expose, but a booking read back shows it: ``GET /v1/mutation/{id}`` returns ``rows[].vatAmount``
only when VAT is computed per row (docs/reference/eboekhouden-api.md §4.4). pp2eb stores what it
learns with the e-Boekhouden connection (``Credential.vat_rounding``); a person can set it by hand
on the connection page (``pp2eb.setup.connections.set_vat_rounding``), and then no read-back changes
it.

* ``known``, once a run while the rounding is unknown: read back pp2eb's newest booking, else
  one sales booking e-Boekhouden lists, so an administration with bookings is known before the
  run's first order.
* ``read_back``, after a booking while the rounding is unknown or when the booking has rounding
  rows: learn the rounding from it, and check that e-Boekhouden's VAT per code is the VAT pp2eb
  expected, which is Plug&Pay's. A difference comes back in words; the engine flags the order.

Only reads, and only after the booking is confirmed: a read-back can neither book an order twice
nor undo a booking. A read that fails is logged, and for a booking with rounding rows reported
as not checked.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session, scoped_session

from pp2eb.apis import errors as apierrors
from pp2eb.apis.eboekhouden import EBoekhoudenClient
from pp2eb.mapping.booking import Booking
from pp2eb.mapping.payloads import SALES_INVOICE_SENT
from pp2eb.mapping.vatcodes import PER_ROW, PER_TOTAL, VAT_ROUNDINGS
from pp2eb.models import Credential, OrderRecord
from pp2eb.states import OrderState

logger = logging.getLogger(__name__)
T = TypeVar("T")

VAT_CHECK = "VAT_CHECK"  # the error code on a booked order whose VAT is not Plug&Pay's
WORDS = {PER_ROW: "per row", PER_TOTAL: "over the total per VAT code"}
# Rows whose VAT is sent, not computed: they say nothing about the rounding.
_SENT_VAT = frozenset({"AFW", "AFW_VERK"})
CHECK_BY_HAND = (
    "Compare the VAT of this booking in e-Boekhouden with the order in Plug&Pay and correct it "
    "by hand if needed (ask your accountant), then check the VAT rounding on the e-Boekhouden "
    "connection page."
)


def mode_of(mutation: Mapping[str, Any]) -> str | None:
    """The rounding a booking read back shows (``PER_ROW``/``PER_TOTAL``); None if it cannot."""
    rows = mutation.get("rows")
    rows = [r for r in rows if isinstance(r, dict)] if isinstance(rows, list) else []
    rows = [row for row in rows if row.get("vatCode") not in _SENT_VAT]
    if not rows:
        return None
    # inferred: under per-row VAT every row comes back with its vatAmount, under per-total VAT none
    # does (docs/reference/eboekhouden-api.md §3.6: "only returned when VAT is calculated per row").
    return PER_ROW if any(row.get("vatAmount") is not None for row in rows) else PER_TOTAL


def vat_per_code(mutation: Mapping[str, Any]) -> dict[str, Decimal] | None:
    """The VAT per code of a booking read back (its ``vat`` list); None without a readable one."""
    listed = mutation.get("vat")
    if not isinstance(listed, list):
        return None
    out: dict[str, Decimal] = {}
    try:
        for entry in listed:
            code = entry["vatCode"]
            out[code] = out.get(code, Decimal("0.00")) + Decimal(str(entry.get("amount") or 0))
    except (KeyError, TypeError, AttributeError, ArithmeticError):
        return None
    return out


class VatRounding:
    """The rounding of one link's administration: as stored, learnt, and checked (see above)."""

    def __init__(
        self,
        eb: EBoekhoudenClient,
        session: Session | scoped_session,
        link_id: int,
        patiently: Callable[[Callable[[], T]], T] = lambda call: call(),
    ) -> None:
        self.eb, self.session, self.link_id, self.patiently = eb, session, link_id, patiently
        self.mode: str | None = None
        self.by_hand = False

    def known(self, *, save: bool = True) -> str | None:
        """The stored rounding, else the one an earlier booking shows (stored if ``save``)."""
        credential = self._credential()
        if credential is not None and credential.vat_rounding in VAT_ROUNDINGS:
            self.mode = credential.vat_rounding
            self.by_hand = credential.vat_rounding_by == Credential.BY_HAND
            return self.mode
        mutation = self._earlier_booking()
        seen = mode_of(mutation) if mutation else None
        if seen is not None:
            self._learn(seen, mutation.get("id"), save=save)
        return self.mode

    def read_back(self, booking: Booking, eboekhouden_id: int) -> tuple[str, str] | None:
        """Read a confirmed booking back: learn the rounding, check the VAT of rounding rows.

        Returns (reason, fix) when the booking's VAT per code is not the expected one, or could
        not be checked; None when it is fine or needed no check.
        """
        checked = booking.has_rounding_rows
        try:
            mutation = self.patiently(
                lambda: self._mutation(booking.insertion, eboekhouden_id, booking.invoice_number)
            )
        except apierrors.ApiError as exc:
            logger.warning("could not read back booking %s: %s", eboekhouden_id, exc)
            mutation, why = None, str(exc)
        else:
            why = "e-Boekhouden did not find it"
        if mutation is None:
            if not checked:
                return None
            return (
                f"Booked, but pp2eb could not read the booking back to check its VAT ({why}).",
                CHECK_BY_HAND,
            )
        seen = mode_of(mutation)
        if seen is not None and seen != self.mode and not self.by_hand:
            self._learn(seen, mutation.get("id"))
        if not checked:
            return None
        return _difference(booking, vat_per_code(mutation), seen)

    def _learn(self, seen: str, mutation_id: int | None, *, save: bool = True) -> None:
        if self.mode is not None:
            logger.warning(
                "e-Boekhouden now rounds VAT %s (booking %s), no longer %s",
                WORDS[seen],
                mutation_id,
                WORDS[self.mode],
            )
        else:
            logger.info("e-Boekhouden rounds VAT %s (booking %s)", WORDS[seen], mutation_id)
        self.mode = seen
        credential = self._credential()
        if save and credential is not None:
            credential.vat_rounding = seen
            credential.vat_rounding_by = Credential.DETECTED
            credential.vat_rounding_from = mutation_id
            self.session.commit()

    def _credential(self) -> Credential | None:
        return self.session.execute(
            sa.select(Credential).filter_by(link_id=self.link_id, service=Credential.EBOEKHOUDEN)
        ).scalar_one_or_none()

    def _earlier_booking(self) -> dict | None:
        """pp2eb's newest booking read back, else one sales booking e-Boekhouden lists."""
        # inferred: the newest booking shows the administration's current setting (the
        # reference returns per-row VAT "for the given mutation").
        newest = self.session.execute(
            sa.select(OrderRecord.insertion, OrderRecord.eboekhouden_id, OrderRecord.reference)
            .where(OrderRecord.link_id == self.link_id)
            .where(OrderRecord.state == OrderState.BOOKED)
            .where(OrderRecord.eboekhouden_id.is_not(None))
            .order_by(OrderRecord.booked_at.desc())
            .limit(1)
        ).first()
        try:
            if newest is not None:
                return self.patiently(lambda: self._mutation(*newest))
            listed = self.patiently(
                lambda: next(self.eb.iter_mutations(type=SALES_INVOICE_SENT, limit=1), None)
            )
            return (
                None
                if listed is None
                else self.patiently(lambda: self.eb.get_mutation(listed["id"]))
            )
        except apierrors.ApiError as exc:
            logger.warning("could not read an earlier booking for its VAT rounding: %s", exc)
            return None

    def _mutation(self, insertion: str | None, eboekhouden_id: int, number: str | None):
        """The mutation of a booking: itself, or the booking a sales invoice made."""
        if insertion != "invoice":
            return self.eb.get_mutation(eboekhouden_id)
        # inferred: a booked invoice's journal entry is the type-2 mutation with its number.
        found = next(self.eb.iter_mutations_of_invoice(number or "", SALES_INVOICE_SENT), None)
        return None if found is None else self.eb.get_mutation(found["id"])


def _difference(
    booking: Booking, got: dict[str, Decimal] | None, seen: str | None
) -> tuple[str, str] | None:
    """Why a booking's VAT read back is not the expected VAT per code, or None."""
    if got is None:
        return (
            "Booked, but e-Boekhouden's answer had no VAT per code, so pp2eb could not check it.",
            CHECK_BY_HAND,
        )
    want = booking.vat_expected
    zero = Decimal("0.00")
    wrong = sorted(
        code for code in got.keys() | want.keys() if got.get(code, zero) != want.get(code, zero)
    )
    if not wrong:
        return None
    figures = "; ".join(
        f"{code} {got.get(code, zero)} where Plug&Pay has {want.get(code, zero)}" for code in wrong
    )
    reason = (
        f"Booked, but e-Boekhouden computed other VAT than Plug&Pay: {figures}. pp2eb made the "
        f"rounding rows for VAT computed {WORDS[booking.vat_rounding]}"
    )
    if seen is not None and seen != booking.vat_rounding:
        reason += f", but the booking reads back as computed {WORDS[seen]}"
    return reason + ".", CHECK_BY_HAND
