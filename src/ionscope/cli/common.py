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
import functools
import json
import sys
from collections.abc import Iterable, Iterator, Mapping, Sized
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape


class _StdoutConsole(Console):
    """The stdout console: wraps text to the terminal's width, and never wraps text written to a pipe.

    Rich assumes 80 columns when stdout is not a terminal (``ionscope depth layers FILE | cat``,
    redirection, a test runner) and would break long lines mid-value; a pipe has no width, so there every
    line is written whole and tables get their natural width (``COLUMNS``, which some shells and test
    runners export, applies to terminals only).
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if "width" not in kwargs:
            self._width = None  # rich fixes COLUMNS as the width at creation; for a terminal it is read per call

    @property
    def size(self) -> Any:
        dims = Console.size.fget(self)  # type: ignore[attr-defined]  # mypy types a class's property as its value
        if self._width is None and not self.is_terminal:
            return dims._replace(width=_PIPE_WIDTH)
        return dims

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        Console.size.fset(self, new_size)  # type: ignore[attr-defined]  # as above: the property object itself


#: Width of text written to a pipe: wide enough that no line of a command's output is ever wrapped.
_PIPE_WIDTH = 100_000

console = _StdoutConsole()
err_console = Console(stderr=True, soft_wrap=True)  # messages with paths are never broken across lines

#: Set by the global ``--quiet`` option: no progress bars.
_state: dict[str, bool] = {"quiet": False}

#: Set by the shared options of analysis commands (``--sample``, ``--catalog``, ``--catalog-db``) and the
#: artefact flags recorded while the command runs (:func:`ionscope.model.flags.recording`).
_shared: dict[str, Any] = {"sample": None, "catalog": False, "catalog_db": None, "record": None,
                           "preexisting": None}

#: Options parsed with a unit in the running command (name → Quantity), echoed in the envelope.
_parsed: dict[str, Any] = {}

#: Parameter names whose paths are outputs, not inputs, of a command.
#: Parameters that name files a command writes: never inputs, so never where a sample history is looked up.
OUTPUT_PARAMETERS = frozenset({"out", "dst", "output", "figure", "mesh", "csv", "resampled", "export_itk",
                               "table_out", "plot", "landmarks_out", "probabilities"})


def set_quiet(quiet: bool) -> None:
    """Silence (or re-enable) progress bars for the rest of this process' commands."""
    _state["quiet"] = bool(quiet)


def reset_command_state() -> None:
    """Forget what the previous command of this process set (``--quiet``, parsed options)."""
    _state["quiet"] = False
    _parsed.clear()
    _shared.update(sample=None, catalog=False, catalog_db=None, record=None, preexisting=None)


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
    if ctx is None:
        return {}
    added = getattr(ctx.command, "_ionscope_added", ())  # --sample/--catalog…: recorded in reliability
    return {k: v for k, v in ctx.params.items() if k != "json" and k not in added}


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


#: Inputs that are not measurements of a sample (a registration transform, landmark pairs): recorded as
#: inputs, but their folder's ``sample.yaml`` says nothing about the sample the result is about.
NOT_SAMPLE_DATA = frozenset({"transform", "landmarks"})


def sample_data_inputs() -> list[Path]:
    """The inputs whose sample history applies: :func:`command_inputs` less :data:`NOT_SAMPLE_DATA`."""
    return command_inputs(skip=NOT_SAMPLE_DATA)


def command_inputs(skip: frozenset[str] = frozenset()) -> list[Path]:
    """Existing files or folders passed to the running command, except outputs.

    Outputs are the parameters of :data:`OUTPUT_PARAMETERS` and any path that did not exist when the
    command started (a file it wrote): the sample history of a result belongs to its data, not to the
    folder the result is written to.
    """
    found: list[Path] = []
    before = _shared.get("preexisting")
    for name, value in command_parameters().items():
        if name in OUTPUT_PARAMETERS or name in skip:
            continue
        for v in value if isinstance(value, (list, tuple)) else [value]:
            if isinstance(v, Path) and v.exists() and (before is None or str(v) in before):
                found.append(v)
    return found


