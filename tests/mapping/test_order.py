"""Reading a Plug&Pay order: the shape of docs/plugandpay-order.md in, MappingError for the rest.

``build`` and ``item`` make orders the way Plug&Pay does (VAT-inclusive prices, VAT rounded
half-up per line, order discounts split over the rates); the mapping and customer tests use them.
"""

from __future__ import annotations

import copy
import json
from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pp2eb import jsonutil
from pp2eb.mapping.order import rate_key
from pp2eb.mapping.problems import MappingError
from pp2eb.mapping.readings import parse_order

CENT = Decimal("0.01")


def _cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _text(value: Decimal) -> str:
    value = _cents(value)
    return f"{value if value else Decimal('0.00'):.2f}"


def _rate(key: str) -> dict:
    country, percentage = key.split(":")
    return {"id": len(key), "country": country, "percentage": f"{Decimal(percentage):.1f}"}


def tax(vat: Decimal, key: str) -> dict:
    """A tax object as the SDK fixture shows it: the VAT, and that plus VAT at the rate on top."""
    factor = Decimal(key.split(":")[1]) / 100
    return {"amount": _text(vat), "amount_with_tax": _text(vat * (1 + factor)), "rate": _rate(key)}


def _split(gross: Decimal, key: str) -> tuple[Decimal, Decimal]:
    """(net, VAT) of a gross amount at ``key``'s rate, the VAT rounded half-up."""
    factor = Decimal(key.split(":")[1]) / 100
    net = _cents(gross / (1 + factor))
    return net, gross - net


def item(label, gross, rate="NL:21", *, qty=1, product=1, discount="0", code=None) -> dict:
    """A line: its total incl. VAT (all units) and an item discount incl. VAT."""
    return {
        "label": label,
        "gross": Decimal(gross),
        "rate": rate,
        "qty": qty,
        "product": product,
        "discount": Decimal(discount),
        "code": code,
    }


