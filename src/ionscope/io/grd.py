"""IONTOF GRD raw-event export: headerless little-endian records of 5 × uint32 (scan, shot, x, y, tof).

The file carries no calibration or geometry; the user supplies them (``k0``, ``sf``, ``binning``,
``nx``, ``ny``, ``pixel_size_um``), as read from the accompanying SurfaceLab export, or writes them
once into a sidecar ``NAME.grd.json`` beside the file (:func:`write_grd_sidecar`; format in
``docs/formats.md``), which the reader then uses for every value not given explicitly. The reader
only checks the size and maps the file (:class:`~ionscope.model.events.EventTable`).
"""

from __future__ import annotations

import json
import warnings
from os import PathLike
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pydantic

from ionscope.io.atomic import atomic_path, write_text
from ionscope.io.checks import MAX_IN_MEMORY_BYTES, TruncatedWarning, checked_nbytes, require_file
from ionscope.io.registry import FiniteFloat, FormatPlugin, PositiveFloat, PositiveInt, ReaderOptions
from ionscope.model.errors import FormatError, ValidationError
from ionscope.model.events import RECORD, Calibration, EventTable, Geometry


class _Stated(pydantic.BaseModel):
    """Calibration, geometry and polarity: not in a GRD file, given as reader options or in its sidecar."""

    k0: FiniteFloat | None = None
    sf: PositiveFloat | None = None
    binning: PositiveFloat | None = None
    nx: PositiveInt | None = None
    ny: PositiveInt | None = None
    pixel_size_um: PositiveFloat | None = None
    polarity: str | None = None
    n_scans: PositiveInt | None = None


class GrdOptions(ReaderOptions, _Stated):
    """Reader options of GRD files (calibration and geometry are not in the file)."""

    peaks: str | None = None
    tol_ppm: PositiveFloat | None = None
    tol_da: PositiveFloat | None = None
    mz_bin: PositiveFloat | None = None
    mz_range: str | None = None
    salvage: bool = False


def mz_bin_edges(path: str | PathLike[str], mz_range: str | tuple[float, float] | None, width: float,
                 pixels: int, *, limit: int = MAX_IN_MEMORY_BYTES) -> np.ndarray:
    """Edges of m/z bins of ``width`` over ``mz_range`` ("lo,hi"; default 1–500), size-checked first.

    The (pixels × bins) uint32 cube the edges imply is checked against ``limit`` bytes before the
    edges themselves are allocated, so ``mz_bin=1e-7`` fails at once instead of asking for 37 GiB.
    """
    if mz_range is None:
        lo, hi = 1.0, 500.0
    else:
        try:
            lo, hi = (float(v) for v in (str(mz_range).replace(";", ",").split(",")
                                         if isinstance(mz_range, str) else mz_range))
        except ValueError:
            raise ValidationError(f"mz_range must be two numbers 'lo,hi', got {mz_range!r}", path) from None
    if not (np.isfinite(lo) and np.isfinite(hi) and 0 < lo < hi):
        raise ValidationError(f"mz_range needs 0 < lo < hi, got {lo:g},{hi:g}", path)
    if not (np.isfinite(width) and width > 0):
        raise ValidationError(f"mz_bin must be a positive m/z width, got {width!r}", path)
    n_bins = int(np.ceil((hi - lo) / width))
    checked_nbytes(path, (max(int(pixels), 1), n_bins + 1), np.uint32, what=f"cube of {n_bins} m/z bins",
                   limit=limit, limit_reason="allowed in memory (choose a wider mz_bin or a narrower mz_range)")
    return lo + width * np.arange(n_bins + 1)


#: Format tag of a GRD sidecar (``NAME.grd.json``).
SIDECAR_FORMAT = "ionscope.grd-sidecar"
#: The only time unit of ``k0`` and ``sf`` a sidecar may declare: TOF channels (× ``binning``).
SIDECAR_UNITS = "channel"
#: Sidecar keys and what each must be.
_SIDECAR_KEYS = {"k0": "a finite number", "sf": "a positive number", "binning": "a positive number",
                 "nx": "a positive integer", "ny": "a positive integer", "pixel_size_um": "a positive number",
                 "n_scans": "a positive integer", "polarity": "'positive' or 'negative'", "units": "'channel'",
                 "format": f"{SIDECAR_FORMAT!r}", "version": "1"}


def sidecar_path(path: str | PathLike[str]) -> Path:
    """The sidecar of a GRD file: the same name with ``.json`` appended (``run.grd`` → ``run.grd.json``)."""
    p = Path(path)
    return p.with_name(p.name + ".json")


