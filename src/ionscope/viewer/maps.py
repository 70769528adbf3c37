"""Physical-unit maps and side views for the viewer: D*/k maps, interface-depth maps, layer maps, cube side views.

A *map store* is what ``ionscope diffusion map --out`` and ``ionscope depth cube --out`` write: a Dataset of
2-D variables (``D``, ``k``, ``chi2_red``, ``interface_<species>`` on (y, x); ``side_<plane>_<species>`` on
(scan, x) or (scan, y); ``layer_<a>_<b>`` on (y, x, peak)), each with its unit, and the 1σ of a variable
``V`` in ``V_uncertainty`` (or ``V_err``). The viewer shows each such variable with a colour bar in its
physical unit and answers hover requests with the value ± its uncertainty at a pixel.

Colour scale
    Diffusion and surface-exchange coefficients (cm²/s, cm/s) are positive and known to a relative
    precision: the per-pixel fit works in log₁₀ D and log₁₀ k (``ionscope diffusion map``), so equal
    steps of the colour bar are equal factors, and they are drawn on a log₁₀ scale; every other
    variable on a linear scale.
Length unit
    Depths are shown in nm below 1 µm and in µm from 1 µm (the median of the map decides).
Side views of a cube
    The (scan, x) plane at one row y, or the (scan, y) plane at one column x, of one species, counts
    per pixel and scan with the Poisson 1σ √N (counting statistics of SIMS; Vickerman & Briggs,
    *ToF-SIMS: Materials Analysis by Mass Spectrometry*, 2nd ed., 2013, ch. 1) when the cube holds counts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import xarray as xr

from ionscope.model.errors import ValidationError
from ionscope.viewer.slicing import MAX_IMAGE_PX, downsample2d, int_param

#: Units drawn on a log scale (see the module docstring).
LOG_UNITS = ("cm^2/s", "cm/s")
#: Plane dims a map variable may have (``peak`` may come in addition).
MAP_PLANES = (("y", "x"), ("scan", "x"), ("scan", "y"))
#: Suffixes naming the 1σ of another variable.
UNCERTAINTY_SUFFIXES = ("_uncertainty", "_err")
#: Human names of the variables the commands write.
LABELS = {"D": "D*", "k": "k", "chi2_red": "χ²_red", "c_source": "C_s", "c_background": "C₀",
          "h_sqrt_Dt": "h√(Dt)"}
#: Scan-axis coordinates shown along the vertical axis of side views, in order of preference.
SCAN_AXES = ("depth", "sputter_time", "dose", "fluence")


def _plane(var: xr.DataArray) -> tuple[str, str] | None:
    dims = tuple(d for d in var.dims if d != "peak")
    return dims if dims in MAP_PLANES and var.ndim - len(dims) <= 1 else None


def uncertainty_of(ds: xr.Dataset, name: str) -> str | None:
    """Name of the variable holding the 1σ of ``name``, if the store has one of the same shape."""
    for suffix in UNCERTAINTY_SUFFIXES:
        other = name + suffix
        if other in ds.data_vars and ds[other].dims == ds[name].dims:
            return other
    return None


def _is_uncertainty(ds: xr.Dataset, name: str) -> bool:
    return any(name.endswith(s) and name[: -len(s)] in ds.data_vars for s in UNCERTAINTY_SUFFIXES)


def display_unit(unit: str, values: np.ndarray) -> str:
    """The unit a variable is shown in: lengths in nm below 1 µm and in µm above; others unchanged."""
    from ionscope.model.errors import UnitError
    from ionscope.model.units import convert, dimensionality

    try:
        if dimensionality(unit) != "[length]":
            return unit
        finite = np.abs(values[np.isfinite(values)])
        median_nm = float(convert(float(np.median(finite)), unit, "nm")) if finite.size else 0.0
    except UnitError:
        return unit
    return "µm" if median_nm >= 1000.0 else "nm"


def _in_unit(values: np.ndarray, unit: str, shown: str) -> np.ndarray:
    from ionscope.model.units import convert

    return values if shown == unit else np.asarray(convert(values, unit, shown), dtype=float)


def _label(name: str, var: xr.DataArray) -> str:
    if name in LABELS:
        return LABELS[name]
    if name.startswith("interface_"):
        return f"interface depth {var.attrs.get('species') or name[len('interface_'):]}"
    if name.startswith("side_") and name[5:7] in ("xz", "yz"):
        return f"side view {name[5:7]} {name[8:]}"
    if name.startswith("layer_"):
        return f"layer {var.attrs.get('request') or name[len('layer_'):]}"
    return name


def _order(name: str) -> int:
    """D* and k first, then interface depths, then the rest in store order (the sort is stable)."""
    return {"D": 0, "k": 1}.get(name, 2 if name.startswith("interface_") else 3)


def map_variables(ds: xr.Dataset | None) -> list[dict[str, Any]]:
    """The variables of a map store the viewer shows, with unit, scale and uncertainty variable.

    Only numeric variables on one of :data:`MAP_PLANES` (with an optional ``peak`` dim) that are not
    themselves the uncertainty of another variable are listed. Only attributes are read.
    """
    if not isinstance(ds, xr.Dataset):
        return []
    out = []
    for name in ds.data_vars:
        name = str(name)
        var = ds[name]
        plane = _plane(var)
        if plane is None or var.dtype.kind not in "fiu" or _is_uncertainty(ds, name):
            continue
        unit = str(var.attrs.get("units", ""))
        item: dict[str, Any] = {"name": name, "label": _label(name, var), "dims": list(plane), "unit": unit,
                                "scale": "log" if unit in LOG_UNITS else "linear",
                                "uncertainty": uncertainty_of(ds, name)}
        if "peak" in var.dims:
            item["peaks"] = [str(p) for p in var.coords["peak"].values] if "peak" in var.coords else \
                [str(i) for i in range(var.sizes["peak"])]
        out.append(item)
    return sorted(out, key=lambda v: _order(v["name"]))


def _variable(ds: xr.Dataset | None, params: Mapping[str, Any]
              ) -> tuple[xr.Dataset, str, xr.DataArray, dict[str, Any]]:
    """The dataset, and the variable a request names (``var``), at peak ``peak`` if it has a peak dim."""
    listed = {v["name"]: v for v in map_variables(ds)}
    if ds is None or not listed:
        raise ValidationError("this dataset holds no map (a 2-D variable with a unit)")
    name = str(params.get("var", next(iter(listed))))
    if name not in listed:
        raise ValidationError(f"no map named {name[:100]!r}; the dataset has {', '.join(listed)}")
    var = ds[name]
    sel: dict[str, Any] = {"var": name}
    if "peak" in var.dims:
        sel["peak"] = int_param(params, "peak", var.sizes["peak"])
        var = var.isel(peak=sel["peak"])
    return ds, name, var.transpose(*listed[name]["dims"]), sel


def _axis(da: xr.DataArray, dim: str) -> dict[str, Any]:
    """Coordinate of ``dim`` for the browser's axes: name, unit and the first/last values."""
    if dim == "scan":
        for name in SCAN_AXES:
            c = da.coords.get(name)
            if c is not None and c.dims == ("scan",):
                vals = np.asarray(c.values, dtype=float)
                return {"name": name, "unit": str(c.attrs.get("units", "")), "first": float(vals[0]),
                        "last": float(vals[-1])}
        return {"name": "scan", "unit": "index", "first": 0.0, "last": float(da.sizes["scan"] - 1)}
    c = da.coords.get(dim)
    if c is None or c.size == 0:
        return {"name": dim, "unit": "index", "first": 0.0, "last": float(da.sizes[dim] - 1)}
    vals = np.asarray(c.values, dtype=float)
    return {"name": dim, "unit": str(c.attrs.get("units", "")), "first": float(vals[0]), "last": float(vals[-1])}


