"""Shared pieces of the engine tests: a configured app, clients, and sandbox state checks."""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Callable
from datetime import date

import requests
import sqlalchemy as sa

from pp2eb import jsonutil
from pp2eb.apis.eboekhouden import EBoekhoudenClient
from pp2eb.apis.plugandpay import PlugAndPayClient
from pp2eb.engine.runlog import LOCK_NAMESPACE
from pp2eb.engine.store import Store
from pp2eb.extensions import db
from pp2eb.mapping.settings import USUAL_CODES
from pp2eb.models import Link
from pp2eb.sandbox import EBOEKHOUDEN_TOKEN, PLUGANDPAY_KEY
from pp2eb.setup import connections, links, shopsettings
from tests.clock import START_DATE

# The demo chart has every usual code (the sandbox's seed ledgers and template).
SETTINGS = {
    **USUAL_CODES,
    "start_date": START_DATE.isoformat(),
    "oss": "oss",
    "oss_ledgers": {"BE": "1640", "DE": "1641", "FR": "1642"},
}
# Two demo orders send a German consumer NL VAT while OSS is on: refused on purpose.
DEMO_REFUSED = 2


def the_link() -> Link:
    """The install's only link (needs an app context)."""
    return links.only()


def shops_a_and_b(app) -> tuple[int, int]:
    """The install's only link renamed "Shop A", and a new link "Shop B": their ids."""
    with app.app_context():
        first = the_link()
        first.name = "Shop A"
        db.session.commit()
        return first.id, links.add("Shop B").id


def configure(app, link_id: int | None = None, **settings) -> None:
    """Connect both sandbox accounts to link ``link_id`` (the only one when None) and store
    settings that fit the demo chart."""
    with app.app_context():
        link = db.session.get(Link, link_id) if link_id is not None else the_link()
        connections.connect(link, "plugandpay", PLUGANDPAY_KEY)
        connections.connect(link, "eboekhouden", EBOEKHOUDEN_TOKEN)
        shopsettings.save_draft(link, {**SETTINGS, **settings})


def clients(sandbox, sleep=None, timeout=5.0):
    """A Plug&Pay and an e-Boekhouden client on the sandboxes, with a fake sleep if given."""
    extra = {"sleep": sleep} if sleep else {}
    pp = PlugAndPayClient(PLUGANDPAY_KEY, sandbox.plugandpay_url, timeout=timeout, **extra)
    eb = EBoekhoudenClient(
        EBOEKHOUDEN_TOKEN, sandbox.eboekhouden_url, timeout=timeout, max_attempts=2, **extra
    )
    return pp, eb


def add_ledger(sandbox, code: str, description: str, category: str = "VW") -> None:
    """Create a ledger in the e-Boekhouden sandbox, as the owner would in e-Boekhouden."""
    base = sandbox.eboekhouden_url
    session = requests.post(
        f"{base}/session", json={"accessToken": EBOEKHOUDEN_TOKEN, "source": "test"}, timeout=5
    )
    body = {"code": code, "description": description, "category": category}
    headers = {"Authorization": session.json()["token"]}
    requests.post(f"{base}/ledger", json=body, headers=headers, timeout=5).raise_for_status()


def store() -> Store:
    """A store of the only link's orders."""
    return Store(db.session, the_link().id)


def eb_state(sandbox) -> dict:
    return sandbox.control("eboekhouden", "GET", "state").json()


def booked_numbers(sandbox) -> Counter:
    """How often each invoice number was booked in the e-Boekhouden sandbox."""
    state = eb_state(sandbox)
    numbers = Counter(m["invoiceNumber"] for m in state["mutations"] if m["type"] == 2)
    return numbers


def assert_exactly_once(sandbox, expected: int) -> None:
    numbers = booked_numbers(sandbox)
    duplicates = {n: c for n, c in numbers.items() if c > 1}
    assert not duplicates, f"booked twice: {duplicates}"
    assert len(numbers) == expected, (len(numbers), expected)


def demo_order(sandbox, wanted: Callable[[dict], bool]) -> dict:
    """A copy of the first demo order for which ``wanted(order)`` holds."""
    pp, _ = clients(sandbox)
    return copy.deepcopy(next(o for o in pp.iter_orders() if wanted(o)))


def add_order(sandbox, order: dict, order_id: int, day: date, **contact) -> dict:
    """Store ``order`` in the Plug&Pay sandbox as a new order: id, invoice number, date, contact."""
    order = copy.deepcopy(order)
    order.update(id=order_id, invoice_number=f"2026-{order_id:05d}", invoice_date=day.isoformat())
    if order.get("payment"):
        order["payment"]["order_id"] = order_id
    order["billing"]["contact"].update(contact)
    sandbox.control("plugandpay", "POST", "orders", data=jsonutil.dumps([order]))
    return order


def lock_holders(engine: sa.Engine) -> dict[int, int]:
    """PostgreSQL: the server pid holding each link's advisory lock (the lease), by link id."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT pid, objid::bigint FROM pg_locks WHERE locktype = 'advisory' AND granted"
                " AND classid::bigint = :namespace AND objsubid = 2"
            ),
            {"namespace": LOCK_NAMESPACE},
        ).all()
    return {link: pid for pid, link in rows}
