"""A JSON-compatible description of any object a reader returns (used by ``ionscope info``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from ionscope.model.arrays import kind_of
from ionscope.model.errors import ValidationError
from ionscope.model.result import to_plain


def describe(obj: Any) -> dict[str, Any]:
    """Kind, dims, shape, coordinates (name → unit), attrs, and storage of ``obj``.

    Works for ionscope arrays and datasets, pandas tables and any object with a ``describe()``
    method returning the same keys (e.g. the event table).
    """
    if isinstance(obj, xr.DataArray):
        try:
            kind = obj.attrs.get("kind") or kind_of(obj)
        except ValidationError:
            kind = "array"
        return {
            "kind": kind,
            "name": None if obj.name is None else str(obj.name),
            "dims": list(obj.dims),
            "shape": [int(n) for n in obj.shape],
            "dtype": str(obj.dtype),
            "units": obj.attrs.get("units"),
            "lazy": obj.chunks is not None,
            "coords": {str(k): c.attrs.get("units") for k, c in obj.coords.items()},
            "coord_ranges": {str(k): _range(c) for k, c in obj.coords.items()},
            "attrs": to_plain({k: v for k, v in obj.attrs.items() if k not in ("units", "kind")}),
        }
    if isinstance(obj, xr.Dataset):
        return {
            "kind": obj.attrs.get("kind", "dataset"),
            "dims": list(obj.dims),
            "shape": [int(obj.sizes[d]) for d in obj.dims],
            "variables": {str(k): describe(v) for k, v in obj.data_vars.items()},
            "coords": {str(k): c.attrs.get("units") for k, c in obj.coords.items()},
            "attrs": to_plain(dict(obj.attrs)),
        }
    if hasattr(obj, "describe") and not hasattr(obj, "columns"):
        return obj.describe()
    if hasattr(obj, "columns"):  # pandas DataFrame
        units = getattr(obj, "attrs", {}).get("units", {})
        return {
            "kind": getattr(obj, "attrs", {}).get("kind", "table"),
            "dims": ["row"],
            "shape": [int(len(obj))],
            "coords": {str(c): units.get(str(c)) for c in obj.columns},
            "attrs": to_plain({k: v for k, v in getattr(obj, "attrs", {}).items() if k != "units"}),
        }
    raise ValidationError(f"cannot describe a {type(obj).__name__}")


def _range(c: xr.DataArray) -> list[Any] | None:
    if c.size == 0 or c.dtype.kind not in "fiu":
        return None
    vals = c.values
    if c.dtype.kind == "f":  # NaN entries (e.g. masses a profile export gives as N/A) do not bound the range
        vals = vals[np.isfinite(vals)]
        if vals.size == 0:
            return None
    return [to_plain(vals.min()), to_plain(vals.max())]
