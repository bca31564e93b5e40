"""The Plug&Pay demo-data generator: determinism, coverage of every case, consistency rules."""

from __future__ import annotations

import re
import time
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal

import pytest

from pp2eb import dutchtime
from pp2eb.mapping.readings import parse_order
from pp2eb.sandbox.plugandpay.contract import violations
from pp2eb.sandbox.plugandpay.demo_data import (
    PRODUCTS,
    TAX_RATES,
    generate_demo_orders,
    generate_orders,
)
from pp2eb.sandbox.plugandpay.order_builder import DiscountSpec, LineSpec, Rate, build_money

TODAY = date(2026, 2, 10)
MONEY = re.compile(r"-?\d+\.\d\d")
NL21 = Rate(57, "NL", Decimal("21.0"))
NL9 = Rate(58, "NL", Decimal("9.0"))


def d(text: str) -> Decimal:
    return Decimal(text)


def rule_violations(order: dict) -> list[str]:
    """The consistency rules of docs/plugandpay-order.md, computed independently."""
    problems = []

    def net(line: dict) -> Decimal:
        return d(line["amount"]) - sum((d(x["amount"]) for x in line["discounts"]), Decimal(0))

    def gross(line: dict) -> Decimal:
        return d(line["amount_with_tax"]) - sum(
            (d(x["amount_with_tax"]) for x in line["discounts"]), Decimal(0)
        )

    shipping = order["shipping"] or {"amount": "0", "amount_with_tax": "0"}
    discounts = order["total_discounts"]
    lines = order["items"]
    rule1 = sum(map(net, lines), Decimal(0)) + d(shipping["amount"])
    rule1 -= sum((d(x["amount"]) for x in discounts), Decimal(0))
    if rule1 != d(order["amount"]):
        problems.append(f"rule 1: {rule1} != {order['amount']}")
    rule2 = sum(map(gross, lines), Decimal(0)) + d(shipping["amount_with_tax"])
    rule2 -= sum((d(x["amount_with_tax"]) for x in discounts), Decimal(0))
    if rule2 != d(order["amount_with_tax"]):
        problems.append(f"rule 2: {rule2} != {order['amount_with_tax']}")
    taxes = sum((d(t["amount"]) for t in order["taxes"]), Decimal(0))
    if taxes != d(order["amount_with_tax"]) - d(order["amount"]):
        problems.append(f"rule 3: {taxes}")
    for line in lines:
        if gross(line) - net(line) != d(line["tax"]["amount"]):
            problems.append(f"rule 4: line {line['id']}")
    return problems


def money_strings(node) -> list[str]:
    """Every amount / amount_with_tax value anywhere in ``node``."""
    if isinstance(node, list):
        return [s for child in node for s in money_strings(child)]
    if isinstance(node, dict):
        found = []
        for key, value in node.items():
            if key in ("amount", "amount_with_tax"):
                found.append(value)
            else:
                found += money_strings(value)
        return found
    return []


# The cases and the rules are checked on the orders in the canonical form; the forms the record
# leaves open are checked against these twins at the end (mapping/test_readings.py reads them).
@pytest.fixture(scope="module")
def demo() -> list[dict]:
    return generate_demo_orders(seed=1, today=TODAY, canonical=True)


@pytest.fixture(scope="module")
def mix() -> list[dict]:
    return generate_orders(
        1000, seed=3, start=date(2025, 1, 1), end=date(2025, 12, 31), canonical=True
    )


def line_rates(order: dict) -> set[tuple[str, str]]:
    return {(i["tax"]["rate"]["country"], i["tax"]["rate"]["percentage"]) for i in order["items"]}


def contact(order: dict) -> dict:
    return order["billing"]["contact"]


def country(order: dict) -> str:
    return order["billing"]["address"]["country"]


# --- determinism and size ---------------------------------------------------------------


def test_same_seed_same_orders():
    assert generate_demo_orders(seed=1, today=TODAY) == generate_demo_orders(seed=1, today=TODAY)
    args = (50, 9, date(2025, 3, 1), date(2025, 4, 30))
    assert generate_orders(*args) == generate_orders(*args)


def test_other_seed_or_day_other_orders(demo):
    assert generate_demo_orders(seed=2, today=TODAY) != demo
    shifted = generate_demo_orders(seed=1, today=TODAY + timedelta(days=1))
    assert (
        shifted[0]["invoice_date"]
        == (date.fromisoformat(demo[0]["invoice_date"]) + timedelta(days=1)).isoformat()
    )


