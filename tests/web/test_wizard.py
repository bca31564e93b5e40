"""The set-up wizard: steps in order, each saving its part of the settings, live dropdowns."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from pp2eb.mapping.settings import Settings
from pp2eb.sandbox import EBOEKHOUDEN_TOKEN, PLUGANDPAY_KEY
from pp2eb.setup import connections, lookups, shopsettings
from pp2eb.states import OrderState
from pp2eb.web import wizard
from tests.engine_helpers import the_link

SLUGS = [step.slug for step in wizard.STEPS]


@pytest.fixture(autouse=True)
def fresh_lookups():
    lookups.clear()
    yield
    lookups.clear()


def connect(app, *services):
    with app.app_context():
        for service in services:
            secret = PLUGANDPAY_KEY if service == "plugandpay" else EBOEKHOUDEN_TOKEN
            connections.connect(the_link(), service, secret)


@pytest.fixture
def owner(app, client, auth, sandbox):
    """Logged in, both accounts connected."""
    connect(app, "plugandpay", "eboekhouden")
    auth.login()
    return client


class FormValues(HTMLParser):
    """What a browser would submit from the page's step form as it stands."""

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, str] = {}
        self._select: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "input" and a.get("type") in ("radio", "checkbox"):
            if "checked" in a:
                self.values[a["name"]] = a.get("value", "on")
        elif tag == "input" and a.get("name"):
            self.values[a["name"]] = a.get("value") or ""
        elif tag == "select":
            self._select = a["name"]
            self.values.setdefault(self._select, "")
        elif tag == "option" and self._select and "selected" in a:
            self.values[self._select] = a.get("value", "")

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None


def post(client, slug, answer, **kwargs):
    """Submit the step like a browser: the page's current values with ``answer`` changed."""
    url = f"/setup/{slug}"
    parser = FormValues()
    parser.feed(client.get(url).get_data(as_text=True).split("<main>")[1])
    return client.post(url, data={**parser.values, **answer}, **kwargs)


def draft(app):
    with app.app_context():
        return shopsettings.load_draft(the_link())


def next_url(app):
    with app.test_request_context():
        return wizard.next_step_url()


def fragment(html, element_id):
    """The element with ``element_id`` and everything in it, up to its closing tag."""
    start = html.index(f'id="{element_id}"')
    return html[html.rindex("<", 0, start) :]


# Every settings step with a valid answer, in wizard order.
ANSWERS = {
    "group-lines": {"group_lines": "yes"},
    "invoices": {"start_date": "2026-01-01", "orders": "paid"},
    "reference": {"reference": "order_number"},
    "insertion": {"insertion": "invoice", "invoice_template": "Standaard"},
    "debtor": {"debtor_ledger": "1300", "term_of_payment": "30"},
    "revenue": {"revenue_ledger": "8000", "product_1": "8010", "product_6": "8020"},
    "vat": {
        "vat_NL_21": "HOOG_VERK_21",
        "vat_NL_9": "LAAG_VERK_9",
        "vat_NL_0": "GEEN",
        "vat_reverse_charge_goods": "BI_EU_VERK",
        "vat_reverse_charge_services": "BI_EU_VERK_D",
        "vat_outside_eu_goods": "BU_EU_VERK",
        "vat_outside_eu_services": "GEEN",
        "unknown_product_kind": "goods",
        "dutch_vat_products": "6",
    },
    "shipping": {"shipping_ledger": "8050", "rounding_ledger": "8090"},
    "oss": {"oss": "oss", "oss_BE": "1640", "oss_DE": "1641"},
    "customer-codes": {"customer_codes": "name"},
    "payments": {"book_payments": "yes", "pay_mollie": "1650", "pay_stripe": "1660"},
    "sync": {"sync_interval_minutes": "30"},
}


def test_steps_are_declared_once_in_the_issue_order():
    assert SLUGS == ["plugandpay", "eboekhouden", *ANSWERS]
    assert len(set(SLUGS)) == len(SLUGS)


