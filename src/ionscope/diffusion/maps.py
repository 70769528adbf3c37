"""Per-pixel diffusion maps from (scan, y, x) isotope cubes: a parallel, fused Levenberg–Marquardt.

Every pixel's tracer fraction is fitted with the semi-infinite (eq. 3) or the surface-exchange
(eq. 8) model of Sharma, Hasegawa, Xing & Kuwata 2025 (Sci. Technol. Adv. Mater. 26, 2580917,
doi:10.1080/14686996.2025.2580917; Crank 1975 eq. 3.15) by a numba kernel
(:mod:`ionscope.diffusion._lm_kernel`): fractions and Poisson weights are formed from the raw counts,
and one pass over the depth points per iteration gives the cost, the analytic Jacobian's normal
equations and the gradient. Pixels are processed in row blocks of bounded memory, in parallel.
Parameters: log₁₀ D, (log₁₀ k,) C_s, C₀; uncertainties from the inverse of JᵀWJ with the Poisson
σ of every point (no rescaling by χ²_red, which is reported per pixel).
"""

from __future__ import annotations

import time as _time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import xarray as xr

from ionscope.model.arrays import coord
from ionscope.model.deprecation import renamed_parameters
from ionscope.model.errors import ValidationError
from ionscope.model.provenance import make_provenance
from ionscope.model.result import NoUncertainty, Quantity, Result
from ionscope.model.units import length_um

if TYPE_CHECKING:
    from matplotlib.figure import Figure

NM = 1e-7
_LOG_D_RANGE = (-22.0, -3.0)
MODELS = ("semi-infinite", "surface-exchange")
#: χ²_red above which a pixel is flagged: for ~100 degrees of freedom the 99.9 % point of χ²_red is ≈ 1.5;
#: 3 flags only clear model failure, not statistical scatter.
CHI2_FLAG = 3.0
WALL_CLOCK = "a wall-clock time of this run (depends on the machine and its load)"
#: Pixels fitted per block (parallel over pixels within a block).
BLOCK_PIXELS = 16384
#: A stored (lazy) cube whose two isotope planes take at most this many bytes is read into memory in one
#: pass (a 200 × 256² cube of 32-bit counts: 105 MB); larger ones are read block by block.
READ_ONCE_BYTES = 512 * 1024**2


def _bounds(surface: bool) -> np.ndarray:
    from ionscope.diffusion._lm_kernel import W_LOG_RANGE

    # C_s and C₀ are linear: set to their least-squares optimum at every step (variable projection), unbounded
    rows = [_LOG_D_RANGE] + ([(-W_LOG_RANGE, W_LOG_RANGE)] if surface else []) + [(-np.inf, np.inf), (-np.inf, np.inf)]
    return np.asarray(rows, dtype=float)


def _table():
    from ionscope.diffusion._lm_kernel import erfcx_table

    global _TABLE
    if _TABLE is None:
        _TABLE = erfcx_table()
    return _TABLE


_TABLE = None


def _check_model(model: str) -> bool:
    if model not in MODELS:
        raise ValidationError(f"map model must be 'semi-infinite' or 'surface-exchange', got {model!r}")
    return model == "surface-exchange"


def _unpack(p, cov, chi2, used, surface: bool, time_s: float) -> dict[str, np.ndarray]:
    npar = p.shape[1]
    var = np.diagonal(cov, axis1=1, axis2=2)
    err = np.sqrt(np.clip(var, 0, None))
    D = 10.0 ** p[:, 0]
    with np.errstate(invalid="ignore", divide="ignore"):
        out = {"D": D, "D_err": D * np.log(10) * err[:, 0], "chi2_red": chi2 / np.maximum(used - npar, 1),
               "c_source": p[:, -2], "c_background": p[:, -1]}
    if surface:  # log k = log w + ½ (log D − log t)
        k = 10.0 ** (p[:, 1] + 0.5 * (p[:, 0] - np.log10(time_s)))
        var_logk = var[:, 1] + 0.25 * var[:, 0] + cov[:, 0, 1]
        out["k"], out["k_err"] = k, k * np.log(10) * np.sqrt(np.clip(var_logk, 0, None))
        out["h_sqrt_Dt"] = 10.0 ** p[:, 1]
    return out