@pytest.mark.dates
def test_today_defaults_to_the_dutch_date():
    before = dutchtime.today()
    demo = generate_demo_orders()
    days = {before, dutchtime.today()}  # the clock may pass midnight in between
    assert any(demo == generate_demo_orders(today=day) for day in days)


def test_count_sets_the_total_but_keeps_every_special_case(demo):
    assert len(demo) == 60
    assert [o["id"] for o in demo] == list(range(1, 61))
    assert len(generate_demo_orders(today=TODAY, count=100)) == 100
    small = generate_demo_orders(today=TODAY, count=5)
    assert 15 < len(small) < 60
    assert {o["mode"] for o in small} == {"live", "test"}


def test_demo_dates_span_the_last_three_months(demo):
    days = [date.fromisoformat(o["invoice_date"]) for o in demo if o["invoice_date"]]
    assert min(days) >= TODAY - timedelta(days=90)
    assert max(days) < TODAY
    assert (max(days) - min(days)).days > 60


# --- consistency ---------------------------------------------------------------------------


@pytest.mark.parametrize("orders", ["demo", "mix"])
def test_every_order_obeys_the_four_rules(orders, request):
    for order in request.getfixturevalue(orders):
        assert rule_violations(order) == [], order["id"]


@pytest.mark.parametrize("orders", ["demo", "mix"])
def test_amounts_are_two_decimal_strings(orders, request):
    for order in request.getfixturevalue(orders):
        for value in money_strings(order):
            assert isinstance(value, str) and MONEY.fullmatch(value), (order["id"], value)
            assert value != "-0.00"


def test_the_rule_check_catches_a_broken_order(demo):
    broken = {**demo[0], "amount": str(d(demo[0]["amount"]) + d("0.01"))}
    assert rule_violations(broken)


def test_rates_and_products_used_exist(demo, mix):
    rates = {r["id"]: r for r in TAX_RATES}
    product_ids = {p["id"] for p in PRODUCTS}
    for order in demo + mix:
        used = [i["tax"]["rate"] for i in order["items"]] + [t["rate"] for t in order["taxes"]]
        for rate in used:
            assert rates[rate["id"]] == rate
        assert {i["product_id"] for i in order["items"]} <= product_ids


def test_shipping_has_one_rate_and_adds_up(demo, mix):
    for order in demo + mix:
        ship = order["shipping"]
        if ship and d(ship["amount_with_tax"]):  # free shipping has no taxes (a case below)
            (tax,) = ship["taxes"]
            assert d(ship["amount_with_tax"]) - d(ship["amount"]) == d(tax["amount"])
            assert tax["rate"]["id"] in {t["rate"]["id"] for t in order["taxes"]}


# --- the cases the demo must show ------------------------------------------------------


def test_dutch_rates_alone_and_mixed(demo):
    nl = [o for o in demo if o["mode"] == "live" and country(o) == "NL"]
    assert any(line_rates(o) == {("NL", "21.0")} for o in nl)
    assert any(line_rates(o) == {("NL", "9.0")} for o in nl)
    assert any(line_rates(o) == {("NL", "21.0"), ("NL", "9.0")} for o in nl)


def test_discounts(demo):
    assert any(disc for o in demo for i in o["items"] for disc in i["discounts"])
    with_order_discount = [o for o in demo if o["total_discounts"]]
    assert with_order_discount
    two_rates = [o for o in with_order_discount if len(o["taxes"]) == 2]
    assert two_rates, "an order discount spread over two rates"
    for disc in (x for o in demo for x in o["total_discounts"]):
        assert d(disc["amount"]) > 0 and d(disc["amount_with_tax"]) >= d(disc["amount"])


def test_shipping_on_a_physical_product_at_nl_21(demo):
    physical = {p["id"] for p in PRODUCTS if p["is_physical"]}
    shipped = [o for o in demo if o["shipping"] and country(o) == "NL"]
    shipped = [o for o in shipped if d(o["shipping"]["amount"])]
    assert shipped
    for order in shipped:
        (tax,) = order["shipping"]["taxes"]
        assert tax["rate"] == {"id": 57, "country": "NL", "percentage": "21.0"}
        assert {i["product_id"] for i in order["items"]} & physical
    assert all(
        o["shipping"] is None for o in demo if not {i["product_id"] for i in o["items"]} & physical
    )


def test_reverse_charge_to_belgium(demo):
    reverse = [o for o in demo if contact(o)["tax_exempt"] == "reverse"]
    assert reverse
    for order in reverse:
        assert country(order) == "BE" and contact(order)["vat_id_number"].startswith("BE")
        assert contact(order)["company"]
        assert line_rates(order) == {("BE", "0.0")}
        assert order["amount"] == order["amount_with_tax"]