def test_first_time_user_is_led_through_every_step(app, client, auth, sandbox):
    auth.login()
    assert next_url(app) == "/connect/plugandpay"
    connect(app, "plugandpay")
    assert next_url(app) == "/connect/eboekhouden"
    connect(app, "eboekhouden")
    assert next_url(app) == "/setup/group-lines"
    for index, (slug, answer) in enumerate(ANSWERS.items()):
        response = post(client, slug, answer)
        assert response.status_code == 302, response.get_data(as_text=True)
        following = list(ANSWERS)[index + 1] if index + 1 < len(ANSWERS) else None
        if following:
            assert response.headers["Location"] == f"/setup/{following}"
            assert next_url(app) == f"/setup/{following}"
    assert response.headers["Location"] == "/"
    assert next_url(app) is None
    assert "The set-up is complete." in client.get("/").get_data(as_text=True)

    settings = Settings.from_dict(draft(app))
    assert settings.group_lines is True
    assert settings.start_date.isoformat() == "2026-01-01"
    assert (settings.orders, settings.reference) == ("paid", "order_number")
    assert (settings.insertion, settings.invoice_template) == ("invoice", "Standaard")
    assert (settings.debtor_ledger, settings.term_of_payment) == ("1300", 30)
    # Products 2-4 are prefilled with their own Plug&Pay ledger; 5's 8030 does not exist.
    assert settings.product_ledgers == {
        "1": "8010",
        "2": "8010",
        "3": "8020",
        "4": "8020",
        "6": "8020",
    }
    assert settings.vat_map == {
        "NL:21": "HOOG_VERK_21",
        "NL:9": "LAAG_VERK_9",
        "NL:0": "GEEN",
        "reverse_charge_goods": "BI_EU_VERK",
        "reverse_charge_services": "BI_EU_VERK_D",
        "outside_eu_goods": "BU_EU_VERK",
        "outside_eu_services": "GEEN",
    }
    assert settings.unknown_product_kind == "goods"
    assert settings.dutch_vat_products == ("6",)
    assert (settings.shipping_ledger, settings.rounding_ledger) == ("8050", "8090")
    assert settings.oss == "oss" and settings.oss_ledgers == {"BE": "1640", "DE": "1641"}
    assert (settings.customer_codes, settings.sync_interval_minutes) == ("name", 30)
    assert settings.book_payments and settings.payments_from is None
    assert settings.payment_ledgers == {"mollie": "1650", "stripe": "1660"}
    assert settings.payment_fallback_ledger is None


def test_progress_bar_shows_where_the_owner_is(owner):
    html = owner.get("/setup/debtor").get_data(as_text=True)
    bar = fragment(html, "wizard-progress")
    assert "Step 7 of 14" in bar
    titles = re.findall(r'<span class="title">([^<]+)</span>', bar)
    assert titles == [str(step.title) for step in wizard.STEPS]
    assert 'href="/setup/debtor" aria-current="step"' in bar
    assert 'href="/connect/plugandpay"' in bar


def test_connect_page_shows_progress_and_the_way_on(app, client, auth, sandbox):
    auth.login()
    html = client.get("/connect/plugandpay").get_data(as_text=True)
    assert "Step 1 of 14" in html and "Next:" not in html
    connect(app, "plugandpay")
    html = client.get("/connect/plugandpay").get_data(as_text=True)
    assert 'href="/connect/eboekhouden">Next: Connect e-Boekhouden.nl' in html


def test_connect_steps_redirect_to_their_connect_page(owner):
    response = owner.get("/setup/eboekhouden")
    assert response.headers["Location"] == "/connect/eboekhouden"
    assert owner.get("/setup/no-such-step").status_code == 404


def test_missing_answer_is_shown_next_to_the_field(app, owner):
    html = post(owner, "invoices", {"orders": "paid"}).get_data(as_text=True)
    assert "Choose the date of the first invoice to book." in fragment(html, "start_date")
    assert draft(app)["start_date"] is None