def _range(values: np.ndarray, log: bool) -> tuple[float, float]:
    """Colour range: the finite (and, on a log scale, positive) extremes; (0, 0) when there are none."""
    good = values[np.isfinite(values) & ((values > 0) if log else True)]
    return (float(good.min()), float(good.max())) if good.size else (0.0, 0.0)


def _image(plane: xr.DataArray, unit: str, shown: str, log: bool, max_px: int, sel: dict[str, Any]
           ) -> tuple[np.ndarray, dict[str, Any]]:
    values = _in_unit(np.asarray(plane.values, dtype=float), unit, shown)
    small, factor = downsample2d(values, max_px)
    lo, hi = _range(small, log)
    header = {"shape": list(small.shape), "full_shape": list(values.shape), "factor": factor,
              "dims": list(plane.dims), "unit": shown, "units": shown, "scale": "log" if log else "linear",
              "min": lo, "max": hi, "axes": [_axis(plane, str(d)) for d in plane.dims], "selection": sel}
    return np.ascontiguousarray(small, dtype="<f4"), header


def map_image(ds: xr.Dataset | None, params: Mapping[str, Any], max_px: int = MAX_IMAGE_PX
              ) -> tuple[np.ndarray, dict[str, Any]]:
    """A map variable as a float32 image in its display unit, and its header (unit, scale, range, axes)."""
    _, name, var, sel = _variable(ds, params)
    unit = str(var.attrs.get("units", ""))
    values = np.asarray(var.values, dtype=float)
    shown = display_unit(unit, values)
    return _image(var, unit, shown, unit in LOG_UNITS, max_px, sel)


