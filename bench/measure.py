"""What a benchmark process measures of itself: CPU, peak RSS, and the HTTP client's share.

Linux only (``/proc/self``), like the machine the benchmark runs on. The peak RSS of one
phase comes from resetting the kernel's high-water mark (``clear_refs`` 5) before it and
reading ``VmHWM`` after it, so the set-up before the phase does not hide what the phase uses.
"""

from __future__ import annotations

import os
import resource
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

PROC_STATUS = Path("/proc/self/status")
CLEAR_REFS = Path("/proc/self/clear_refs")


def cpu_seconds() -> float:
    """User plus system CPU of this process so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def process_cpu_seconds(pid: int | None) -> float:
    """User plus system CPU of another process so far (the sandboxes), 0 when unknown."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    # Fields 14 and 15 (utime, stime) are the 12th and 13th after the command name.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _status_kb(key: str) -> int | None:
    try:
        for line in PROC_STATUS.read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def reset_peak_rss() -> bool:
    """Start a new peak-RSS window; False where the kernel does not allow it."""
    try:
        CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return True


def rss_kb() -> int:
    """The resident set size now, in KiB."""
    return _status_kb("VmRSS") or 0


def peak_rss_kb() -> int:
    """The highest RSS since the last ``reset_peak_rss`` (or since the start), in KiB."""
    peak = _status_kb("VmHWM")
    if peak is None:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak


class HttpMeter:
    """Counts this process's HTTP calls by (prefix, status) and the CPU spent inside requests.

    Installed by wrapping ``requests.Session.request``: the CPU measured there is the client's
    transport (requests, urllib3, sockets), which pp2eb would pay with any HTTP library.
    """

    def __init__(self) -> None:
        self.cpu = 0.0
        self.calls: Counter[str] = Counter()
        self._original: Callable[..., Any] | None = None

    def install(self) -> None:
        """Wrap ``requests.Session.request`` (once)."""
        if self._original is not None:
            return
        original = requests.Session.request
        meter = self

        def request(session, method, url, *args, **kwargs):
            started = time.process_time()
            status: int | str = "error"
            try:
                response = original(session, method, url, *args, **kwargs)
                status = response.status_code
                return response
            finally:
                meter.cpu += time.process_time() - started
                prefix = urlsplit(url).path.strip("/").split("/", 1)[0]
                meter.calls[f"{prefix} {status}"] += 1

        self._original = original
        requests.Session.request = request

    def snapshot(self) -> tuple[float, Counter[str]]:
        """The CPU and the call counts so far."""
        return self.cpu, Counter(self.calls)


@dataclass
class Phase:
    """What one measured phase cost this process."""

    wall: float = 0.0
    cpu: float = 0.0
    http_cpu: float = 0.0
    sandbox_cpu: float = 0.0
    rss_before_kb: int = 0
    peak_rss_kb: int = 0
    statuses: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return asdict(self)


@contextmanager
def measured(meter: HttpMeter, sandbox_pid: int | None = None) -> Iterator[Phase]:
    """Measure the block: wall time, CPU (also the sandboxes'), the HTTP client's CPU, peak
    RSS, call statuses."""
    phase = Phase()
    reset_peak_rss()
    phase.rss_before_kb = rss_kb()
    http_cpu, calls = meter.snapshot()
    cpu = cpu_seconds()
    sandbox_cpu = process_cpu_seconds(sandbox_pid)
    started = time.perf_counter()
    try:
        yield phase
    finally:
        phase.wall = time.perf_counter() - started
        phase.cpu = cpu_seconds() - cpu
        phase.sandbox_cpu = process_cpu_seconds(sandbox_pid) - sandbox_cpu
        phase.peak_rss_kb = peak_rss_kb()
        end_cpu, end_calls = meter.snapshot()
        phase.http_cpu = end_cpu - http_cpu
        phase.statuses = dict(end_calls - calls)