@pytest.mark.parametrize("land,percentage", [("DE", "19.0"), ("FR", "20.0"), ("BE", "21.0")])
def test_oss_consumer_orders_at_the_destination_rate(demo, land, percentage):
    assert any(
        country(o) == land
        and contact(o)["tax_exempt"] == "none"
        and not contact(o)["vat_id_number"]
        and line_rates(o) == {(land, percentage)}
        for o in demo
    )


def test_eu_consumer_charged_dutch_vat(demo):
    assert any(country(o) in ("BE", "DE", "FR") and line_rates(o) == {("NL", "21.0")} for o in demo)


def test_export_to_the_us_at_zero(demo):
    us = [o for o in demo if country(o) == "US"]
    assert us and all(line_rates(o) == {("US", "0.0")} for o in us)


def test_test_mode_concept_and_unpaid(demo):
    assert sum(o["mode"] == "test" for o in demo) >= 2
    concept = [o for o in demo if o["invoice_status"] == "concept"]
    assert concept and all(o["invoice_number"] is None for o in concept)
    unpaid = [
        o
        for o in demo
        if o["invoice_status"] == "final"
        and o["payment"]["status"] == "open"
        and o["mode"] == "live"
    ]
    assert unpaid and all(o["payment"]["paid_at"] is None for o in unpaid)


def test_credited_order_and_its_credit_invoice(demo):
    by_id = {o["id"]: o for o in demo}
    credited = [o for o in demo if o["payment"]["status"] == "credited"]
    assert credited
    for original in credited:
        (link,) = original["related_orders"]
        note = by_id[link["id"]]
        assert link == {
            "id": note["id"],
            "invoice_number": note["invoice_number"],
            "payment_status": "credit_invoice",
        }
        assert note["payment"]["status"] == "credit_invoice"
        assert note["related_orders"] == [
            {
                "id": original["id"],
                "invoice_number": original["invoice_number"],
                "payment_status": "credited",
            }
        ]
        assert note["invoice_number"] and note["invoice_number"] != original["invoice_number"]
        assert note["invoice_date"] >= original["invoice_date"]
        assert d(note["amount_with_tax"]) == -d(original["amount_with_tax"]) < 0
        assert [d(t["amount"]) for t in note["taxes"]] == [
            -d(t["amount"]) for t in original["taxes"]
        ]
        assert money_strings(note["items"]) == [
            f"{-d(v):.2f}" for v in money_strings(original["items"])
        ]


def test_per_line_rounding_differs_from_rounding_the_total(demo):
    cafe = [o for o in demo if contact(o)["company"] == "Café Timmermans & Zn"]
    rounding = [o for o in cafe if [i["amount"] for i in o["items"]] == ["37.50", "12.50"]]
    assert len(rounding) == 1
    order = rounding[0]
    assert [i["tax"]["amount"] for i in order["items"]] == ["7.88", "2.63"]
    assert order["taxes"][0]["amount"] == "10.51"  # 21% of the 50.00 total would be 10.50


def test_consumer_prices_give_natural_rounding_differences(mix):
    def differs(order: dict) -> bool:
        for tax in order["taxes"]:
            lines = [i for i in order["items"] if i["tax"]["rate"]["id"] == tax["rate"]["id"]]
            base = sum((d(i["amount"]) for i in lines), Decimal(0))
            whole = (base * d(tax["rate"]["percentage"]) / 100).quantize(Decimal("0.01"))
            if len(lines) > 1 and whole != sum((d(i["tax"]["amount"]) for i in lines), Decimal(0)):
                return True
        return False

    assert any(differs(o) for o in mix)


def test_names_with_accents_and_repeat_customers(demo):
    names = {f"{contact(o)['firstname']} {contact(o)['lastname']}" for o in demo}
    assert "Zoë Müller" in names
    assert any(contact(o)["company"] == "Café Timmermans & Zn" for o in demo)
    emails = Counter(
        contact(o)["email"] for o in demo if o["payment"]["status"] != "credit_invoice"
    )
    assert sum(n > 1 for n in emails.values()) >= 3
    assert all(e.isascii() for e in emails)


@pytest.mark.parametrize("orders", ["demo", "mix"])
def test_invoice_numbers(orders, request):
    numbers = [o["invoice_number"] for o in request.getfixturevalue(orders) if o["invoice_number"]]
    assert len(numbers) == len(set(numbers))
    assert all(re.fullmatch(r"T?\d{4}-\d{5,}", n) for n in numbers)


