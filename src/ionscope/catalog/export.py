"""Export catalogue entries: CSV / Parquet (one row per quantity, tidy) and JSON-LD (one node per result)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from ionscope.catalog.canonical import quantities
from ionscope.model.errors import UnsupportedError, ValidationError

FORMATS = ("csv", "parquet", "jsonld")
COLUMNS = ("id", "kind", "tier", "material", "sample", "created", "inputs", "quantity", "value", "uncertainty",
           "unit")


def rows(entries: Iterable[tuple[int, dict[str, Any]]]) -> Iterator[dict[str, Any]]:
    """One row per scalar quantity of each entry (entries without quantities give one row without one)."""
    for rid, doc in entries:
        rel = doc.get("reliability") or {}
        sample = rel.get("sample") or {}
        base = {"id": rid, "kind": doc.get("kind"), "tier": rel.get("tier", "unknown"),
                "material": sample.get("material"), "sample": sample.get("name"),
                "created": (doc.get("provenance") or {}).get("created"),
                "inputs": ";".join(str(i.get("path")) for i in doc.get("inputs", []))}
        found = False
        for path, _, value, unc, unit in quantities(doc.get("results")):
            found = True
            yield {**base, "quantity": path, "value": value, "uncertainty": unc, "unit": unit}
        if not found:
            yield {**base, "quantity": None, "value": None, "uncertainty": None, "unit": None}


def to_csv(entries: Iterable[tuple[int, dict[str, Any]]]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows(entries):
        writer.writerow(row)
    return buf.getvalue()


def to_jsonld(entries: Iterable[tuple[int, dict[str, Any]]]) -> str:
    from ionscope.catalog.jsonld import CONTEXT, result_jsonld

    graph = [result_jsonld(rid, doc, embed_context=False) for rid, doc in entries]
    return json.dumps({"@context": CONTEXT, "@graph": graph}, indent=2, ensure_ascii=False) + "\n"


def write_parquet(entries: Iterable[tuple[int, dict[str, Any]]], out: Path, *, force: bool = False) -> None:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise UnsupportedError("Parquet export needs pyarrow: pip install 'ionscope[parquet]'") from None
    from ionscope.io.atomic import atomic_path

    data = list(rows(entries))
    table = pa.table({c: [r[c] for r in data] for c in COLUMNS})
    with atomic_path(out, force=force) as tmp:
        pq.write_table(table, tmp)


def export(entries: Iterable[tuple[int, dict[str, Any]]], fmt: str, out: Path | None, *,
           force: bool = False) -> str | None:
    """Write ``entries`` as ``fmt`` to ``out`` (atomically), or return the text when ``out`` is ``None``."""
    if fmt not in FORMATS:
        raise ValidationError(f"--to must be one of {', '.join(FORMATS)}, got {fmt!r}")
    if fmt == "parquet":
        if out is None:
            raise ValidationError("--to parquet needs --out FILE (Parquet is binary)")
        write_parquet(entries, out, force=force)
        return None
    text = to_csv(entries) if fmt == "csv" else to_jsonld(entries)
    if out is None:
        return text
    from ionscope.io.atomic import write_text

    write_text(out, text, force=force)
    return None
