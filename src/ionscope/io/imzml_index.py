"""The index of an imzML file: what the XML says about each spectrum, in NumPy arrays.

The ``.imzML`` XML is parsed with a streaming parser (expat callbacks, :mod:`.imzml_scan`);
each ``<spectrum>`` is reduced to its pixel position and the offset, length and number type of its
m/z and intensity arrays in the ``.ibd`` file, then discarded, so the XML of a 10⁶-pixel image
never sits in memory. The binary ``.ibd`` is memory-mapped read-only; nothing is read from it
until a spectrum or an image is asked for (:class:`ImzMLData`).

Reference: Schramm et al., *J. Proteomics* 75 (2012) 5106, "imzML — a common data format for the
flexible exchange and processing of mass spectrometry imaging data"; the imzML 1.1 ontology
(accessions ``IMS:…``) and the PSI-MS ontology (``MS:…``).
"""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np

from ionscope.io.checks import TruncatedWarning, require_bytes, require_file
from ionscope.model.errors import AbsurdSizeError, FormatError, InputNotFoundError, UnsupportedError
from ionscope.model.units import convert

#: Number types by accession (PSI-MS and imzML both define the integer ones).
DTYPES: dict[str, np.dtype] = {
    "MS:1000521": np.dtype("<f4"), "MS:1000523": np.dtype("<f8"),
    "MS:1000519": np.dtype("<i4"), "MS:1000522": np.dtype("<i8"),
    "IMS:1000141": np.dtype("<i4"), "IMS:1000142": np.dtype("<i8"),
}
DTYPE_NAMES = {"32-bit float": "MS:1000521", "64-bit float": "MS:1000523", "32-bit integer": "IMS:1000141",
               "64-bit integer": "IMS:1000142"}
MZ_ARRAY, INTENSITY_ARRAY = "MS:1000514", "MS:1000515"
CONTINUOUS, PROCESSED = "IMS:1000030", "IMS:1000031"
_COMPRESSED = {"MS:1000574": "zlib", "MS:1000572": "MS-Numpress linear", "MS:1000576": None}
#: UO unit accessions that appear on pixel sizes.
_UO_LENGTH = {"UO:0000017": "µm", "UO:0000018": "nm", "UO:0000016": "mm", "UO:0000008": "m"}
#: A pixel grid with this many times more pixels than spectra (and more than 10⁸) is not believed.
MAX_GRID_EXCESS = 100
MAX_GRID_PIXELS = 10**8


@dataclass
class ImzMLIndex:
    """Everything the ``.imzML`` XML declares, with per-spectrum fields as NumPy arrays.

    Positions ``x``, ``y`` are the 1-based pixel indices of the file; offsets are bytes into the
    ``.ibd``; lengths are numbers of values.
    """

    path: Path
    ibd_path: Path
    mode: str
    x: np.ndarray
    y: np.ndarray
    mz_offset: np.ndarray
    mz_length: np.ndarray
    mz_dtype: np.dtype
    int_offset: np.ndarray
    int_length: np.ndarray
    int_dtype: np.dtype
    nx: int
    ny: int
    pixel_size_um: tuple[float, float] | None
    uuid: str | None = None
    sha1: str | None = None
    md5: str | None = None
    polarity: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def n_spectra(self) -> int:
        return int(self.x.size)


def _accession(p: dict[str, str]) -> str:
    acc = p.get("accession", "")
    if acc:
        return acc
    return DTYPE_NAMES.get(p.get("name", ""), "")


#: Integers in the XML must fit the signed 64-bit arrays of the index (offsets, lengths, positions).
INT64_MAX = 2**63 - 1


def _int(text: str | None, path: Path, what: str) -> int:
    if text is None:
        raise FormatError(f"{what} is missing", path)
    try:
        value = int(text)
    except (TypeError, ValueError):
        try:
            number = float(text)
        except (TypeError, ValueError):
            raise FormatError(f"{what} is not a number: {text!r}", path) from None
        if not number.is_integer():
            raise FormatError(f"{what} is not an integer: {text!r}", path) from None
        value = int(number)
    if abs(value) > INT64_MAX:
        raise AbsurdSizeError(f"{what} {text!r} does not fit in 64 bits: corrupt", path)
    return value


