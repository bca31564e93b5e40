"""Bad input, generated (Hypothesis): orders, settings files, every form and query.

The promises: parsing an order fails only with a MappingError; a booking always adds up to the
order's total; a sync over mangled orders never crashes and leaves each order booked, skipped,
waiting or failed with a reason a person can read; reading settings fails only with a
SettingsError; a form or a query string never makes a page fail with a 500.
"""

from __future__ import annotations

import copy
import itertools
import json
import re
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from pp2eb import dutchtime, jsonutil
from pp2eb.engine.sync import run_once
from pp2eb.extensions import db
from pp2eb.mapping.booking import Booking
from pp2eb.mapping.mapper import map_order, to_invoice_payload, to_mutation_payload
from pp2eb.mapping.problems import MappingError
from pp2eb.mapping.readings import parse_order
from pp2eb.mapping.settings import DEFAULTS, USUAL_CODES, Settings, SettingsError
from pp2eb.models import OrderRecord
from pp2eb.sandbox.plugandpay.order_builder import negate_amounts
from pp2eb.sandbox.plugandpay.store import BASE_KEYS
from pp2eb.setup import shopsettings
from pp2eb.states import OrderState
from tests.conftest import AuthActions, csrf_token
from tests.engine_helpers import clients, configure, eb_state, store, the_link
from tests.mapping.test_mapper import ORIGINAL, REF, SETTINGS, consistent_orders

DELETE = object()
# The list of bad input, as values to put anywhere in an order.
NASTY = [
    DELETE,
    None,
    {},
    [],
    "",
    -1,
    -(10**6),
    10**18,
    2**64,
    "-5.00",
    "1e3",
    "12.3456789",
    "0.001",
    "NaN",
    "Infinity",
    "twelve",
    " 12.00 ",
    Decimal("1.005"),
    1.1,
    True,
    "XX",
    "ZZ",
    "nl",
    {"id": 77, "country": "XX", "percentage": "13.0"},
    {"id": 78, "country": "NL", "percentage": "13.0"},
    "x" * 10_000,
    "Jöhn 🧾💶 Dœ",
    "محمد بن سلمان",
    "שלום עולם",
    "\u202egnp.exe",
    "<script>alert(1)</script>",
    "\x00",
]
nasty = (
    st.sampled_from(NASTY)
    | st.text(max_size=30)
    | st.integers()
    | st.decimals(places=5, allow_nan=False, allow_infinity=False)
)


def paths(node, prefix: str = "") -> list[str]:
    """Every dotted path in a JSON document (``items.0.tax.rate.country``)."""
    found = []
    items = node.items() if isinstance(node, dict) else enumerate(node)
    for key, child in items:
        path = f"{prefix}{key}"
        found.append(path)
        if isinstance(child, (dict, list)):
            found += paths(child, path + ".")
    return found


def damaged(raw: dict, path: str, value) -> dict:
    """A copy of ``raw`` with ``path`` set to ``value`` (or removed, for DELETE)."""
    raw = copy.deepcopy(raw)
    *parents, last = path.split(".")
    node = raw
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
        if not isinstance(node, (dict, list)):
            return raw  # an earlier damage replaced this branch
    key = int(last) if isinstance(node, list) else last
    if isinstance(node, list) and key >= len(node):
        return raw
    if value is DELETE:
        del node[key]
    else:
        node[key] = copy.deepcopy(value)
    return raw


@st.composite
def mangled_orders(draw, base=None, protect=()):
    """A consistent order (or ``base``) with up to three kinds of damage (see ``damage`` below)."""
    raw = copy.deepcopy(base if base is not None else draw(consistent_orders())[0])
    credit = draw(st.integers(0, 3)) == 0
    if credit and raw.get("payment", {}).get("status") != "credit_invoice":
        # A credit invoice without its original: amounts negated, related_orders empty or gone.
        raw = negate_amounts(raw)
        raw["payment"] = {**raw["payment"], "status": "credit_invoice"}
        related = draw(st.sampled_from([[], None, DELETE]))
        raw["related_orders"] = related
        if related is DELETE:
            del raw["related_orders"]
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from(["value", "quantity", "label"]))
        choices = [p for p in paths(raw) if p.split(".")[0] not in protect]
        if kind == "quantity":
            choices = [p for p in choices if p.endswith("quantity")] or choices
        if kind == "label":
            choices = [
                p for p in choices if p.endswith(("label", "firstname", "company"))
            ] or choices
        raw = damaged(raw, draw(st.sampled_from(choices)), draw(nasty))
    return raw


