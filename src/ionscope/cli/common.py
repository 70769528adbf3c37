"""What every CLI command shares: the JSON envelope, progress bars, the error contract.

Conventions for command modules (``ionscope/cli/<group>.py``):

* define ``app = typer.Typer(help=...)`` and ``NAME = "<group>"``; :mod:`.main` adds it;
* analysis commands take ``--json`` and print their :class:`~ionscope.model.Result` through
  :func:`emit_json`, which wraps it in the one envelope of every command
  (:func:`ionscope.model.result.envelope`): kind, version, inputs with SHA-256, parameters, results,
  reliability, warnings, provenance; every physical number a ``{value, uncertainty, unit}``;
* long work runs inside :func:`progress` with a stage name and a total (rich: done/total and time
  remaining); it is silent under ``--json``, with the global ``--quiet`` or without a terminal;
* expected failures raise :class:`~ionscope.model.IonscopeError`; :func:`ionscope.cli.main.main`
  prints one line on stderr (or ``{"error": …}`` on stdout under ``--json``) and exits 2.

This module is imported by every command group, so it imports nothing heavy (NumPy, xarray…) at
module level: ``ionscope --version`` must stay fast.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

console = Console()
err_console = Console(stderr=True)

#: Set by the global ``--quiet`` option: no progress bars.
_state: dict[str, bool] = {"quiet": False}

#: Options parsed with a unit in the running command (name → Quantity), echoed in the envelope.
_parsed: dict[str, Any] = {}

#: Parameter names whose paths are outputs, not inputs, of a command.
OUTPUT_PARAMETERS = frozenset({"out", "dst", "output"})


def set_quiet(quiet: bool) -> None:
    """Silence (or re-enable) progress bars for the rest of this process' commands."""
    _state["quiet"] = bool(quiet)


def reset_command_state() -> None:
    """Forget what the previous command of this process set (``--quiet``, parsed options)."""
    _state["quiet"] = False
    _parsed.clear()


def quantity_option(text: str | float | None, option: str, unit: str, *, require_unit: bool = False,
                    positive: bool = False) -> Any:
    """Parse an option given with a unit (``"0.8±0.05 nm/s"``, ``"1.2pA"``, ``"24h"``) into ``unit``.

    A bare number is taken in ``unit`` (which the option's ``--help`` must name) unless
    ``require_unit`` (lengths and voxel sizes: a bare number is then an error listing the accepted
    forms). NaN and infinite values are refused. The parsed quantity is echoed in the JSON envelope's
    ``parameters`` under the option's name.

    Parameters
    ----------
    text
        The option's text as given; ``None`` passes through.
    option
        The option as the user types it, e.g. ``"--pixel-size"`` (for messages and the echo).
    unit
        Unit the value is converted to (``docs/glossary.md`` vocabulary).
    require_unit
        Refuse a bare number.
    positive
        Refuse zero and negative values.

    Returns
    -------
    Quantity or None
        Value and uncertainty (``None`` if not given) in ``unit``.
    """
    if text is None:
        return None
    from ionscope.model.errors import ValidationError
    from ionscope.model.units import parse_measurement

    q = parse_measurement(str(text), default_unit=unit, require_unit=require_unit, to_unit=unit, what=option)
    if positive and not q.value > 0:
        raise ValidationError(f"{option} must be positive, got {text!r}")
    _parsed[option.lstrip("-").replace("-", "_")] = q
    return q


def _context() -> Any:
    """The running click context: typer ≥ 0.2x vendors click as ``typer._click``, older typer uses click."""
    import importlib

    for name in ("typer._click.globals", "click.globals"):
        try:
            ctx = importlib.import_module(name).get_current_context(silent=True)
        except ImportError:
            continue
        if ctx is not None:
            return ctx
    return None


def command_kind() -> str:
    """The running command as a dotted kind, e.g. ``"depth.layers"`` (``"ionscope"`` outside a command)."""
    ctx = _context()
    if ctx is None:
        return "ionscope"
    parts = ctx.command_path.split()[1:]
    return ".".join(parts) or "ionscope"


def json_requested() -> bool:
    """Whether the running command was given ``--json``."""
    ctx = _context()
    while ctx is not None:
        if ctx.params.get("json"):
            return True
        ctx = ctx.parent
    return False


def command_parameters() -> dict[str, Any]:
    """The running command's parameters as given (``--json`` left out)."""
    ctx = _context()
    return {} if ctx is None else {k: v for k, v in ctx.params.items() if k != "json"}


@contextlib.contextmanager
def naming(path: Path) -> Iterator[None]:
    """Errors raised inside the block that name no file are about ``path``: say so."""
    from ionscope.model.errors import IonscopeError

    try:
        yield
    except IonscopeError as exc:
        if exc.path is None:
            exc.path = str(path)
            exc.args = (f"{path}: {exc.problem}",)
        raise


def show(value: Any, unit: str = "") -> str:
    """A quantity (or a plain number) for people: rounded to its uncertainty, units written out."""
    from ionscope.model.text import format_measurement

    if hasattr(value, "value") and hasattr(value, "unit"):
        return format_measurement(value.value, value.uncertainty, value.unit)
    return format_measurement(None if value is None else float(value), None, unit)


