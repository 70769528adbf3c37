"""Poisson dead-time correction of TOF-SIMS counts.

Stephan, Zehnpfenning & Benninghoven, J. Vac. Sci. Technol. A 12 (1994) 405, doi:10.1116/1.579255;
pySPM and SurfaceLab use the same.

A TOF detector registers at most one ion per mass channel per primary-ion shot. With ``N`` shots and
a true mean of ``λ`` ions per channel over the acquisition, the recorded counts ``I′`` have mean
``N (1 − exp(−λ/N))``; inverting gives the corrected intensity

    I = −N ln(1 − I′/N).

Counts equal to ``N`` (every shot saturated) have no finite correction: they are returned as NaN
and reported, never silently clipped.
"""

from __future__ import annotations

import warnings

import numpy as np

from ionscope.model.errors import ValidationError

#: Above this correction factor I/I′ the correction dominates the signal and a warning is issued.
WARN_FACTOR = 1.5


class DeadTimeWarning(UserWarning):
    """The dead-time correction is large, or some channels are saturated."""


def correct_dead_time(counts, shots, *, warn_factor: float = WARN_FACTOR):
    """Poisson dead-time correction ``I = −N ln(1 − I′/N)``.

    Parameters
    ----------
    counts
        Recorded counts ``I′`` (any shape; NumPy, Dask or xarray). Must satisfy ``0 ≤ I′ ≤ N``.
    shots
        Number of primary-ion shots ``N`` that contributed to each count: a scalar, or an array
        broadcastable to ``counts`` (e.g. shots per pixel times scans summed).
    warn_factor
        Issue a :class:`DeadTimeWarning` when any corrected/recorded ratio exceeds this.

    Returns
    -------
    Corrected intensities (float64), NaN where ``I′ = N`` (saturated).

    Raises
    ------
    ValidationError
        If shots are not positive, or any count is negative or exceeds the number of shots.
    """
    n = np.asarray(shots, dtype=float) if not hasattr(shots, "dims") else shots
    if np.any(np.asarray(n) <= 0):
        raise ValidationError("dead-time correction needs a positive number of shots")
    lazy = hasattr(getattr(counts, "data", counts), "dask")
    if not lazy:
        c = np.asarray(counts, dtype=float) if not hasattr(counts, "dims") else counts.astype(float)
        if np.any(c < 0):
            raise ValidationError("counts must be non-negative for dead-time correction")
        frac = c / n
        if np.any(frac > 1):
            raise ValidationError("counts exceed the number of shots: the shots per pixel/scan are wrong")
    else:
        c = counts.astype(float)
        frac = c / n
    with np.errstate(divide="ignore", invalid="ignore"):
        corrected = -n * np.log1p(-frac)
    if not lazy:
        corrected = _nan_saturated(corrected, frac)
        ratio = np.asarray(corrected / np.where(np.asarray(c) > 0, c, np.nan))
        saturated = int(np.count_nonzero(np.asarray(frac) >= 1))
        worst = np.nanmax(ratio) if np.any(np.isfinite(ratio)) else 1.0
        if saturated or worst > warn_factor:
            warnings.warn(f"dead-time correction up to ×{worst:.2f}; {saturated} saturated value(s) set to NaN",
                          DeadTimeWarning, stacklevel=2)
    return corrected


def _nan_saturated(corrected, frac):
    if hasattr(corrected, "where"):
        return corrected.where(frac < 1)
    return np.where(np.asarray(frac) < 1, corrected, np.nan)


def dead_time_uncertainty(counts, shots):
    """Standard uncertainty of the corrected intensity from binomial counting statistics.

    The recorded counts are binomial with ``p = I′/N``; propagating through ``I = −N ln(1 − p)``
    gives ``σ_I = sqrt(N p / (1 − p))`` (→ ``sqrt(I′)`` for ``p → 0``).
    """
    n = np.asarray(shots, dtype=float)
    p = np.asarray(counts, dtype=float) / n
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(p < 1, np.sqrt(n * p / (1 - p)), np.nan)
