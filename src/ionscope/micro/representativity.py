"""Representativity: how the uncertainty of a volume fraction shrinks with the analysed volume.

The volume is cut into non-overlapping cubic subvolumes of edge ℓ; the spread of the phase
fraction over them, σ(ℓ), follows σ² = ε(1−ε)·(V_c/ℓ³) for ℓ³ ≫ V_c (integral range V_c, Kanit et
al. 2003). V_c is fitted over the sizes with at least 8 subvolumes and gives the 1σ uncertainty of
the fraction measured on the whole volume and the edge needed for a target relative error.
"""

from __future__ import annotations

import numpy as np


def representativity(mask: np.ndarray, spacing: tuple[float, float, float], *, n_sizes: int = 6,
                     target_relative_error: float = 0.05) -> dict:
    """Table of subvolume edge (µm) vs σ of the fraction, the integral range and the whole-volume σ."""
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
        return {"table": rows, "integral_range_um3": float("nan"), "fraction_uncertainty": float("nan"),
                "rve_edge_um": float("nan")}
    # each size's estimate weighted by its number of subvolumes (the variance of a variance ∝ 1/n)
    vc = float(np.average([r["std"] ** 2 * r["volume_um3"] / (eps * (1 - eps)) for r in fit],
                          weights=[r["n_subvolumes"] for r in fit]))
    total = mask.size * vox
    sigma = float(np.sqrt(eps * (1 - eps) * vc / total))
    rve = float((eps * (1 - eps) * vc / (target_relative_error * eps) ** 2) ** (1 / 3))
    return {"table": rows, "integral_range_um3": vc, "fraction_uncertainty": sigma, "rve_edge_um": rve,
            "target_relative_error": target_relative_error}
