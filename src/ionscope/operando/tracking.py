"""Per-region intensity trajectories, change maps, reversibility and heterogeneity.

Region sums follow the drift: with the registration shift ``s_f`` of frame f (see
:mod:`ionscope.imaging.registration`), frame f is resampled bilinearly onto the reference grid
and summed per region label, so regions drawn once on the reference frame stay on their particles.
Counts are dead-time corrected per pixel first (``I = −N ln(1 − I′/N)``, Stephan, Zehnpfenning & Benninghoven
1994, J. Vac. Sci. Technol. A 12, 405, doi:10.1116/1.579255) when the
acquisition says they were not, with binomial variances. The variance of a region sum of the
resampled image is taken as the resampled sum of per-pixel variances, which is exact for whole
pixel shifts and an upper bound (at most ~×2 for half-pixel shifts at the region edge, much less
for whole regions) otherwise: Σ w² σ² ≤ Σ w σ² for bilinear weights 0 ≤ w ≤ 1.

Reversibility of a region (Xing et al. 2026, Figs. 3–4: charged vs pristine vs discharged):

    response ρ = (I_c − I_p)/I_p,        recovery R = (I_c − I_d)/(I_c − I_p)

(R = 1: back to pristine after discharge; R = 0: kept its charged state). Classes, with the
thresholds stated in :data:`THRESHOLDS`:

* ``no response``: |I_c − I_p| < 3σ (nothing to classify);
* ``irreversible``: R < 0.5;
* ``sluggish``: R ≥ 0.5 and |ρ| < 0.6 · |ρ|₉₀, where |ρ|₉₀ is the 90th percentile of |ρ| over the
  responding regions with the same indicator species (reaches a shallower state of charge);
* ``reversible``: otherwise.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr
from scipy import ndimage

from ionscope.kernels.deadtime import DeadTimeWarning, correct_dead_time, dead_time_uncertainty
from ionscope.model.errors import ValidationError
from ionscope.model.operando import check_series
from ionscope.model.result import Result
from ionscope.operando.regions import check_labels

THRESHOLDS = {"irreversible_recovery_below": 0.5, "sluggish_response_fraction": 0.6,
              "reference_percentile": 90.0, "significance_sigma": 3.0}


def _bilinear_shift(img: np.ndarray, sy: float, sx: float) -> np.ndarray:
    """``out(p) = img(p − s)`` by bilinear interpolation, zero outside (img: (y, x, ...))."""
    iy, ix = int(np.floor(sy)), int(np.floor(sx))
    fy, fx = sy - iy, sx - ix
    out = np.zeros(img.shape, dtype=np.float64)
    ny, nx = img.shape[:2]
    for oy, ox, w in ((iy, ix, (1 - fy) * (1 - fx)), (iy + 1, ix, fy * (1 - fx)),
                      (iy, ix + 1, (1 - fy) * fx), (iy + 1, ix + 1, fy * fx)):
        if w == 0 or abs(oy) >= ny or abs(ox) >= nx:
            continue
        dst_y = slice(max(oy, 0), ny + min(oy, 0))
        src_y = slice(max(-oy, 0), ny + min(-oy, 0))
        dst_x = slice(max(ox, 0), nx + min(ox, 0))
        src_x = slice(max(-ox, 0), nx + min(-ox, 0))
        out[dst_y, dst_x] += w * img[src_y, src_x]
    return out


def _shots(series: xr.DataArray) -> int | None:
    acq = series.attrs.get("acquisition") or {}
    if acq.get("dead_time_corrected") is False and acq.get("shots_per_pixel"):
        return int(acq["shots_per_pixel"])
    return None


def track_regions(series: xr.DataArray, labels: Any, *, shifts: Any | None = None,
                  species: Sequence[str] | None = None, dead_time: bool = True) -> xr.Dataset:
    """Intensity per unit area of every region, species and frame, with Poisson uncertainties.

    Parameters
    ----------
    series
        Operando series (state, y, x, peak) of counts (NumPy or Dask; read frame by frame).
    labels
        Region labels on the reference frame's grid (y, x).
    shifts
        (state, 2) registration shifts in px (default none).
    species
        Species to track (default all).
    dead_time
        Correct dead time per pixel when ``attrs["acquisition"]`` has ``dead_time_corrected: False``
        and ``shots_per_pixel`` (shots per pixel per frame).

    Returns
    -------
    Dataset
        Dims (state, region, peak): ``counts`` (corrected counts in the region), ``variance``,
        ``area_um2`` (state, region; area inside the field after drift), ``intensity``
        (counts/µm²) and ``sigma``; the series' ``state`` coordinates (time, voltage, SOC…) and
        ``region`` ids. ``attrs["warnings"]`` lists regions that drift partly out of the field and
        large dead-time corrections.
    """
    series = check_series(series)
    n, ny, nx = series.sizes["state"], series.sizes["y"], series.sizes["x"]
    lab = check_labels(labels, (ny, nx))
    all_peaks = [str(p) for p in series.coords["peak"].values]
    species = list(species) if species else all_peaks
    missing = [s for s in species if s not in all_peaks]
    if missing:
        raise ValidationError(f"species {missing} are not in the series (it has {all_peaks})")
    sh = np.zeros((n, 2)) if shifts is None else np.asarray(shifts, dtype=float)
    if sh.shape != (n, 2):
        raise ValidationError(f"need one (dy, dx) shift per frame: shape ({n}, 2), got {sh.shape}")
    ids, compact = _compact_labels(lab)
    npk = len(species)
    nreg = ids.size
    index = (compact[..., None] * npk + np.arange(npk)).ravel()
    py, px = (abs(float(series.coords[d].values[1] - series.coords[d].values[0])) for d in ("y", "x"))
    pix_area = py * px
    shots = _shots(series) if dead_time else None
    peak_idx = np.array([all_peaks.index(sp) for sp in species])
    every = np.array_equal(peak_idx, np.arange(len(all_peaks)))
    counts = np.zeros((n, nreg, npk))
    variance = np.zeros((n, nreg, npk))
    area = np.zeros((n, nreg))
    ones = np.ones((ny, nx))
    worst_dt = 1.0
    for f in range(n):
        frame = np.asarray(series.data[f])  # one frame at a time (NumPy view or one Dask compute)
        raw = (frame if every else frame[..., peak_idx]).astype(np.float64)
        corr, var, dt_factor = _corrected_frame(raw, shots, f)
        worst_dt = max(worst_dt, dt_factor)
        if sh[f, 0] or sh[f, 1]:
            corr = _bilinear_shift(corr, sh[f, 0], sh[f, 1])
            var = None if var is None else _bilinear_shift(var, sh[f, 0], sh[f, 1])
            cover = _bilinear_shift(ones, sh[f, 0], sh[f, 1])
        else:
            cover = ones
        size = (nreg + 1) * npk
        counts[f] = np.bincount(index, weights=corr.ravel(), minlength=size).reshape(nreg + 1, npk)[1:]
        variance[f] = counts[f] if var is None else \
            np.bincount(index, weights=var.ravel(), minlength=size).reshape(nreg + 1, npk)[1:]
        area[f] = np.bincount(compact.ravel(), weights=cover.ravel(), minlength=nreg + 1)[1:] * pix_area
    full = np.bincount(compact.ravel(), minlength=nreg + 1)[1:] * pix_area
    notes = _tracking_notes(area, full, ids, worst_dt)
    with np.errstate(divide="ignore", invalid="ignore"):
        inten = counts / area[..., None]
        sig = np.sqrt(variance) / area[..., None]
    state_coords = {k: v for k, v in series.coords.items() if v.dims == ("state",)}
    ds = xr.Dataset(
        {
            "counts": (("state", "region", "peak"), counts, {"units": "counts"}),
            "variance": (("state", "region", "peak"), variance, {"units": "counts^2"}),
            "area_um2": (("state", "region"), area, {"units": "µm^2"}),
            "intensity": (("state", "region", "peak"), inten, {"units": "counts/µm^2"}),
            "sigma": (("state", "region", "peak"), sig, {"units": "counts/µm^2"}),
        },
        coords={**state_coords, "region": ("region", ids.astype(np.int64)), "peak": ("peak", species),
                "region_area_um2": ("region", full, {"units": "µm^2"})},
        attrs={"warnings": notes, "dead_time_corrected": shots is not None, "shots_per_pixel": shots,
               "pixel_area_um2": pix_area},
    )
    return ds


def _compact_labels(lab: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The region ids (> 0, sorted) and the label image renumbered 1…n in that order (0: no region)."""
    ids = np.unique(lab)
    ids = ids[ids > 0]
    lut = np.zeros(int(lab.max()) + 1, dtype=np.int64)
    lut[ids] = np.arange(1, ids.size + 1)
    return ids, lut[lab]


