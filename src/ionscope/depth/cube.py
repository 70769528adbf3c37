"""3D depth profiles (scan, y, x, peak): side views, per-layer maps, per-pixel interface maps, ROI profiles.

Per-pixel interface maps are computed block by block (Dask ``map_blocks`` over y/x chunks that hold
every scan of one species), so memory is bounded by a few chunks whatever the cube size.
"""

from __future__ import annotations

from collections.abc import Sequence

import dask.array as dsa
import numpy as np
import xarray as xr
from scipy.ndimage import uniform_filter1d

from ionscope.model.arrays import kind_of, make_depth_profile, make_ion_image
from ionscope.model.errors import ValidationError
from ionscope.model.result import Result


def _require_cube(cube: xr.DataArray) -> xr.DataArray:
    if not isinstance(cube, xr.DataArray) or kind_of(cube) != "cube3d":
        raise ValidationError("expected a 3D depth profile with dims (scan, y, x, peak)")
    return cube.transpose("scan", "y", "x", "peak")


def _peak(cube: xr.DataArray, name: str) -> int:
    labels = [str(p) for p in cube.coords["peak"].values]
    if name not in labels:
        raise ValidationError(f"species {name!r} is not in the cube; it holds {', '.join(labels[:10])}")
    return labels.index(name)


def side_view(cube: xr.DataArray, species: str, *, plane: str = "xz") -> xr.DataArray:
    """Depth-resolved side view: counts summed over y (``xz``: dims scan, x) or over x (``yz``)."""
    c = _require_cube(cube).isel(peak=_peak(cube, species))
    if plane not in ("xz", "yz"):
        raise ValidationError(f"plane must be 'xz' or 'yz', got {plane!r}")
    out = c.sum("y" if plane == "xz" else "x")
    out.attrs = {"units": cube.attrs.get("units", "counts"), "species": species, "plane": plane}
    return out


def layer_maps(cube: xr.DataArray, scan_ranges: Sequence[tuple[int, int]], *,
               species: Sequence[str] | None = None) -> Result:
    """Ion images (y, x, peak) averaged over each scan range ``[start, stop)`` (one per layer).

    Returns
    -------
    Result
        ``depth.layer_maps``: ``maps``, one ion image (y, x, peak; counts/scan) per range, and the
        ``scan_ranges``.
    """
    c = _require_cube(cube)
    n = c.sizes["scan"]
    sel = c if species is None else c.isel(peak=[_peak(c, s) for s in species])
    maps = []
    for a, b in scan_ranges:
        if not 0 <= a < b <= n:
            raise ValidationError(f"scan range ({a}, {b}) is outside 0…{n}")
        img = sel.isel(scan=slice(a, b)).mean("scan")
        step = float(c.x[1] - c.x[0]) if c.sizes["x"] > 1 else 1.0
        maps.append(make_ion_image(np.asarray(img.values), [str(p) for p in img.peak.values],
                                   pixel_size_um=step, units="counts/scan",
                                   attrs={"scan_range": [int(a), int(b)]}))
    return Result("depth.layer_maps", {"maps": maps, "scan_ranges": [[int(a), int(b)] for a, b in scan_ranges]})


def roi_profile(cube: xr.DataArray, mask: np.ndarray) -> xr.DataArray:
    """Depth profile (scan, peak) summed over the pixels of a boolean ``mask`` (y, x)."""
    c = _require_cube(cube)
    m = np.asarray(mask, dtype=bool)
    if m.shape != (c.sizes["y"], c.sizes["x"]):
        raise ValidationError(f"ROI mask of shape {m.shape} does not match the cube's {c.sizes['y']}×{c.sizes['x']}")
    if not m.any():
        raise ValidationError("ROI mask selects no pixel")
    data = np.asarray(c.values[:, m, :].sum(axis=1), dtype=float)
    kw = {"dose_ions": c.coords["dose"].values} if "dose" in c.coords else {}
    if "fluence" in c.coords:
        kw["fluence_ions_cm2"] = c.coords["fluence"].values
    return make_depth_profile(data, [str(p) for p in c.peak.values], sputter_time_s=c.sputter_time.values,
                              attrs={"roi_pixels": int(m.sum())}, **kw)


def interface_with_sigma(block: np.ndarray, *, falling: bool, smooth_scans: int = 5, skip: int = 1,
                         dtype: type = np.float64) -> Result:
    """Fractional scan index of the 50 % crossing per pixel of a (scan, y, x) count block, and its 1σ.

    ``dtype`` is the working precision (float32 halves the memory of large chunked cubes).

    Returns
    -------
    Result
        ``kind="depth.interface_crossing"``: ``position`` (y, x; fractional scan index of the crossing,
        NaN where the pixel has none) and ``sigma`` (its 1σ, scans).
    """
    position, sigma = _crossing(block, falling=falling, smooth_scans=smooth_scans, skip=skip, dtype=dtype)
    return Result("depth.interface_crossing", {"position": position, "sigma": sigma})


