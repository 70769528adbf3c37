"""What the viewer's server computes from a (lazy) ionscope array: 2D slices, spectra, profiles, ROIs.

Every function takes an xarray object of a known kind (``ionscope.model.KIND_DIMS``), reads only the
chunks it needs (Dask) and returns small NumPy arrays or plain dicts ready to send to the browser.
Bad parameters raise :class:`ionscope.model.ValidationError` (the server answers 422).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, overload

import numpy as np
import xarray as xr
from matplotlib.path import Path as PolyPath

from ionscope.model.errors import ValidationError

#: Longest side (pixels) of an image sent to the browser; larger slices are block-averaged.
MAX_IMAGE_PX = 512
#: Most points of a spectrum or profile sent to the browser; longer ones are max-pooled.
MAX_LINE_POINTS = 4000
#: Image-like kinds and the dims of their (y, x) plane.
IMAGE_KINDS = ("image", "ion_image", "hyperspectral", "cube3d", "operando", "volume")


def downsample2d(a: np.ndarray, max_px: int = MAX_IMAGE_PX) -> tuple[np.ndarray, int]:
    """Block-mean ``a`` by the smallest integer factor that brings both sides to ≤ ``max_px``."""
    f = max(1, int(np.ceil(max(a.shape) / max(1, max_px))))
    if f == 1:
        return a, 1
    ny, nx = (a.shape[0] // f) * f, (a.shape[1] // f) * f
    if ny == 0 or nx == 0:
        return a[::f, ::f], f
    return a[:ny, :nx].reshape(ny // f, f, nx // f, f).mean(axis=(1, 3)), f


def int_param(params: Mapping[str, Any], name: str, size: int, default: int = 0) -> int:
    """Integer parameter ``name`` in ``[0, size)``; ValidationError otherwise."""
    raw = params.get(name, default)
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise ValidationError(f"parameter {name!r} must be an integer, got {raw!r}") from None
    if not 0 <= value < size:
        raise ValidationError(f"parameter {name!r} = {value} is outside 0…{size - 1}")
    return value


@overload
def float_param(params: Mapping[str, Any], name: str, default: float) -> float: ...
@overload
def float_param(params: Mapping[str, Any], name: str, default: None = None) -> float | None: ...
def float_param(params: Mapping[str, Any], name: str, default: float | None = None) -> float | None:
    raw = params.get(name, default)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise ValidationError(f"parameter {name!r} must be a number, got {raw!r}") from None
    if not np.isfinite(value):
        raise ValidationError(f"parameter {name!r} must be finite")
    return value


def pixel_size_um(da: xr.DataArray, dims: Sequence[str] = ("y", "x")) -> list[float | None]:
    """Pixel step along ``dims`` in µm from the coordinates (None where unknown).

    A dimension without a coordinate has no physical step (xarray's default 0, 1, 2… index is not one):
    None, so the browser draws no scale bar rather than one of an assumed size.
    """
    from ionscope.model.arrays import spacing_of
    from ionscope.model.errors import IonscopeError

    out: list[float | None] = []
    for d in dims:
        try:
            out.append(spacing_of(da, (d,))[0] if d in da.coords and da.coords[d].size > 1 else None)
        except IonscopeError:
            out.append(None)
    return out


def plane_of(da: xr.DataArray, kind: str, params: Mapping[str, Any]) -> tuple[xr.DataArray, dict[str, Any]]:
    """The lazy 2D plane that a request selects, and a description of the selection.

    Parameters (from the query): ``peak`` (index), ``scan`` (index, or ``sum``), ``state`` (index),
    ``lo``/``hi`` (m/z window of a hyperspectral cube), ``axis`` (z, y or x) and ``index`` (volume).
    """
    sel: dict[str, Any] = {}
    if kind == "image":
        plane = da
    elif kind == "ion_image":
        sel["peak"] = int_param(params, "peak", da.sizes["peak"])
        plane = da.isel(peak=sel["peak"])
    elif kind == "hyperspectral":
        mz = np.asarray(da.coords["mz"].values, dtype=float)
        lo = float_param(params, "lo", float(mz[0]))
        hi = float_param(params, "hi", float(mz[-1]))
        if hi < lo:
            raise ValidationError(f"m/z window {lo}…{hi} is empty")
        i0, i1 = int(np.searchsorted(mz, lo, "left")), int(np.searchsorted(mz, hi, "right"))
        if i1 <= i0:
            i1 = min(i0 + 1, mz.size)
        plane = da.isel(mz=slice(i0, i1)).sum("mz")
        sel.update(lo=lo, hi=hi)
    elif kind in ("cube3d", "operando"):
        lead = "scan" if kind == "cube3d" else "state"
        sel["peak"] = int_param(params, "peak", da.sizes["peak"])
        if kind == "cube3d" and params.get("scan") == "sum":
            plane = da.isel(peak=sel["peak"]).sum("scan")
            sel["scan"] = "sum"
        else:
            sel[lead] = int_param(params, lead, da.sizes[lead])
            plane = da.isel({lead: sel[lead], "peak": sel["peak"]})
    elif kind == "volume":
        axis = str(params.get("axis", "z"))
        if axis not in ("z", "y", "x"):
            raise ValidationError(f"parameter 'axis' must be z, y or x, got {axis!r}")
        sel["axis"] = axis
        sel["index"] = int_param(params, "index", da.sizes[axis], da.sizes[axis] // 2)
        plane = da.isel({axis: sel["index"]})
    else:
        raise ValidationError(f"a {kind} has no images")
    plane_dims = [d for d in ("z", "y", "x") if d in plane.dims]
    return plane.transpose(*plane_dims), sel


def image_of(da: xr.DataArray, kind: str, params: Mapping[str, Any], max_px: int = MAX_IMAGE_PX
             ) -> tuple[np.ndarray, dict[str, Any]]:
    """A float32 2D image (rows, cols) for the browser and its header (shape, range, µm per pixel)."""
    plane, sel = plane_of(da, kind, params)
    values = np.asarray(plane.values, dtype=np.float32)
    small, factor = downsample2d(values, max_px)
    finite = small[np.isfinite(small)]
    step = pixel_size_um(plane, [str(d) for d in plane.dims])
    header = {
        "shape": list(small.shape), "full_shape": list(values.shape), "factor": factor, "dims": list(plane.dims),
        "min": float(finite.min()) if finite.size else 0.0, "max": float(finite.max()) if finite.size else 0.0,
        "pixel_um": [None if s is None else s * factor for s in step], "selection": sel,
        "units": str(da.attrs.get("units", "")),
    }
    return np.ascontiguousarray(small, dtype="<f4"), header


def pooled_line(x: np.ndarray, y: np.ndarray, n: int = MAX_LINE_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """Reduce a line to ≤ ``n`` points keeping each block's maximum (peaks survive)."""
    if x.size <= n:
        return x, y
    f = int(np.ceil(x.size / n))
    m = (x.size // f) * f
    yb = y[:m].reshape(-1, f)
    i = np.argmax(yb, axis=1) + np.arange(yb.shape[0]) * f
    return x[i], y[i]


def spectrum_of(da: xr.DataArray, kind: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """The spectrum to draw: a continuous spectrum, a summed hyperspectral cube, or a stick spectrum.

    For ion images, cubes and operando series (which store peaks, not channels) the sticks are the
    total counts of each peak at its m/z (or at its index when there is no m/z coordinate), labelled
    with the data's peak names. ``labelling`` says what the labels can claim: the polarity recorded
    with the data (None: not recorded), whether the channels are unit-mass bins (labels are then
    nominal masses), the median channel spacing (m/z) and a sentence the viewer can show.
    """
    from ionscope.spectra.peaks import channel_binned
    from ionscope.viewer.annotations import data_polarity, labelling_note, peak_labels, spectrum_peaks

    polarity = data_polarity(da)
    if kind in ("spectrum", "hyperspectral"):
        line = da if kind == "spectrum" else da.sum(("y", "x"))
        mz = np.asarray(da.coords["mz"].values, dtype=float)
        lo, hi = float_param(params, "lo", float(mz[0])), float_param(params, "hi", float(mz[-1]))
        i0, i1 = int(np.searchsorted(mz, lo, "left")), int(np.searchsorted(mz, hi, "right"))
        full = np.asarray(line.values, dtype=float)
        x, y = pooled_line(mz[i0:i1], full[i0:i1])
        nominal = channel_binned(mz)
        spacing = float(np.median(np.diff(mz))) if mz.size > 1 else None
        labelling = {"polarity": polarity, "channel_binned": nominal, "channel_spacing": spacing,
                     "note": labelling_note(polarity, nominal, spacing)}
        return {"mode": "line", "mz": x.tolist(), "counts": y.tolist(),
                "peaks": spectrum_peaks(mz, full, polarity=polarity), "labelling": labelling,
                "range": [float(mz[0]), float(mz[-1])]}
    if kind in ("ion_image", "cube3d", "operando"):
        totals = np.asarray(da.sum([d for d in da.dims if d != "peak"]).values, dtype=float)
        names = [str(p) for p in da.coords["peak"].values]
        mz = (np.asarray(da.coords["mz"].values, dtype=float) if "mz" in da.coords
              else np.arange(len(names), dtype=float))
        labels = peak_labels(mz, names=names)
        labelling = {"polarity": polarity, "channel_binned": False, "channel_spacing": None,
                     "note": "the data's own peak names"}
        return {"mode": "sticks", "mz": mz.tolist(), "counts": totals.tolist(), "labelling": labelling,
                "peaks": [{"mz": float(m), "height": float(h), "label": lab, "index": i}
                          for i, (m, h, lab) in enumerate(zip(mz, totals, labels))],
                "range": [float(np.nanmin(mz)) - 1, float(np.nanmax(mz)) + 1]}
    raise ValidationError(f"a {kind} has no spectrum")


def profile_of(da: xr.DataArray, kind: str, mask: np.ndarray | None = None) -> dict[str, Any]:
    """A depth profile (per scan, per peak) with every depth axis the data has, and its annotations.

    For a 3D cube the profile is the sum over (y, x), or over the pixels of ``mask``.
    """
    from ionscope.viewer.annotations import depth_interfaces

    if kind == "depth_profile":
        prof = da
    elif kind == "cube3d":
        if mask is None:
            prof = da.sum(("y", "x"))
        else:
            m = xr.DataArray(mask, dims=("y", "x"))
            prof = da.where(m).sum(("y", "x"))
    else:
        raise ValidationError(f"a {kind} has no depth profile")
    prof = prof.transpose("scan", "peak").load()
    axes = {}
    for name in ("sputter_time", "dose", "fluence", "depth"):
        c = prof.coords.get(name)
        if c is not None and c.dims == ("scan",):
            axes[name] = {"values": np.asarray(c.values, dtype=float).tolist(), "unit": c.attrs.get("units", "")}
    if not axes:
        axes["scan"] = {"values": np.arange(prof.sizes["scan"], dtype=float).tolist(), "unit": "index"}
    annotations = {a: depth_interfaces(prof, a) for a in axes}
    return {"axes": axes, "species": [str(p) for p in prof.coords["peak"].values],
            "counts": np.asarray(prof.values, dtype=float).T.tolist(), "annotations": annotations,
            "units": str(da.attrs.get("units", ""))}


def roi_mask(shape: tuple[int, int], roi: Any) -> np.ndarray:
    """Boolean (rows, cols) mask of a region of interest given in full-resolution pixel coordinates.

    ``roi`` is ``{"type": "rect", "x0", "y0", "x1", "y1"}`` or ``{"type": "polygon", "points": [[x, y], …]}``
    (≥ 3 points); a pixel belongs to the region if its centre is inside.
    """
    if not isinstance(roi, Mapping):
        raise ValidationError("the ROI must be a JSON object with a 'type'")
    ny, nx = shape
    yy, xx = np.mgrid[:ny, :nx]
    kind = roi.get("type")
    if kind == "rect":
        try:
            x0, y0, x1, y1 = (float(roi[k]) for k in ("x0", "y0", "x1", "y1"))
        except (KeyError, TypeError, ValueError, OverflowError):
            raise ValidationError("a rectangle ROI needs numbers x0, y0, x1, y1") from None
        if not all(np.isfinite([x0, y0, x1, y1])):
            raise ValidationError("ROI corners must be finite")
        x0, x1 = sorted((x0, x1))
        y0, y1 = sorted((y0, y1))
        mask = (xx + 0.5 >= x0) & (xx + 0.5 <= x1) & (yy + 0.5 >= y0) & (yy + 0.5 <= y1)
    elif kind == "polygon":
        pts = roi.get("points")
        try:
            arr = np.asarray(pts, dtype=float)
        except (TypeError, ValueError, OverflowError):
            raise ValidationError("polygon points must be [[x, y], …] numbers") from None
        if arr.ndim != 2 or arr.shape[1] != 2 or arr.shape[0] < 3 or not np.all(np.isfinite(arr)):
            raise ValidationError("a polygon ROI needs at least 3 finite [x, y] points")
        if arr.shape[0] > 10_000:
            raise ValidationError("a polygon ROI may have at most 10000 points")
        centres = np.column_stack([xx.ravel() + 0.5, yy.ravel() + 0.5])
        mask = PolyPath(arr).contains_points(centres).reshape(ny, nx)
    else:
        raise ValidationError(f"ROI type must be 'rect' or 'polygon', got {kind!r}")
    if not mask.any():
        raise ValidationError("the ROI contains no pixel")
    return mask


def _crop_to(da: xr.DataArray, mask: np.ndarray) -> tuple[xr.DataArray, np.ndarray]:
    """``da`` and ``mask`` cut to the mask's bounding box (only those pixels are read and summed)."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    ys, xs = slice(int(rows[0]), int(rows[-1]) + 1), slice(int(cols[0]), int(cols[-1]) + 1)
    return da.isel(y=ys, x=xs), mask[ys, xs]


def roi_result(da: xr.DataArray, kind: str, roi: Any, what: str) -> dict[str, Any]:
    """Spectrum, depth profile or trajectories of the pixels inside ``roi``.

    ``what``: ``spectrum`` (ion_image, hyperspectral, cube3d: mean counts per pixel per peak or m/z),
    ``profile`` (cube3d: summed counts per scan) or ``trajectory`` (operando: mean counts per pixel
    per state and peak).
    """
    if kind not in ("ion_image", "hyperspectral", "cube3d", "operando", "image"):
        raise ValidationError(f"ROIs are drawn on images; a {kind} has none")
    da, mask = _crop_to(da, roi_mask((da.sizes["y"], da.sizes["x"]), roi))
    m = xr.DataArray(mask, dims=("y", "x"))
    npx = int(mask.sum())
    if what == "spectrum" and kind in ("ion_image", "hyperspectral", "cube3d"):
        inside = da.where(m).sum([d for d in da.dims if d not in ("peak", "mz")]) / npx
        values = np.asarray(inside.values, dtype=float)
        if kind == "hyperspectral":
            mz = np.asarray(da.coords["mz"].values, dtype=float)
            x, y = pooled_line(mz, values)
            return {"what": what, "mode": "line", "mz": x.tolist(), "counts": y.tolist(), "pixels": npx}
        names = [str(p) for p in da.coords["peak"].values]
        mz = (np.asarray(da.coords["mz"].values, dtype=float) if "mz" in da.coords
              else np.arange(len(names), dtype=float))
        return {"what": what, "mode": "sticks", "mz": mz.tolist(), "counts": values.tolist(), "species": names,
                "pixels": npx}
    if what == "profile" and kind == "cube3d":
        return {"what": what, "pixels": npx, **profile_of(da, kind, mask)}
    if what == "trajectory" and kind == "operando":
        traj = da.where(m).sum(("y", "x")) / npx
        return {"what": what, "pixels": npx, "species": [str(p) for p in da.coords["peak"].values],
                "values": np.asarray(traj.transpose("peak", "state").values, dtype=float).tolist()}
    raise ValidationError(f"an ROI {what!r} is not defined for a {kind}")
