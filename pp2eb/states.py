"""The states pp2eb stores and the counters of a run: one enum each, with the words people read;
and the dashboard's filters, which group the order states.

A module of its own, next to ``models`` rather than inside it: the same words are read by the
engine, the reports, the alerts, the CLI and the templates, and most of those have no business
with the database. This module imports neither SQLAlchemy nor the rest of pp2eb, so anything can
import it (and ``web/template_helpers.register`` hands it to Jinja, where templates compare with
``OrderState.BOOKED``).

Each value is the string the database holds today, and a ``StrEnum`` member *is* that string: it
is stored, compared, formatted and put in a URL as the string, so nothing is migrated and a
value read back from a column (a plain ``str``) equals its member. Change a value and stored rows
no longer match it: tests/test_states.py pins every value.

The labels go through flask_babel's ``gettext`` when read, so they come out in the reader's
language (English outside a request).
"""

from __future__ import annotations

from enum import StrEnum

from flask_babel import gettext as _


class OrderState(StrEnum):
    """Where an order stands (``OrderRecord.state``)."""

    NEW = "new"
    SKIPPED = "skipped"
    BOOKING = "booking"  # the intent is committed; the write may have reached e-Boekhouden
    BOOKED = "booked"
    FAILED = "failed"
    WAITING = "waiting"

    @property
    def label(self) -> str:
        """The state in words."""
        return {
            OrderState.NEW: _("new"),
            OrderState.SKIPPED: _("skipped"),
            OrderState.BOOKING: _("being booked"),
            OrderState.BOOKED: _("booked"),
            OrderState.FAILED: _("failed"),
            OrderState.WAITING: _("waiting"),
        }[self]


class PaymentState(StrEnum):
    """Where the payment (mutation type 3) of a booked order stands (``payment_state``)."""

    NONE = "none"  # not booked, and nothing to book now (payments off, not paid yet)
    BOOKING = "booking"  # the intent is committed; the write may have reached e-Boekhouden
    BOOKED = "booked"
    FAILED = "failed"
    SKIPPED = "skipped"  # left alone on purpose (a credit invoice, no clearing ledger, ...)

    @property
    def label(self) -> str:
        """The payment's state in words."""
        return {
            PaymentState.NONE: _("not booked"),
            PaymentState.BOOKING: _("being booked"),
            PaymentState.BOOKED: _("booked"),
            PaymentState.FAILED: _("failed"),
            PaymentState.SKIPPED: _("not booked"),
        }[self]


class AttemptOutcome(StrEnum):
    """How one attempt ended (``Attempt.outcome``): the order state it left (never ``new``),
    what became of the payment, or a booked order whose VAT read back differs."""

    BOOKED = OrderState.BOOKED.value
    SKIPPED = OrderState.SKIPPED.value
    FAILED = OrderState.FAILED.value
    WAITING = OrderState.WAITING.value
    BOOKING = OrderState.BOOKING.value  # written, but not confirmed
    PAYMENT_BOOKED = "payment_booked"
    PAYMENT_FAILED = "payment_failed"
    PAYMENT_SKIPPED = "payment_skipped"
    PAYMENT_UNCONFIRMED = "payment_unconfirmed"
    VAT_CHECK = "vat_check"  # booked; the order's error code is ``engine.vat_rounding.VAT_CHECK``

    @property
    def label(self) -> str:
        """The outcome in words: an order state's own words, else the payment's or the VAT's."""
        state = _member(OrderState, self.value)
        if state is not None:
            return state.label
        return {
            AttemptOutcome.PAYMENT_BOOKED: _("payment booked"),
            AttemptOutcome.PAYMENT_FAILED: _("payment failed"),
            AttemptOutcome.PAYMENT_SKIPPED: _("payment not booked"),
            AttemptOutcome.PAYMENT_UNCONFIRMED: _("payment unconfirmed"),
            AttemptOutcome.VAT_CHECK: _("VAT differs"),
        }[self]


class RunStatus(StrEnum):
    """Where a run stands (``SyncRun.status``), and what ``RunResult.status`` says."""

    RUNNING = "running"
    FINISHED = "finished"
    ABORTED = "aborted"
    # Only in a RunResult, never stored: no run started, another one holds the lease.
    BUSY = "busy"

    @property
    def label(self) -> str:
        """The status in words (a run that did not start is not shown: its own value)."""
        return {
            RunStatus.RUNNING: _("running"),
            RunStatus.FINISHED: _("done"),
            RunStatus.ABORTED: _("stopped"),
        }.get(self, self.value)


class RunCount(StrEnum):
    """The counters of a run, in the order they are reported: ``SyncRun``'s columns and
    ``RunResult``'s fields of these names (declared there, checked against this)."""

    BOOKED = "booked"
    SKIPPED = "skipped"
    FAILED = "failed"
    WAITING = "waiting"
    ALREADY_BOOKED = "already_booked"

    @property
    def label(self) -> str:
        """The counter in words, as a page shows it before or above its number."""
        return {
            RunCount.BOOKED: _("booked"),
            RunCount.SKIPPED: _("skipped"),
            RunCount.FAILED: _("failed"),
            RunCount.WAITING: _("waiting"),
            RunCount.ALREADY_BOOKED: _("already booked"),
        }[self]

    @property
    def words(self) -> str:
        """The counter in plain English, for logs and the CLI (which are not translated)."""
        return self.value.replace("_", " ")


class Role(StrEnum):
    """What a user may do (``User.role``): an admin manages users and links and sees every
    link; a member sees only the links granted to them (``pp2eb.setup.access``)."""

    ADMIN = "admin"
    MEMBER = "member"

    @property
    def label(self) -> str:
        """The role in words."""
        return {Role.ADMIN: _("admin"), Role.MEMBER: _("member")}[self]


RUN_COUNTS: tuple[RunCount, ...] = tuple(RunCount)

# The dashboard's filters of the order list and its counts, each named by the state it shows
# (so its label is that state's), in the order the pages list them. "waiting" also shows the
# orders not finished yet: unconfirmed writes and new ones.
ORDER_FILTERS: dict[OrderState, tuple[OrderState, ...]] = {
    OrderState.FAILED: (OrderState.FAILED,),
    OrderState.WAITING: (OrderState.WAITING, OrderState.BOOKING, OrderState.NEW),
    OrderState.BOOKED: (OrderState.BOOKED,),
    OrderState.SKIPPED: (OrderState.SKIPPED,),
}


def _member(enum: type[StrEnum], value: str) -> StrEnum | None:
    """The member of ``enum`` whose value is ``value``, else None."""
    try:
        return enum(value)
    except ValueError:
        return None


def state_label(value: str) -> str:
    """An order's state or an attempt's outcome in words (the ``state_label`` filter); an
    unknown value as it is."""
    found = _member(OrderState, value) or _member(AttemptOutcome, value)
    return found.label if found is not None else value


def payment_label(value: str) -> str:
    """A payment's state in words (the ``payment_label`` filter); an unknown value as it is."""
    found = _member(PaymentState, value)
    return found.label if found is not None else value
