"""Independent tasks on several cores: worker processes, results in input order."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")


def available_cores() -> int:
    """CPU cores this process may run on (its affinity mask where the platform has one)."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # macOS, Windows
        return max(os.cpu_count() or 1, 1)


def worker_count(n_tasks: int, requested: int | None, tasks_per_start: float) -> int:
    """Worker processes worth starting for ``n_tasks`` tasks.

    ``requested`` caps it (None: :func:`available_cores`). A worker process starts a fresh interpreter
    and imports the analysis, which costs the time of ``tasks_per_start`` tasks; a worker pays for itself
    only with at least twice that many tasks of its own (it then finishes in under half the serial time of
    its share plus its start), so there are at most ``n_tasks // (2 · tasks_per_start)`` workers, and 1
    (run in this process) when that is below 2.
    """
    cap = available_cores() if requested is None else requested
    worth = int(n_tasks // max(2 * tasks_per_start, 1))
    n = min(cap, worth, n_tasks)
    return n if n >= 2 else 1


def ordered_map(func: Callable[[T], R], items: Sequence[T], workers: int,
                on_done: Callable[[T], Any] | None = None,
                initializer: Callable[[], Any] | None = None) -> list[R]:
    """``[func(item) for item in items]``, over ``workers`` processes when > 1.

    Processes are *spawned* (a fresh interpreter each: forking a process whose progress-bar thread may
    hold a lock can deadlock the child), so ``func`` and ``initializer`` must be importable module-level
    functions and items and results picklable. ``on_done(item)`` runs in this process as each item
    finishes (in completion order: a progress bar); the results are in the order of ``items``. An
    exception raised by ``func`` is raised here, as it would be in a loop. Ctrl-C stops the run from this
    process (the workers ignore it, finish the task they hold, and are shut down): one message, not one
    traceback per worker.
    """
    if workers <= 1 or len(items) <= 1:
        if initializer is not None:
            initializer()
        out = []
        for item in items:
            out.append(func(item))
            if on_done is not None:
                on_done(item)
        return out
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    results: list[Any] = [None] * len(items)
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                             initializer=_worker_start, initargs=(initializer,)) as pool:
        futures = {pool.submit(func, item): i for i, item in enumerate(items)}
        try:
            for fut in as_completed(futures):
                i = futures[fut]
                results[i] = fut.result()
                if on_done is not None:
                    on_done(items[i])
        except BaseException:
            for fut in futures:
                fut.cancel()
            raise
    return results


def _worker_start(initializer: Callable[[], Any] | None) -> None:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if initializer is not None:
        initializer()


__all__ = ["available_cores", "ordered_map", "worker_count"]
