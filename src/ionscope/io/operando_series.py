"""Loading what the operando CLI accepts: series stores or folders, and label images.

SERIES may be

* a Zarr store (``ionscope.save``) holding an ``operando`` array (state, y, x, peak) with
  coordinates ``time_start`` and ``time_end`` (s) along ``state`` (or ``time`` plus
  ``attrs["integration_s"]``), on the cycling log's clock;
* a folder with ``frames.csv`` (columns ``file, time_start_s, time_end_s``) listing one ion-image
  file per state in any format ionscope reads (Zarr, …), all with the same pixels and species.

LABELS may be a ``.npy`` integer array or any image ionscope reads (TIFF, Zarr) of the series'
(y, x) shape.
"""

from __future__ import annotations

from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from ionscope.io.checks import require_file
from ionscope.io.registry import read
from ionscope.model.errors import FormatError, InputNotFoundError, ValidationError
from ionscope.model.operando import check_series, stack_frames

#: Series up to this size are loaded into memory; larger ones stay Dask-backed.
IN_MEMORY_BYTES = 2 * 1024**3


def load_series(path: str | PathLike[str]) -> xr.DataArray:
    """Read an operando series from a Zarr store or a folder with ``frames.csv`` (see module doc)."""
    p = Path(path)
    if not p.exists():
        raise InputNotFoundError("no such series (Zarr store or folder with frames.csv)", p)
    if p.is_dir() and (p / "frames.csv").is_file():
        table = pd.read_csv(p / "frames.csv")
        need = {"file", "time_start_s", "time_end_s"}
        if not need <= set(table.columns):
            raise FormatError(f"frames.csv needs columns {sorted(need)}, has {list(table.columns)}", p / "frames.csv")
        images = []
        for name in table["file"]:
            im = read(p / str(name))
            if isinstance(im, xr.DataArray) and im.ndim == 2 and set(im.dims) == {"y", "x"}:
                raise ValidationError(f"frame {name} is a single image; each frame needs species (y, x, peak)", p)
            images.append(im.load() if hasattr(im, "load") else im)
        return stack_frames(images, table["time_start_s"].to_numpy(float), table["time_end_s"].to_numpy(float))
    data = read(p)
    if not isinstance(data, xr.DataArray):
        raise ValidationError("the store holds a dataset, not an operando array (state, y, x, peak)", p)
    if data.nbytes <= IN_MEMORY_BYTES:
        data = data.load()  # small series: one read; larger ones stay lazy and are read frame by frame
    try:
        return check_series(data)
    except ValidationError as exc:
        raise ValidationError(exc.problem, p) from None


def load_labels(path: str | PathLike[str]) -> np.ndarray:
    """Read a label image (.npy or any 2-D image format ionscope reads)."""
    p = Path(path)
    if p.suffix.lower() == ".npy":
        require_file(p)
        try:
            arr = np.load(p, allow_pickle=False)
        except (ValueError, OSError) as exc:
            raise FormatError(f"not a readable .npy array: {exc}", p) from None
    else:
        data = read(p)
        arr = np.asarray(data.values if hasattr(data, "values") else data)
    arr = np.squeeze(arr)
    if arr.ndim != 2:
        raise ValidationError(f"a label image must be 2-D, got shape {arr.shape}", p)
    return arr
