"""IONTOF BIF6 peak-image export → ``ion_image`` (y, x, peak) of uint32 counts.

Byte layout (little-endian; see docs/formats.md "BIF6 peak images"):

* header, 12 bytes: magic ``00 00 42 49 46 36`` (``"\\0\\0BIF6"``), ``uint16`` number of intervals,
  ``uint16`` nx, ``uint16`` ny;
* per interval, 16 + 4·nx·ny bytes: ``uint32`` id, ``float32`` m/z low, centre, high, then nx·ny
  ``uint32`` counts, row by row (x fastest).

The file size must equal 12 + n·(16 + 4·nx·ny) exactly; the check runs before anything is read.
"""

from __future__ import annotations

import struct
import warnings
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from ionscope.io.atomic import atomic_path
from ionscope.io.checks import TruncatedWarning, require_file
from ionscope.io.registry import FormatPlugin, PositiveFloat, ReaderOptions
from ionscope.model.arrays import coord, make_ion_image
from ionscope.model.errors import FormatError, ValidationError

MAGIC = b"\x00\x00BIF6"
HEADER = struct.Struct("<6s3H")
INTERVAL = struct.Struct("<I3f")


class Bif6Options(ReaderOptions):
    """Reader options of BIF6 files."""

    pixel_size_um: PositiveFloat = 1.0
    salvage: bool = False


def _sniff(path: Path, head: bytes) -> bool:
    return head[:6] == MAGIC


def read_bif6(path: str | PathLike[str], *, pixel_size_um: float = 1.0, salvage: bool = False) -> xr.DataArray:
    """Read a BIF6 file; ``pixel_size_um`` is not stored in the file and must come from the user.

    With ``salvage``, a file cut short (fewer bytes than the header declares) is read up to its last
    complete interval, with a :class:`~ionscope.io.checks.TruncatedWarning`.
    """
    p = require_file(path)
    size = p.stat().st_size
    with open(p, "rb") as fh:
        head = fh.read(HEADER.size)
        if len(head) < HEADER.size:
            raise FormatError(f"only {len(head)} bytes: shorter than the 12-byte BIF6 header", p)
        magic, n, nx, ny = HEADER.unpack(head)
        if magic != MAGIC:
            raise FormatError(f"bad magic {magic!r}: not a BIF6 file (expected {MAGIC!r})", p)
        if n == 0 or nx == 0 or ny == 0:
            raise FormatError(f"header declares {n} intervals of {nx} × {ny} pixels: nothing to read", p)
        block = INTERVAL.size + 4 * nx * ny
        expected = HEADER.size + n * block
        if salvage and size < expected and (size - HEADER.size) // block >= 1:
            n_full = (size - HEADER.size) // block
            warnings.warn(f"{p}: truncated: {n_full} of the {n} declared intervals are complete; reading those",
                          TruncatedWarning, stacklevel=2)
            n = n_full
        elif size != expected:
            raise FormatError(f"inconsistent sizes: the header declares {n} intervals of {nx} × {ny} pixels "
                              f"({expected} bytes) but the file has {size} bytes", p)
    raw = np.memmap(p, dtype=np.uint8, mode="r", offset=HEADER.size, shape=(n * block,)).reshape(n, block)
    meta = np.ndarray((n,), dtype=np.dtype([("id", "<u4"), ("lo", "<f4"), ("mid", "<f4"), ("hi", "<f4")]),
                      buffer=raw, strides=(block,))
    counts = np.ndarray((n, ny, nx), dtype="<u4", buffer=raw, offset=INTERVAL.size, strides=(block, 4 * nx, 4))
    data = np.moveaxis(np.array(counts), 0, -1)
    ids = meta["id"].astype(int)
    mid = meta["mid"].astype(float)
    labels = [f"{m:.4f}" if i != 0 else "total" for i, m in zip(ids, mid)]
    da = make_ion_image(data, labels, pixel_size_um=pixel_size_um, mz=mid,
                        attrs={"source_file": p.name, "pixel_size_source": "declared by the user (not in BIF6)"})
    return da.assign_coords(interval_id=xr.Variable("peak", ids),
                            mz_low=coord("peak", meta["lo"].astype(float), "m/z"),
                            mz_high=coord("peak", meta["hi"].astype(float), "m/z"))


def write_bif6(images: xr.DataArray, path: str | PathLike[str], *, force: bool = False, **_: Any) -> Path:
    """Write an ``ion_image`` with ``mz`` (and optionally ``mz_low``/``mz_high``, ``interval_id``) as BIF6."""
    if set(images.dims) != {"y", "x", "peak"}:
        raise ValidationError(f"BIF6 holds (y, x, peak) ion images, got dims {images.dims}")
    im = images.transpose("peak", "y", "x")
    n, ny, nx = im.shape
    if max(n, ny, nx) > 65535:
        raise ValidationError(f"BIF6 sizes are uint16; {n} peaks of {ny} × {nx} pixels do not fit")
    counts = np.asarray(im.values)
    if counts.min(initial=0) < 0 or np.any(counts != np.round(counts)) or counts.max(initial=0) > 2**32 - 1:
        raise ValidationError("BIF6 stores whole, non-negative uint32 counts")
    mid = np.asarray(images["mz"].values, dtype=float) if "mz" in images.coords else np.zeros(n)
    lo = np.asarray(images["mz_low"].values, dtype=float) if "mz_low" in images.coords else mid
    hi = np.asarray(images["mz_high"].values, dtype=float) if "mz_high" in images.coords else mid
    ids = np.asarray(images["interval_id"].values) if "interval_id" in images.coords else np.arange(1, n + 1)
    with atomic_path(path, force=force) as tmp, open(tmp, "wb") as fh:
        fh.write(HEADER.pack(MAGIC, n, nx, ny))
        for k in range(n):
            fh.write(INTERVAL.pack(int(ids[k]), lo[k], mid[k], hi[k]))
            fh.write(counts[k].astype("<u4").tobytes())
    return Path(path)


PLUGIN = FormatPlugin(
    name="bif6",
    extensions=(".bif6", ".bif"),
    kinds=("ion_image",),
    description="IONTOF BIF6 peak-image export (uint32 counts per m/z interval) → y×x×peak",
    read=read_bif6,
    sniff=_sniff,
    write=write_bif6,
    options_model=Bif6Options,
    options={"pixel_size_um": "pixel size (not stored in BIF6)",
             "salvage": "read the complete intervals of a truncated file, with a warning"},
)

__all__ = ["read_bif6", "write_bif6"]
