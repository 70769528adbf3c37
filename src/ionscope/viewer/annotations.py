"""Annotations the viewer draws over the data: peak labels, depth interfaces and layers, the cycling curve.

This module is the one adapter between the viewer and the analysis packages: peak labels come
from :mod:`ionscope.library`, peaks from :mod:`ionscope.spectra`, interfaces and layers from
:mod:`ionscope.depth`. The return values are plain JSON-able dicts/lists.

Peak labels claim no more than the data can: ions of the data's polarity only (never ions of both
polarities on one spectrum when it is not recorded), within the peak's own width, and only nominal
masses on unit-mass channels (:func:`peak_labels`).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np
import xarray as xr

from ionscope.model.errors import IonscopeError

#: Polarities of the data model (``attrs["acquisition"]["polarity"]``, :mod:`ionscope.model.metadata`).
POLARITIES = ("positive", "negative")
#: Suffix of a label whose charge sign is not known (the data does not record its polarity).
UNKNOWN_SIGN = "±"


def data_polarity(da: xr.DataArray) -> str | None:
    """The ion polarity recorded with ``da``: ``"positive"``, ``"negative"`` or None (not recorded).

    Read from the acquisition metadata of the data model (``attrs["acquisition"]["polarity"]``), else a
    top-level ``attrs["polarity"]`` (as the imzML reader stores the file's scan polarity).
    """
    acquisition = da.attrs.get("acquisition")
    found = acquisition.get("polarity") if isinstance(acquisition, dict) else None
    found = found or da.attrs.get("polarity")
    return found if found in POLARITIES else None


@lru_cache(maxsize=1)
def _marker_table() -> tuple[list[str], list[str], list[tuple[Any, ...]], np.ndarray]:
    """The marker ions sorted by m/z: names, polarities, compositions (see :func:`_composition`), m/z."""
    from ionscope.library import builtin_library

    markers = sorted(builtin_library().markers, key=lambda m: m.mz)
    return ([m.ion for m in markers], [m.polarity for m in markers], [_composition(m.ion) for m in markers],
            np.asarray([m.mz for m in markers], dtype=float))


def _composition(ion: str) -> tuple[Any, ...]:
    """Atoms of ``ion`` with natural-abundance elements resolved to their most abundant isotope, and
    the charge number without its sign: equal for ions that differ only in how they are written
    (``Ti+`` and ``^48Ti+``) or in their charge sign (``Si+`` and ``Si-``)."""
    from ionscope.library.formula import parse_formula
    from ionscope.library.isotopes import element

    f = parse_formula(ion)
    atoms: dict[tuple[str, int], int] = {}
    for (sym, a), n in f.counts:
        el = element(sym)
        key = (sym, a if a is not None else int(el.mass_numbers[int(np.argmax(el.abundances))]))
        atoms[key] = atoms.get(key, 0) + n
    return (tuple(sorted(atoms.items())), abs(f.charge))


def _strip_sign(ion: str) -> str:
    """``ion`` with its charge sign replaced by :data:`UNKNOWN_SIGN` (``C2H3O+`` → ``C2H3O±``)."""
    return ion.rstrip("+-") + UNKNOWN_SIGN


def peak_candidates(mz: float, tolerance: float, polarity: str | None = None) -> list[str]:
    """Marker ions (:func:`ionscope.library.builtin_library`) within ``tolerance`` (m/z) of ``mz``, of
    ``polarity`` when it is known, nearest first; one name per ion (``Ti+``, not also ``^48Ti+``)."""
    names, pols, comps, table = _marker_table()
    near = np.flatnonzero(np.abs(table - mz) <= tolerance)
    near = near[np.argsort(np.abs(table[near] - mz), kind="stable")]
    out, seen = [], set()
    for i in near:
        if (polarity is None or pols[i] == polarity) and (comps[i], pols[i]) not in seen:
            seen.add((comps[i], pols[i]))
            out.append(names[i])
    return out


def _label(mz: float, tolerance: float, polarity: str | None) -> str:
    """The name of the one ion within ``tolerance`` of ``mz`` (see :func:`peak_labels`), else ``m/z …``."""
    names, pols, comps, table = _marker_table()
    near = [i for i in np.flatnonzero(np.abs(table - mz) <= tolerance) if polarity is None or pols[i] == polarity]
    if len({comps[i] for i in near}) != 1:  # none, or ions the data cannot tell apart
        return f"m/z {mz:.2f}"
    best = min(near, key=lambda i: abs(table[i] - mz))
    return names[best] if polarity else _strip_sign(names[best])


def peak_labels(mz: Sequence[float] | np.ndarray, *, names: Sequence[str] | None = None,
                tolerance: float | Sequence[float] | np.ndarray | None = None, polarity: str | None = None,
                nominal: bool = False) -> list[str]:
    """A label for every peak position ``mz`` (m/z) that claims no more than the data resolves.

    Parameters
    ----------
    mz
        Peak positions (m/z).
    names
        The data's own peak names (e.g. the ``peak`` coordinate of an ion image); used as they are.
    tolerance
        Half-width (m/z) within which an ion cannot be told apart from the peak, one value or one per
        peak; :func:`spectrum_peaks` derives it from the peak's width and the channel spacing. None: the
        resolution is unknown and no peak is named.
    polarity
        ``"positive"`` or ``"negative"`` (:func:`data_polarity`), or None when not recorded.
    nominal
        The spectrum is channel-binned at unit mass (:func:`ionscope.spectra.peaks.channel_binned`).

    Returns
    -------
    list of str
        Without ``names``: on unit-mass channels the nominal mass (``m/z 43``), since such channels cannot
        tell apart the ions of one nominal mass; otherwise the ion of the battery marker library
        (:func:`ionscope.library.builtin_library`) when every library ion within ``tolerance`` of the peak
        is that one ion (several distinct ions there are ones the data cannot tell apart: no name), of
        ``polarity`` when it is known. With the polarity unknown, ions of both polarities are candidates,
        and a name is given only when they all have the same composition, with its charge sign shown as
        ``±`` (``C2H3O±``), so that one spectrum never mixes positive and negative ions. Peaks without a
        name get their m/z rounded to 0.01 (``m/z 14.59``).
    """
    positions = np.asarray(mz, dtype=float)
    if names is not None and len(names) == positions.size:
        return [str(n) for n in names]
    if polarity not in POLARITIES:
        polarity = None
    tol = (np.full(positions.size, np.nan) if tolerance is None
           else np.broadcast_to(np.asarray(tolerance, dtype=float), positions.shape))
    out = []
    for m, t in zip(positions, tol):
        if nominal and np.isfinite(m):
            out.append(f"m/z {int(np.rint(m))}")
        elif np.isfinite(m) and np.isfinite(t):
            out.append(_label(float(m), float(t), polarity))
        else:
            out.append(f"m/z {m:.2f}")
    return out


def label_tolerance(fwhm: np.ndarray, spacing: np.ndarray) -> np.ndarray:
    """Half-width (m/z) within which a library ion cannot be told apart from a peak.

    Two peaks are resolved when they are at least one FWHM apart (the peak-width definition of the mass
    resolving power m/Δm; Murray et al., *Pure Appl. Chem.* 2013, doi:10.1351/PAC-REC-06-04-06): an ion
    closer than FWHM/2 to a peak's centroid would lie inside the peak, not beside it. A spectrum sampled
    every Δ m/z resolves no difference below 2Δ (sampling theorem; Shannon, *Proc. IRE* 1949,
    doi:10.1109/JRPROC.1949.232969), so the half-width is at least Δ: ``max(FWHM/2, Δ)`` with the FWHM
    and the channel spacing Δ at each peak (m/z).
    """
    return np.maximum(np.asarray(fwhm, dtype=float) / 2, np.asarray(spacing, dtype=float))


def spectrum_peaks(mz: np.ndarray, counts: np.ndarray, *, max_peaks: int = 30,
                   polarity: str | None = None) -> list[dict[str, Any]]:
    """The strongest peaks of a spectrum, found by :func:`ionscope.spectra.find_spectrum_peaks`
    (Poisson noise model, baseline, prominence), kept where the apex exceeds what the background
    reaches by chance in fewer than 1 % of spectra, labelled by :func:`peak_labels` within
    :func:`label_tolerance` of each peak, from ions of ``polarity`` (None: not recorded).

    Returns
    -------
    list of dict
        ``{"mz": centroid m/z, "height": counts above baseline, "label": str, "candidates": [ion]}``,
        sorted by m/z; ``candidates`` are the library ions within the tolerance (of the polarity when
        known; none on unit-mass channels, which cannot tell them apart).
    """
    from scipy.stats import poisson

    from ionscope.spectra import find_spectrum_peaks
    from ionscope.spectra.peaks import channel_binned

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
    nominal = channel_binned(mz)
    spacing = np.gradient(mz)[table["index"].to_numpy(dtype=int)] if len(table) else np.empty(0)
    tol = label_tolerance(table["fwhm"].to_numpy(dtype=float), spacing)
    labels = peak_labels(table["mz"].to_numpy(), tolerance=tol, polarity=polarity, nominal=nominal)
    return [{"mz": float(m), "height": float(h), "label": lab,
             "candidates": [] if nominal else peak_candidates(float(m), float(t), polarity)}
            for m, h, lab, t in zip(table["mz"], table["height"], labels, tol)]


def labelling_note(polarity: str | None, nominal: bool, spacing: float | None = None) -> str:
    """One sentence for the viewer on what the peak labels of a spectrum can claim."""
    if nominal:
        what = (f"unit-mass channels ({spacing:.2g} u apart) cannot tell apart the ions of one nominal mass: "
                if spacing else "unit-mass channels cannot tell apart the ions of one nominal mass: ")
        return what + "peaks are labelled by nominal mass" + ("" if polarity else "; polarity not recorded")
    if polarity is None:
        return (f"polarity not recorded: a peak is named only when every candidate ion has the same composition, "
                f"with its charge sign shown as {UNKNOWN_SIGN}")
    return f"{polarity} ions of the marker library within each peak's width"


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