def _existing_paths(kwargs: dict[str, Any]) -> set[str]:
    """The paths among a command's arguments that exist before it runs."""
    out = set()
    for value in kwargs.values():
        for v in value if isinstance(value, (list, tuple)) else [value]:
            if isinstance(v, Path) and v.exists():
                out.add(str(v))
    return out


def figure_written(out: Path) -> dict[str, Any]:
    """The ``output``, ``sha256`` and ``format`` (suffix) of a figure a command wrote, for its JSON
    (:func:`ionscope.model.provenance.written_file` without the size)."""
    from ionscope.model.provenance import written_file

    record = written_file(out)
    del record["bytes"]
    return record


def file_written(out: Path) -> dict[str, Any]:
    """:func:`figure_written` of any file a command wrote, plus its size (``bytes``), for its JSON
    (:func:`ionscope.model.provenance.written_file`)."""
    from ionscope.model.provenance import written_file

    return written_file(out)


def check_output_file(out: Path, force: bool, suffixes: tuple[str, ...] | None, option: str = "--out") -> Path:
    """Refuse, before any work, an output path the command could not or should not write its file to.

    The name must end in one of ``suffixes`` (a report saved as ``.txt`` is not opened by a browser, a
    history named ``.txt`` is never found beside the data); an existing folder is refused even with
    ``--force`` (replacing it by a file would delete everything in it); a path below a file, or in a
    folder the user may not write to, is refused; an existing file needs ``--force``. The problems
    ``--force`` cannot fix are reported first.

    Parameters
    ----------
    out
        The output file as given.
    force
        Whether ``--force`` was given.
    suffixes
        Accepted suffixes, lower case with the dot (``(".html", ".htm")``); ``None``: any.
    option
        The option (or argument) that named ``out``, for the message.

    Returns
    -------
    Path
        ``out``.
    """
    from ionscope.io.atomic import check_replaceable
    from ionscope.model.errors import ValidationError

    if suffixes is not None and out.suffix.lower() not in suffixes:
        raise ValidationError(f"{option} must end in {' or '.join(suffixes)}, got {out.name!r}", out)
    _check_parent(out)
    return check_replaceable(out, force, what=f"the {option} output")


def check_output_folder(folder: Path, force: bool, planned: Iterable[Path], option: str) -> Path:
    """Refuse, before any work, a folder a command writes files into (``--plot DIR``…) that it could not
    use, or where files it would write already exist and ``--force`` is not given.

    The folder itself is never replaced: it is created if missing, and ``--force`` replaces only the
    files of ours listed in ``planned`` (the others in it are left as they are).

    Parameters
    ----------
    folder
        The folder as given.
    force
        Whether ``--force`` was given.
    planned
        Files the command will write there that already exist (found from the inputs' names).
    option
        The option that named the folder, for the message.

    Returns
    -------
    Path
        ``folder``.
    """
    from ionscope.model.errors import OutputExistsError

    if folder.exists() and not folder.is_dir():
        raise OutputExistsError(f"{option} names a folder, and this is a file; give a folder name", folder)
    _check_parent(folder / "x", folder)
    existing = sorted(p for p in planned if p.exists() or p.is_symlink())
    if existing and not force:
        shown = ", ".join(p.name for p in existing[:3]) + (f" and {len(existing) - 3} more" if len(existing) > 3
                                                         else "")
        raise OutputExistsError(f"already holds {shown}; add --force to replace them (force=True in Python)",
                                folder, python_only=" (force=True in Python)")
    return folder


