"""Orders in the shapes of the SDK's fixtures and the tap's schema: read or refused in words.

The files in tests/fixtures/plugandpay/outside/ are written by hand from the public record, each
with its source in that folder's README; none comes from pp2eb's own sandbox.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from pp2eb import jsonutil
from pp2eb.apis.plugandpay import PlugAndPayClient
from pp2eb.mapping.booking import Booking
from pp2eb.mapping.mapper import map_order
from pp2eb.mapping.problems import MappingError
from pp2eb.mapping.readings import parse_order
from pp2eb.runs.webhook_inbox import BadPayload, parse
from pp2eb.sandbox.plugandpay.contract import violations
from tests.engine.test_properties import readable
from tests.mapping.test_mapper import REF, SETTINGS

OUTSIDE = Path(__file__).parents[1] / "fixtures" / "plugandpay" / "outside"


def load(name: str):
    return jsonutil.loads((OUTSIDE / name).read_text(encoding="utf-8"))


def outcome(raw) -> str:
    """What pp2eb makes of an order: booked, skipped or refused, with the reason."""
    try:
        result = map_order(parse_order(raw), SETTINGS, REF)
    except MappingError as exc:
        assert readable(exc.reason) and exc.fix, exc.reason
        return f"refused: {exc.reason}"
    if isinstance(result, Booking):
        assert sum(row.amount for row in result.rows) == result.total
        return "booked"
    assert readable(result.reason)
    return f"{type(result).__name__.lower()}: {result.reason}"


def _final(name: str) -> dict:
    raw = copy.deepcopy(load(name))
    raw["data"].update(invoice_status="final", invoice_date="2019-01-16")
    return raw


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (load("sdk_order_show.json"), "skip: Concept invoice"),
        # The SDK's fake numbers: 75.00 of lines, 100.00 off, 75.00 in total.
        (_final("sdk_order_show.json"), "refused: The order does not add up"),
        (load("sdk_order_only_required.json"), "refused: Order 2 has a final invoice without an"),
        (_final("sdk_order_only_required.json"), "booked"),
        (load("sdk_order_no_includes.json"), "refused: order.payment is missing"),
        (load("tap_order.json"), "booked"),
        (load("tap_order_shipping.json"), "booked"),
    ],
    ids=[
        "sdk show",
        "sdk show made final",
        "sdk only required",
        "sdk only required, dated",
        "sdk without includes",
        "tap, free shipping",
        "tap, shipping",
    ],
)
def test_each_outside_order_is_read_or_refused_in_words(raw, expected):
    assert outcome(raw).startswith(expected), outcome(raw)


def test_the_taps_free_shipping_is_no_shipping_and_the_taps_shipping_is_booked():
    assert parse_order(load("tap_order.json")).shipping is None
    booking = map_order(parse_order(load("tap_order_shipping.json")), SETTINGS, REF)
    shipping = [row for row in booking.rows if row.kind == "shipping"]
    assert [(row.vat_code, str(row.amount)) for row in shipping] == [("HOOG_VERK_21", "6.05")]


@pytest.mark.parametrize(
    "name",
    [
        "sdk_order_show.json",
        "sdk_order_only_required.json",
        "sdk_order_no_includes.json",
        "tap_order.json",
        "tap_order_shipping.json",
    ],
)
def test_each_outside_order_is_in_the_contract(name):
    assert violations("order", load(name)["data"]) == []


def test_a_page_with_meta_alone_is_read_to_its_end(requests_mock):
    base = "https://pp.test/v2"
    requests_mock.get(f"{base}/orders", text=(OUTSIDE / "sdk_orders_page.json").read_text())
    orders = list(PlugAndPayClient("key", base).iter_orders())
    assert [o["id"] for o in orders] == [2] and len(requests_mock.request_history) == 1
    assert violations("page", {**load("sdk_orders_page.json"), "links": {"next": None}}) == []


def test_the_webhook_bodies_are_read_or_refused_in_words():
    event = parse((OUTSIDE / "webhook_third_party.json").read_bytes())
    assert (event.order_id, event.trigger_type) == (12, "order_invoice_created")
    with pytest.raises(BadPayload) as info:
        parse((OUTSIDE / "webhook_help_centre.json").read_bytes())
    assert info.value.status == 422 and "trigger_type" in str(info.value)
    for name in ("webhook_third_party.json", "webhook_help_centre.json"):
        assert violations("webhook_body", load(name)) == []


def test_every_outside_order_fails_on_nothing_but_words():
    # Every file with orders, the page's too: booked, skipped or refused with a reason and a fix.
    for path in sorted(OUTSIDE.glob("*order*.json")):
        body = load(path.name)
        for raw in body["data"] if isinstance(body["data"], list) else [body]:
            outcome(raw)
