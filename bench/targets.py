"""The speed targets, each checked against the figures, and what stands in the way."""

from __future__ import annotations

import math
from typing import Any

from bench.dropdowns import percentile
from bench.figures import PAGE, figures, limited_bound

RSS_GROWTH = 0.10
CPU_TARGET_MS = 2.0
WARM_P95_MS = 20.0
LIMIT_SLACK = 0.10


def targets(results: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """Each target: what it asks, what was measured, and whether it is met."""
    runs = [figures(s) for s in results["pp2eb"]]
    checks = [s["check"] for s in results["pp2eb"]]
    out = []
    writes = all(
        f["writes"] <= f["booked"] + c["relations"] for f, c in zip(runs, checks, strict=True)
    )
    out.append(
        (
            "writes ≤ 1 per order + 1 per new customer",
            "; ".join(
                f"N={f['n']:,}: {f['writes']} writes for {f['booked']} bookings + "
                f"{c['relations']} new relations"
                for f, c in zip(runs, checks, strict=True)
            ),
            writes,
        )
    )
    reads = [f["eb_reads"] for f in runs]
    out.append(
        (
            "e-Boekhouden reads O(1) per run",
            ", ".join(f"N={f['n']:,}: {f['eb_reads']}" for f in runs),
            max(reads) <= min(reads) + 10,
        )
    )
    sessions = [f["sessions"] for f in runs]
    out.append(
        (
            "one session per run",
            ", ".join(f"N={f['n']:,}: {f['sessions']} calls (open + close)" for f in runs),
            all(s <= 2 for s in sessions),
        )
    )
    out.append(
        (
            f"CPU in pp2eb < {CPU_TARGET_MS:g} ms per order",
            ", ".join(
                f"N={f['n']:,}: {f['own_ms']:.2f} own ({f['cpu_ms']:.2f} with the HTTP client)"
                for f in runs
            ),
            all(f["own_ms"] < CPU_TARGET_MS for f in runs),
        )
    )
    if len(runs) > 1:
        low, high = runs[0], runs[-1]
        growth = high["peak_mib"] / low["peak_mib"] - 1
        out.append(
            (
                f"peak RSS at the largest N within {RSS_GROWTH:.0%} of the smallest",
                f"{low['peak_mib']:.1f} → {high['peak_mib']:.1f} MiB ({growth:+.1%})",
                growth <= RSS_GROWTH,
            )
        )
    again = [figures(s, 1) for s in results["pp2eb"]]
    out.append(
        (
            "re-run: no writes, at most the Plug&Pay list pages read",
            "; ".join(_rerun(f, figures(s)) for f, s in zip(again, results["pp2eb"], strict=True)),
            all(_rerun_ok(f, figures(s)) for f, s in zip(again, results["pp2eb"], strict=True)),
        )
    )
    if results.get("dropdowns"):
        warm = {n: percentile(s["warm"], 0.95) * 1000 for n, s in results["dropdowns"].items()}
        out.append(
            (
                f"warm dropdown p95 < {WARM_P95_MS:g} ms",
                ", ".join(f"{v:.1f} ms" for v in warm.values()),
                all(v < WARM_P95_MS for v in warm.values()),
            )
        )
    if results.get("limited"):
        scenario = results["limited"]
        ratio = figures(scenario)["wall"] / limited_bound(scenario)
        out.append(
            (
                f"rate limited: time within {LIMIT_SLACK:.0%} of calls ÷ limit",
                f"{ratio:.2f} × the bound",
                ratio <= 1 + LIMIT_SLACK,
            )
        )
    return out


def _left(first: dict[str, Any]) -> int:
    return first["skipped"] + first["failed"] + first.get("waiting", 0)


def _rerun(f: dict[str, Any], first: dict[str, Any]) -> str:
    text = (
        f"N={f['n']:,}: {f['writes']} writes, {f['pp_reads']} Plug&Pay reads "
        f"({f['list_pages']} list pages), {f['eb_reads']} e-Boekhouden reads, "
        f"{f['sessions']} session calls"
    )
    if _left(first):
        text += f" (reference data once: {_left(first)} orders were not booked, see the notes)"
    return text


def _rerun_ok(f: dict[str, Any], first: dict[str, Any]) -> bool:
    """No writes; beyond the list pages only the reference data once, if any order is left."""
    # The list pages themselves: no more than the orders need.
    pages, left = min(f["list_pages"], math.ceil(f["n"] / PAGE)), bool(_left(first))
    extra_pp, extra_eb = (1, 2) if left else (0, 0)  # products; ledgers and templates
    return (
        f["writes"] == 0
        and f["pp_reads"] <= pages + extra_pp
        and f["eb_reads"] <= extra_eb
        and f["sessions"] <= 2 * left
    )


def notes(results: dict[str, Any]) -> list[str]:
    """Why a target is missed, or what a figure depends on, from the figures themselves."""
    runs = [figures(s) for s in results["pp2eb"]]
    again = [figures(s, 1) for s in results["pp2eb"]]
    out = []
    biggest = runs[-1]
    if biggest["sandbox_ms"]:
        out.append(
            "Wall time: each call waits for its answer, so the time per order is the "
            f"sandboxes' CPU plus pp2eb's: at N={biggest['n']:,} {biggest['sandbox_ms']:.1f} + "
            f"{biggest['cpu_ms']:.1f} ms, against {biggest['wall'] * 1000 / biggest['n']:.1f} "
            "ms measured. The sandboxes check every new booking against all earlier ones, so "
            "their share grows with N. Real APIs answer over the internet in tens to hundreds "
            "of milliseconds, and at their limits the calls set the pace (the rate-limited row)."
        )
    if any(f["own_ms"] >= CPU_TARGET_MS for f in runs):
        out.append(
            "CPU per order: pp2eb's own share is the database (two commits per order, which "
            "exactly-once needs: the intent before the write and the confirmation after), "
            "parsing and mapping the order, and turning the order and the booking into JSON "
            "(stored with the record, for the order page). The process "
            "sleeps on every API call, and the same work costs about twice the CPU right after "
            "a wake-up (cold caches; see bench/README.md), which is part of every figure here; "
            "the longer the sandboxes take per call (more at a larger N), the colder. Done back "
            "to back, pp2eb's database work per order does not grow with N. The HTTP client "
            "(requests) is measured apart; it is the same for any connector."
        )
    left = [f for f in runs if f["skipped"] + f["failed"] + f.get("waiting", 0)]
    if any(f["eb_reads"] or f["pp_reads"] > f["list_pages"] for f in again) and left:
        out.append(
            "Re-run reads: the first run left "
            + ", ".join(f"{f['skipped'] + f['failed']} (N={f['n']:,})" for f in left)
            + " orders not booked: test-mode orders and concepts (skipped) and orders that "
            "charged Dutch VAT to a consumer elsewhere in the EU (refused under OSS, on purpose "
            "in the demo mix). Every backfill looks at those again, and mapping them needs the "
            "reference data: read once per run (ledgers, templates, products) in one session, "
            "whatever N. With every order booked the re-run reads only the list pages "
            "(tests/test_bench.py checks it)."
        )
    if results.get("limited"):
        f = figures(results["limited"])
        out.append(
            f"Rate limited: {f['throttled']} calls were answered 429 and sent again after the "
            "Retry-After the sandbox gives (whole seconds, as HTTP has it); the engine waits "
            "it out, so bursts fill each window and the time follows calls ÷ limit."
        )
    return ["## Notes", "", *[f"- {line}" for line in out], ""] if out else []