def _check_parent(out: Path, subject: Path | None = None) -> None:
    """Refuse an output below a file or in a read-only folder
    (:func:`ionscope.io.atomic.check_parent_writable`), naming ``subject`` (default ``out``)."""
    from ionscope.io.atomic import check_parent_writable

    check_parent_writable(out, subject)


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
        Reliability tier and sample history; default: assessed from the sample history of the inputs
        (``sample.yaml`` beside them, or ``--sample``) and the artefact flags of the results
        (:func:`assess_command`). With ``--catalog`` / ``--catalog-db`` the document is also added to
        the results catalogue.
    """
    from ionscope.model.result import envelope

    params = {**command_parameters(), **_parsed, **dict(parameters or {})}
    doc = envelope(kind or command_kind(), obj, inputs=command_inputs() if inputs is None else inputs,
                   parameters=params, warnings=warnings, reliability=reliability)
    if reliability is None:
        paths = [i["path"] for i in doc["inputs"]] if inputs is not None else \
            [str(p) for p in sample_data_inputs()]
        doc["reliability"] = assess_command(paths, result_flags(obj))
    sys.stdout.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    sys.stdout.flush()
    if _shared["catalog"] or _shared["catalog_db"]:
        catalogue(doc)


def emit_error(exc: BaseException) -> None:
    """Print ``{"error": {"type", "message", "path"}}`` for ``exc`` on stdout (``--json`` mode)."""
    from ionscope.model.result import error_document

    sys.stdout.write(json.dumps(error_document(exc, cli=True), indent=2, ensure_ascii=False) + "\n")
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
    if total is None and isinstance(items, Sized):
        total = len(items)
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


# -- reliability, sample history and catalogue: one mechanism for every analysis command ------------------

#: Command groups and commands that do not get ``--sample`` / ``--catalog`` (they are not analyses).
NOT_ANALYSES = frozenset({"sample", "catalog", "formats", "convert"})


def result_flags(obj: Any) -> list[str]:
    """Artefact flags of ``obj`` (a result or list of them) and of every result built during the command."""
    items = obj if isinstance(obj, (list, tuple)) else [] if obj is None else [obj]
    flags = [f for r in items for f in getattr(r, "flags", ())]
    record = _shared.get("record")
    if record is not None:
        flags += record.flags
    return list(dict.fromkeys(flags))


def assess_command(paths: Iterable[str | Path], flags: Iterable[str] = ()) -> dict[str, Any]:
    """Reliability of a result computed from ``paths``: each input's sample history, then the flags.

    The history of an input is its folder's ``sample.yaml``, overridden by ``NAME.sample.yaml`` beside
    it, overridden by ``--sample FILE``; the tier is the worst over the inputs
    (:func:`ionscope.reliability.combine`). Without inputs, ``--sample`` alone is used.
    """
    from ionscope.reliability import assess, combine
    from ionscope.sample import history_folder, history_for

    flags = list(flags)
    override = _shared.get("sample")
    paths = list(paths)
    if not paths:
        history, sources = history_for(None, override)
        return assess(history, flags, sources)
    assessments = []
    for p in paths:
        history, sources = history_for(Path(p), override)
        assessments.append(assess(history, flags, sources, looked_up=str(history_folder(Path(p)) / "sample.yaml")))
    out = combine(assessments)
    if out["sample"] is None and out["sample_sources"]:
        # the inputs have different histories (or only some have one): say which input has which
        out["samples"] = [{"input": str(p), "sample": a["sample"], "sample_sources": a["sample_sources"]}
                          for p, a in zip(paths, assessments)]
    return out


def current_reliability() -> dict[str, Any]:
    """Reliability of the running command from its inputs and the flags raised so far (``unknown`` outside)."""
    if _context() is None:
        from ionscope.reliability import assess

        return assess(None, result_flags(None))
    return assess_command([str(p) for p in sample_data_inputs()], result_flags(None))


def print_reliability(assessment: Mapping[str, Any]) -> None:
    """Print the one tier line of a command's text output."""
    from ionscope.reliability.rules import tier_line

    colour = {"A": "green", "B": "cyan", "C": "yellow", "D": "red"}.get(str(assessment.get("tier")), "magenta")
    console.print(f"[{colour}]{escape(tier_line(assessment))}[/{colour}]", highlight=False, soft_wrap=True)


def catalogue(doc: Mapping[str, Any]) -> None:
    """Add an envelope to the catalogue chosen by ``--catalog-db`` (else the default one); report on stderr."""
    from ionscope.catalog import open_catalog
    from ionscope.catalog.store import check_document

    with open_catalog(_shared["catalog_db"], create=True) as cat:
        report = cat.add([("this result", check_document(dict(doc)))])
        where = cat.target
    if report.added:
        err_console.print(f"catalogued as entry {report.added[0]} in {escape(where)}", highlight=False)
    else:
        err_console.print(f"already catalogued as entry {report.duplicates[0][1]} in {escape(where)}",
                          highlight=False)


