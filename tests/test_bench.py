"""The benchmark machinery at a tiny size, so that it does not rot: no timing is asserted."""

from __future__ import annotations

import socket

from bench import figures, links, overview, report, run

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


def test_a_tiny_links_bench_books_each_invoice_once_in_every_scenario(tmp_path):
    out = tmp_path / "results.md"
    out.write_text("# Benchmark results\n\nWhat make bench wrote.\n")
    opts = links.Options(
        links=3,
        orders=8,
        latency_ms=1,
        processes=[1, 2],
        parallel=[1, 2],
        port=free_ports(),
        out=out,
        scratch=tmp_path / "out",
    )
    results = links.run(opts)
    assert [(s["processes"], s["parallel"]) for s in results["scenarios"]] == [
        (1, 1),
        (1, 2),
        (2, 1),
        (2, 2),
    ]
    for scenario in results["scenarios"]:
        check = scenario["check"]
        assert check["duplicates"] == 0
        assert check["bookings"] == check["states"]["booked"] > 0
        # Each link synced once, by one of the processes; the others found it busy or not due.
        assert check["runs"] == 3
        assert sum(p["links"].get("synced", 0) for p in scenario["runs"]) == 3
        assert len(scenario["runs"]) == scenario["processes"]
        assert all(p["peak_rss_mib"] > 0 and p["other"] == [] for p in scenario["runs"])
        assert 0 < scenario["bound"] < scenario["wall"]
    section = links.render(results)
    report.write_section(out, section)
    report.write_section(out, section)  # in place of the one there
    text = out.read_text()
    assert text.startswith("# Benchmark results\n\nWhat make bench wrote.\n\n")
    assert text.count(report.SECTION_START) == 1 and text.endswith(section)
    assert "| 2 process(es), 2 parallel |" in section


def test_a_tiny_overview_bench_parses_each_order_once_and_keeps_the_other_sections(tmp_path):
    out = tmp_path / "results.md"
    kept = f"{report.SECTION_START}\nWhat make bench-links wrote.\n{report.SECTION_END}\n"
    out.write_text(f"# Benchmark results\n\nWhat make bench wrote.\n\n{kept}")
    opts = overview.Options(links=3, orders=40, repeat=2, out=out)
    results = overview.run(opts)

    (run_,) = results["runs"]
    assert run_["made"]["links"] == run_["rows"] == 3
    assert run_["made"]["orders"] == 3 * 40
    looks = {name: overview.figures(run_, name) for name, _label in overview.LOOKS}
    # Records from before 0014: every one with an invoice date is worked out once, on the first
    # look, and kept on its record; no later look parses any, in this process or a new one.
    dated = looks["rows cold"]["parsed"]
    assert 0 < dated <= 3 * 40
    assert looks["rows warm"]["parsed"] == looks["page warm"]["parsed"] == 0
    assert looks["rows after one change"]["parsed"] == looks["page cold"]["parsed"] == 0
    # The overview answers in a fixed number of queries, whatever the number of links.
    assert 0 < looks["rows warm"]["queries"] <= looks["rows cold"]["queries"] < 15
    assert len(run_["looks"]["rows warm"]) == len(run_["looks"]["page warm"]) == 2

    section = overview.render(results)
    report.write_section(out, section, report.OVERVIEW_START, report.OVERVIEW_END)
    report.write_section(out, section, report.OVERVIEW_START, report.OVERVIEW_END)
    text = out.read_text()
    assert text.startswith(f"# Benchmark results\n\nWhat make bench wrote.\n\n{kept}")
    assert text.count(report.OVERVIEW_START) == 1 and text.endswith(section)
    assert "**3 links × 40 recorded orders**" in section


def test_make_bench_keeps_the_sections_of_the_other_benchmarks():
    links_section = f"{report.SECTION_START}\nlinks\n{report.SECTION_END}\n"
    overview_section = f"{report.OVERVIEW_START}\noverview\n{report.OVERVIEW_END}\n"
    before = f"# Benchmark results\n\nold table\n\n{overview_section}\n{links_section}"
    text = report.with_kept_sections("# Benchmark results\n\nnew table\n", before)
    assert text == (f"# Benchmark results\n\nnew table\n\n{links_section}\n{overview_section}")
    assert report.with_kept_sections("new\n", "old\n") == "new\n"