def _unwrap_int32(values: np.ndarray) -> np.ndarray:
    """Undo offsets written as signed 32-bit integers (negative after 2 GiB), as some exporters do."""
    if values.size == 0 or values.min() >= 0:
        return values
    prev = np.concatenate([[0], values[:-1]])
    wraps = np.cumsum((values < 0) & (prev >= 0))
    return values + wraps.astype(np.int64) * 2**32


def _pixel_size(header: dict[str, dict[str, str]], path: Path) -> tuple[tuple[float, float] | None, list[str]]:
    notes: list[str] = []
    sizes: list[float | None] = []
    for acc in ("IMS:1000046", "IMS:1000047"):
        p = header.get(acc)
        if p is None:
            sizes.append(None)
            continue
        try:
            value = float(p.get("value", ""))
        except ValueError:
            raise FormatError(f"pixel size {p.get('name')!r} is not a number: {p.get('value')!r}", path) from None
        unit = _UO_LENGTH.get(p.get("unitAccession", "")) or p.get("unitName") or "µm"
        if not p.get("unitAccession") and not p.get("unitName"):
            notes.append("pixel size has no unit; µm assumed (imzML 1.1 default)")
        sizes.append(float(convert(value, unit, "µm")))
    if sizes[0] is None and sizes[1] is None:
        return None, notes
    sx = sizes[0] if sizes[0] is not None else sizes[1]
    sy = sizes[1] if sizes[1] is not None else sx
    if sx is None or sy is None:  # unreachable: at least one of the two is given (checked above)
        return None, notes
    return (float(sy), float(sx)), notes


def find_ibd(path: Path) -> Path:
    """The ``.ibd`` beside an ``.imzML`` (same stem; the suffix in any case)."""
    for cand in (path.with_suffix(".ibd"), path.with_suffix(".IBD"), path.with_suffix(".Ibd")):
        if cand.is_file():
            return cand
    for cand in path.parent.glob(path.stem + ".*"):
        if cand.suffix.lower() == ".ibd" and cand.is_file():
            return cand
    raise InputNotFoundError(f"no binary data file {path.stem}.ibd beside the imzML", path)


def parse_index(path: str | PathLike[str], *, salvage: bool = False) -> ImzMLIndex:
    """Stream through an ``.imzML`` file and return its :class:`ImzMLIndex`.

    Tolerates the IONTOF exporter's quirks: ISO-8859-1 declared encoding, CRLF line ends, no
    indentation, pixels absent from the grid, empty spectra (``defaultArrayLength="0"`` or an
    external array length 0) and ontology terms with misspelt names (accessions are used).
    """
    from ionscope.io.imzml_scan import scan_imzml

    p = require_file(path)
    res = scan_imzml(p, dtypes=DTYPES, dtype_names=DTYPE_NAMES, compressed=_COMPRESSED, to_int=_int)
    header, groups, cols, dtypes, index = res.header, res.groups, res.cols, res.dtypes, res.n_spectra
    if res.root is None:
        raise FormatError("empty XML document: not an imzML file", p)
    if index == 0:
        raise FormatError("the imzML holds no spectra", p)
    if CONTINUOUS in header:
        mode = "continuous"
    elif PROCESSED in header:
        mode = "processed"
    else:
        raise FormatError("declares neither continuous (IMS:1000030) nor processed (IMS:1000031) storage: "
                          "not an imzML file", p)
    for role, what in ((MZ_ARRAY, "m/z"), (INTENSITY_ARRAY, "intensity")):
        if not dtypes[role]:
            raise FormatError(f"no number type declared for the {what} arrays", p)
        if len(dtypes[role]) > 1:
            raise UnsupportedError(f"{what} arrays use several number types {sorted(dtypes[role])}", p)
    ibd = find_ibd(p)
    x = np.asarray(cols["x"], dtype=np.int64)
    y = np.asarray(cols["y"], dtype=np.int64)
    if x.min() < 1 or y.min() < 1:
        raise FormatError("pixel positions must start at 1 (IMS:1000050/51); found a position below 1", p)
    declared = []
    for acc, what in (("IMS:1000042", "max count of pixels x"), ("IMS:1000043", "max count of pixels y")):
        n = _int(header[acc].get("value"), p, what) if acc in header else None
        if n is not None and n < 1:
            raise FormatError(f"{what} (IMS:{acc[4:]}) is {n}; a pixel count must be at least 1", p)
        declared.append(n or 0)
    nx = max(int(x.max()), declared[0])
    ny = max(int(y.max()), declared[1])
    if nx * ny > MAX_GRID_PIXELS and nx * ny > MAX_GRID_EXCESS * index:
        raise AbsurdSizeError(f"the header declares a grid of {nx} × {ny} = {nx * ny:.3g} pixels for only "
                              f"{index} spectra", p)
    pixel, notes = _pixel_size(header, p)
    if nx > int(x.max()) or ny > int(y.max()) or index < nx * ny:
        notes.append(f"{nx * ny - index} of {nx * ny} pixels have no spectrum (sparse pixels; read as 0)")
    polarity = ("positive" if "MS:1000130" in header else "negative" if "MS:1000129" in header else None)
    for plist in groups.values():
        accs = {_accession(q) for q in plist}
        polarity = polarity or ("positive" if "MS:1000130" in accs else "negative" if "MS:1000129" in accs else None)
    idx = ImzMLIndex(
        path=p, ibd_path=ibd, mode=mode, x=x, y=y,
        mz_offset=_unwrap_int32(np.asarray(cols["mo"], dtype=np.int64)),
        mz_length=np.asarray(cols["ml"], dtype=np.int64), mz_dtype=DTYPES[dtypes[MZ_ARRAY].pop()],
        int_offset=_unwrap_int32(np.asarray(cols["io"], dtype=np.int64)),
        int_length=np.asarray(cols["il"], dtype=np.int64), int_dtype=DTYPES[dtypes[INTENSITY_ARRAY].pop()],
        nx=nx, ny=ny, pixel_size_um=pixel,
        uuid=_clean_hex(header.get("IMS:1000080", {}).get("value")),
        sha1=_clean_hex(header.get("IMS:1000091", {}).get("value")),
        md5=_clean_hex(header.get("IMS:1000090", {}).get("value")),
        polarity=polarity, notes=notes,
    )
    check_extents(idx, salvage=salvage)
    return idx


