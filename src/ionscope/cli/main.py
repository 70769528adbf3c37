"""The ``ionscope`` command line: ``info``, ``convert``, ``demo``, ``formats`` and the command groups.

Command groups live in sibling modules that define ``NAME`` and ``app`` (or ``register(app)`` for
top-level commands); they are found and added here, so a capability adds its commands without
touching this file.
"""

from __future__ import annotations

import contextlib
import importlib
import pkgutil
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape
from rich.table import Table

import ionscope
from ionscope.cli._help import show_flags_as_flags, unwrap_help_paragraphs
from ionscope.cli.common import (
    console,
    dask_progress,
    emit_error,
    emit_json,
    err_console,
    install_shared_options,
    print_warnings,
    progress,
    reset_command_state,
    set_quiet,
)
from ionscope.cli.options import ForceOpt, JsonOpt, QuietOpt
from ionscope.model.errors import IonscopeError, ValidationError

show_flags_as_flags()
unwrap_help_paragraphs()
app = typer.Typer(
    name="ionscope",
    help="Quantitative, reproducible analysis of buried battery interfaces (TOF-SIMS, FIB-SEM).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        console.print(f"ionscope {ionscope.__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    version: Annotated[Optional[bool], typer.Option("--version", callback=_version, is_eager=True,
                                                    help="Print the version and exit.")] = None,
    quiet: QuietOpt = False,
) -> None:
    """ionscope: TOF-SIMS and FIB-SEM analysis with units, provenance and uncertainties."""
    set_quiet(quiet)
    install_shared_options(ctx.command)


def _options(pairs: list[str]) -> dict[str, object]:
    """``KEY=VALUE`` pairs as strings; each reader's option schema parses and checks the values."""
    out: dict[str, object] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ValidationError(f"reader option {pair!r} is not KEY=VALUE")
        if key in out:
            raise ValidationError(f"reader option {key!r} is given twice")
        out[key] = value
    return out


def _read(path: Path, format: str | None, option: list[str], salvage: bool) -> object:
    """Read through the registry with the parsed ``-o`` options (and ``salvage`` when asked)."""
    options = _options(option)
    if salvage:
        options["salvage"] = True
    return ionscope.read(path, format=format, **options)


@contextlib.contextmanager
def _read_warnings(json: bool) -> Iterator[list[str]]:
    """Collect the Python warnings raised inside: yields the list they are put in (for the JSON envelope with
    ``json``), else prints each as one line on stderr."""
    messages: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield messages
        finally:
            messages += dict.fromkeys(str(w.message) for w in caught)
            if messages and not json:
                print_warnings(messages)


SalvageArg = Annotated[bool, typer.Option("--salvage", help="Read the complete part of a truncated file, with a "
                                                            "warning (readers that support it).")]
OptionArg = Annotated[list[str], typer.Option("--option", "-o", help="Reader option KEY=VALUE (repeatable).")]
FormatArg = Annotated[Optional[str], typer.Option("--format", "-f", help="Force a reader (see `ionscope formats`).")]


@app.command()
def info(
    path: Annotated[Path, typer.Argument(help="File or Zarr store.")],
    format: FormatArg = None,
    option: OptionArg = [],  # noqa: B006 - typer needs a literal default
    json: JsonOpt = False,
    salvage: SalvageArg = False,
) -> None:
    """Show what ionscope reads from PATH: kind, dimensions, coordinates with units, metadata."""
    from ionscope.model.describe import describe, with_range_quantities

    with _read_warnings(json) as read_warnings:
        desc = describe(_read(path, format, option, salvage))
    desc = {"path": str(path), **desc}
    if json:
        emit_json(with_range_quantities(desc), warnings=read_warnings)
        return
    _print_description(path, desc)


def _sizes(desc: dict) -> str:
    """Dimensions with their lengths, ``y=256 × x=256 × peak=200`` (``scalar`` for none)."""
    return " × ".join(f"{d}={n}" for d, n in zip(desc["dims"], desc["shape"])) or "scalar"


def _print_description(path: Path, desc: dict) -> None:
    """`ionscope info` as text: kind and sizes, one line per array of a multi-array file, coordinates, attrs."""
    variables = desc.get("variables") or {}
    if variables:
        console.print(f"[bold]{escape(str(path))}[/bold]: {desc['kind']}, {len(variables)} array"
                      f"{'s' if len(variables) != 1 else ''}", highlight=False)
        for name, var in variables.items():
            console.print(f"  {escape(name)}: {_sizes(var)} ({var.get('dtype', '?')})", highlight=False)
    else:
        console.print(f"[bold]{escape(str(path))}[/bold]: {desc['kind']} {_sizes(desc)}", highlight=False)
    table = Table("coordinate", "unit", "range", box=None)
    for name, unit in desc["coords"].items():
        rng = desc.get("coord_ranges", {}).get(name)
        table.add_row(name, str(unit or ""), "" if rng is None else f"{rng[0]:.6g} … {rng[1]:.6g}")
    if desc["coords"]:
        console.print(table)
    for key, value in desc.get("attrs", {}).items():
        if key != "kind":  # already on the first line
            console.print(f"  [cyan]{escape(str(key))}[/cyan]: {escape(str(value))}", highlight=False)
    if desc.get("species"):  # species and masses of a peak dimension
        console.print(f"  [cyan]species ({len(desc['species'])})[/cyan]: " + ", ".join(
            s["name"] + ("" if s["mz"] is None else f" ({s['mz']:.4f})") for s in desc["species"]), highlight=False)


@app.command()
def convert(
    src: Annotated[Path, typer.Argument(help="Input file in any readable format.")],
    dst: Annotated[Path, typer.Argument(help="Output path; the extension picks the writer (.zarr, …).")],
    format: FormatArg = None,
    option: OptionArg = [],  # noqa: B006
    force: ForceOpt = False,
    salvage: SalvageArg = False,
    json: JsonOpt = False,
) -> None:
    """Convert SRC to DST (e.g. a text export or TIFF stack to a Zarr store)."""
    from ionscope.io.registry import check_output
    from ionscope.model.describe import describe
    from ionscope.model.provenance import sha256_of

    check_output(dst, force=force)
    with _read_warnings(json) as read_warnings:
        data = _read(src, format, option, salvage)
        with dask_progress(f"writing {dst.name}", quiet=json):
            ionscope.write(data, dst, force=force)
    warned = [str(w) for w in getattr(data, "attrs", {}).get("warnings") or ()]  # e.g. bin-events' calibration check
    warned = [*(read_warnings if json else ()), *warned]
    if json:
        desc = describe(data)
        emit_json({"output": str(dst), "sha256": sha256_of(dst), "kind": desc["kind"], "dims": desc["dims"],
                   "shape": desc["shape"], "units": desc.get("units")}, warnings=warned)
        return
    console.print(f"wrote {dst}", highlight=False)
    print_warnings(warned)


@app.command()
def demo(
    out: Annotated[Path, typer.Option("--out", help="Folder for report.html, results.json and data.")] = Path(
        "demo-output"),
    seed: Annotated[int, typer.Option(help="Seed of the virtual instrument.")] = 0,
    force: ForceOpt = False,
) -> None:
    """Run every capability on the virtual instrument and write an HTML report."""
    from ionscope.demo.runner import demo_modules, run_demo

    with progress("demo", total=len(demo_modules())) as task:
        started: list[str] = []

        def on_section(title: str) -> None:
            if started:  # the previous section is done
                task.advance(1)
            started.append(title)
            task.update(description=f"demo: {title}")

        paths = run_demo(out, force=force, seed=seed, on_section=on_section)
    console.print(f"report: {paths['report'].resolve()}")
    console.print(f"results: {paths['results'].resolve()}")


@app.command()
def formats(json: JsonOpt = False) -> None:
    """List the file formats ionscope reads and writes."""
    from ionscope.io import failed_plugins

    table = ionscope.plugins()
    rows = {name: {"extensions": list(p.extensions), "kinds": list(p.kinds), "read": p.read is not None,
                   "write": p.write is not None, "description": p.description} for name, p in table.items()}
    broken = [f"format plugin {src} could not be loaded and is skipped ({err})"
              for src, err in failed_plugins().items()]
    if json:
        emit_json(rows, warnings=broken)
        return
    print_warnings(broken)
    t = Table("format", "extensions", "read", "write", "description")
    for name, r in rows.items():
        t.add_row(name, " ".join(r["extensions"]), "yes" if r["read"] else "", "yes" if r["write"] else "",
                  r["description"])
    console.print(t)


_OWN_COMMANDS = ("info", "convert", "demo", "formats")


def _requested_group(argv: list[str]) -> str | None:
    """The command group named on the command line (its module alone is imported: start-up time), ``""``
    when only this module's own commands or ``--version`` are run, None (import every group) otherwise."""
    words = [a for a in argv if not a.startswith("-")]
    if not words:
        return "" if any(a == "--version" for a in argv) else None
    return "" if words[0] in _OWN_COMMANDS else words[0]


def _add_groups(only: str | None = None) -> None:
    import ionscope.cli as pkg

    names = [i.name for i in pkgutil.iter_modules(pkg.__path__)
             if i.name not in ("main", "common") and not i.name.startswith("_")]
    if only is not None and only in names:
        names = [only]
    elif only == "":
        names = []
    for name in names:
        module = importlib.import_module(f"ionscope.cli.{name}")
        if hasattr(module, "register"):  # top-level commands, e.g. `ionscope view`
            module.register(app)
        elif hasattr(module, "app") and hasattr(module, "NAME"):
            app.add_typer(module.app, name=module.NAME)


_add_groups(_requested_group(sys.argv[1:]) if Path(sys.argv[0]).name in ("ionscope", "__main__.py") else None)


def _registrations(typer_app: typer.Typer) -> tuple:
    """What the click command built from ``typer_app`` is made of: its callback and its registered
    commands and groups, recursively (the registration records themselves, compared by identity)."""
    return (typer_app.registered_callback, tuple(typer_app.registered_commands),
            tuple((g, _registrations(g.typer_instance)) for g in typer_app.registered_groups
                  if g.typer_instance is not None))


_BUILT: dict[str, object] = {}


def _click_command() -> typer.core.TyperGroup:
    """``app`` as a click command, built once per set of registered commands.

    Calling ``app`` rebuilds the whole click tree from the command functions' signatures (≈ 0.2 s for
    every command line); a process that runs several command lines through :func:`main` builds it once,
    and again only after a command or group is added or the help-text transform of
    :mod:`ionscope.cli._help` (applied as commands are built) is replaced.
    """
    from ionscope.cli import _help

    key = (_registrations(app), _help.unwrap_paragraphs)
    if _BUILT.get("key") != key:
        _BUILT.update(key=key, command=typer.main.get_command(app))
    return _BUILT["command"]  # type: ignore[return-value]


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; expected errors become one line on stderr and exit code 2.

    Under ``--json`` an expected error (and a usage error) is instead printed on stdout as
    ``{"error": {"type", "message", "path"}}``, still with exit code 2.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    as_json = "--json" in args[: args.index("--")] if "--" in args else "--json" in args
    reset_command_state()
    try:
        _refuse_repeated_options(_click_command(), args)
        rv = _click_command()(args=args, prog_name="ionscope", standalone_mode=False)
    except IonscopeError as exc:
        if as_json:
            emit_error(exc)
        else:
            err_console.print(f"[bold red]error:[/bold red] {escape(exc.for_cli())}", highlight=False, soft_wrap=True)
        return exc.exit_code
    except typer.Exit as exc:
        return exc.exit_code
    except (typer.Abort, KeyboardInterrupt):
        err_console.print("interrupted")
        return 130
    except Exception as exc:
        if hasattr(exc, "show") and hasattr(exc, "exit_code"):  # usage errors of the click layer
            if as_json:
                emit_error(exc)
                return 2
            err_console.print(f"[bold red]error:[/bold red] {escape(_usage_problem(exc))}", highlight=False,
                              soft_wrap=True)
            return exc.exit_code
        raise
    return rv if isinstance(rv, int) else 0


def _refuse_repeated_options(command, args: list[str]) -> None:
    """A :class:`ValidationError` for an option of one value given more than once (``--elements Ru --elements
    Pt``): the command-line parser keeps the last one and would drop the others silently. Flags and options that
    take several values (``-r Na+ -r K+``) may repeat."""
    tokens = args[: args.index("--")] if "--" in args else args
    start = 0
    for i, token in enumerate(tokens):
        if token in (getattr(command, "commands", None) or {}):
            command, start = command.commands[token], i + 1
    for param in getattr(command, "params", ()):
        if (getattr(param, "param_type_name", "") != "option" or param.multiple or getattr(param, "is_flag", False)
                or getattr(param, "count", False)):
            continue
        names = [*param.opts, *param.secondary_opts]
        given = [t for t in tokens[start:] for o in names if t == o or t.startswith(o + "=")]
        if len(given) > 1:
            raise ValidationError(f"{param.opts[0]} is given {len(given)} times: give it once"
                                  + (" (several values comma-separated)" if "elements" in param.opts[0] else ""))


def _usage_problem(exc: Exception) -> str:
    """A usage error of the click layer (unknown option, invalid value, missing argument) as one line, with
    the help command of the command it concerns."""
    message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
    ctx = getattr(exc, "ctx", None)
    where = getattr(ctx, "command_path", None) or "ionscope"
    return f"{message.strip().rstrip('.')} (see `{where} --help`)"


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
