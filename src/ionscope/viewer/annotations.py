"""Annotations the viewer draws over the data: peak labels, depth interfaces and layers, the cycling curve.

This module is the one adapter between the viewer and the analysis packages: peak labels come
from :mod:`ionscope.library`, peaks from :mod:`ionscope.spectra`, interfaces and layers from
:mod:`ionscope.depth`. The return values are plain JSON-able dicts/lists.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np
import xarray as xr

from ionscope.model.errors import IonscopeError


@lru_cache(maxsize=1)
def _marker_table() -> tuple[list[str], np.ndarray]:
    from ionscope.library import builtin_library

    markers = sorted(builtin_library().markers, key=lambda m: m.mz)
    return [m.ion for m in markers], np.asarray([m.mz for m in markers], dtype=float)


def peak_labels(mz: Sequence[float] | np.ndarray, *, names: Sequence[str] | None = None,
                tolerance: float = 0.05) -> list[str]:
    """A label for every peak position ``mz`` (m/z).

    If the data already names its peaks (``names``, e.g. the ``peak`` coordinate) those names are used;
    otherwise the nearest ion of the battery marker library (:func:`ionscope.library.builtin_library`)
    within ``tolerance`` (m/z), else the m/z rounded to 0.01.
    """
    positions = np.asarray(mz, dtype=float)
    if names is not None and len(names) == positions.size:
        return [str(n) for n in names]
    table_names, table = _marker_table()
    out = []
    for m in positions:
        if np.isfinite(m) and table.size:
            i = int(np.argmin(np.abs(table - m)))
            if abs(table[i] - m) <= tolerance:
                out.append(table_names[i])
                continue
        out.append(f"m/z {m:.2f}")
    return out


def spectrum_peaks(mz: np.ndarray, counts: np.ndarray, *, max_peaks: int = 30) -> list[dict[str, Any]]:
    """The strongest peaks of a spectrum, found by :func:`ionscope.spectra.find_spectrum_peaks`
    (Poisson noise model, baseline, prominence), kept where the apex exceeds what the background
    reaches by chance in fewer than 1 % of spectra, labelled from the marker library.

    Returns
    -------
    list of dict
        ``{"mz": centroid m/z, "height": counts above baseline, "label": str}``, sorted by m/z.
    """
    from scipy.stats import poisson

    from ionscope.spectra import find_spectrum_peaks

    mz = np.asarray(mz, dtype=float)
    y = np.asarray(counts, dtype=float)
    if y.size < 3:
        return []
    # the default 101-bin baseline window, shrunk to an odd width that fits a short (binned) spectrum
    window = min(101, (y.size - 1) | 1)
    try:
        table = find_spectrum_peaks(y, mz, max_peaks=max_peaks, baseline_window=window)
    except IonscopeError:
        return []
    # show only what background counting noise reaches in < 1 % of whole spectra (per-bin tail 0.01/n)
    apex = table["height"] + table["baseline"]
    table = table[apex > poisson.isf(0.01 / y.size, np.maximum(table["baseline"], 0.5))].sort_values("mz")
    labels = peak_labels(table["mz"].to_numpy())
    return [{"mz": float(m), "height": float(h), "label": lab}
            for m, h, lab in zip(table["mz"], table["height"], labels)]


def depth_interfaces(profile: xr.DataArray, axis: str = "sputter_time") -> dict[str, Any]:
    """Interfaces and layers of a depth profile (scan, peak) by :func:`ionscope.depth.find_layers`.

    All species except the ``total`` column and those with missing (non-finite) intensities — blank
    cells of an export — are offered, and the left-out ones are named in the warnings; weak species
    are left out by the analysis itself. A profile without layers (flat, too short, all noise) gives
    empty lists and the reason.

    Returns
    -------
    dict
        ``{"axis": name, "unit": unit, "interfaces": [{"position", "width", "species"}], "layers":
        [{"start", "end", "name"}], "warnings": [str]}``.
    """
    from ionscope.depth import find_layers

    unit = profile.coords[axis].attrs.get("units", "") if axis in profile.coords else "index"
    empty: dict[str, Any] = {"axis": axis, "unit": unit, "interfaces": [], "layers": [], "warnings": []}
    names = [str(p) for p in profile.coords["peak"].values]
    finite = np.isfinite(np.asarray(profile.transpose("scan", "peak").values, dtype=float)).all(axis=0)
    species = [n for n, ok in zip(names, finite) if ok and n.lower() != "total"]
    gaps = [n for n, ok in zip(names, finite) if not ok]
    notes = ([f"left out of the layer analysis for missing (non-finite) intensities: {', '.join(gaps[:10])}"
              + (f" and {len(gaps) - 10} more" if len(gaps) > 10 else "")] if gaps else [])
    empty["warnings"] = notes
    if profile.sizes.get("scan", 0) < 3 or not species:
        return empty
    try:
        res = find_layers(profile, species, axis=axis)
    except IonscopeError as exc:
        return {**empty, "warnings": [*notes, exc.problem]}
    interfaces = [{"position": _value(i["position"]), "width": _value(i["width"]),
                   "species": [sp for sp in (i["upper"], i["lower"]) if sp]} for i in res["interfaces"]]
    layers = [{"start": _value(lay["start"]), "end": _value(lay["end"]),
               "name": lay["dominant_species"] or "(no marker)"} for lay in res["layers"]]
    return {**empty, "interfaces": interfaces, "layers": layers, "warnings": [*notes, *res.warnings]}


def _value(q: Any) -> float:
    """The number of a :class:`~ionscope.model.result.Quantity` or of a plain number."""
    return float(q.value) if hasattr(q, "value") else float(q)


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
