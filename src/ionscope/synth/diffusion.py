"""Virtual isotope-exchange experiments: depth profiles with Poisson counts and known D, k, δD_gb.

Each simulator computes the true tracer fraction with the analytic (or numerical) model of
:mod:`ionscope.diffusion`, smears it with a Gaussian depth resolution, and draws Poisson counts of
the two isotopes with ``total_counts`` expected per point. The result is a depth profile
``(scan, peak)`` with a ``depth`` coordinate in nm, exactly what a SIMS export gives after the
depth calibration.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from ionscope.diffusion import models as m
from ionscope.model.arrays import coord, make_depth_profile
from ionscope.synth.core import GroundTruth, SeedLike, make_rng, poisson_counts

NM = 1e-7


def _profile_array(depth_nm, fraction, total_counts, isotopes, sputter_rate_nm_s, rng, truth_params):
    lam_a = total_counts * fraction
    lam_b = total_counts * (1 - fraction)
    counts = np.stack([poisson_counts(lam_a, rng), poisson_counts(lam_b, rng)], axis=1)
    da = make_depth_profile(counts, list(isotopes), sputter_time_s=depth_nm / sputter_rate_nm_s,
                            attrs={"source": "ionscope.synth.diffusion", **truth_params})
    return da.assign_coords(depth=coord("scan", depth_nm, "nm"))


def isotope_exchange_profile(model: str = "surface-exchange", *, D: float = 1e-13, k: float = 1e-8,
                             time_s: float = 24 * 3600.0, depth_nm=None, n_points: int = 200,
                             max_depth_nm: float | None = None, c_source: float = 0.95,
                             c_background: float = 0.0759, resolution_nm: float = 0.0,
                             film_thickness_nm: float = 50.0, interface_nm: float | None = None,
                             total_counts: float = 2e4, isotopes=("Li6", "Li7"), sputter_rate_nm_s: float = 0.1,
                             seed: SeedLike = None) -> tuple[xr.DataArray, GroundTruth]:
    """A ⁶Li (or ¹⁸O) exchange depth profile with Poisson counts.

    Parameters
    ----------
    model
        ``couple`` (eq. 3, interface at ``interface_nm``), ``surface-exchange`` (eq. 8),
        ``semi-infinite``, ``thin-film`` (enriched film of ``film_thickness_nm`` on a substrate).
    D, k, time_s
        True D (cm² s⁻¹), k (cm s⁻¹) and anneal time (s).
    depth_nm
        Depths of the points; default ``n_points`` from 0 to ``max_depth_nm`` (default 8√(Dt)).
    c_source, c_background
        Source fraction and natural-abundance background (0.0759 for ⁶Li).
    resolution_nm
        Standard deviation of the Gaussian depth resolution.
    total_counts
        Expected ⁶Li + ⁷Li counts per point.

    Returns
    -------
    profile, truth
        Counts ``(scan, peak)`` with ``depth`` (nm) and ``sputter_time`` (s) coordinates; the ground
        truth has D, k, fractions and the noise-free fraction per point.
    """
    rng = make_rng(seed)
    L = np.sqrt(D * time_s)
    if depth_nm is None:
        top = max_depth_nm if max_depth_nm is not None else 8 * L / NM + (interface_nm or 0.0) + (
            film_thickness_nm if model == "thin-film" else 0.0)
        depth_nm = np.linspace(0.0, top, n_points)
    depth_nm = np.asarray(depth_nm, dtype=float)
    if model == "couple":
        x_int = (interface_nm if interface_nm is not None else 4 * L / NM) * NM

        def shape(x):
            return m.couple_profile(x - x_int, D, time_s)
    elif model == "surface-exchange":
        def shape(x):
            return m.surface_exchange_profile(x, D, k, time_s)
    elif model == "semi-infinite":
        def shape(x):
            return m.semi_infinite_profile(x, D, time_s)
    elif model == "thin-film":
        def shape(x):
            return m.finite_source_profile(x, D, time_s, film_thickness_nm * NM)
    else:
        raise ValueError(f"unknown model {model!r}")
    F = m.gaussian_smear(shape, depth_nm * NM, resolution_nm * NM)
    frac = m.scaled_profile(F, c_source, c_background)
    params = {"model": model, "D_cm2_s": D, "k_cm_s": k if model == "surface-exchange" else None,
              "time_s": time_s, "c_source": c_source, "c_background": c_background,
              "resolution_nm": resolution_nm, "total_counts": total_counts,
              "seed": seed if isinstance(seed, int) else None}
    if model == "thin-film":
        params["film_thickness_nm"] = film_thickness_nm
    if model == "couple":
        params["interface_nm"] = x_int / NM
    da = _profile_array(depth_nm, frac, total_counts, isotopes, sputter_rate_nm_s, rng,
                        {"anneal_time_s": time_s})
    truth = GroundTruth("ionscope.synth.diffusion.isotope_exchange_profile", params,
                        {"D": D, "k": k, "fraction": frac, "depth_nm": depth_nm})
    return da, truth


def grain_boundary_profile(*, D_bulk: float = 1e-14, D_gb: float = 1e-9, delta_nm: float = 0.5,
                           time_s: float = 1e4, grain_size_um: float = 4.0, max_depth_nm: float = 20000.0,
                           n_points: int = 300, c_source: float = 0.95, c_background: float = 0.0759,
                           total_counts: float = 1e7, isotopes=("Li6", "Li7"), seed: SeedLike = None,
                           ) -> tuple[xr.DataArray, GroundTruth]:
    """Laterally averaged profile of the 2D Fisher/Whipple–Suzuoka geometry, with Poisson counts.

    The deep Le Claire tail lies decades below the surface, so realistic tails need high total
    counts (10⁷ per point ≈ a long, large-area acquisition).
    """
    from ionscope.diffusion.gb2d import solve_grain_boundary

    rng = make_rng(seed)
    depth_nm = np.linspace(0.0, max_depth_nm, n_points)
    sol = solve_grain_boundary(D_bulk, D_gb, delta_nm * NM, time_s, grain_size=grain_size_um * 1e-4,
                               depth=max_depth_nm * NM * 1.3)
    F = np.clip(sol.averaged(depth_nm * NM), 0.0, 1.0)
    frac = m.scaled_profile(F, c_source, c_background)
    params = {"D_bulk_cm2_s": D_bulk, "D_gb_cm2_s": D_gb, "delta_nm": delta_nm, "time_s": time_s,
              "grain_size_um": grain_size_um, "c_source": c_source, "c_background": c_background,
              "total_counts": total_counts, "seed": seed if isinstance(seed, int) else None}
    da = _profile_array(depth_nm, frac, total_counts, isotopes, 0.1, rng, {"anneal_time_s": time_s})
    truth = GroundTruth("ionscope.synth.diffusion.grain_boundary_profile", params,
                        {"delta_Dgb_cm3_s": delta_nm * NM * D_gb, "fraction": frac, "normalised": F,
                         "depth_nm": depth_nm})
    return da, truth


def isotope_map_cube(shape=(200, 64, 64), *, depth_step_nm: float = 2.0, D_range=(3e-15, 3e-14),
                     time_s: float = 3600.0, c_source: float = 0.95, c_background: float = 0.0759,
                     total_counts: float = 400.0, k_range=None,
                     seed: SeedLike = None) -> tuple[dict[str, np.ndarray], GroundTruth]:
    """A (scan, y, x) ⁶Li/⁷Li count cube whose D (and k) vary smoothly across the field.

    D varies log-linearly along the diagonal; without ``k_range`` every pixel follows the semi-infinite
    profile (eq. 3), with ``k_range = (k_min, k_max)`` (cm s⁻¹) the surface-exchange profile (eq. 8)
    with log k varying along the other diagonal.

    Returns the two count cubes (uint32) and the depth axis; the truth holds the D map (cm² s⁻¹) and,
    with ``k_range``, the k map (cm s⁻¹).
    """
    rng = make_rng(seed)
    n, ny, nx = shape
    yy, xx = np.meshgrid(np.linspace(0, 1, ny), np.linspace(0, 1, nx), indexing="ij")
    logD = np.log10(D_range[0]) + (np.log10(D_range[1]) - np.log10(D_range[0])) * (0.5 * (xx + yy))
    Dmap = 10 ** logD
    depth = np.arange(n) * depth_step_nm
    from scipy.special import erfc, erfcx

    u = (depth[:, None, None] * NM) / (2 * np.sqrt(Dmap * time_s))[None]
    truth_maps = {"D": Dmap}
    if k_range is None:
        F = erfc(u)
    else:
        logk = np.log10(k_range[0]) + (np.log10(k_range[1]) - np.log10(k_range[0])) * (0.5 * (1 - xx + yy))
        kmap = 10 ** logk
        w = (kmap * np.sqrt(time_s / Dmap))[None]
        F = np.exp(-u * u) * (erfcx(u) - erfcx(u + w))
        truth_maps["k"] = kmap
    frac = c_background + (c_source - c_background) * F
    a = rng.poisson(total_counts * frac).astype(np.uint32)
    b = rng.poisson(total_counts * (1 - frac)).astype(np.uint32)
    truth = GroundTruth("ionscope.synth.diffusion.isotope_map_cube",
                        {"shape": list(shape), "depth_step_nm": depth_step_nm, "time_s": time_s,
                         "c_source": c_source, "c_background": c_background, "total_counts": total_counts,
                         "k_range": None if k_range is None else list(k_range)},
                        truth_maps)
    return {"tracer": a, "other": b, "depth_nm": depth}, truth


def isotope_exchange_cube(shape=(120, 32, 32), *, isotopes=("^18O-", "^16O-"), pixel_size_um: float = 0.5,
                          sputter_rate_nm_s: float = 0.5, depth_axis: bool = True, seed: SeedLike = None,
                          **kwargs) -> tuple[xr.DataArray, GroundTruth]:
    """A ``cube3d`` (scan, y, x, peak) isotope-exchange cube with known per-pixel D (and k) maps.

    Wraps :func:`isotope_map_cube` (same keyword arguments, e.g. ``k_range``, ``total_counts``); the
    tracer is the first of ``isotopes``. The scans carry sputter time (s) and, if ``depth_axis``, a
    depth coordinate (nm).
    """
    from ionscope.model.arrays import labelled, pixel_axis

    data, truth = isotope_map_cube(shape, seed=seed, **kwargs)
    n, ny, nx = shape
    counts = np.stack([data["tracer"], data["other"]], axis=-1)
    coords = {
        "scan": coord("scan", np.arange(n), "index"),
        "sputter_time": coord("scan", data["depth_nm"] / sputter_rate_nm_s, "s"),
        "y": coord("y", pixel_axis(ny, pixel_size_um), "µm"),
        "x": coord("x", pixel_axis(nx, pixel_size_um), "µm"),
        "peak": xr.Variable("peak", np.asarray(list(isotopes), dtype=str)),
    }
    if depth_axis:
        coords["depth"] = coord("scan", data["depth_nm"], "nm")
    cube = labelled(counts, "cube3d", coords=coords, attrs={"source_file": "synthetic"})
    return cube, truth
