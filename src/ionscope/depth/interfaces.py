"""Interfaces, layers and the order of maxima in a depth profile (Sharma et al. 2025, Sci. Technol. Adv. Mater.
26, 2580917, doi:10.1080/14686996.2025.2580917; López et al. 2021, J. Mater. Chem. A 9, 25341,
doi:10.1039/D1TA04532F).

An interface is located where the signal of the upper layer's species falls, and the lower layer's
species rises, through 50 % of its plateau-to-background step; its width is the 16–84 % distance of
those edges (±1σ of an erf-shaped edge) and the position of maximum gradient is given too. The
analysis ignores the first scan(s) (surface transients: contamination, pre-sputter artefacts), smooths
with a median + Savitzky–Golay filter that keeps peak positions, and leaves out species whose step is
not well above their scan-to-scan noise.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr

from ionscope.depth._common import (
    axis_values,
    default_window,
    require_profile,
    robust_smooth,
    species_counts,
)
from ionscope.model.errors import ValidationError
from ionscope.model.provenance import make_provenance
from ionscope.model.result import Quantity, Result

#: A species is usable when its step exceeds this many times its scan-to-scan noise.
MIN_SNR = 5.0
#: ... and its smoothed maximum reaches this many counts per scan (Poisson noise < 22 %).
MIN_PEAK_COUNTS = 20.0


def surface_transient_scans(profile: xr.DataArray, *, threshold: float = 0.5, max_scans: int = 10) -> int:
    """Number of leading scans to treat as surface transient (≥ 1).

    Scan 0 samples the unsputtered surface (contamination, adsorbates, charging) and is always
    counted. Further leading scans are counted while the total ion intensity differs from the median
    of the next five scans by more than ``threshold`` (relative).
    """
    prof = require_profile(profile)
    data = np.asarray(prof.values, dtype=float)
    labels = [str(p).strip().lower() for p in prof.coords["peak"].values]
    total = data[:, labels.index("total")] if "total" in labels else data.sum(axis=1)
    n = 1
    limit = min(max_scans, max(1, total.size // 10))
    while n < limit:
        ref = float(np.median(total[n + 1:n + 6])) if total[n + 1:n + 6].size else total[n]
        if ref <= 0 or abs(total[n] - ref) / ref <= threshold:
            break
        n += 1
    return n


def _crossing(x: np.ndarray, y: np.ndarray, level: float, lo: int, hi: int, falling: bool,
              prefer: str) -> float:
    """x where ``y`` crosses ``level`` between indices lo..hi (inclusive); first/last by ``prefer``."""
    lo, hi = max(lo, 0), min(hi, y.size - 1)
    if hi <= lo:
        return float("nan")
    seg = y[lo:hi + 1]
    above = seg >= level
    idx = np.nonzero(above[:-1] & ~above[1:])[0] if falling else np.nonzero(~above[:-1] & above[1:])[0]
    if idx.size == 0:
        return float("nan")
    i = int(idx[0] if prefer == "first" else idx[-1]) + lo
    y0, y1 = y[i], y[i + 1]
    f = (level - y0) / (y1 - y0) if y1 != y0 else 0.5
    return float(x[i] + f * (x[i + 1] - x[i]))


def _edge(x: np.ndarray, yn: np.ndarray, center: int, lo: int, hi: int, falling: bool) -> dict[str, float]:
    """50 %, 16 %, 84 % points and max-gradient position of one edge near index ``center``."""
    x50a = _crossing(x, yn, 0.5, lo, center, falling, "last")
    x50b = _crossing(x, yn, 0.5, center, hi, falling, "first")
    cands = [v for v in (x50a, x50b) if np.isfinite(v)]
    if not cands:
        return {"x50": float("nan"), "x16": float("nan"), "x84": float("nan"), "xgrad": float("nan")}
    x50 = min(cands, key=lambda v: abs(v - x[center]))
    i50 = int(np.searchsorted(x, x50))
    if falling:
        x84 = _crossing(x, yn, 0.84, lo, i50, True, "last")
        x16 = _crossing(x, yn, 0.16, max(i50 - 1, lo), hi, True, "first")
    else:
        x16 = _crossing(x, yn, 0.16, lo, i50, False, "last")
        x84 = _crossing(x, yn, 0.84, max(i50 - 1, lo), hi, False, "first")
    a = int(np.searchsorted(x, min(v for v in (x16, x84, x50) if np.isfinite(v))))
    b = int(np.searchsorted(x, max(v for v in (x16, x84, x50) if np.isfinite(v))))
    a, b = max(a - 1, 0), min(b + 1, x.size - 1)
    grad = np.abs(np.gradient(yn, x))
    j = a + int(np.argmax(grad[a:b + 1]))
    xg = float(x[j])
    if 0 < j < x.size - 1:
        g0, g1, g2 = grad[j - 1], grad[j], grad[j + 1]
        den = g0 - 2 * g1 + g2
        if den < 0:
            xg = float(x[j] + 0.5 * (g0 - g2) / den * (x[j + 1] - x[j - 1]) / 2)
    return {"x50": x50, "x16": x16, "x84": x84, "xgrad": xg}


def _species_stats(x: np.ndarray, raw: np.ndarray, smooth: np.ndarray, skip: int, end: int) -> dict[str, Any]:
    s = smooth[skip:end]
    imax = int(np.argmax(s)) + skip
    top, bottom = float(smooth[imax]), float(np.percentile(s, 2))
    noise = float(1.4826 * np.median(np.abs(raw[skip:end] - smooth[skip:end]))) or 1.0
    noise = max(noise, float(np.sqrt(max(bottom, 1.0))) / 3)
    amp = top - bottom
    return {"imax": imax, "top": top, "bottom": bottom, "noise": noise, "amplitude": amp,
            "snr": amp / noise, "x_max": float(x[imax])}


def profile_features(profile: xr.DataArray, species: Sequence[str], *, axis: str = "sputter_time",
                     skip_scans: int | None = None, window: int | None = None) -> dict[str, Any]:
    """Smoothed, normalised signals of ``species`` and their statistics (shared by the analyses)."""
    prof = require_profile(profile)
    x, unit = axis_values(prof, axis)
    raw = species_counts(prof, species)
    n = x.size
    if n < 8:
        raise ValidationError(f"a profile of {n} scans is too short to locate interfaces (need ≥ 8)")
    skip = surface_transient_scans(prof) if skip_scans is None else int(skip_scans)
    if not 0 <= skip < n - 5:
        raise ValidationError(f"skip_scans={skip} leaves fewer than 5 scans")
    win = default_window(n) if window is None else int(window)
    row_sum = np.asarray(prof.values, dtype=float)
    row_sum = np.where(np.isfinite(row_sum), row_sum, 0).sum(axis=1)
    end = int(np.nonzero(row_sum > 0)[0][-1]) + 1 if np.any(row_sum > 0) else n
    if end - skip < 5:
        raise ValidationError("fewer than 5 scans hold counts after the surface transient")
    body = raw.copy()
    body[end:] = body[end - 1]  # trailing empty scans (an aborted last frame) repeat the last valid one
    body[:skip] = body[skip]  # transient scans take the first trusted value
    smooth = robust_smooth(body, win)
    stats = [_species_stats(x, body[:, j], smooth[:, j], skip, end) for j in range(raw.shape[1])]
    norm = np.stack([(smooth[:, j] - st["bottom"]) / (st["amplitude"] or 1.0) for j, st in enumerate(stats)], 1)
    return {"x": x, "unit": unit, "raw": raw, "smooth": smooth, "norm": norm, "stats": stats, "skip": skip, "end": end,
            "window": win, "species": list(species)}


def order_of_maxima(profile: xr.DataArray, species: Sequence[str], *, axis: str = "sputter_time",
                    skip_scans: int | None = None, window: int | None = None) -> Result:
    """Species sorted by the position of their (smoothed, linear-scale) maximum.

    Sequential maxima (e.g. LiS⁻ → P⁻ → PS₃⁻ across Li/LPSCl) show the order of reaction products
    through an interphase. Positions come from the smoothed linear signal after the surface
    transient; the uncertainty is the half-width of the region within one noise level of the
    maximum (at least half a scan step).
    """
    f = profile_features(profile, species, axis=axis, skip_scans=skip_scans, window=window)
    x, rows, warnings = f["x"], [], []
    step = float(np.median(np.diff(x)))
    for j, name in enumerate(species):
        st = f["stats"][j]
        near = np.nonzero(f["smooth"][:, j] >= st["top"] - st["noise"])[0]
        near = near[near >= f["skip"]]
        half = max(0.5 * float(x[near.max()] - x[near.min()]), 0.5 * step) if near.size else 0.5 * step
        rows.append({"species": name, "position": Quantity(st["x_max"], half, f["unit"]),
                     "snr": round(st["snr"], 1), "weak": bool(st["snr"] < MIN_SNR)})
        if st["snr"] < MIN_SNR:
            warnings.append(f"{name}: maximum is not above the noise (SNR {st['snr']:.1f}); its position is unreliable")
    rows.sort(key=lambda r: r["position"].value)
    prov = make_provenance("ionscope.depth.order_of_maxima", parameters={
        "species": list(species), "axis": axis, "skip_scans": f["skip"], "window": f["window"]})
    return Result("depth.order_of_maxima", {"order": [r["species"] for r in rows], "maxima": rows,
                                            "unit": f["unit"], "skipped_scans": f["skip"]},
                  warnings=warnings, provenance=prov)


def _extent(yn: np.ndarray, lo: int, hi: int) -> tuple[int, int]:
    """Longest run [start, end) of scans lo..hi−1 where the normalised signal is ≥ 0.5."""
    above = np.concatenate([[False], yn[lo:hi] >= 0.5, [False]])
    d = np.diff(above.astype(int))
    starts, ends = np.nonzero(d == 1)[0], np.nonzero(d == -1)[0]
    if starts.size == 0:
        return lo, lo
    k = int(np.argmax(ends - starts))
    return int(starts[k]) + lo, int(ends[k]) + lo


def _groups(extents: dict[int, tuple[int, int]], snr: dict[int, float]) -> list[list[int]]:
    """Species whose ≥ 50 % extent overlaps a group's first member by more than half of the longer share a layer."""
    order = sorted(extents, key=lambda j: (extents[j][0] + extents[j][1]) / 2)
    groups: list[list[int]] = []
    for j in order:
        a0, a1 = extents[j]
        for g in groups:
            b0, b1 = extents[g[0]]
            if min(a1, b1) - max(a0, b0) > 0.5 * max(a1 - a0, b1 - b0):
                g.append(j)
                break
        else:
            groups.append([j])
    for g in groups:
        g.sort(key=lambda i: -snr[i])
    groups.sort(key=lambda g: np.mean([(extents[i][0] + extents[i][1]) / 2 for i in g]))
    return groups