def _corrected_frame(raw: np.ndarray, shots: int | None, f: int) -> tuple[np.ndarray, np.ndarray | None, float]:
    """Counts of frame ``f`` corrected for dead time (when ``shots`` is known), their variance
    (``None``: Poisson, the variance is the count) and the factor the correction raised the total by."""
    if shots is None:
        return raw, None, 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeadTimeWarning)
        corr = correct_dead_time(raw, shots)
    var = dead_time_uncertainty(raw, shots) ** 2
    if np.any(~np.isfinite(corr)):
        raise ValidationError(f"frame {f}: saturated pixels (counts = shots = {shots}); "
                              "dead-time correction impossible")
    tot = raw.sum()
    return corr, var, corr.sum() / tot if tot > 0 else 1.0


def _tracking_notes(area: np.ndarray, full: np.ndarray, ids: np.ndarray, worst_dt: float) -> list[str]:
    """Warnings: regions that drift partly out of the field, large dead-time corrections."""
    notes: list[str] = []
    partial = np.flatnonzero((area < 0.9 * full[None]).any(axis=0))
    if partial.size:
        notes.append(f"regions {ids[partial].tolist()} drift partly (>10 %) out of the field in some frames; "
                     "their intensity is per area inside the field")
    if worst_dt > 1.1:
        notes.append(f"dead-time correction raised counts by up to ×{worst_dt:.2f} in a frame")
    return notes


