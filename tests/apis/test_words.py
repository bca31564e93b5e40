"""The words about API failures: one place (pp2eb/apis/words.py), each kind of error worded from
it, the side named, the reconnect advice said one way, and no copy of it anywhere else."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

from pp2eb.apis import eboekhouden, plugandpay, words
from pp2eb.apis import errors as apierrors
from pp2eb.engine.runstate import RunState
from pp2eb.setup import lookups

ROOT = Path(__file__).resolve().parents[2]
SIDES = [(plugandpay, words.PLUGANDPAY), (eboekhouden, words.EBOEKHOUDEN)]


def reconnect_words(api: str) -> str:
    if api == words.EBOEKHOUDEN:
        return words.CONNECT_AGAIN_WITH_A_NEW_TOKEN % {"name": api}
    return words.CONNECT_AGAIN_WITH_A_NEW_KEY % {"name": api}


# (kind, how its text starts, the fix an order gets); %(name)s is the side.
KINDS = [
    ("AuthError", words.REFUSED_THE_CREDENTIALS, None),  # None: the reconnect words
    ("RateLimited", words.ASKS_TO_SLOW_DOWN, words.TRIED_AGAIN_NEXT_RUN),
    ("Unavailable", words.NOT_REACHED, f"{words.TRIED_AGAIN_NEXT_RUN} {words.IF_IT_LASTS}"),
    ("Rejected", words.REFUSED_THE_REQUEST, words.CHECK_THE_ORDER),
    ("NotFound", words.COULD_NOT_FIND_IT, words.CHECK_THE_ORDER),
]


@pytest.mark.parametrize(("module", "api"), SIDES)
@pytest.mark.parametrize(("kind", "head", "fix"), KINDS)
def test_each_kind_of_error_is_worded_from_words(module, api, kind, head, fix):
    exc = getattr(module, kind)("the API's own message", status=418)

    reason, what_to_do = words.explain_api_error(exc)

    assert exc.api == api
    assert str(exc).startswith(f"{head % {'name': api}} (418)")
    assert what_to_do == (fix or reconnect_words(api))
    assert api.split(".")[0] in reason  # the side is named
    if kind == "AuthError":
        assert str(exc).endswith(reconnect_words(api))  # the error itself says it the same way


def test_the_bare_kinds_are_worded_from_words_too():
    assert str(apierrors.ApiError("boom")) == "The API answered with an error: boom."
    assert str(apierrors.AuthError(api="Shop")).startswith("Shop refused the credentials.")
    uncertain = apierrors.Unavailable(api="Shop", write_uncertain=True)
    assert uncertain.advice == words.CHECK_BEFORE_TRYING_AGAIN % {"name": "Shop"}


def test_the_code_catalogue_comes_before_the_kind_and_a_payment_has_its_own_words():
    exc = eboekhouden.Rejected("Invoice number already exists", code="MUT_019", status=400)

    booking = words.explain_api_error(exc)
    payment = words.explain_api_error(exc, payment=True)

    assert booking[1] == words.EBOEKHOUDEN_CODES["MUT_019"][1]
    assert payment == words.PAYMENT_CODES["MUT_019"] != booking
    assert words.explain_api_error(eboekhouden.Rejected("x", code="MUT_005")) == (
        words.explain_api_error(eboekhouden.Rejected("x", code="MUT_005"), payment=True)
    )


@pytest.mark.parametrize(
    ("api", "secret", "other"),
    [
        (words.PLUGANDPAY, "API key", "token"),
        (words.EBOEKHOUDEN, "API token", " key"),
    ],
)
def test_a_refused_key_names_its_side_and_what_it_is_called_there(api, secret, other):
    for text in (
        words.refused_stored_key(api),
        words.refused_new_key(api),
        words.reconnect(api),
    ):
        assert api in text and secret in text and other not in text
    assert words.refused_stored_key(api).endswith(words.reconnect(api))
    assert words.connect_again(api) == f"Connect {api} again"
    assert words.reconnect(api).startswith(words.connect_again(api))


def test_a_stopped_run_says_which_side_to_connect_again_and_why():
    exc = eboekhouden.AuthError("Access token has expired", status=401, code="API_SESSION_004")

    message = RunState.abort_message(exc)

    assert message == (
        "e-Boekhouden.nl refused the stored API token. "
        + reconnect_words(words.EBOEKHOUDEN)
        + " The orders are untouched. (401, API_SESSION_004: Access token has expired)"
    )
    assert words.run_stopped_by_unreachable("Plug&Pay", 3) == (
        "Plug&Pay could not be reached 3 times in a row; the run stopped and the rest follows "
        "next run."
    )


def fake_translate(message: str, **variables: object) -> str:
    """Brackets each translated piece, so that an untranslated one shows."""
    return "«" + (message % variables if variables else message) + "»"


@pytest.mark.parametrize(
    "make",
    [
        lambda t: words.refused_stored_key(words.EBOEKHOUDEN, t),
        lambda t: words.refused_new_key(words.PLUGANDPAY, t),
        lambda t: words.rate_limited(words.PLUGANDPAY, t),
        lambda t: words.unreachable(words.PLUGANDPAY, "HTTP 500", t),
        lambda t: words.unreachable(words.PLUGANDPAY, "500", t, advice=words.CHECK_THE_ADDRESS),
        lambda t: words.refused_request(words.EBOEKHOUDEN, "HTTP 422", t),
        lambda t: words.unreadable_answer(words.EBOEKHOUDEN, "ValueError", t),
        lambda t: words.connect_again(words.EBOEKHOUDEN, t),
    ],
)
def test_a_page_gets_every_word_translated(make):
    text = make(fake_translate)
    outside = "".join(part.split("»", 1)[-1] for part in text.split("«"))
    assert text.startswith("«") and not any(c.isalpha() for c in outside.replace("HTTP", ""))
    assert make(words.english) == text.replace("«", "").replace("»", "")


def test_the_lists_and_the_connect_page_use_the_same_words(app):
    with app.test_request_context():
        refused = lookups.describe(lookups.LookupFailed("plugandpay", lookups.REFUSED))
        down = lookups.LookupFailed("eboekhouden", lookups.UNAVAILABLE, "HTTP 503")
        down = lookups.describe(down)
    assert refused == words.refused_stored_key(words.PLUGANDPAY)
    assert down == words.unreachable(words.EBOEKHOUDEN, "HTTP 503")


def test_the_words_for_pages_are_in_the_dutch_catalogue():
    marked = {
        message
        for _line, message, _comments, _context in extract_from_file(
            "python", ROOT / "pp2eb" / "apis" / "words.py", keywords={"N_": None}
        )
    }
    with open(ROOT / "pp2eb/translations/nl/LC_MESSAGES/messages.po", "rb") as file:
        po = read_po(file, locale="nl")
    assert {words.CONNECT_AGAIN_WITH_A_NEW_KEY, words.CONNECT_AGAIN_WITH_A_NEW_TOKEN} <= marked
    untranslated = [m for m in marked if po.get(m) is None or not po.get(m).string]
    assert not untranslated


# Fragments of the reconnect advice and of each kind's words: found in words.py only.
FRAGMENTS = [
    "reconnect",
    "connect it again",
    "again with a new",
    "with a new key",
    "with a new token",
    "new api key",
    "new api token",
    "with a valid key",
    "slow down",
    "could not be reached or did not answer",
    "refused the credentials",
    "refused the request",
]


def string_literals(path: Path) -> list[tuple[int, str]]:
    """The strings written in a module's code, without its docstrings."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
    ]


