"""Annotations the viewer draws over the data: peak labels, depth interfaces and layers, the cycling curve.

This module is the ONE adapter between the viewer and the analysis packages. Each function uses a
simple, tested method of its own now; when :mod:`ionscope.library` (marker library) and
:mod:`ionscope.depth` (interface detection) are merged, only the bodies below change, not the
viewer. The return values are plain JSON-able dicts/lists.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr

#: Nominal masses of a few species common in battery TOF-SIMS (m/z); used until ionscope.library lands.
KNOWN_MASSES: dict[str, float] = {
    "^6Li+": 6.01512, "^7Li+": 7.01600, "^11B+": 11.00931, "C+": 12.0, "O-": 15.99491, "F-": 18.99840,
    "^23Na+": 22.98977, "^27Al+": 26.98154, "Si+": 27.97693, "P+": 30.97376, "S-": 31.97207, "Cl-": 34.96885,
    "^39K+": 38.96371, "^48Ti+": 47.94795, "^55Mn+": 54.93804, "^56Fe+": 55.93494, "^58Ni+": 57.93534,
    "^59Co+": 58.93319, "^63Cu+": 62.92960, "LiF-": 25.01, "Li2O+": 30.02, "Li2F+": 33.02,
    "PO2-": 62.96, "PO3-": 78.96, "La+": 138.90635, "^195Pt+": 194.96479, "^197Au+": 196.96656,
}


def peak_labels(mz: Sequence[float], *, names: Sequence[str] | None = None, tolerance: float = 0.05) -> list[str]:
    """A label for every peak position ``mz`` (m/z).

    If the data already names its peaks (``names``, e.g. the ``peak`` coordinate) those names are used;
    otherwise the nearest entry of :data:`KNOWN_MASSES` within ``tolerance`` (m/z), else the m/z
    rounded to 0.01.
    """
    mz = np.asarray(mz, dtype=float)
    if names is not None and len(names) == mz.size:
        return [str(n) for n in names]
    table_names = list(KNOWN_MASSES)
    table = np.asarray([KNOWN_MASSES[n] for n in table_names])
    out = []
    for m in mz:
        if np.isfinite(m):
            i = int(np.argmin(np.abs(table - m)))
            if abs(table[i] - m) <= tolerance:
                out.append(table_names[i])
                continue
        out.append(f"m/z {m:.2f}")
    return out


def spectrum_peaks(mz: np.ndarray, counts: np.ndarray, *, max_peaks: int = 30, min_prominence: float = 5.0
                   ) -> list[dict[str, Any]]:
    """Local maxima of a spectrum standing out from the background, strongest first.

    A bin is a peak if it is the maximum of its ±``w`` neighbourhood (``w`` ≈ 0.1 m/z), exceeds the
    median background by ``min_prominence`` Poisson standard deviations, and exceeds the count that a
    Poisson background reaches by chance in fewer than 1 % of whole spectra (per-bin tail 0.01/n).

    Returns
    -------
    list of dict
        ``{"mz": m/z, "height": counts, "label": str}``.
    """
    from scipy.ndimage import maximum_filter1d
    from scipy.stats import poisson

    mz = np.asarray(mz, dtype=float)
    y = np.asarray(counts, dtype=float)
    if y.size < 3:
        return []
    step = float(np.median(np.diff(mz))) if mz.size > 1 else 1.0
    w = max(1, int(round(0.1 / step)))
    local_max = (y == maximum_filter1d(y, 2 * w + 1)) & (y > 0)
    bg = float(np.median(y))
    # Poisson level that background alone exceeds in < 1 % of spectra (false-alarm rate 0.01 / bins)
    poisson_level = float(poisson.isf(0.01 / y.size, max(bg, 0.5)))
    local_max &= y > max(bg + min_prominence * np.sqrt(max(bg, 1.0)), poisson_level)
    idx = np.flatnonzero(local_max)
    idx = idx[np.argsort(y[idx])[::-1]][:max_peaks]
    idx = np.sort(idx)
    labels = peak_labels(mz[idx])
    return [{"mz": float(mz[i]), "height": float(y[i]), "label": lab} for i, lab in zip(idx, labels)]


def depth_interfaces(profile: xr.DataArray, axis: str = "sputter_time") -> dict[str, Any]:
    """Interfaces and layers of a depth profile (scan, peak) from the 50 % crossings of each species.

    Each species is normalised to its own maximum (after a 5-point running mean); every place where it
    crosses half of its maximum marks a step. The step is then located where the signal crosses the
    midpoint between its plateau levels on either side (medians over a window of n/8 scans, skipping
    the n/16 scans next to the step), so a species that falls from 60 % to 1 % is placed at the same
    interface as one that falls from 100 %; linear interpolation on ``axis``.
    Candidates of different species closer than 3 % of the axis span are merged (median). Layers are
    the spans between interfaces, named by the species whose normalised mean rises most inside them
    over its mean outside.

    Returns
    -------
    dict
        ``{"axis": name, "unit": unit, "interfaces": [{"position", "species"}], "layers": [{"start",
        "end", "name"}]}``.
    """
    data = np.asarray(profile.transpose("scan", "peak").values, dtype=float)
    x = np.asarray(profile.coords[axis].values if axis in profile.coords else np.arange(data.shape[0]), dtype=float)
    unit = profile.coords[axis].attrs.get("units", "") if axis in profile.coords else "index"
    species = [str(p) for p in profile.coords["peak"].values]
    n = data.shape[0]
    if n < 3:
        return {"axis": axis, "unit": unit, "interfaces": [], "layers": []}
    k = min(5, n)
    kernel = np.ones(k) / k
    smooth = np.stack([np.convolve(np.pad(col, (k // 2, k - 1 - k // 2), mode="edge"), kernel, mode="valid")
                       for col in data.T], axis=1)
    peak = smooth.max(axis=0)
    norm = np.divide(smooth, peak, out=np.zeros_like(smooth), where=peak > 0)
    candidates: list[tuple[float, str]] = []
    for j, name in enumerate(species):
        if peak[j] <= 0 or norm[:, j].max() - norm[:, j].min() < 0.5:
            continue
        above = norm[:, j] >= 0.5
        for i in np.flatnonzero(above[:-1] != above[1:]):
            candidates.append((_step_midpoint(x, norm[:, j], int(i)), name))
    candidates.sort()
    span = float(x[-1] - x[0]) or 1.0
    groups: list[list[tuple[float, str]]] = []
    for c in candidates:
        if groups and c[0] - groups[-1][-1][0] < 0.03 * span:
            groups[-1].append(c)
        else:
            groups.append([c])
    interfaces = [{"position": float(np.median([p for p, _ in g])), "species": sorted({s for _, s in g})}
                  for g in groups]
    edges = [float(x[0])] + [i["position"] for i in interfaces] + [float(x[-1])]
    layers = []
    for a, b in zip(edges[:-1], edges[1:]):
        inside = (x >= a) & (x <= b)
        if not inside.any():
            continue
        outside = norm[~inside].mean(axis=0) if (~inside).any() else 0.0
        j = int(np.argmax(norm[inside].mean(axis=0) - outside))
        layers.append({"start": a, "end": b, "name": species[j]})
    return {"axis": axis, "unit": unit, "interfaces": interfaces, "layers": layers}


def _step_midpoint(x: np.ndarray, y: np.ndarray, i: int) -> float:
    """Position on ``x`` where ``y`` crosses the mean of its plateaus around the step between ``i`` and ``i+1``."""
    n = y.size
    w, g = max(4, n // 8), max(1, n // 16)
    left, right = y[max(0, i - w): max(0, i - g)], y[i + 1 + g: i + 1 + w]
    level = 0.5 if left.size == 0 or right.size == 0 else 0.5 * (float(np.median(left)) + float(np.median(right)))
    lo, hi = max(0, i - w), min(n - 1, i + w)
    above = y[lo:hi + 1] >= level
    cross = np.flatnonzero(above[:-1] != above[1:]) + lo
    if cross.size == 0:
        level, cross = 0.5, np.array([i])
    k = int(cross[np.argmin(np.abs(cross - i))])
    f = (level - y[k]) / (y[k + 1] - y[k]) if y[k + 1] != y[k] else 0.5
    return float(x[k] + f * (x[k + 1] - x[k]))


def operando_curve(series: xr.DataArray) -> dict[str, Any]:
    """The cycling curve of an operando series from its state coordinates.

    Returns ``{"time": [...], "voltage": [...], "charge": [...] | None, "units": {...}}``; coordinates
    that are missing are ``None`` (the viewer then plots against the state index).
    """
    out: dict[str, Any] = {"units": {}}
    for name in ("time", "voltage", "charge"):
        c = series.coords.get(name)
        if c is not None and c.dims == ("state",):
            out[name] = [float(v) for v in np.asarray(c.values, dtype=float)]
            out["units"][name] = c.attrs.get("units", "")
        else:
            out[name] = None
    return out
