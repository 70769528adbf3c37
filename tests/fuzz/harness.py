"""Read a file in-process under an alarm and tracemalloc, and judge the outcome.

A read passes when it returns data (then every lazy part is computed, so deferred decoding errors
surface) or raises an :class:`~ionscope.model.errors.IonscopeError`. It fails on any other
exception, on running past :data:`TIME_LIMIT_S`, or on a traced peak allocation beyond
:func:`memory_budget`.
"""

from __future__ import annotations

import contextlib
import resource
import signal
import tracemalloc
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ionscope
from ionscope.model.errors import IonscopeError

#: Seconds one read of a seed-sized file (a few kB) may take. The seeds read in ≤ 50 ms on a loaded
#: 2-core machine; 100× that is a hang, not slowness.
TIME_LIMIT_S = 5.0
#: Fixed allowance for library working memory (pandas parser buffers, codec contexts, expat),
#: independent of the file: the seeds peak at ≤ 3 MiB.
BASE_BUDGET = 16 * 1024**2
#: Bytes of memory one byte of input may justify: 8-byte floats from ≥ 1-byte text values, times
#: the ≤ 4 copies a reader makes (parse, convert, coordinates, result), times 2 for headroom.
EXPANSION = 64
#: Address-space cap above the current size while fuzzing: an absurd allocation fails with a
#: MemoryError (reported) instead of swapping a shared machine.
ADDRESS_SPACE_HEADROOM = 4 * 1024**3


class Hang(Exception):
    """Raised by the alarm inside a read that took longer than :data:`TIME_LIMIT_S`."""


def input_bytes(path: Path) -> int:
    """Bytes of input: a file, an imzML pair, or every file of a store."""
    if path.is_dir():
        return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    total = path.stat().st_size if path.exists() else 0
    ibd = path.with_suffix(".ibd")
    if path.suffix.lower() == ".imzml" and ibd.exists():
        total += ibd.stat().st_size
    return total


def memory_budget(path: Path) -> int:
    """Largest traced peak (bytes) a read of ``path`` may reach."""
    return BASE_BUDGET + EXPANSION * input_bytes(path)


def _touch(obj: Any) -> None:
    """Compute whatever a reader left lazy (Dask arrays, mapped spectra, event chunks)."""
    from ionscope.model.describe import describe

    describe(obj)
    if hasattr(obj, "data_vars"):
        for var in obj.data_vars.values():
            var.values  # noqa: B018
    elif hasattr(obj, "dims") and hasattr(obj, "values"):
        obj.values  # noqa: B018
        for c in obj.coords.values():
            c.values  # noqa: B018
    elif hasattr(obj, "spectrum") and hasattr(obj, "n_spectra"):
        for i in range(obj.n_spectra):
            obj.spectrum(i)
        obj.to_dataset().compute()
    elif hasattr(obj, "iter_chunks"):
        for _start, _block in obj.iter_chunks(1024):
            pass


@contextlib.contextmanager
def _alarm(seconds: float) -> Iterator[None]:
    def on_alarm(signum: int, frame: Any) -> None:
        raise Hang(f"no result after {seconds} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextlib.contextmanager
def capped_address_space() -> Iterator[None]:
    """Lower the soft address-space limit to the current size + headroom (Linux), restore after."""
    try:
        with open("/proc/self/status") as fh:
            vm = next(int(line.split()[1]) * 1024 for line in fh if line.startswith("VmSize:"))
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    except (OSError, StopIteration, ValueError):
        yield
        return
    cap = vm + ADDRESS_SPACE_HEADROOM
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def read_outcome(path: Path, *, format: str | None = None, **options: Any) -> tuple[str, str | None]:
    """Read ``path`` and return ``(outcome, failure)``; ``failure`` is None when the read passed.

    ``outcome`` is ``"ok"`` or the name of the ionscope error class raised.
    """
    budget = memory_budget(path)
    tracemalloc.start()
    outcome, failure = "ok", None
    try:
        with _alarm(TIME_LIMIT_S), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _touch(ionscope.read(path, format=format, **options))
    except IonscopeError as exc:
        outcome = type(exc).__name__
        if "\n" in str(exc).strip():
            failure = f"multi-line error message: {exc!s}"
    except Hang as exc:
        outcome, failure = "hang", str(exc)
    except BaseException as exc:  # the point is to catch everything else
        outcome, failure = "crash", f"{type(exc).__name__}: {exc}"[:500]
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    if failure is None and peak > budget:
        outcome, failure = "memory", f"peak allocation {peak / 2**20:.1f} MiB > budget {budget / 2**20:.1f} MiB"
    return outcome, failure
