"""Checks every reader runs before it reads: the path, its size, and declared sizes vs the file."""

from __future__ import annotations

from os import PathLike
from pathlib import Path

import numpy as np
import numpy.typing as npt

from ionscope.model.errors import AbsurdSizeError, FormatError, InputNotFoundError


class TruncatedWarning(UserWarning):
    """A file was cut short; with ``salvage`` its complete part was read and the rest ignored."""


#: Largest array any reader will allocate in memory at once (bytes); larger data must be lazy.
MAX_IN_MEMORY_BYTES = 8 * 1024**3


def require_file(path: str | PathLike[str], *, allow_empty: bool = False) -> Path:
    """Return ``path`` as a Path if it is an existing, non-empty regular file."""
    p = Path(path)
    if not p.exists():
        raise InputNotFoundError("no such file", p)
    if p.is_dir():
        raise InputNotFoundError("is a folder, not a file", p)
    if not allow_empty and p.stat().st_size == 0:
        raise FormatError("is empty (0 bytes)", p)
    return p


def require_dir(path: str | PathLike[str]) -> Path:
    """Return ``path`` as a Path if it is an existing folder."""
    p = Path(path)
    if not p.exists():
        raise InputNotFoundError("no such folder", p)
    if not p.is_dir():
        raise InputNotFoundError("is a file, not a folder", p)
    return p


def checked_nbytes(path: str | PathLike[str], shape: tuple[int, ...], dtype: npt.DTypeLike,
                   *, what: str = "array", limit: int | None = None,
                   limit_reason: str = "this file can hold") -> int:
    """Bytes an array of ``shape``/``dtype`` needs; raise if a header's claim is absurd.

    Sizes are multiplied in Python integers (no overflow), so a header declaring 10¹² pixels is
    caught here, before anything is allocated.
    """
    if any(int(n) < 0 for n in shape):
        raise AbsurdSizeError(f"{what} has a negative dimension {tuple(shape)}", path)
    n = 1
    for s in shape:
        n *= int(s)
    nbytes = n * np.dtype(dtype).itemsize
    if limit is not None and nbytes > limit:
        raise AbsurdSizeError(
            f"{what} of shape {tuple(int(s) for s in shape)} would need {nbytes / 1e9:.3g} GB, more than "
            f"the {limit / 1e9:.3g} GB {limit_reason}", path)
    return nbytes


def require_bytes(path: str | PathLike[str], offset: int, nbytes: int, *, what: str = "data") -> None:
    """Raise if ``nbytes`` at ``offset`` are not inside the file (truncated or corrupt offsets)."""
    size = Path(path).stat().st_size
    if offset < 0 or nbytes < 0 or offset + nbytes > size:
        raise FormatError(
            f"{what} at byte {offset} of length {nbytes} lies beyond the end of the file "
            f"({size} bytes): truncated or corrupt", path)


def decimal_mark(fields: list[str]) -> str:
    """``","`` when a row of tab-separated numbers writes them with a decimal comma (a text export made
    under a German or French Windows locale: ``100<TAB>0,000222<TAB>0``), else ``"."``. In a tab-separated
    row a comma inside a number can only be a decimal mark."""
    def number(text: str) -> bool:
        try:
            float(text.replace(",", "."))
        except ValueError:
            return False
        return True

    fields = [f.strip() for f in fields if f.strip()]
    return "," if fields and any("," in f for f in fields) and all(map(number, fields)) else "."

