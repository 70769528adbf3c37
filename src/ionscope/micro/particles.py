"""Particle size distribution from watershed-separated particles (equivalent-sphere diameters)."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from ionscope.model.result import Result


def equivalent_diameters(particles: np.ndarray, spacing: tuple[float, float, float], *,
                         exclude_border: bool = True) -> np.ndarray:
    """Diameters (unit of spacing) of spheres with each labelled particle's volume, d = (6V/π)^(1/3).

    Particles cut by the field of view are excluded by default (their size is unknown).
    """
    lab = np.asarray(particles)
    n = int(lab.max())
    if n == 0:
        return np.zeros(0)
    vox = np.bincount(lab.ravel(), minlength=n + 1).astype(float)
    ok = vox > 0
    ok[0] = False
    if exclude_border:
        for ax in range(3):
            for idx in (0, -1):
                ok[np.unique(np.take(lab, idx, axis=ax))] = False
    vol = vox[ok] * float(np.prod(spacing))
    return (6.0 * vol / np.pi) ** (1.0 / 3.0)


def particle_radius_stats(diameters: np.ndarray) -> Result:
    """Number-weighted mean and volume-weighted (Sauter, d32) radii with the standard error of the mean.

    Returns
    -------
    Result
        ``micro.particle_radii``: ``count``, ``mean_radius``, ``mean_radius_se`` and ``sauter_radius``
        (in the unit of ``diameters``).
    """
    d = np.asarray(diameters, float)
    if d.size == 0:
        return Result("micro.particle_radii", {"count": 0, "mean_radius": float("nan"),
                                                "mean_radius_se": float("nan"), "sauter_radius": float("nan")})
    se = d.std(ddof=1) / np.sqrt(d.size) / 2 if d.size > 1 else float("nan")
    return Result("micro.particle_radii", {"count": int(d.size), "mean_radius": float(d.mean() / 2),
                                            "mean_radius_se": float(se),
                                            "sauter_radius": float((d**3).sum() / (d**2).sum() / 2)})


def label_particles(mask: np.ndarray) -> np.ndarray:
    """Face-connected components (when particles do not touch)."""
    return ndimage.label(mask)[0]
