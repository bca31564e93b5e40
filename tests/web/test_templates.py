"""The templates follow one convention (see the comment at the top of templates/base.html)."""

from __future__ import annotations

import re
from pathlib import Path

import requests
from flask import before_render_template, template_rendered

from pp2eb.setup import lookups
from pp2eb.web.wizard import STEPS
from tests.engine_helpers import configure

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "templates"

INCLUDE = re.compile(r"""{%-?\s*include\s+["']([^"']+)["']""")
IMPORT = re.compile(r"""{%-?\s*(?:from|import)\s+["']([^"']+)["']""")
EXTENDS = re.compile(r"""{%-?\s*extends\s+["']([^"']+)["']""")
# Every template name a view writes out: "....html" in pp2eb's Python.
RENDERED = re.compile(r"""["']([\w/]+\.html)["']""")


def templates() -> dict[str, str]:
    return {
        path.relative_to(TEMPLATES).as_posix(): path.read_text()
        for path in sorted(TEMPLATES.rglob("*.html"))
    }


def named(pattern: re.Pattern) -> set[str]:
    return {name for source in templates().values() for name in pattern.findall(source)}


def rendered_by_views() -> set[str]:
    return {
        name
        for path in (ROOT / "pp2eb").rglob("*.py")
        for name in RENDERED.findall(path.read_text())
    }


def test_every_include_is_a_partial():
    included = named(INCLUDE)
    assert included, "no {% include %} found: the pattern is wrong"
    assert {name for name in included if not name.startswith("partials/")} == set()


def test_an_underscore_template_is_only_imported_or_extended():
    underscored = {name for name in templates() if name.rsplit("/", 1)[-1].startswith("_")}
    assert underscored == {"_macros.html", "reports/_macros.html", "wizard/_step.html"}
    assert underscored <= named(IMPORT) | named(EXTENDS)
    assert underscored.isdisjoint(named(INCLUDE) | rendered_by_views())


def test_every_partial_is_used_and_every_named_template_exists():
    partials = {name for name in templates() if name.startswith("partials/")}
    assert partials <= named(INCLUDE) | rendered_by_views()
    for name in named(INCLUDE) | named(IMPORT) | named(EXTENDS) | rendered_by_views():
        assert (TEMPLATES / name).is_file(), name


def test_field_errors_are_written_once_in_a_macro():
    loops = {
        name: len(re.findall(r"{%-?\s*for \w+ in [\w.]+\.errors", source))
        for name, source in templates().items()
    }
    assert {name: n for name, n in loops.items() if n} == {"_macros.html": 1}
    macros = templates()["_macros.html"]
    assert re.search(r"{% macro field_errors\(field\) %}{% for error in field\.errors %}", macros)


def test_field_errors_shows_each_error_escaped(app):
    class Field:
        errors = ["Choose a ledger.", "<b>not bold</b>"]

    with app.test_request_context():
        macros = app.jinja_env.get_template("_macros.html").module
        html = str(macros.field_errors(Field()))
    assert html == (
        '<small class="error">Choose a ledger.</small>'
        '<small class="error">&lt;b&gt;not bold&lt;/b&gt;</small>'
    )


# Any way to hand Jinja a filter, global, test or context processor.
REGISTRATION = re.compile(
    r"app_template_(?:filter|global|test)|app_context_processor|add_template_(?:filter|global|test)"
    r"|jinja_env\.(?:globals|filters|tests)|\bcontext_processor\b|\btemplate_(?:filter|global)\("
)


def test_template_helpers_are_registered_in_one_module():
    places = {
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "pp2eb").rglob("*.py")
        if REGISTRATION.search(path.read_text())
    }
    assert places == {"pp2eb/web/template_helpers.py"}


def test_the_registered_helpers_are_the_views_own(app):
    from pp2eb import dutchtime, states
    from pp2eb.web import connect, htmx, wizard

    assert app.jinja_env.filters["local_time"] is dutchtime.show
    assert app.jinja_env.filters["state_label"] is states.state_label
    assert app.jinja_env.globals["OrderState"] is states.OrderState
    assert app.jinja_env.filters["vat_rounding"] is connect.vat_rounding_label
    assert app.jinja_env.globals["country_name"] is htmx.country_name
    assert wizard.progress_on_connect_pages in app.template_context_processors[None]


def test_every_template_compiles_with_the_registered_filters(app):
    for name in templates():
        app.jinja_env.get_template(name)  # an unknown filter fails here


def pages(app) -> list[str]:
    """Every page and fragment a browser GETs, with a booked and a failed order."""
    fixed = [
        rule.rule
        for rule in app.url_map.iter_rules()
        if "GET" in rule.methods and not rule.arguments and rule.endpoint != "static"
    ]
    return fixed + [
        "/orders/1",
        "/orders/31",
        "/connect/plugandpay",
        "/connect/eboekhouden",
        *(f"/setup/{step.slug}" for step in STEPS),
        "/htmx/ledgers/debtor_ledger",
        "/htmx/invoice-template?insertion=invoice",
        "/htmx/oss-ledgers?oss=oss",
        "/htmx/payment-ledgers?book_payments=yes",
    ]


def test_no_template_calls_an_api_while_it_renders(app, client, auth, runner, sandbox, monkeypatch):
    """What a page shows from an API is looked up by its view; rendering does no I/O."""
    configure(app)
    runner.invoke(args=["sync"])  # books order 1; order 31 fails (exit code 1)
    auth.login()
    answers = {}
    rendering: list[str] = []
    during_render: list[tuple[str, str]] = []
    send = requests.Session.request

    def request(self, method, url, *args, **kwargs):
        if rendering:
            during_render.append((rendering[-1], url))
        return send(self, method, url, *args, **kwargs)

    def started(sender, template, context, **extra):
        rendering.append(template.name)

    def finished(sender, template, context, **extra):
        rendering.pop()

    monkeypatch.setattr(requests.Session, "request", request)
    with (
        before_render_template.connected_to(started, app),
        template_rendered.connected_to(finished, app),
    ):
        for url in pages(app):
            lookups.clear()  # a look-up while rendering would have to ask the API
            answers[url] = client.get(url)
    assert {
        url: r.status_code for url, r in answers.items() if r.status_code not in (200, 302)
    } == {}
    assert "1300 — Debiteuren" in answers["/orders/1"].get_data(as_text=True)  # the view looked up
    assert rendering == [] and during_render == []
    assert "ledger_label" not in app.jinja_env.globals