def test_products_and_tax_rates():
    ledgers = [p["ledger"] for p in PRODUCTS]
    assert 5 <= len(PRODUCTS) <= 8
    assert {"8010", "8020", "8030", None} <= set(ledgers)
    # The SDK types the ledger int|string|null: the demo has both kinds.
    assert {type(x) for x in ledgers if x is not None} == {str, int}
    pairs = {(r["country"], r["percentage"]) for r in TAX_RATES}
    wanted = {("NL", "21.0"), ("NL", "9.0"), ("NL", "0.0"), ("BE", "21.0"), ("BE", "0.0")}
    wanted |= {("DE", "19.0"), ("DE", "0.0"), ("FR", "20.0"), ("FR", "0.0"), ("US", "0.0")}
    assert wanted <= pairs
    assert len({r["id"] for r in TAX_RATES}) == len(TAX_RATES)


# --- generate_orders: the mix for benchmarks ---------------------------------------------


def test_generate_orders_count_ids_and_dates(mix):
    assert [o["id"] for o in mix] == list(range(1, 1001))
    later = generate_orders(20, seed=3, start=date(2025, 6, 1), end=date(2025, 6, 1), first_id=5001)
    assert [int(o["id"]) for o in later] == list(range(5001, 5021))  # some written as text
    assert {o["invoice_date"] for o in later} <= {"2025-06-01", None}
    dates = [o["invoice_date"] for o in mix if o["invoice_date"]]
    assert min(dates) >= "2025-01-01" and max(dates) <= "2025-12-31"


def test_generate_orders_has_the_same_mix(mix):
    statuses = Counter(o["payment"]["status"] for o in mix)
    assert statuses["credited"] == statuses["credit_invoice"] > 0
    assert statuses["open"] and statuses["processing"] and statuses["paid"] > 700
    assert any(contact(o)["tax_exempt"] == "reverse" for o in mix)
    assert any(line_rates(o) == {("US", "0.0")} for o in mix)
    assert any(line_rates(o) == {("DE", "19.0")} for o in mix)
    assert any(o["total_discounts"] for o in mix) and any(o["shipping"] for o in mix)
    assert any(o["mode"] == "test" for o in mix)
    assert any(o["invoice_status"] == "concept" for o in mix)


def test_generate_orders_is_fast_with_about_30_percent_repeat_customers():
    started = time.perf_counter()
    orders = generate_orders(10_000, seed=5, start=date(2025, 1, 1), end=date(2025, 12, 31))
    assert time.perf_counter() - started < 8
    assert len(orders) == 10_000
    seen: set[str] = set()
    repeats = buyers = 0
    for order in orders:
        if order["payment"]["status"] == "credit_invoice":
            continue
        email = contact(order)["email"]
        buyers += 1
        repeats += email in seen
        seen.add(email)
    assert 0.25 < repeats / buyers < 0.35


def test_generate_orders_rejects_bad_arguments():
    with pytest.raises(ValueError):
        generate_orders(5, seed=1, start=date(2025, 2, 1), end=date(2025, 1, 1))
    with pytest.raises(ValueError):
        generate_orders(-1, seed=1, start=date(2025, 1, 1), end=date(2025, 1, 2))


# --- the order builder ------------------------------------------------------------------


def test_build_money_net_prices_round_per_line():
    money = build_money(
        [LineSpec(5, "a", 1, d("37.50"), NL21), LineSpec(6, "b", 1, d("12.50"), NL21)],
        tax_included=False,
    )
    assert (money["amount"], money["amount_with_tax"]) == ("50.00", "60.51")
    assert money["taxes"] == [
        {"amount": "10.51", "amount_with_tax": "12.72", "rate": NL21.as_dict()}
    ]


def test_build_money_spreads_an_order_discount_over_rates():
    money = build_money(
        [LineSpec(1, "a", 1, d("149.00"), NL21), LineSpec(3, "b", 1, d("24.95"), NL9)],
        tax_included=True,
        shipping=(d("4.95"), NL21),
        discounts=[DiscountSpec("X", amount=d("5.00"))],
    )
    (discount,) = money["total_discounts"]
    assert discount["amount_with_tax"] == "5.00" and discount["code"] == "X"
    assert money["amount_with_tax"] == "173.90"  # 149.00 + 24.95 + 4.95 - 5.00
    assert [t["rate"]["id"] for t in money["taxes"]] == [57, 58]
    assert rule_violations(money) == []


