"""TIFF images and stacks (tifffile), with pixel size from FEI, Zeiss, ImageJ or resolution tags.

A single page becomes an ``image`` (y, x); a multi-page stack a ``volume`` (z, y, x) whose slice
thickness is declared by the user (FIB-SEM headers do not hold it) or taken from ImageJ's
``spacing``. Large stacks are opened lazily as Dask arrays over tifffile's Zarr view.
"""

from __future__ import annotations

import contextlib
import io
import logging
import struct
import typing
import zipfile
import zlib
from collections.abc import Iterator
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import pydantic
import tifffile
import xarray as xr

from ionscope.io.checks import MAX_IN_MEMORY_BYTES, checked_nbytes, require_file
from ionscope.io.registry import FormatPlugin, PositiveFloat, ReaderOptions
from ionscope.model.arrays import coord, labelled, make_volume, pixel_axis
from ionscope.model.errors import AbsurdSizeError, FormatError, IonscopeError, UnsupportedError
from ionscope.model.units import convert

_MAGICS = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
#: Compressed TIFF data may expand at most this much over the file size before we call it absurd.
MAX_COMPRESSION_RATIO = 1000
#: Zip archives holding one TIFF (how large benchmark volumes are shipped).
_ZIP_SUFFIXES = (".tif.zip", ".tiff.zip")
#: Stacks larger than this (bytes) are opened lazily unless ``lazy=False``.
LAZY_THRESHOLD = 1024**3


class TiffOptions(ReaderOptions):
    """Reader options of TIFF images and stacks."""

    pixel_size_um: PositiveFloat | None = None
    slice_thickness_um: PositiveFloat | None = None
    lazy: bool | None = None
    series: typing.Annotated[int, pydantic.Field(ge=0)] = 0


def _sniff(path: Path, head: bytes) -> bool:
    return head[:4] in _MAGICS or (path.name.lower().endswith(_ZIP_SUFFIXES) and head[:4] == b"PK\x03\x04")


#: Pixels per inch that writers put in every TIFF as a print or screen density, not a pixel size. The
#: TIFF 6.0 specification (Adobe, 1992, section 8) makes XResolution/YResolution required fields with
#: ResolutionUnit defaulting to inch, so software that knows no pixel size writes its display default:
#: 72 ppi (Apple/Adobe, also Photoshop's and many libraries' default), 96 ppi (Windows' logical
#: density), 144 (2 × 72, high-density displays), 150, 300 and 600 ppi (print). A microscope pixel read
#: from them (25.4 mm / 72 = 352.8 µm) is an artefact of the writer: the pixel size is then unknown.
PRINT_PPI = frozenset({72, 96, 144, 150, 300, 600})


def _print_density(xres: Any, yres: Any, unit: Any, ij: dict[str, Any]) -> float | None:
    """The pixels per inch of resolution tags that state a print/screen density (:data:`PRINT_PPI`),
    else None. Only inch units count (ImageJ's ``unit`` or a centimetre unit state a physical size)."""
    if xres is None or unit is None or int(unit.value) != 2 or ij.get("unit"):
        return None
    values = [xres.value] + ([yres.value] if yres is not None else [])
    ppi = [num / den if den else 0.0 for num, den in values]
    return ppi[0] if all(p == ppi[0] for p in ppi) and ppi[0] in PRINT_PPI else None


def pixel_size_from_tags(tif: tifffile.TiffFile) -> tuple[float | None, float | None, str]:
    """(pixel height, pixel width) in µm and where they came from (None, None and why when unknown).

    Resolution tags at a print or screen density (:data:`PRINT_PPI`, e.g. 72 pixels per inch) are not a
    pixel size: the size is then unknown, and the reason is given.
    """
    fei = getattr(tif, "fei_metadata", None)
    if fei:
        scan = fei.get("Scan") or fei.get("EScan") or {}
        if scan.get("PixelWidth"):
            w = float(scan["PixelWidth"]) * 1e6
            h = float(scan.get("PixelHeight") or scan["PixelWidth"]) * 1e6
            return h, w, "FEI metadata (Scan/PixelWidth)"
    sem = getattr(tif, "sem_metadata", None)
    if sem:
        for key in ("ap_image_pixel_size", "ap_pixel_size"):
            val = sem.get(key)
            if isinstance(val, (tuple, list)) and len(val) >= 3:
                size = float(convert(float(val[1]), str(val[2]), "µm"))
                return size, size, f"Zeiss SEM metadata ({key})"
    page = tif.pages.first
    xres, yres, unit = page.tags.get("XResolution"), page.tags.get("YResolution"), page.tags.get("ResolutionUnit")
    ij = tif.imagej_metadata or {}
    ppi = _print_density(xres, yres, unit, ij)
    if ppi is not None:
        return None, None, (f"unknown: the resolution tags state {ppi:g} pixels per inch, a print/screen "
                            "density its writer puts in every TIFF, not a pixel size")
    if xres is not None and unit is not None and int(unit.value) in (2, 3) or (xres is not None and ij.get("unit")):
        per = {2: 25400.0, 3: 10000.0}.get(int(unit.value) if unit is not None else 0)
        if ij.get("unit"):
            try:
                per = convert(1.0, str(ij["unit"]).replace("\\u00B5", "µ"), "µm")
            except Exception:
                per = None
        num, den = xres.value
        if per and num:
            w = per * den / num
            ynum, yden = yres.value if yres is not None else (num, den)
            return per * yden / ynum, w, "TIFF resolution tags"
    return None, None, "unknown"


