"""Isotope fractions from counts, with Poisson uncertainty per point (Sharma et al. 2025, Sci. Technol. Adv.
Mater. 26, 2580917, doi:10.1080/14686996.2025.2580917).

The tracer fraction of a pair of isotopes is ``f = a / (a + b)`` (⁶Li/(⁶Li + ⁷Li), ¹⁸O/(¹⁶O + ¹⁸O), …).
For independent Poisson counts the delta method gives ``σ_f² = (b² σ_a² + a² σ_b²) / (a + b)⁴``, i.e.
``σ_f = √(f (1 − f) / (a + b))`` with ``σ² = counts``. Counts may first be corrected for detector
dead time with :func:`ionscope.spectra.deadtime.correct_dead_time`, whose binomial uncertainty is
then propagated instead.
"""

from __future__ import annotations

import numpy as np

from ionscope.model.errors import ValidationError

#: Natural isotopic abundances (IUPAC 2013, representative values) of common tracer pairs.
NATURAL_ABUNDANCE: dict[str, float] = {
    "Li6": 0.0759, "Li7": 0.9241,
    "O16": 0.99757, "O17": 0.00038, "O18": 0.00205,
    "H1": 0.999885, "H2": 0.000115,
    "Na23": 1.0, "Mg24": 0.7899, "Mg25": 0.1000, "Mg26": 0.1101,
}


def natural_fraction(tracer: str, other: str) -> float:
    """Natural-abundance background of ``tracer/(tracer + other)``, e.g. 0.0759 for Li6/Li7."""
    try:
        a, b = NATURAL_ABUNDANCE[tracer], NATURAL_ABUNDANCE[other]
    except KeyError as exc:
        raise ValidationError(f"no natural abundance known for {exc.args[0]!r}; give the background explicitly "
                              f"(known: {', '.join(sorted(NATURAL_ABUNDANCE))})") from None
    return a / (a + b)


def isotope_fraction(tracer_counts, other_counts, *, shots=None, floor: float = 1.0):
    """Tracer fraction ``a/(a+b)`` and its 1σ Poisson uncertainty, point by point.

    Parameters
    ----------
    tracer_counts, other_counts
        Counts of the tracer isotope (e.g. ⁶Li) and of the other isotope (⁷Li); same shape, ≥ 0.
    shots
        If given, the counts are raw and are corrected for dead time first (number of primary
        shots per point, scalar or broadcastable); the binomial uncertainty is propagated.
    floor
        Minimum total counts used in the uncertainty, so points with zero counts get a finite,
        large uncertainty rather than zero.

    Returns
    -------
    fraction, sigma
        Arrays of the input shape; NaN where both counts are zero.
    """
    a = np.asarray(tracer_counts, dtype=float)
    b = np.asarray(other_counts, dtype=float)
    if a.shape != b.shape:
        raise ValidationError(f"isotope count arrays differ in shape: {a.shape} vs {b.shape}")
    if np.any(a < 0) or np.any(b < 0):
        raise ValidationError("isotope counts must be non-negative")
    if shots is not None:
        from ionscope.spectra.deadtime import correct_dead_time, dead_time_uncertainty

        va, vb = dead_time_uncertainty(a, shots) ** 2, dead_time_uncertainty(b, shots) ** 2
        a, b = correct_dead_time(a, shots), correct_dead_time(b, shots)
    else:
        va, vb = a, b
    total = a + b
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.where(total > 0, a / np.where(total > 0, total, 1.0), np.nan)
        var = (b * b * np.maximum(va, 0) + a * a * np.maximum(vb, 0)) / np.maximum(total, floor) ** 4
        # zero counts in one channel would give σ = 0; use the binomial floor f(1-f)→1/(n+1) instead
        var = np.maximum(var, 1.0 / np.maximum(total + 1.0, floor) ** 2 / 4)
    return frac, np.sqrt(var)
