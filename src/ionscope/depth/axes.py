"""Depth scales: sputter time, dose and fluence stay the default; depth only from declared rates.

A depth ``z(t) = Σ_k r_k·Δt_k`` needs a sputter rate per material (crater depth ÷ time; López et al. 2021, J.
Mater. Chem. A 9, 25341, doi:10.1039/D1TA04532F);
rates of organic and inorganic layers differ by large factors, and those of different inorganic materials
by several times, so one rate across layers of different dominant species is flagged. Depth uncertainty:
``σ_z² = Σ_k (σ_r,k·Δt_k)² + Σ_i ((r_i − r_i+1)·σ_t,i)²`` (independent
rates; interface times with their uncertainties).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import xarray as xr

from ionscope.depth._common import axis_values, require_profile
from ionscope.model.deprecation import renamed_parameters
from ionscope.model.errors import ValidationError
from ionscope.model.result import Quantity, Result

_ORGANIC = re.compile(r"C(_\d+)?H")


@renamed_parameters(crater_depth_unc_nm="crater_depth_uncertainty")
def rate_from_crater(crater_depth_nm: float, crater_depth_uncertainty: float | str | Quantity,
                     sputter_time_s: float) -> Quantity:
    """Average sputter rate (nm/s) from a measured crater depth (profilometry/AFM) and total time.

    Parameters
    ----------
    crater_depth_nm
        Crater depth, nm.
    crater_depth_uncertainty
        Its 1σ: a number in nm, or a length with its unit (``"5 nm"``, a :class:`Quantity`);
        formerly ``crater_depth_unc_nm``.
    sputter_time_s
        Total sputter time, s.
    """
    if isinstance(crater_depth_uncertainty, (str, Quantity)):
        from ionscope.model.units import length_um

        crater_depth_uncertainty = 1e3 * length_um(crater_depth_uncertainty, "crater depth uncertainty")
    sigma = float(crater_depth_uncertainty)
    if not (crater_depth_nm > 0 and sputter_time_s > 0 and sigma >= 0):
        raise ValidationError("crater depth and sputter time must be positive (uncertainty ≥ 0)")
    return Quantity(crater_depth_nm / sputter_time_s, sigma / sputter_time_s, "nm/s")


def _as_rate(r: Quantity | float | tuple[float, float]) -> tuple[float, float]:
    if isinstance(r, Quantity):
        if r.unit not in ("nm/s", ""):
            raise ValidationError(f"sputter rates must be in nm/s, got {r.unit!r}")
        return r.value, r.uncertainty or 0.0
    if isinstance(r, tuple):
        return float(r[0]), float(r[1])
    return float(r), 0.0


def is_organic(label: str) -> bool:
    """A species label with carbon bound to hydrogen (C…H…): an organic-layer marker."""
    return bool(_ORGANIC.search(label))


def to_depth(profile: xr.DataArray, rates: Sequence[Quantity | float | tuple[float, float]] | Quantity | float,
             *, interfaces_s: Sequence[Quantity | float] = (), layer_species: Sequence[str] = ()
             ) -> Result:
    """Add a ``depth`` (nm) coordinate and its 1σ ``depth_uncertainty`` from declared sputter rates.

    Parameters
    ----------
    rates
        One rate (nm/s) for the whole profile, or one per layer with ``interfaces_s`` (sputter times
        where the rate switches, e.g. the positions from :func:`find_layers` on the time axis).
        Values may be :class:`Quantity` (nm/s, with uncertainty), ``(value, sigma)`` or floats.
    layer_species
        Dominant species of the layers; used to warn when one rate spans organic and inorganic layers.

    Returns
    -------
    Result
        ``depth.to_depth``: ``profile``, a copy with coordinates ``depth`` and ``depth_uncertainty``
        (nm) on ``scan``; its ``warnings`` say where one rate spans unlike layers.

    Raises
    ------
    ValidationError
        Non-positive rates, or a number of rates that does not match the layers (rates not covering
        the profile), or interface times outside the profile or not increasing.
    """
    prof = require_profile(profile)
    t, _ = axis_values(prof, "sputter_time")
    rate_list = [rates] if isinstance(rates, (Quantity, float, int, tuple)) else list(rates)
    r = np.array([_as_rate(q) for q in rate_list], dtype=float)
    if r.size == 0:
        raise ValidationError("no sputter rate given")
    if np.any(r[:, 0] <= 0) or np.any(r[:, 1] < 0):
        raise ValidationError("sputter rates must be positive (uncertainties ≥ 0)")
    t_int = np.array([q.value if isinstance(q, Quantity) else float(q) for q in interfaces_s], dtype=float)
    u_int = np.array([(q.uncertainty or 0.0) if isinstance(q, Quantity) else 0.0 for q in interfaces_s])
    if len(r) != t_int.size + 1:
        raise ValidationError(
            f"{len(r)} sputter rate(s) for {t_int.size + 1} layer(s): rates do not cover the profile; give one "
            "rate per layer (or one rate for all)")
    if t_int.size and (np.any(np.diff(t_int) <= 0) or t_int[0] <= t[0] or t_int[-1] >= t[-1]):
        raise ValidationError(f"rate switching times {t_int.tolist()} s must increase and lie inside "
                              f"the profile ({t[0]:g}–{t[-1]:g} s)")
    edges = np.concatenate([[t[0]], t_int])
    k = np.searchsorted(t_int, t, side="right")
    dz_edges = np.concatenate([[0.0], np.cumsum(np.diff(edges) * r[:-1, 0])])
    depth = dz_edges[k] + (t - edges[k]) * r[k, 0]
    var = np.zeros_like(t)
    for j in range(len(r)):
        lo = edges[j]
        hi = t_int[j] if j < t_int.size else np.inf
        dt = np.clip(np.minimum(t, hi) - lo, 0, None)
        var += (r[j, 1] * dt) ** 2
    for i in range(t_int.size):
        var += np.where(t > t_int[i], ((r[i, 0] - r[i + 1, 0]) * u_int[i]) ** 2, 0.0)
    warnings: list[str] = []
    if len(r) == 1 and len(set(layer_species or ())) > 1:
        kinds = {is_organic(s) for s in layer_species}
        if len(kinds) > 1:
            warnings.append("one sputter rate is applied across organic and inorganic layers "
                            f"({', '.join(layer_species)}); their rates differ strongly: declare a rate per layer")
        else:
            warnings.append(f"one sputter rate is applied to {len(layer_species)} layers of different materials "
                            f"({', '.join(layer_species)}); sputter yields differ between materials (e.g. by "
                            "several times between a metal and an oxide), so each layer's thickness scales with "
                            "its own rate: declare a rate per layer")
    out = prof.assign_coords(depth=("scan", depth), depth_uncertainty=("scan", np.sqrt(var)))
    out.coords["depth"].attrs["units"] = "nm"
    out.coords["depth_uncertainty"].attrs["units"] = "nm"
    out.attrs["depth_scale"] = {"rates_nm_s": r.tolist(), "interfaces_s": t_int.tolist()}
    return Result("depth.to_depth", {"profile": out}, tuple(warnings))


__all__ = ["is_organic", "rate_from_crater", "to_depth"]


def layer_thickness(start_s: Quantity, end_s: Quantity,
                    rates: Sequence[Quantity | float | tuple[float, float]] | Quantity | float,
                    switch_s: Sequence[Quantity | float] = ()) -> Quantity:
    """Thickness (nm) of the layer sputtered between ``start_s`` and ``end_s`` at the declared rates.

    The thickness is the integral of the rate over the layer's sputter time,
    ``d = Σ_k r_k Δt_k`` over the rate segments ``k`` it spans (segments switch at ``switch_s``).
    Its variance keeps the two sources apart, as the propagation law requires
    (JCGM 100:2008, "Guide to the expression of uncertainty in measurement", eq. 10):
    the boundary times are independent estimates, each contributing ``(r σ_t)²`` at its local
    rate; one rate is one measurement shared by the whole segment, contributing ``(Δt_k σ_rk)²``.
    Adding the uncertainties of the two boundary *depths* instead would count each rate's
    uncertainty twice and with the wrong sign of correlation.

    Parameters
    ----------
    start_s, end_s
        Sputter times (s) of the layer's boundaries, with their 1σ.
    rates
        One rate (nm/s) or one per segment, as for :func:`to_depth`.
    switch_s
        Times (s) where the rate changes; one fewer than ``rates``.

    Returns
    -------
    Quantity
        Thickness with its 1σ, in nm.
    """
    rate_list = [rates] if isinstance(rates, (Quantity, float, int, tuple)) else list(rates)
    r = np.array([_as_rate(q) for q in rate_list], dtype=float)
    edges = np.array([-np.inf, *[q.value if isinstance(q, Quantity) else float(q) for q in switch_s], np.inf])
    if edges.size != r.shape[0] + 1:
        raise ValidationError(f"{r.shape[0]} sputter rate(s) need {r.shape[0] - 1} switching time(s), "
                              f"got {edges.size - 2}")
    ta, tb = start_s.value, end_s.value
    dt = np.clip(np.minimum(edges[1:], tb) - np.maximum(edges[:-1], ta), 0.0, None)

    def rate_at(t: float) -> float:
        return float(r[min(int(np.searchsorted(edges, t, side="right")) - 1, r.shape[0] - 1), 0])

    var = ((rate_at(ta) * (start_s.uncertainty or 0.0)) ** 2 + (rate_at(tb) * (end_s.uncertainty or 0.0)) ** 2
           + float(np.sum((dt * r[:, 1]) ** 2)))
    return Quantity(float(np.sum(dt * r[:, 0])), float(np.sqrt(var)), "nm")
