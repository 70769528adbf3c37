"""Normalisation, ratios and isotope fractions of depth profiles, and peak-preserving smoothing.

Counts are Poisson, so every ratio carries a 1σ from counting statistics: for ``R = A/B``,
``σ_R = R·√(1/A + 1/B)``. Isotope fractions ``f = I_minor/(I_minor + I_major)`` are corrected for
natural abundance as the tracer excess ``(f − f_nat)/(1 − f_nat)`` (isotope-exchange practice).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr
from scipy.signal import savgol_filter

from ionscope.depth._common import axis_values, require_profile, species_counts, species_index
from ionscope.model.errors import ValidationError
from ionscope.model.result import Result


def normalise(profile: xr.DataArray, method: str = "total", *, reference: str | None = None,
              plateau: tuple[float, float] | None = None, axis: str = "sputter_time") -> xr.DataArray:
    """Normalise every species of ``profile``.

    Methods
    -------
    ``total``: divide by the total ion count of each scan (the ``total`` column, else the sum);
    ``reference``: divide by the matrix/reference species ``reference`` in each scan;
    ``max``: divide each species by its maximum (after the first scan, a surface transient);
    ``plateau``: divide each species by its mean over ``plateau = (start, end)`` on ``axis``.
    """
    prof = require_profile(profile)
    data = np.asarray(prof.values, dtype=float)
    labels = [str(p).strip().lower() for p in prof.coords["peak"].values]
    with np.errstate(divide="ignore", invalid="ignore"):
        if method == "total":
            den = data[:, labels.index("total")] if "total" in labels else np.nansum(
                np.where(np.isfinite(data), data, 0), axis=1)
            out, unit = data / den[:, None], "fraction of total"
        elif method == "reference":
            if reference is None:
                raise ValidationError("method 'reference' needs a reference species")
            den = data[:, species_index(prof, reference)]
            if not np.any(den > 0):
                raise ValidationError(f"reference species {reference!r} is zero in every scan")
            out, unit = data / den[:, None], f"relative to {reference}"
        elif method == "max":
            top = np.nanmax(np.where(np.isfinite(data[1:]), data[1:], np.nan), axis=0) if data.shape[0] > 1 \
                else data[0]
            out, unit = data / top[None, :], "fraction of maximum"
        elif method == "plateau":
            if plateau is None:
                raise ValidationError("method 'plateau' needs plateau=(start, end) on the axis")
            x, _ = axis_values(prof, axis)
            sel = (x >= plateau[0]) & (x <= plateau[1])
            if sel.sum() < 2:
                raise ValidationError(f"plateau {plateau} on {axis} holds fewer than 2 scans")
            out, unit = data / data[sel].mean(axis=0)[None, :], "fraction of plateau"
        else:
            raise ValidationError(f"unknown normalisation {method!r}; use total, reference, max or plateau")
    res = prof.copy(data=out)
    res.attrs = {**prof.attrs, "units": unit, "normalisation": method}
    return res


def ratio(profile: xr.DataArray, numerator: str, denominator: str) -> Result:
    """Scan-by-scan ratio of two species and its Poisson 1σ (NaN where the denominator is 0).

    Returns
    -------
    Result
        ``depth.ratio``: ``ratio`` and its 1σ ``uncertainty`` (1), one value per scan.
    """
    c = species_counts(profile, [numerator, denominator])
    a, b = c[:, 0], c[:, 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(b > 0, a / b, np.nan)
        u = r * np.sqrt(1 / np.maximum(a, 1) + 1 / np.maximum(b, 1))
    return Result("depth.ratio", {"ratio": r, "uncertainty": u})


def isotope_fraction(profile: xr.DataArray, minor: str, major: str, *, natural_fraction: float | None = None
                     ) -> Result:
    """Isotope fraction ``f = I_minor/(I_minor + I_major)`` per scan with its binomial 1σ
    (:func:`ionscope.diffusion.isotope_fraction` on the two species' counts).

    With ``natural_fraction`` (e.g. 0.00205 for ¹⁸O/(¹⁶O+¹⁸O)) the natural-abundance background is
    removed: ``f* = (f − f_nat)/(1 − f_nat)``, the tracer excess used in isotope-exchange profiles.

    Returns
    -------
    Result
        ``depth.isotope_fraction``: ``fraction`` and its 1σ ``uncertainty`` (1), one value per scan.
    """
    from ionscope.diffusion.fraction import isotope_fraction as counts_fraction

    c = species_counts(profile, [minor, major])
    fr = counts_fraction(c[:, 0], c[:, 1])
    f, u = fr.fraction, fr.uncertainty
    if natural_fraction is not None:
        if not 0 <= natural_fraction < 1:
            raise ValidationError("natural_fraction must lie in [0, 1)")
        f = (f - natural_fraction) / (1 - natural_fraction)
        u = u / (1 - natural_fraction)
    return Result("depth.isotope_fraction", {"fraction": f, "uncertainty": u})


def smooth(profile: xr.DataArray, window: int = 5, *, order: int = 2,
           species: Sequence[str] | None = None) -> xr.DataArray:
    """Savitzky–Golay smoothing along scans (Savitzky & Golay, *Anal. Chem.* 36 (1964) 1627).

    A local polynomial of ``order`` ≥ 2 keeps the position and height of peaks wider than the window
    (a moving average would flatten and, on asymmetric peaks, shift them).
    """
    prof = require_profile(profile)
    if window < order + 2 or window % 2 == 0:
        raise ValidationError(f"window must be odd and > order + 1, got {window}")
    if window > prof.sizes["scan"]:
        raise ValidationError(f"window of {window} scans exceeds the profile ({prof.sizes['scan']} scans)")
    data = np.asarray(prof.values, dtype=float)
    cols = range(data.shape[1]) if species is None else [species_index(prof, s) for s in species]
    out = data.copy()
    for j in cols:
        col = data[:, j]
        if np.all(np.isfinite(col)):
            out[:, j] = savgol_filter(col, window, order, mode="interp")
    res = prof.copy(data=out)
    res.attrs = {**prof.attrs, "smoothing": f"Savitzky-Golay window {window}, order {order}"}
    return res


__all__ = ["isotope_fraction", "normalise", "ratio", "smooth"]