def _clean_hex(value: str | None) -> str | None:
    if not value:
        return None
    return value.strip().strip("{}").replace("-", "").lower()


#: The ``.ibd`` starts with the 16-byte UUID; no array may start inside it.
UUID_BYTES = 16


def _select(idx: ImzMLIndex, keep: np.ndarray) -> None:
    """Keep only the spectra where ``keep`` is true (salvage of a truncated ``.ibd``)."""
    for name in ("x", "y", "mz_offset", "mz_length", "int_offset", "int_length"):
        setattr(idx, name, getattr(idx, name)[keep])


def check_extents(idx: ImzMLIndex, *, salvage: bool = False) -> None:
    """Raise if any array lies (partly) outside the ``.ibd``, inside its UUID, overlaps its partner, or
    has a negative offset/length.

    With ``salvage``, spectra whose arrays run past the end of a truncated ``.ibd`` are dropped
    with a :class:`~ionscope.io.checks.TruncatedWarning` (their pixels read as 0) instead.
    """
    size = idx.ibd_path.stat().st_size
    spans = {}
    for what, off, n, dt in (("m/z", idx.mz_offset, idx.mz_length, idx.mz_dtype),
                             ("intensity", idx.int_offset, idx.int_length, idx.int_dtype)):
        if (n < 0).any() or (off < 0).any():
            i = int(np.flatnonzero((n < 0) | (off < 0))[0])
            raise FormatError(f"spectrum {i} has a negative {what} offset or length", idx.path)
        if (n > INT64_MAX // 8).any():
            i = int(np.flatnonzero(n > INT64_MAX // 8)[0])
            raise AbsurdSizeError(f"spectrum {i} declares {int(n[i])} {what} values", idx.path)
        inside_uuid = (off < UUID_BYTES) & (n > 0)
        if inside_uuid.any():
            i = int(np.flatnonzero(inside_uuid)[0])
            raise FormatError(f"the {what} array of spectrum {i} starts at byte {int(off[i])}, inside the "
                              f"{UUID_BYTES}-byte UUID that opens the .ibd ({int(inside_uuid.sum())} spectra "
                              "affected): corrupt offsets", idx.path)
        spans[what] = (off, off + n * dt.itemsize, n > 0)
    (mo, me, mf), (io_, ie, if_) = spans["m/z"], spans["intensity"]
    overlap = mf & if_ & (mo < ie) & (io_ < me) & ((mo != io_) | (idx.mz_dtype != idx.int_dtype))
    if overlap.any():
        i = int(np.flatnonzero(overlap)[0])
        raise FormatError(f"the m/z and intensity arrays of spectrum {i} overlap in the .ibd "
                          f"({int(overlap.sum())} spectra affected): corrupt offsets", idx.path)
    beyond = ((me > size) & mf) | ((ie > size) & if_)
    if beyond.any() and salvage and not beyond.all():
        warnings.warn(f"{idx.ibd_path}: truncated: {int(beyond.sum())} of {beyond.size} spectra lie beyond the "
                      f"end of the file ({size} bytes) and are left out (their pixels read as 0)",
                      TruncatedWarning, stacklevel=3)
        idx.notes.append(f"salvaged: {int(beyond.sum())} spectra beyond the end of the truncated .ibd left out")
        _select(idx, ~beyond)
    for what, off, n, dt in (("m/z", idx.mz_offset, idx.mz_length, idx.mz_dtype),
                             ("intensity", idx.int_offset, idx.int_length, idx.int_dtype)):
        end = off + n * dt.itemsize
        bad = np.flatnonzero((end > size) & (n > 0))
        if bad.size:
            i = int(bad[0])
            require_bytes(idx.ibd_path, int(off[i]), int(n[i] * dt.itemsize),
                          what=f"the {what} array of spectrum {i} ({bad.size} spectra affected)")
    if idx.mode == "processed":
        return
    if idx.mz_length.size and (idx.mz_length[idx.mz_length > 0] != idx.mz_length.max()).any():
        raise FormatError("continuous imzML whose spectra have different m/z array lengths", idx.path)
    full = idx.int_length > 0
    if (idx.int_length[full] != idx.mz_length.max()).any():
        raise FormatError("continuous imzML whose intensity arrays differ in length from the m/z array", idx.path)


def verify_ibd(idx: ImzMLIndex, *, checksum: bool = True, salvage: bool = False) -> None:
    """Check the ``.ibd`` UUID (first 16 bytes) and, if ``checksum``, its SHA-1/MD5 against the XML.

    A salvaged index (spectra left out of a truncated ``.ibd``) skips the checksum, which cannot match.
    """
    with open(idx.ibd_path, "rb") as fh:
        head = fh.read(16)
    if idx.uuid is not None:
        if len(head) < 16:
            raise FormatError("the .ibd is shorter than its 16-byte UUID: truncated", idx.ibd_path)
        if head.hex() != idx.uuid:
            raise FormatError(f"UUID mismatch: the .ibd starts with {head.hex()} but {idx.path.name} declares "
                              f"{idx.uuid}; the two files do not belong together", idx.ibd_path)
    if not checksum or (idx.sha1 is None and idx.md5 is None):
        return
    if salvage and any(n.startswith("salvaged:") for n in idx.notes):
        return
    algo, label, expected = ("sha1", "SHA-1", idx.sha1) if idx.sha1 is not None else ("md5", "MD5", idx.md5)
    h = hashlib.new(algo)
    with open(idx.ibd_path, "rb") as fh:
        while chunk := fh.read(1 << 22):
            h.update(chunk)
    if h.hexdigest() != expected:
        raise FormatError(f"{label} checksum mismatch: the .ibd hashes to {h.hexdigest()} but "
                          f"{idx.path.name} declares {expected}; the binary file is corrupt or altered",
                          idx.ibd_path)


def describe_index(idx: ImzMLIndex) -> dict[str, Any]:
    """Plain-dict summary for ``ionscope info``."""
    return {
        "mode": idx.mode, "n_spectra": idx.n_spectra, "grid": [idx.ny, idx.nx],
        "pixel_size_um": None if idx.pixel_size_um is None else list(idx.pixel_size_um),
        "mz_dtype": str(idx.mz_dtype), "intensity_dtype": str(idx.int_dtype),
        "values": int(idx.int_length.sum()), "uuid": idx.uuid, "sha1": idx.sha1, "polarity": idx.polarity,
        "ibd": idx.ibd_path.name, "notes": list(idx.notes),
    }
