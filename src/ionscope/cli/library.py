"""``ionscope library``: show, search and validate the battery marker library."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal, Optional

import typer
from rich.table import Table

from ionscope.cli.common import console, emit_json, err_console
from ionscope.cli.options import JsonOpt

NAME = "library"
app = typer.Typer(help="The battery marker library: show, search, validate user files.", no_args_is_help=True)

FileOpt = Annotated[Optional[Path], typer.Option("--library", help="User library file merged over the built-in.")]
#: positive or negative (any other value is refused by the option, exit 2); default: both.
PolarityOpt = Annotated[Optional[Literal["positive", "negative"]], typer.Option(help="Only markers of this polarity.")]


def _table(markers, mz: float | None = None) -> Table:
    """The markers as a table; given the searched ``mz``, with its deviation from each marker (ppm of the marker's
    m/z, searched − exact: the sign of a peak's mass error in ``spectrum peaks``)."""
    columns = ["ion", "m/z"] + (["Δ ppm"] if mz is not None else []) + ["polarity", "parents", "component"]
    table = Table(*columns, box=None)
    for m in markers:
        delta = [f"{1e6 * (mz - m.mz) / m.mz:+.0f}"] if mz is not None else []
        table.add_row(m.ion, f"{m.mz:.4f}", *delta, m.polarity, ", ".join(m.parents), ", ".join(m.components))
    return table


@app.command()
def show(
    library: FileOpt = None,
    polarity: PolarityOpt = None,
    interferences: Annotated[bool, typer.Option(help="List known interferences instead.")] = False,
    json: JsonOpt = False,
) -> None:
    """List the markers (or the interferences with the resolving power they need)."""
    from ionscope.library.markers import load_library

    lib = load_library(library)
    if interferences:
        items = [i.to_dict() for i in lib.interferences]
        if json:
            emit_json({"version": lib.version, "interferences": items})
            return
        table = Table("ions", "m/z", "m/Δm needed", "notes", box=None)
        for i in lib.interferences:
            table.add_row(" / ".join(i.ions), " / ".join(f"{m:.4f}" for m in i.mz),
                          f"{i.required_resolving_power:.0f}", i.notes)
        console.print(table)
        return
    markers = [m for m in lib.markers if polarity is None or m.polarity == polarity]
    if json:
        emit_json({"version": lib.version, "name": lib.name, "sources": list(lib.sources),
                   "markers": [m.to_dict() for m in markers]})
        return
    console.print(f"[bold]{lib.name}[/bold] v{lib.version}: {len(markers)} markers")
    console.print(_table(markers))


@app.command()
def search(
    text: Annotated[Optional[str], typer.Argument(help="Text in ion, parent compound, component or notes.")] = None,
    mz: Annotated[Optional[float], typer.Option(help="m/z to match (positive).")] = None,
    tolerance: Annotated[float, typer.Option(help="Half-width of the m/z window searched (m/z units, "
                                                  "positive).")] = 0.5,
    polarity: PolarityOpt = None,
    component: Annotated[Optional[str], typer.Option(help="Battery component, e.g. SEI.")] = None,
    library: FileOpt = None,
    json: JsonOpt = False,
) -> None:
    """Find markers by text, m/z, polarity or component."""
    from ionscope.library.markers import load_library, require_positive
    from ionscope.model.errors import ValidationError

    if text is None and mz is None and component is None:
        raise ValidationError("give search text, --mz or --component")
    require_positive(mz, "--mz")
    require_positive(tolerance, "--tolerance")
    hits = load_library(library).search(text, mz=mz, tolerance=tolerance, polarity=polarity, component=component)
    if mz is not None:
        hits = sorted(hits, key=lambda m: abs(m.mz - mz))
    if json:
        emit_json({"query": {"text": text, "mz": mz, "tolerance": tolerance, "polarity": polarity,
                             "component": component}, "markers": [m.to_dict() for m in hits]})
        return
    if mz is not None:
        console.print(f"{len(hits)} marker(s) within ±{tolerance:g} m/z of {mz:g}, nearest first")
    else:
        console.print(f"{len(hits)} marker(s)")
    console.print(_table(hits, mz))


@app.command()
def validate(
    file: Annotated[Path, typer.Argument(help="User library file (YAML).")],
    json: JsonOpt = False,
) -> None:
    """Check a user library file and report every problem with its line (exit 1 if any)."""
    from ionscope.library.markers import validate_library

    problems = validate_library(file)
    if json:
        emit_json({"file": str(file), "valid": not problems,
                   "problems": [{"line": ln, "message": msg} for ln, msg in problems]})
    elif problems:
        for ln, msg in problems:
            err_console.print(f"{file}:{ln}: {msg}")
    else:
        console.print(f"{file}: valid")
    if problems:
        raise typer.Exit(1)
