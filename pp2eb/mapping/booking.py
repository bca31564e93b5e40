"""The mapper's vocabulary: what goes in besides the order, and what comes out.

In: ``ReferenceData`` (the e-Boekhouden ledgers and templates, the ledger codes Plug&Pay keeps on
its products, and what pp2eb knows of the originals that credit invoices refer to). Out: a
``Booking``, a ``Skip`` (the order is not to be booked, with the reason), a ``Wait`` (not yet: a
credit invoice whose original pp2eb is still to book), or a raised ``MappingError``. All frozen,
all pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from pp2eb.mapping.vatcodes import PER_TOTAL, SALE_VAT_CODES

if TYPE_CHECKING:
    from pp2eb.mapping.customers import RelationDraft


@dataclass(frozen=True)
class Skip:
    """The order is deliberately not booked (test mode, concept, unpaid, nothing to book)."""

    reason: str


@dataclass(frozen=True)
class Wait:
    """The order cannot be booked yet; try again later (a credit before its original)."""

    reason: str


@dataclass(frozen=True)
class Ledger:
    """An e-Boekhouden ledger: the internal id the API wants and the code a person sees."""

    id: int
    code: str
    description: str
    category: str


@dataclass(frozen=True)
class Template:
    """An e-Boekhouden invoice template (factuursjabloon)."""

    id: int
    name: str


@dataclass(frozen=True)
class OriginalBooking:
    """How pp2eb booked the original of a credit invoice: relation, invoice number and date.

    ``relation_id`` is None when pp2eb did not record it (its relation is then found as for
    any order).
    """

    relation_id: int | None
    invoice_number: str
    invoice_date: date | None = None


# Where an original that pp2eb has not booked stands (``OriginalNotBooked.state``).
UNSEEN = "unseen"  # no record in pp2eb; ``invoice_date`` as Plug&Pay has it
PENDING = "pending"  # pp2eb has it and is still to book it (new, failed, waiting, rechecked)
BY_HAND = "by_hand"  # skipped by a person (booked by hand, outside pp2eb)
SKIPPED = "skipped"  # skipped by pp2eb for good, even after a fresh look
GONE = "gone"  # no longer in Plug&Pay


@dataclass(frozen=True)
class OriginalNotBooked:
    """An original of a credit invoice that pp2eb has not booked, and why (``state``).

    ``reason`` says in words how a PENDING or SKIPPED original stands ("failed: …").
    """

    state: str
    invoice_date: date | None = None
    reason: str | None = None


Original = OriginalBooking | OriginalNotBooked


@dataclass(frozen=True)
class ReferenceData:
    """What the mapper needs to know about both accounts, fetched by the engine once per run.

    ``product_ledgers`` maps a Plug&Pay product id to the ledger code Plug&Pay keeps on that
    product (text or a number, or None). ``originals`` maps the Plug&Pay order id of an
    original to its booking, or to why pp2eb has not booked it; the engine fills it for the
    credit invoices it is about to map. ``vat_rounding`` is how the administration rounds VAT
    (``PER_TOTAL`` or ``PER_ROW``), as stored with the e-Boekhouden connection, or None while
    pp2eb does not know it yet.
    ``product_physical`` maps a product id to the product's ``is_physical`` (true: goods), for
    the products that say.
    """

    ledgers: Mapping[str, Ledger] = field(default_factory=dict)
    templates: Mapping[str, Template] = field(default_factory=dict)
    product_ledgers: Mapping[int, str | int | None] = field(default_factory=dict)
    originals: Mapping[int, Original] = field(default_factory=dict)
    vat_codes: frozenset[str] = SALE_VAT_CODES
    vat_rounding: str | None = PER_TOTAL
    product_physical: Mapping[int, bool] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        ledgers: Iterable[Ledger],
        templates: Iterable[Template] = (),
        product_ledgers: Mapping[int, str | int | None] | None = None,
        originals: Mapping[int, Original] | None = None,
        product_physical: Mapping[int, bool] | None = None,
    ) -> ReferenceData:
        """Index lists of ledgers and templates by code and by name."""
        return cls(
            ledgers={ledger.code: ledger for ledger in ledgers},
            templates={template.name: template for template in templates},
            product_ledgers=dict(product_ledgers or {}),
            originals=dict(originals or {}),
            product_physical=dict(product_physical or {}),
        )

    def with_original(self, order_id: int, original: Original) -> ReferenceData:
        """A copy that also knows what became of original order ``order_id``."""
        return replace(self, originals={**self.originals, order_id: original})

    def with_vat_rounding(self, vat_rounding: str | None) -> ReferenceData:
        """A copy for an administration that rounds VAT this way (None: not known)."""
        return replace(self, vat_rounding=vat_rounding)


# Row kinds, so the dashboard can tell a product line from a rounding row.
LINE, SHIPPING, DISCOUNT, OSS_VAT, ROUNDING = "line", "shipping", "discount", "oss_vat", "rounding"


@dataclass(frozen=True)
class BookingRow:
    """One mutation row or invoice item; ``amount`` includes VAT (pp2eb books ``inExVat`` IN).

    ``rate`` is the Plug&Pay rate (``DE:19``) the row belongs to, None for rounding rows;
    ``oss`` marks the rows of an OSS rate, whose country and rate the OSS return needs.
    """

    ledger: Ledger
    vat_code: str
    amount: Decimal
    description: str | None
    kind: str
    rate: str | None = None
    oss: bool = False


@dataclass(frozen=True)
class Booking:
    """One Plug&Pay order as one e-Boekhouden booking, with the figures to check it by.

    ``total`` is Plug&Pay's ``amount_with_tax``; ``vat_expected`` the VAT per VAT code that
    e-Boekhouden will compute from ``rows``; ``vat_plugandpay`` Plug&Pay's VAT per rate
    (``"NL:21"``); ``oss_vat`` the foreign VAT per country booked on OSS ledgers. For a credit
    invoice ``credit_of`` is the original's invoice number, and ``relation_id`` the original's
    relation (use it, do not look one up), or None when the credit invoice is booked on its own
    because pp2eb does not book its original (``alone`` says why). ``notes`` explain in words
    what the order page should show: rounding rows, and each VAT decision that was not plain (an
    assumed kind of product, a territory rule, an inferred reverse charge, a VAT id of another
    country). ``vat_rounding`` is the rounding the rounding rows were made for. ``vat_id`` is the
    buyer's VAT id when the order is booked under reverse charge: the relation must carry it
    before the write.
    """

    order_id: int
    insertion: str
    date: date
    invoice_number: str
    payment_reference: str
    description: str
    debtor_ledger: Ledger
    template: Template | None
    term_of_payment: int
    rows: tuple[BookingRow, ...]
    relation: RelationDraft
    relation_id: int | None
    credit_of: str | None
    total: Decimal
    vat_expected: dict[str, Decimal]
    vat_plugandpay: dict[str, Decimal]
    oss_vat: dict[str, Decimal]
    notes: tuple[str, ...] = ()
    vat_rounding: str = PER_TOTAL
    vat_id: str | None = None
    alone: str | None = None

    @property
    def rows_total(self) -> Decimal:
        """The sum of the rows, incl. VAT; equals ``total`` for every booking the mapper makes."""
        return sum((row.amount for row in self.rows), Decimal("0.00"))

    @property
    def has_rounding_rows(self) -> bool:
        """True when rounding rows correct e-Boekhouden's VAT (then it is read back after)."""
        return any(row.kind == ROUNDING for row in self.rows)
