"""The results as a Markdown table, with each target checked against the figures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.dropdowns import percentile
from bench.figures import figures, limited_bound
from bench.targets import notes, targets

# ``make bench-links`` (bench/links.py) writes its own section of the results file, and so does
# ``make bench-overview`` (bench/overview.py, with its own markers): ``make bench`` keeps both.
SECTION_START = "<!-- bench-links: start -->"
SECTION_END = "<!-- bench-links: end -->"
OVERVIEW_START = "<!-- bench-overview: start -->"
OVERVIEW_END = "<!-- bench-overview: end -->"
KEPT_SECTIONS = ((SECTION_START, SECTION_END), (OVERVIEW_START, OVERVIEW_END))


def _row(label: str, values: list[str]) -> str:
    return "| " + " | ".join([label, *values]) + " |"


def _table(head: list[str], rows: list[tuple[str, list[str]]]) -> list[str]:
    lines = [_row("", head), "|" + "---|" * (len(head) + 1)]
    return lines + [_row(label, values) for label, values in rows]


def backfill_table(results: dict[str, Any]) -> list[str]:
    """Table 1 and 2: the backfill and its re-run, pp2eb per N and the naive connector."""
    columns = [(f"pp2eb N={s['n']:,}", s) for s in results["pp2eb"]]
    if "naive" in results:
        columns.append((f"naive N={results['naive']['n']:,}", results["naive"]))
    first = [figures(s) for _, s in columns]
    again = [figures(s, 1) for _, s in columns]

    def row(label, fmt, key, rows=first):
        return (label, [fmt.format(f[key]) if key in f else "" for f in rows])

    def per(label, key, rows=first):
        return (label, [f"{f['per_order'][key]:.3f}" for f in rows])

    head = [name for name, _ in columns]
    outcome = [
        f"{f['booked']} / {f['skipped']} / {f['failed']} / {f.get('waiting', 0)}" for f in first
    ]
    checks = [f"{s['check']['duplicates']}" for _, s in columns]
    table1 = _table(
        head,
        [
            ("booked / skipped / failed / waiting", outcome),
            row("wall time (s)", "{:.1f}", "wall"),
            row("orders per second", "{:.0f}", "rate"),
            per("Plug&Pay reads per order", "pp_reads"),
            per("e-Boekhouden reads per order", "eb_reads"),
            per("writes per order", "writes"),
            per("session calls per order", "sessions"),
            row("all API calls per order", "{:.2f}", "calls_per_order"),
            row("CPU ms per order, whole pp2eb process", "{:.2f}", "cpu_ms"),
            row("… of which the HTTP client (requests)", "{:.2f}", "http_ms"),
            row("… pp2eb's own: mapping + engine + database", "{:.2f}", "own_ms"),
            row("sandboxes' CPU ms per order (their own process)", "{:.2f}", "sandbox_ms"),
            row("peak RSS during the run (MiB)", "{:.1f}", "peak_mib"),
            row("RSS when the run started (MiB)", "{:.1f}", "before_mib"),
            ("invoice numbers booked twice", checks),
        ],
    )
    table2 = _table(
        head,
        [
            row("wall time (s)", "{:.2f}", "wall", again),
            ("Plug&Pay reads", [f"{f['pp_reads']}" for f in again]),
            ("… of which order-list pages", [f"{f['list_pages']}" for f in again]),
            ("e-Boekhouden reads", [f"{f['eb_reads']}" for f in again]),
            ("writes", [f"{f['writes']}" for f in again]),
            ("session calls", [f"{f['sessions']}" for f in again]),
            row("CPU ms per order", "{:.2f}", "cpu_ms", again),
            (
                "already booked / booked again",
                [f"{f['already_booked']} / {f['booked']}" for f in again],
            ),
        ],
    )
    return ["## Backfill", "", *table1, "", "## Re-run (everything already booked)", "", *table2]


def ratio_lines(results: dict[str, Any]) -> list[str]:
    """pp2eb against the naive connector at the same N."""
    naive = results.get("naive")
    same = [s for s in results["pp2eb"] if naive and s["n"] == naive["n"]]
    if not same:
        return []
    p, q = figures(same[0]), figures(naive)
    lines = [
        f"## pp2eb and the naive connector, N={p['n']:,}",
        "",
        "| | pp2eb | naive | naive ÷ pp2eb |",
        "|---|---|---|---|",
    ]
    for label, key in (
        ("wall time (s)", "wall"),
        ("API calls", "total"),
        ("e-Boekhouden reads", "eb_reads"),
        ("session calls", "sessions"),
        ("CPU ms per order", "cpu_ms"),
    ):
        ratio = q[key] / p[key] if p[key] else float("inf")
        lines.append(f"| {label} | {p[key]:.1f} | {q[key]:.1f} | {ratio:.1f}× |")
    return [*lines, ""]


def limited_lines(results: dict[str, Any]) -> list[str]:
    """The backfill with the sandboxes throttled to the assumed API limits."""
    scenario = results.get("limited")
    if not scenario:
        return []
    f = figures(scenario)
    bound = limited_bound(scenario)
    (pp_calls, pp_window), (eb_calls, eb_window) = (
        scenario["limits"]["plugandpay"],
        scenario["limits"]["eboekhouden"],
    )
    return [
        f"## Rate limited (N={f['n']:,}: the assumed limits make a larger N slow by design)",
        "",
        "| limits | API calls | 429 answers | calls ÷ limit (s) | wall time (s) | wall ÷ bound |",
        "|---|---|---|---|---|---|",
        f"| Plug&Pay {pp_calls}/{pp_window:g} s, e-Boekhouden {eb_calls}/{eb_window:g} s "
        f"| {f['pp_reads']} + {f['eb_calls']} | {f['throttled']} | {bound:.1f} "
        f"| {f['wall']:.1f} | {f['wall'] / bound:.2f} |",
        "",
    ]


def dropdown_lines(results: dict[str, Any]) -> list[str]:
    """p50 and p95 per fragment, cold and warm, in milliseconds."""
    measured = results.get("dropdowns")
    if not measured:
        return []
    count = results["options"]["dropdown_requests"]
    lines = [
        f"## Dropdowns ({count} requests each, HTTP over loopback to pp2eb served by waitress)",
        "",
        "| fragment | cold p50 | cold p95 | warm p50 | warm p95 |",
        "|---|---|---|---|---|",
    ]
    for name, samples in measured.items():
        cells = [
            f"{percentile(samples[kind], share) * 1000:.1f} ms"
            for kind in ("cold", "warm")
            for share in (0.5, 0.95)
        ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return [*lines, ""]


def render(results: dict[str, Any]) -> str:
    """The whole results file."""
    before, after = results["machine_before"], results["machine_after"]
    lines = [
        "# Benchmark results",
        "",
        f"Written by `make bench` on {before['date']} (Python {before['python']}, "
        f"{before['cpus']} CPUs; load average {before['load'][0]:.2f} before, "
        f"{after['load'][0]:.2f} after; {results['total_seconds']:.0f} s in all). Sandboxes in "
        "their own process over loopback, pp2eb in a fresh process per scenario. How to read "
        "the figures and what was changed for them: `bench/README.md`.",
        "",
        *backfill_table(results),
        "",
        *ratio_lines(results),
        *limited_lines(results),
        *dropdown_lines(results),
        "## Targets",
        "",
        "| target | measured | met |",
        "|---|---|---|",
    ]
    for target, measured, met in targets(results):
        lines.append(f"| {target} | {measured} | {'yes' if met else '**no**'} |")
    lines += ["", *notes(results)]
    return "\n".join(lines).rstrip("\n") + "\n"


def write_section(
    path: Path, section: str, start: str = SECTION_START, end: str = SECTION_END
) -> None:
    """Put ``section`` into ``path`` in place of the one between ``start`` and ``end`` there
    (or at its end); the rest of the file stays."""
    text = path.read_text() if path.exists() else ""
    text = without_section(text, start, end).rstrip("\n")
    path.write_text((text + "\n\n" if text else "") + section)


def without_section(text: str, start: str = SECTION_START, end: str = SECTION_END) -> str:
    """``text`` without the section between the markers."""
    first, last = text.find(start), text.find(end)
    if first < 0 or last < 0:
        return text
    return text[:first] + text[last + len(end) :].lstrip("\n")


def section_of(text: str, start: str = SECTION_START, end: str = SECTION_END) -> str | None:
    """The section between the markers in ``text``, if there is one."""
    first, last = text.find(start), text.find(end)
    if first < 0 or last < 0:
        return None
    return text[first : last + len(end)] + "\n"


def with_kept_sections(text: str, before: str) -> str:
    """``text`` (``make bench``'s results) followed by the sections of the other benchmarks
    (``KEPT_SECTIONS``) that ``before``, the file as it was, holds."""
    kept = [section_of(before, *markers) for markers in KEPT_SECTIONS]
    return text + "".join("\n" + section for section in kept if section)
