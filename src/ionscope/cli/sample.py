"""``ionscope sample``: write, check and export sample-history files (what decides a result's tier)."""

from __future__ import annotations

import json as _json
from pathlib import Path
from typing import Annotated, Optional

import typer

from ionscope.cli.common import console, emit_json, err_console, print_reliability
from ionscope.cli.options import ForceOpt, JsonOpt

NAME = "sample"
app = typer.Typer(help="Sample history: preparation, transfer, beam; it sets the reliability tier of every result.",
                  no_args_is_help=True)



@app.command()
def init(
    out: Annotated[Path, typer.Argument(help="File to write; '-' prints it instead.")] = Path("sample.yaml"),
    force: ForceOpt = False,
) -> None:
    """Write a commented sample-history template (YAML) to fill in: sample.yaml in the current folder."""
    from ionscope.sample import template

    if str(out) == "-":
        typer.echo(template(), nl=False)
        return
    from ionscope.io.atomic import write_text

    write_text(out, template(), force=force)
    err_console.print(f"wrote {out}")


@app.command()
def check(
    path: Annotated[Path, typer.Argument(help="Sample history (YAML/JSON), or a data file whose history to find.")],
    sample: Annotated[Optional[Path], typer.Option("--sample", help="History overriding the ones found.")] = None,
    json: JsonOpt = False,
) -> None:
    """Validate a sample history and show the reliability tier it allows (before any artefact flag)."""
    from ionscope.reliability import assess
    from ionscope.sample import history_for, load_history

    if path.suffix.lower() in (".yaml", ".yml", ".json") and _is_history_file(path):
        load_history(path)
        history, sources = history_for(None, sample or path)
    else:
        history, sources = history_for(path, sample)
    assessment = assess(history, sources=sources)
    if json:
        emit_json({"valid": True, "sources": sources, "sample": None if history is None else history.to_dict(),
                   "tier": assessment["tier"], "reasons": assessment["reasons"]}, inputs=[path],
                  reliability=assessment)
        return
    console.print(f"[bold]{path}[/bold]: " + (f"valid sample history from {', '.join(sources)}" if sources
                                              else "no sample history applies"), highlight=False)
    for r in assessment["reasons"]:
        console.print(f"  [{r['tier']}] {r['message']} ({r['reference']})", highlight=False, markup=False)
    print_reliability(assessment)


def _is_history_file(path: Path) -> bool:
    """A YAML file, or a JSON file that is a mapping of history fields (not an ionscope result)."""
    if path.suffix.lower() != ".json":
        return True
    try:
        data = _json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return True  # load_history gives the precise error
    return not (isinstance(data, dict) and "schema_version" in data)


@app.command()
def export(
    path: Annotated[Path, typer.Argument(help="Sample history (YAML/JSON) or a data file whose history to find.")],
    sample: Annotated[Optional[Path], typer.Option("--sample", help="History overriding the ones found.")] = None,
    out: Annotated[Optional[Path], typer.Option("--out", help="JSON-LD file to write; default: print.")] = None,
    force: ForceOpt = False,
) -> None:
    """Write the sample history as JSON-LD (EMMO battery-domain / BattINFO terms, schema.org, PROV-O)."""
    from ionscope.catalog.jsonld import sample_jsonld
    from ionscope.model.errors import ValidationError
    from ionscope.sample import history_for

    if path.suffix.lower() in (".yaml", ".yml") or (path.suffix.lower() == ".json" and _is_history_file(path)):
        history, _ = history_for(None, sample or path)
    else:
        history, _ = history_for(path, sample)
    if history is None:
        raise ValidationError(f"{path}: no sample history applies (no sample.yaml, NAME.sample.yaml or --sample)")
    text = _json.dumps(sample_jsonld(history.to_dict()), indent=2, ensure_ascii=False) + "\n"
    if out is None:
        typer.echo(text, nl=False)
        return
    from ionscope.io.atomic import write_text

    write_text(out, text, force=force)
    err_console.print(f"wrote {out}")
