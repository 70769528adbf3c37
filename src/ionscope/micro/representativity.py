"""Representativity: how the uncertainty of a volume fraction shrinks with the analysed volume.

The volume is cut into non-overlapping cubic subvolumes of edge ℓ; the spread of the phase
fraction over them, σ(ℓ), follows σ² = ε(1−ε)·(V_c/ℓ³) for ℓ³ ≫ V_c (integral range V_c, Kanit et
al. 2003). V_c is fitted over the sizes with at least 8 subvolumes and gives the 1σ uncertainty of
the fraction measured on the whole volume and the edge needed for a target relative error.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ionscope.model.result import Result
from ionscope.model.stages import Stage, silent_stage


def representativity(mask: np.ndarray, spacing: tuple[float, float, float], *, n_sizes: int = 6,
                     target_relative_error: float = 0.05) -> Result:
    """Table of subvolume edge (µm) vs σ of the fraction, the integral range and the whole-volume σ.

    Returns
    -------
    Result
        ``micro.subvolume_statistics``: ``table`` (one mapping per edge: ``edge_um``, ``n_subvolumes``,
        ``volume_um3``, ``std``), ``integral_range_um3`` (µm³), ``fraction_uncertainty`` (1σ, 1),
        ``rve_edge_um`` (µm) and ``target_relative_error``; NaN where the fit is not possible.
    """
    mask = np.asarray(mask, bool)
    eps = float(mask.mean())
    vox = float(np.prod(spacing))
    nmin = min(mask.shape)
    edges = np.unique(np.round(np.geomspace(4, max(nmin // 2, 5), n_sizes)).astype(int))
    rows = []
    for e in edges:
        nz, ny, nx = (s // e for s in mask.shape)
        if nz * ny * nx < 2:
            continue
        sub = mask[:nz * e, :ny * e, :nx * e].reshape(nz, e, ny, e, nx, e).mean(axis=(1, 3, 5))
        rows.append({"edge_um": float(e * vox ** (1 / 3)), "n_subvolumes": int(sub.size),
                     "volume_um3": float(e**3 * vox), "std": float(sub.std(ddof=1))})
    fit = [r for r in rows if r["n_subvolumes"] >= 8 and r["std"] > 0]
    if not fit or eps in (0.0, 1.0):
        return Result("micro.subvolume_statistics", {
            "table": rows, "integral_range_um3": float("nan"), "fraction_uncertainty": float("nan"),
            "rve_edge_um": float("nan")})
    # each size's estimate weighted by its number of subvolumes (the variance of a variance ∝ 1/n)
    vc = float(np.average([r["std"] ** 2 * r["volume_um3"] / (eps * (1 - eps)) for r in fit],
                          weights=[r["n_subvolumes"] for r in fit]))
    total = mask.size * vox
    sigma = float(np.sqrt(eps * (1 - eps) * vc / total))
    rve = float((eps * (1 - eps) * vc / (target_relative_error * eps) ** 2) ** (1 / 3))
    return Result("micro.subvolume_statistics", {
        "table": rows, "integral_range_um3": vc, "fraction_uncertainty": sigma, "rve_edge_um": rve,
        "target_relative_error": target_relative_error})


def additive_uncertainty(field: np.ndarray, spacing: tuple[float, float, float], *, n_sizes: int = 5) -> Result:
    """1σ representativity uncertainty of the volume mean of an additive density ``field``.

    ``field`` is a per-voxel (or per-cell) density whose volume mean is the metric: a phase
    indicator for a volume fraction, the marching-cubes area per cell volume for a specific
    surface area. The mean over non-overlapping blocks of edge ℓ has variance σ²(ℓ) = K/ℓ³ for
    blocks larger than the correlation length (K = point variance × integral range; Kanit et al.
    2003), so K is fitted over the block sizes with at least 8 blocks, weighted by their number,
    and the whole volume's uncertainty is √(K/V). This answers the question ImageRep answers
    (Dahari et al., arXiv:2410.19568, 2024) by subvolume statistics rather than the two-point
    correlation. Dimensions of size 1 (a 2-D image) are not blocked.

    Returns
    -------
    Result
        ``micro.additive_uncertainty``: ``uncertainty`` (1σ, unit of ``field``) and ``k`` (the fitted
        K); both ``None`` when fewer than 8 blocks fit.
    """
    f = np.asarray(field)
    active = [a for a in range(3) if f.shape[a] > 1]
    nmin = min(f.shape[a] for a in active)
    cell = float(np.prod([spacing[a] for a in active]))
    edges = np.unique(np.round(np.geomspace(4, max(nmin // 2, 5), n_sizes)).astype(int))
    rows = []
    for e in edges:
        counts = [f.shape[a] // e if a in active else 1 for a in range(3)]
        if np.prod(counts) < 8:
            continue
        ext = [counts[a] * e if a in active else 1 for a in range(3)]
        blk = f[:ext[0], :ext[1], :ext[2]].reshape(counts[0], ext[0] // counts[0], counts[1], ext[1] // counts[1],
                                                   counts[2], ext[2] // counts[2])
        means = blk.mean(axis=(1, 3, 5), dtype=np.float64)
        rows.append((int(means.size), float(means.var(ddof=1)) * e ** len(active) * cell))
    total = f.size * cell
    if not rows:
        return Result("micro.additive_uncertainty", {"uncertainty": None, "k": None})
    k = float(np.average([r[1] for r in rows], weights=[r[0] for r in rows]))
    return Result("micro.additive_uncertainty", {"uncertainty": float(np.sqrt(k / total)), "k": k})


def tortuosity_uncertainty(mask: np.ndarray, axis: str | int, spacing: tuple[float, float, float], *,
                           tol: float = 1e-2) -> Result:
    """Representativity uncertainty of τ along ``axis`` (``"z"``, ``"y"`` or ``"x"``) from its spread over
    the eight octants.

    τ is solved on each 2×2×2 subvolume (half the edge); with the integral-range scaling of the
    variance of a volume average (σ² ∝ 1/V, Kanit et al. 2003) the whole volume's 1σ is the octant
    standard deviation / √8. The scaling holds when an octant is much larger than the
    microstructure's correlation length; non-percolating octants are reported and left out.

    Returns
    -------
    Result
        ``micro.tortuosity_uncertainty``: ``uncertainty`` (1σ of τ, 1; ``None`` with fewer than three
        percolating octants), ``octant_tortuosity`` and ``non_percolating_octants``.
    """
    from ionscope.micro.phases import volume_axis
    from ionscope.micro.tortuosity import solve_diffusion

    direction = "zyx"[volume_axis(axis)]
    mask = np.asarray(mask, bool)
    halves = [(slice(0, n // 2), slice(n // 2, 2 * (n // 2))) for n in mask.shape]
    taus, blocked = [], 0
    for sz in halves[0]:
        for sy in halves[1]:
            for sx in halves[2]:
                sol = solve_diffusion(mask[sz, sy, sx], direction, spacing, tol=tol)
                if sol.percolating and np.isfinite(sol.tortuosity):
                    taus.append(sol.tortuosity)
                else:
                    blocked += 1
    if len(taus) < 3:
        return Result("micro.tortuosity_uncertainty", {"uncertainty": None, "octant_tortuosity": taus,
                                                       "non_percolating_octants": blocked})
    return Result("micro.tortuosity_uncertainty", {"uncertainty": float(np.std(taus, ddof=1) / np.sqrt(8)),
                                                   "octant_tortuosity": taus, "non_percolating_octants": blocked})


_SUBVOLUME_WHY = "subvolume size follows from the voxel size as given, whose uncertainty is not known"


def representativity_result(volume: Any, phase: str, *, target: float = 0.05, directions: Sequence[str] = (),
                            source: Any = None,
                            stage: Stage | None = None) -> Result:
    """How representative a volume is for one phase: its volume fraction's 1σ and the cube edge for a target error.

    Parameters
    ----------
    volume
        Labelled phase volume (z, y, x) with spacing (:func:`~ionscope.micro.phases.label_volume`).
    phase
        Name of the phase to assess.
    target
        Target relative error (1σ) of the volume fraction, between 0 and 1.
    directions
        Also τ's representativity 1σ along these directions (eight octant solves each).
    source
        The input file, recorded in the provenance.
    stage
        ``stage(name, total)``, the context of each stage (:mod:`ionscope.model.stages`; a progress bar).

    Returns
    -------
    Result
        ``micro.representativity``: ``volume_fraction`` (1σ between volumes of this size, from block
        statistics: Kanit et al. 2003, *Int. J. Solids Struct.* 40, 3647,
        doi:10.1016/S0020-7683(03)00143-4), ``integral_range`` (µm³), ``edge_for_target`` (µm),
        the subvolume table and, per direction, ``tortuosity_<d>``.
    """
    from ionscope.micro.phases import axis_index, phase_mask, volume_spacing
    from ionscope.model.errors import ValidationError
    from ionscope.model.provenance import make_provenance
    from ionscope.model.result import Quantity, suffixed_to_quantities

    if not 0 < target < 1:
        raise ValidationError(f"--target {target} must lie between 0 and 1")
    run = stage or silent_stage
    for d in directions:
        axis_index(d)  # a wrong name fails here, before any solve
    mask = phase_mask(volume, phase)
    spacing = volume_spacing(volume).zyx
    with run("subvolume statistics", None):
        r = representativity(mask, spacing, target_relative_error=target)
    values: dict[str, Any] = {
        "phase": phase, "volume_fraction": Quantity(float(mask.mean()), r["fraction_uncertainty"], "1"),
        "integral_range": Quantity(r["integral_range_um3"], None, "µm^3", why_no_uncertainty=(
            "estimated from the variance of subvolume fractions; its own uncertainty is not computed")),
        "edge_for_target": Quantity(r["rve_edge_um"], None, "µm", why_no_uncertainty=(
            "follows from the integral range, whose uncertainty is not computed")),
        "target_relative_error": target,
        "subvolumes": [suffixed_to_quantities(row, _SUBVOLUME_WHY) for row in r["table"]]}
    for d in directions:
        with run(f"τ {d} on 8 octants", None):
            values[f"tortuosity_{d}"] = _tortuosity_spread(tortuosity_uncertainty(mask, d, spacing))
    return Result("micro.representativity", values, (),
                  make_provenance("ionscope.micro.representativity", inputs=[source] if source is not None else [],
                                  parameters={"phase": phase, "target_relative_error": target,
                                              "spacing_um": list(spacing)}))


def _tortuosity_spread(t: Result) -> dict[str, Any]:
    """τ of the eight octants and the whole volume's representativity 1σ, as quantities."""
    from ionscope.model.result import Quantity

    taus, sigma = t["octant_tortuosity"], t["uncertainty"]
    one = "a single solve per octant; the spread between octants is the uncertainty that matters here"
    own = "this σ is itself the spread of eight octants; its own uncertainty is not estimated"
    octants: Any = list(taus)  # an array Quantity: its value is a list (the annotation says float)
    return {"octant_tortuosity": Quantity(octants, None, "1", why_no_uncertainty=one) if taus else None,
            "sigma": Quantity(sigma, None, "1", why_no_uncertainty=own) if sigma is not None else None,
            "non_percolating_octants": t["non_percolating_octants"]}