_SHARED_NAMES = ("sample", "catalog", "catalog_db")


def _shared_params(existing: set[str]) -> list[Any]:
    """The shared options a command does not already define itself."""
    from ionscope.cli._shared import shared_params

    return [p for p in shared_params() if p.name not in existing]


def _require_inputs(kwargs: dict[str, Any], arguments: frozenset[str]) -> None:
    """Refuse a missing input path before the command imports its analysis modules (seconds under load).

    Only positional path arguments are checked (every analysis command takes its inputs there and its
    outputs as options); ``-`` and glob patterns are left to the command.
    """
    from ionscope.model.errors import InputNotFoundError

    for name in arguments:
        values = kwargs.get(name)
        for value in values if isinstance(values, (list, tuple)) else [values]:
            if isinstance(value, Path) and str(value) != "-" and not any(c in str(value) for c in "*?[") \
                    and not value.exists():
                raise InputNotFoundError("no such file or folder", value)


def _wrap(callback: Any, own: frozenset[str], arguments: frozenset[str] = frozenset()) -> Any:
    """Run a command recording its artefact flags; in text mode, print the tier line (and catalogue)."""
    from ionscope.model.flags import recording

    @functools.wraps(callback)
    def run(*args: Any, **kwargs: Any) -> Any:
        _require_inputs(kwargs, arguments)
        _shared["preexisting"] = _existing_paths(kwargs)
        for name in _SHARED_NAMES:
            if name not in own and name in kwargs:
                value = kwargs.pop(name)
                if value not in (None, False):
                    _shared[name] = value
        with recording() as record:
            _shared["record"] = record
            rv = callback(*args, **kwargs)
        if not json_requested():
            _text_epilogue(record)
        return rv
    return run


def _text_epilogue(record: Any) -> None:
    """After a command's text output: the warning about quantities of its result without an uncertainty
    or a stated reason (as under ``--json``), the tier line; ``--catalog`` stores the command's final result."""
    from ionscope.model.result import uncertainty_warnings

    kind = command_kind()
    print_warnings(dict.fromkeys(w for r in record.results if r.kind == kind for w in uncertainty_warnings(r)))
    inputs = command_inputs()
    flags = list(record.flags)
    assessment = assess_command([str(p) for p in sample_data_inputs()], flags)
    if inputs or flags or _shared.get("sample"):
        print_reliability(assessment)
    if _shared["catalog"] or _shared["catalog_db"]:
        from ionscope.model.errors import ValidationError
        from ionscope.model.result import envelope

        results = [r for r in record.results if r.kind == kind] or record.results
        if not results:
            raise ValidationError(f"`{kind.replace('.', ' ')}` built no result to catalogue; run it with --json")
        params = {**command_parameters(), **_parsed}
        doc = envelope(kind, results[-1], inputs=inputs, parameters=params, reliability=assessment)
        catalogue(doc)


def install_shared_options(group: Any) -> None:
    """Give every analysis command of ``group`` (a click group, recursively) ``--sample``, ``--catalog``
    and ``--catalog-db``, and wrap it so that its text output ends with the reliability tier line.

    Analysis commands are those with a ``--json`` option outside :data:`NOT_ANALYSES`. Called once per
    command line from the root callback, so no command module has to declare these options.
    """
    for name, cmd in list(getattr(group, "commands", {}).items()):
        if name in NOT_ANALYSES:
            continue
        if hasattr(cmd, "commands"):
            install_shared_options(cmd)
            continue
        names = {p.name for p in cmd.params}
        if "json" not in names or getattr(cmd, "_ionscope_shared", False):
            continue
        extra = _shared_params(names)
        cmd.params.extend(extra)
        cmd.callback = _wrap(cmd.callback, frozenset(names),
                             frozenset(p.name for p in cmd.params if p.param_type_name == "argument"))
        cmd._ionscope_shared = True
        cmd._ionscope_added = frozenset(p.name for p in extra)
