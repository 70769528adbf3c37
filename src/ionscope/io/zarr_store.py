"""The ionscope Zarr store: any array or dataset of the data model, metadata included.

Arrays are written with xarray's Zarr backend (Zarr format 3, chunked and compressed); units,
metadata records and provenance are attributes and round-trip exactly. Writes go to a temporary
folder beside the target and are renamed into place. Loading is lazy (Dask) by default.
"""

from __future__ import annotations

import json
from os import PathLike
from pathlib import Path

import xarray as xr

from ionscope.io.atomic import atomic_path
from ionscope.io.checks import require_dir
from ionscope.io.registry import FormatPlugin, ReaderOptions
from ionscope.model.errors import FormatError, ValidationError

_DATAARRAY_KEY = "ionscope_dataarray"
_DEFAULT_NAME = "data"
#: Target chunk size of stored arrays, bytes.
CHUNK_BYTES = 32 * 1024**2


class ZarrOptions(ReaderOptions):
    """Reader options of ionscope Zarr stores."""

    lazy: bool = True


def _default_chunks(da: xr.DataArray) -> dict[str, int]:
    """Chunks of about :data:`CHUNK_BYTES`, split along the leading (slowest) dimensions first."""
    sizes = dict(da.sizes)
    itemsize = da.dtype.itemsize
    chunks = dict(sizes)
    for dim in da.dims:
        total = itemsize
        for d in da.dims:
            total *= chunks[d]
        if total <= CHUNK_BYTES:
            break
        rest = total // max(chunks[dim], 1)
        chunks[dim] = max(1, CHUNK_BYTES // max(rest, 1))
    return chunks


def save(obj: xr.DataArray | xr.Dataset, path: str | PathLike[str], *, force: bool = False,
         chunks: dict[str, int] | None = None) -> Path:
    """Save an ionscope array or dataset to a Zarr store at ``path``.

    Parameters
    ----------
    obj
        A :class:`xarray.DataArray` (stored as a one-variable dataset and restored as an array) or a
        :class:`xarray.Dataset`. Dask-backed data is streamed chunk by chunk.
    path
        Target folder, conventionally ending in ``.zarr``.
    force
        Replace an existing store. Without it, an existing path raises
        :class:`~ionscope.model.OutputExistsError`.
    chunks
        Chunk sizes per dimension; default about 32 MB per chunk.
    """
    if isinstance(obj, xr.DataArray):
        name = obj.name if obj.name is not None else _DEFAULT_NAME
        ds = obj.to_dataset(name=name)
        ds.attrs = {_DATAARRAY_KEY: str(name)}
    elif isinstance(obj, xr.Dataset):
        ds = obj
    elif callable(getattr(obj, "to_dataset", None)):  # sparse data (processed imzML spectra)
        ds = obj.to_dataset()
    else:
        raise ValidationError(f"cannot store a {type(obj).__name__} in Zarr; expected an xarray object")
    ds = ds.copy(deep=False)
    for var in ds.data_vars.values():
        var.encoding = {}
        per_var = chunks or _default_chunks(var)
        var_chunks = {d: per_var.get(d, var.sizes[d]) for d in var.dims}
        ds[var.name] = var.chunk(var_chunks)
    for name, c in ds.coords.items():
        c.encoding = {}
        if c.dtype.kind == "U":  # fixed-width unicode is stored as variable-length strings
            ds.coords[name] = c.astype(object)
    with atomic_path(path, force=force, directory=True) as tmp:
        ds.to_zarr(tmp, mode="w", zarr_format=3, consolidated=False, compute=True)
    return Path(path)


def load(path: str | PathLike[str], *, lazy: bool = True) -> xr.DataArray | xr.Dataset:
    """Load a store written by :func:`save`; Dask-backed unless ``lazy=False``."""
    p = require_dir(path)
    if not _is_zarr(p):
        raise FormatError("is a folder but not a Zarr store (no zarr.json or .zgroup)", p)
    try:
        ds = xr.open_zarr(p, consolidated=False, chunks={} if lazy else None)
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, ValueError, TypeError) as exc:
        raise FormatError(f"broken Zarr metadata: {exc}", p) from None
    except Exception as exc:  # zarr raises a zoo of exception types for damaged stores
        raise FormatError(f"cannot open as Zarr: {type(exc).__name__}: {exc}", p) from None
    for c in ds.coords.values():
        if c.dtype == object:
            ds.coords[c.name] = c.astype(str)
    name = ds.attrs.get(_DATAARRAY_KEY)
    if name is not None:
        if name not in ds:
            raise FormatError(f"store claims to hold array {name!r} but has no such variable", p)
        out: xr.DataArray | xr.Dataset = ds[name]
        out.attrs = dict(ds[name].attrs)
    else:
        out = ds
    return out if lazy else out.load()


def _is_zarr(p: Path) -> bool:
    return p.is_dir() and any((p / f).exists() for f in ("zarr.json", ".zgroup", ".zarray"))


PLUGIN = FormatPlugin(
    name="zarr",
    extensions=(".zarr",),
    kinds=("any",),
    description="ionscope's own store: chunked Zarr v3 with units, metadata and provenance",
    read=lambda path, lazy=True: load(path, lazy=lazy),
    write=lambda obj, path, force=False, **kw: save(obj, path, force=force, **kw),
    sniff=lambda path, head: _is_zarr(path),
    is_directory=True,
    options_model=ZarrOptions,
    options={"lazy": "Dask-backed (default true); false loads into memory"},
)