def readable(reason: str | None) -> bool:
    """A reason a person can read: words, no traceback or object dump, of a sane length.

    A quoted value may be long where the engine's own messages quote it whole (mapping.py,
    totals.py); it is left out of the length, which is the length of the words around it.
    """
    words = re.sub(r"'[^']{60,}'", "'…'", reason or "")
    return bool(
        reason
        and len(words) <= 1000
        and re.search(r"[A-Za-z]{2,}\W+[A-Za-z]{2,}", reason)
        and "Traceback" not in reason
        and " object at 0x" not in reason
    )


# --- orders: parse, map, balance ------------------------------------------------------------


@settings(max_examples=400, deadline=None)
@given(mangled_orders(), st.booleans(), st.sampled_from(["mutation", "invoice"]))
def test_a_mangled_order_is_refused_in_words_or_booked_in_balance(raw, grouped, insertion):
    try:
        order = parse_order(raw)
    except MappingError as exc:
        # Reading quotes at most a short piece of a bad value (a 10,000-character label).
        assert readable(exc.reason) and len(exc.reason) <= 300, exc.reason
        return
    try:
        result = map_order(
            order,
            replace(SETTINGS, group_lines=grouped, insertion=insertion),
            REF.with_original(41, ORIGINAL),
        )
    except MappingError as exc:
        assert readable(exc.reason), exc.reason
        return
    if not isinstance(result, Booking):
        assert readable(result.reason), result.reason
        return
    # Balanced: the rows add up to what the customer paid, in the request body as well.
    assert sum(row.amount for row in result.rows) == result.total == order.amount_with_tax
    if insertion == "mutation":
        body = to_mutation_payload(result, relation_id=4711)
        assert sum(Decimal(str(row["amount"])) for row in body["rows"]) == order.amount_with_tax
    else:
        body = to_invoice_payload(result, relation_id=4711)
        total = sum(Decimal(str(i["pricePerUnit"])) * i["quantity"] for i in body["items"])
        assert total == order.amount_with_tax


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20) | st.decimals(),
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=9), kids),
    max_leaves=30,
)


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_any_json_is_read_or_refused_with_a_mapping_error(raw):
    try:
        parse_order(raw)
    except MappingError as exc:
        assert readable(exc.reason) and len(exc.reason) <= 300, exc.reason


# --- a whole sync over mangled orders -------------------------------------------------------

_ids = itertools.count(50_000)


class TwiceOver:
    """A Plug&Pay client whose order list gives every order twice (duplicate ids)."""

    def __init__(self, pp):
        self.pp = pp

    def __getattr__(self, name):
        return getattr(self.pp, name)

    def iter_orders(self, **kwargs):
        for order in self.pp.iter_orders(**kwargs):
            yield order
            yield copy.deepcopy(order)