def test_ledger_of_the_wrong_category_is_refused_next_to_the_field(app, owner):
    response = post(owner, "debtor", {"debtor_ledger": "8000", "term_of_payment": "14"})
    assert response.status_code == 200
    picker = fragment(response.get_data(as_text=True), "pick-debtor_ledger")
    assert "Choose one of the listed ledgers." in picker.split("</div>\n</div>")[0]
    assert 'value="8000"' not in picker.split("</select>")[0]
    assert draft(app)["debtor_ledger"] is None


def test_vat_code_at_another_rate_is_refused(app, owner):
    answer = {**ANSWERS["vat"], "vat_NL_21": "LAAG_VERK_9"}
    html = post(owner, "vat", answer).get_data(as_text=True)
    row = html[html.index('id="vat_NL_21"') :].split("</tr>")[0]
    assert "Choose one of the listed VAT codes." in row
    assert draft(app)["vat_map"] == {}


def test_vat_rows_prefilled_for_dutch_rates_only(owner):
    html = owner.get("/setup/vat").get_data(as_text=True)
    assert re.search(
        r'id="vat_NL_21" name="vat_NL_21" required>.*?<option selected value="HOOG_VERK_21">', html
    )
    assert '<option selected value="LAAG_VERK_9">' in html
    assert '<option selected value="BU_EU_VERK">' in html
    # Foreign rates go through the OSS step, never through this map.
    assert "FR 20%" not in html and "BE 21%" not in html and "vat_DE_19" not in html


FOUR_ROWS = ["reverse_charge_goods", "reverse_charge_services", "outside_eu_goods"]
FOUR_ROWS += ["outside_eu_services"]


def _selected(html: str, name: str) -> str:
    row = html[html.index(f'id="{name}"') :].split("</select>")[0]
    return re.search(r'<option selected value="([^"]*)">', row).group(1)


def test_vat_step_has_goods_and_services_rows_with_their_defaults(owner):
    html = owner.get("/setup/vat").get_data(as_text=True)
    assert [_selected(html, f"vat_{key}") for key in FOUR_ROWS] == [
        "BI_EU_VERK",
        "BI_EU_VERK_D",
        "BU_EU_VERK",
        "GEEN",
    ]
    assert "Reverse charge, goods: businesses in other EU countries" in html
    assert "Services to customers outside the EU" in html
    assert '<input checked id="unknown_product_kind-0" name="unknown_product_kind"' in html
    assert "A service (an online course, an e-book, coaching)" in html
    # Every Plug&Pay product can be ticked as taxed in the Netherlands; none is by default.
    boxes = re.findall(
        r'<input id="dutch_vat_products-\d+" name="dutch_vat_products" '
        r'type="checkbox" value="(\d+)"',
        html,
    )
    assert sorted(boxes) == ["1", "2", "3", "4", "5", "6"]


def test_vat_step_saves_the_products_taxed_in_the_netherlands(app, owner):
    response = owner.post(
        "/setup/vat",
        data={**_page_values(owner), "dutch_vat_products": ["6", "2"]},
    )
    assert response.status_code == 302
    assert sorted(draft(app)["dutch_vat_products"]) == ["2", "6"]
    html = owner.get("/setup/vat").get_data(as_text=True)
    assert 'checked id="dutch_vat_products-' in html
    overview = owner.get("/setup/").get_data(as_text=True)
    assert re.search(
        r"Products taxed in the Netherlands wherever the customer is</dt><dd>6, 2", overview
    )
    assert post(owner, "vat", {"dutch_vat_products": []}).status_code == 302
    assert draft(app)["dutch_vat_products"] == []


def _page_values(client) -> dict:
    parser = FormValues()
    parser.feed(client.get("/setup/vat").get_data(as_text=True).split("<main>")[1])
    return parser.values


