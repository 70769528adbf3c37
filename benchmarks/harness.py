"""Shared benchmark harness: wall time, peak memory, side-by-side ratios, and docs/benchmarks.md.

Every ``benchmarks/bench_*.py`` script runs ionscope and its peer in one process, prints a table and
calls :func:`record` to replace its own section of ``docs/benchmarks.md`` (between the markers
``<!-- bench:NAME:start -->`` and ``<!-- bench:NAME:end -->``). Timings never go into unit tests.

Peak memory is the peak resident set size above the level before the call, sampled every 2 ms by a
background thread (it sees NumPy, numba and C-library allocations alike).
"""

from __future__ import annotations

import gc
import os
import platform
import re
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "benchmarks.md"
SHARED_DATA = (ROOT / ".." / "shared" / "data").resolve()
WORK = ROOT / "benchmarks" / "_work"


@dataclass
class Measurement:
    """Wall times (s) of repeated runs, peak extra resident memory (bytes) and the last return value."""

    label: str
    times: list[float]
    peak_bytes: int
    value: Any = None

    @property
    def best(self) -> float:
        return min(self.times)

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def peak_mb(self) -> float:
        return self.peak_bytes / 1e6


class _PeakRSS:
    def __init__(self, interval: float = 0.002) -> None:
        self.proc = psutil.Process()
        self.interval = interval
        self.base = self.peak = self.proc.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.proc.memory_info().rss)
            time.sleep(self.interval)

    def __enter__(self) -> _PeakRSS:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.proc.memory_info().rss)


def measure(label: str, fn: Callable[[], Any], *, repeat: int = 3, warmup: int = 0) -> Measurement:
    """Run ``fn`` ``warmup`` + ``repeat`` times; report every timed run and the peak extra RSS."""
    for _ in range(warmup):
        fn()
    times, peak, value = [], 0, None
    for _ in range(repeat):
        value = None
        gc.collect()
        with _PeakRSS() as mem:
            t0 = time.perf_counter()
            value = fn()
            times.append(time.perf_counter() - t0)
        peak = max(peak, mem.peak - mem.base)
    return Measurement(label, times, peak, value)


def machine() -> str:
    """One line describing where the figures were measured."""
    return (f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
            f"{psutil.virtual_memory().total / 2**30:.0f} GiB, Python {platform.python_version()}, "
            f"load average {os.getloadavg()[0]:.1f} when recorded")


def table(rows: list[dict[str, Any]]) -> str:
    """A Markdown table from dict rows."""
    cols = list(rows[0])
    out = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        out.append("| " + " | ".join(_fmt(r[c]) for c in cols) + " |")
    return "\n".join(out)


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.3g}"
    return str(v)


def record(name: str, title: str, body: str, *, doc: Path = DOC) -> None:
    """Replace section ``name`` of docs/benchmarks.md with ``body`` (Markdown), stamped with date and machine."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%d")
    block = (f"<!-- bench:{name}:start -->\n## {title}\n\n_Last run {stamp} on {machine()}; "
             f"`python benchmarks/bench_{name}.py`._\n\n{body.strip()}\n<!-- bench:{name}:end -->")
    text = doc.read_text(encoding="utf-8") if doc.exists() else "# Benchmarks\n"
    pattern = re.compile(rf"<!-- bench:{re.escape(name)}:start -->.*?<!-- bench:{re.escape(name)}:end -->", re.S)
    text = pattern.sub(lambda _: block, text) if pattern.search(text) else text.rstrip() + "\n\n" + block + "\n"
    tmp = doc.with_suffix(".md.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, doc)
    print(f"recorded in {doc.relative_to(ROOT)}, section {title!r}")
