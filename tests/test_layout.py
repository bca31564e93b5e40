"""The package's layout holds: every module imports on its own, no import cycle, the layers.

The import graph is read from the source (``ast``): every ``import`` and ``from ... import``,
at the top, inside a function or under ``if TYPE_CHECKING:``. An edge goes to the module an
import names (``from pp2eb.mapping import booking`` names ``pp2eb.mapping.booking``); the
parent packages Python runs on the way are not edges, or every module would reach the app
factory. The layers are those ``pp2eb/__init__.py`` maps, and ``pp2eb/mapping/__init__.py``
inside the mapper.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

Graph = dict[str, set[str]]  # module -> the modules (of the package, or outside it) it imports


def package_modules(root: Path, package: str = "pp2eb") -> dict[str, Path]:
    """Every module of ``package`` under ``root`` by its dotted name."""
    found = {}
    for path in sorted((root / package).rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def import_graph(root: Path, package: str = "pp2eb") -> Graph:
    """What each module of ``package`` imports: its own modules, and outside names as written."""
    modules = package_modules(root, package)
    graph: Graph = {}
    for name, path in modules.items():
        here = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        named: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                named.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join([*here[: len(here) - node.level + 1], *filter(None, [base])])
                for alias in node.names:
                    full = f"{base}.{alias.name}"
                    named.add(full if full in modules else base)
        graph[name] = {_owner(n, modules, package) for n in named} - {name}
    return graph


def _owner(name: str, modules: Mapping[str, Path], package: str) -> str:
    """The package's module that ``name`` lies in (``pp2eb.x.Thing`` is ``pp2eb.x``)."""
    if name != package and not name.startswith(package + "."):
        return name
    while name not in modules:
        name = name.rpartition(".")[0]
    return name


def find_cycle(graph: Mapping[str, Iterable[str]]) -> list[str] | None:
    """One import cycle (``[a, b, a]``), or None: a depth-first walk from each module in turn."""
    done: set[str] = set()  # modules from which no cycle can be reached
    for start in sorted(graph):
        path, steps = [start], [iter(sorted(graph[start]))]
        while steps:
            step = next(steps[-1], None)
            if step is None:
                steps.pop()
                done.add(path.pop())
            elif step in path:
                return path[path.index(step) :] + [step]
            elif step in graph and step not in done:
                path.append(step)
                steps.append(iter(sorted(graph[step])))
    return None


GRAPH = import_graph(ROOT)


def _inside(graph: Graph, package: str) -> dict[str, set[str]]:
    return {m: i for m, i in graph.items() if m == package or m.startswith(package + ".")}


def _of_pp2eb(names: Iterable[str]) -> set[str]:
    return {n for n in names if n == "pp2eb" or n.startswith("pp2eb.")}


