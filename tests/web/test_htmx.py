"""HTMX fragments: live dropdowns from the sandboxes, filtered, cached, and clear when down."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from pp2eb.mapping.booking import Template
from pp2eb.sandbox import EBOEKHOUDEN_TOKEN, PLUGANDPAY_KEY
from pp2eb.setup import connections, lookups, shopsettings
from tests.engine_helpers import the_link

HX = {"HX-Request": "true"}
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def fresh_lookups():
    lookups.clear()
    yield
    lookups.clear()


@pytest.fixture
def owner(app, client, auth, sandbox):
    with app.app_context():
        connections.connect(the_link(), "plugandpay", PLUGANDPAY_KEY)
        connections.connect(the_link(), "eboekhouden", EBOEKHOUDEN_TOKEN)
    auth.login()
    return client


class Roots(HTMLParser):
    """The top-level elements of a fragment: (tag, id)."""

    VOID = {"input", "br", "img", "meta", "link", "hr"}

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0
        self.roots: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag, attrs):
        if self.depth == 0:
            self.roots.append((tag, dict(attrs).get("id")))
        if tag not in self.VOID:
            self.depth += 1

    def handle_endtag(self, tag):
        self.depth -= 1


def get(client, url):
    response = client.get(url, headers=HX)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def options(html, name):
    select = re.search(rf'<select id="{name}" name="{name}"[^>]*>(.*?)</select>', html, re.S)
    assert select, f"no dropdown {name}"
    return re.findall(r'<option (?:selected )?value="([^"]*)">([^<]*)</option>', select.group(1))


def stats(sandbox, api):
    return sandbox.control(api, "GET", "stats").json()


FRAGMENTS = [
    ("/htmx/ledgers/debtor_ledger", "pick-debtor_ledger"),
    ("/htmx/ledgers/shipping_ledger", "pick-shipping_ledger"),
    ("/htmx/invoice-template?insertion=invoice", "pick-invoice_template"),
    ("/htmx/invoice-template?insertion=mutation", "pick-invoice_template"),
    ("/htmx/product-ledgers", "product-ledgers"),
    ("/htmx/vat-rows", "vat-rows"),
    ("/htmx/oss-ledgers?oss=oss", "oss-ledgers"),
    ("/htmx/oss-ledgers?oss=home_country", "oss-ledgers"),
]


@pytest.mark.parametrize(("url", "element_id"), FRAGMENTS)
def test_each_fragment_is_one_element_with_a_stable_id(owner, url, element_id):
    parser = Roots()
    parser.feed(get(owner, url))
    assert parser.roots == [("div", element_id)]


@pytest.mark.parametrize(
    ("url", "page"),
    [
        ("/htmx/ledgers/debtor_ledger", "/setup/debtor"),
        ("/htmx/ledgers/revenue_ledger", "/setup/revenue"),
        ("/htmx/product-ledgers", "/setup/revenue"),
        ("/htmx/vat-rows", "/setup/vat"),
        ("/htmx/oss-ledgers", "/setup/oss"),
        ("/htmx/invoice-template", "/setup/insertion"),
    ],
)
def test_first_paint_includes_the_same_partial(owner, url, page):
    assert get(owner, url).strip() in owner.get(page).get_data(as_text=True)


@pytest.mark.parametrize(
    ("page", "radio", "url", "target"),
    [
        ("/setup/insertion", "insertion", "/htmx/invoice-template", "pick-invoice_template"),
        ("/setup/oss", "oss", "/htmx/oss-ledgers", "oss-ledgers"),
        ("/setup/payments", "book_payments", "/htmx/payment-ledgers", "payment-ledgers"),
    ],
)
def test_a_radio_reveals_its_fragment_through_the_one_macro(owner, page, radio, url, target):
    html = owner.get(page).get_data(as_text=True)
    wrapper = re.search(r'<div hx-get="([^"]*)"[^>]*>\s*<fieldset[^>]*id="field-(\w+)"', html)
    assert wrapper and wrapper.groups() == (url, radio)
    attributes = wrapper.group(0)
    assert f'hx-target="#{target}"' in attributes and 'hx-trigger="change"' in attributes
    assert f'hx-include="[name={radio}]:checked"' in attributes
    assert f'id="{target}"' in html  # the partial the choice swaps in place
    # The markup is written once, in _macros.html's reveal_radio.
    step = (ROOT / "templates" / "wizard" / f"{page.rsplit('/', 1)[1]}.html").read_text()
    assert f"reveal_radio(form.{radio}," in step and "hx-include" not in step


@pytest.mark.parametrize(
    ("name", "codes"),
    [
        ("debtor_ledger", ["", "1300"]),
        ("revenue_ledger", ["", "4000", "8000", "8010", "8020", "8050", "8090"]),
        ("rounding_ledger", ["", "4000", "8000", "8010", "8020", "8050", "8090"]),
    ],
)
def test_ledgers_are_filtered_to_the_category_of_the_setting(owner, name, codes):
    found = options(get(owner, f"/htmx/ledgers/{name}"), name)
    assert [code for code, _ in found] == codes


def test_ledger_options_show_code_and_description(owner):
    found = dict(options(get(owner, "/htmx/ledgers/debtor_ledger"), "debtor_ledger"))
    assert found["1300"] == "1300 — Debiteuren"


def test_oss_rows_offer_balance_ledgers_for_every_other_eu_country(app, owner):
    with app.app_context():
        shopsettings.save_draft(the_link(), {"oss_ledgers": {"DE": "1641"}})
    html = get(owner, "/htmx/oss-ledgers?oss=oss")
    selects = re.findall(r'<select id="oss_([A-Z]{2})"', html)
    assert len(selects) == 26 and "NL" not in selects and "BE" in selects and "SE" in selects
    assert [code for code, _ in options(html, "oss_BE")] == [
        "",
        "0100",
        "0500",
        "1640",
        "1641",
        "1642",
        "2000",
    ]
    assert '<option selected value="1641">' in html.split('id="oss_DE"')[1].split("</select>")[0]
    assert "Duitsland" in get(owner, "/htmx/oss-ledgers?oss=oss&lang=nl")


def test_home_country_vat_reveals_no_country_ledgers(owner):
    assert "<select" not in get(owner, "/htmx/oss-ledgers?oss=home_country")


def test_sales_invoice_reveals_the_template_dropdown(owner):
    assert "<select" not in get(owner, "/htmx/invoice-template?insertion=mutation")
    found = options(get(owner, "/htmx/invoice-template?insertion=invoice"), "invoice_template")
    assert found == [("", "— choose a template —"), ("Standaard", "Standaard")]


def test_no_template_gives_the_factuursjabloon_hint(owner, monkeypatch):
    monkeypatch.setattr(lookups, "invoice_templates", lambda link, fresh=False: [])
    html = get(owner, "/htmx/invoice-template?insertion=invoice")
    assert "There is no invoice template in e-Boekhouden.nl yet." in html
    assert "factuursjabloon" in html and "<select" not in html
    monkeypatch.setattr(
        lookups, "invoice_templates", lambda link, fresh=False: [Template(1, "Shop")]
    )
    assert "There is no invoice template" not in get(
        owner, "/htmx/invoice-template?insertion=invoice"
    )


def test_product_rows_are_prefilled_with_existing_plugandpay_ledgers(owner):
    html = get(owner, "/htmx/product-ledgers")
    selected = dict(re.findall(r'id="product_(\d+)".*?<option selected value="([^"]*)"', html))
    # 8030 (product 5) is not in the e-Boekhouden chart; product 6 has no ledger.
    assert selected == {"1": "8010", "2": "8010", "3": "8020", "4": "8020", "5": "", "6": ""}


def test_refresh_keeps_the_choice_that_was_made(owner):
    html = get(owner, "/htmx/ledgers/revenue_ledger?revenue_ledger=8010&refresh=1")
    assert '<option selected value="8010">' in html


def test_lists_come_from_a_short_cache_and_refresh_bypasses_it(owner, sandbox):
    sandbox.control("eboekhouden", "DELETE", "stats")
    get(owner, "/htmx/ledgers/debtor_ledger")
    get(owner, "/htmx/ledgers/revenue_ledger")
    get(owner, "/htmx/oss-ledgers?oss=oss")
    assert stats(sandbox, "eboekhouden").get("GET /v1/ledger") == 1
    html = get(owner, "/htmx/ledgers/debtor_ledger")
    assert 'hx-get="/htmx/ledgers/debtor_ledger?refresh=1"' in html
    get(owner, "/htmx/ledgers/debtor_ledger?refresh=1")
    assert stats(sandbox, "eboekhouden").get("GET /v1/ledger") == 2


def test_cache_expires(app, owner, sandbox):
    app.config["LOOKUP_CACHE_SECONDS"] = 0
    sandbox.control("eboekhouden", "DELETE", "stats")
    get(owner, "/htmx/ledgers/debtor_ledger")
    get(owner, "/htmx/ledgers/debtor_ledger")
    assert stats(sandbox, "eboekhouden").get("GET /v1/ledger") == 2


def test_eboekhouden_down_shows_message_and_retry_not_an_empty_list(owner, sandbox):
    sandbox.control(
        "eboekhouden", "POST", "faults", json={"path": "/v1/ledger", "status": 500, "times": 2}
    )
    html = get(owner, "/htmx/ledgers/debtor_ledger")  # two attempts, both answered 500
    assert "<select" not in html
    assert "e-Boekhouden.nl could not be reached or did not answer in time (HTTP 500)" in html
    assert "This step cannot be saved until the list loads." in html
    assert re.search(r'<button[^>]*hx-get="/htmx/ledgers/debtor_ledger"[^>]*>', html)
    assert 'hx-target="#pick-debtor_ledger"' in html
    # The fault is used up: the retry loads the list, and only then is it cached.
    assert "1300 — Debiteuren" in get(owner, "/htmx/ledgers/debtor_ledger")


def test_wrong_token_says_to_reconnect(owner, sandbox):
    sandbox.control("eboekhouden", "POST", "config", json={"revoke_api_token": EBOEKHOUDEN_TOKEN})
    html = get(owner, "/htmx/oss-ledgers?oss=oss")
    assert "<select" not in html
    assert "e-Boekhouden.nl refused the stored API token" in html
    assert 'href="/connect/eboekhouden"' in html


def test_plugandpay_down_breaks_only_its_own_rows(owner, sandbox):
    sandbox.control(
        "plugandpay", "POST", "faults", json={"path": "/v2/products*", "status": 503, "times": 4}
    )
    page = owner.get("/setup/revenue").get_data(as_text=True)
    rows = page[page.index('id="product-ledgers"') :]
    assert "Plug&amp;Pay could not be reached" in rows and "<select" not in rows
    assert '<select id="revenue_ledger"' in page


def test_tax_rates_down_gives_a_retry(owner, sandbox):
    sandbox.control(
        "plugandpay", "POST", "faults", json={"path": "/v2/tax-rates*", "status": 500, "times": 4}
    )
    html = get(owner, "/htmx/vat-rows")
    assert "<select" not in html and 'hx-get="/htmx/vat-rows"' in html


def test_not_connected_says_so(app, client, auth, sandbox):
    auth.login()
    html = get(client, "/htmx/ledgers/debtor_ledger")
    assert "e-Boekhouden.nl is not connected yet." in html
    assert 'href="/connect/eboekhouden"' in html


def test_unknown_ledger_field_is_404(owner):
    assert owner.get("/htmx/ledgers/password", headers=HX).status_code == 404


def test_anonymous_fragment_request_is_sent_to_login(client):
    response = client.get("/htmx/vat-rows", headers=HX)
    assert response.status_code == 401
    assert response.headers["HX-Redirect"] == "/auth/login"


def test_reconnecting_another_account_does_not_show_the_old_lists(app, owner, sandbox):
    sandbox.control("eboekhouden", "DELETE", "stats")
    get(owner, "/htmx/ledgers/debtor_ledger")
    with app.app_context():
        connections.connect(the_link(), "eboekhouden", EBOEKHOUDEN_TOKEN)
    get(owner, "/htmx/ledgers/debtor_ledger")
    # connect() reads the ledgers once itself to check the token; the fragment once more.
    assert stats(sandbox, "eboekhouden")["GET /v1/ledger"] == 3