def test_vat_step_of_a_draft_from_before_shows_its_old_code_in_both_rows(app, owner):
    with app.app_context():
        old = {"reverse_charge": "BI_EU_VERK_D", "outside_eu": "BU_EU_VERK"}
        shopsettings.save_draft(the_link(), {"vat_map": {"NL:21": "HOOG_VERK_21", **old}})
    html = owner.get("/setup/vat").get_data(as_text=True)
    selected = [_selected(html, f"vat_{key}") for key in FOUR_ROWS]
    assert selected == ["BI_EU_VERK_D", "BI_EU_VERK_D", "BU_EU_VERK", "BU_EU_VERK"]
    assert post(owner, "vat", {}).status_code == 302
    saved = draft(app)["vat_map"]
    assert [saved[key] for key in FOUR_ROWS] == selected and "reverse_charge" not in saved


def test_sales_invoice_needs_a_template_and_mutation_keeps_it(app, owner):
    html = post(owner, "insertion", {"insertion": "invoice"}).get_data(as_text=True)
    # Without JavaScript the dropdown was not on the page; the answer reveals it.
    assert '<select id="invoice_template"' in html and "Choose an invoice template." in html
    assert draft(app)["insertion"] == "mutation"
    post(owner, "insertion", ANSWERS["insertion"])
    post(owner, "insertion", {"insertion": "mutation"})
    assert draft(app)["insertion"] == "mutation"
    assert draft(app)["invoice_template"] == "Standaard"


def test_oss_ledgers_refuse_a_non_balance_ledger(app, owner):
    html = post(owner, "oss", {"oss": "oss", "oss_BE": "8000"}).get_data(as_text=True)
    assert (
        "Choose one of the listed ledgers." in html[html.index('id="oss_BE"') :].split("</tr>")[0]
    )
    assert draft(app)["oss"] == "home_country"


def test_home_country_vat_keeps_the_country_ledgers(app, owner):
    post(owner, "oss", ANSWERS["oss"])
    post(owner, "oss", {"oss": "home_country"})
    assert draft(app)["oss"] == "home_country"
    assert draft(app)["oss_ledgers"] == {"BE": "1640", "DE": "1641"}


def test_step_cannot_be_saved_while_its_list_does_not_load(app, owner, sandbox):
    sandbox.control(
        "eboekhouden", "POST", "faults", json={"path": "/v1/ledger", "status": 500, "times": 20}
    )
    response = post(owner, "debtor", {"debtor_ledger": "1300", "term_of_payment": "60"})
    assert response.status_code == 200
    picker = fragment(response.get_data(as_text=True), "pick-debtor_ledger")
    assert "could not be reached or did not answer in time" in picker
    assert "This step cannot be saved until the list loads." in picker
    assert "<select" not in picker.split("</div>\n</div>")[0]
    assert draft(app)["term_of_payment"] == 14


def test_revisit_after_set_up_returns_to_the_overview(app, owner):
    for slug, answer in ANSWERS.items():
        post(owner, slug, answer)
    response = post(owner, "debtor", {"debtor_ledger": "1300", "term_of_payment": "7"})
    assert response.headers["Location"] == "/setup/"
    assert draft(app)["term_of_payment"] == 7
    html = owner.get("/setup/").get_data(as_text=True)
    assert "The set-up is complete." in html
    assert html.count('class="badge ok"') == len(wizard.STEPS)


def test_overview_lists_every_step_with_its_values(owner):
    post(owner, "group-lines", {"group_lines": "no"})
    html = owner.get("/setup/").get_data(as_text=True)
    for step in wizard.STEPS:
        assert f'id="overview-{step.slug}"' in html
    group = fragment(html, "overview-group-lines").split("</li>")[0]
    assert "done" in group and "<dd>No</dd>" in group
    debtor = fragment(html, "overview-debtor").split("</li>")[0]
    assert "to do" in debtor and 'href="/setup/debtor"' in debtor


def test_settings_from_elsewhere_count_as_done(app, owner):
    with app.app_context():
        # As ``flask settings import`` stores them: complete.
        shopsettings.save_draft(
            the_link(),
            {"start_date": "2026-01-01", "debtor_ledger": "1300", "revenue_ledger": "8000"},
        )
    assert next_url(app) is None


def test_a_problem_in_a_saved_step_makes_it_unfinished(app, owner):
    for slug, answer in ANSWERS.items():
        post(owner, slug, answer)
    with app.app_context():
        shopsettings.save_draft(the_link(), {"debtor_ledger": ""})
    assert next_url(app) == "/setup/debtor"


