"""Phase volume fractions, porosity, relative density, open vs closed pores, percolation per direction."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from ionscope.model.result import Quantity, Result


def volume_fractions(labels: np.ndarray, phases: dict[str, int]) -> Result:
    """Fraction of voxels of each phase (dimensionless; anisotropic voxels all have the same volume).

    Returns
    -------
    Result
        ``micro.volume_fractions``: phase name → fraction (1), e.g. ``r["pore"]``.
    """
    counts = np.bincount(np.asarray(labels).ravel().astype(np.int64) - min(phases.values()),
                         minlength=max(phases.values()) - min(phases.values()) + 1)
    n = labels.size
    return Result("micro.volume_fractions",
                  {name: float(counts[v - min(phases.values())]) / n for name, v in phases.items()})


def counted_fractions(labels: np.ndarray, phases: dict[str, int]) -> Result:
    """:func:`volume_fractions` as quantities (unit 1) for a result: counted exactly on the labels given.

    Their sampling uncertainty (how well this volume represents the material) is a property of the
    microstructure, estimated by ``ionscope micro metrics`` (Kanit et al. 2003).
    """
    why = "counted exactly on the segmented voxels; for the representativity uncertainty run micro metrics"
    fractions = dict(volume_fractions(labels, phases).values)
    return Result("micro.counted_fractions",
                  {k: Quantity(float(v), None, "1", why_no_uncertainty=why) for k, v in fractions.items()})


def volume_fraction_uncertainty(mask: np.ndarray, spacing: tuple[float, float, float],
                                correlation_length_um: float) -> float:
    """1σ of a volume fraction from a finite sample: ``σ² = ε(1−ε)·V_c/V`` with ``V_c = ℓ³`` the
    volume over which the phase is correlated (the 'integral range' idea, Kanit et al. 2003)."""
    eps = float(mask.mean())
    volume = mask.size * float(np.prod(spacing))
    vc = correlation_length_um**3
    return float(np.sqrt(eps * (1 - eps) * min(vc / volume, 1.0)))


def pore_connectivity(mask: np.ndarray) -> Result:
    """Open and closed (isolated) pore fractions of the pore mask.

    A pore voxel is *open* when its face-connected pore cluster reaches any face of the volume;
    pores enclosed by solid inside the field of view are *closed*. Fractions are of the total volume.

    Returns
    -------
    Result
        ``micro.pore_connectivity``: ``open_porosity``, ``closed_porosity`` (1) and ``closed_pore_count``.
    """
    lab, n = ndimage.label(mask)
    if n == 0:
        return Result("micro.pore_connectivity", {"open_porosity": 0.0, "closed_porosity": 0.0,
                                                   "closed_pore_count": 0})
    border = np.zeros(n + 1, bool)
    for ax in range(3):
        for idx in (0, -1):
            border[np.unique(np.take(lab, idx, axis=ax))] = True
    border[0] = False
    sizes = np.bincount(lab.ravel(), minlength=n + 1)
    open_vox = sizes[border].sum()
    closed_vox = sizes[1:].sum() - open_vox
    return Result("micro.pore_connectivity", {
        "open_porosity": float(open_vox) / mask.size, "closed_porosity": float(closed_vox) / mask.size,
        "closed_pore_count": int((~border[1:]).sum())})


def percolation(mask: np.ndarray) -> Result:
    """Per direction (z, y, x): whether the phase connects the two opposite faces (face connectivity),
    and the fraction of the phase in clusters that do.

    Returns
    -------
    Result
        ``micro.percolation``: per direction ``z``, ``y``, ``x`` a mapping with ``percolating`` (bool)
        and ``percolating_fraction`` (1), e.g. ``r["z"]["percolating"]``.
    """
    lab, n = ndimage.label(mask)
    total = max(int(mask.sum()), 1)
    sizes = np.bincount(lab.ravel(), minlength=n + 1)
    out: dict[str, dict[str, float | bool]] = {}
    for ax, name in enumerate("zyx"):
        a = np.unique(np.take(lab, 0, axis=ax))
        b = np.unique(np.take(lab, -1, axis=ax))
        keep = np.intersect1d(a[a > 0], b[b > 0])
        out[name] = {"percolating": bool(keep.size), "percolating_fraction": float(sizes[keep].sum()) / total}
    return Result("micro.percolation", out)
