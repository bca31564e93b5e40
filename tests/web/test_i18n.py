"""Dutch and English: the catalogue covers every string, the .mo matches, the switch works."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from pp2eb.sandbox import EBOEKHOUDEN_TOKEN
from pp2eb.setup import connections, lookups
from tests.conftest import csrf_token
from tests.engine_helpers import the_link

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = ROOT / "pp2eb" / "translations" / "nl" / "LC_MESSAGES"
# N_ marks the words of pp2eb/apis/words.py, translated where they are shown.
KEYWORDS = {
    "_": None,
    "gettext": None,
    "ngettext": (1, 2),
    "_l": None,
    "lazy_gettext": None,
    "N_": None,
}


def extracted() -> dict[str | tuple[str, ...], str]:
    """Every translatable string in the code and templates, with where it is."""
    with open(ROOT / "babel.cfg", encoding="utf-8") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    found = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS
    ):
        if filename.startswith((".venv", "tests")):
            continue
        found[message] = f"{filename}:{lineno}"
    return found


@pytest.fixture(scope="module")
def po():
    with open(CATALOGUE / "messages.po", "rb") as file:
        return read_po(file, locale="nl")


def test_every_string_in_the_code_is_translated(po):
    strings = extracted()
    assert len(strings) > 150  # the extraction itself works
    missing = []
    for message, where in strings.items():
        key = message[0] if isinstance(message, tuple) else message
        entry = po.get(key)
        translated = entry is not None and all(
            entry.string if isinstance(entry.string, tuple) else [entry.string]
        )
        if not translated or entry.fuzzy:
            missing.append(f"{where}: {key!r}")
    assert not missing, "not in the Dutch catalogue (see babel.cfg):\n" + "\n".join(missing)


def test_catalogue_placeholders_match(po):
    problems = [f"{m.id!r}: {errors}" for m, errors in po.check()]
    assert not problems


def test_compiled_catalogue_matches_the_po(po):
    with open(CATALOGUE / "messages.mo", "rb") as file:
        mo = read_mo(file)
    compiled = {_key(m.id): _key(m.string) for m in mo if m.id}
    assert len(compiled) > 150
    source = {_key(m.id): _key(m.string) for m in po if m.id and not m.fuzzy}
    assert compiled == source, "messages.mo is out of date: run pybabel compile (see babel.cfg)"


def _key(value):
    return tuple(value) if isinstance(value, list | tuple) else value


def test_browser_language_decides(client):
    dutch = client.get("/auth/login", headers={"Accept-Language": "nl-NL,nl;q=0.9,en;q=0.5"})
    html = dutch.get_data(as_text=True)
    assert '<html lang="nl">' in html and "Gebruikersnaam" in html and "Inloggen" in html
    english = client.get("/auth/login", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert "User name" in english.get_data(as_text=True)
    unknown = client.get("/auth/login", headers={"Accept-Language": "fr"})
    assert '<html lang="en">' in unknown.get_data(as_text=True)


def test_header_switch_works_without_javascript_and_is_remembered(client):
    html = client.get("/auth/login?next=/setup/", headers={"Accept-Language": "en"}).get_data(
        as_text=True
    )
    assert '<form class="language" method="get"' in html
    assert '<input type="hidden" name="next" value="/setup/">' in html
    assert '<button type="submit" name="lang" value="nl"' in html
    html = client.get("/auth/login?next=/setup/&lang=nl", headers={"Accept-Language": "en"})
    assert "Gebruikersnaam" in html.get_data(as_text=True)
    again = client.get("/auth/login", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Gebruikersnaam" in again  # kept in the session
    client.get("/auth/login?lang=en")
    assert "User name" in client.get("/auth/login").get_data(as_text=True)
    client.get("/auth/login?lang=xx")
    assert "User name" in client.get("/auth/login").get_data(as_text=True)


def test_wizard_and_its_error_explanations_in_dutch(app, client, auth, sandbox):
    lookups.clear()
    with app.app_context():
        connections.connect(the_link(), "eboekhouden", EBOEKHOUDEN_TOKEN)
    auth.login()
    client.get("/?lang=nl")
    html = client.get("/setup/debtor").get_data(as_text=True)
    assert "Debiteurenrekening" in html and "Stap 7 van 14" in html
    assert "— kies een grootboekrekening —" in html and "Lijst vernieuwen" in html
    sandbox.control("eboekhouden", "POST", "config", json={"revoke_api_token": EBOEKHOUDEN_TOKEN})
    html = client.get("/htmx/ledgers/debtor_ledger?refresh=1", headers={"HX-Request": "true"})
    text = html.get_data(as_text=True)
    assert "De lijst kon niet worden geladen." in text
    assert "e-Boekhouden.nl weigert het opgeslagen API-token." in text
    assert "Opnieuw proberen" in text
    lookups.clear()


def test_form_errors_in_dutch(app, client, auth, sandbox):
    auth.login()
    client.get("/?lang=nl")
    token = csrf_token(client, "/setup/sync")
    html = client.post("/setup/sync", data={"csrf_token": token, "sync_interval_minutes": "0"})
    text = html.get_data(as_text=True)
    assert "Zoek naar nieuwe orders elke (minuten)" in text
    assert "Nummer moet tussen 1 en 1440 liggen." in text  # WTForms' own Dutch catalogue