def build(
    items,
    *,
    shipping=None,
    discounts=(),
    split="gross",
    country="NL",
    company=None,
    firstname="Jan",
    lastname="Jansen",
    tax_exempt="none",
    vat_id=None,
    number="2026-00042",
    order_id=42,
    invoice_date="2026-02-03",
    mode="live",
    invoice_status="final",
    payment_status="paid",
    related=(),
    unit_rounding=False,
    amounts="line",
    tax_scope="after",
    tax_meaning="vat",
) -> dict:
    """A raw order as ``GET /v2/orders/{id}`` returns it, consistent with the four rules.

    ``discounts`` are (amount incl. VAT, code) pairs split over the rates in proportion to the
    lines' net amounts; ``split="net"`` reads the amount as excl. VAT instead. A credit invoice
    (``payment_status="credit_invoice"``) gets every amount negated.

    The open readings of docs/plugandpay-order.md, written out here apart from the sandbox's:
    ``amounts`` "line" (line totals before the item's discounts), "net" (after them) or "unit"
    (unit prices); ``tax_scope`` "after" or "before" the item's discounts; ``tax_meaning``
    "vat" (a tax object's amount is the VAT) or "base" (amount excl. VAT, amount_with_tax incl.
    VAT). ``unit_rounding`` rounds the VAT per unit, as a shop that keeps unit prices does.
    """
    out_items, taxes, weights, bases = [], {}, {}, {}
    net_total = gross_total = Decimal(0)
    for i, spec in enumerate(items):
        qty = spec["qty"]
        gross_after = spec["gross"] - spec["discount"]
        net_after, vat = _split(gross_after, spec["rate"])
        net, _ = _split(spec["gross"], spec["rate"])
        if unit_rounding:
            unit_gross = spec["gross"] / qty
            assert unit_gross == _cents(unit_gross), "a unit price in whole cents"
            net = _split(unit_gross, spec["rate"])[0] * qty
            net_after = net - _split(spec["discount"], spec["rate"])[0]
            vat = gross_after - net_after
        line_discounts = []
        if spec["discount"]:
            line_discounts.append(
                {
                    "amount": _text(net - net_after),
                    "amount_with_tax": _text(spec["discount"]),
                    "code": spec["code"],
                    "type": "sale",
                }
            )
        shown = {
            "line": (net, spec["gross"]),
            "net": (net_after, gross_after),
            "unit": (net / qty, spec["gross"] / qty),
        }[amounts]
        taxed = (net_after, gross_after) if tax_scope == "after" else (net, spec["gross"])
        if tax_meaning == "base":
            tax_out = {"amount": _text(taxed[0]), "amount_with_tax": _text(taxed[1])}
            tax_out["rate"] = _rate(spec["rate"])
        else:
            tax_out = tax(taxed[1] - taxed[0], spec["rate"])
        out_items.append(
            {
                "id": i + 1,
                "product_id": spec["product"],
                "label": spec["label"],
                "quantity": qty,
                "type": "standard",
                "amount": _text(shown[0]),
                "amount_with_tax": _text(shown[1]),
                "discounts": line_discounts,
                "tax": tax_out,
            }
        )
        taxes[spec["rate"]] = taxes.get(spec["rate"], Decimal(0)) + vat
        weights[spec["rate"]] = weights.get(spec["rate"], Decimal(0)) + net_after
        bases[spec["rate"]] = bases.get(spec["rate"], Decimal(0)) + net_after
        net_total += net_after
        gross_total += gross_after
    shipping_out = None
    if shipping:
        gross, key = Decimal(shipping[0]), shipping[1]
        net, vat = _split(gross, key)
        # The shape of the tap's schema (the reference, section 3): a list of taxes.
        shipped = tax(vat, key)
        if tax_meaning == "base":
            shipped = {"amount": _text(net), "amount_with_tax": _text(gross), "rate": _rate(key)}
        shipping_out = {"amount": _text(net), "amount_with_tax": _text(gross), "taxes": [shipped]}
        taxes[key] = taxes.get(key, Decimal(0)) + vat
        bases[key] = bases.get(key, Decimal(0)) + net
        net_total += net
        gross_total += gross
    total_discounts = []
    for value, code in discounts:
        value = Decimal(value)
        keys = [key for key, weight in weights.items() if weight]
        weight_sum = sum(weights[key] for key in keys)
        left, discount_net, discount_gross = value, Decimal(0), Decimal(0)
        for position, key in enumerate(keys):
            share = left if position == len(keys) - 1 else _cents(value * weights[key] / weight_sum)
            left -= share
            if split == "gross":
                net, vat = _split(share, key)
            else:
                net, vat = share, _cents(share * Decimal(key.split(":")[1]) / 100)
            taxes[key] -= vat
            bases[key] -= net
            discount_net += net
            discount_gross += net + vat
        total_discounts.append(
            {
                "amount": _text(discount_net),
                "amount_with_tax": _text(discount_gross),
                "code": code,
                "type": "promotion",
            }
        )
        net_total -= discount_net
        gross_total -= discount_gross
    order = {
        "id": order_id,
        "amount": _text(net_total),
        "amount_with_tax": _text(gross_total),
        "created_at": "2026-02-03T10:00:00.000000Z",
        "updated_at": "2026-02-03T10:00:00.000000Z",
        "deleted_at": None,
        "invoice_number": number,
        "invoice_status": invoice_status,
        "invoice_date": invoice_date,
        "is_first": True,
        "is_hidden": False,
        "mode": mode,
        "reference": "0b13e52d-b058-32fb-8507-10dec634a07c",
        "source": "checkout",
        "billing": {
            "address": {
                "street": "Dorpsstraat",
                "housenumber": "1",
                "zipcode": "1234 AB",
                "city": "Utrecht",
                "country": country,
            },
            "contact": {
                "company": company,
                "email": "klant@example.nl",
                "invoice_email": None,
                "firstname": firstname,
                "lastname": lastname,
                "telephone": None,
                "website": None,
                "vat_id_number": vat_id,
                "tax_exempt": tax_exempt,
            },
        },
        "items": out_items,
        "taxes": [
            tax(v, k)
            if tax_meaning == "vat"
            else {
                "amount": _text(bases[k]),
                "amount_with_tax": _text(bases[k] + v),
                "rate": _rate(k),
            }
            for k, v in taxes.items()
        ],
        "total_discounts": total_discounts,
        "shipping": shipping_out,
        "payment": {
            "status": payment_status,
            "method": "ideal",
            "provider": "mollie",
            "paid_at": "2026-02-03T10:01:00.000000Z",
            "transaction_id": "tr_1",
            "type": "manual",
        },
        "related_orders": list(related),
    }
    if payment_status == "credit_invoice":
        _negate(order)
    return order