def _crossing(block: np.ndarray, *, falling: bool, smooth_scans: int, skip: int,
              dtype: type) -> tuple[np.ndarray, np.ndarray]:
    y: np.ndarray = np.asarray(block, dtype=dtype)
    n = max(int(smooth_scans), 1)
    if n > 1:
        y = uniform_filter1d(y, n, axis=0, mode="nearest")
    y = y[skip:]
    lo = np.percentile(y, 5, axis=0)
    hi = np.percentile(y, 95, axis=0)
    amp = np.where(hi - lo > 0, hi - lo, np.nan)
    yn = (y - lo) / amp
    above = yn >= 0.5
    trans = (above[:-1] & ~above[1:]) if falling else (~above[:-1] & above[1:])
    has = trans.any(axis=0)
    i = np.argmax(trans, axis=0) if falling else trans.shape[0] - 1 - np.argmax(trans[::-1], axis=0)
    y0 = np.take_along_axis(yn, i[None], 0)[0]
    y1 = np.take_along_axis(yn, (i + 1)[None], 0)[0]
    raw = np.take_along_axis(y, i[None], 0)[0]
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.where(y1 != y0, (0.5 - y0) / (y1 - y0), 0.5)
        sigma_y = np.sqrt(np.maximum(raw, 1.0) / n) / amp  # Poisson σ of a mean of n scans, normalised
        sigma = sigma_y / np.abs(y1 - y0)
    pos = i + np.clip(frac, 0, 1) + skip
    ok = has & np.isfinite(amp)
    return np.where(ok, pos, np.nan), np.where(ok, sigma, np.nan)


def pixel_interfaces(block: np.ndarray, *, falling: bool, smooth_scans: int = 5, skip: int = 1) -> np.ndarray:
    """Fractional scan index of the 50 % crossing per pixel of a (scan, y, x) block (NaN if none).

    Each pixel's signal is smoothed along the scans (moving mean of ``smooth_scans``), scaled between
    its 5th and 95th percentile, and the first crossing of 0.5 after its plateau (falling species)
    or before it (rising species) is interpolated linearly.
    """
    # the kernel itself, not the Result of interface_with_sigma: this runs once per Dask block, and a command
    # keeps every Result built while it runs (ionscope.model.flags.recording)
    pos, _ = _crossing(block, falling=falling, smooth_scans=smooth_scans, skip=skip, dtype=np.float32)
    return pos.astype(np.float32, copy=False)


def interface_depth_map(cube: xr.DataArray, species: str, *, falling: bool = True, axis: str = "sputter_time",
                        smooth_scans: int = 5, skip: int = 1, chunk_yx: int = 64) -> xr.DataArray:
    """Per-pixel interface position (50 % point of the fall/rise of ``species``) on ``axis``.

    Works on NumPy- or Dask-backed cubes (e.g. opened lazily from Zarr); the computation is
    vectorised over each (y, x) block of ``chunk_yx`` pixels with all scans, so peak memory is about
    ``n_scans × chunk_yx² × 4 bytes`` per worker, times a small factor.
    """
    c = _require_cube(cube)
    k = _peak(c, species)
    x_axis, unit = _cube_axis(c, axis)
    data = c.data[..., k]
    arr = data if isinstance(data, dsa.Array) else dsa.from_array(data, chunks=(-1, chunk_yx, chunk_yx))
    arr = arr.rechunk({0: -1, 1: chunk_yx, 2: chunk_yx})
    idx = arr.map_blocks(pixel_interfaces, falling=falling, smooth_scans=smooth_scans, skip=skip,
                         drop_axis=0, dtype=np.float32)
    scan_pos = idx.compute()
    pos = np.interp(scan_pos, np.arange(x_axis.size), x_axis, left=np.nan, right=np.nan)
    pos[~np.isfinite(scan_pos)] = np.nan
    out = xr.DataArray(pos, dims=("y", "x"), coords={"y": c.y, "x": c.x},
                       attrs={"units": unit, "species": species, "edge": "fall" if falling else "rise",
                              "axis": axis})
    return out


def _cube_axis(c: xr.DataArray, axis: str) -> tuple[np.ndarray, str]:
    if axis == "scan":
        return np.arange(c.sizes["scan"], dtype=float), "index"
    if axis not in c.coords:
        raise ValidationError(f"the cube has no {axis!r} axis")
    x = np.asarray(c.coords[axis].values, dtype=float)
    if x.size > 1 and np.any(np.diff(x) <= 0):
        raise ValidationError(f"the {axis} axis of the cube is not monotonic")
    return x, c.coords[axis].attrs.get("units", "")


__all__ = ["interface_depth_map", "layer_maps", "pixel_interfaces", "roi_profile", "side_view"]
