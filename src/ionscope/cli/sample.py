"""``ionscope sample``: write, check and export sample-history files (what decides a result's tier)."""

from __future__ import annotations

import json as _json
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from ionscope.cli.common import console, emit_json, print_reliability, print_warnings
from ionscope.cli.options import ForceOpt, JsonOpt

NAME = "sample"
app = typer.Typer(help="Sample history: preparation, transfer, beam; it sets the reliability tier of every result.",
                  no_args_is_help=True)



#: Suffixes of the files `sample init` and `sample export` write (a history is found only under these names).
HISTORY_SUFFIXES = (".yaml", ".yml")
JSONLD_SUFFIXES = (".jsonld", ".json")


@app.command()
def init(
    out: Annotated[Path, typer.Argument(help="File to write (.yaml or .yml); '-' prints it instead.")] = Path(
        "sample.yaml"),
    force: ForceOpt = False,
    json: JsonOpt = False,
) -> None:
    """Write a commented sample-history template (YAML) to fill in: sample.yaml in the current folder."""
    from ionscope.sample import template

    text = template()
    if str(out) == "-":
        if json:
            emit_json(_init_result(None, text), inputs=[])
        else:
            typer.echo(text, nl=False)
        return
    from ionscope.cli.common import check_output_file
    from ionscope.io.atomic import write_text

    check_output_file(out, force, HISTORY_SUFFIXES, "the sample history")
    write_text(out, text, force=force)
    if json:
        emit_json(_init_result(out, text), inputs=[])
    else:
        console.print(f"wrote {out}", highlight=False)


def _init_result(out: Path | None, text: str) -> Any:
    """What `sample init` wrote (path, SHA-256, size) and the fields to fill in; the template itself when printed."""
    from ionscope.cli.common import file_written
    from ionscope.model.metadata import SampleHistory
    from ionscope.model.result import Result

    written = file_written(out) if out is not None else {"output": None, "sha256": None, "format": "yaml",
                                                         "bytes": len(text.encode("utf-8")), "text": text}
    return Result("sample.init", {**written, "fields": list(SampleHistory.model_fields)})


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
    out: Annotated[Optional[Path], typer.Option("--out", help="JSON-LD file to write (.jsonld or .json); "
                                                              "default: print.")] = None,
    force: ForceOpt = False,
    json: JsonOpt = False,
) -> None:
    """Write the sample history as JSON-LD (EMMO battery-domain / BattINFO terms, schema.org, PROV-O)."""
    from ionscope.catalog.jsonld import sample_jsonld

    if out is not None:
        from ionscope.cli.common import check_output_file

        check_output_file(out, force, JSONLD_SUFFIXES)
    history, sources = _history_to_export(path, sample)
    fields = history.to_dict()
    document = sample_jsonld(fields)
    warnings = [] if fields else [f"{', '.join(sources)}: every field is empty (null), so the JSON-LD records "
                                  "nothing about the sample; fill in the history first"]
    text = _json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    if out is not None:
        from ionscope.io.atomic import write_text

        write_text(out, text, force=force)
    if json:
        from ionscope.reliability import assess

        emit_json(_export_result(out, document, text, sources, fields, warnings), inputs=sources,
                  reliability=assess(history, sources=sources))
        return
    if out is None:
        typer.echo(text, nl=False)
    else:
        console.print(f"wrote {out}", highlight=False)
    print_warnings(warnings)


def _history_to_export(path: Path, sample: Path | None) -> tuple[Any, list[str]]:
    """The merged history of PATH (a history file or a data file) and the files it came from; an empty
    history file or a data file without one is refused, naming the paths looked up."""
    from ionscope.model.errors import FormatError, InputNotFoundError, ValidationError
    from ionscope.sample import history_for
    from ionscope.sample.history import FILE_SUFFIXES, FOLDER_FILES

    if not (path.exists() or path.is_symlink()):
        raise InputNotFoundError("no such file or folder", path)
    is_history = path.suffix.lower() in HISTORY_SUFFIXES or (path.suffix.lower() == ".json" and _is_history_file(path))
    for given in [path] * is_history + ([sample] if sample is not None else []):
        if given.is_file() and given.stat().st_size == 0:
            raise FormatError("is empty (0 bytes): a sample history holds at least one field", given)
    history, sources = history_for(None, sample or path) if is_history else history_for(path, sample)
    if history is None:
        looked = [str(path.parent / FOLDER_FILES[0]), str(path.with_name(path.stem + FILE_SUFFIXES[0]))]
        raise ValidationError(f"no sample history applies (looked for {' and '.join(looked)}); write one with "
                              f"`ionscope sample init {looked[1]}` or pass --sample FILE", path)
    return history, sources


def _export_result(out: Path | None, document: dict[str, Any], text: str, sources: list[str],
                   fields: dict[str, Any], warnings: list[str]) -> Any:
    """What `sample export` wrote (path, SHA-256, size), the histories it merged and the fields it holds;
    the JSON-LD document itself when it was not written to a file."""
    from ionscope.cli.common import file_written
    from ionscope.model.result import Result

    written = file_written(out) if out is not None else {"output": None, "sha256": None, "format": "jsonld",
                                                         "bytes": len(text.encode("utf-8")), "document": document}
    return Result("sample.export", {**written, "sources": sources, "fields": sorted(fields),
                                    "properties": len(document.get("hasProperty", []))}, warnings=tuple(warnings))
