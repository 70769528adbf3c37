"""Maps of a 3-D depth profile (scan, y, x, peak) in one call: interface-depth maps with per-pixel
uncertainty, their roughness, layer maps over scan ranges and side views.

The interface of a pixel is the 50 % crossing of its smoothed, normalised signal (as in
:func:`ionscope.depth.cube.pixel_interfaces`); its 1σ follows from the Poisson noise of the smoothed
signal at the crossing divided by the local slope (delta method), ``σ_pos = σ_y / |dy/dscan|``.
The roughness of an interface is the rms deviation of its map from the mean (including any tilt);
its 1σ combines the sampling error ``rms/√(2(N − 1))`` with the relative uncertainty of the depth
scale (sputter rate), when given.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from ionscope.depth._common import species_label
from ionscope.depth.cube import interface_with_sigma
from ionscope.model.errors import ValidationError
from ionscope.model.provenance import make_provenance
from ionscope.model.result import Quantity, Result


def _axis(cube: xr.DataArray, axis: str, rate_nm_s: float | None) -> tuple[np.ndarray, str]:
    if axis == "scan":
        return np.arange(cube.sizes["scan"], dtype=float), "index"
    if axis == "depth" and "depth" not in cube.coords:
        if rate_nm_s is None or "sputter_time" not in cube.coords:
            raise ValidationError("the cube has no depth axis; give the sputter rate to convert sputter time "
                                  "to depth, or use the sputter_time axis")
        return np.asarray(cube.coords["sputter_time"].values, float) * rate_nm_s, "nm"
    if axis not in cube.coords:
        raise ValidationError(f"the cube has no {axis!r} axis")
    x = np.asarray(cube.coords[axis].values, dtype=float)
    if x.size > 1 and np.any(np.diff(x) <= 0):
        raise ValidationError(f"the {axis} axis of the cube is not increasing")
    return x, str(cube.coords[axis].attrs.get("units", ""))


def layer_scans(cube: xr.DataArray, start: float, stop: float, unit: str | None,
                rate_nm_s: float | None = None) -> Result:
    """Scan range ``[a, b)`` of a layer given in scan indices (``unit`` None) or in depth or sputter time.

    A length is converted through the cube's ``depth`` coordinate (or its sputter time × ``rate_nm_s``),
    a time through its ``sputter_time`` coordinate; the layer holds the scans whose axis value lies in
    ``[start, stop)``.

    Raises
    ------
    ValidationError
        If the cube has no axis of that kind, the unit is neither a length nor a time, or no scan falls
        in the range.

    Returns
    -------
    Result
        ``kind="depth.scan_range"``: ``start`` and ``stop``, the scan indices of ``[start, stop)``.
    """
    a, b = _scan_range(cube, start, stop, unit, rate_nm_s)
    return Result("depth.scan_range", {"start": a, "stop": b})


def _scan_range(cube: xr.DataArray, start: float, stop: float, unit: str | None,
                rate_nm_s: float | None) -> tuple[int, int]:
    from ionscope.model.units import conversion_factor, dimensionality

    n = cube.sizes["scan"]
    if unit is None:
        a, b = int(start), int(stop)
        if a != start or b != stop or not 0 <= a < b <= n:
            raise ValidationError(f"scan range {start:g}:{stop:g} is outside 0…{n}")
        return a, b
    dim = dimensionality(unit)
    if dim == "[length]":
        if "depth" in cube.coords:
            axis = np.asarray(cube.coords["depth"].values, float)
            axis_unit = str(cube.coords["depth"].attrs.get("units") or "nm")
        elif "sputter_time" in cube.coords and rate_nm_s:
            axis, axis_unit = np.asarray(cube.coords["sputter_time"].values, float) * rate_nm_s, "nm"
        else:
            raise ValidationError(f"layer {start:g}{unit}:{stop:g}{unit} is a depth range but the cube has no depth "
                                  "axis; give the sputter rate (--rate) or use scan indices or sputter time")
    elif dim == "[time]":
        if "sputter_time" not in cube.coords:
            raise ValidationError(f"layer {start:g}{unit}:{stop:g}{unit} is a sputter-time range but the cube has "
                                  "no sputter_time axis; use scan indices")
        axis = np.asarray(cube.coords["sputter_time"].values, float)
        axis_unit = str(cube.coords["sputter_time"].attrs.get("units") or "s")
    else:
        raise ValidationError(f"layer range unit {unit!r} is neither a length nor a time")
    f = conversion_factor(unit, axis_unit)
    inside = np.flatnonzero((axis >= start * f) & (axis < stop * f))
    if stop <= start or inside.size == 0:
        raise ValidationError(f"layer {start:g}{unit}:{stop:g}{unit} holds no scan of the cube "
                              f"(its axis runs {axis.min():g}…{axis.max():g} {axis_unit})")
    return int(inside[0]), int(inside[-1]) + 1


def roi_masks_from_labels(labels, shape_yx: tuple[int, int], path=None) -> list[tuple[str, np.ndarray]]:
    """Boolean masks of a boolean or label image: one per non-zero label (``label_<n>``, or ``mask``).

    Raises
    ------
    ValidationError
        If the image is not 2-D of the cube's (y, x) shape, or holds no non-zero pixel.
    """
    img = np.asarray(labels)
    if img.ndim != 2 or img.shape != tuple(shape_yx):
        raise ValidationError(f"ROI mask is {'×'.join(map(str, img.shape))} pixels but the cube is "
                              f"{shape_yx[0]}×{shape_yx[1]} (y×x)", path)
    if img.dtype.kind == "f" and not np.all(np.isfinite(img) & (img == np.round(img))):
        raise ValidationError("ROI mask must be a boolean or integer label image", path)
    values = np.unique(img[img != 0])
    if values.size == 0:
        raise ValidationError("ROI mask has no non-zero pixel", path)
    if img.dtype == bool or values.size == 1:
        return [("mask", img != 0)]
    return [(f"label_{int(v)}", img == v) for v in values]


def rect_mask(cube: xr.DataArray, x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
    """Pixels whose centres lie in the rectangle ``[x0, x1] × [y0, y1]`` (µm) of the cube's lateral axes."""
    from ionscope.model.units import conversion_factor

    centres = []
    for d in ("y", "x"):
        unit = str(cube.coords[d].attrs.get("units", "")) if d in cube.coords else ""
        if not unit or unit in ("index", "1", "px", "pixel"):
            raise ValidationError("the cube has no lateral scale in µm; --rect needs one (use --roi with a mask)")
        centres.append(np.asarray(cube.coords[d].values, float) * conversion_factor(unit, "µm"))
    yc, xc = centres
    in_y = (yc >= min(y0, y1)) & (yc <= max(y0, y1))
    in_x = (xc >= min(x0, x1)) & (xc <= max(x0, x1))
    if not in_y.any() or not in_x.any():
        raise ValidationError(f"rectangle x {x0:g}…{x1:g} µm, y {y0:g}…{y1:g} µm holds no pixel centre of the "
                              f"cube (x {xc.min():g}…{xc.max():g} µm, y {yc.min():g}…{yc.max():g} µm)")
    return in_y[:, None] & in_x[None, :]