def normalise(track: xr.Dataset, method: str | None = None, *, series: xr.DataArray | None = None) -> xr.Dataset:
    """Normalised intensities with propagated uncertainties (relative variances add).

    ``method``: ``None``/``"none"`` (counts/µm²), ``"total"`` (÷ the frame's mean total-ion counts
    per µm² over the whole field; needs ``series``), ``"reference:<species>"`` (÷ the same region's
    intensity of that species), or ``"first"`` (÷ the region's value in the first frame).
    Returns a copy with ``intensity``/``sigma`` replaced and ``attrs["normalisation"]`` set.
    """
    if method in (None, "none"):
        out = track.copy()
        out.attrs["normalisation"] = "none"
        return out
    i, s = track["intensity"], track["sigma"]
    if method == "total":
        if series is None:
            raise ValidationError("total-ion normalisation needs the series")
        tot = series.sum(dim=("y", "x", "peak")).astype(float)
        py = abs(float(series.coords["y"].values[1] - series.coords["y"].values[0]))
        px = abs(float(series.coords["x"].values[1] - series.coords["x"].values[0]))
        field = series.sizes["y"] * series.sizes["x"] * py * px
        denom = xr.DataArray(np.asarray(tot.values, dtype=float) / field, dims="state")
        rel_d = 1 / np.sqrt(np.asarray(tot.values, dtype=float))
        d_sig = xr.DataArray(rel_d, dims="state") * denom
        unit = "1 (÷ field-mean total ions per µm²)"
    elif method == "first":
        denom, d_sig = i.isel(state=0, drop=True), s.isel(state=0, drop=True)
        unit = "1 (÷ first frame)"
    elif isinstance(method, str) and method.startswith("reference:"):
        ref = method.split(":", 1)[1]
        if ref not in [str(p) for p in track.coords["peak"].values]:
            raise ValidationError(f"reference species {ref!r} is not tracked; track it too")
        denom, d_sig = i.sel(peak=ref, drop=True), s.sel(peak=ref, drop=True)
        unit = f"1 (÷ {ref})"
    else:
        raise ValidationError(f"unknown normalisation {method!r}; use none, total, first or reference:<species>")
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = i / denom
        rel = np.sqrt((s / i) ** 2 + (d_sig / denom) ** 2)
        if method == "first":  # the first frame divided by itself is exact
            rel = xr.where(track["state"] == track["state"][0], 0.0, rel)
    out = track.copy()
    out["intensity"] = ratio.transpose(*track["intensity"].dims).assign_attrs(units=unit)
    out["sigma"] = (abs(ratio) * rel).transpose(*track["intensity"].dims).assign_attrs(units=unit)
    out.attrs["normalisation"] = method
    return out


