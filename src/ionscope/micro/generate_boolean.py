"""Boolean model of spheres as the first phase of the pluri-Gaussian rule: particles of finite size.

A phase of separate compact particles (the active material of a battery electrode: near-spherical
secondary particles) is modelled as the union of spheres centred at the points of Poisson processes,
one per radius ``R_i`` with intensity ``λ_i`` (a polydisperse Boolean model; Serra 1982, *Image
Analysis and Mathematical Morphology*; Torquato 2002, *Random Heterogeneous Materials*,
doi:10.1007/978-1-4757-6355-3, Ch. 3 and 5). The complement's two-point probability is exact:
``φ₂(r) = exp(−Σ_i λ_i U_i(r))`` with ``U_i(r) = 2V_i − V_lens,i(r)`` the volume of the union of two
spheres of radius ``R_i`` at distance ``r`` (``V_lens = π(4R + r)(2R − r)²/12`` for ``r < 2R``). The
particle phase's ``S₂(r) = 1 − 2p + φ₂(r)``, so ``−ln(1 − 2p + S₂(r))`` is linear in the
intensities: a non-negative least-squares fit over a grid of radii gives the radius distribution
from the measured S₂ of a 2-D section (a plane section of an isotropic structure has its S₂).

Unlike a level cut (or a union of cuts) of Gaussian fields, whose excursion sets are irregular and
elongated at moderate thresholds and whose correlation cannot fall to zero at a finite lag, spheres
have the finite extent of real particles: their S₂ reaches p² at about a diameter and dips below it
(the exclusion "hole effect" of packed particles). The later phases are placed by Gaussian fields
coupled to the first phase's score, the signed distance to the particles (Gaussianised by rank).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def _union_volume(r: np.ndarray, radius: float) -> np.ndarray:
    """Volume (px³) of the union of two spheres of ``radius`` whose centres are ``r`` apart."""
    v = 4.0 / 3.0 * math.pi * radius**3
    lens = np.where(r < 2 * radius, math.pi * (4 * radius + r) * np.clip(2 * radius - r, 0, None) ** 2 / 12, 0.0)
    return 2 * v - lens


def fit_sphere_radii(s2: np.ndarray, p: float, n_radii: int = 40) -> np.ndarray:
    """Radii (px) and Poisson intensities (px⁻³) of a Boolean sphere model with the particle phase's
    two-point function ``s2`` (r = 0…len−1 px) at fraction ``p``: ``[radii; intensities]``.

    Radii are log-spaced from 1 px to half the range (so that the whole of each sphere's
    correlation, out to its diameter, is measured). The r = 0 row, ``−ln(1 − p) = Σ λ_i V_i``, is
    weighted to hold almost exactly, so the model's fraction is the image's.
    """
    from scipy.optimize import nnls

    r = np.arange(s2.size, dtype=float)
    radii = np.geomspace(1.0, max((s2.size - 1) / 2.0, 1.0), n_radii)
    y = -np.log(np.clip(1.0 - 2.0 * p + np.asarray(s2, float), 1e-9, 1.0))
    a = np.stack([_union_volume(r, rad) for rad in radii], axis=1)
    w = np.ones(s2.size)
    w[0] = 100.0 * math.sqrt(s2.size)
    lam, _ = nnls(a * w[:, None], y * w)
    keep = lam > 0
    return np.stack([radii[keep], lam[keep]])


def predicted_two_point(mix: np.ndarray, p: float, r: np.ndarray) -> np.ndarray:
    """S₂(r) of the particle phase of the Boolean model ``mix`` (its fraction ``1 − exp(−Σλ_iV_i)``)."""
    r = np.asarray(r, float)
    expo = sum(lam * _union_volume(r, rad) for rad, lam in mix.T)
    phi2 = np.exp(-np.asarray(expo, float))
    q = 1.0 - math.exp(-sum(lam * 4.0 / 3.0 * math.pi * rad**3 for rad, lam in mix.T))
    return phi2 - 1.0 + 2.0 * q


def _paint(out: np.ndarray, centre: np.ndarray, semi: np.ndarray) -> None:
    """Set the voxels of the axis-aligned ellipsoid (semi-axes ``semi``, px) at ``centre`` (periodic)."""
    axes = []
    for c, s, n in zip(centre, semi, out.shape, strict=True):
        lo, hi = math.ceil(c - s), math.floor(c + s)
        idx = np.arange(lo, hi + 1)
        axes.append((idx % n, ((idx - c) / s) ** 2))
    if any(ix.size == 0 for ix, _ in axes):
        return
    d = sum(np.reshape(q, [-1 if k == j else 1 for k in range(len(axes))]) for j, (_, q) in enumerate(axes))
    out[np.ix_(*[ix for ix, _ in axes])] |= d <= 1.0


def sphere_particles(mix: np.ndarray, shape: Sequence[int], rng: np.random.Generator,
                     scale: Sequence[float] | None = None) -> np.ndarray:
    """A periodic boolean image of the Boolean model's particles: in 3-D the spheres (ellipsoids with
    semi-axes ``R·s_a`` for the stretch ``scale``); in 2-D a plane section of the 3-D model — disks
    of radius ``√(R² − h²)`` (stretched by the plane's two factors) with ``h`` uniform on ``[−R, R]`` and
    centres at intensity ``2R·s_n·λ`` per px², ``s_n`` the stretch normal to the plane (``s_n`` = 1 /
    the product of the plane's two factors, the three multiplying to 1)."""
    shape = tuple(int(n) for n in shape)
    stretch = np.ones(len(shape)) if scale is None else np.asarray(scale, float)
    out = np.zeros(shape, bool)
    size = float(np.prod(shape))
    s_n = 1.0 / float(np.prod(stretch)) if len(shape) == 2 else 1.0
    for rad, lam in mix.T:
        mean = lam * size * (2 * rad * s_n if len(shape) == 2 else 1.0)
        for _ in range(rng.poisson(mean)):
            centre = rng.random(len(shape)) * np.asarray(shape)
            r_eff = rad if len(shape) == 3 else rad * math.sqrt(max(1.0 - rng.uniform(-1, 1) ** 2, 0.0))
            if r_eff > 0:
                _paint(out, centre, r_eff * stretch)
    return out


def particle_score(particles: np.ndarray) -> np.ndarray:
    """Standard-normal ranking field of the particles: the signed distance to their surface (negative
    inside; periodic), Gaussianised by rank, so that the lowest fraction p of it is the particles and a
    later field coupled to it puts its phase next to them."""
    from scipy import ndimage, special

    m = np.asarray(particles, bool)
    pad = [(min(n // 2, 32),) * 2 for n in m.shape]
    big = np.pad(m, pad, mode="wrap")
    inner = tuple(slice(a, a + n) for (a, _), n in zip(pad, m.shape, strict=True))
    d = ndimage.distance_transform_edt(~big)[inner] - ndimage.distance_transform_edt(big)[inner]
    order = np.argsort(d.ravel().astype(np.float32), kind="stable")  # ties broken by position: no two alike
    rank = np.empty(order.size, np.float64)
    rank[order] = np.arange(order.size)
    u = (rank + 0.5) / rank.size
    return special.ndtri(u).reshape(m.shape).astype(np.float32)
