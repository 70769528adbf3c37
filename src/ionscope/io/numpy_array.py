"""NumPy ``.npy`` arrays and ``.npz`` archives (label images, converted datasets), read-only.

``.npy`` → an :class:`xarray.DataArray` with dims ``dim_0 …`` (memory-mapped, nothing is read until
used); ``.npz`` → an :class:`xarray.Dataset` with one variable per member, each with its own dims
(``<name>_0 …``). Pickled objects are never loaded (``allow_pickle=False``). Array headers are
checked against the file size before anything is read: a header may not claim more bytes than the
file holds (``.npy``) or more than 1000 × the compressed member (``.npz``).
"""

from __future__ import annotations

import tokenize
import zipfile
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from ionscope.io.checks import MAX_IN_MEMORY_BYTES, checked_nbytes, require_file
from ionscope.io.registry import FormatPlugin, ReaderOptions
from ionscope.model.errors import AbsurdSizeError, FormatError, IonscopeError, UnsupportedError

#: Largest expansion of a deflated ``.npz`` member over its stored size before it is called absurd.
MAX_COMPRESSION_RATIO = 1000
_MAGIC = b"\x93NUMPY"


class NumpyOptions(ReaderOptions):
    """Reader options of ``.npy``/``.npz`` files (none)."""


#: What NumPy's header parser (``ast.literal_eval`` over tokenised text) raises on damaged headers.
_BAD_HEADER = (ValueError, OSError, SyntaxError, TypeError, EOFError, tokenize.TokenError, KeyError, IndexError,
               UnicodeDecodeError, MemoryError, RecursionError, AttributeError)
#: Longest .npy header accepted (bytes); NumPy writes under 200 for ordinary arrays.
MAX_HEADER = 10_000


def _header(fh: Any, version: tuple[int, int]) -> tuple[tuple[int, ...], bool, np.dtype]:
    """(shape, fortran order, dtype) of a .npy header, through NumPy's public readers.

    The version and the declared header length are checked first: NumPy reads the whole declared
    length before its own size check, so a damaged length field would allocate up to 4 GiB.
    """
    if version not in ((1, 0), (2, 0), (3, 0)):
        raise ValueError(f"unknown .npy format version {version[0]}.{version[1]}")
    width = 2 if version == (1, 0) else 4
    pos = fh.tell()
    raw = fh.read(width)
    if len(raw) < width:
        raise ValueError("the header ends early")
    length = int.from_bytes(raw, "little")
    if length > MAX_HEADER:
        raise ValueError(f"the header declares {length} bytes (at most {MAX_HEADER} accepted)")
    fh.seek(pos)
    fmt = np.lib.format
    reader = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
    return reader(fh, max_header_size=MAX_HEADER)


def _check_dtype(dtype: np.dtype, p: Path, what: str) -> None:
    if dtype.hasobject:
        raise UnsupportedError(f"{what} holds Python objects (pickle); ionscope never unpickles files", p)


def read_npy(path: str | PathLike[str]) -> xr.DataArray:
    """Memory-map a ``.npy`` array (read-only) after checking its header against the file size."""
    p = require_file(path)
    try:
        with open(p, "rb") as fh:
            version = np.lib.format.read_magic(fh)
            shape, fortran, dtype = _header(fh, version)
            offset = fh.tell()
    except IonscopeError:
        raise
    except _BAD_HEADER as exc:
        raise FormatError(f"not a readable .npy array: {exc}", p) from None
    _check_dtype(dtype, p, "the array")
    size = p.stat().st_size
    checked_nbytes(p, shape, dtype, what=".npy array", limit=size - offset)
    if size - offset < int(np.prod(shape, dtype=object)) * dtype.itemsize:
        raise FormatError("truncated: the file is shorter than the array its header declares", p)
    data = np.memmap(p, dtype=dtype, mode="r", offset=offset, shape=shape, order="F" if fortran else "C")
    return xr.DataArray(data, dims=[f"dim_{i}" for i in range(len(shape))], name=p.stem,
                        attrs={"source_file": p.name})


def read_npz(path: str | PathLike[str]) -> xr.Dataset:
    """Read every member of a ``.npz`` archive into a Dataset (sizes checked before decompressing)."""
    p = require_file(path)
    variables = {}
    try:
        with zipfile.ZipFile(p) as zf:
            total = 0
            for info in zf.infolist():
                if not info.filename.endswith(".npy"):
                    continue
                if info.file_size > MAX_COMPRESSION_RATIO * max(info.compress_size, 1) + 65536:
                    raise AbsurdSizeError(f"member {info.filename!r} claims {info.file_size} bytes from "
                                          f"{info.compress_size} compressed", p)
                total += info.file_size
                if total > MAX_IN_MEMORY_BYTES:
                    raise AbsurdSizeError(f"the members add up to more than {MAX_IN_MEMORY_BYTES / 1e9:.3g} GB", p)
                with zf.open(info) as fh:
                    version = np.lib.format.read_magic(fh)
                    shape, fortran, dtype = _header(fh, version)
                    _check_dtype(dtype, p, f"member {info.filename!r}")
                    checked_nbytes(p, shape, dtype, what=f"member {info.filename!r}", limit=info.file_size)
                    raw = fh.read()
                n = int(np.prod(shape, dtype=object))
                if len(raw) < n * dtype.itemsize:
                    raise FormatError(f"member {info.filename!r} is truncated", p)
                arr = np.frombuffer(raw, dtype=dtype, count=n).reshape(shape, order="F" if fortran else "C")
                name = info.filename[:-4]
                variables[name] = xr.Variable([f"{name}_{i}" for i in range(arr.ndim)], arr)
    except IonscopeError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, RuntimeError, *_BAD_HEADER) as exc:
        raise FormatError(f"not a readable .npz archive: {type(exc).__name__}: {exc}", p) from None
    if not variables:
        raise FormatError("the .npz archive holds no arrays", p)
    return xr.Dataset(variables, attrs={"kind": "arrays", "source_file": p.name})


def _read(path: Path) -> xr.DataArray | xr.Dataset:
    return read_npz(path) if path.suffix.lower() == ".npz" else read_npy(path)


PLUGIN = FormatPlugin(
    name="numpy",
    extensions=(".npy", ".npz"),
    kinds=("array", "arrays"),
    description="NumPy .npy array (memory-mapped) or .npz archive (no pickles)",
    read=_read,
    sniff=lambda path, head: head[:6] == _MAGIC or (path.suffix.lower() == ".npz" and head[:4] == b"PK\x03\x04"),
    options_model=NumpyOptions,
)

__all__ = ["read_npy", "read_npz"]
