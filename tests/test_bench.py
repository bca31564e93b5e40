"""The benchmark machinery at a tiny size, so that it does not rot: no timing is asserted."""

from __future__ import annotations

import socket

from bench import figures, report, run

ORDERS = 20


def free_ports(first: int = 5250, last: int = 5299) -> int:
    """A port in pp2eb's bench range whose next port is free too (sandbox, app)."""
    for port in range(first, last):
        try:
            for candidate in (port, port + 1):
                with socket.socket() as probe:
                    probe.bind(("127.0.0.1", candidate))
        except OSError:
            continue
        return port
    raise RuntimeError("no free port pair in the bench range")


def test_a_tiny_bench_books_each_order_once_and_writes_the_table(tmp_path):
    opts = run.Options(
        sizes=[ORDERS],
        naive_size=ORDERS,
        limited_size=5,
        dropdown_requests=3,
        port=free_ports(),
        out=tmp_path / "results.md",
        scratch=tmp_path / "out",
    )
    results = run.run(opts)
    text = report.render(results)

    for heading in ("## Backfill", "## Re-run", "## Rate limited", "## Dropdowns", "## Targets"):
        assert heading in text
    assert f"| pp2eb N={ORDERS} | naive N={ORDERS} |" in text

    scenario = results["pp2eb"][0]
    first, again = figures.figures(scenario), figures.figures(scenario, 1)
    assert first["booked"] == ORDERS
    assert scenario["check"] == {**scenario["check"], "duplicates": 0, "bookings": first["booked"]}
    assert (again["booked"], again["already_booked"], again["writes"]) == (0, first["booked"], 0)
    # The first 20 orders of the bench's seed are all bookable, so nothing is left to look at
    # again: the re-run reads the one list page and nothing else.
    assert (first["skipped"], first["failed"]) == (0, 0)
    assert (again["pp_reads"], again["eb_reads"], again["sessions"]) == (1, 0, 0)

    naive = figures.figures(results["naive"])
    assert results["naive"]["check"]["duplicates"] == 0
    assert naive["booked"] == first["booked"]
    assert naive["total"] > first["total"]

    limited = figures.figures(results["limited"])
    assert limited["booked"] > 0 and results["limited"]["check"]["duplicates"] == 0
    for samples in results["dropdowns"].values():
        assert len(samples["cold"]) == len(samples["warm"]) == 3