def reversibility(track: xr.Dataset, states: Mapping[str, int] | Result, *, species: Sequence[str] | None = None,
                  indicator: dict[int, str] | None = None, thresholds: dict[str, float] | None = None) -> Result:
    """Response, recovery and class of every region (see the module docstring for the rules).

    Parameters
    ----------
    track
        From :func:`track_regions` (optionally :func:`normalise`-d).
    states
        Indices of the ``pristine``, ``charged`` and ``discharged`` frames
        (:func:`ionscope.operando.series.key_states`).
    species
        Candidate indicator species (default all tracked).
    indicator
        Region id → species to judge it by; other regions use the candidate whose charge response is
        the most significant (largest |I_c − I_p|/σ), so low-count species do not win on noise.
    thresholds
        Overrides of :data:`THRESHOLDS`.

    Returns
    -------
    Result
        ``operando.reversibility``: ``regions``, one mapping per region: ``id``, ``area_um2``,
        ``species`` (indicator), ``response``, ``response_sigma``, ``reversibility`` (recovery R),
        ``reversibility_sigma``, ``class``, and ``per_species`` (response and recovery of every
        candidate); ``r["regions"]``.
    """
    th = {**THRESHOLDS, **(thresholds or {})}
    peaks = [str(p) for p in track.coords["peak"].values]
    species = list(species) if species else peaks
    for k in ("pristine", "charged", "discharged"):
        if k not in states:
            raise ValidationError(f"states needs a {k!r} frame index")
        if not 0 <= int(states[k]) < track.sizes["state"]:
            raise ValidationError(f"{k} frame {states[k]} is outside the series of {track.sizes['state']} frames")
    sel = track.sel(peak=species)
    ip, ic, idd = (sel["intensity"].isel(state=int(states[k])).values for k in ("pristine", "charged", "discharged"))
    sp, sc, sd = (sel["sigma"].isel(state=int(states[k])).values for k in ("pristine", "charged", "discharged"))
    with np.errstate(divide="ignore", invalid="ignore"):
        delta = ic - ip
        s_delta = np.hypot(sc, sp)
        rho = delta / ip
        s_rho = np.sqrt((sc / ip) ** 2 + (ic * sp / ip**2) ** 2)
        rec = (ic - idd) / delta
        s_rec = np.sqrt(((idd - ip) / delta**2 * sc) ** 2 + (sd / delta) ** 2 + ((ic - idd) / delta**2 * sp) ** 2)
    ids = track.coords["region"].values
    significant = np.abs(delta) >= th["significance_sigma"] * s_delta
    choice = np.empty(len(ids), dtype=int)
    for r, rid in enumerate(ids):
        if indicator and int(rid) in indicator:
            if indicator[int(rid)] not in species:
                raise ValidationError(f"indicator species {indicator[int(rid)]!r} of region {rid} is not tracked")
            choice[r] = species.index(indicator[int(rid)])
        else:
            z = np.abs(delta[r]) / s_delta[r]
            choice[r] = int(np.nanargmax(np.where(np.isfinite(z), z, -1)))
    rows = []
    ref = {}
    for j in range(len(species)):
        judged = (choice == j) & significant[np.arange(len(ids)), choice]
        resp = np.abs(rho[judged, j])
        ref[j] = float(np.percentile(resp, th["reference_percentile"])) if resp.size else np.nan
    areas = track["region_area_um2"].values
    for r, rid in enumerate(ids):
        j = choice[r]
        if not significant[r, j]:
            cls = "no response"
        elif rec[r, j] < th["irreversible_recovery_below"]:
            cls = "irreversible"
        elif abs(rho[r, j]) < th["sluggish_response_fraction"] * ref[j]:
            cls = "sluggish"
        else:
            cls = "reversible"
        rows.append({
            "id": int(rid), "area_um2": float(areas[r]), "species": species[j],
            "response": float(rho[r, j]), "response_sigma": float(s_rho[r, j]),
            "reversibility": float(rec[r, j]), "reversibility_sigma": float(s_rec[r, j]), "class": cls,
            "per_species": {species[k]: {"response": float(rho[r, k]), "response_sigma": float(s_rho[r, k]),
                                         "reversibility": float(rec[r, k]),
                                         "reversibility_sigma": float(s_rec[r, k])} for k in range(len(species))},
        })
    return Result("operando.reversibility", {"regions": rows})