def _negate(node) -> None:
    if isinstance(node, list):
        for child in node:
            _negate(child)
    elif isinstance(node, dict):
        for key, child in node.items():
            if key in ("amount", "amount_with_tax") and isinstance(child, str):
                node[key] = _text(-Decimal(child))
            else:
                _negate(child)


def changed(raw: dict, path: str, value) -> dict:
    """A deep copy of ``raw`` with the field at dotted ``path`` (``items.0.amount``) set."""
    raw = copy.deepcopy(raw)
    *parents, last = path.split(".")
    node = raw
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if value is _DELETE:
        del node[last]
    else:
        node[int(last) if isinstance(node, list) else last] = value
    return raw


_DELETE = object()


def test_reads_a_full_order():
    raw = build(
        [item("Cursus", "121.00", discount="12.10", code="ZOMER"), item("Boek", "21.80", "NL:9")],
        shipping=("6.05", "NL:21"),
        discounts=[("10.00", "WELKOM")],
    )
    order = parse_order(raw)
    assert order.id == 42
    assert order.amount_with_tax == Decimal(raw["amount_with_tax"])
    assert order.invoice_date.isoformat() == "2026-02-03"
    assert order.lines[0].gross == Decimal("108.90")
    assert order.lines[0].net == Decimal("90.00")
    assert order.lines[0].discounts[0].code == "ZOMER"
    assert order.lines[1].rate.key == "NL:9"
    assert order.shipping.tax_amount == Decimal("1.05")
    assert order.discounts[0].amount_with_tax == Decimal("10.00")
    assert order.contact.tax_exempt == "none"
    assert order.address.country == "NL"
    assert not order.is_credit


def test_shipping_in_the_documented_shape_is_read():
    # The tap's schema: {"amount", "amount_with_tax", "taxes": []}, a list, not one "tax".
    raw = build([item("Boek", "21.80", "NL:9")], shipping=("6.05", "NL:21"))
    assert "tax" not in raw["shipping"]
    order = parse_order(raw)
    assert order.shipping.tax_amount == Decimal("1.05")
    assert order.shipping.rate.key == "NL:21"


def test_free_shipping_with_no_taxes_is_no_shipping():
    raw = build([item("Boek", "21.80", "NL:9")])
    raw["shipping"] = {"amount": "0.00", "amount_with_tax": "0.00", "taxes": []}
    assert parse_order(raw).shipping is None


def test_shipping_with_one_tax_object_is_still_read():
    raw = build([item("Boek", "21.80", "NL:9")], shipping=("6.05", "NL:21"))
    raw["shipping"]["tax"] = raw["shipping"].pop("taxes")[0]
    assert parse_order(raw).shipping.tax_amount == Decimal("1.05")


def test_reads_the_data_envelope_and_decimal_json():
    raw = build([item("Cursus", "121.00")])
    text = json.dumps({"data": raw})
    assert parse_order(jsonutil.loads(text)) == parse_order(raw)


def test_numbers_as_decimal_are_read_like_strings():
    raw = changed(build([item("Cursus", "121.00")]), "amount_with_tax", Decimal("121.00"))
    assert parse_order(raw).amount_with_tax == Decimal("121.00")


def test_optional_parts_may_be_absent():
    raw = build([item("Cursus", "121.00")])
    for key in ("total_discounts", "shipping", "related_orders"):
        del raw[key]
    raw["billing"]["address"] = None
    raw["billing"]["contact"]["tax_exempt"] = None
    order = parse_order(raw)
    assert order.discounts == () and order.shipping is None and order.related_orders == ()
    assert order.address.country is None
    assert order.contact.tax_exempt == "unknown"


def test_credit_invoice_reads_negative_amounts():
    related = [{"id": 41, "invoice_number": "2026-00041", "payment_status": "credited"}]
    raw = build([item("Cursus", "121.00")], payment_status="credit_invoice", related=related)
    order = parse_order(raw)
    assert order.is_credit
    assert order.amount_with_tax == Decimal("-121.00")
    assert order.related_orders[0].invoice_number == "2026-00041"


@pytest.mark.parametrize(
    ("key", "percentage", "expected"),
    [
        ("NL", "21.0", "NL:21"),
        ("NL", "9.00", "NL:9"),
        ("FR", "5.5", "FR:5.5"),
        ("FR", "20", "FR:20"),
    ]
    + [("US", "0.0", "US:0")],
)
def test_rate_key(key, percentage, expected):
    assert rate_key(key, Decimal(percentage)) == expected