def read_grd_sidecar(path: str | PathLike[str]) -> dict[str, Any]:
    """The calibration, geometry and polarity stated by the sidecar of GRD file ``path`` ({} when absent).

    Raises
    ------
    FormatError
        If the sidecar is not a JSON object of the keys of ``docs/formats.md`` with valid values.
    """
    side = sidecar_path(path)
    if not side.is_file():
        return {}
    try:
        meta = json.loads(side.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FormatError(f"GRD sidecar is not valid JSON ({exc})", side) from None
    if not isinstance(meta, dict):
        raise FormatError("GRD sidecar must be a JSON object of k0, sf, binning, nx, ny, pixel_size_um, "
                          "n_scans, polarity, units", side)
    unknown = sorted(set(meta) - set(_SIDECAR_KEYS))
    if unknown:
        raise FormatError(f"GRD sidecar has unknown keys {unknown}; known: {sorted(_SIDECAR_KEYS)}", side)
    key = next((k for k, v in meta.items() if v is None), None) or _first_invalid(meta)
    if key is not None:
        raise FormatError(f"GRD sidecar: {key} must be {_SIDECAR_KEYS[key]}, got {meta[key]!r}", side)
    return {k: v for k, v in meta.items() if k not in ("format", "version", "units")}


def _first_invalid(meta: dict[str, Any]) -> str | None:
    """The first sidecar key whose value :class:`_Sidecar` refuses, or None."""
    try:
        _Sidecar.model_validate(meta)
    except pydantic.ValidationError as exc:
        return str(exc.errors()[0]["loc"][0])
    return None


class _Sidecar(_Stated):
    """What each sidecar key must be (strict: no strings for numbers, no fractions or booleans for integers);
    a key left out is not stated (:func:`read_grd_sidecar` refuses an explicit null)."""

    model_config = pydantic.ConfigDict(extra="forbid", strict=True)

    polarity: Literal["positive", "negative"] | None = None
    units: Literal["channel"] | None = None
    format: Literal["ionscope.grd-sidecar"] | None = None
    version: Literal[1] | None = None


def write_grd_sidecar(path: str | PathLike[str], calibration: Calibration, *, geometry: Geometry | None = None,
                      polarity: str | None = None, force: bool = False) -> Path:
    """Write the sidecar ``NAME.grd.json`` of GRD file ``path``: its calibration (TOF channels), and
    optionally its raster geometry and polarity, so that readers need no ``k0``/``sf``/``nx``/``ny``.

    Returns
    -------
    Path
        The sidecar written.
    """
    if polarity not in (None, "positive", "negative"):
        raise ValidationError(f"polarity must be 'positive' or 'negative', got {polarity!r}")
    meta: dict[str, Any] = {"format": SIDECAR_FORMAT, "version": 1, "units": SIDECAR_UNITS,
                            "k0": float(calibration.k0), "sf": float(calibration.sf),
                            "binning": float(calibration.binning)}
    if geometry is not None:
        meta.update(nx=int(geometry.nx), ny=int(geometry.ny), pixel_size_um=float(geometry.pixel_size_um))
        if geometry.n_scans is not None:
            meta["n_scans"] = int(geometry.n_scans)
    if polarity is not None:
        meta["polarity"] = polarity
    side = sidecar_path(path)
    write_text(side, json.dumps(meta, indent=2) + "\n", force=force)
    return side


def read_grd(path: str | PathLike[str], *, k0: float | None = None, sf: float | None = None,
             binning: float | None = None, nx: int | None = None, ny: int | None = None,
             pixel_size_um: float | None = None, n_scans: int | None = None, polarity: str | None = None,
             peaks: str | None = None, tol_ppm: float | None = None,
             tol_da: float | None = None, mz_bin: float | None = None, mz_range: str | None = None,
             salvage: bool = False) -> EventTable | Any:
    """Open a GRD file as a memory-mapped :class:`EventTable`.

    Calibration (``k0``, ``sf``, ``binning``; default binning 1), geometry (``nx``, ``ny``,
    ``pixel_size_um`` in µm, default 1; ``n_scans``) and ``polarity`` not given are taken from the
    sidecar ``NAME.grd.json`` when there is one (:func:`read_grd_sidecar`); given values override it.

    With ``peaks`` (comma-separated m/z, plus ``tol_ppm`` or ``tol_da``) or ``mz_bin`` (m/z width, over
    ``mz_range`` "lo,hi", default 1–500) the events are binned at once
    (:func:`ionscope.imaging.bin_events`) and the ion images or (y, x, mz) cube are returned — the
    form ``ionscope convert run.grd cube.zarr -o k0=… -o sf=… -o nx=… -o ny=… -o peaks=…`` uses.

    With ``salvage``, a file cut short inside a record (an acquisition stopped mid-write) is read
    up to its last complete record, with a :class:`~ionscope.io.checks.TruncatedWarning`.

    Raises
    ------
    FormatError
        If the length is not a whole number of 20-byte records (truncated file) and not ``salvage``.
    """
    p = require_file(path)
    size = p.stat().st_size
    if size % RECORD.itemsize and salvage and size >= RECORD.itemsize:
        warnings.warn(f"{p}: truncated inside an event record; reading the {size // RECORD.itemsize} complete "
                      f"records and ignoring the last {size % RECORD.itemsize} bytes", TruncatedWarning,
                      stacklevel=2)
    elif size % RECORD.itemsize:
        raise FormatError(f"length {size} bytes is not a multiple of the {RECORD.itemsize}-byte event record "
                          f"(5 × uint32): truncated or not a GRD file ({size % RECORD.itemsize} bytes left over)", p)
    side = read_grd_sidecar(p)
    k0, sf, binning = (v if v is not None else side.get(k) for k, v in (("k0", k0), ("sf", sf), ("binning", binning)))
    nx, ny, n_scans = (v if v is not None else side.get(k) for k, v in (("nx", nx), ("ny", ny), ("n_scans", n_scans)))
    pixel_size_um = pixel_size_um if pixel_size_um is not None else side.get("pixel_size_um", 1.0)
    polarity = polarity if polarity is not None else side.get("polarity")
    if polarity not in (None, "positive", "negative"):
        raise ValidationError(f"polarity must be 'positive' or 'negative', got {polarity!r}", p)
    cal = None
    if k0 is not None or sf is not None:
        if k0 is None or sf is None:
            raise ValidationError("a mass calibration needs both k0 and sf", p)
        cal = Calibration(float(k0), float(sf), 1.0 if binning is None else float(binning))
    geo = None
    if nx is not None or ny is not None:
        if nx is None or ny is None:
            raise ValidationError("the raster geometry needs both nx and ny", p)
        geo = Geometry(int(nx), int(ny), float(pixel_size_um), None if n_scans is None else int(n_scans))
    attrs = {"polarity": polarity} if polarity else {}
    if side:
        attrs["sidecar"] = sidecar_path(p).name
    table = EventTable(p, calibration=cal, geometry=geo, attrs=attrs)
    if peaks is None and mz_bin is None:
        return table
    from ionscope.io.events import bin_events

    if geo is None or cal is None:
        raise ValidationError("binning at once (peaks= or mz_bin=) needs k0, sf, nx and ny", p)
    if peaks is not None:
        try:
            mz = [float(v) for v in str(peaks).replace(";", ",").split(",") if v.strip()]
        except ValueError:
            raise ValidationError(f"peaks must be comma-separated m/z values, got {peaks!r}", p) from None
        if not mz:
            raise ValidationError("peaks is empty", p)
        return bin_events(table, peaks=mz, tolerance_ppm=tol_ppm, tolerance_da=tol_da)
    assert mz_bin is not None  # no peaks, and not both None (returned above)
    edges = mz_bin_edges(p, mz_range, float(mz_bin), geo.nx * geo.ny)
    return bin_events(table, mz_edges=edges)


def write_grd(records: Any, path: str | PathLike[str], *, force: bool = False, append: bool = False) -> Path:
    """Write event records ((n, 5) integers or a structured array of :data:`RECORD`) as a GRD file."""
    arr = np.asarray(records)
    if arr.dtype != RECORD:
        arr = np.ascontiguousarray(arr, dtype="<u4")
        if arr.ndim != 2 or arr.shape[1] != 5:
            raise ValidationError(f"GRD records are (n, 5) integers, got shape {arr.shape}")
    if append:
        with open(path, "ab") as fh:
            fh.write(arr.tobytes())
        return Path(path)
    with atomic_path(path, force=force) as tmp:
        tmp.write_bytes(arr.tobytes())
    return Path(path)


def _write(obj: Any, path: Path, *, force: bool = False, **_: Any) -> Path:
    if isinstance(obj, EventTable):
        with atomic_path(path, force=force) as tmp, open(tmp, "wb") as fh:
            for _start, block in obj.iter_chunks():
                fh.write(block.tobytes())
        return path
    return write_grd(obj, path, force=force)


PLUGIN = FormatPlugin(
    name="grd",
    extensions=(".grd",),
    kinds=("events",),
    description="IONTOF GRD raw events (5 × uint32: scan, shot, x, y, tof), memory-mapped event table",
    read=read_grd,
    write=_write,
    options_model=GrdOptions,
    options={"k0": "time-zero (channels)", "sf": "scale factor", "binning": "channel binning",
             "peaks": "bin at once: m/z list", "tol_ppm": "window", "tol_da": "window",
             "mz_bin": "bin at once: m/z bin width", "mz_range": "lo,hi for mz_bin",
             "nx": "pixels per row", "ny": "rows", "pixel_size_um": "pixel size", "n_scans": "scans",
             "polarity": "positive or negative (for the calibration check)",
             "salvage": "read the complete records of a truncated file, with a warning"},
)

__all__ = ["SIDECAR_FORMAT", "GrdOptions", "mz_bin_edges", "read_grd", "read_grd_sidecar", "sidecar_path",
           "write_grd", "write_grd_sidecar"]
