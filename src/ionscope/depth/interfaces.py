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
    is_ratio_column,
    require_profile,
    robust_smooth,
    species_counts,
    species_label,
    summed_species,
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
            warnings.append(f"{species_label(name)}: maximum is not above the noise (SNR {st['snr']:.1f}); its "
                            "position is unreliable")
    rows.sort(key=lambda r: r["position"].value)
    prov = make_provenance("ionscope.depth.order_of_maxima", parameters={
        "species": list(species), "axis": axis, "skip_scans": f["skip"], "window": f["window"]})
    return Result("depth.order_of_maxima", {"order": [r["species"] for r in rows], "maxima": rows,
                                            "unit": f["unit"], "skipped_scans": f["skip"]},
                  warnings=tuple(warnings), provenance=prov)


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


def _mri_shift(width: float) -> tuple[float, float]:
    """Correction and systematic 1σ of a 50 % point for the MRI shift, from the edge's 16–84 % ``width``.

    In Hofmann's MRI model (Hofmann 1994, *Surf. Interface Anal.* 21, 673, doi:10.1002/sia.740210912)
    the 50 % point of a broadened step sits at the median of the resolution function g. Atomic
    mixing (median −(1 − ln 2)·w) and the information depth (median −ln 2·λ) both move it toward the
    surface, roughness (a Gaussian) not at all; for a resolution function of standard deviation
    σ_g ≈ width/2 the shift δ lies between 0 and −ln 2·σ_g (the extreme of a pure exponential). The
    50 % point is left where it is measured — exact for a symmetric (roughness-limited) edge — and the
    unknown shift enters as a systematic term: for δ uniform on that range the root-mean-square error
    of the uncorrected point is ln 2·σ_g/√3 (GUM, JCGM 100:2008, clauses 4.3.7–4.3.9 and F.2.4.4 for an
    uncorrected one-sided effect). The error is one-sided (the true interface is at or deeper than the
    50 % point); the 1σ given is symmetric.

    Returns
    -------
    shift, sigma
        Correction (always 0: the point is not moved) and systematic 1σ, in the unit of ``width``;
        (0, 0) when the width is unknown.
    """
    if not (np.isfinite(width) and width > 0):
        return 0.0, 0.0
    span = np.log(2.0) * width / 2
    return 0.0, float(span / np.sqrt(3.0))


def _layer_unresolved(thick: Quantity, sides: list[dict[str, Any]]) -> str | None:
    """Why a layer is not resolved: an unresolved interface beside it, thickness within 1σ of zero, or not
    above the edges' widths.

    A layer is resolved when its thickness exceeds the depth resolution (the 16–84 % width) of the
    interfaces beside it (Hofmann 1994, doi:10.1002/sia.740210912) and is significantly above zero.
    """
    bad = [i for i in sides if not i.get("resolved", True)]
    if bad:
        return f"bounded by an unresolved interface ({bad[0]['unresolved_reason']})"
    if thick.uncertainty is not None and thick.uncertainty >= abs(thick.value):
        return f"thickness uncertainty {thick.uncertainty:.3g} exceeds its value {thick.value:.3g}"
    widths = [i["width"].value for i in sides if np.isfinite(i["width"].value)]
    if widths and thick.value <= max(widths):
        return f"thickness {thick.value:.3g} is not above the interface width {max(widths):.3g} (depth resolution)"
    return None


