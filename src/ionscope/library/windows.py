"""m/z windows around peaks given as m/z values or as ion names.

A window is [m − Δ, m + Δ] (both ends included, like pyimzML's ``getionimage``), with
Δ = m · tolerance_ppm · 10⁻⁶ or Δ = tolerance_da.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ionscope.library.formula import parse_formula
from ionscope.model.errors import ValidationError


def peak_positions(peaks: Sequence[float | str]) -> tuple[np.ndarray, list[str]]:
    """m/z and label of each peak, given as an m/z value or as a named ion.

    Names are ion formulas in any notation :func:`ionscope.library.parse_formula` reads (``"^7Li+"``,
    ``"Li2F+"``, ``"PO3-"``, ``"C_6H_5+"``); their exact m/z (electron mass included) is the
    window centre and the name labels the image. Numbers are labelled by their m/z.
    """
    mz, labels = [], []
    for p in np.atleast_1d(np.asarray(peaks, dtype=object)):
        try:
            value = float(p)
        except (TypeError, ValueError):
            name = str(p).strip()
            value = parse_formula(name).mz
            labels.append(name)
        else:
            labels.append(f"{value:.4f}")
        mz.append(value)
    return np.asarray(mz, dtype=float), labels


def peak_windows(peaks: Sequence[float | str], *, tolerance_ppm: float | None = None,
                 tolerance_da: float | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(centres, low edges, high edges) in m/z of the windows around ``peaks`` (m/z values or ion names).

    Exactly one of ``tolerance_ppm`` (parts per million of each m/z) and ``tolerance_da`` (absolute,
    m/z units) must be given.
    """
    mz = peak_positions(peaks)[0]
    if mz.ndim != 1 or mz.size == 0 or not np.all(np.isfinite(mz)) or np.any(mz <= 0):
        raise ValidationError(f"peaks must be positive m/z values, got {peaks!r}")
    if (tolerance_ppm is None) == (tolerance_da is None):
        raise ValidationError("give exactly one window half-width: --tolerance-ppm or --tolerance "
                              "(tolerance_ppm or tolerance_da in Python)")
    if tolerance_ppm is not None:
        half = mz * float(tolerance_ppm) * 1e-6
    elif tolerance_da is not None:  # always, after the check above
        half = np.full_like(mz, float(tolerance_da))
    if np.any(half < 0) or not np.all(np.isfinite(half)):
        raise ValidationError("the m/z tolerance must be a non-negative number")
    return mz, mz - half, mz + half


__all__ = ["peak_positions", "peak_windows"]