def find_layers(profile: xr.DataArray, species: Sequence[str], *, axis: str = "sputter_time",
                skip_scans: int | None = None, window: int | None = None, min_snr: float = MIN_SNR) -> Result:
    """Interfaces and the layer table from the chosen marker species.

    Each species' extent is the longest run of scans where its normalised signal (0 = background,
    1 = smoothed maximum) is ≥ 0.5. Species whose extents overlap by more than half of the longer share a layer
    (e.g. Pb⁺, Cs⁺ and I⁻ in a perovskite); layers are ordered by the centres of their extents. At the
    boundary between layers A (above) and B (below) the interface position is the mean of the 50 %
    fall of A's strongest species and the 50 % rise of B's; the width is the mean 16–84 % distance.

    Uncertainty of a position: ``√(Δx²/12 + (x50,A − x50,B)²/4 + σ_noise²)`` with the scan step Δx,
    the disagreement of the two edges (matrix effects, asymmetric MRI tails) and the noise of the
    normalised signal divided by the edge slope (0.68/width).

    Returns
    -------
    Result
        ``interfaces`` [{upper, lower, position, width, max_gradient, unit}], ``layers`` [{start, end,
        thickness, dominant_species, species, complete}], ``species`` statistics, ``weak_species`` left
        out, ``skipped_scans``; positions are :class:`Quantity` in the axis unit.
    """
    f = profile_features(profile, species, axis=axis, skip_scans=skip_scans, window=window)
    x, norm, stats, skip, unit, end = f["x"], f["norm"], f["stats"], f["skip"], f["unit"], f["end"]
    strong = [j for j, st in enumerate(stats) if st["snr"] >= min_snr and st["top"] >= MIN_PEAK_COUNTS]
    weak = [species[j] for j in range(len(species)) if j not in strong]
    warnings = [f"{', '.join(weak)}: too weak (step < {min_snr:g}× noise or < {MIN_PEAK_COUNTS:g} counts per "
                "scan); left out as noise"] if weak else []
    if not strong:
        raise ValidationError("none of the chosen species rises above its noise; choose stronger species")
    step = float(np.median(np.diff(x)))
    extents = {j: _extent(norm[:, j], skip, end) for j in strong}
    groups = _groups(extents, {j: stats[j]["snr"] for j in strong})
    interfaces: list[dict[str, Any]] = []
    for ga, gb in zip(groups[:-1], groups[1:]):
        a, b = ga[0], gb[0]
        ea_end = max(extents[i][1] for i in ga)
        eb_start = min(extents[i][0] for i in gb)
        ea = _edge(x, norm[:, a], min(max(extents[a][1] - 1, skip), end - 1), skip, end - 1, falling=True)
        eb = _edge(x, norm[:, b], min(max(extents[b][0], skip), end - 1), skip, end - 1, falling=False)
        pos = [e["x50"] for e in (ea, eb) if np.isfinite(e["x50"])]
        if not pos:
            pos = [float(x[min((ea_end + eb_start) // 2, end - 1)])]
            warnings.append(f"{species[a]} → {species[b]}: no 50 % crossing; placed between the extents")
        widths = [ea["x16"] - ea["x84"], eb["x84"] - eb["x16"]]
        widths = [w for w in widths if np.isfinite(w) and w > 0]
        grads = [e["xgrad"] for e in (ea, eb) if np.isfinite(e["xgrad"])]
        width = float(np.mean(widths)) if widths else float("nan")
        spread = (max(pos) - min(pos)) / 2 if len(pos) == 2 else 0.0
        slope = 0.68 / width if np.isfinite(width) and width > 0 else 1.0 / step
        noise = np.mean([stats[a]["noise"] / stats[a]["amplitude"], stats[b]["noise"] / stats[b]["amplitude"]])
        noise /= np.sqrt(f["window"])  # smoothing averages ~window scans
        u = float(np.sqrt(step ** 2 / 12 + spread ** 2 + (noise / slope) ** 2))
        u_w = float(np.sqrt(2 * step ** 2 / 12 + (abs(widths[0] - widths[1]) / 2 if len(widths) == 2 else 0) ** 2)) \
            if widths else None
        if not widths:
            warnings.append(f"{species[a]} → {species[b]}: edges do not reach 16 %/84 %; width unknown")
        interfaces.append({
            "upper": species[a], "lower": species[b], "unit": unit,
            "position": Quantity(float(np.mean(pos)), u, unit),
            "width": Quantity(width, u_w, unit),
            "max_gradient": Quantity(float(np.mean(grads)) if grads else float("nan"), u, unit),
            "upper_fall_50": ea["x50"], "lower_rise_50": eb["x50"],
        })
    last = groups[-1]
    last_end = max(extents[i][1] for i in last)
    lead = last[0]
    tail = norm[last_end + (end - last_end) // 3:end][:, last]  # past the fall itself
    if end - last_end >= max(3, (end - skip) // 20) and np.all(np.median(tail, axis=0) < 0.1) \
            and np.all(np.percentile(tail, 95, axis=0) < 0.15):
        # every marker of the deepest layer falls back to its background and stays there: the profile
        # enters a layer none of the chosen species marks (e.g. a substrate), and that boundary is an
        # interface too. A marker that only drops to a lower plateau (matrix effect, charging) is not.
        ea = _edge(x, norm[:, lead], min(max(extents[lead][1] - 1, skip), end - 1), skip, end - 1, falling=True)
        if np.isfinite(ea["x50"]):
            width = ea["x16"] - ea["x84"]
            noise = stats[lead]["noise"] / stats[lead]["amplitude"] / np.sqrt(f["window"])
            slope = 0.68 / width if np.isfinite(width) and width > 0 else 1.0 / step
            u = float(np.sqrt(step ** 2 / 12 + (noise / slope) ** 2))
            interfaces.append({
                "upper": species[lead], "lower": None, "unit": unit,
                "position": Quantity(ea["x50"], u, unit),
                "width": Quantity(width if np.isfinite(width) and width > 0 else float("nan"),
                                  float(np.sqrt(step ** 2 / 12)), unit),
                "max_gradient": Quantity(ea["xgrad"], u, unit),
                "upper_fall_50": ea["x50"], "lower_rise_50": float("nan"),
            })
            groups = [*groups, []]
            warnings.append(f"below {ea['x50']:.4g} {unit} no chosen species marks the layer (a substrate or an "
                            "unmeasured material)")
    for k in range(1, len(interfaces)):
        if interfaces[k]["position"].value <= interfaces[k - 1]["position"].value:
            warnings.append(f"interfaces {interfaces[k - 1]['upper']}/{interfaces[k - 1]['lower']} and "
                            f"{interfaces[k]['upper']}/{interfaces[k]['lower']} overlap: layers are mixed or "
                            "thinner than the depth resolution")
    layers: list[dict[str, Any]] = []
    start = Quantity(float(x[skip]), 0.0, unit)
    for k, g in enumerate(groups):
        stop = interfaces[k]["position"] if k < len(interfaces) else Quantity(float(x[end - 1]), 0.0, unit)
        thick = Quantity(stop.value - start.value, float(np.hypot(start.uncertainty or 0, stop.uncertainty or 0)),
                         unit)
        layers.append({"index": k, "dominant_species": species[g[0]] if g else None,
                       "species": [species[i] for i in g],
                       "start": start, "end": stop, "thickness": thick, "complete": 0 < k < len(groups) - 1})
        start = stop
    if len(groups) > 1:
        warnings.append("the first layer starts at the first trusted scan and the last ends with the profile: "
                        "their thicknesses are lower bounds")
    species_rows = [{"species": s, "snr": round(stats[j]["snr"], 1), "max_at": stats[j]["x_max"],
                     "weak": j not in strong} for j, s in enumerate(species)]
    prov = make_provenance("ionscope.depth.find_layers", inputs=[{"profile": profile.attrs.get("source_file")}],
                           parameters={"species": list(species), "axis": axis, "skip_scans": skip,
                                       "window": f["window"], "min_snr": min_snr})
    return Result("depth.layers", {"axis": axis, "unit": unit, "interfaces": interfaces, "layers": layers,
                                   "species": species_rows, "weak_species": weak, "skipped_scans": skip,
                                   "trailing_scans_dropped": int(x.size - end)},
                  warnings=warnings, provenance=prov)


def choose_marker_species(profile: xr.DataArray, *, axis: str = "sputter_time", max_species: int = 6,
                          min_snr: float = MIN_SNR) -> Result:
    """The species that define the layers of a profile, when the user names none.

    A species qualifies when

    * its step (smoothed maximum − background) exceeds ``min_snr`` times its scan-to-scan noise,
      which is at least the Poisson noise √N: a 5σ step is not a counting fluctuation (the chance of
      a ≥ 5σ excursion in one Gaussian variable is 3·10⁻⁷, small against the ~10⁴ scan × species
      values of a profile), and its maximum reaches :data:`MIN_PEAK_COUNTS` counts per scan;
    * it has a clear maximum or step: its ≥ 50 % extent starts or ends at least one smoothing
      window inside the trusted scans, so the 50 % crossing is resolved and not an edge of the
      smoothing filter.

    The ``total`` column and columns with non-finite values (ratios of empty channels) are not
    candidates. Isotopologues of one formula (``Sn+``, ``^116Sn+``) carry the same depth information: only the
    one with the highest signal-to-noise ratio is kept (a minor isotope wins when the major one is
    saturated by detector dead time). Qualifying species are grouped by overlapping extents as in
    :func:`find_layers`; the strongest of each group represents it, and the ``max_species`` groups
    with the strongest representatives are returned in depth order.

    Returns
    -------
    Result
        ``species`` (chosen, in depth order), ``candidates`` (number of species looked at),
        ``columns`` (number of columns of the profile, ``total`` and non-finite ones included),
        ``qualified`` (number meeting both criteria), ``criteria`` (text).
    """
    import re

    prof = require_profile(profile)
    peaks = [str(p) for p in prof.coords["peak"].values]
    finite = np.isfinite(np.asarray(prof.values, dtype=float)).all(axis=0)
    cand = [p for p, ok in zip(peaks, finite) if ok and p.strip().lower() != "total"]
    if not cand:
        raise ValidationError("the profile has no species columns to choose from")
    f = profile_features(prof, cand, axis=axis)
    skip, end, win = f["skip"], f["end"], f["window"]
    qualified: dict[int, tuple[int, int]] = {}
    for j, st in enumerate(f["stats"]):
        if st["snr"] < min_snr or st["top"] < MIN_PEAK_COUNTS:
            continue
        a, b = _extent(f["norm"][:, j], skip, end)
        if b - a >= 2 and (a - skip >= win or end - b >= win):
            qualified[j] = (a, b)
    best: dict[str, int] = {}
    for j in qualified:
        base = re.sub(r"\^\d+", "", cand[j])
        if base not in best or f["stats"][j]["snr"] > f["stats"][best[base]]["snr"]:
            best[base] = j
    kept = {j: qualified[j] for j in best.values()}
    if not kept:
        raise ValidationError("no species has a significant step or maximum in this profile; name the marker "
                              "species with --species")
    groups = _groups(kept, {j: f["stats"][j]["snr"] for j in kept})
    leaders = sorted((g[0] for g in groups), key=lambda j: -f["stats"][j]["snr"])[:max_species]
    leaders.sort(key=lambda j: sum(kept[j]) / 2)
    criteria = (f"step ≥ {min_snr:g}× scan-to-scan noise, maximum ≥ {MIN_PEAK_COUNTS:g} counts per scan, 50 % "
                f"crossing ≥ {win} scans inside the profile; strongest species of each layer")
    prov = make_provenance("ionscope.depth.choose_marker_species",
                           parameters={"axis": axis, "max_species": max_species, "min_snr": min_snr})
    return Result("depth.marker_species", {"species": [cand[j] for j in leaders], "candidates": len(cand),
                                           "columns": len(peaks), "qualified": len(qualified), "criteria": criteria},
                  provenance=prov)


__all__ = ["choose_marker_species", "find_layers", "order_of_maxima", "profile_features", "surface_transient_scans"]