def test_one_stop_shop_needs_at_least_one_country_ledger(app, owner):
    html = post(owner, "oss", {"oss": "oss"}).get_data(as_text=True)
    assert "Link the VAT ledger of at least one EU country below." in fragment(html, "field-oss")
    assert draft(app)["oss"] == "home_country"
    # Without JavaScript the country rows were not on the page; now they are.
    assert '<select id="oss_BE"' in html


def test_payment_rows_offer_bank_ledgers_only(app, owner):
    with app.app_context():
        shopsettings.save_draft(
            the_link(), {"payment_ledgers": {"mollie": "1650", "paypal": "1100"}}
        )
    html = owner.get("/htmx/payment-ledgers?book_payments=yes", headers={"HX-Request": "true"})
    html = html.get_data(as_text=True)
    assert html.lstrip().startswith('<div id="payment-ledgers"')
    selects = re.findall(r'<select id="([a-z_]+)"', html)
    # Mollie and Stripe always; a provider from an imported file keeps its row.
    assert selects == ["pay_mollie", "pay_stripe", "pay_paypal", "payment_fallback_ledger"]
    row = html.split('id="pay_mollie"')[1].split("</select>")[0]
    assert re.findall(r'value="([^"]*)"', row) == ["", "1000", "1100", "1650", "1660"]
    assert '<option selected value="1650">' in row
    assert "<select" not in owner.get("/htmx/payment-ledgers?book_payments=no").get_data(
        as_text=True
    )


def test_booking_payments_needs_a_clearing_ledger_of_the_right_category(app, owner):
    html = post(owner, "payments", {"book_payments": "yes"}).get_data(as_text=True)
    assert "Choose the clearing ledger of at least one provider." in fragment(
        html, "field-book_payments"
    )
    # Without JavaScript the rows were not on the page; the answer reveals them.
    assert '<select id="pay_mollie"' in html
    html = post(owner, "payments", {"book_payments": "yes", "pay_mollie": "1300"})
    row = html.get_data(as_text=True).split('id="pay_mollie"')[1].split("</tr>")[0]
    assert "Choose one of the listed ledgers." in row
    assert draft(app)["book_payments"] is False
    answer = {"book_payments": "yes", "payment_fallback_ledger": "1100"}
    response = post(owner, "payments", {**answer, "payments_from": "2026-06-01"})
    assert response.status_code == 302
    saved = draft(app)
    assert saved["book_payments"] is True and saved["payment_fallback_ledger"] == "1100"
    assert (saved["payments_from"], saved["payment_ledgers"]) == ("2026-06-01", {})


def test_switching_payments_off_keeps_the_ledgers(app, owner):
    post(owner, "payments", ANSWERS["payments"])
    post(owner, "payments", {"book_payments": "no"})
    saved = draft(app)
    assert saved["book_payments"] is False
    assert saved["payment_ledgers"] == {"mollie": "1650", "stripe": "1660"}


@pytest.mark.dates
def test_switched_on_after_bookings_payments_start_today(app, owner):
    from pp2eb import dutchtime
    from pp2eb.extensions import db
    from pp2eb.models import OrderRecord

    html = owner.get("/htmx/payment-ledgers?book_payments=yes").get_data(as_text=True)
    assert 'name="payments_from" type="date" value=""' in html  # a new set-up: the start date
    with app.app_context():
        db.session.add(OrderRecord(link_id=the_link().id, order_id=1, state=OrderState.BOOKED))
        db.session.commit()
    before = dutchtime.today()
    html = owner.get("/htmx/payment-ledgers?book_payments=yes").get_data(as_text=True)
    days = {before, dutchtime.today()}  # the Dutch day, even on a server in another zone
    assert any(f'name="payments_from" type="date" value="{d.isoformat()}"' in html for d in days)


