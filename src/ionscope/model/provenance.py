"""Provenance records: content hashes of inputs, parameters, software version."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from os import PathLike
from pathlib import Path
from typing import Any

from ionscope.model.metadata import Provenance
from ionscope.model.result import to_plain

_HASH_CHUNK = 1 << 22


#: Digests already computed in this process, by (resolved path, size, modification time).
_DIGESTS: dict[tuple[str, int, int], str] = {}


def sha256_of(path: str | PathLike[str]) -> str:
    """SHA-256 hex digest of a file, or of every file below a folder in sorted order (sample-history
    files left out: they are reliability inputs, recorded in the result's ``reliability``).

    A file is hashed once per process while its size and modification time stay the same.
    """
    p = Path(path)
    if p.is_file():
        st = p.stat()
        key = (str(p.resolve()), st.st_size, st.st_mtime_ns)
        if key not in _DIGESTS:
            _DIGESTS[key] = _hash(p)
        return _DIGESTS[key]
    return _hash(p)


def written_file(path: str | PathLike[str]) -> dict[str, str | int]:
    """What a command wrote, for its JSON: ``output`` (the path), ``sha256`` (:func:`sha256_of`: of every
    file below a folder output such as a Zarr store), ``format`` (the suffix, lower case, without the dot)
    and ``bytes`` (summed over a folder's files)."""
    p = Path(path)
    size = p.stat().st_size if p.is_file() else sum(f.stat().st_size for f in p.rglob("*") if f.is_file())
    return {"output": str(p), "sha256": sha256_of(p), "format": p.suffix.lower().lstrip("."), "bytes": size}


#: Sample-history files (``ionscope sample init`` writes them beside the data; ``ionscope.sample.history``
#: looks them up): they set a result's reliability and are recorded there, so they are not part of a
#: folder's data and writing one does not change the folder's content hash.
HISTORY_NAMES = ("sample.yaml", "sample.yml", "sample.json")
HISTORY_SUFFIXES = (".sample.yaml", ".sample.yml", ".sample.json")


def _is_history(f: Path) -> bool:
    name = f.name.lower()
    return name in HISTORY_NAMES or name.endswith(HISTORY_SUFFIXES)


def _hash(p: Path) -> str:
    h = hashlib.sha256()
    files = sorted(f for f in p.rglob("*") if f.is_file() and not _is_history(f)) if p.is_dir() else [p]
    for f in files:
        if p.is_dir():
            h.update(str(f.relative_to(p)).encode())
        with open(f, "rb") as fh:
            while chunk := fh.read(_HASH_CHUNK):
                h.update(chunk)
    return h.hexdigest()


def describe_input(path: str | PathLike[str]) -> dict[str, Any]:
    """Name, size and SHA-256 of an input file for a provenance record."""
    p = Path(path)
    size = sum(f.stat().st_size for f in p.rglob("*") if f.is_file()) if p.is_dir() else p.stat().st_size
    return {"path": str(p), "name": p.name, "bytes": int(size), "sha256": sha256_of(p)}


def make_provenance(
    operation: str,
    *,
    inputs: Iterable[str | PathLike[str] | Mapping[str, Any]] = (),
    parameters: Mapping[str, Any] | None = None,
    parents: Iterable[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """Build a provenance dictionary for a result.

    Parameters
    ----------
    operation
        Dotted name of the function that produced the result, e.g. ``"ionscope.depth.find_interfaces"``.
    inputs
        Input files (hashed here) or already-described inputs (dicts, e.g. ``{"synth": ...}``).
    parameters
        The parameters the operation used; converted to JSON-compatible values.
    parents
        Provenance dictionaries of the data the operation consumed.
    """
    from ionscope import __version__

    described = [dict(i) if isinstance(i, Mapping) else describe_input(i) for i in inputs]
    record = Provenance(
        version=__version__,
        operation=operation,
        inputs=described,
        parameters=to_plain(dict(parameters or {})),
        parents=[to_plain(dict(p)) for p in parents],
    )
    return record.to_dict()