def fit_block(frac: np.ndarray, sigma: np.ndarray, depth_nm: np.ndarray, time_s: float, *,
              model: str = "semi-infinite", iterations: int = 100) -> xr.Dataset:
    """Fit every row of ``frac`` (pixels, depth) with weights 1/σ²; returns parameter and error arrays.

    Non-finite fractions or σ are left out of a pixel's fit.

    Returns
    -------
    xarray.Dataset
        Variables along ``pixel`` (one per row of ``frac``): ``D``, ``D_err`` (cm² s⁻¹), ``chi2_red``,
        ``c_source``, ``c_background`` and for surface exchange ``k``, ``k_err`` (cm s⁻¹) and
        ``h_sqrt_Dt``.
    """
    from ionscope.diffusion._lm_kernel import lm_fractions

    surface = _check_model(model)
    y = np.ascontiguousarray(frac, dtype=float)
    wts = 1.0 / np.asarray(sigma, dtype=float) ** 2
    valid = np.isfinite(y) & np.isfinite(wts)
    w = np.ascontiguousarray(np.where(valid, wts, 0.0))
    y = np.where(valid, y, 0.0)
    g, dg = _table()
    npar = 4 if surface else 3
    p, var, chi2 = lm_fractions(y, w, np.asarray(depth_nm, float) * NM, float(time_s), npar, g, dg,
                                _bounds(surface), iterations)
    fitted = _unpack(p, var, chi2, valid.sum(axis=1), surface, float(time_s))
    return xr.Dataset({k: ("pixel", v) for k, v in fitted.items()})


def _block_counts(cube, y0: int, y1: int, nz: int) -> np.ndarray:
    block = np.asarray(cube[:, y0:y1, :])
    if block.dtype.kind not in "fiu":
        block = block.astype(float)
    return np.ascontiguousarray(block.reshape(nz, -1))