def _layer_text(layer: tuple) -> str:
    start, stop, unit = (tuple(layer) + (None,))[:3]
    return f"{start:g}{unit or ''}:{stop:g}{unit or ''}"


def cube_maps(cube: xr.DataArray, *, interfaces: Sequence[tuple[str, bool]] = (),
              layers: Sequence[tuple] = (), side_views: Sequence[tuple[str, str]] = (),
              rois: Sequence[tuple[str, np.ndarray]] = (), rects: Sequence[tuple[float, float, float, float]] = (),
              axis: str = "sputter_time", rate_nm_s: float | None = None, rate_err_nm_s: float | None = None,
              smooth_scans: int = 5, inputs=(), progress=None, path=None) -> Result:
    """Interface-depth maps, roughness, layer maps and side views of a (scan, y, x, peak) cube.

    Parameters
    ----------
    interfaces
        ``(species, falling)`` pairs: the 50 % crossing of the species' fall (or rise) per pixel.
    layers
        ``(start, stop)`` scan ranges ``[start, stop)``, or ``(start, stop, unit)`` in depth (a length
        unit) or sputter time (see :func:`layer_scans`): mean counts per scan of every species per pixel.
    rois, rects
        ``(name, mask)`` boolean (y, x) masks (:func:`roi_masks_from_labels`) and rectangles
        ``(x0, y0, x1, y1)`` in µm (:func:`rect_mask`): mean depth profile per pixel of each region.
    side_views
        ``(species, plane)`` with plane ``xz`` (sum over y) or ``yz`` (sum over x).
    axis
        ``sputter_time``, ``depth`` (coordinate, or sputter time × ``rate_nm_s``) or ``scan``.
    rate_nm_s, rate_err_nm_s
        Sputter rate and its 1σ, nm s⁻¹ (for the depth axis; its relative error enters the roughness).

    Returns
    -------
    Result
        Kind ``depth.cube``: the mean position and roughness of every interface, the layers' scan ranges
        and the ROIs' pixel counts and total counts per species; and ``maps``, the Dataset with
        ``interface_<species>``, ``interface_<species>_uncertainty`` (y, x; axis unit), ``layer_<a>_<b>``
        (y, x, peak; counts/scan), ``side_<plane>_<species>`` and ``roi_profiles`` (roi, scan, peak; counts
        per pixel and scan) with the coordinate ``roi_pixels`` (``r.maps``; the command line saves it and
        leaves it out of its JSON).
    """
    c, x_axis, unit, scan_ranges, regions = _checked_request(cube, interfaces, layers, side_views, rois, rects,
                                                             axis, rate_nm_s, path)
    data: dict[str, xr.DataArray] = {}
    values: dict = {"axis": axis, "shape": [int(c.sizes[d]) for d in ("scan", "y", "x")]}
    rel_rate = (rate_err_nm_s / rate_nm_s) if (axis == "depth" and rate_nm_s and rate_err_nm_s) else 0.0
    values["interfaces"] = _interface_maps(c, interfaces, x_axis, unit, rel_rate, smooth_scans, progress, data)
    values["layers"] = _layer_maps(c, layers, scan_ranges, data)
    if regions:
        values["rois"] = _roi_profiles(c, regions, data)
    _side_views(c, side_views, data)
    ds = _dataset(c, data, axis)
    warnings = [f"interface of {species_label(i['species'])}: no 50 % crossing in any pixel"
                for i in values["interfaces"] if i["pixels"] < 2]
    prov = make_provenance("ionscope.depth.cube_maps", inputs=inputs, parameters={
        "interfaces": [list(i) for i in interfaces], "layers": [_layer_text(r) for r in layers],
        "rois": [n for n, _ in rois], "rects_um": [list(map(float, r)) for r in rects],
        "side_views": [list(s) for s in side_views], "axis": axis, "rate_nm_s": rate_nm_s})
    return Result("depth.cube", {**values, "maps": ds}, warnings=tuple(warnings), provenance=prov)