BASE = build([item("Cursus", "121.00")], shipping=("6.05", "NL:21"))


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("id", _DELETE, "order.id is missing"),
        ("id", "4x2", "order.id is text, expected a whole number"),
        ("id", "042", "order.id is text, expected a whole number"),
        ("amount", None, "order.amount is null, expected an amount"),
        ("amount", "12,10", "order.amount is '12,10', expected an amount"),
        ("amount", "1_000.00", "expected an amount"),
        ("amount", "NaN", "expected an amount"),
        ("amount", 100.0, "read as a float"),
        ("amount", True, "order.amount is true/false"),
        ("amount", "100.001", "more than 2 decimals"),
        ("amount", Decimal("1E+20"), "out of range"),
        ("amount", Decimal("Infinity"), "out of range"),
        ("billing", [], "order.billing is a list, expected an object"),
        ("billing.contact", [], "order.billing.contact is a list, expected an object"),
        ("billing.address.country", "XX", "'XX', not a known country code"),
        ("items", "Cursus", "order.items is text, expected a list"),
        ("items.0", "Cursus", "order.items[0] is text, expected an object"),
        ("items.0.tax", None, "order.items[0].tax is null"),
        ("items.0.tax.rate.country", "ZZ", "not a known country code"),
        ("items.0.tax.rate.percentage", "121.0", "not a VAT percentage"),
        ("items.0.quantity", -1, "negative quantity belongs on a credit invoice"),
        ("items.0.quantity", 1.5, "expected a whole number"),
        ("items.0.amount", "-100.00", "negative amount (items[0].amount = -100.00)"),
        ("shipping.taxes", None, "order.shipping.taxes is null, expected a list"),
        ("shipping.taxes.0.rate", None, "order.shipping.taxes[0].rate is null"),
        ("payment", None, "order.payment is null"),
        ("payment.status", "refunded", "order.payment.status is 'refunded', expected one of"),
        ("mode", "demo", "order.mode is 'demo'"),
        ("invoice_status", None, "order.invoice_status is null"),
        ("invoice_date", "03-02-2026", "expected a date YYYY-MM-DD"),
        ("invoice_date", "2026-02-30", "expected a date YYYY-MM-DD"),
        ("billing.contact.tax_exempt", "yes", "expected one of none, reverse, unknown"),
        ("related_orders", [{"id": None}], "order.related_orders[0].id is null"),
    ],
)
def test_unusable_orders_name_the_field(path, value, message):
    with pytest.raises(MappingError) as info:
        parse_order(changed(BASE, path, value))
    assert message in info.value.reason


def test_positive_amount_on_a_credit_invoice_is_refused():
    raw = build([item("Cursus", "121.00")], payment_status="credit_invoice")
    raw["items"][0]["amount"] = "100.00"
    with pytest.raises(MappingError, match="Credit invoice 2026-00042 has a positive amount"):
        parse_order(raw)


@pytest.mark.parametrize("raw", [None, [], "order", 42, {"data": []}, {}])
def test_anything_that_is_not_an_order(raw):
    with pytest.raises(MappingError):
        parse_order(raw)


def test_negative_zero_becomes_zero():
    raw = changed(build([item("Gratis", "0.00", "NL:0")]), "items.0.amount", "-0.00")
    assert str(parse_order(raw).lines[0].amount) == "0.00"


_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.decimals(allow_nan=True)
    | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(_json)
def test_any_json_raises_only_mapping_error(raw):
    try:
        parse_order(raw)
    except MappingError:
        pass


def _mutations(raw):
    """A strategy of the valid order with one field anywhere replaced by any JSON value."""
    paths = []

    def walk(node, prefix):
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, child in items:
            path = f"{prefix}{key}"
            paths.append(path)
            if isinstance(child, (dict, list)):
                walk(child, path + ".")

    walk(raw, "")
    return st.tuples(st.sampled_from(paths), _json)


@settings(max_examples=400, deadline=None)
@given(_mutations(BASE))
def test_any_damaged_order_raises_only_mapping_error(mutation):
    path, value = mutation
    try:
        parse_order(changed(BASE, path, value))
    except MappingError:
        pass


@pytest.mark.parametrize("order_id", [0, -5, 10**15])
def test_order_id_must_be_an_order_number(order_id):
    with pytest.raises(MappingError, match="not a Plug&Pay order number"):
        parse_order(changed(BASE, "id", order_id))