@renamed_parameters(pixel_size_um="spacing")
def diffusion_map(tracer, other, depth_nm, time_s: float, *, model: str = "semi-infinite",
                  block_pixels: int = BLOCK_PIXELS, spacing: float | str | Quantity = 1.0, shots=None,
                  progress: Callable[[], None] | None = None, iterations: int = 100) -> xr.Dataset:
    """Per-pixel D (and k) maps with 1σ uncertainty maps from two (scan, y, x) isotope count cubes.

    Parameters
    ----------
    tracer, other
        Count cubes (scan, y, x) of the tracer and the other isotope (NumPy, Dask or memory-mapped).
    depth_nm
        Depth of each scan, nm (strictly increasing).
    time_s
        Anneal time, s.
    model
        ``semi-infinite`` or ``surface-exchange``.
    block_pixels
        Pixels fitted together; bounds the working memory to ≈ block × scans × 2 × (bytes per count).
    spacing
        Pixel size (for the x/y coordinates): a number in µm or a length with its unit (``"0.5 um"``,
        a :class:`Quantity`); formerly ``pixel_size_um``.
    shots
        Primary shots per pixel and scan: if given, counts are raw and corrected for detector dead time
        (binomial variance propagated; :func:`ionscope.kernels.deadtime.correct_dead_time`).
    progress
        Optional callable advanced once per block.

    Returns
    -------
    xarray.Dataset
        ``D``, ``D_err`` (cm² s⁻¹), ``chi2_red``, ``c_source``, ``c_background`` and for surface exchange
        ``k``, ``k_err`` (cm s⁻¹), each (y, x) with µm coordinates; provenance, warnings and the fit time
        (``fit_seconds``) in attrs.
    """
    pixel_um = length_um(spacing, "spacing")  # checked before the fit
    from ionscope.diffusion._lm_kernel import lm_counts

    surface = _check_model(model)
    if np.ndim(tracer) != 3 or np.shape(tracer) != np.shape(other):
        raise ValidationError("isotope cubes must both be (scan, y, x) with the same shape")
    depth = np.asarray(depth_nm, dtype=float)
    nz, ny, nx = np.shape(tracer)
    if depth.shape != (nz,) or np.any(np.diff(depth) <= 0) or not np.all(np.isfinite(depth)):
        raise ValidationError("depth must give one strictly increasing value (nm) per scan")
    if not time_s > 0:
        raise ValidationError(f"anneal time must be positive, got {time_s!r} s")
    g, dg = _table()
    bounds = _bounds(surface)
    npar = bounds.shape[0]
    x = depth * NM
    rows_per_block = max(1, block_pixels // nx)
    results: dict[str, np.ndarray] = {}
    t0 = _time.perf_counter()
    for y0 in range(0, ny, rows_per_block):
        y1 = min(ny, y0 + rows_per_block)
        a = _block_counts(tracer, y0, y1, nz)
        b = _block_counts(other, y0, y1, nz)
        if np.any(a < 0) or np.any(b < 0):
            raise ValidationError("isotope counts must be non-negative")
        va, vb = a, b
        if shots is not None:
            from ionscope.kernels.deadtime import correct_dead_time, dead_time_uncertainty

            va, vb = dead_time_uncertainty(a, shots) ** 2, dead_time_uncertainty(b, shots) ** 2
            a, b = correct_dead_time(a, shots), correct_dead_time(b, shots)
        p, var, chi2, used = lm_counts(a, b, va, vb, x, float(time_s), npar, g, dg, bounds, iterations)
        for key, val in _unpack(p, var, chi2, used, surface, float(time_s)).items():
            results.setdefault(key, np.empty(ny * nx))[y0 * nx:y1 * nx] = val
        if progress is not None:
            progress()
    seconds = _time.perf_counter() - t0
    coords = {"y": coord("y", (np.arange(ny) + 0.5) * pixel_um, "µm"),
              "x": coord("x", (np.arange(nx) + 0.5) * pixel_um, "µm")}
    units = {"D": "cm^2/s", "D_err": "cm^2/s", "k": "cm/s", "k_err": "cm/s", "chi2_red": "1",
             "c_source": "fraction", "c_background": "fraction", "h_sqrt_Dt": "1"}
    ds = xr.Dataset({k: xr.DataArray(v.reshape(ny, nx), dims=("y", "x"), attrs={"units": units[k]})
                     for k, v in results.items()}, coords=coords)
    ds.attrs["warnings"] = _map_warnings(ds, surface, float(time_s))
    ds.attrs["fit_seconds"] = seconds
    ds.attrs["provenance"] = make_provenance("ionscope.diffusion.diffusion_map", parameters={
        "model": model, "time_s": time_s, "shape": [nz, ny, nx], "dead_time": shots is not None})
    return ds


def _map_warnings(ds: xr.Dataset, surface: bool, time_s: float) -> list[str]:
    warnings = []
    with np.errstate(invalid="ignore", divide="ignore"):
        logD = np.log10(ds["D"].values)
        at_bound = np.isclose(logD, _LOG_D_RANGE[0]) | np.isclose(logD, _LOG_D_RANGE[1])
        if at_bound.any():
            warnings.append(f"{int(at_bound.sum())} pixel(s) have D at the bound of the allowed range")
        if surface:
            from ionscope.diffusion._lm_kernel import W_LOG_RANGE

            logw = np.log10(ds["h_sqrt_Dt"].values)
            hi = np.isclose(logw, W_LOG_RANGE, atol=1e-6)
            lo = np.isclose(logw, -W_LOG_RANGE, atol=1e-6)
            if hi.any():
                warnings.append(f"{int(hi.sum())} pixel(s) are diffusion-limited (h√(Dt) ≥ {10 ** W_LOG_RANGE:g}): "
                                "k is not identifiable there, only a lower bound")
            if lo.any():
                warnings.append(f"{int(lo.sum())} pixel(s) are exchange-limited (h√(Dt) ≤ {10 ** -W_LOG_RANGE:g}): "
                                "D and k are not separately identifiable there")
        nofit = ~np.isfinite(ds["D"].values)
        if nofit.any():
            warnings.append(f"{int(nofit.sum())} pixel(s) have too few counted points to fit")
        bad = ds["chi2_red"].values > CHI2_FLAG
    if bad.any():
        warnings.append(f"{int(bad.sum())} pixel(s) fit poorly (χ²_red > {CHI2_FLAG:g})")
    return warnings


def match_peak(labels: list[str], name: str, what: str = "species", path=None) -> str:
    """The peak label in ``labels`` that names ``name``: exact, else ignoring ``^``, spaces and case, else the
    same isotope written another way (``^6Li+`` for ``Li6``) when that is unique."""
    if name in labels:
        return name

    def norm(s: str) -> str:
        return s.replace("^", "").replace(" ", "").lower()

    hits = [lab for lab in labels if norm(lab) == norm(name)]
    if len(hits) == 1:
        return hits[0]
    from ionscope.diffusion.fraction import isotope_key

    hits = [lab for lab in labels if isotope_key(lab) == isotope_key(name)]  # '^6Li+' ↔ 'Li6'
    if len(hits) == 1:
        return hits[0]
    shown = ", ".join(labels[:12]) + (" …" if len(labels) > 12 else "")
    raise ValidationError(f"{what} {name!r} is not in the data; it holds {shown}", path)


def cube_depth_nm(cube: xr.DataArray, rate_nm_s: float | None = None, path=None) -> np.ndarray:
    """Depth of every scan of a (scan, y, x, peak) cube, nm: its ``depth`` coordinate, or sputter time × rate."""
    from ionscope.model.units import convert

    if "depth" in cube.coords:
        unit = cube.coords["depth"].attrs.get("units")
        if not unit:
            raise ValidationError("the cube's depth coordinate has no unit", path)
        return np.asarray(convert(np.asarray(cube.coords["depth"].values, float), unit, "nm"), dtype=float)
    if rate_nm_s is not None and "sputter_time" in cube.coords:
        return np.asarray(cube.coords["sputter_time"].values, dtype=float) * rate_nm_s
    raise ValidationError("the cube has no depth axis (no depth coordinate); give the sputter rate "
                          "(--rate, e.g. '0.8nm/s') to convert its sputter time to depth", path)


def map_cube(cube: xr.DataArray, isotopes: tuple[str, str], time_s: float, *, model: str = "surface-exchange",
             rate_nm_s: float | None = None, shots=None, path=None, inputs=(),
             progress: Callable[[], None] | None = None) -> Result:
    """Per-pixel D* (and k) maps of a (scan, y, x, peak) isotope-exchange cube, and their summary.

    Parameters
    ----------
    cube
        3-D depth profile (scan, y, x, peak) with a depth coordinate (or give ``rate_nm_s``).
    isotopes
        Tracer and other isotope peak labels, e.g. ``("^18O-", "^16O-")``.
    time_s
        Anneal (exchange) time, s.
    model
        ``surface-exchange`` (D and k; eq. 8 of Sharma et al. 2025, doi:10.1080/14686996.2025.2580917)
        or ``semi-infinite`` (D only; eq. 3 of Sharma et al. 2025, doi:10.1080/14686996.2025.2580917).
    rate_nm_s
        Sputter rate, nm s⁻¹, when the cube has no depth coordinate.

    Returns
    -------
    Result
        Kind ``diffusion.map`` (:func:`summarise_map`): the medians over the fitted pixels (standard error
        of the median as uncertainty), the robust spread of the map, the median per-pixel uncertainty and
        the fit time; and ``maps``, the Dataset with ``D``, ``D_uncertainty`` (cm² s⁻¹), ``k``,
        ``k_uncertainty`` (cm s⁻¹, surface exchange), ``chi2_red``, ``c_source``, ``c_background``
        (``r.maps``; the command line writes it to the store and leaves it out of its JSON).
    """
    from ionscope.model.arrays import kind_of

    if not isinstance(cube, xr.DataArray) or kind_of(cube) != "cube3d":
        dims = tuple(getattr(cube, "dims", ()))
        raise ValidationError(f"expected a 3-D depth profile with dims (scan, y, x, peak), got dims {dims}", path)
    cube = cube.transpose("scan", "y", "x", "peak")
    labels = [str(p) for p in cube.coords["peak"].values]
    tracer, other = (match_peak(labels, name, "isotope", path) for name in isotopes)
    if tracer == other:
        raise ValidationError(f"tracer and other isotope are the same peak {tracer!r}", path)
    depth = cube_depth_nm(cube, rate_nm_s, path)
    px = float(abs(cube.x.values[1] - cube.x.values[0])) if cube.sizes["x"] > 1 else 1.0
    pair = cube.sel(peak=[tracer, other])
    if pair.chunks is not None and pair.nbytes <= READ_ONCE_BYTES:
        # stored chunks span many rows: reading them once beats decompressing them again for every row block
        pair = pair.load()
    a = pair.sel(peak=tracer).data
    b = pair.sel(peak=other).data
    ds = diffusion_map(a, b, depth, time_s, model=model, spacing=px, shots=shots, progress=progress)
    ds = ds.rename({"D_err": "D_uncertainty", **({"k_err": "k_uncertainty"} if "k_err" in ds else {})})
    ds.attrs["isotopes"] = [tracer, other]
    summary = summarise_map(ds, model, time_s, (tracer, other), inputs)
    return Result(summary.kind, {**summary.values, "maps": ds}, summary.warnings, summary.provenance, summary.flags)


def _median_quantity(values: np.ndarray, sigma: np.ndarray, unit: str) -> dict:
    v = values[np.isfinite(values)]
    s = sigma[np.isfinite(sigma)]
    if v.size == 0:
        nan = float("nan")
        return {"median": Quantity(nan, None, unit), "spread": Quantity(nan, None, unit),
                "pixel_uncertainty": Quantity(nan, None, unit)}
    q1, med, q3 = np.percentile(v, [25, 50, 75])
    spread = (q3 - q1) / 1.349  # IQR of a normal distribution = 1.349 σ
    # standard error of the median of N draws: √(π/2) σ/√N
    return {"median": Quantity(med, float(np.sqrt(np.pi / 2) * spread / np.sqrt(v.size)), unit),
            "spread": Quantity(spread, None, unit, why_no_uncertainty="robust spread (IQR/1.349) of the map: a "
                               "description of the pixels, not an estimate"),
            "pixel_uncertainty": Quantity(float(np.median(s)) if s.size else float("nan"), None, unit,
                                          why_no_uncertainty="median of the per-pixel 1σ: a description")}


def summarise_map(ds: xr.Dataset, model: str, time_s: float, isotopes, inputs=()) -> Result:
    """Summary :class:`Result` of a diffusion map (kind ``diffusion.map``)."""
    values: dict = {"model": model, "isotopes": list(isotopes), "shape": [int(ds.sizes["y"]), int(ds.sizes["x"])],
                    "time": Quantity(time_s, None, "s",
                                     NoUncertainty.given("the anneal time is given, taken as exact"))}
    fitted = np.isfinite(ds["D"].values)
    values["pixels_fitted"] = int(fitted.sum())
    D = _median_quantity(ds["D"].values, ds["D_uncertainty"].values, "cm^2/s")
    values.update({"D": D["median"], "D_spread": D["spread"], "D_pixel_uncertainty": D["pixel_uncertainty"]})
    if "k" in ds:
        k = _median_quantity(ds["k"].values, ds["k_uncertainty"].values, "cm/s")
        values.update({"k": k["median"], "k_spread": k["spread"], "k_pixel_uncertainty": k["pixel_uncertainty"]})
    chi = ds["chi2_red"].values[fitted]
    values["chi2_red"] = float(np.median(chi)) if chi.size else float("nan")
    values["fit_time"] = Quantity(float(ds.attrs.get("fit_seconds", float("nan"))), None, "s",
                                  why_no_uncertainty=WALL_CLOCK)
    prov = make_provenance("ionscope.diffusion.map_cube", inputs=inputs,
                           parameters={"model": model, "time_s": time_s, "isotopes": list(isotopes)})
    return Result("diffusion.map", values, warnings=tuple(ds.attrs.get("warnings", ())), provenance=prov)


def write_map(ds: xr.Dataset, path, *, force: bool = False) -> Path:
    """Save a diffusion map (variables, units, warnings) as a Zarr store readable by :func:`ionscope.read`."""
    import json

    from ionscope.io.zarr_store import save
    from ionscope.model.result import to_plain

    out = ds.copy()
    out.attrs = {k: json.loads(json.dumps(to_plain(v))) for k, v in ds.attrs.items()}
    return save(out, path, force=force)


def map_figure(ds: xr.Dataset) -> Figure:
    """Figure of the D (and k) map and χ²_red, colour bars in physical units (log scale for D and k)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm

    names = [n for n in ("D", "k", "chi2_red") if n in ds]
    fig, axes = plt.subplots(1, len(names), figsize=(4.2 * len(names), 3.6), constrained_layout=True)
    ext = [float(ds.x.min()), float(ds.x.max()), float(ds.y.max()), float(ds.y.min())]
    labels = {"D": "D* (cm²/s)", "k": "k (cm/s)", "chi2_red": "χ²_red"}
    for ax, name in zip(np.atleast_1d(axes), names):
        v = ds[name].values
        good = v[np.isfinite(v) & (v > 0)]
        norm = LogNorm(*np.percentile(good, [1, 99])) if name != "chi2_red" and good.size else None
        im = ax.imshow(v, extent=ext, norm=norm, cmap="viridis")
        ax.set_xlabel("x (µm)")
        ax.set_ylabel("y (µm)")
        ax.set_title(labels[name])
        fig.colorbar(im, ax=ax, label=labels[name])
    return fig


def map_summary(result: Result, out: str | Path, command_time_s: float) -> Result:
    """The summary of a :func:`map_cube` result once its maps are written: everything but the maps.

    Parameters
    ----------
    result : Result
        What :func:`map_cube` returned (``maps`` holds the per-pixel Dataset).
    out : str or Path
        Where the maps were written.
    command_time_s : float
        Wall-clock time of the whole command, s (a single measurement: no uncertainty).

    Returns
    -------
    Result
        Same kind, warnings and provenance; the values without ``maps`` plus ``output`` (the path) and
        ``command_time`` (s).
    """
    values = {k: v for k, v in result.values.items() if k != "maps"}
    values["output"] = str(out)
    values["command_time"] = Quantity(command_time_s, None, "s", why_no_uncertainty=WALL_CLOCK)
    return Result(result.kind, values, result.warnings, result.provenance)