def _layer_bounds(lay: tuple) -> tuple[float, float, str | None]:
    """``(start, stop, unit)`` of a layer given as ``(start, stop)`` (scan indices) or ``(start, stop, unit)``."""
    start, stop, unit = (tuple(lay) + (None,))[:3]
    return start, stop, unit


def _checked_request(cube: xr.DataArray, interfaces: Sequence[tuple[str, bool]], layers: Sequence[tuple],
                     side_views: Sequence[tuple[str, str]], rois: Sequence[tuple[str, np.ndarray]],
                     rects: Sequence[tuple[float, float, float, float]], axis: str, rate_nm_s: float | None,
                     path: Any) -> tuple[xr.DataArray, np.ndarray, str, list[tuple[int, int]],
                                         list[tuple[str, np.ndarray]]]:
    """Step 1 of :func:`cube_maps`: check every request against the cube before any computation.

    Returns the cube, the x axis and its unit, the layers' scan ranges and the regions (ROI masks
    and rectangles as (y, x) masks); a problem is a :class:`ValidationError` naming ``path``.
    """
    from ionscope.depth.cube import _peak, _require_cube
    from ionscope.model.arrays import kind_of

    if not isinstance(cube, xr.DataArray) or kind_of(cube) != "cube3d":
        raise ValidationError(f"expected a 3-D depth profile with dims (scan, y, x, peak), got dims "
                              f"{tuple(getattr(cube, 'dims', ()))}", path)
    c = _require_cube(cube)
    try:
        x_axis, unit = _axis(c, axis, rate_nm_s)
        for sp, _ in interfaces:
            _peak(c, sp)
        for sp, plane in side_views:
            _peak(c, sp)
            if plane not in ("xz", "yz"):
                raise ValidationError(f"side view plane must be xz or yz, got {plane!r}")
        found = [layer_scans(c, *_layer_bounds(lay), rate_nm_s=rate_nm_s) for lay in layers]
        scan_ranges = [(r.start, r.stop) for r in found]
        shape_yx = (c.sizes["y"], c.sizes["x"])
        regions = [(name, np.asarray(m, bool)) for name, m in rois]
        for name, m in regions:
            if m.shape != shape_yx:
                raise ValidationError(f"ROI {name!r} is {'×'.join(map(str, m.shape))} pixels but the cube is "
                                      f"{shape_yx[0]}×{shape_yx[1]} (y×x)")
        regions += [(f"rect_{i}" if len(rects) > 1 else "rect", rect_mask(c, *r)) for i, r in enumerate(rects)]
    except ValidationError as exc:
        raise ValidationError(exc.problem, path) from None
    return c, x_axis, unit, scan_ranges, regions


