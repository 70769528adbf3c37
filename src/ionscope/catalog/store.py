"""What goes into the catalogue: checking a document is an ionscope result, its rows, and query filters."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ionscope.catalog.canonical import canonical_parameters, dedup_key, quantities, round_sig, to_si
from ionscope.model.errors import FormatError, InputNotFoundError, UnsupportedError, ValidationError

#: A result document larger than this is refused before it is read (largest demo result: < 2 MB).
MAX_DOCUMENT_BYTES = 256 * 1024 * 1024
ENVELOPE_KEYS = ("schema_version", "kind", "ionscope_version", "inputs", "results", "reliability", "provenance")
#: Newest major envelope version read; 1.x documents (uncertainty reasons among the warnings) still are.
SUPPORTED_MAJOR = 2


@dataclass
class AddReport:
    """Outcome of an add: ids of new entries, and ``(source, existing id)`` of duplicates."""

    added: list[int] = field(default_factory=list)
    duplicates: list[tuple[str, int]] = field(default_factory=list)


@dataclass
class ValueRange:
    """``lo ≤ quantity ≤ hi`` in SI units for a quantity named ``name`` (dotted path or last name)."""

    name: str
    lo: float | None
    hi: float | None
    si_unit: str | None


@dataclass
class Filters:
    """Query filters; every given one must hold."""

    kind: list[str] = field(default_factory=list)
    material: str | None = None
    sample: str | None = None
    tier: list[str] = field(default_factory=list)
    since: str | None = None
    until: str | None = None
    values: list[ValueRange] = field(default_factory=list)


_RANGE = re.compile(r"^\s*(?P<name>[A-Za-z_][\w.]*)\s*=\s*(?P<lo>[^.\s][^\s]*?)?\s*\.\.\s*(?P<hi>[^\s]+?)?"
                    r"(?:\s+(?P<unit>.+?))?\s*$")


def parse_range(text: str) -> ValueRange:
    """``"D=1e-13..1e-11 cm^2/s"`` (either bound may be empty) → :class:`ValueRange` in SI units."""
    m = _RANGE.match(text)
    if not m or (m.group("lo") is None and m.group("hi") is None):
        raise ValidationError(f"--value must look like NAME=LOW..HIGH UNIT (e.g. 'D=1e-13..1e-11 cm^2/s'), "
                              f"got {text!r}")
    unit = (m.group("unit") or "1").strip()
    bounds = []
    for part in ("lo", "hi"):
        raw = m.group(part)
        try:
            bounds.append(None if raw is None else float(raw))
        except ValueError:
            raise ValidationError(f"--value bound {raw!r} in {text!r} is not a number") from None
    from ionscope.catalog.canonical import si_linear

    lin = si_linear(unit)
    if lin is None:
        return ValueRange(m.group("name"), bounds[0], bounds[1], None)
    lo, hi = (None if b is None else to_si(b, unit)[0] for b in bounds)
    return ValueRange(m.group("name"), lo, hi, lin[2])


def read_document(path: Path) -> dict[str, Any]:
    """Read and check one result file; raise a clear error if it is not an ionscope result."""
    path = Path(path)
    if not path.is_file():
        raise InputNotFoundError("result file not found", path=str(path))
    size = path.stat().st_size
    if size > MAX_DOCUMENT_BYTES:
        raise FormatError(f"{size} bytes is larger than any ionscope result ({MAX_DOCUMENT_BYTES} bytes)",
                          path=str(path))
    try:
        doc = json.loads(path.read_bytes())
    except (UnicodeDecodeError, ValueError) as exc:
        raise FormatError(f"not an ionscope result: not JSON ({str(exc).splitlines()[0]})",
                          path=str(path)) from None
    return check_document(doc, str(path))


def check_document(doc: Any, source: str = "document") -> dict[str, Any]:
    """``doc`` if it is an ionscope ``--json`` result envelope, else a :class:`FormatError` saying why."""
    if isinstance(doc, Mapping) and set(doc) == {"error"}:
        raise FormatError("is an ionscope error document, not a result", path=source)
    if not isinstance(doc, Mapping):
        raise FormatError(f"not an ionscope result: a JSON {type(doc).__name__}, not an object", path=source)
    missing = [k for k in ENVELOPE_KEYS if k not in doc]
    if missing:
        raise FormatError(f"not an ionscope result: missing {', '.join(missing)}", path=source)
    version = str(doc["schema_version"])
    try:
        major = int(version.split(".")[0])
    except ValueError:
        raise FormatError(f"not an ionscope result: schema_version {version!r}", path=source) from None
    if major > SUPPORTED_MAJOR:
        raise UnsupportedError(f"result schema {version} is newer than this ionscope reads ({SUPPORTED_MAJOR}.x): "
                               "upgrade ionscope", path=source)
    if not isinstance(doc["inputs"], list) or not all(isinstance(i, Mapping) and "sha256" in i
                                                      for i in doc["inputs"]):
        raise FormatError("not an ionscope result: inputs is not a list of {path, sha256, bytes}", path=source)
    if not isinstance(doc["reliability"], Mapping) or not isinstance(doc["provenance"], Mapping):
        raise FormatError("not an ionscope result: reliability and provenance must be objects", path=source)
    return dict(doc)


def entry_row(doc: Mapping[str, Any], added: str, batch: str) -> dict[str, Any]:
    """The ``results`` row of a checked document."""
    rel = doc.get("reliability") or {}
    sample = rel.get("sample") or {}
    paths = frozenset(str(i.get("path")) for i in doc["inputs"])
    created = (doc.get("provenance") or {}).get("created")
    canonical = canonical_parameters(doc.get("parameters") or {}, paths)
    return {
        "dedup_key": dedup_key(doc, canonical), "kind": str(doc["kind"]),
        "created": None if created is None else str(created),
        "added": added, "tier": str(rel.get("tier", "unknown")), "material": sample.get("material"),
        "sample": sample.get("name"), "inputs": json.dumps(doc["inputs"], ensure_ascii=False),
        "parameters": canonical,
        "ionscope_version": str(doc["ionscope_version"]), "batch": batch,
        "document": json.dumps(doc, ensure_ascii=False, separators=(",", ":")),
    }


def value_rows(doc: Mapping[str, Any], result_id: int) -> list[dict[str, Any]]:
    """One ``result_values`` row per scalar quantity of the document's results."""
    rows = []
    for path, leaf, value, unc, unit in quantities(doc.get("results")):
        si, si_unit = to_si(value, unit)
        rows.append({"result_id": result_id, "path": path[:1000], "leaf": leaf[:128], "value": value,
                     "uncertainty": unc, "unit": unit[:64],
                     "si_value": None if si is None else round_sig(float(si)), "si_unit": si_unit[:64]})
    return rows