def _reach(graph: Graph, start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for name in graph.get(todo.pop(), ()):
            if name not in seen:
                seen.add(name)
                todo.append(name)
    return seen


# --- the graph itself ------------------------------------------------------------------------


def test_pp2eb_has_no_import_cycle():
    cycle = find_cycle(GRAPH)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_graph_holds_imports_in_functions_and_under_type_checking(tmp_path):
    # The test of the test: a cycle made of the imports people hide is still one.
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("")
    (package / "a.py").write_text("from pkg.sub import b\n")
    (package / "sub" / "b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ..c import Thing\n"
    )
    (package / "c.py").write_text("def f():\n    import pkg.a\n\nclass Thing: ...\n")
    graph = import_graph(tmp_path, "pkg")
    assert graph["pkg.a"] == {"pkg.sub.b"}
    assert graph["pkg.sub.b"] == {"typing", "pkg.c"}
    assert graph["pkg.c"] == {"pkg.a"}
    assert find_cycle(graph) == ["pkg.a", "pkg.sub.b", "pkg.c", "pkg.a"]
    (package / "c.py").write_text("class Thing: ...\n")
    assert find_cycle(import_graph(tmp_path, "pkg")) is None


def test_every_module_imports_on_its_own():
    # One interpreter, the package forgotten before each module: as if each were imported first.
    # The migrations are not modules to import: alembic runs them from their files.
    names = [n for n in package_modules(ROOT) if not n.startswith("pp2eb.migrations")]
    script = textwrap.dedent(
        """
        import importlib, sys
        failed = []
        for name in sys.argv[1:]:
            for loaded in [m for m in sys.modules if m == "pp2eb" or m.startswith("pp2eb.")]:
                del sys.modules[loaded]
            try:
                importlib.import_module(name)
            except BaseException as exc:
                failed.append(f"{name}: {type(exc).__name__}: {exc}")
        print("\\n".join([*failed, f"tried {len(sys.argv) - 1}"]))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script, *names],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [f"tried {len(names)}"], done.stdout


# --- the layers of pp2eb/__init__.py ---------------------------------------------------------

FLASK_OR_DATABASE = (
    "flask",
    "flask_",
    "werkzeug",
    "sqlalchemy",
    "pp2eb.models",
    "pp2eb.extensions",
)
HTTP = ("requests", "urllib", "urllib3", "http", "socket")
# Pure helpers at the top of the package, for any layer: no Flask, no database, no pp2eb.
PURE_HELPERS = {"pp2eb.jsonutil", "pp2eb.dutchtime"}


def _uses(names: Iterable[str], prefixes: tuple[str, ...]) -> set[str]:
    return {n for n in names if any(n == p.rstrip("_") or n.startswith(p) for p in prefixes)}


def test_the_pure_helpers_import_nothing_of_pp2eb_nor_flask():
    for name in PURE_HELPERS:
        assert not _of_pp2eb(GRAPH[name]), name
        assert not _uses(GRAPH[name], FLASK_OR_DATABASE), name


@pytest.mark.parametrize("layer", ["pp2eb.apis", "pp2eb.mapping"])
def test_the_apis_and_the_mapper_use_neither_flask_nor_the_database(layer):
    found = {m: _uses(i, FLASK_OR_DATABASE) for m, i in _inside(GRAPH, layer).items()}
    assert not {m: bad for m, bad in found.items() if bad}


@pytest.mark.parametrize("layer", ["pp2eb.apis", "pp2eb.mapping"])
def test_the_apis_and_the_mapper_import_only_themselves_and_the_pure_helpers(layer):
    found = {m: _of_pp2eb(i) for m, i in _inside(GRAPH, layer).items()}
    outside = {
        m: {n for n in i if not n.startswith(layer)} - PURE_HELPERS for m, i in found.items()
    }
    assert not {m: names for m, names in outside.items() if names}


def test_the_mapper_does_no_http():
    found = {m: _uses(i, HTTP) for m, i in _inside(GRAPH, "pp2eb.mapping").items()}
    assert not {m: bad for m, bad in found.items() if bad}


def test_only_the_app_factory_and_its_entry_points_import_the_web():
    # The factory registers the blueprints; the flask commands set passwords with web.auth and
    # end sessions with web.security (cli.users), and serve (waitress, demo mode) makes the
    # demo login with web.auth.
    allowed = {"pp2eb", "pp2eb.cli.users", "pp2eb.serve"}
    found = {
        m: {n for n in i if n.startswith("pp2eb.web")}
        for m, i in GRAPH.items()
        if not m.startswith("pp2eb.web")
    }
    assert {m for m, names in found.items() if names} <= allowed


# --- inside the mapper (pp2eb/mapping/__init__.py) -------------------------------------------

READERS = ("pp2eb.mapping.orderjson", "pp2eb.mapping.figures", "pp2eb.mapping.readings")
WRITERS = {"pp2eb.mapping.booking", "pp2eb.mapping.payloads", "pp2eb.mapping.mapper"}


@pytest.mark.parametrize("reader", READERS)
def test_reading_an_order_needs_nothing_of_writing_a_booking(reader):
    assert not _reach(GRAPH, reader) & WRITERS


def test_the_settings_stand_on_modules_that_import_nothing_of_pp2eb():
    # So every other module of the mapper may use the settings, and none is used by them.
    used = _of_pp2eb(GRAPH["pp2eb.mapping.settings"])
    assert used and used <= set(_inside(GRAPH, "pp2eb.mapping"))
    assert not {m: _of_pp2eb(GRAPH[m]) for m in used if _of_pp2eb(GRAPH[m])}


def test_mapping_error_cut_and_shown_come_from_problems_only():
    names = {"MappingError", "cut", "shown", "QUOTED"}
    wrong = []
    for root in ("pp2eb", "tests", "bench"):
        for path in sorted((ROOT / root).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if (
                    isinstance(node, ast.ImportFrom)
                    and (node.module or "").startswith("pp2eb.")
                    and node.module != "pp2eb.mapping.problems"
                    and names & {alias.name for alias in node.names}
                ):
                    wrong.append(f"{path.relative_to(ROOT)}:{node.lineno} from {node.module}")
    assert not wrong


def test_the_formatter_lays_out_every_file():
    """No ``fmt: skip``/``fmt: off`` markers: one layout, the formatter's, everywhere."""
    markers = ("# fmt: " + "skip", "# fmt: " + "off")
    found = [
        f"{path.relative_to(ROOT)}:{number}"
        for folder in ("pp2eb", "tests", "bench")
        for path in sorted((ROOT / folder).rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if line.rstrip().endswith(markers)
    ]
    assert found == []