def _pair_interface(f: dict[str, Any], species: Sequence[str], extents: dict[int, tuple[int, int]],
                    ga: list[int], gb: list[int], step: float, warnings: list[str]) -> dict[str, Any]:
    """The interface between layer groups ``ga`` (above) and ``gb`` (below); see :func:`find_layers`."""
    x, norm, stats, skip, unit, end = f["x"], f["norm"], f["stats"], f["skip"], f["unit"], f["end"]
    a, b = ga[0], gb[0]
    ea_end = max(extents[i][1] for i in ga)
    eb_start = min(extents[i][0] for i in gb)
    ea = _edge(x, norm[:, a], min(max(extents[a][1] - 1, skip), end - 1), skip, end - 1, falling=True)
    eb = _edge(x, norm[:, b], min(max(extents[b][0], skip), end - 1), skip, end - 1, falling=False)
    pos = [e["x50"] for e in (ea, eb) if np.isfinite(e["x50"])]
    reason = None
    if len(pos) < 2:
        missing = " and ".join(n for n, e in ((f"{species[a]} fall", ea), (f"{species[b]} rise", eb))
                               if not np.isfinite(e["x50"]))
        reason = f"no 50 % crossing of the {missing}: the edge is not resolved"
    if not pos:
        pos = [float(x[min((ea_end + eb_start) // 2, end - 1)])]
    widths = [ea["x16"] - ea["x84"], eb["x84"] - eb["x16"]]
    widths = [w for w in widths if np.isfinite(w) and w > 0]
    if reason is None and len(widths) < 2:
        reason = "an edge does not reach its 16 % and 84 % points: its width is not measured"
    grads = [e["xgrad"] for e in (ea, eb) if np.isfinite(e["xgrad"])]
    width = float(np.mean(widths)) if widths else float("nan")
    spread = (max(pos) - min(pos)) / 2 if len(pos) == 2 else 0.0
    slope = 0.68 / width if np.isfinite(width) and width > 0 else 1.0 / step
    noise = np.mean([stats[a]["noise"] / stats[a]["amplitude"], stats[b]["noise"] / stats[b]["amplitude"]])
    noise /= np.sqrt(f["window"])  # smoothing averages ~window scans
    u_cross = float(np.sqrt(step ** 2 / 12 + (noise / slope) ** 2))  # one crossing: binning + noise/slope
    shift, u_sys = _mri_shift(width) if reason is None else (0.0, 0.0)  # no resolved edge, no MRI model
    u = float(np.sqrt(u_cross ** 2 + spread ** 2 + u_sys ** 2))
    if reason is not None:  # the boundary lies somewhere between the two layers' ≥ 50 % extents
        gap = abs(float(x[min(eb_start, end - 1)] - x[min(max(ea_end - 1, 0), end - 1)]))
        u = float(np.hypot(u, gap / np.sqrt(12.0)))
    if reason is None:
        # a width is the difference of two crossings (√2·σ each), averaged over two edges, plus their disagreement
        u_w = float(np.sqrt(u_cross ** 2 + (abs(widths[0] - widths[1]) / 2) ** 2))
        width_q = Quantity(width, u_w, unit)
    else:
        warnings.append(f"{species_label(species[a])} → {species_label(species[b])}: {reason}; no width reported")
        width_q = Quantity(float("nan"), None, unit, why_no_uncertainty=reason)
    return {
        "upper": species[a], "lower": species[b], "unit": unit, "resolved": reason is None,
        "unresolved_reason": reason,
        "position": Quantity(float(np.mean(pos)) + shift, u, unit),
        "width": width_q,
        "max_gradient": Quantity(float(np.mean(grads)) if grads else float("nan"), u, unit),
        "upper_fall_50": ea["x50"], "lower_rise_50": eb["x50"],
    }


def find_layers(profile: xr.DataArray, species: Sequence[str], *, axis: str = "sputter_time",
                skip_scans: int | None = None, window: int | None = None, min_snr: float = MIN_SNR) -> Result:
    """Interfaces and the layer table from the chosen marker species.

    Each species' extent is the longest run of scans where its normalised signal (0 = background,
    1 = smoothed maximum) is ≥ 0.5. Species whose extents overlap by more than half of the longer share a layer
    (e.g. Pb⁺, Cs⁺ and I⁻ in a perovskite); layers are ordered by the centres of their extents. At the
    boundary between layers A (above) and B (below) the interface position is the mean of the 50 %
    fall of A's strongest species and the 50 % rise of B's; the width is the mean 16–84 % distance.

    Uncertainty of a position: ``√(Δx²/12 + (x50,A − x50,B)²/4 + σ_noise² + σ_MRI²)`` with the scan step
    Δx, the disagreement of the two edges (matrix effects), the noise of the normalised signal divided
    by the edge slope (0.68/width) and the systematic term of the unknown MRI shift of the 50 % point
    toward the surface (:func:`_mri_shift`). The width's 1σ combines the same crossing uncertainty with
    the disagreement of the two edges' widths. An interface where a 50 % crossing or a 16/84 % point
    is missing is ``resolved: false`` with ``unresolved_reason`` and no width; a layer
    whose thickness is within 1σ of zero or not above the widths of its interfaces (the depth
    resolution) is ``resolved: false`` with the reason.

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
    warnings = [f"{', '.join(map(species_label, weak))}: too weak (step < {min_snr:g}× noise or < "
                f"{MIN_PEAK_COUNTS:g} counts per scan); left out as noise"] if weak else []
    if not strong:
        raise ValidationError("none of the chosen species rises above its noise; choose stronger species")
    step = float(np.median(np.diff(x)))
    extents = {j: _extent(norm[:, j], skip, end) for j in strong}
    groups = _groups(extents, {j: stats[j]["snr"] for j in strong})
    interfaces: list[dict[str, Any]] = []
    for ga, gb in zip(groups[:-1], groups[1:]):
        interfaces.append(_pair_interface(f, species, extents, ga, gb, step, warnings))
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
            u_cross = float(np.sqrt(step ** 2 / 12 + (noise / slope) ** 2))
            ok = bool(np.isfinite(width) and width > 0)
            shift, u_sys = _mri_shift(width if ok else float("nan"))
            u = float(np.hypot(u_cross, u_sys))
            reason = None if ok else "the edge does not reach its 16 % and 84 % points: its width is not measured"
            interfaces.append({
                "upper": species[lead], "lower": None, "unit": unit, "resolved": ok, "unresolved_reason": reason,
                "position": Quantity(ea["x50"] + shift, u, unit),
                "width": Quantity(width, float(np.sqrt(2) * u_cross), unit) if ok
                else Quantity(float("nan"), None, unit, why_no_uncertainty=reason),
                "max_gradient": Quantity(ea["xgrad"], u, unit),
                "upper_fall_50": ea["x50"], "lower_rise_50": float("nan"),
            })
            groups = [*groups, []]
            warnings.append(f"below {ea['x50']:.4g} {unit} no chosen species marks the layer (a substrate or an "
                            "unmeasured material)")
    for k in range(1, len(interfaces)):
        if interfaces[k]["position"].value <= interfaces[k - 1]["position"].value:
            names = [species_label(n) if n else "unmarked layer" for n in (
                interfaces[k - 1]["upper"], interfaces[k - 1]["lower"], interfaces[k]["upper"], interfaces[k]["lower"])]
            warnings.append(f"interfaces {names[0]}/{names[1]} and {names[2]}/{names[3]} overlap: layers are mixed or "
                            "thinner than the depth resolution")
    layers: list[dict[str, Any]] = []
    start = Quantity(float(x[skip]), 0.0, unit)
    for k, g in enumerate(groups):
        stop = interfaces[k]["position"] if k < len(interfaces) else Quantity(float(x[end - 1]), 0.0, unit)
        thick = Quantity(stop.value - start.value, float(np.hypot(start.uncertainty or 0, stop.uncertainty or 0)),
                         unit)
        lay_reason = _layer_unresolved(thick, [interfaces[i] for i in (k - 1, k) if 0 <= i < len(interfaces)])
        if lay_reason:
            warnings.append(f"layer {species_label(species[g[0]]) if g else 'unmarked'}: not resolved ({lay_reason})")
        layers.append({"index": k, "dominant_species": species[g[0]] if g else None,
                       "species": [species[i] for i in g], "resolved": lay_reason is None,
                       "unresolved_reason": lay_reason,
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
                  warnings=tuple(warnings), provenance=prov)


#: Two species share a layer when the pairs of the group share on average more than half of the depth variance of
#: its log-profile (r² > ½, i.e. r > 1/√2): fragments of one compound and isotopes/oxides of one
#: element follow the same composition X(z) times a constant ionisation yield, so their log-profiles
#: differ only by noise and by a constant (Vickerman & Briggs 2013, *ToF-SIMS*, 2nd ed., ch. 4 on
#: fragment families; Lee, Gilmore & Alexander 2008, *Surf. Interface Anal.* 40, 1,
#: doi:10.1002/sia.2701, on correlated species in multivariate SIMS analysis).
SAME_LAYER_R2 = 0.5


def _log_profiles(smooth: np.ndarray, skip: int, end: int) -> np.ndarray:
    """Standardised log-profiles of the trusted scans; below one count per scan Poisson noise dominates."""
    lg = np.log(np.clip(smooth[skip:end], 1.0, None))
    sd = lg.std(axis=0)
    return (lg - lg.mean(axis=0)) / np.where(sd > 0, sd, 1.0)


def _correlated_groups(z: np.ndarray, min_r2: float = SAME_LAYER_R2) -> list[list[int]]:
    """Average-linkage groups of the columns of ``z`` (standardised): merged while the mean r between two groups
    is positive with r² > ``min_r2`` (average linkage tolerates single members distorted by dead time).

    Each step merges the first pair ``a < b`` (in the order a, then b) with the largest link; the links of
    the groups a merge leaves unchanged are kept from the step before, and those of the merged group are
    computed afresh, as the mean of its pairs' r.
    """
    r = (z.T @ z) / max(z.shape[0], 1)
    groups: list[list[int]] = [[j] for j in range(z.shape[1])]

    def link(a: int, b: int) -> float:
        return float(np.mean([r[i, k] for i in groups[a] for k in groups[b]]))

    links = np.triu(r, 1)  # between single columns the link is r itself
    while len(groups) > 1:
        rows, cols = np.triu_indices(len(groups), 1)
        upper = links[rows, cols]
        k = int(np.argmax(np.where(np.isnan(upper), -np.inf, upper)))  # the first largest; NaN never wins
        best = float(upper[k])
        if not best > -1.0 or best <= 0 or best ** 2 <= min_r2:
            break
        a, b = int(rows[k]), int(cols[k])
        groups[a] = groups[a] + groups.pop(b)
        links = np.delete(np.delete(links, b, axis=0), b, axis=1)
        for c in range(len(groups)):
            if c != a:
                links[min(a, c), max(a, c)] = link(min(a, c), max(a, c))
    return groups


def _layer_contrast(raw: np.ndarray, a: int, b: int, skip: int, end: int) -> tuple[float, float]:
    """Contrast of a marker: mean counts per scan inside its ≥ 50 % extent [a, b) over the mean outside.

    Both means are of raw (Poisson) counts, so ``σ_c/c = √(1/ΣN_in + 1/ΣN_out)``; zero counts outside
    over ``n`` scans are taken as the 68 % Poisson upper limit 1.15/n counts per scan (Gehrels 1986,
    *ApJ* 303, 336, doi:10.1086/164079, Table 1).
    """
    inside = raw[a:b]
    outside = np.concatenate([raw[skip:a], raw[b:end]])
    if inside.size == 0 or outside.size == 0:
        return float("nan"), float("nan")
    n_in, n_out = float(inside.sum()), float(outside.sum())
    mean_in = n_in / inside.size
    mean_out = max(n_out / outside.size, 1.15 / outside.size)
    c = mean_in / mean_out
    return c, c * float(np.sqrt(1.0 / max(n_in, 1.0) + 1.0 / max(n_out, 1.15)))


def _layer_resolution(x: np.ndarray, yn: np.ndarray, skip: int, end: int, *, above: bool = True) -> dict[str, Any]:
    """Plateau (≥ 84 % run around the maximum) and the 16–84 % widths of the edges beside it.

    Hofmann's depth resolution Δz is the 16–84 % distance of an edge (Hofmann 1994, *Surf. Interface
    Anal.* 21, 673, doi:10.1002/sia.740210912; Dowsett et al. 1994, *J. Vac. Sci. Technol. B* 12, 186,
    doi:10.1116/1.587180). A layer is resolved when the plateau between its edges, where the signal
    stays above the 84 % point, is longer than the width of each edge beside it: otherwise its
    maximum is a resolution-limited peak whose height and position are set by the broadening, not by
    the layer. The sample surface is a real top of the first layer, but a layer the profile ends in
    (no fall to 16 % before the last scan) is cut short by the measurement, not by the sample: its
    plateau is a lower bound and it counts as resolved (``truncated``). With ``above=False`` (no
    layer ends before this one starts) the rise from the surface is the pre-equilibrium transient of
    sputtering (Wittmaack 1984, *Nucl. Instrum. Methods B* 2, 674, doi:10.1016/0168-583X(84)90291-X),
    not an interface, and only the lower edge counts.
    """
    seg = yn[skip:end]
    imax = int(np.argmax(seg)) + skip
    lo = imax
    while lo > skip and yn[lo - 1] >= 0.84:
        lo -= 1
    hi = imax
    while hi < end - 1 and yn[hi + 1] >= 0.84:
        hi += 1
    plateau = float(x[hi] - x[lo])
    widths = []
    if lo > skip and above:
        x16 = _crossing(x, yn, 0.16, skip, lo, False, "last")
        if np.isfinite(x16):  # else the signal never drops to 16 %: the profile starts inside the layer
            widths.append(float(x[lo] - x16))
    truncated = True  # the profile ends inside the layer: its plateau (and thickness) is only a lower bound
    if hi < end - 1:
        x16 = _crossing(x, yn, 0.16, hi, end - 1, True, "first")
        if np.isfinite(x16):
            widths.append(float(x16 - x[hi]))
            truncated = False
    resolved = truncated or all(plateau > w for w in widths)
    out = {"plateau": plateau, "edge_widths": widths, "resolved": resolved, "truncated": truncated,
           "interface_transient": False}
    if not resolved and hi < end - 1 and widths:
        below = _plateau_under_interface_peak(x, yn, skip, end, imax, widths[-1], above=above)
        if below is not None:
            out.update(below)
    return out


def _plateau_under_interface_peak(x: np.ndarray, yn: np.ndarray, skip: int, end: int, imax: int, width: float, *,
                                  above: bool) -> dict[str, Any] | None:
    """The layer's own plateau when its maximum is a secondary-ion yield transient at its lower interface.

    Where the matrix changes, the ionisation probability of a species changes with it, so a metal
    electrode's ions often peak at the metal/organic or metal/oxide interface although the metal's
    concentration is flat above it (the SIMS matrix effect: Deline, Katz, Evans & Williams 1978, *Appl.
    Phys. Lett.* 33, 832, doi:10.1063/1.90546). The depth over which the changed matrix is sampled is the
    atomic-mixing length w of the MRI model (with the information depth λ and roughness σ), which also
    sets the 16–84 % width of the edge (Hofmann 1994, *Surf. Interface Anal.* 21, 673,
    doi:10.1002/sia.740210912): a yield transient is a peak at the fall whose extent, like the edge's, is
    set by that mixing, so scans more than one measured edge width above its maximum sample the layer
    itself. Judging the plateau against 84 % of the transient calls a thick layer "thinner than the
    depth resolution".

    The plateau is taken from the scans of the layer's ≥ 50 % extent that lie more than one edge width
    (``width``) above the maximum: at least three scans whose smoothed signal stays within ±16 % of its
    median L (the 16–84 % band of an edge, so a rising or falling flank is not a plateau), and the
    maximum must stand above L/0.84. Relative to L, the plateau (≥ 0.84 L run) must then be longer than
    the fall from 0.84 L to 0.16 L (and than the rise when a layer lies above), as for any layer.
    Returns None when the profile does not show this shape (a resolution-limited peak has no flat part).
    """
    i50 = imax
    while i50 < end - 1 and yn[i50] >= 0.5:
        i50 += 1
    a = imax
    while a > skip and yn[a - 1] >= 0.5:
        a -= 1
    zone = x[imax] - width
    region = a + np.nonzero(x[a:i50] < zone)[0]
    if region.size < 3:
        return None
    level = float(np.median(yn[region]))
    if not level > 0 or yn[imax] <= level / 0.84:
        return None
    seg = yn[region]
    if np.any(seg < 0.84 * level) or np.any(seg > level / 0.84):
        return None
    lo = int(region[0])
    hi = imax
    while hi < end - 1 and yn[hi + 1] >= 0.84 * level:
        hi += 1
    x84 = float(x[hi])
    x16 = _crossing(x, yn, 0.16 * level, hi, end - 1, True, "first")
    if not np.isfinite(x16):
        return None
    widths = [x16 - x84]
    if lo > skip and above:
        x16_top = _crossing(x, yn, 0.16 * level, skip, lo, False, "last")
        if np.isfinite(x16_top):
            widths.insert(0, float(x[lo] - x16_top))
    plateau = float(x84 - x[lo])
    return {"plateau": plateau, "edge_widths": widths, "resolved": all(plateau > w for w in widths),
            "interface_transient": True, "plateau_level": level}


#: One-sided significance (in σ of Poisson counting) of the drop of an isotopologue ratio at high intensity taken
#: as detector saturation: 3σ, a chance of 1.3·10⁻³ per pair for a constant ratio.
SATURATION_SIGMA = 3.0
def _composition(label: str) -> tuple[tuple[tuple[str, int], ...], int, bool] | None:
    """Element counts (isotopes merged), charge and whether any isotope is labelled; None if not a formula.

    ``^207Pb^206PbI_5-`` and ``Pb_2I_5-`` have the same composition: isotopologues of one ion.
    """
    from ionscope.library.formula import parse_formula
    from ionscope.model.errors import IonscopeError

    try:
        f = parse_formula(label.strip())
    except (IonscopeError, ValueError, KeyError):
        return None
    counts: dict[str, int] = {}
    for (sym, _), n in f.counts:
        counts[sym] = counts.get(sym, 0) + n
    return tuple(sorted(counts.items())), f.charge, any(a is not None for (_, a), _ in f.counts)


def _major_of(label: str, labels: Sequence[str]) -> str | None:
    """Among ``labels``, the unlabelled (natural, i.e. major) isotopologue of a labelled ``label``."""
    comp = _composition(label)
    if comp is None or not comp[2]:
        return None
    for other in labels:
        c = _composition(other)
        if c is not None and not c[2] and c[:2] == comp[:2]:
            return other
    return None


def _ratio_drop(major: np.ndarray, minor: np.ndarray, norm: np.ndarray, bottoms: tuple[float, float],
                skip: int, end: int) -> tuple[float, float, float] | None:
    """Ratio major/minor (background subtracted) where the major is on its plateau (≥ 84 %) and on its
    flanks (16–50 %), and the significance (σ) of the drop from flank to plateau.

    Two isotopologues of one ion follow the same composition, so their ratio is the isotope ratio at every
    depth. A TOF detector records at most one ion per mass channel and primary shot, so the recorded rate
    of an intense ion is ``N (1 − exp(−λ/N))`` (Poisson dead time; Stephan, Zehnpfenning & Benninghoven
    1994, *J. Vac. Sci. Technol. A* 12, 405, doi:10.1116/1.579255): the ratio of the major to the minor
    isotopologue falls where the major is intense. The 1σ of each ratio is Poisson,
    ``r·√(1/ΣN_major + 1/ΣN_minor)`` on the raw counts. Returns None when a region is empty.
    """
    idx = np.arange(skip, end)
    top = idx[norm[skip:end] >= 0.84]
    flank = idx[(norm[skip:end] >= 0.16) & (norm[skip:end] < 0.5)]
    out = []
    for sel in (flank, top):
        a, b = float(major[sel].sum()), float(minor[sel].sum())
        a_net, b_net = a - bottoms[0] * sel.size, b - bottoms[1] * sel.size
        if sel.size < 3 or a_net <= 0 or b_net <= 0:
            return None
        r = a_net / b_net
        out.append((r, r * float(np.sqrt(1.0 / a + 1.0 / b))))
    (r_flank, u_flank), (r_top, u_top) = out
    return r_flank, r_top, (r_flank - r_top) / float(np.hypot(u_flank, u_top))


def _major_isotopologue(pick: tuple, scored: list[tuple], cand: list[str], f: dict[str, Any],
                        qualified: dict[int, tuple[int, int]], res_of: Any) -> tuple[tuple, str | None]:
    """The major isotopologue in place of a minor one chosen as marker, unless the major is saturated.

    A minor isotopologue (``^13CH_3NH_3+``, ``^206PbI_3-``) has the same depth profile as its major one
    with fewer counts, so the major marks the layer with better statistics, unless the detector saturates
    on it: then its plateau is flattened and its contrast understated, and the minor one is the better
    marker (see :func:`_ratio_drop`; saturation when the ratio drops by more than :data:`SATURATION_SIGMA`).
    Returns the pick and why a minor isotopologue is kept (None when not).
    """
    lead = pick[3]
    if len(summed_species(cand[lead])) > 1:
        return pick, None
    pool = [t[3] for t in scored] + [k for k in qualified if k not in {t[3] for t in scored}]
    major = _major_of(cand[lead], [cand[k] for k in pool])
    if major is None:
        comp = _composition(cand[lead])
        labelled = comp is not None and comp[2]
        return pick, (f"{species_label(cand[lead])}: a labelled isotopologue; no column of its major isotopologue "
                      "has a significant step here" if labelled else None)
    j = next(k for k in pool if cand[k] == major)
    stats = f["stats"]
    drop = _ratio_drop(f["raw"][:, j], f["raw"][:, lead], f["norm"][:, j], (stats[j]["bottom"], stats[lead]["bottom"]),
                       f["skip"], f["end"])
    if drop is not None and drop[2] > SATURATION_SIGMA:
        return pick, (f"{species_label(cand[lead])} rather than the major {species_label(major)}: the ratio "
                      f"{species_label(major)}/{species_label(cand[lead])} falls from {drop[0]:.3g} on the flanks to "
                      f"{drop[1]:.3g} on the plateau ({drop[2]:.1f}σ), the detector saturates on the major "
                      "isotopologue (Poisson dead time; Stephan et al. 1994, doi:10.1116/1.579255)")
    if not res_of(j)["resolved"]:
        return pick, (f"{species_label(cand[lead])} rather than the major {species_label(major)}: the major "
                      "isotopologue has no plateau longer than its edges here")
    c, u = _layer_contrast(f["raw"][:, j], *qualified.get(j, _extent(f["norm"][:, j], f["skip"], f["end"])),
                           f["skip"], f["end"])
    return (c - u if np.isfinite(c) else -np.inf, c, u, j), None


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

    Qualifying species are grouped by the similarity of their depth profiles: species whose
    log-profiles correlate with r² > :data:`SAME_LAYER_R2` on average with the members of a group (average
    linkage) follow one composition — fragments of one compound, isotopes and oxides of one element
    — and mark one layer. Each group is represented by its species of highest *contrast* (mean counts
    inside its ≥ 50 % extent over the mean outside, :func:`_layer_contrast`, ranked by the lower 1σ
    bound; the best member with a resolved plateau), not by its raw intensity: a minor, clean marker
    locates a layer better than an intense
    fragment present everywhere. A group whose marker has no plateau longer than its edges
    (:func:`_layer_resolution`) is thinner than the depth resolution: it is reported under
    ``unresolved`` and not used as a layer. The ``max_species`` groups of highest contrast are
    returned in depth order. The ``total`` column and columns with non-finite values are not
    candidates.

    Returns
    -------
    Result
        ``species`` (chosen, in depth order), ``groups`` (per chosen species: ``marker``, ``members``,
        ``contrast`` as a quantity), ``unresolved`` (groups thinner than the depth resolution, with
        the reason), ``candidates`` (number of species looked at), ``columns`` (number of columns of
        the profile, ``total`` and non-finite ones included), ``qualified`` (number meeting both
        criteria), ``criteria`` (text).
    """
    prof = require_profile(profile)
    peaks = [str(p) for p in prof.coords["peak"].values]
    finite = np.isfinite(np.asarray(prof.values, dtype=float)).all(axis=0)
    cand = [p for p, ok in zip(peaks, finite) if ok and p.strip().lower() != "total" and not is_ratio_column(p)]
    if not cand:
        raise ValidationError("the profile has no species columns to choose from")
    f = profile_features(prof, cand, axis=axis)
    x, skip, end, win = f["x"], f["skip"], f["end"], f["window"]
    qualified: dict[int, tuple[int, int]] = {}
    for j, st in enumerate(f["stats"]):
        if st["snr"] < min_snr or st["top"] < MIN_PEAK_COUNTS:
            continue
        a, b = _extent(f["norm"][:, j], skip, end)
        if b - a >= 2 and (a - skip >= win or end - b >= win):
            qualified[j] = (a, b)
    if not qualified:
        raise ValidationError("no species has a significant step or maximum in this profile; name the marker "
                              "species with --species")
    idx = sorted(qualified)
    z = _log_profiles(f["smooth"][:, idx], skip, end)
    rows: list[dict[str, Any]] = []
    unresolved: list[dict[str, Any]] = []
    for g in _correlated_groups(z):
        members = [idx[i] for i in g]
        # candidates for the marker: members following the group's mean log-profile with r² > ½ (average
        # linkage can hold a member that correlates with only part of the group)
        mean = z[:, g].mean(axis=1)
        mean = (mean - mean.mean()) / (mean.std() or 1.0)
        core = [idx[i] for i in g if float(np.mean(z[:, i] * mean)) ** 2 > SAME_LAYER_R2] or members
        scored = []
        for j in core:
            c, u = _layer_contrast(f["raw"][:, j], *qualified[j], skip, end)
            scored.append((c - u if np.isfinite(c) else -np.inf, c, u, j))
        scored.sort(key=lambda t: -t[0])
        # the highest-contrast member with a resolved plateau marks the layer (a surface-enhanced fragment
        # has its maximum in the first scans and no plateau; a cleaner member of the group may have one)
        start = min(qualified[j][0] for j in members)
        above = any(qualified[k][1] <= start for k in idx if k not in members)

        def res_of(j: int, above: bool = above) -> dict[str, Any]:
            return _layer_resolution(x, f["norm"][:, j], skip, end, above=above)

        # a column summing several species (no single mass) marks the layer only when no single species can
        scored.sort(key=lambda t: len(summed_species(cand[t[3]])) > 1)
        pick = next((t for t in scored if res_of(t[3])["resolved"]), scored[0])
        pick, why = _major_isotopologue(pick, scored, cand, f, qualified, res_of)
        _, c, u, lead = pick
        res = res_of(lead)
        row = {"marker": cand[lead], "members": [cand[j] for j in members],
               "contrast": Quantity(float(c), float(u), "1"), "_lead": lead, "_score": pick[0]}
        if len(summed_species(cand[lead])) > 1:
            why = (f"{species_label(cand[lead])}: a column of the file that sums several species (no single mass); "
                   "no single-species column of this layer has a resolved plateau")
        if why:
            row["why"] = why
        if res["resolved"]:
            rows.append(row)
        else:
            unresolved.append({"marker": cand[lead], "members": row["members"],
                               "reason": f"plateau {res['plateau']:.3g} {f['unit']} is not longer than its edges' "
                                         "16–84 % widths " + ", ".join(f"{w:.3g}" for w in res["edge_widths"])
                                         + f" {f['unit']}: thinner than the depth resolution"})
    if not rows:
        raise ValidationError("no layer of this profile is thicker than the depth resolution; name the marker "
                              "species with --species")
    rows = sorted(rows, key=lambda r: -r["_score"])[:max_species]
    rows.sort(key=lambda r: sum(qualified[r["_lead"]]) / 2)
    for r in rows:
        del r["_lead"], r["_score"]
    criteria = (f"step ≥ {min_snr:g}× scan-to-scan noise, maximum ≥ {MIN_PEAK_COUNTS:g} counts per scan, 50 % "
                f"crossing ≥ {win} scans inside the profile; species with log-profiles correlated r² > "
                f"{SAME_LAYER_R2:g} form one layer, marked by its highest-contrast species; layers thinner than "
                "the depth resolution left out")
    prov = make_provenance("ionscope.depth.choose_marker_species",
                           parameters={"axis": axis, "max_species": max_species, "min_snr": min_snr})
    return Result("depth.marker_species", {"species": [r["marker"] for r in rows], "groups": rows,
                                           "unresolved": unresolved, "candidates": len(cand),
                                           "columns": len(peaks), "qualified": len(qualified),
                                           "criteria": criteria},
                  provenance=prov)


__all__ = ["choose_marker_species", "find_layers", "order_of_maxima", "profile_features", "surface_transient_scans"]
