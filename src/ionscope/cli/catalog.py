"""``ionscope catalog``: a queryable catalogue of ionscope results (SQLite by default, PostgreSQL by URL)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.markup import escape
from rich.table import Table

from ionscope.cli.common import console, emit_json, err_console, print_reliability
from ionscope.cli.options import ForceOpt, JsonOpt

NAME = "catalog"
app = typer.Typer(help="Results catalogue: add ionscope --json results, list, query by value range, export.",
                  no_args_is_help=True)

DbOpt = Annotated[Optional[str], typer.Option(
    "--catalog-db", "--db", metavar="PATH_OR_URL",
    help="Catalogue (--db: older spelling): SQLite file or postgresql://user@host/db URL (default: "
         "$IONSCOPE_CATALOG_DB, else catalog.sqlite in the user data folder).")]


def _table(entries: list[dict[str, Any]]) -> Table:
    t = Table("id", "kind", "tier", "material", "sample", "created", "inputs", box=None)
    for e in entries:
        t.add_row(str(e["id"]), e["kind"], e["tier"], escape(e["material"] or ""), escape(e["sample"] or ""),
                  (e["created"] or "")[:19], escape(", ".join(Path(p).name for p in e["inputs"] if p)))
    return t


@app.command()
def add(
    results: Annotated[list[Path], typer.Argument(help="Result files written by any ionscope command with --json.")],
    db: DbOpt = None,
    json: JsonOpt = False,
) -> None:
    """Add result files; all are checked first, and nothing is added if one is not an ionscope result."""
    from ionscope.catalog import open_catalog
    from ionscope.catalog.store import read_document

    docs = [(str(p), read_document(p)) for p in results]
    with open_catalog(db, create=True) as cat:
        report = cat.add(docs)
        where = cat.target
    values = {"catalog": where, "added": report.added,
              "duplicates": [{"source": s, "id": i} for s, i in report.duplicates]}
    if json:
        emit_json(values, inputs=results)
        return
    console.print(f"added {len(report.added)} result(s) to {escape(where)}"
                  + (f" (ids {', '.join(map(str, report.added))})" if report.added else ""), highlight=False)
    for s, i in report.duplicates:
        err_console.print(f"{escape(s)}: already catalogued as entry {i}", highlight=False)


def _filters(kind: list[str], material: str | None, sample: str | None, tier: list[str], since: str | None,
             until: str | None, value: list[str]) -> Any:
    from ionscope.catalog.store import Filters, parse_range
    from ionscope.model.errors import ValidationError
    from ionscope.reliability import TIERS

    bad = [t for t in tier if t not in (*TIERS, "unknown")]
    if bad:
        raise ValidationError(f"--tier must be A, B, C, D or unknown, got {', '.join(bad)}")
    return Filters(kind=kind, material=material, sample=sample, tier=tier, since=since, until=until,
                   values=[parse_range(v) for v in value])


@app.command("list")
def list_(
    db: DbOpt = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many entries.")] = 100,
    json: JsonOpt = False,
) -> None:
    """List the catalogue's entries (newest last)."""
    from ionscope.catalog import open_catalog

    with open_catalog(db) as cat:
        entries = cat.query(limit=limit)
        total = cat.count()
    if json:
        emit_json({"entries": entries, "count": total}, inputs=[])
        return
    console.print(_table(entries))
    console.print(f"{len(entries)} of {total} entries", highlight=False)


