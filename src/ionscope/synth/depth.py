"""Virtual depth profiles: layered stacks with MRI broadening, per-layer sputter rates and matrix effects.

A stack of layers (thicknesses in nm, one sputter rate per layer in nm/s) is sputtered at constant
beam current; each scan samples the MRI-broadened composition (:mod:`ionscope.depth.mri`) at the
current crater depth, multiplied by the matrix factor of the layer being sputtered (the ionisation
yield jump at interfaces), and counts are Poisson. The ground truth holds the true interface
depths, the times at which the crater reaches them and the thicknesses.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ionscope.depth.mri import layer_composition, mri_profile
from ionscope.model.arrays import coord, labelled, make_depth_profile, pixel_axis
from ionscope.synth.core import GroundTruth, SeedLike, make_rng, poisson_counts

ELEMENTARY_CHARGE = 1.602176634e-19  # C

DEFAULT_LAYERS = ("Au", "spiro", "perovskite", "ITO", "glass")
DEFAULT_SPECIES = {"Au-": 0, "C_26H_20N_2-": 1, "PbI_3-": 2, "InO_2-": 3, "SiO_2-": 4}


def _time_of_depth(depth_nm: np.ndarray, boundaries: np.ndarray, rates: np.ndarray) -> np.ndarray:
    """Sputter time (s) at which the crater reaches each depth, rate switching at boundaries."""
    edges = np.concatenate([[0.0], boundaries])
    t_edges = np.concatenate([[0.0], np.cumsum(np.diff(np.concatenate([edges, [np.inf]]))[:-1] / rates[:-1])])
    k = np.searchsorted(boundaries, depth_nm, side="right")
    return t_edges[k] + (depth_nm - edges[k]) / rates[k]


def _depth_of_time(t: np.ndarray, boundaries: np.ndarray, rates: np.ndarray) -> np.ndarray:
    edges = np.concatenate([[0.0], boundaries])
    t_edges = _time_of_depth(edges, boundaries, rates)
    k = np.searchsorted(t_edges, t, side="right") - 1
    return edges[k] + (t - t_edges[k]) * rates[k]


def layered_stack(
    thicknesses_nm: Sequence[float] = (40.0, 150.0, 400.0, 120.0),
    rates_nm_s: Sequence[float] = (0.8, 1.5, 2.0, 0.5, 0.4),
    *,
    species: dict[str, int] | None = None,
    yields: dict[str, float] | None = None,
    matrix_factors: Sequence[float] | None = None,
    background: float = 2.0,
    mri_nm: tuple[float, float, float] = (3.0, 4.0, 1.5),
    scan_time_s: float = 2.0,
    total_time_s: float | None = None,
    sputter_current_nA: float = 1.0,
    crater_side_um: float = 300.0,
    transient: float = 0.0,
    seed: SeedLike = None,
):
    """Simulate a depth profile through a stack of layers on a substrate.

    Parameters
    ----------
    thicknesses_nm
        Thicknesses of the layers above the substrate (nm); the substrate is semi-infinite.
    rates_nm_s
        Sputter rate of every layer including the substrate (nm/s).
    species
        Species label → index of the layer it marks (default: a perovskite device in negative mode).
    yields
        Counts per scan of each species in its own layer (before matrix factors).
    matrix_factors
        Ionisation-yield factor of each layer (the matrix effect: all signals jump at the interface).
    mri_nm
        MRI parameters (w, σ, λ) in nm.
    transient
        Extra relative signal on every species in the first scan (surface contamination).

    Returns
    -------
    profile, GroundTruth
        A ``depth_profile`` with sputter time, dose and fluence; truth has ``interfaces_nm``,
        ``interface_times_s``, ``thicknesses_nm``, ``rates_nm_s``, ``layer_of_species``.
    """
    rng = make_rng(seed)
    thick = np.asarray(thicknesses_nm, dtype=float)
    rates = np.asarray(rates_nm_s, dtype=float)
    n_layers = thick.size + 1
    if rates.size != n_layers:
        raise ValueError(f"{n_layers} layers (with substrate) need {n_layers} rates, got {rates.size}")
    species = dict(species or DEFAULT_SPECIES)
    if any(not 0 <= k < n_layers for k in species.values()):
        raise ValueError("species must mark layers 0 … n_layers−1")
    yields = {s: (yields or {}).get(s, 2000.0) for s in species}
    mf = np.ones(n_layers) if matrix_factors is None else np.asarray(matrix_factors, dtype=float)
    boundaries = np.cumsum(thick)
    t_int = _time_of_depth(boundaries, boundaries, rates)
    total = float(total_time_s if total_time_s is not None else t_int[-1] + 0.25 * t_int[-1] + 60.0)
    t = np.arange(0.0, total, scan_time_s)
    depth = _depth_of_time(t, boundaries, rates)
    # Composition on a fine uniform depth grid, broadened, then sampled at the crater depth of each scan.
    step = min(0.25, float(np.min(rates)) * scan_time_s / 4)
    zg = np.arange(-20.0, depth[-1] + 40.0, step)
    comp = layer_composition(zg, boundaries.tolist(), n_layers)
    w, sigma, lam = mri_nm
    broadened = mri_profile(zg, comp, w, sigma, lam)
    matrix = np.interp(depth, zg, (mf[:, None] * broadened).sum(axis=0))
    labels = list(species)
    expected = np.empty((t.size, len(labels)))
    for j, s in enumerate(labels):
        expected[:, j] = yields[s] * np.interp(depth, zg, broadened[species[s]]) * matrix + background
    expected[0] *= 1.0 + transient
    counts = poisson_counts(expected, rng).astype(float)
    dose = sputter_current_nA * 1e-9 * (t + scan_time_s) / ELEMENTARY_CHARGE
    fluence = dose / (crater_side_um * 1e-4) ** 2
    profile = make_depth_profile(
        counts, labels, sputter_time_s=t, dose_ions=dose, fluence_ions_cm2=fluence,
        attrs={"source_file": "synthetic"},
        acquisition={"technique": "TOF-SIMS", "polarity": "negative" if labels[0].endswith("-") else "positive",
                     "sputter_ion": "Cs+", "sputter_current_nA": sputter_current_nA,
                     "raster_size_um": crater_side_um},
    )
    params = {"thicknesses_nm": thick.tolist(), "rates_nm_s": rates.tolist(), "species": species,
              "yields": yields, "matrix_factors": mf.tolist(), "background": background,
              "mri_nm": list(mri_nm), "scan_time_s": scan_time_s, "total_time_s": total,
              "sputter_current_nA": sputter_current_nA, "crater_side_um": crater_side_um,
              "transient": transient, "seed": seed if isinstance(seed, int) else None}
    truth = GroundTruth("ionscope.synth.depth.layered_stack", params, {
        "interfaces_nm": boundaries, "interface_times_s": t_int, "thicknesses_nm": thick,
        "rates_nm_s": rates, "layer_of_species": species, "depth_nm": depth,
        "interface_fluences": np.interp(t_int, t, fluence)})
    return profile, truth


def layered_cube(
    shape_yx: tuple[int, int] = (32, 32),
    n_scans: int = 120,
    *,
    interface_scan: float = 50.0,
    tilt_scans: float = 20.0,
    width_scans: float = 4.0,
    yields: Sequence[float] = (200.0, 150.0),
    background: float = 1.0,
    labels: Sequence[str] = ("Li2O-", "PS3-"),
    pixel_size_um: float = 0.5,
    seed: SeedLike = None,
):
    """A (scan, y, x, peak) cube of a two-layer stack whose interface depth varies laterally.

    The interface lies at ``interface_scan + tilt_scans·(x/X − ½) + ¼·tilt_scans·sin(2πy/Y)`` scans
    (a tilted, wavy interface); the upper species falls and the lower one rises there with a Gaussian
    (erfc) edge of standard deviation ``width_scans``; counts are Poisson.

    Returns
    -------
    cube, GroundTruth
        ``cube3d`` array (float32 counts) with sputter_time (1 s per scan); truth ``interface_scan`` (y, x).
    """
    from scipy.special import erfc

    rng = make_rng(seed)
    ny, nx = shape_yx
    yy, xx = np.meshgrid(np.arange(ny), np.arange(nx), indexing="ij")
    z_int = interface_scan + tilt_scans * (xx / max(nx - 1, 1) - 0.5) + 0.25 * tilt_scans * np.sin(
        2 * np.pi * yy / max(ny, 1))
    s = np.arange(n_scans, dtype=float)[:, None, None]
    frac_upper = 0.5 * erfc((s - z_int[None]) / (np.sqrt(2) * width_scans))
    lam = np.stack([yields[0] * frac_upper + background, yields[1] * (1 - frac_upper) + background], axis=-1)
    counts = poisson_counts(lam, rng).astype(np.float32)
    coords: dict[str, Any] = {
        "scan": coord("scan", np.arange(n_scans), "index"),
        "sputter_time": coord("scan", np.arange(n_scans, dtype=float), "s"),
        "y": coord("y", pixel_axis(ny, pixel_size_um), "µm"),
        "x": coord("x", pixel_axis(nx, pixel_size_um), "µm"),
        "peak": np.asarray(list(labels), dtype=str),
    }
    import xarray as xr

    coords["peak"] = xr.Variable("peak", coords["peak"])
    cube = labelled(counts, "cube3d", coords=coords, attrs={"source_file": "synthetic"})
    truth = GroundTruth("ionscope.synth.depth.layered_cube",
                        {"shape_yx": list(shape_yx), "n_scans": n_scans, "interface_scan": interface_scan,
                         "tilt_scans": tilt_scans, "width_scans": width_scans, "yields": list(yields),
                         "background": background, "seed": seed if isinstance(seed, int) else None},
                        {"interface_scan": z_int})
    return cube, truth


__all__ = ["layered_cube", "layered_stack"]
