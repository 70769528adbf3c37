"""Analytic isotope-exchange profiles, numerically stable for every argument (Sharma et al. 2025, Sci. Technol.
Adv. Mater. 26, 2580917, doi:10.1080/14686996.2025.2580917).

All functions take depth ``x`` in cm, time ``t`` in s and diffusivities in cm² s⁻¹, and return the
*normalised* isotope excess ``F = (C − C₀)/(C_s − C₀)`` (0 = background, 1 = source). The measured
fraction is ``C₀ + (C_s − C₀) F``; see :func:`scaled_profile`.

References: Crank 1975, *The Mathematics of Diffusion*, 2nd ed., Oxford University Press,
ISBN 978-0-19-853411-2, eqs. 2.6, 2.14, 2.15, 2.67, 3.15, 4.19
("Crank eq." below); the review Sharma et al. 2025 (doi above), eqs. 3 and 8 ("eq." below).
"""

from __future__ import annotations

import numpy as np
from scipy.special import erfc, erfcx

from ionscope.model.errors import ValidationError


def _check_dt(D: float, t: float) -> float:
    D, t = float(D), float(t)
    if not (np.isfinite(t) and t > 0):
        raise ValidationError(f"anneal time must be positive, got {t!r} s")
    if not (np.isfinite(D) and D > 0):
        raise ValidationError(f"diffusion coefficient must be positive, got {D!r} cm²/s")
    return float(np.sqrt(D * t))


def diffusion_length(D: float, t: float) -> float:
    """Diffusion length ``√(D t)`` in cm."""
    return _check_dt(D, t)


def couple_profile(x, D: float, t: float) -> np.ndarray:
    """Diffusion couple ``F = ½ erfc(x / 2√(Dt))``, defined for all x (x = 0 at the interface).

    Eq. 3 of Sharma et al. 2025, doi:10.1080/14686996.2025.2580917.

    Parameters
    ----------
    x
        Distance from the original interface, cm (negative inside the enriched side).
    D, t
        Tracer diffusion coefficient (cm² s⁻¹) and anneal time (s).
    """
    L = _check_dt(D, t)
    return 0.5 * erfc(np.asarray(x, dtype=float) / (2 * L))


def semi_infinite_profile(x, D: float, t: float) -> np.ndarray:
    """Constant surface concentration (infinitely fast exchange): ``F = erfc(x / 2√(Dt))``, x ≥ 0."""
    L = _check_dt(D, t)
    return erfc(np.maximum(np.asarray(x, dtype=float), 0.0) / (2 * L))


def surface_exchange_profile(x, D: float, k: float, t: float) -> np.ndarray:
    """Semi-infinite medium with finite surface exchange, eq. 8 of Sharma et al. 2025, doi:10.1080/14686996.2025.2580917
    (Crank 1975, eq. 3.15).

    ``F = erfc(u) − exp(hx + h²Dt) erfc(u + h√(Dt))`` with ``u = x/2√(Dt)``, ``h = k/D``. Because
    ``hx + h²Dt − (u + h√(Dt))² = −u²`` this equals ``exp(−u²) [erfcx(u) − erfcx(u + h√(Dt))]``, which
    never overflows (the naive product overflows for h√(Dt) ≳ 27).

    Parameters
    ----------
    x
        Depth below the surface, cm; negative depths are evaluated at the surface.
    D
        Tracer diffusion coefficient, cm² s⁻¹.
    k
        Surface exchange coefficient, cm s⁻¹ (``np.inf`` gives :func:`semi_infinite_profile`).
    t
        Anneal time, s.
    """
    L = _check_dt(D, t)
    k = float(k)
    if not k > 0:
        raise ValidationError(f"surface exchange coefficient must be positive, got {k!r} cm/s")
    u = np.maximum(np.asarray(x, dtype=float), 0.0) / (2 * L)
    if np.isinf(k):
        return erfc(u)
    w = k * L / D
    return np.exp(-u * u) * (erfcx(u) - erfcx(u + w))


def film_exchange_profile(x, D: float, t: float, thickness: float) -> np.ndarray:
    """Exchange from the surface into a film of ``thickness`` (cm) on a blocking substrate.

    Constant surface concentration at x = 0 and zero flux at x = thickness; method of images
    (Crank 1975, eq. 2.67 form): ``F = Σₙ (−1)ⁿ [erfc((2nl + x)/2√(Dt)) + erfc((2(n+1)l − x)/2√(Dt))]``.
    """
    L = _check_dt(D, t)
    ell = float(thickness)
    if not ell > 0:
        raise ValidationError(f"film thickness must be positive, got {thickness!r} cm")
    xx = np.clip(np.asarray(x, dtype=float), 0.0, ell)
    nmax = int(np.ceil(6 * L / (2 * ell))) + 2
    out = np.zeros_like(xx)
    for n in range(nmax):
        out += (-1) ** n * (erfc((2 * n * ell + xx) / (2 * L)) + erfc((2 * (n + 1) * ell - xx) / (2 * L)))
    return out


def finite_source_profile(x, D: float, t: float, thickness: float) -> np.ndarray:
    """Enriched film of ``thickness`` (cm) on a substrate of the same D, reflecting free surface.

    Crank 1975, eq. 2.15 with its image in the surface:
    ``F = ½ [erf((l − x)/2√(Dt)) + erf((l + x)/2√(Dt))]``, x ≥ 0 measured from the free surface.
    Written with erfc differences so the tail keeps full relative precision.
    """
    L = _check_dt(D, t)
    ell = float(thickness)
    if not ell > 0:
        raise ValidationError(f"film thickness must be positive, got {thickness!r} cm")
    xx = np.maximum(np.asarray(x, dtype=float), 0.0)
    return 0.5 * (erfc((xx - ell) / (2 * L)) - erfc((xx + ell) / (2 * L)))


def thin_source_profile(x, D: float, t: float) -> np.ndarray:
    """Instantaneous thin source at a reflecting surface (Crank 1975, eq. 2.6), normalised to F(0) = 1.

    ``F = exp(−x²/4Dt)``; the amount per area is ``M = C_s √(π D t)``.
    """
    L = _check_dt(D, t)
    xx = np.asarray(x, dtype=float)
    return np.exp(-(xx * xx) / (4 * L * L))


def scaled_profile(F, c_source: float, c_background: float) -> np.ndarray:
    """Isotope fraction ``C = C₀ + (C_s − C₀) F`` from a normalised profile."""
    return c_background + (c_source - c_background) * np.asarray(F)


#: Gauss–Hermite nodes and weights for Gaussian depth-resolution convolution.
_GH_X, _GH_W = np.polynomial.hermite.hermgauss(32)


def gaussian_smear(func, x, sigma: float) -> np.ndarray:
    """Convolve ``func(x)`` with a Gaussian depth-resolution function of standard deviation ``sigma``.

    Uses 32-point Gauss–Hermite quadrature, exact for polynomials up to degree 63 over the
    resolution window; ``sigma = 0`` returns ``func(x)``. ``x`` and ``sigma`` in the same length unit.
    """
    x = np.asarray(x, dtype=float)
    if sigma is None or sigma <= 0:
        return func(x)
    pts = x[..., None] + np.sqrt(2.0) * float(sigma) * _GH_X
    vals = func(pts.reshape(-1)).reshape(pts.shape)
    return vals @ _GH_W / np.sqrt(np.pi)
