"""Clipped block-mean baseline of a binned count spectrum (TOF histograms, exported spectra).

Shared by the spectrum peak finder (:mod:`ionscope.spectra.peaks`, which re-exports it) and the raw-event
calibration check (:mod:`ionscope.io.tof_check`).
"""

from __future__ import annotations

import numpy as np

from ionscope.model.errors import ValidationError


def estimate_baseline(y: np.ndarray, window: int = 101) -> np.ndarray:
    """Clipped block-mean baseline over blocks of ``window`` bins, interpolated to every bin (counts).

    In each block, bins above ``median + 3·sqrt(max(median, 1))`` (peaks) are excluded and the rest
    averaged. The mean, unlike the median, is unbiased for sparse Poisson counts (the median of
    Poisson(0.5) counts is 0).
    """
    y = np.asarray(y, dtype=float)
    if window < 3:
        raise ValidationError(f"baseline window must be ≥ 3 bins, got {window}")
    if y.size == 0:
        return y.copy()
    window = min(window, y.size)  # a spectrum shorter than one block is one block
    n_blocks = max(1, y.size // window)
    used = n_blocks * window
    blocks = [y[:used].reshape(n_blocks, window)]
    centres = [np.arange(n_blocks) * window + (window - 1) / 2]
    if used < y.size:
        blocks.append(y[used:][None, :])
        centres.append(np.array([(used + y.size - 1) / 2]))
    levels = []
    for b in blocks:
        med = np.median(b, axis=1)
        keep = b <= (med + 3 * np.sqrt(np.maximum(med, 1.0)))[:, None]
        levels.append(np.sum(b * keep, axis=1) / np.maximum(keep.sum(axis=1), 1))
    return np.interp(np.arange(y.size), np.concatenate(centres), np.concatenate(levels))


__all__ = ["estimate_baseline"]