def _at(params: Mapping[str, Any], plane: xr.DataArray) -> tuple[int, int]:
    return (int_param(params, "row", plane.sizes[plane.dims[0]]),
            int_param(params, "col", plane.sizes[plane.dims[1]]))


def _position(plane: xr.DataArray, row: int, col: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for dim, i in zip(map(str, plane.dims), (row, col)):
        ax = _axis(plane, dim)
        c = plane.coords.get(ax["name"]) if ax["unit"] != "index" else None
        value = float(np.asarray(c.values, dtype=float)[i]) if c is not None else float(i)
        out[dim] = {"index": i, "axis": ax["name"], "value": value, "unit": ax["unit"]}
    return out


def map_value(ds: xr.Dataset | None, params: Mapping[str, Any]) -> dict[str, Any]:
    """Value ± 1σ and unit of a map variable at full-resolution pixel (``row``, ``col``).

    Returns ``{"variable", "label", "value": {"value", "uncertainty", "unit"[, "why_no_uncertainty"]},
    "position": {dim: {"index", "axis", "value", "unit"}}}``; a pixel without a value (no fit, no
    interface) has ``value`` null.
    """
    store, name, var, sel = _variable(ds, params)
    row, col = _at(params, var)
    unit = str(var.attrs.get("units", ""))
    shown = display_unit(unit, np.asarray(var.values, dtype=float))
    v = float(_in_unit(np.asarray(var[row, col].values, dtype=float), unit, shown))
    quantity: dict[str, Any] = {"value": v, "uncertainty": None, "unit": shown}
    err_name = uncertainty_of(store, name)
    if err_name is not None:
        err = store[err_name].isel(peak=sel["peak"]) if "peak" in sel else store[err_name]
        err = err.transpose(*var.dims)
        e_unit = str(err.attrs.get("units", unit)) or unit
        quantity["uncertainty"] = float(_in_unit(np.asarray(err[row, col].values, dtype=float), e_unit, shown))
    else:
        quantity["why_no_uncertainty"] = "the store holds no uncertainty for this variable"
    return {"variable": name, "label": _label(name, store[name]), "selection": sel, "value": quantity,
            "position": _position(var, row, col)}


def _side_plane(cube: xr.DataArray, params: Mapping[str, Any]) -> tuple[xr.DataArray, dict[str, Any]]:
    """The (scan, x) plane at row ``index`` (``plane=xz``) or the (scan, y) plane at column ``index`` (``yz``)."""
    plane = str(params.get("plane", "xz"))
    if plane not in ("xz", "yz"):
        raise ValidationError(f"parameter 'plane' must be xz or yz, got {plane[:20]!r}")
    fixed = "y" if plane == "xz" else "x"
    sel: dict[str, Any] = {"plane": plane, "peak": int_param(params, "peak", cube.sizes["peak"])}
    sel["index"] = int_param(params, "index", cube.sizes[fixed], cube.sizes[fixed] // 2)
    sel["species"] = str(cube.coords["peak"].values[sel["peak"]]) if "peak" in cube.coords else str(sel["peak"])
    side = cube.isel({"peak": sel["peak"], fixed: sel["index"]})
    return side.transpose("scan", "x" if plane == "xz" else "y"), sel


def side_image(cube: xr.DataArray, params: Mapping[str, Any], max_px: int = MAX_IMAGE_PX
               ) -> tuple[np.ndarray, dict[str, Any]]:
    """A side view of a (scan, y, x, peak) cube as a float32 image (rows = scans) and its header."""
    side, sel = _side_plane(cube, params)
    unit = str(cube.attrs.get("units", "")) or "counts"
    return _image(side, unit, unit, False, max_px, sel)


def side_value(cube: xr.DataArray, params: Mapping[str, Any]) -> dict[str, Any]:
    """Counts ± Poisson 1σ (√N, when the cube holds counts) at (scan ``row``, ``col``) of a side view."""
    side, sel = _side_plane(cube, params)
    row, col = _at(params, side)
    unit = str(cube.attrs.get("units", "")) or "counts"
    v = float(np.asarray(side[row, col].values, dtype=float))
    quantity: dict[str, Any] = {"value": v, "unit": unit}
    if unit == "counts" and np.isfinite(v) and v >= 0:
        quantity["uncertainty"] = float(np.sqrt(v))
    else:
        quantity["uncertainty"] = None
        quantity["why_no_uncertainty"] = f"the cube holds {unit}, not raw counts: no Poisson 1σ"
    return {"variable": f"side_{sel['plane']}", "label": f"{sel['species']} ({sel['plane']})", "selection": sel,
            "value": quantity, "position": _position(side, row, col)}