def read_tiff(path: str | PathLike[str], *, pixel_size_um: float | None = None,
              slice_thickness_um: float | None = None, lazy: bool | None = None,
              series: int = 0) -> xr.DataArray:
    """Read a TIFF image or stack.

    Parameters
    ----------
    pixel_size_um
        In-plane pixel size; overrides tags.
    slice_thickness_um
        Spacing between slices of a stack (FIB-SEM slice thickness); defaults to ImageJ's
        ``spacing`` or to the in-plane pixel size, and the source is recorded in ``attrs``.
    lazy
        Return a Dask-backed array; default: only for stacks over 1 GB.
    """
    p = require_file(path)
    source_file, size = _open_source(p)
    with _tifffile_log() as log:
        try:
            tif = tifffile.TiffFile(source_file, mode="r", name=p.name)
        except MemoryError:
            raise AbsurdSizeError("the TIFF header declares structures too large to hold in memory", p) from None
        except NotImplementedError as exc:
            raise UnsupportedError(f"TIFF feature not supported: {exc}", p) from None
        except _CORRUPT as exc:
            raise FormatError(f"not a readable TIFF: {type(exc).__name__}: {exc}", p) from None
        if not isinstance(source_file, (str, Path)):
            lazy = False  # a TIFF inside a zip archive is already in memory
        try:
            da = _read_open(tif, p, size, pixel_size_um, slice_thickness_um, lazy, series)
        except IonscopeError:
            raise
        except NotImplementedError as exc:
            raise UnsupportedError(f"TIFF feature not supported: {exc}", p) from None
        except _CORRUPT as exc:  # damaged metadata (pixel sizes, ImageJ spacing) met after the pixels
            raise FormatError(f"corrupt TIFF metadata: {type(exc).__name__}: {exc}", p) from None
    if log:
        da.attrs["reader_notes"] = log
    return da


#: Exceptions tifffile raises on damaged files (a zoo: its parser trusts the header's numbers).
_CORRUPT = (tifffile.TiffFileError, ValueError, OSError, IndexError, KeyError, ZeroDivisionError, struct.error,
            TypeError, AttributeError, OverflowError, RuntimeError, EOFError, UnicodeDecodeError)


def _open_source(p: Path) -> tuple[Any, int]:
    """The file to hand to tifffile and its size; a ``.tif.zip`` archive's single TIFF is read into memory."""
    if not p.name.lower().endswith(_ZIP_SUFFIXES):
        return p, p.stat().st_size
    try:
        with zipfile.ZipFile(p) as zf:
            members = [i for i in zf.infolist() if i.filename.lower().endswith((".tif", ".tiff"))
                       and not i.filename.startswith("__MACOSX/") and not i.is_dir()]
            if len(members) != 1:
                raise FormatError(f"a TIFF zip archive must hold exactly one .tif/.tiff, found {len(members)}", p)
            info = members[0]
            if info.file_size > MAX_IN_MEMORY_BYTES or info.file_size > MAX_COMPRESSION_RATIO * max(
                    info.compress_size, 1) + 65536:
                raise AbsurdSizeError(f"archive member {info.filename!r} claims {info.file_size} bytes from "
                                      f"{info.compress_size} compressed", p)
            data = zf.read(info)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, NotImplementedError, ValueError,
            zlib.error, RuntimeError) as exc:
        raise FormatError(f"not a readable zip archive: {type(exc).__name__}: {exc}", p) from None
    return io.BytesIO(data), len(data)


