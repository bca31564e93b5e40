"""Figures derived from one scenario's raw measurements: calls by kind, per order, bounds."""

from __future__ import annotations

from typing import Any

PAGE = 100  # orders per Plug&Pay list page (pp2eb's page size)


def classify(stats: dict[str, dict[str, int]], statuses: dict[str, int]) -> dict[str, int]:
    """Calls by kind; calls answered 429 (sent again) are counted apart, not as calls."""
    kinds = {"pp_reads": 0, "eb_reads": 0, "writes": 0, "sessions": 0}
    kinds["pp_reads"] = sum(stats.get("plugandpay", {}).values())
    for rule, count in stats.get("eboekhouden", {}).items():
        method, path = rule.split(" ", 1)
        if path == "/v1/session":
            kinds["sessions"] += count
        elif method == "GET":
            kinds["eb_reads"] += count
        else:
            kinds["writes"] += count
    kinds["throttled"] = sum(v for k, v in statuses.items() if k.endswith(" 429"))
    kinds["pp_throttled"] = statuses.get("plugandpay 429", 0)
    kinds["eb_throttled"] = statuses.get("eboekhouden 429", 0)
    # The sandboxes count a call they refused with 429 too; the client sent it again.
    kinds["pp_reads"] -= kinds["pp_throttled"]
    kinds["eb_calls"] = kinds["eb_reads"] + kinds["writes"] + kinds["sessions"]
    kinds["eb_calls"] -= kinds["eb_throttled"]
    kinds["total"] = kinds["pp_reads"] + kinds["eb_calls"]
    kinds["list_pages"] = stats.get("plugandpay", {}).get("GET /v2/orders", 0)
    return kinds


def figures(scenario: dict[str, Any], run: int = 0) -> dict[str, Any]:
    """Derived figures of one run of a scenario."""
    phase, n = scenario["runs"][run], scenario["n"]
    calls = classify(phase["stats"], phase["statuses"])
    per = max(n, 1)
    return {
        **phase["result"],
        **calls,
        "n": n,
        "wall": phase["wall"],
        "rate": n / phase["wall"] if phase["wall"] else 0.0,
        "cpu_ms": phase["cpu"] * 1000 / per,
        "http_ms": phase["http_cpu"] * 1000 / per,
        "own_ms": (phase["cpu"] - phase["http_cpu"]) * 1000 / per,
        "sandbox_ms": phase.get("sandbox_cpu", 0.0) * 1000 / per,
        "peak_mib": phase["peak_rss_kb"] / 1024,
        "before_mib": phase["rss_before_kb"] / 1024,
        "per_order": {k: calls[k] / per for k in ("pp_reads", "eb_reads", "writes", "sessions")},
        "calls_per_order": calls["total"] / per,
    }


def limited_bound(scenario: dict[str, Any]) -> float:
    """Seconds the calls need at the limits: the slower API's calls ÷ its limit."""
    f = figures(scenario)
    (pp_calls, pp_window), (eb_calls, eb_window) = (
        scenario["limits"]["plugandpay"],
        scenario["limits"]["eboekhouden"],
    )
    return max(f["pp_reads"] * pp_window / pp_calls, f["eb_calls"] * eb_window / eb_calls)
