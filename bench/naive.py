"""The naive connector: how several public connectors book orders, for the side-by-side figures.

One order at a time: fetch the order by id, open a new e-Boekhouden session, fetch the reference
data (ledgers, templates, Plug&Pay products) again, look up whether the invoice number is booked
already, look up the customer by e-mail, create the relation when it is not found, write the
booking, close the session. No local state at all: what is booked is asked of e-Boekhouden.

It uses pp2eb's own clients, parser, mapper and payloads, so the bookings are the same and the
difference in the figures is the way of working alone. ``python -m bench.naive --sandbox URL
--since D --until D --runs 2`` prints one JSON line per run, like ``bench.worker``.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from datetime import date
from typing import Any

from bench.measure import HttpMeter, measured
from bench.worker import OSS_LEDGERS, sandbox_stats
from pp2eb.apis import errors as apierrors
from pp2eb.apis.eboekhouden import EBoekhoudenClient
from pp2eb.apis.plugandpay import PlugAndPayClient
from pp2eb.engine.sync import backfill_orders, fetch_reference
from pp2eb.mapping.booking import Booking, OriginalBooking, Skip
from pp2eb.mapping.customers import relation_payload
from pp2eb.mapping.mapper import map_order
from pp2eb.mapping.payloads import to_mutation_payload
from pp2eb.mapping.problems import MappingError
from pp2eb.mapping.readings import parse_order
from pp2eb.mapping.settings import USUAL_CODES, Settings
from pp2eb.sandbox import EBOEKHOUDEN_TOKEN, PLUGANDPAY_KEY


class NaiveConnector:
    """Books orders one by one, asking the APIs for everything, every time."""

    def __init__(self, root: str, settings: Settings) -> None:
        self.eb_url = f"{root}/eboekhouden/v1"
        self.pp = PlugAndPayClient(PLUGANDPAY_KEY, f"{root}/plugandpay/v2", timeout=30.0)
        self.settings = settings
        self.counts = {"booked": 0, "skipped": 0, "failed": 0, "waiting": 0, "already_booked": 0}

    def run(self, since: date, until: date) -> dict[str, int]:
        """Book every order invoiced in ``[since, until]``."""
        ids = [raw["id"] for raw in backfill_orders(self.pp, since, until)]
        for order_id in ids:
            outcome = self.book(order_id)
            self.counts[outcome] += 1
        return self.counts

    def book(self, order_id: int) -> str:
        """Book one order; return what happened to it."""
        order = parse_order(self.pp.get_order(order_id))
        with EBoekhoudenClient(EBOEKHOUDEN_TOKEN, self.eb_url, timeout=30.0) as eb:
            ref = fetch_reference(eb, self.pp)
            for related in order.related_orders if order.is_credit else ():
                original = self._original(eb, related.id)
                if original is not None:
                    ref = ref.with_original(related.id, original)
            try:
                result = map_order(order, self.settings, ref)
            except MappingError:
                return "failed"
            if not isinstance(result, Booking):
                return "skipped" if isinstance(result, Skip) else "waiting"
            if next(eb.iter_mutations(invoiceNumber=result.invoice_number, limit=1), None):
                return "already_booked"
            relation_id = result.relation_id or self._relation(eb, result)
            try:
                eb.create_mutation(to_mutation_payload(result, relation_id=relation_id))
            except apierrors.Rejected:
                return "failed"
        return "booked"

    def _original(self, eb: EBoekhoudenClient, order_id: int) -> OriginalBooking | None:
        number = self.pp.get_order(order_id).get("invoice_number")
        found = next(eb.iter_mutations(invoiceNumber=number, limit=1), None)
        if found is None:
            return None
        relation_id = eb.get_mutation(found["id"])["relationId"]  # list items lack it
        return OriginalBooking(relation_id=relation_id, invoice_number=number)

    @staticmethod
    def _relation(eb: EBoekhoudenClient, booking: Booking) -> int:
        draft = booking.relation
        if draft.email:
            found = next(eb.iter_relations(email=draft.email, limit=1), None)
            if found is not None:
                return found["id"]
        return eb.create_relation(relation_payload(draft))["id"]


def naive_settings(since: date) -> Settings:
    """The settings ``bench.worker`` stores, as the naive connector would have them."""
    return Settings.from_dict(
        {**USUAL_CODES, "start_date": since.isoformat(), "oss": "oss", "oss_ledgers": OSS_LEDGERS}
    )


def main(argv: list[str] | None = None) -> None:
    """Run the naive connector ``--runs`` times; one JSON line per run."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sandbox", required=True)
    parser.add_argument("--since", required=True, type=date.fromisoformat)
    parser.add_argument("--until", required=True, type=date.fromisoformat)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--sandbox-pid", type=int, help="to measure the sandboxes' CPU too")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    meter = HttpMeter()
    meter.install()
    for _ in range(args.runs):
        connector = NaiveConnector(args.sandbox, naive_settings(args.since))
        sandbox_stats(args.sandbox, zero=True)
        with measured(meter, args.sandbox_pid) as phase:
            counts = connector.run(args.since, args.until)
        report: dict[str, Any] = {
            **phase.as_dict(),
            "stats": sandbox_stats(args.sandbox),
            "result": {"status": "finished", **counts},
        }
        sys.stdout.write(json.dumps(report) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