def test_saved_payments_show_their_ledgers_when_the_step_is_opened_again(app, owner):
    assert post(owner, "payments", ANSWERS["payments"]).status_code == 302
    html = owner.get("/setup/payments").get_data(as_text=True)
    assert '<input checked id="book_payments-0"' in html  # "yes"
    row = html.split('id="pay_mollie"')[1].split("</select>")[0]
    assert '<option selected value="1650">' in row


@pytest.mark.parametrize(
    ("saved", "url"),
    [
        ({"debtor_ledger": "1399"}, "/htmx/ledgers/debtor_ledger"),
        ({"oss": "oss", "oss_ledgers": {"BE": "1399"}}, "/htmx/oss-ledgers?oss=oss"),
        ({"payment_ledgers": {"mollie": "1399"}}, "/htmx/payment-ledgers?book_payments=yes"),
    ],
)
def test_a_saved_ledger_the_administration_lacks_is_pointed_out(app, owner, saved, url):
    with app.app_context():
        shopsettings.save_draft(the_link(), saved)
    html = owner.get(url, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "Ledger 1399 is not in this list" in html


def test_the_discount_ledger_is_optional_and_saved_when_chosen(app, owner):
    html = owner.get("/setup/revenue").get_data(as_text=True)
    picker = fragment(html, "pick-discount_ledger")
    assert '<option selected value="">' in picker or '<option value="" selected>' in picker
    assert 'value="8000"' in picker and 'value="1300"' not in picker  # VW ledgers only
    assert post(owner, "revenue", {"revenue_ledger": "8000"}).status_code == 302
    assert draft(app)["discount_ledger"] is None  # none chosen: with the revenue
    assert post(owner, "revenue", {"discount_ledger": "8000"}).status_code == 302
    assert draft(app)["discount_ledger"] == "8000"


def test_usual_codes_are_preselected_where_the_administration_has_them(owner):
    pages = {slug: owner.get(f"/setup/{slug}").get_data(as_text=True) for slug in ANSWERS}
    assert '<option selected value="1300">' in fragment(pages["debtor"], "pick-debtor_ledger")
    assert '<option selected value="8000">' in fragment(pages["revenue"], "pick-revenue_ledger")
    shipping = pages["shipping"]
    assert '<option selected value="8050">' in fragment(shipping, "pick-shipping_ledger")
    assert '<option selected value="8090">' in fragment(shipping, "pick-rounding_ledger")
    template = owner.get("/htmx/invoice-template?insertion=invoice", headers={"HX-Request": "true"})
    assert '<option selected value="Standaard">' in template.get_data(as_text=True)


def test_a_usual_code_the_administration_lacks_is_left_empty(app, owner, sandbox):
    sandbox.control("eboekhouden", "POST", "config", json={"remove_ledgers": ["1300", "8090"]})
    debtor = fragment(owner.get("/setup/debtor").get_data(as_text=True), "pick-debtor_ledger")
    assert "<option selected" not in debtor.split("</select>")[0]
    assert "is not in this list" not in debtor  # nothing was chosen, so nothing is missing
    shipping = owner.get("/setup/shipping").get_data(as_text=True)
    rounding = fragment(shipping, "pick-rounding_ledger").split("</select>")[0]
    assert "<option selected" not in rounding and '<option value="">— none —</option>' in rounding
    assert '<option selected value="8050">' in fragment(shipping, "pick-shipping_ledger")
    # The rounding ledger is optional: the step is saved without it.
    response = post(owner, "shipping", {})
    assert response.status_code == 302
    assert (draft(app)["shipping_ledger"], draft(app)["rounding_ledger"]) == ("8050", "")
    ledgers = {"start_date": "2026-01-01", "debtor_ledger": "1300", "revenue_ledger": "8000"}
    assert Settings.from_dict({**draft(app), **ledgers}).rounding_ledger is None
    # A blank chosen on purpose stays blank, also where the administration has the usual code.
    sandbox.control("eboekhouden", "POST", "reset")
    lookups.clear()
    again = owner.get("/setup/shipping").get_data(as_text=True)
    assert '<option selected value="">' in fragment(again, "pick-rounding_ledger")
