"""Random, non-overlapping particles in 2D and 3D: the geometry behind several simulators."""

from __future__ import annotations

import numpy as np

from ionscope.synth.core import SeedLike, make_rng


def disc_labels(shape: tuple[int, int], n: int, radius_px: tuple[float, float], *,
                seed: SeedLike = None, gap_px: float = 2.0, max_tries: int = 20_000) -> tuple[np.ndarray, np.ndarray]:
    """A label image of up to ``n`` discs that do not touch.

    Returns
    -------
    labels
        ``int32`` image, 0 = background, particles 1…k.
    discs
        ``(k, 3)`` array of centre y, centre x and radius in pixels.
    """
    rng = make_rng(seed)
    ny, nx = shape
    discs: list[tuple[float, float, float]] = []
    for _ in range(max_tries):
        if len(discs) == n:
            break
        r = min(rng.uniform(*radius_px), (min(shape) - 1) / 2)
        cy, cx = rng.uniform(r, ny - r), rng.uniform(r, nx - r)
        if all((cy - y) ** 2 + (cx - x) ** 2 > (r + rr + gap_px) ** 2 for y, x, rr in discs):
            discs.append((cy, cx, r))
    yy, xx = np.mgrid[:ny, :nx]
    labels = np.zeros(shape, dtype=np.int32)
    for i, (cy, cx, r) in enumerate(discs, start=1):
        labels[(yy - cy) ** 2 + (xx - cx) ** 2 <= r * r] = i
    return labels, np.asarray(discs, dtype=float).reshape(-1, 3)
