"""The ionscope Zarr store: any array or dataset of the data model, metadata included.

Arrays are written with xarray's Zarr backend (Zarr format 3, chunked and compressed); units,
metadata records and provenance are attributes and round-trip exactly. Writes go to a temporary
folder beside the target and are renamed into place. Loading is lazy (Dask) by default.
"""

from __future__ import annotations

import json
import os
import warnings
from os import PathLike
from pathlib import Path

import numpy as np
import xarray as xr

from ionscope.io.atomic import atomic_path, check_replaceable
from ionscope.io.checks import MAX_IN_MEMORY_BYTES, checked_nbytes, require_dir
from ionscope.io.registry import FormatPlugin, ReaderOptions
from ionscope.model.errors import AbsurdSizeError, FormatError, IonscopeError, ValidationError
from ionscope.model.stores import is_zarr_store

_DATAARRAY_KEY = "ionscope_dataarray"
_DEFAULT_NAME = "data"
#: Attribute of stores written by :func:`save`: every chunk is on disk (empty ones included).
COMPLETE_KEY = "ionscope_complete_chunks"
#: Largest chunk a store may declare (bytes); ionscope writes ~32 MB chunks.
MAX_CHUNK_BYTES = min(MAX_IN_MEMORY_BYTES, 2 * 1024**3)


class MissingChunksWarning(UserWarning):
    """Chunks absent from a Zarr store not written by ionscope read as the fill value."""


#: Target chunk size of stored arrays, bytes.
CHUNK_BYTES = 32 * 1024**2


class ZarrOptions(ReaderOptions):
    """Reader options of ionscope Zarr stores."""

    lazy: bool = True


def _default_chunks(da: xr.DataArray) -> dict[str, int]:
    """Chunks of about :data:`CHUNK_BYTES`, split along the leading (slowest) dimensions first."""
    chunks = {str(d): int(n) for d, n in da.sizes.items()}
    itemsize = da.dtype.itemsize
    for dim in chunks:
        total = itemsize
        for d in chunks:
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
    elif type(obj).__name__ == "EventTable":
        raise ValidationError("raw events are stored as they are (.grd); to write ion images or a cube to Zarr, "
                              "bin them: -o k0=… -o sf=… -o nx=… -o ny=… -o peaks=… (or mz_bin=…), or use "
                              "`ionscope image bin-events`", path)
    else:
        raise ValidationError(f"cannot store a {type(obj).__name__} in Zarr; expected an xarray object")
    ds = ds.copy(deep=False)
    for var in ds.data_vars.values():
        var.encoding = {}
        per_var = chunks or _default_chunks(var)
        var_chunks = {d: per_var.get(str(d), var.sizes[d]) for d in var.dims}
        ds[var.name] = var.chunk(var_chunks)
    for name, c in ds.coords.items():
        c.encoding = {}
        if c.dtype.kind == "U":  # fixed-width unicode is stored as variable-length strings
            ds.coords[name] = c.astype(object)
    ds.attrs[COMPLETE_KEY] = True
    check_store_output(path, force)
    with atomic_path(path, force=force, directory=True) as tmp:
        ds.to_zarr(tmp, mode="w", zarr_format=3, consolidated=False, compute=True, write_empty_chunks=True)
    return Path(path)


class _Guarded:
    """Array-like over a lazily indexed variable: a damaged chunk raises a :class:`FormatError`
    naming the store and the variable, not the codec's ``RuntimeError``."""

    def __init__(self, var: xr.Variable, path: Path, name: str) -> None:
        self.var, self.path, self.name = var, path, name
        self.shape, self.dtype, self.ndim = var.shape, var.dtype, var.ndim

    def __getitem__(self, key: tuple) -> np.ndarray:
        try:
            return np.asarray(self.var[key].values)
        except MemoryError:
            raise AbsurdSizeError(f"a chunk of {self.name!r} does not fit in memory", self.path) from None
        except Exception as exc:  # codecs (Zstd, Blosc…) and zarr raise many types for damaged chunks
            raise FormatError(f"damaged chunk in {self.name!r}: {type(exc).__name__}: {exc}", self.path) from None


def _chunk_files(var_dir: Path) -> int:
    """Number of chunk files of one Zarr v3 array (default key encoding: ``c/i/j/…``)."""
    root = var_dir / "c"
    if not root.is_dir():
        return sum(1 for f in var_dir.iterdir() if f.is_file() and f.name[:1].isdigit())  # v2 keys "0.0"
    return sum(len(files) for _d, _s, files in os.walk(root))


