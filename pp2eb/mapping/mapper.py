"""One Plug&Pay order → one e-Boekhouden booking, exact to the cent. Pure: no clock, DB or HTTP.

``map_order`` returns a ``Booking``, a ``Skip`` (test mode, concept, unpaid under
``orders=paid``, nothing to book) or a ``Wait`` (a credit invoice whose original pp2eb is still
to book, see ``pp2eb.mapping.credits``), and raises ``MappingError`` for an order it cannot
book as it is.

How the booking is built:

* Every amount is sent incl. VAT (``inExVat`` IN), so the rows add up to Plug&Pay's
  ``amount_with_tax`` by construction: each line at its gross after its own discounts, on its
  product's ledger (``product_ledgers`` setting, else the ledger Plug&Pay keeps on the product
  when e-Boekhouden has it as a VW ledger, else the revenue ledger); shipping on the shipping
  ledger; the order-level discounts as negative rows per VAT code where the revenue went (the
  ledgers of the lines at that rate, in proportion), or on ``discount_ledger`` when one is set
  (see ``pp2eb.mapping.rows.discount_rows``). A discount's VAT per rate is read from Plug&Pay's
  ``taxes``, and its share per rate follows from that VAT (see ``pp2eb.mapping.totals``), so it
  matches however Plug&Pay split it.
* The VAT code of each line, the shipping and each discount share: ``pp2eb.mapping.vat`` (goods
  or services, who buys and where, Dutch VAT abroad), explained for a bookkeeper in
  ``docs/bookkeeping.md``. What it decided that the order does not show goes into ``notes``.
* An order in another currency than the euro is refused (``_check_currency``).
* OSS (``oss=oss``, EU consumer abroad): the revenue rows carry the amounts excl. VAT with
  ``AFST_VERK`` (0%), and Plug&Pay's foreign VAT per rate is its own row with ``GEEN`` on the
  country's OSS ledger (BAL). inferred: a bookkeeper should confirm this shape
  (docs/reference/domain-rules.md §3.3); e-Boekhouden has no per-country OSS codes.
* Rounding. e-Boekhouden computes the VAT of each code over the total of that code's rows, or
  per row (a setting of the administration, ``ref.vat_rounding``); Plug&Pay rounds per line,
  so the two can differ by a cent or so. Then the booking gets two visible rows on the
  rounding ledger (setting ``rounding_ledger``, "Afrondingsverschillen"): +δ at that VAT code
  and −δ at ``GEEN``, with δ the smallest gross that makes e-Boekhouden, rounding its way,
  compute exactly Plug&Pay's VAT (``pp2eb.mapping.rounding``). The total stays
  ``amount_with_tax``, the VAT per code equals Plug&Pay's, and the difference is on a ledger
  where a bookkeeper sees it. Chosen over ``AFW_VERK`` with an explicit ``vatAmount`` because
  that code moves the sale to another box of the VAT return; ``notes`` on the booking explain
  each pair in words. While the rounding is unknown, an order that would need such rows waits.
* Reverse charge: the booking carries the buyer's VAT id (``vat_id``) and a relation of type
  B, so the engine can make sure the relation has both before it writes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import date
from decimal import Decimal

from pp2eb.mapping.booking import (
    Booking,
    BookingRow,
    Ledger,
    OriginalBooking,
    OriginalNotBooked,
    ReferenceData,
    Skip,
    Template,
    Wait,
)
from pp2eb.mapping.credits import Credit, credit_of
from pp2eb.mapping.customers import relation_draft
from pp2eb.mapping.order import Order
from pp2eb.mapping.payloads import MAX_MUTATION_DESCRIPTION, to_invoice_payload, to_mutation_payload
from pp2eb.mapping.problems import QUOTED, MappingError, cut
from pp2eb.mapping.rounding import balance_vat, needs_rounding_rows, verify
from pp2eb.mapping.rows import Ledgers, booking_rows, group_rows
from pp2eb.mapping.settings import Settings
from pp2eb.mapping.totals import ZERO, RateTotals, check_totals, rate_totals
from pp2eb.mapping.vat import Treatment, treatments
from pp2eb.mapping.vatcodes import PER_TOTAL

__all__ = [
    "Booking",
    "BookingRow",
    "Ledger",
    "OriginalBooking",
    "OriginalNotBooked",
    "ReferenceData",
    "Skip",
    "Template",
    "Wait",
    "before_start_date",
    "invoice_number",
    "map_order",
    "skip_reason",
    "to_invoice_payload",
    "to_mutation_payload",
]

# Invoice numbers, for mutations (MUT_018) and invoices (FACT_007) alike: CreateMutation and
# CreateInvoice invoiceNumber, maxLength 50 (pp2eb/sandbox/eboekhouden/spec/, as in payloads.py).
MAX_NUMBER = 50
PAID_STATUSES = ("paid", "credited", "credit_invoice")
UNKNOWN_ROUNDING = (
    "Order {order} needs a VAT rounding correction, and its rows depend on whether "
    "e-Boekhouden computes VAT per row or over the total per VAT code, which pp2eb does not "
    "know yet. It learns it from the first booking it reads back (then this order follows), "
    "or set it on the e-Boekhouden connection page."
)


def skip_reason(order: Order, settings: Settings) -> str | None:
    """Why the order is not to be booked at all, or None when it is."""
    if order.mode != "live":
        return "Test-mode order; only live orders are booked."
    if order.invoice_status != "final":
        return "Concept invoice; only final invoices are booked."
    # inferred: a credited order was final and, under "paid", paid (or cancelled before
    # payment); its credit invoice follows it, so both are booked and together net to nothing.
    if settings.orders == "paid" and order.payment_status not in PAID_STATUSES:
        return f"Not paid (payment status {order.payment_status}); only paid orders are booked."
    return None


def before_start_date(order: Order, settings: Settings) -> bool:
    """True when the invoice date lies before ``start_date`` (the scheduled sync skips it)."""
    return order.invoice_date is not None and order.invoice_date < settings.start_date


def map_order(order: Order, settings: Settings, ref: ReferenceData) -> Booking | Skip | Wait:
    """Map one order to its booking; Skip or Wait with a reason; MappingError if it cannot be."""
    reason = skip_reason(order, settings)
    if reason:
        return Skip(reason)
    _check_currency(order)
    check_totals(order)
    booking_date = _booking_date(order)
    number = invoice_number(order, settings)
    rates = rate_totals(order)
    credit = None
    if order.is_credit:
        credit = credit_of(order, settings, ref)
        if isinstance(credit, Wait):
            return credit
    # A credit invoice follows the VAT rules of its original's date (oss_from). inferred: when
    # that date is not known, the credit invoice's own date decides.
    vat_date = credit.invoice_date if credit and credit.invoice_date else booking_date
    how = treatments(order, settings, (t.rate for t in rates.values()), ref, vat_date)
    ledgers = Ledgers(settings, ref)
    debtor = ledgers.get(settings.debtor_ledger, "DEB", "debtor", "debtor_ledger")
    rows = booking_rows(order, rates, how, ledgers)
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.vat_code] = counts.get(row.vat_code, 0) + 1
    if settings.group_lines:
        rows = group_rows(rows)
    rows = [row for row in rows if row.amount]
    if not rows:
        return Skip(f"Nothing to book: order {order.id} totals {order.amount_with_tax}.")
    targets = _sum_per(rates, how, lambda t: t.vat_code if not t.oss_country else None)
    vat_rounding = ref.vat_rounding
    if vat_rounding is None:
        if needs_rounding_rows(rows, targets):
            return Wait(UNKNOWN_ROUNDING.format(order=order.id))
        vat_rounding = PER_TOTAL  # no rounding rows either way: the booking is the same
    rounding, notes = balance_vat(rows, targets, counts, ledgers, vat_rounding)
    rows += rounding
    vat_expected = verify(order, rows, targets, vat_rounding)
    template = _template(settings, ref)
    relation = relation_draft(order)
    vat_id = None
    if how.reverse_charge:
        # The VAT id goes with the booking: the ICP return and the invoice need it on the
        # relation, which the engine checks (pp2eb.engine.relations.Relations.ensure_vat_id).
        vat_id = relation.vat_number
        relation = replace(relation, type="B")
    return Booking(
        order_id=order.id,
        insertion=settings.insertion,
        date=booking_date,
        invoice_number=number,
        payment_reference=f"pp2eb-{order.id}",
        description=_description(order, settings, number, relation.name, credit),
        debtor_ledger=debtor,
        template=template,
        term_of_payment=settings.term_of_payment,
        rows=tuple(rows),
        relation=relation,
        relation_id=credit.relation_id if credit else None,
        credit_of=credit.number if credit else None,
        total=order.amount_with_tax,
        vat_expected=vat_expected,
        vat_plugandpay={key: totals.vat for key, totals in rates.items()},
        oss_vat=_sum_per(rates, how, lambda t: t.oss_country),
        notes=how.notes + tuple(notes),
        vat_rounding=vat_rounding,
        vat_id=vat_id,
        alone=credit.alone if credit else None,
    )


def _sum_per(
    rates: dict[str, RateTotals],
    how: Mapping[str, Treatment],
    key: Callable[[Treatment], str | None],
) -> dict[str, Decimal]:
    """Plug&Pay's VAT summed per ``key`` of each rate's treatment (None: left out)."""
    sums: dict[str, Decimal] = {}
    for rate, totals in rates.items():
        group = key(how[rate])
        if group is not None:
            sums[group] = sums.get(group, ZERO) + totals.vat
    return sums


def _check_currency(order: Order) -> None:
    """Refuse an order in another currency than the euro: its amounts are no euros to book."""
    # inferred: Plug&Pay sends no currency today, so absent means euros (its amounts are).
    currency = (order.currency or "EUR").strip().upper()
    if currency != "EUR":
        raise MappingError(
            f"Order {order.id} is in {cut(currency, QUOTED)}, not in euros; pp2eb books euros "
            "only and does not convert.",
            fix="Book this order by hand in e-Boekhouden (in euros, at the exchange rate of "
            "the invoice date) and skip it here.",
        )


def _template(settings: Settings, ref: ReferenceData) -> Template | None:
    if settings.insertion != "invoice":
        return None
    template = ref.templates.get(settings.invoice_template)
    if template is None:
        raise MappingError(
            f"There is no invoice template named {settings.invoice_template!r} in e-Boekhouden.",
            fix="Create it in e-Boekhouden or choose another template on the insertion page.",
            setting="invoice_template",
        )
    return template


def _booking_date(order: Order) -> date:
    if order.invoice_date is None:
        raise MappingError(
            f"Order {order.id} has a final invoice without an invoice date.",
            fix="Check the invoice in Plug&Pay.",
        )
    return order.invoice_date


def invoice_number(order: Order, settings: Settings) -> str:
    """The number e-Boekhouden gets: Plug&Pay's invoice number or order number, never altered."""
    if settings.reference == "order_number":
        # inferred: the order number is the order id; no other order-number field is documented.
        number = str(order.id)
    elif not order.invoice_number:
        raise MappingError(
            f"Order {order.id} has no invoice number.",
            fix="Switch the reference setting to order numbers.",
            setting="reference",
        )
    else:
        number = order.invoice_number
    if len(number) > MAX_NUMBER:
        raise MappingError(
            f"Invoice number {number!r} is longer than the {MAX_NUMBER} characters "
            "e-Boekhouden takes.",
            fix="Switch the reference setting to order numbers.",
            setting="reference",
        )
    if settings.insertion == "invoice" and number[-1] not in "0123456789":
        raise MappingError(
            f"Invoice number {number!r} does not end with a digit, which an e-Boekhouden "
            "sales invoice requires (FACT_009).",
            fix="Switch the reference setting to order numbers, or use the booking (mutation) "
            "insertion type.",
            setting="reference",
        )
    return number


def _description(
    order: Order,
    settings: Settings,
    number: str,
    name: str,
    credit: Credit | None,
) -> str:
    if credit:
        text = f"Plug&Pay creditfactuur {number} bij {credit.number}"
    elif settings.reference == "invoice_number":
        text = f"Plug&Pay factuur {number}"
    else:
        text = f"Plug&Pay bestelling {number}"
    # The name helps to find the booking in e-Boekhouden's lists, if enough of it fits.
    if len(text) + len(", ") + 8 <= MAX_MUTATION_DESCRIPTION:
        return cut(f"{text}, {name}", MAX_MUTATION_DESCRIPTION)
    return cut(text, MAX_MUTATION_DESCRIPTION)
