"""static/style.css: colours named once in :root, each rule written once, every class used."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STYLESHEET = ROOT / "static" / "style.css"

COLOUR = re.compile(
    r"#[0-9a-f]{3,8}\b|\b(?:rgba?|hsla?|hwb|lab|lch|oklab|oklch|color)\("
    r"|\b(?:white|black|red|green|blue|yellow|orange|gray|grey|silver|purple|pink|brown)\b",
    re.I,
)
CLASS_ATTRIBUTE = re.compile(r'class="([^"]*)"')
QUOTED = re.compile(r"""'([\w-]+)'|"([\w-]+)\"""")


def rules() -> list[tuple[list[str], dict[str, str]]]:
    """(selectors, declarations) of each rule, comments left out."""
    text = re.sub(r"/\*.*?\*/", "", STYLESHEET.read_text(), flags=re.S)
    assert "@" not in text, "an @-rule: teach this parser about it"
    found = []
    for selector, body in re.findall(r"([^{}]+)\{([^{}]*)\}", text):
        declarations = {}
        for declaration in filter(None, (d.strip() for d in body.split(";"))):
            name, value = declaration.split(":", 1)
            declarations[name.strip()] = " ".join(value.split())
        found.append(([" ".join(s.split()) for s in selector.split(",")], declarations))
    return found


def root_properties() -> dict[str, str]:
    roots = [declarations for selectors, declarations in rules() if selectors == [":root"]]
    assert len(roots) == 1
    return roots[0]


def test_colours_are_custom_properties_named_once_in_root():
    colours = root_properties()
    assert all(COLOUR.fullmatch(value) for value in colours.values())
    written = {
        (selector, name, value)
        for selectors, declarations in rules()
        if selectors != [":root"]
        for name, value in declarations.items()
        if COLOUR.search(value)
        for selector in selectors
    }
    assert written == set(), "a colour outside :root: name it there and use var(--...)"
    used = set(re.findall(r"var\((--[\w-]+)\)", STYLESHEET.read_text()))
    assert used == set(colours), "every custom property is defined once and used"


def test_no_rule_is_written_twice():
    seen: dict[str, int] = {}
    for selectors, _ in rules():
        for selector in selectors:
            seen[selector] = seen.get(selector, 0) + 1
    assert {selector: n for selector, n in seen.items() if n > 1} == {}


def used_classes() -> set[str]:
    """Every class the app can put on an element.

    Written in a template's class="..." (a word, or a quoted word in a Jinja expression there);
    a class made by an expression (class="run-{{ run.status }}") is any prefix + a quoted word
    of pp2eb's Python or the templates (the states, the flash categories); and the classes
    htmx sets, named in the vendored script.
    """
    templates = [path.read_text() for path in (ROOT / "templates").rglob("*.html")]
    python = [path.read_text() for path in (ROOT / "pp2eb").rglob("*.py")]
    words = {a or b for source in templates + python for a, b in QUOTED.findall(source)}
    classes = set()
    for source in templates:
        for value in CLASS_ATTRIBUTE.findall(source):
            value = re.sub(r"{%.*?%}", " ", value)
            classes |= {a or b for a, b in QUOTED.findall(value)}
            for token in re.sub(r"{{.*?}}", "\0", value).split():
                if "\0" in token:
                    prefix = token.split("\0", 1)[0]
                    classes |= {prefix + word for word in words}
                else:
                    classes.add(token)
    for path in (ROOT / "static").glob("*.js"):
        classes |= set(re.findall(r"htmx-[\w-]+", path.read_text()))
    return classes


def test_every_class_in_the_stylesheet_is_used():
    styled = {
        name
        for selectors, _ in rules()
        for selector in selectors
        for name in re.findall(r"\.([A-Za-z_][\w-]*)", selector)
    }
    assert styled, "no class selector found: the parser is wrong"
    assert styled - used_classes() == set()