def command_inputs() -> list[Path]:
    """Existing files or folders passed to the running command, except outputs (``--out`` …)."""
    found: list[Path] = []
    for name, value in command_parameters().items():
        if name in OUTPUT_PARAMETERS:
            continue
        for v in value if isinstance(value, (list, tuple)) else [value]:
            if isinstance(v, Path) and v.exists():
                found.append(v)
    return found


def emit_json(obj: Any, *, kind: str | None = None, inputs: Iterable[Any] | None = None,
              parameters: Mapping[str, Any] | None = None, warnings: Iterable[str] = (),
              reliability: Mapping[str, Any] | None = None) -> None:
    """Print ``obj`` wrapped in the JSON envelope, as one document on stdout.

    Parameters
    ----------
    obj
        A :class:`~ionscope.model.Result`, a list of them (one per input of a batch command) or a
        mapping of plain values and quantities.
    kind
        Dotted command name; default: the running command (``ionscope depth layers`` → ``depth.layers``).
    inputs
        Input paths; default: every existing path given to the command except outputs. Inputs in the
        results' provenance are added either way.
    parameters
        Parameters as used, e.g. parsed options as quantities so the output echoes their unit; merged
        over the command's parameters as given.
    warnings
        Extra warnings (the results' own are included).
    reliability
        Sample history and reliability tier, when known.
    """
    from ionscope.model.result import envelope

    params = {**command_parameters(), **_parsed, **dict(parameters or {})}
    doc = envelope(kind or command_kind(), obj, inputs=command_inputs() if inputs is None else inputs,
                   parameters=params, warnings=warnings, reliability=reliability)
    sys.stdout.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def emit_error(exc: BaseException) -> None:
    """Print ``{"error": {"type", "message", "path"}}`` for ``exc`` on stdout (``--json`` mode)."""
    from ionscope.model.result import error_document

    sys.stdout.write(json.dumps(error_document(exc), indent=2, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def print_warnings(warnings: Any) -> None:
    """Print each validity warning of a result as one yellow line on stderr."""
    for w in warnings:
        err_console.print(f"[yellow]warning:[/yellow] {escape(str(w))}", highlight=False, soft_wrap=True)


class _Task:
    """Handle on one progress bar: ``advance``, ``update`` (does nothing when silent)."""

    def __init__(self, progress: Any = None, task: Any = None) -> None:
        self._progress, self._task = progress, task

    def advance(self, n: float = 1) -> None:
        if self._progress is not None:
            self._progress.advance(self._task, n)

    def update(self, **kwargs: Any) -> None:
        if self._progress is not None:
            self._progress.update(self._task, **kwargs)

    def stage(self, name: str, total: float | None = None) -> None:
        """Start a new stage on the same bar: its name, its total, done reset to 0."""
        if self._progress is not None:
            self._progress.reset(self._task, total=total, description=name)


def progress_silent(quiet: bool = False) -> bool:
    """Whether progress bars are off: asked to be, ``--quiet``, ``--json``, or stderr not a terminal."""
    return quiet or _state["quiet"] or json_requested() or not err_console.is_terminal


@contextlib.contextmanager
def progress(description: str, total: float | None = None, *, quiet: bool = False) -> Iterator[_Task]:
    """A rich progress bar on stderr: stage name, bar, done/total, elapsed and remaining time.

    Parameters
    ----------
    description
        Stage name shown in front of the bar (e.g. ``"registering frames"``).
    total
        Number of steps, so done/total and the time remaining can show; ``None`` shows a pulsing bar.
    quiet
        Show nothing (the bar is also silent under ``--json``, ``--quiet`` or without a terminal).
    """
    if progress_silent(quiet):
        yield _Task()
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = [SpinnerColumn(), TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("elapsed"), TimeElapsedColumn(), TextColumn("left"), TimeRemainingColumn()]
    with Progress(*columns, console=err_console, transient=True) as prog:
        yield _Task(prog, prog.add_task(description, total=total))


def track(items: Iterable[Any], description: str, total: int | None = None, *, quiet: bool = False) -> Iterator[Any]:
    """Iterate over ``items`` with a progress bar named ``description`` (total from ``len`` if known)."""
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    with progress(description, total=total, quiet=quiet) as task:
        for item in items:
            yield item
            task.advance(1)


@contextlib.contextmanager
def dask_progress(description: str, *, quiet: bool = False) -> Iterator[None]:
    """Show a progress bar over the tasks of any Dask computation run inside the block."""
    if progress_silent(quiet):
        yield
        return
    from dask.callbacks import Callback

    with progress(description, total=None, quiet=quiet) as task:
        class _CB(Callback):
            def _start_state(self, dsk: Any, state: Any) -> None:
                task.update(total=sum(len(state[k]) for k in ("ready", "waiting", "running")))

            def _posttask(self, key: Any, result: Any, dsk: Any, state: Any, worker_id: Any) -> None:
                task.advance(1)

        with _CB():
            yield