def _interface_maps(c: xr.DataArray, interfaces: Sequence[tuple[str, bool]], x_axis: np.ndarray, unit: str,
                    rel_rate: float, smooth_scans: int, progress: Any,
                    data: dict[str, xr.DataArray]) -> list[dict[str, Any]]:
    """Step 2: per interface, the position map and its 1σ (into ``data``) and the summary: mean
    position and rms roughness over the pixels with a crossing. The roughness's 1σ combines the
    sampling error of a standard deviation, 1/√(2(N−1)), with the rate's relative error."""
    from ionscope.depth.cube import _peak

    step = np.gradient(x_axis) if x_axis.size > 1 else np.ones(1)
    out: list[dict[str, Any]] = []
    for sp, falling in interfaces:
        counts = np.asarray(c.isel(peak=_peak(c, sp)).values)
        crossing = interface_with_sigma(counts, falling=falling, smooth_scans=smooth_scans)
        pos_scan, sig_scan = crossing.position, crossing.sigma
        pos = np.interp(pos_scan, np.arange(x_axis.size), x_axis, left=np.nan, right=np.nan)
        pos[~np.isfinite(pos_scan)] = np.nan
        local = np.interp(pos_scan, np.arange(x_axis.size), step)
        sig = sig_scan * local
        name = f"interface_{sp}"
        data[name] = xr.DataArray(pos, dims=("y", "x"), attrs={"units": unit, "species": sp,
                                                                "edge": "fall" if falling else "rise"})
        data[name + "_uncertainty"] = xr.DataArray(sig, dims=("y", "x"), attrs={"units": unit})
        good = np.isfinite(pos)
        N = int(good.sum())
        if N < 2:
            out.append({"species": sp, "pixels": N})
            continue
        mean = float(np.mean(pos[good]))
        rms = float(np.std(pos[good], ddof=1))
        rms_err = rms * float(np.hypot(1.0 / np.sqrt(2 * (N - 1)), rel_rate))
        mean_err = float(np.hypot(rms / np.sqrt(N), mean * rel_rate))
        out.append({
            "species": sp, "edge": "fall" if falling else "rise", "pixels": N,
            "mean_position": Quantity(mean, mean_err, unit), "roughness_rms": Quantity(rms, rms_err, unit),
            "median_pixel_uncertainty": Quantity(float(np.nanmedian(sig)), None, unit,
                                                 why_no_uncertainty="median of the per-pixel 1σ: a description")})
        if progress is not None:
            progress()
    return out


def _layer_maps(c: xr.DataArray, layers: Sequence[tuple], scan_ranges: Sequence[tuple[int, int]],
                data: dict[str, xr.DataArray]) -> list[dict[str, Any]]:
    """Step 3: mean counts per scan of every species per pixel over each layer's scans (into ``data``)."""
    out = []
    for lay, (a, b) in zip(layers, scan_ranges):
        img = c.isel(scan=slice(a, b)).mean("scan")
        request = _layer_text(lay)
        data[f"layer_{a}_{b}"] = xr.DataArray(np.asarray(img.values, float), dims=("y", "x", "peak"),
                                              attrs={"units": "counts/scan", "scan_range": [int(a), int(b)],
                                                     "request": request})
        out.append({"name": f"layer_{a}_{b}", "request": request, "scans": [int(a), int(b)]})
    return out


def _roi_profiles(c: xr.DataArray, regions: Sequence[tuple[str, np.ndarray]],
                  data: dict[str, xr.DataArray]) -> list[dict[str, Any]]:
    """Step 4: the mean depth profile per pixel of each region (into ``data``) and its total counts."""
    profiles = np.stack([np.asarray(c.where(xr.DataArray(m, dims=("y", "x"))).mean(("y", "x")).values, float)
                         for _, m in regions])
    names = [n for n, _ in regions]
    roi_coords = {"roi": np.asarray(names, dtype=str),
                  "roi_pixels": ("roi", np.array([int(m.sum()) for _, m in regions]), {"units": "1"})}
    data["roi_profiles"] = xr.DataArray(profiles, dims=("roi", "scan", "peak"), coords=roi_coords,
                                        attrs={"units": "counts/pixel/scan"})
    peaks = [str(p) for p in c.peak.values]
    return [{"name": n, "pixels": int(m.sum()),
             "total_counts": {p: float(profiles[i, :, j].sum() * m.sum()) for j, p in enumerate(peaks)}}
            for i, (n, m) in enumerate(regions)]


