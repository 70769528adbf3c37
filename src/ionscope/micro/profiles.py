"""Through-thickness profiles: phase fraction ε(x) and tortuosity τ(x) in slabs along one axis."""

from __future__ import annotations

import numpy as np

from ionscope.micro.tortuosity import solve_diffusion


def fraction_profile(mask: np.ndarray, axis: int, spacing: tuple[float, float, float]) -> dict:
    """ε at every plane normal to ``axis``; positions (µm) are plane centres."""
    other = tuple(a for a in range(3) if a != axis)
    eps = np.asarray(mask, bool).mean(axis=other)
    pos = (np.arange(mask.shape[axis]) + 0.5) * spacing[axis]
    return {"position_um": pos.tolist(), "volume_fraction": eps.tolist()}


def tortuosity_profile(mask: np.ndarray, axis: int, spacing: tuple[float, float, float], *,
                       n_slabs: int = 4) -> dict:
    """τ through each of ``n_slabs`` consecutive slabs along ``axis`` (transport along ``axis``).

    Non-percolating slabs get τ = None and ``percolating: False``, never an infinite value.
    """
    mask = np.asarray(mask, bool)
    n = mask.shape[axis]
    bounds = np.linspace(0, n, n_slabs + 1).astype(int)
    rows = []
    for a, b in zip(bounds[:-1], bounds[1:]):
        if b - a < 2:
            continue
        idx = [slice(None)] * 3
        idx[axis] = slice(a, b)
        sol = solve_diffusion(mask[tuple(idx)], axis, spacing)
        rows.append({"from_um": float(a * spacing[axis]), "to_um": float(b * spacing[axis]),
                     "volume_fraction": sol.volume_fraction, "percolating": sol.percolating,
                     "tortuosity": sol.tortuosity if sol.percolating else None})
    return {"slabs": rows}
