"""Goodness of fit: when a weighted least-squares fit is statistically poor, and by how much its
uncertainties are then inflated.

One rule for every fit that is given the 1σ of its data points: χ²_red above
:func:`poor_fit_limit` (a 3σ excess of the χ²_red distribution of ν degrees of freedom) marks a
model that does not describe the data within their errors, and :func:`birge_ratio` (√χ²_red, Birge
1932, Phys. Rev. 40, 207, doi:10.1103/PhysRev.40.207) is the factor its uncertainties are inflated by.
"""

from __future__ import annotations

import math


def poor_fit_limit(dof: int) -> float:
    """χ²_red above which a fit with ``dof`` degrees of freedom is statistically poor.

    χ² of a correct model with Gaussian errors has mean ν and variance 2ν, so χ²_red = χ²/ν has
    standard deviation √(2/ν); the limit ``1 + 3√(2/ν)`` is three of them above 1 (one-sided
    p ≈ 0.1–0.3 % in the normal approximation; Bevington & Robinson 2003, *Data Reduction and Error
    Analysis for the Physical Sciences*, 3rd ed., ch. 11).

    Parameters
    ----------
    dof
        Degrees of freedom ν (points − fitted parameters); values below 1 are taken as 1.

    Returns
    -------
    float
        The limit on χ²_red (dimensionless).
    """
    return 1.0 + 3.0 * math.sqrt(2.0 / max(int(dof), 1))


def birge_ratio(chi2_red: float, limit: float) -> float:
    """Factor by which the uncertainties of a poor fit are inflated: √χ²_red above ``limit``, else 1.

    The Birge ratio (Birge 1932, Phys. Rev. 40, 207, doi:10.1103/PhysRev.40.207) scales the errors
    of the data so that χ²_red becomes 1; it is applied only when χ²_red exceeds ``limit`` (normally
    :func:`poor_fit_limit`), so statistical scatter of a correct model leaves the uncertainties as
    they are.

    Parameters
    ----------
    chi2_red
        Reduced χ² of the fit (dimensionless).
    limit
        χ²_red above which the fit is poor (dimensionless).

    Returns
    -------
    float
        √χ²_red when ``chi2_red > limit``, else 1.0.
    """
    return math.sqrt(chi2_red) if chi2_red > limit else 1.0