def _side_views(c: xr.DataArray, side_views: Sequence[tuple[str, str]], data: dict[str, xr.DataArray]) -> None:
    """Step 5: the side views (counts summed over y for ``xz``, over x for ``yz``) into ``data``."""
    from ionscope.depth.cube import side_view

    for sp, plane in side_views:
        sv = side_view(c, sp, plane=plane)
        data[f"side_{plane}_{sp}"] = xr.DataArray(np.asarray(sv.values, float), dims=sv.dims,
                                                  attrs={"units": sv.attrs.get("units", "counts")})


def _dataset(c: xr.DataArray, data: dict[str, xr.DataArray], axis: str) -> xr.Dataset:
    """Step 6: one Dataset of the maps with the cube's coordinates that their dimensions use."""
    coords = {"y": c.y, "x": c.x, "peak": c.peak, "scan": c.scan}
    if "roi_profiles" in data:
        coords["roi"] = data["roi_profiles"].roi
        coords["roi_pixels"] = data["roi_profiles"].roi_pixels
    if axis in c.coords and axis != "scan":
        coords[axis] = c.coords[axis]
    used = {dim for d in data.values() for dim in d.dims} | {"y", "x"}
    return xr.Dataset(data, coords={k: v for k, v in coords.items() if set(v.dims) <= used})


def interface_mesh(maps: xr.Dataset, species: str, path=None) -> Result:
    """The interface-depth map of ``species`` as a triangulated surface, every coordinate in µm.

    Vertices are (x, y, z) with x, y the pixel centres and z the interface depth below the surface
    (all µm, so the surface keeps its true shape); pixels without an interface are left out
    (:func:`ionscope.io.mesh.grid_surface`).

    Raises
    ------
    ValidationError
        If the map is not in a length unit (the cube was mapped on sputter time or scan index).

    Returns
    -------
    Result
        ``kind="depth.interface_mesh"``: ``vertices`` ((n, 3) x, y, z in µm) and ``triangles`` ((m, 3)
        vertex indices).
    """
    from ionscope.io.mesh import grid_surface
    from ionscope.model.errors import UnitError
    from ionscope.model.units import convert

    var = maps[f"interface_{species}"]
    unit = str(var.attrs.get("units", ""))
    try:
        depth_um = np.asarray(convert(np.asarray(var.values, float), unit, "µm"), dtype=float)
        xy = [np.asarray(convert(np.asarray(maps[d].values, float), str(maps[d].attrs.get("units", "")), "µm"),
                         dtype=float) for d in ("x", "y")]
    except UnitError:
        raise ValidationError(f"the interface of {species} is mapped in {unit or 'no unit'}, not a depth: a "
                              "surface mesh needs --axis depth (with --rate when the cube has no depth "
                              "coordinate)", path) from None
    vertices, triangles = grid_surface(depth_um, *xy)
    return Result("depth.interface_mesh", {"vertices": vertices, "triangles": triangles})


def write_interface_meshes(ds: xr.Dataset, result: Result, meshes: Sequence[tuple[str, Path]], source: Path, *,
                           force: bool = False) -> Result:
    """Write each interface of a cube as a triangulated surface and list the files in the result.

    Parameters
    ----------
    ds : xarray.Dataset
        The maps of :func:`cube_maps` (interface depth in µm per pixel).
    result : Result
        The result the maps came with; it is returned with ``meshes`` added.
    meshes : sequence of (str, Path)
        ``(species, file)`` for every surface to write (.vtk or .stl).
    source : Path
        The cube the maps were computed from (named in the file title).
    force : bool
        Overwrite existing files.

    Returns
    -------
    Result
        ``result`` with ``meshes``: one entry per surface with ``species``, ``path``, ``vertices``,
        ``triangles`` and ``unit`` (µm: x, y and depth below the surface).
    """
    from ionscope.io.mesh import write_mesh

    done = []
    for sp, p in meshes:
        mesh = interface_mesh(ds, sp, source)
        vertices, triangles = mesh.vertices, mesh.triangles
        write_mesh(p, vertices, triangles, force=force,
                   title=f"ionscope interface {sp} of {source.name}: x, y, z in um, z = depth below the surface")
        done.append({"species": sp, "path": str(p), "vertices": int(len(vertices)),
                     "triangles": int(len(triangles)), "unit": "µm"})
    return Result(result.kind, {**result.values, "meshes": done}, result.warnings, result.provenance, result.flags)
