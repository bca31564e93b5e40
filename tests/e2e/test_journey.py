"""A new user's whole journey in a real browser, against the sandboxes.

Log in, connect both accounts with the demo keys, walk the set-up wizard using the live
dropdowns, press "Sync now", see the booked orders and open one. Each step's screenshot is
saved to ``tests/e2e/artifacts/`` (git-ignored, to look at after a failure); ``make screenshots``
sets ``PP2EB_SCREENSHOTS=docs`` and so renews ``docs/screenshots/``, which the README shows.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from tests.engine_helpers import SETTINGS, assert_exactly_once

ROOT = Path(__file__).resolve().parents[2]
SHOTS = (
    ROOT / "docs" / "screenshots"
    if os.environ.get("PP2EB_SCREENSHOTS") == "docs"
    else ROOT / "tests" / "e2e" / "artifacts"
)


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def save_step(page) -> None:
    page.locator("main form button[type=submit]").last.click()
    page.wait_for_load_state("networkidle")


def test_new_user_journey(live_app, browser_page, sandbox):
    page = browser_page
    page.goto(live_app + "/")
    shot(page, "01-login")
    page.fill("#username", "owner")
    page.fill("#password", "correct horse battery")
    page.locator("main button[type=submit]").click()

    # 1-2: connect both accounts with the keys the demo pages show.
    for service, field, name in (
        ("plugandpay", "#api_key", "02-connect-plugandpay"),
        ("eboekhouden", "#token", "03-connect-eboekhouden"),
    ):
        page.goto(f"{live_app}/connect/{service}")
        page.fill(field, page.inner_text("#demo-secret"))
        page.locator("main form button[type=submit]").last.click()
        page.wait_for_load_state("networkidle")
        assert page.locator("#connection-status").inner_text().startswith("Connected")
        shot(page, name)

    # The dashboard sends an unfinished set-up to its next step.
    page.goto(live_app + "/")
    assert "/setup/group-lines" in page.url
    save_step(page)  # group lines: no (the default)

    assert "/setup/invoices" in page.url
    page.fill("#start_date", SETTINGS["start_date"])
    shot(page, "04-export-start-date")
    save_step(page)
    save_step(page)  # invoice numbers as the reference

    assert "/setup/insertion" in page.url
    page.check("input[name=insertion][value=invoice]")
    template = page.locator("select[name=invoice_template]")
    template.wait_for()  # revealed by htmx, filled live from e-Boekhouden
    assert "Standaard" in template.inner_text()
    shot(page, "05-insertion-invoice-template")
    page.check("input[name=insertion][value=mutation]")
    page.wait_for_load_state("networkidle")
    save_step(page)

    assert "/setup/debtor" in page.url
    debtor = page.locator("select[name=debtor_ledger]")
    debtor.wait_for()
    assert "1300 — Debiteuren" in debtor.inner_text()
    assert "8000" not in debtor.inner_text()  # only DEB ledgers
    debtor.select_option("1300")
    shot(page, "06-debtor-ledger")
    save_step(page)

    assert "/setup/revenue" in page.url
    page.locator("select[name=revenue_ledger]").select_option("8000")
    shot(page, "07-revenue-ledgers")
    save_step(page)

    assert "/setup/vat" in page.url
    shot(page, "08-vat-mapping")
    save_step(page)

    assert "/setup/shipping" in page.url
    page.locator("select[name=shipping_ledger]").select_option("8050")
    save_step(page)

    assert "/setup/oss" in page.url
    page.check("input[name=oss][value=oss]")
    for country, code in SETTINGS["oss_ledgers"].items():
        select = page.locator(f"select[name=oss_{country}]")
        select.wait_for()  # one BAL dropdown per EU country, revealed by htmx
        select.select_option(code)
    shot(page, "09-oss-ledgers")
    save_step(page)

    assert "/setup/customer-codes" in page.url
    save_step(page)

    assert "/setup/payments" in page.url
    page.check("input[name=book_payments][value=yes]")
    mollie = page.locator("select[name=pay_mollie]")
    mollie.wait_for()  # revealed by htmx, filled live with FIN ledgers only
    assert "1650 — Tussenrekening Mollie" in mollie.inner_text()
    assert "1300" not in mollie.inner_text()
    mollie.select_option("1650")
    page.locator("select[name=pay_stripe]").select_option("1660")
    save_step(page)
    assert "/setup/sync" in page.url
    save_step(page)  # "Save and finish"

    # The dashboard, then "Sync now": the fragment polls and the page reloads when done.
    page.goto(live_app + "/")
    shot(page, "10-dashboard")
    page.click("#sync-now")
    page.wait_for_function(
        "() => /booked \\d+/.test(document.querySelector('#run-status').innerText)"
        " && !document.querySelector('#run-status progress')",
        timeout=60_000,
    )
    page.wait_for_load_state("networkidle")
    status = page.inner_text("#run-status")
    booked = int(re.search(r"booked (\d+)", status).group(1))
    assert booked > 40
    shot(page, "11-after-sync")
    assert_exactly_once(sandbox, booked)

    page.goto(live_app + "/orders?state=booked")
    rows = page.locator("#orders tbody tr")
    assert rows.count() == min(booked, 50)
    assert page.locator("#orders .badge.payment").count() > 0  # payments booked too
    shot(page, "12-orders")
    rows.first.locator("a").first.click()
    page.wait_for_load_state("networkidle")
    assert "Booking sent to e-Boekhouden" in page.inner_text("#booking")
    assert "equals Plug&Pay" in page.inner_text("#booking")
    shot(page, "13-order")

    # An order whose payment is booked shows it, on its Mollie or Stripe tussenrekening.
    page.goto(live_app + "/orders?state=booked")
    page.locator("#orders tbody tr:has(.badge.payment) a").first.click()
    page.wait_for_load_state("networkidle")
    assert "Tussenrekening" in page.inner_text("#payment")


def test_an_office_with_two_links_opens_each_from_the_overview(live_app, browser_page, app):
    from pp2eb.extensions import db
    from pp2eb.setup import links

    with app.app_context():
        first = links.only()
        first.name = "Bakkerij Jansen"
        db.session.commit()
        first, second = first.id, links.add("Fietsen Pietersen").id
    page = browser_page
    page.goto(live_app + "/")
    page.fill("#username", "owner")
    page.fill("#password", "correct horse battery")
    page.locator("main button[type=submit]").click()
    # The home page is the overview: one row per link, both needing attention (nothing set up).
    rows = page.locator("#overview tbody tr")
    assert rows.count() == 2
    assert "Needs attention (2)" in page.inner_text("main")
    shot(page, "11-links-overview")
    # A row opens its link: its name in the header, its own connect page with its demo key.
    page.click("text=Fietsen Pietersen")
    assert f"/links/{second}/" in page.url
    assert page.inner_text("header .link-name") == "Fietsen Pietersen"
    page.fill("#api_key", page.inner_text("#demo-secret"))
    page.locator("main form button[type=submit]").last.click()
    page.wait_for_load_state("networkidle")
    assert page.locator("#connection-status").inner_text().startswith("Connected")
    page.click("header >> text=All links")
    assert page.url == live_app + "/"
    plug_and_pay = page.locator(f"#link-{second} .side-plugandpay").inner_text()
    assert plug_and_pay == "Connected"
    assert page.locator(f"#link-{first} .side-plugandpay").inner_text() == "Not connected"