@contextlib.contextmanager
def _tifffile_log() -> Iterator[list[str]]:
    """Collect tifffile's log messages (kept in ``attrs["reader_notes"]``) instead of printing them."""
    notes: list[str] = []

    class _Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            notes.append(record.getMessage()[:300])

    logger = logging.getLogger("tifffile")
    handler, propagate = _Collect(level=logging.WARNING), logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield notes
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate


class _Series(typing.NamedTuple):
    """One image series of an opened TIFF: its pixels and what its tags say about them."""

    data: Any
    axes: str
    shape: tuple[int, ...]
    squeeze_axes: list[int]
    plane_y: float | None
    plane_x: float | None
    source: str
    imagej: dict[str, Any]
    lazy: bool


def _read_open(tif: tifffile.TiffFile, p: Path, size: int, pixel_size_um: float | None,
               slice_thickness_um: float | None, lazy: bool | None, series: int) -> xr.DataArray:
    """The array of series ``series`` of an opened TIFF, with coordinates in µm."""
    loaded = _load_series(tif, p, size, lazy, series)
    if not loaded.lazy:
        tif.close()
    shape = loaded.shape
    kept = tuple(n for i, n in enumerate(shape) if i not in loaded.squeeze_axes) or (1,)
    if int(np.prod(kept, dtype=object)) != loaded.data.size:
        raise FormatError(f"the pages hold {loaded.data.size} values where the header declares shape {shape}: "
                          "corrupt", p)
    data = loaded.data.reshape(kept)
    plane_y, plane_x, source = loaded.plane_y, loaded.plane_x, loaded.source
    if pixel_size_um is not None:
        plane_y = plane_x = float(pixel_size_um)
        source = "declared"
    attrs = {"source_file": p.name, "pixel_size_source": source}
    if plane_x is None or plane_y is None:
        plane_y = plane_x = 1.0
        why = source.removeprefix("unknown: ") + "; " if source.startswith("unknown: ") else ""
        attrs["pixel_size_source"] = f"unknown: {why}1 µm assumed; declare pixel_size_um"
    if data.ndim == 2:
        coords = {"y": coord("y", pixel_axis(data.shape[0], plane_y), "µm"),
                  "x": coord("x", pixel_axis(data.shape[1], plane_x), "µm")}
        return labelled(data, "image", coords=coords, units="grey", attrs=attrs)
    if data.ndim != 3:
        raise UnsupportedError(f"TIFF series with axes {loaded.axes} and shape {shape} is not an image or a stack", p)
    dz = _slice_spacing(slice_thickness_um, loaded.imagej, plane_x, attrs)
    return make_volume(data, (dz, plane_y, plane_x), attrs=attrs)


def _slice_spacing(slice_thickness_um: float | None, ij: dict[str, Any], plane_x: float,
                   attrs: dict[str, Any]) -> float:
    """Slice spacing of a stack (µm): declared, ImageJ's ``spacing``, or the pixel size; its source
    goes into ``attrs["slice_thickness_source"]``."""
    if slice_thickness_um is not None:
        dz, attrs["slice_thickness_source"] = float(slice_thickness_um), "declared"
    elif ij.get("spacing"):
        dz, attrs["slice_thickness_source"] = float(ij["spacing"]), "ImageJ spacing"
    else:
        dz, attrs["slice_thickness_source"] = plane_x, "assumed equal to the pixel size; declare slice_thickness_um"
    return dz


def _load_series(tif: tifffile.TiffFile, p: Path, size: int, lazy: bool | None, series: int) -> _Series:
    """Check and load series ``series`` (Dask-backed when lazy); on any failure close ``tif`` and raise
    the matching :class:`IonscopeError`."""
    try:
        return _checked_series(tif, p, size, lazy, series)
    except IonscopeError:
        tif.close()
        raise
    except NotImplementedError as exc:
        tif.close()
        raise UnsupportedError(f"TIFF encoding not supported: {exc}", p) from None
    except MemoryError:
        tif.close()
        raise AbsurdSizeError("the TIFF header declares more data than fits in memory", p) from None
    except _CORRUPT as exc:
        tif.close()
        raise FormatError(f"corrupt TIFF: {type(exc).__name__}: {exc}", p) from None