@app.command()
def query(
    db: DbOpt = None,
    kind: Annotated[list[str], typer.Option("--kind", help="Result kind, e.g. diffusion.fit; * is a wildcard "
                                                            "(repeatable).")] = [],  # noqa: B006
    material: Annotated[Optional[str], typer.Option("--material", help="Material contains this text.")] = None,
    sample: Annotated[Optional[str], typer.Option("--sample", help="Sample name contains this text.")] = None,
    tier: Annotated[list[str], typer.Option("--tier", help="Reliability tier A, B, C, D or unknown "
                                                           "(repeatable).")] = [],  # noqa: B006
    since: Annotated[Optional[str], typer.Option("--since", help="Created on or after (ISO date).")] = None,
    until: Annotated[Optional[str], typer.Option("--until", help="Created on or before (ISO date).")] = None,
    value: Annotated[list[str], typer.Option("--value", help="Quantity in a range, in any unit of its dimension: "
                                                             "'D=1e-13..1e-11 cm^2/s', 'width=..5 nm' "
                                                             "(repeatable).")] = [],  # noqa: B006
    limit: Annotated[Optional[int], typer.Option("--limit", min=1, help="At most this many entries.")] = None,
    json: JsonOpt = False,
) -> None:
    """Find entries by kind, material, sample, tier, date and value ranges (all given filters must hold)."""
    from ionscope.catalog import open_catalog

    filters = _filters(kind, material, sample, tier, since, until, value)
    with open_catalog(db) as cat:
        entries = cat.query(filters, limit=limit)
    if json:
        emit_json({"entries": entries, "count": len(entries)}, inputs=[])
        return
    console.print(_table(entries))
    console.print(f"{len(entries)} matching entries", highlight=False)


@app.command()
def show(
    entry: Annotated[int, typer.Argument(help="Entry id (see `ionscope catalog list`).")],
    db: DbOpt = None,
    json: JsonOpt = False,
) -> None:
    """Show one entry: its stored result, provenance and reliability tier."""
    import json as _json

    from ionscope.catalog import open_catalog

    with open_catalog(db) as cat:
        item = cat.get(entry)
    if json:
        emit_json({"entry": item}, inputs=[])
        return
    doc = item["document"]
    console.print(f"[bold]entry {item['id']}[/bold]: {doc['kind']} from "
                  f"{escape(', '.join(str(p) for p in item['inputs']))}", highlight=False)
    print_reliability(doc.get("reliability") or {"tier": "unknown"})
    prov = doc.get("provenance") or {}
    console.print(f"provenance: {escape(str(prov.get('operation')))} by ionscope {doc.get('ionscope_version')} "
                  f"at {prov.get('created')}", highlight=False)
    console.print_json(_json.dumps(doc.get("results"), ensure_ascii=False))


@app.command()
def remove(
    entries: Annotated[list[int], typer.Argument(help="Entry ids to remove.")],
    db: DbOpt = None,
    json: JsonOpt = False,
) -> None:
    """Remove entries (all or none: an unknown id removes nothing)."""
    from ionscope.catalog import open_catalog

    with open_catalog(db) as cat:
        removed = cat.remove(entries)
    if json:
        emit_json({"removed": removed}, inputs=[])
        return
    console.print(f"removed {len(removed)} entr{'y' if len(removed) == 1 else 'ies'}", highlight=False)


@app.command()
def export(
    to: Annotated[str, typer.Option("--to", help="csv, parquet (needs pyarrow) or jsonld.")],
    db: DbOpt = None,
    out: Annotated[Optional[Path], typer.Option("--out", help="File to write; default: print (not parquet).")] = None,
    entries: Annotated[list[int], typer.Option("--id", help="Only these entries (repeatable).")] = [],  # noqa: B006
    force: ForceOpt = False,
    json: JsonOpt = False,
) -> None:
    """Export entries: CSV/Parquet with one row per quantity, or JSON-LD with ontology terms."""
    from ionscope.catalog import open_catalog
    from ionscope.catalog.export import export as do_export

    if out is not None:
        from ionscope.cli.common import check_output_file

        check_output_file(out, force, None)
    with open_catalog(db) as cat:
        docs = list(cat.documents(entries or None))
    text = do_export(docs, to, out, force=force)
    if json:
        emit_json({"format": to, "entries": len(docs), "out": None if out is None else str(out)}, inputs=[])
        return
    if text is not None:
        typer.echo(text, nl=False)
    else:
        err_console.print(f"wrote {len(docs)} entries to {out}")
