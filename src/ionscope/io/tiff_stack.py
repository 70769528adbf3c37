"""Open FIB-SEM stacks: a multipage TIFF, a folder of single-page TIFFs, or a ``.zip`` holding either.

Multipage files go through :func:`ionscope.io.tiff.read_tiff`. Folders are read slice by slice
(lazily with Dask: one task per file) after checking every slice has the same shape and dtype. Zip
archives are read member by member from the archive (no extraction to disk); declared sizes are
checked against the archive before decompression.
"""

from __future__ import annotations

import io
import zipfile
from os import PathLike
from pathlib import Path

import numpy as np
import tifffile
import xarray as xr

from ionscope.io.checks import require_file
from ionscope.io.registry import SNIFF_BYTES, wrong_content
from ionscope.io.tiff import PLUGIN as TIFF_PLUGIN
from ionscope.io.tiff import pixel_size_from_tags, read_tiff
from ionscope.model.arrays import make_volume
from ionscope.model.errors import AbsurdSizeError, FormatError, InputNotFoundError, ValidationError

_EXT = (".tif", ".tiff")
MAX_ZIP_RATIO = 1000


def _volume_from_slices(slices: list, names: list[str], where: Path, pixel_size_um: float | None,
                        slice_thickness_um: float | None) -> xr.DataArray:
    shapes = {(s.shape, str(s.dtype)) for s in slices}
    if len(shapes) != 1:
        first = (slices[0].shape, slices[0].dtype)
        bad = next(n for n, s in zip(names, slices) if (s.shape, s.dtype) != first)
        raise ValidationError(f"slices have inconsistent shapes/dtypes: {names[0]} is {first[0]} {first[1]}, "
                              f"{bad} differs; a stack needs identical slices", where)
    import dask.array as dsa

    data = dsa.stack(slices)
    px = float(pixel_size_um) if pixel_size_um else 1.0
    dz = float(slice_thickness_um) if slice_thickness_um else px
    attrs = {"source_file": where.name, "slices": len(names),
             "pixel_size_source": "declared" if pixel_size_um else "unknown: 1 µm assumed; declare pixel_size_um",
             "slice_thickness_source": "declared" if slice_thickness_um else "assumed equal to the pixel size"}
    return make_volume(data, (dz, px, px), attrs=attrs)


def _lazy_page(path: Path):
    import dask
    import dask.array as dsa

    with tifffile.TiffFile(path) as tif:
        page = tif.pages.first
        shape, dtype = page.shape, page.dtype
    if len(shape) != 2:
        raise ValidationError(f"slice is not a single grey-level image (shape {shape})", path)
    return dsa.from_delayed(dask.delayed(tifffile.imread)(path, key=0), shape, dtype)


def read_stack(path: str | PathLike[str], *, pixel_size_um: float | None = None,
               slice_thickness_um: float | None = None, lazy: bool | None = None) -> xr.DataArray:
    """A (z, y, x) grey-level volume with spacing in µm from a TIFF stack, a folder of slices or a zip."""
    p = Path(path)
    if p.is_dir():
        files = sorted(f for f in p.iterdir() if f.suffix.lower() in _EXT)
        if not files:
            raise InputNotFoundError("folder holds no .tif/.tiff slices", p)
        try:
            slices = [_lazy_page(f) for f in files]
        except (tifffile.TiffFileError, OSError, ValueError, IndexError) as exc:
            raise FormatError(f"unreadable slice in folder: {exc}", p) from None
        vol = _volume_from_slices(slices, [f.name for f in files], p, pixel_size_um, slice_thickness_um)
        return vol if lazy or lazy is None else vol.load()
    p = require_file(p)
    if p.suffix.lower() == ".zip":
        return _read_zip(p, pixel_size_um, slice_thickness_um)
    with open(p, "rb") as fh:
        head = fh.read(SNIFF_BYTES)
    # what it is instead, found as `ionscope.read` finds it
    if TIFF_PLUGIN.sniff is not None and not TIFF_PLUGIN.sniff(p, head):
        raise wrong_content(p, "a TIFF image or stack")
    return read_tiff(p, pixel_size_um=pixel_size_um, slice_thickness_um=slice_thickness_um, lazy=lazy)


def _read_zip(p: Path, pixel_size_um: float | None, slice_thickness_um: float | None) -> xr.DataArray:
    try:
        zf = zipfile.ZipFile(p)
    except (zipfile.BadZipFile, OSError) as exc:
        raise FormatError(f"not a readable zip archive: {exc}", p) from None
    with zf:
        members = sorted((i for i in zf.infolist() if i.filename.lower().endswith(_EXT)
                          and not i.filename.startswith("__MACOSX") and not Path(i.filename).name.startswith("._")),
                         key=lambda i: i.filename)
        if not members:
            raise FormatError("zip archive holds no .tif/.tiff file", p)
        for m in members:
            if m.file_size > MAX_ZIP_RATIO * max(m.compress_size, 1) + 65536:
                raise AbsurdSizeError(f"member {m.filename} claims {m.file_size} bytes from {m.compress_size}", p)
        try:
            arrays = [tifffile.imread(io.BytesIO(zf.read(m))) for m in members]
            with tifffile.TiffFile(io.BytesIO(zf.read(members[0]))) as first:
                tag_y, tag_x, tag_source = pixel_size_from_tags(first)  # as read_tiff reads them
        except (tifffile.TiffFileError, zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
            raise FormatError(f"corrupt TIFF or zip member: {exc}", p) from None
    if len(arrays) == 1 and arrays[0].ndim == 3:
        data = arrays[0]
    else:
        if any(a.ndim != 2 for a in arrays):
            raise ValidationError("zip must hold one 3-D stack or single-page slices", p)
        if len({a.shape for a in arrays}) != 1:
            raise ValidationError("slices in the zip have inconsistent shapes", p)
        data = np.stack(arrays)
    if pixel_size_um:
        py = px = float(pixel_size_um)
        source = "declared"
    elif tag_x is not None and tag_y is not None:
        py, px, source = tag_y, tag_x, tag_source
    else:
        why = tag_source.removeprefix("unknown").lstrip(": ")
        py = px = 1.0
        source = f"unknown: {why + '; ' if why else ''}1 µm assumed"
    dz = float(slice_thickness_um) if slice_thickness_um else px
    return make_volume(data, (dz, py, px), attrs={"source_file": p.name, "pixel_size_source": source})