@pytest.fixture
def syncing(app, sandbox):
    """Set up to book today's orders only, with a clean template order from Plug&Pay."""
    today = dutchtime.today()  # the engine's look-back window follows the clock
    configure(app, start_date=today.isoformat())
    pp, _ = clients(sandbox)
    base = pp.get_order(1)
    base["invoice_date"] = today.isoformat()
    with app.app_context():
        yield base


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data(), twice=st.booleans())
def test_a_sync_over_mangled_orders_never_crashes(syncing, sandbox, data, twice):
    base = syncing
    batch = []
    for _ in range(data.draw(st.integers(1, 5))):
        # The id and the invoice date stay: without them Plug&Pay would not list the order.
        raw = data.draw(mangled_orders(base, protect=("id", "invoice_date", "mode")))
        order_id = next(_ids)
        # The sandbox stores only orders with every top-level key: a missing one becomes null.
        raw = {**dict.fromkeys(BASE_KEYS), **raw}
        batch.append({**raw, "id": order_id, "invoice_number": f"2099-{order_id}"})
    off = {"contract": "off"}  # mangled on purpose: the sandbox takes them as they are
    sandbox.control("plugandpay", "POST", "orders", data=jsonutil.dumps(batch), params=off)
    pp, eb = clients(sandbox)
    with eb:
        result = run_once(
            TwiceOver(pp) if twice else pp, eb, store(), shopsettings.load(the_link())
        )
    assert result.status == "finished", result.message
    mutations = {m["id"]: m for m in eb_state(sandbox)["mutations"]}
    for raw in batch:
        rec = db.session.execute(db.select(OrderRecord).filter_by(order_id=raw["id"])).scalar_one()
        if rec.state == OrderState.BOOKED:
            rows = mutations[rec.eboekhouden_id]["rows"]
            assert sum(Decimal(str(r["amount"])) for r in rows) == Decimal(rec.amount_with_tax)
            assert Decimal(rec.amount_with_tax) == parse_order(raw).amount_with_tax
        else:
            assert rec.state in (OrderState.FAILED, OrderState.SKIPPED, OrderState.WAITING)
            assert readable(rec.reason), (rec.state, rec.reason)
    numbers = [m["invoiceNumber"] for m in mutations.values()]
    assert len(numbers) == len(set(numbers)), "an order was booked twice"
    # Out of the next example's look-back window, so each run deals with its own batch only.
    for raw in batch:
        raw["invoice_date"] = "2000-01-01"
    sandbox.control("plugandpay", "POST", "orders", data=jsonutil.dumps(batch), params=off)


# --- settings -------------------------------------------------------------------------------

settings_values = st.sampled_from(NASTY[1:]) | st.text(max_size=12) | st.integers()


@st.composite
def settings_files(draw):
    """The default settings with some keys changed, removed or added."""
    data = {**DEFAULTS, **USUAL_CODES, "start_date": "2026-01-01"}
    for _ in range(draw(st.integers(0, 4))):
        key = draw(st.sampled_from([*DEFAULTS, "unknown_key", "vat_map", "oss_ledgers"]))
        value = draw(
            settings_values
            | st.dictionaries(
                st.text(max_size=6) | st.sampled_from(["NL:21", "DE", "12"]),
                settings_values,
                max_size=3,
            )
        )
        if value is None and draw(st.booleans()):
            data.pop(key, None)
        else:
            data[key] = value
    return data


@settings(max_examples=400, deadline=None)
@given(settings_files() | json_values)
def test_settings_are_read_or_refused_with_a_settings_error(data):
    try:
        read = Settings.from_dict(data)
    except SettingsError as exc:
        assert exc.problems and all(readable(p) and len(p) <= 300 for p in exc.problems)
        return
    assert Settings.from_dict(read.to_dict()) == read


def import_settings(runner, tmp_path, content: bytes):
    """``flask settings import`` of a file with ``content``; a crash is raised, not hidden."""
    path = tmp_path / "settings.json"
    path.write_bytes(content)
    result = runner.invoke(args=["settings", "import", str(path)])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    content=(
        settings_files().map(lambda d: json.dumps(d, default=str).encode())
        | st.text(max_size=200).map(str.encode)
    )
)
@example(content=b'{"orders": "paid"')  # cut off
@example(content=b"NaN")
def test_settings_import_refuses_a_bad_file_in_words(app, runner, tmp_path, content):
    result = import_settings(runner, tmp_path, content)
    # No account is connected, so even a good file is refused, with a reason, never a crash.
    assert result.exit_code == 1
    assert "Error:" in result.output


@pytest.mark.parametrize(
    "content",
    [b"\xff\xfe\x00{not text", b"[" * 5000 + b"]" * 5000],
    ids=["not UTF-8", "nested deeper than the JSON parser goes"],
)
def test_settings_import_refuses_a_binary_or_absurd_file_in_words(runner, tmp_path, content):
    result = import_settings(runner, tmp_path, content)
    assert result.exit_code == 1 and "Error:" in result.output


# --- forms and query strings ----------------------------------------------------------------


class FormFields(HTMLParser):
    """The names of the fields of the POST forms on a page, and every choice offered."""

    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()
        self.choices: set[str] = set()
        self._in_post = False

    def handle_starttag(self, tag, attrs) -> None:
        attrs = dict(attrs)
        if tag == "form":
            self._in_post = (attrs.get("method") or "").lower() == "post"
        elif self._in_post and tag in ("input", "select", "textarea") and attrs.get("name"):
            if attrs.get("type") not in ("hidden", "submit"):
                self.names.add(attrs["name"])
        if tag in ("option", "input") and attrs.get("value") is not None:
            self.choices.add(attrs["value"])

    def handle_endtag(self, tag) -> None:
        if tag == "form":
            self._in_post = False