def test_build_money_item_discount_lowers_the_line_vat():
    money = build_money(
        [LineSpec(1, "a", 2, d("49.95"), NL21, discount=d("10.00"), discount_code="C")],
        tax_included=True,
    )
    (line,) = money["items"]
    assert (line["amount"], line["amount_with_tax"]) == ("82.56", "99.90")
    assert line["discounts"] == [
        {"amount": "8.26", "amount_with_tax": "10.00", "code": "C", "type": "sale"}
    ]
    assert line["tax"]["amount"] == "15.60"  # 89.90 incl. -> 74.30 net


def test_free_shipping_is_zero_with_no_taxes(demo):
    free = [o for o in demo if o["shipping"] and not d(o["shipping"]["amount_with_tax"])]
    assert free
    for order in free:
        assert order["shipping"] == {"amount": "0.00", "amount_with_tax": "0.00", "taxes": []}
        assert 57 not in {t["rate"]["id"] for t in order["taxes"]} - {
            i["tax"]["rate"]["id"] for i in order["items"]
        }


# --- the forms the record leaves open (docs/plugandpay-order.md) ----------------------------


@pytest.fixture(scope="module")
def forms() -> list[tuple[dict, dict]]:
    """(each demo order as the sandbox writes it, the same order in the canonical form)."""
    written = generate_demo_orders(seed=1, today=TODAY)
    return list(
        zip(written, generate_demo_orders(seed=1, today=TODAY, canonical=True), strict=True)
    )


def _off(line: dict, key: str) -> Decimal:
    return sum((d(x[key]) for x in line["discounts"]), Decimal(0))


def _lines(forms):
    for written, twin in forms:
        yield from zip(written["items"], twin["items"], strict=True)


# Each form, told apart from the canonical twin by its own figures, not by pp2eb's reading.
FORMS = {
    "amounts after the item's discounts": lambda forms: any(
        line["discounts"] and d(line["amount"]) == d(twin["amount"]) - _off(twin, "amount")
        for line, twin in _lines(forms)
    ),
    "amounts as unit prices": lambda forms: any(
        line["quantity"] > 1 and d(line["amount"]) * line["quantity"] == d(twin["amount"])
        for line, twin in _lines(forms)
    ),
    "an item's VAT before its discounts": lambda forms: any(
        line["discounts"]
        and d(line["tax"]["amount"])
        == d(twin["tax"]["amount"]) + _off(twin, "amount_with_tax") - _off(twin, "amount")
        for line, twin in _lines(forms)
    ),
    "tax objects as amounts excl. and incl. VAT": lambda forms: any(
        d(tax["amount_with_tax"]) - d(tax["amount"]) == d(other["amount"]) != d(tax["amount"])
        for written, twin in forms
        for tax, other in zip(written["taxes"], twin["taxes"], strict=True)
    ),
    "shipping at 0% without taxes": lambda forms: any(
        written.get("shipping") and twin["shipping"]["taxes"] and not written["shipping"]["taxes"]
        for written, twin in forms
    ),
    'percentages as "21"': lambda forms: any(
        isinstance(p, str) and "." not in p for p in _percentages(forms)
    ),
    "percentages as numbers": lambda forms: any(
        not isinstance(p, str) for p in _percentages(forms)
    ),
    "ids as text": lambda forms: any(isinstance(written["id"], str) for written, _ in forms),
    "item type null": lambda forms: any(line["type"] is None for line, _ in _lines(forms)),
    "empty includes left out": lambda forms: any(
        "total_discounts" not in written and "shipping" not in written for written, _ in forms
    ),
    "empty includes present": lambda forms: any(
        written.get("total_discounts") == [] and written.get("shipping", 0) is None
        for written, _ in forms
    ),
}


def _percentages(forms):
    for written, _ in forms:
        for line in written["items"]:
            yield line["tax"]["rate"]["percentage"]


@pytest.mark.parametrize("form", sorted(FORMS))
def test_the_demo_holds_every_form(forms, form):
    assert FORMS[form](forms)


def test_order_one_is_canonical(forms):
    written, twin = forms[0]
    assert written == twin


def test_each_form_is_in_the_contract_and_read_as_its_canonical_twin(forms):
    for written, twin in forms:
        assert violations("order", written) == [], written["id"]
        assert parse_order(written) == parse_order(twin), written["id"]


def test_the_mix_writes_orders_in_drawn_forms():
    args = (200, 4, date(2025, 3, 1), date(2025, 4, 30))
    written, twins = generate_orders(*args), generate_orders(*args, canonical=True)
    assert sum(a != b for a, b in zip(written, twins, strict=True)) > 100
    for one, twin in zip(written, twins, strict=True):
        assert parse_order(one) == parse_order(twin)