def heterogeneity(rows: Sequence[Mapping[str, Any]], species: str | None = None) -> Result:
    """Spread of the charge response across regions judged by one species.

    Returns the mean, standard deviation and coefficient of variation of ρ, the χ²/dof of ρ about
    its mean using each region's σ (≫ 1: differences beyond counting noise), and the intrinsic
    spread ``sqrt(max(var(ρ) − mean σ², 0))``.

    Returns
    -------
    Result
        ``operando.heterogeneity``: ``species``, ``n_regions`` and, with two or more responding regions,
        ``mean_response``, ``sd_response``, ``cv_response``, ``chi2_per_dof``, ``intrinsic_sd`` (1)
        and the region ``counts`` per class.
    """
    sel = [r for r in rows if (species is None or r["species"] == species) and r["class"] != "no response"]
    if len(sel) < 2:
        return Result("operando.heterogeneity", {"species": species, "n_regions": len(sel)})
    rho = np.array([r["response"] for r in sel])
    sig = np.array([r["response_sigma"] for r in sel])
    mean, sd = float(rho.mean()), float(rho.std(ddof=1))
    chi2 = float(np.sum(((rho - mean) / sig) ** 2) / (len(rho) - 1))
    intrinsic = float(np.sqrt(max(sd**2 - np.mean(sig**2), 0.0)))
    return Result("operando.heterogeneity", {
        "species": species, "n_regions": len(sel), "mean_response": mean, "sd_response": sd,
        "cv_response": sd / abs(mean) if mean else np.nan, "chi2_per_dof": chi2, "intrinsic_sd": intrinsic,
        "counts": {c: sum(r["class"] == c for r in sel) for c in ("reversible", "sluggish", "irreversible")}})


def registered_frames(series: xr.DataArray, states: Sequence[int], shifts: Any | None = None,
                      species: Sequence[str] | None = None, dead_time: bool = True) -> np.ndarray:
    """Dead-time-corrected frames (k, y, x, peak) resampled onto the reference grid (NaN outside)."""
    series = check_series(series)
    species = list(species) if species else [str(p) for p in series.coords["peak"].values]
    shots = _shots(series) if dead_time else None
    sh = np.zeros((series.sizes["state"], 2)) if shifts is None else np.asarray(shifts, dtype=float)
    out = []
    for k in states:
        raw = np.asarray(series.isel(state=int(k)).sel(peak=species).values, dtype=float)
        if shots is not None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeadTimeWarning)
                raw = correct_dead_time(raw, shots)
        img = _bilinear_shift(raw, *sh[int(k)])
        cover = _bilinear_shift(np.ones(raw.shape[:2]), *sh[int(k)])
        img[cover < 0.999] = np.nan
        out.append(img)
    return np.stack(out)


def change_maps(series: xr.DataArray, states: dict[str, int], *, shifts: Any | None = None,
                species: Sequence[str] | None = None, smooth_px: float = 1.5, min_counts: float = 2.0) -> xr.DataArray:
    """Per-pixel relative change (y, x, peak) of charged vs pristine and discharged vs pristine.

    Frames are registered and smoothed with a Gaussian of ``smooth_px`` (counting noise); pixels
    whose smoothed pristine counts are below ``min_counts`` are NaN. Peak labels read
    ``"<species> charged/pristine"`` and ``"<species> discharged/pristine"``; values are
    ``(I_state − I_p)/I_p``.
    """
    from ionscope.model.arrays import make_ion_image

    species = list(species) if species else [str(p) for p in series.coords["peak"].values]
    frames = registered_frames(series, [states["pristine"], states["charged"], states["discharged"]],
                               shifts, species)
    valid = np.isfinite(frames).all(axis=(0, 3))
    filled = np.where(np.isfinite(frames), frames, 0.0)
    sm = ndimage.gaussian_filter(filled, sigma=(0, smooth_px, smooth_px, 0)) if smooth_px > 0 else filled
    with np.errstate(divide="ignore", invalid="ignore"):
        base = np.where(sm[0] >= min_counts, sm[0], np.nan)
        ch = (sm[1] - base) / base
        dis = (sm[2] - base) / base
    out = np.concatenate([ch, dis], axis=-1)
    out[~valid] = np.nan
    labels = [f"{s} charged/pristine" for s in species] + [f"{s} discharged/pristine" for s in species]
    py = abs(float(series.coords["y"].values[1] - series.coords["y"].values[0]))
    px = abs(float(series.coords["x"].values[1] - series.coords["x"].values[0]))
    return make_ion_image(out, labels, pixel_size_um=(py, px), units="fraction", name="relative_change")