def fields_of(html: str) -> FormFields:
    parser = FormFields()
    parser.feed(html)
    return parser


def is_valid_somewhere(value: str, choices: set[str]) -> bool:
    """Could a form take ``value`` as it is: a number, a date, an offered choice, a URL?"""
    try:
        int(value)
        return True
    except ValueError:
        pass
    try:
        datetime.strptime(value.strip(), "%Y-%m-%d")
        return True
    except ValueError:
        pass
    return value in choices or value.strip() in choices or value.startswith(("http:", "https:"))


garbage = st.sampled_from([v for v in NASTY if isinstance(v, str)]) | st.text(max_size=40)
FORM_PAGES = [
    "/setup/" + slug
    for slug in (
        "group-lines",
        "invoices",
        "reference",
        "insertion",
        "debtor",
        "revenue",
        "vat",
        "shipping",
        "oss",
        "customer-codes",
        "payments",
        "sync",
    )
] + ["/export", "/connect/plugandpay", "/connect/eboekhouden"]


@pytest.fixture
def owner(app, client, sandbox):
    configure(app)
    AuthActions(client).login()
    with app.app_context():
        yield client


@pytest.mark.parametrize("url", FORM_PAGES)
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_every_form_refuses_garbage_with_an_error_never_a_500(owner, url, data):
    client = owner
    page = fields_of(client.get(url).get_data(as_text=True))
    assert page.names, f"no form fields found on {url}"
    junk = garbage.filter(lambda v: not is_valid_somewhere(v, page.choices))
    form = {name: data.draw(junk, label=name) for name in sorted(page.names)}
    draft, credentials = shopsettings.load_draft(the_link()), _credentials()
    resp = client.post(url, data={**form, "csrf_token": csrf_token(client, url)})
    assert resp.status_code == 200, resp.status_code
    html = resp.get_data(as_text=True)
    assert 'class="error"' in html or 'class="flash error"' in html
    assert shopsettings.load_draft(the_link()) == draft and _credentials() == credentials


def _credentials():
    from pp2eb.models import Credential

    rows = db.session.execute(db.select(Credential.service, Credential.secret_encrypted))
    return sorted(rows.all())


QUERY_PAGES = [
    "/orders",
    "/runs",
    "/runs/latest",
    "/export/progress",
    "/htmx/vat-rows",
    "/htmx/oss-ledgers",
    "/htmx/invoice-template",
    "/htmx/product-ledgers",
    "/htmx/ledgers/debtor_ledger",
    "/setup/vat",
]
QUERY_KEYS = ["q", "state", "page", "after", "refresh", "lang", "oss", "insertion", "vat_NL_21"]


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    url=st.sampled_from(QUERY_PAGES),
    query=st.dictionaries(
        st.sampled_from(QUERY_KEYS), garbage | st.integers().map(str), max_size=4
    ),
    htmx=st.booleans(),
)
def test_any_query_string_gives_a_page_never_a_500(owner, url, query, htmx):
    # Digit-only searches have their own test below.
    assume(not query.get("q", "").strip().isdigit())
    headers = {"HX-Request": "true"} if htmx else {}
    resp = owner.get(url, query_string=query, headers=headers)
    assert resp.status_code in (200, 404), (url, query, resp.status_code)


@pytest.mark.parametrize("q", ["²", "9" * 30, "9" * 5000], ids=["superscript", "20+", "5000"])
def test_a_search_for_odd_digits_gives_a_page(owner, q):
    assert owner.get("/orders", query_string={"q": q}).status_code == 200


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(username=garbage, password=garbage)
def test_the_login_form_refuses_garbage_with_a_message(client, username, password):
    assume(password != "correct horse battery")
    token = csrf_token(client, "/auth/login")
    resp = client.post(
        "/auth/login", data={"username": username, "password": password, "csrf_token": token}
    )
    assert resp.status_code in (200, 429)
    assert 'class="error"' in resp.get_data(as_text=True) or "flash error" in resp.get_data(
        as_text=True
    )