def _checked_series(tif: tifffile.TiffFile, p: Path, size: int, lazy: bool | None, series: int) -> _Series:
    """Series ``series`` after the checks that need no pixels (it exists, is non-empty, grey, and not
    larger than the file can hold), then its pixels and pixel size."""
    if not tif.series:
        raise FormatError("TIFF holds no image series", p)
    if not 0 <= series < len(tif.series):
        raise FormatError(f"TIFF holds {len(tif.series)} image series; series={series} does not exist", p)
    s = tif.series[series]
    axes, shape, dtype = s.axes, tuple(s.shape), s.dtype
    if dtype is None:
        raise FormatError("TIFF pages have an unsupported sample format", p)
    if 0 in shape:
        raise FormatError(f"TIFF declares an empty image (shape {shape})", p)
    compressed = any(pg.compression != 1 for pg in s.pages[:1] if pg is not None)
    limit = size * (MAX_COMPRESSION_RATIO if compressed else 1) + 65536
    nbytes = checked_nbytes(p, shape, dtype, what="TIFF image", limit=limit)
    if "S" in axes or "C" in axes and shape[axes.index("C")] > 1:
        raise UnsupportedError(f"colour/multi-sample TIFF (axes {axes}); save it as grey levels", p)
    squeeze_axes = [i for i, a in enumerate(axes) if a not in "ZYXQITC" or shape[i] == 1]
    plane_y, plane_x, source = pixel_size_from_tags(tif)
    ij = tif.imagej_metadata or {}
    use_lazy = nbytes > LAZY_THRESHOLD if lazy is None else lazy
    if use_lazy:
        import dask.array as dsa
        import zarr

        data: Any = dsa.from_zarr(zarr.open(tif.aszarr(series=series), mode="r"))
    else:
        data = s.asarray()
    return _Series(data, axes, shape, squeeze_axes, plane_y, plane_x, source, ij, use_lazy)


#: dtypes ImageJ hyperstacks can hold; others are written as plain TIFF with resolution tags only.
_IMAGEJ_DTYPES = (np.uint8, np.uint16, np.float32)


def write_tiff(obj: xr.DataArray, path: str | PathLike[str], *, force: bool = False) -> Path:
    """Write an ``image`` (y, x) or a ``volume`` (z, y, x) as a TIFF that :func:`read_tiff` reads back.

    The in-plane pixel size (µm) goes into the resolution tags; for a volume, the slice spacing (µm)
    into ImageJ's ``spacing`` (ImageJ metadata is written for uint8, uint16 and float32 data).
    The file is written beside the target and renamed into place; an existing file is replaced
    only with ``force``.

    Raises
    ------
    ValidationError
        If ``obj`` is not a labelled (y, x) or (z, y, x) array with spacing coordinates.
    """
    from ionscope.io.atomic import atomic_path
    from ionscope.model.arrays import spacing_of
    from ionscope.model.errors import ValidationError

    if not isinstance(obj, xr.DataArray) or set(obj.dims) not in ({"y", "x"}, {"z", "y", "x"}):
        what = tuple(obj.dims) if isinstance(obj, xr.DataArray) else type(obj).__name__
        raise ValidationError(f"a TIFF holds an image (y, x) or a volume (z, y, x), not {what}", Path(path))
    dims = ("z", "y", "x") if "z" in obj.dims else ("y", "x")
    data = np.asarray(obj.transpose(*dims).values)
    step = spacing_of(obj, dims)
    imagej = data.dtype in _IMAGEJ_DTYPES
    metadata: dict[str, Any] = {"unit": "um", "axes": "".join(d.upper() for d in dims)} if imagej else {}
    if imagej and len(dims) == 3:
        metadata["spacing"] = step[0]
    # Without ImageJ's unit, resolution is stored per centimetre (TIFF ResolutionUnit 3).
    per_unit = 1.0 if imagej else 1e4
    with atomic_path(path, force=force) as tmp:
        tifffile.imwrite(tmp, data, imagej=imagej, photometric="minisblack",
                         resolution=(per_unit / step[-1], per_unit / step[-2]),
                         resolutionunit=None if imagej else "CENTIMETER", metadata=metadata or None)
    return Path(path)


PLUGIN = FormatPlugin(
    name="tiff",
    extensions=(".tif", ".tiff", ".tif.zip", ".tiff.zip"),
    kinds=("image", "volume"),
    description="TIFF image or stack (FEI/Zeiss/ImageJ pixel sizes; lazy for large stacks)",
    read=read_tiff,
    write=write_tiff,
    sniff=_sniff,
    options_model=TiffOptions,
    options={"pixel_size_um": "in-plane pixel size", "slice_thickness_um": "FIB-SEM slice thickness",
             "lazy": "open as Dask", "series": "index of the image series"},
)

__all__ = ["read_tiff", "write_tiff"]
