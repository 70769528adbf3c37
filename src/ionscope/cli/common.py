"""What every CLI command shares: JSON output, progress bars, the error contract.

Conventions for command modules (``ionscope/cli/<group>.py``):

* define ``app = typer.Typer(help=...)`` and ``NAME = "<group>"``; :mod:`.main` adds it;
* analysis commands take ``--json`` and print exactly ``Result.to_dict()`` (one JSON object);
* long work runs inside :func:`progress` (rich; silent under ``--json`` or without a terminal);
* expected failures raise :class:`~ionscope.model.IonscopeError`; :func:`ionscope.cli.main.main`
  prints one line and exits 2.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from ionscope.model.result import to_plain

console = Console()
err_console = Console(stderr=True)


def emit_json(obj: Any) -> None:
    """Print ``obj`` (a Result, a dict…) as one JSON document on stdout."""
    data = obj.to_dict() if hasattr(obj, "to_dict") else to_plain(obj)
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def print_warnings(warnings: Any) -> None:
    """Print each validity warning of a result as one yellow line on stderr."""
    for w in warnings:
        err_console.print(f"[yellow]warning:[/yellow] {w}", highlight=False, soft_wrap=True)


class _Task:
    def __init__(self, progress: Progress | None, task: Any) -> None:
        self._progress, self._task = progress, task

    def advance(self, n: float = 1) -> None:
        if self._progress is not None:
            self._progress.advance(self._task, n)

    def update(self, **kwargs: Any) -> None:
        if self._progress is not None:
            self._progress.update(self._task, **kwargs)


@contextlib.contextmanager
def progress(description: str, total: float | None = None, *, quiet: bool = False) -> Iterator[_Task]:
    """A rich progress bar on stderr; ``quiet`` (e.g. under ``--json``) shows nothing."""
    if quiet or not err_console.is_terminal:
        yield _Task(None, None)
        return
    columns = [SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>5.1f}%"),
               TimeElapsedColumn()]
    with Progress(*columns, console=err_console, transient=True) as prog:
        yield _Task(prog, prog.add_task(description, total=total))


@contextlib.contextmanager
def dask_progress(description: str, *, quiet: bool = False) -> Iterator[None]:
    """Show a progress bar over the tasks of any Dask computation run inside the block."""
    from dask.callbacks import Callback

    with progress(description, total=None, quiet=quiet) as task:
        class _CB(Callback):
            def _start_state(self, dsk: Any, state: Any) -> None:
                task.update(total=sum(len(state[k]) for k in ("ready", "waiting", "running")))

            def _posttask(self, key: Any, result: Any, dsk: Any, state: Any, worker_id: Any) -> None:
                task.advance(1)

        with _CB():
            yield
