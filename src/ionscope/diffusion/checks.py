"""Validity checks of a profile fit; each returns warning sentences (never silently passes)."""

from __future__ import annotations

import numpy as np

#: Below this many points inside the 10–90 % gradient a fit of D is poorly constrained.
MIN_GRADIENT_POINTS = 5


def check_diffusion_length(D: float, t: float, thickness_cm: float | None, what: str = "sample") -> list[str]:
    """Warn when 3√(Dt) exceeds the layer/sample thickness (the semi-infinite assumption fails)."""
    if thickness_cm is None:
        return []
    L = float(np.sqrt(D * t))
    if 3 * L > thickness_cm:
        return [f"diffusion length √(Dt) = {L * 1e7:.3g} nm is more than a third of the {what} thickness "
                f"({thickness_cm * 1e7:.3g} nm): the semi-infinite models (eqs. 3 and 8 of "
                f"Sharma et al. 2025, doi:10.1080/14686996.2025.2580917) do not apply; use a "
                "finite-layer numerical model"]
    return []


def check_reaches_background(F_end: float, tol: float = 0.05) -> list[str]:
    """Warn when the normalised profile at the deepest point is still above ``tol``."""
    if np.isfinite(F_end) and F_end > tol:
        return [f"the profile has not reached the background at the deepest point (still {100 * F_end:.0f} % of "
                "the exchange step): background and D are correlated; measure deeper"]
    return []


def check_gradient_points(F: np.ndarray, minimum: int = MIN_GRADIENT_POINTS) -> list[str]:
    """Warn when fewer than ``minimum`` points lie within 10–90 % of the step."""
    n = int(np.count_nonzero((F > 0.1) & (F < 0.9)))
    if n < minimum:
        return [f"only {n} point(s) lie in the 10–90 % gradient of the profile (need ≥ {minimum}): D is "
                "poorly constrained; use finer depth steps or a longer anneal"]
    return []


def check_bounds(name: str, value: float, lower: float, upper: float, *, log: bool) -> list[str]:
    """Warn when a fitted parameter sits at (within 0.1 % of the range of) a bound."""
    lo, hi, v = (np.log10(lower), np.log10(upper), np.log10(value)) if log else (lower, upper, value)
    span = hi - lo
    if np.isfinite(span) and (v - lo < 1e-3 * span or hi - v < 1e-3 * span):
        return [f"fitted {name} = {value:.4g} is at its bound [{lower:.3g}, {upper:.3g}]: the fit did not find "
                "a minimum inside the allowed range; its uncertainty is not meaningful"]
    return []
