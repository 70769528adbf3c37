"""A JSON-compatible description of any object a reader returns (used by ``ionscope info``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from ionscope.model.arrays import kind_of
from ionscope.model.errors import ValidationError
from ionscope.model.result import NoUncertainty, Quantity, to_plain

#: Why a coordinate range has no uncertainty (its ``uncertainty_notes`` entry under ``--json``).
RANGE_WHY = NoUncertainty.given("the first and last coordinate values as recorded in the file")


def describe(obj: Any) -> dict[str, Any]:
    """Kind, dims, shape, axes, species with their masses, coordinates (name → unit), attrs of ``obj``.

    ``axes`` gives every dimension's length, unit and range; ``species`` every entry of a ``peak``
    dimension with its m/z (``None`` where the file gives none, e.g. a ``total`` column).

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
            "axes": _axes(obj),
            "species": _species(obj),
            "coords": {str(k): c.attrs.get("units") for k, c in obj.coords.items()},
            "coord_ranges": {str(k): _range(c) for k, c in obj.coords.items()},
            "attrs": to_plain({k: v for k, v in obj.attrs.items() if k not in ("units", "kind")}),
        }
    if isinstance(obj, xr.Dataset):
        return {
            "kind": obj.attrs.get("kind", "dataset"),
            "dims": list(obj.dims),
            "shape": [int(obj.sizes[d]) for d in obj.dims],
            "axes": _axes(obj),
            "species": _species(obj),
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


def with_range_quantities(desc: dict[str, Any]) -> dict[str, Any]:
    """``desc`` (from :func:`describe`) with each axis range as a :class:`Quantity` that says why it has no
    uncertainty (:data:`RANGE_WHY`), for the JSON envelope's ``uncertainty_notes``."""
    out = dict(desc)
    if isinstance(desc.get("axes"), list):
        out["axes"] = [{**a, "range": Quantity(a["range"]["value"], None, a["range"]["unit"] or "1", RANGE_WHY)}
                       if isinstance(a.get("range"), dict) else a for a in desc["axes"]]
    if isinstance(desc.get("variables"), dict):
        out["variables"] = {k: with_range_quantities(v) if isinstance(v, dict) else v
                            for k, v in desc["variables"].items()}
    return out


def _axes(obj: xr.DataArray | xr.Dataset) -> list[dict[str, Any]]:
    """Every dimension: name, length, and the ``[min, max]`` range of its coordinate with its unit (if it has one).

    The range is read from the file, so it has no uncertainty (``null``).
    """
    out = []
    for d in obj.dims:
        c = obj.coords.get(d)
        rng = None if c is None else _range(c)
        out.append({"name": str(d), "size": int(obj.sizes[d]),
                    "range": None if rng is None or c is None else {"value": rng, "uncertainty": None,
                                                                    "unit": c.attrs.get("units")}})
    return out


def _species(obj: xr.DataArray | xr.Dataset) -> list[dict[str, Any]]:
    """The entries of a ``peak`` dimension and their m/z (``None`` where unknown)."""
    if "peak" not in obj.dims or "peak" not in obj.coords:
        return []
    names = [str(p) for p in obj.coords["peak"].values]
    mz = None
    for cand in ("mz", "peak_mz"):
        if cand in obj.coords and obj.coords[cand].dims == ("peak",):
            mz = np.asarray(obj.coords[cand].values, dtype=float)
            break
    return [{"name": n, "mz": None if mz is None or not np.isfinite(mz[i]) else float(mz[i])}
            for i, n in enumerate(names)]


def _range(c: xr.DataArray) -> list[Any] | None:
    if c.size == 0 or c.dtype.kind not in "fiu":
        return None
    vals = c.values
    if c.dtype.kind == "f":  # NaN entries (e.g. masses a profile export gives as N/A) do not bound the range
        vals = vals[np.isfinite(vals)]
        if vals.size == 0:
            return None
    return [to_plain(vals.min()), to_plain(vals.max())]