def test_no_other_module_words_api_failures_itself():
    package = ROOT / "pp2eb"
    found = [
        f"{path.relative_to(ROOT)}:{line}: {text!r}"
        for path in sorted(package.rglob("*.py"))
        if path != package / "apis" / "words.py" and "sandbox" not in path.parts
        for line, text in string_literals(path)
        if any(fragment in text.lower() for fragment in FRAGMENTS)
    ]
    assert not found, "word these in pp2eb/apis/words.py:\n" + "\n".join(found)


def test_the_scan_finds_the_words_where_they_are():
    texts = [text.lower() for _line, text in string_literals(ROOT / "pp2eb/apis/words.py")]
    for fragment in ["again with a new", "new api key", "new api token", "slow down"]:
        assert any(fragment in text for text in texts), fragment


def test_each_error_class_names_its_own_kind_for_the_words():
    """``words`` tells the errors apart by ``kind`` (it cannot import their classes)."""
    classes = [getattr(apierrors, name) for name, _, _ in KINDS] + [apierrors.ApiError]
    kinds = [cls.kind for cls in classes]
    assert len(set(kinds)) == len(kinds), kinds
    for module, _ in SIDES:
        for name, _, _ in KINDS:
            assert getattr(module, name).kind == getattr(apierrors, name).kind