def _check_arrays(p: Path, ds: xr.Dataset) -> list[str]:
    """Refuse chunks too large to read; account for chunks that are missing from the store.

    A store ionscope wrote (attribute ``ionscope_complete_chunks``) holds every chunk, so a missing
    one means damage: :class:`FormatError`. In other stores Zarr omits chunks equal to the fill
    value by design; missing chunks then read as the fill value and a warning says so.
    """
    import zarr

    notes: list[str] = []
    complete = bool(ds.attrs.get(COMPLETE_KEY))
    group = zarr.open_group(p, mode="r")
    for name in list(ds.data_vars) + list(ds.coords):
        arr = group[str(name)]
        if not isinstance(arr, zarr.Array):
            raise FormatError(f"{name!r} is a group, not an array, in the store", p)
        chunk = tuple(int(c) for c in arr.chunks)
        checked_nbytes(p, chunk, arr.dtype if arr.dtype.kind != "T" else np.dtype(object),
                       what=f"chunk of {name!r}", limit=MAX_CHUNK_BYTES, limit_reason="allowed for one chunk")
        expected = 1
        for n, c in zip(arr.shape, chunk):
            expected *= -(-int(n) // max(c, 1))
        if expected == 0 or not (p / str(name)).is_dir():
            continue
        found = _chunk_files(p / str(name))
        if found >= expected:
            continue
        if complete:
            raise FormatError(f"{expected - found} of {expected} chunks of {name!r} are missing: damaged store", p)
        note = (f"{expected - found} of {expected} chunks of {name!r} are absent and read as the fill value "
                f"{arr.fill_value!r}")
        warnings.warn(f"{p}: {note}", MissingChunksWarning, stacklevel=3)
        notes.append(note)
    return notes


def load(path: str | PathLike[str], *, lazy: bool = True) -> xr.DataArray | xr.Dataset:
    """Load a store written by :func:`save`; Dask-backed unless ``lazy=False``.

    Raises
    ------
    FormatError
        Broken metadata, damaged or (in an ionscope store) missing chunks.
    AbsurdSizeError
        A chunk shape too large to ever read (e.g. 10¹² elements).
    """
    p = require_dir(path)
    if not is_zarr_store(p):
        raise FormatError("is a folder but not a Zarr store (no zarr.json or .zgroup)", p)
    try:
        ds = xr.open_zarr(p, consolidated=False, chunks=None)
        notes = _check_arrays(p, ds)
    except IonscopeError:
        raise
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, ValueError, TypeError) as exc:
        raise FormatError(f"broken Zarr metadata: {type(exc).__name__}: {exc}", p) from None
    except Exception as exc:  # zarr raises a zoo of exception types for damaged stores
        raise FormatError(f"cannot open as Zarr: {type(exc).__name__}: {exc}", p) from None
    try:
        ds = _lazy(ds, p) if lazy else ds.load()
        coords = {}
        for k, c in ds.coords.items():
            v = c.variable.load()
            coords[k] = v.astype(str) if v.dtype == object else v
        ds = ds.assign_coords(coords)
    except IonscopeError:
        raise
    except MemoryError:
        raise AbsurdSizeError("the store holds more data than fits in memory; load it lazily", p) from None
    except Exception as exc:
        raise FormatError(f"damaged Zarr data: {type(exc).__name__}: {exc}", p) from None
    ds.attrs.pop(COMPLETE_KEY, None)
    name = ds.attrs.get(_DATAARRAY_KEY)
    if name is not None:
        if name not in ds:
            raise FormatError(f"store claims to hold array {name!r} but has no such variable", p)
        out: xr.DataArray | xr.Dataset = ds[name]
        out.attrs = dict(ds[name].attrs)
    else:
        out = ds
    if notes:
        out.attrs["reader_notes"] = notes
    return out


def load_array(path: str | PathLike[str], what: str, *, lazy: bool = True) -> xr.DataArray:
    """Load a store that holds one labelled array (:func:`load`).

    Raises
    ------
    ValidationError
        The store holds several variables, not the one ``what`` (e.g. "label image") the caller needs.
    """
    data = load(path, lazy=lazy)
    if not isinstance(data, xr.DataArray):
        raise ValidationError(f"the store holds several variables, not one {what}", path=Path(path))
    return data


def _lazy(ds: xr.Dataset, p: Path) -> xr.Dataset:
    """Dask-back every data variable by the store's chunks, through :class:`_Guarded` reads."""
    import dask.array as dsa

    out = ds.copy()
    for name, var in ds.data_vars.items():
        chunks = var.encoding.get("preferred_chunks") or {}
        shape = tuple(chunks.get(d, var.sizes[d]) for d in var.dims) or ()
        data = dsa.from_array(_Guarded(var.variable, p, str(name)), chunks=shape or -1, asarray=False,
                              lock=False, meta=np.empty((0,) * var.ndim, dtype=var.dtype))
        out[name] = var.copy(data=data)
    return out


def check_store_output(path: str | PathLike[str], force: bool) -> Path:
    """Refuse, before any work, a store output :func:`save` could not or must not write: an existing folder
    that is not a Zarr store (never replaced, even with ``force``), or an existing store without ``force``."""
    return check_replaceable(path, force, what="a Zarr store", directory=True, ours=is_zarr_store)


PLUGIN = FormatPlugin(
    name="zarr",
    extensions=(".zarr",),
    kinds=("any",),
    description="ionscope's own store: chunked Zarr v3 with units, metadata and provenance",
    read=lambda path, lazy=True: load(path, lazy=lazy),
    write=lambda obj, path, force=False, **kw: save(obj, path, force=force, **kw),
    sniff=lambda path, head: is_zarr_store(path),
    is_directory=True,
    options_model=ZarrOptions,
    options={"lazy": "Dask-backed (default true); false loads into memory"},
)
