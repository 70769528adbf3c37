"""Simulated-annealing reconstruction on two-point and lineal-path functions (Yeong & Torquato 1998).

Yeong & Torquato 1998 (doi:10.1103/PhysRevE.57.495): voxels of two different phases are swapped at
random (so the fractions never change), and a swap is kept with the Metropolis probability
``min(1, exp(−ΔE/T))``, where the energy ``E = Σ_phases Σ_axes Σ_r [(S₂(r) − Ŝ₂(r))² + (L(r) − L̂(r))²]``
compares the volume's two-point function ``S₂`` and lineal-path function ``L`` along z, y and x
(periodic, ``r`` = 0…``r_max``) with the targets ``Ŝ₂``, ``L̂`` measured on the 2-D sections (along y
and x, averaged, for an isotropic material; or per axis from three orthogonal sections,
:func:`plane_targets`). Both functions are updated incrementally for the six lines
through the two swapped voxels. The start is the pluri-Gaussian volume (the "hybrid" start of
Jiao, Stillinger & Torquato 2008, doi:10.1103/PhysRevE.77.031135), the temperature starts where
10 % of uphill moves of median size are accepted and falls geometrically.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import numba as nb
import numpy as np

#: Largest volume annealed: the cost grows with voxels × sweeps; beyond 64³ it takes hours on 2 cores.
MAX_VOXELS = 64**3


def lineal_path_line(line: np.ndarray, r_max: int) -> np.ndarray:
    """Unnormalised periodic lineal-path counts of one boolean line: segments of length r inside (r = 0…r_max)."""
    return _lineal_counts(line.astype(np.uint8), r_max)


@nb.njit(cache=True)
def _lineal_counts(line, r_max):  # pragma: no cover - numba
    n = line.size
    out = np.zeros(r_max + 1)
    if np.all(line == 1):
        for r in range(r_max + 1):
            out[r] = n
        return out
    start = 0
    while line[start] == 1:  # start at a gap so that periodic runs are whole
        start += 1
    run = 0
    for k in range(1, n + 1):
        v = line[(start + k) % n]
        if v == 1:
            run += 1
        if v == 0 or k == n:
            for r in range(min(run, r_max + 1)):
                out[r] += run - r
            run = 0
    return out


def axis_statistics(mask: np.ndarray, r_max: int) -> tuple[np.ndarray, np.ndarray]:
    """Periodic S₂ and lineal path L along each axis of a 3-D boolean volume: arrays (3, r_max + 1)."""
    m = np.asarray(mask, bool)
    s2 = np.array([[np.mean(m & np.roll(m, -r, axis=a)) for r in range(r_max + 1)] for a in range(3)])
    lp = np.zeros((3, r_max + 1))
    for a in range(3):
        lines = np.moveaxis(m, a, -1).reshape(-1, m.shape[a]).astype(np.uint8)
        for ln in lines:
            lp[a] += _lineal_counts(ln, r_max)
        lp[a] /= m.size
    return s2, lp


def section_targets(labels2d: np.ndarray, values: Sequence[int], r_max: int) -> tuple[np.ndarray, np.ndarray]:
    """Targets Ŝ₂, L̂ (phases, r_max + 1) from 2-D sections along y and x (non-periodic, averaged)."""
    lab = np.asarray(labels2d)
    if lab.ndim == 2:
        lab = lab[None]
    s2 = np.zeros((len(values), r_max + 1))
    lp = np.zeros((len(values), r_max + 1))
    for i, v in enumerate(values):
        m = lab == v
        for ax in (1, 2):
            n = m.shape[ax]
            for r in range(r_max + 1):
                a = np.take(m, range(0, n - r), axis=ax)
                s2[i, r] += np.count_nonzero(a & np.take(m, range(r, n), axis=ax)) / a.size / 2
                inside = a.copy()
                for d in range(1, r + 1):
                    inside &= np.take(m, range(d, n - r + d), axis=ax)
                lp[i, r] += np.count_nonzero(inside) / a.size / 2
    return s2, lp


@nb.njit(cache=True)
def _line_s2(line, r_max):  # pragma: no cover - numba
    n = line.size
    out = np.zeros(r_max + 1)
    for r in range(r_max + 1):
        c = 0
        for i in range(n):
            c += line[i] & line[(i + r) % n]
        out[r] = c
    return out


@nb.njit(cache=True)
def _anneal(vol, phases, s2c, lpc, s2t, lpt, r_max, n_steps, t0, cool, seed):  # noqa: C901, PLR0912  # pragma: no cover - compiled loop, one kernel
    np.random.seed(seed)  # noqa: NPY002 - numba supports only the legacy global generator
    nz, ny, nx = vol.shape
    size = nz * ny * nx
    n_ph = phases.size
    idx = np.zeros(256, np.int64)
    for k in range(n_ph):
        idx[phases[k]] = k
    energy = 0.0
    for p in range(n_ph):
        for a in range(3):
            for r in range(r_max + 1):
                energy += (s2c[p, a, r] / size - s2t[p, a, r]) ** 2 + (lpc[p, a, r] / size - lpt[p, a, r]) ** 2
    temp = t0
    accepted = 0
    new_s2 = np.empty((n_ph, 3, r_max + 1))
    new_lp = np.empty((n_ph, 3, r_max + 1))
    for _ in range(n_steps):
        i1 = np.random.randint(size)  # noqa: NPY002
        i2 = np.random.randint(size)  # noqa: NPY002
        z1, y1, x1 = i1 // (ny * nx), (i1 // nx) % ny, i1 % nx
        z2, y2, x2 = i2 // (ny * nx), (i2 // nx) % ny, i2 % nx
        a1, a2 = vol[z1, y1, x1], vol[z2, y2, x2]
        if a1 == a2:
            continue
        p1, p2 = idx[a1], idx[a2]
        new_s2[:] = s2c
        new_lp[:] = lpc
        # remove the old contributions of the (up to six) lines through both voxels, swap, add the new ones
        for sign in (-1.0, 1.0):
            if sign > 0:
                vol[z1, y1, x1], vol[z2, y2, x2] = a2, a1
            for p in (p1, p2):
                ph = phases[p]
                for v in range(2):
                    zz, yy, xx = (z1, y1, x1) if v == 0 else (z2, y2, x2)
                    for a in range(3):
                        if v == 1 and ((a == 0 and y2 == y1 and x2 == x1) or (a == 1 and z2 == z1 and x2 == x1)
                                       or (a == 2 and z2 == z1 and y2 == y1)):
                            continue  # the same line as the first voxel's
                        if a == 0:
                            line = (vol[:, yy, xx] == ph).astype(np.uint8)
                        elif a == 1:
                            line = (vol[zz, :, xx] == ph).astype(np.uint8)
                        else:
                            line = (vol[zz, yy, :] == ph).astype(np.uint8)
                        new_s2[p, a] += sign * _line_s2(line, r_max)
                        new_lp[p, a] += sign * _lineal_counts(line, r_max)
        e_new = 0.0
        for p in range(n_ph):
            for a in range(3):
                for r in range(r_max + 1):
                    e_new += (new_s2[p, a, r] / size - s2t[p, a, r]) ** 2 + (new_lp[p, a, r] / size - lpt[p, a, r]) ** 2
        de = e_new - energy
        if de <= 0 or np.random.random() < math.exp(-de / temp):  # noqa: NPY002
            energy = e_new
            s2c[:] = new_s2
            lpc[:] = new_lp
            accepted += 1
        else:
            vol[z1, y1, x1], vol[z2, y2, x2] = a1, a2
        temp *= cool
    return energy, accepted


def plane_targets(sections: Mapping[str, np.ndarray], values: Sequence[int], r_max: int,
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Per-axis targets Ŝ₂, L̂ (phases, 3, r_max + 1) from three orthogonal sections ``{"xy", "xz", "yz"}``.

    As SliceGAN trains on the three planes (Kench & Cooper 2021, doi:10.1038/s42256-021-00322-1), each
    axis gets its own target: z from the xz and yz sections (their rows), y from xy (rows) and yz
    (columns), x from xy and xz (columns), the two estimates averaged.
    """
    planes = {"xy": (1, 2), "xz": (0, 2), "yz": (0, 1)}
    s2 = np.zeros((len(values), 3, r_max + 1))
    lp = np.zeros((len(values), 3, r_max + 1))
    count = np.zeros(3)
    for name, img in sections.items():
        for local, ax in enumerate(planes[name]):
            # section_targets averages rows and columns; take one direction by transposing a copy
            one = np.asarray(img) if local == 1 else np.asarray(img).T
            s_row, l_row = _direction_targets(one, values, r_max)
            s2[:, ax] += s_row
            lp[:, ax] += l_row
            count[ax] += 1
    return s2 / count[None, :, None], lp / count[None, :, None]


def _direction_targets(img: np.ndarray, values: Sequence[int], r_max: int) -> tuple[np.ndarray, np.ndarray]:
    """Non-periodic S₂ and lineal path along the columns (last axis) of one 2-D image: (phases, r_max + 1)."""
    s2 = np.zeros((len(values), r_max + 1))
    lp = np.zeros((len(values), r_max + 1))
    n = img.shape[1]
    for i, v in enumerate(values):
        m = img == v
        for r in range(r_max + 1):
            a = m[:, : n - r]
            s2[i, r] = np.count_nonzero(a & m[:, r:]) / a.size
            inside = a.copy()
            for d in range(1, r + 1):
                inside &= m[:, d: n - r + d]
            lp[i, r] = np.count_nonzero(inside) / a.size
    return s2, lp


def anneal(start: np.ndarray, labels2d: np.ndarray | None, values: Sequence[int], *, r_max: int = 16,
           sweeps: float = 2.0, seed: int = 0, progress: Callable[[int, int, float], None] | None = None,
           targets: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, dict]:
    """Anneal ``start`` (a label volume, e.g. the pluri-Gaussian one) towards the sections' S₂ and L.

    ``sweeps`` × voxels swaps are tried in ten stages (``progress`` after each, with the energy).
    ``targets`` (from :func:`plane_targets`) gives each axis its own Ŝ₂ and L̂ for anisotropic
    input; without it the sections ``labels2d`` stand for every direction.
    """
    from ionscope.model.errors import ValidationError

    vol = np.ascontiguousarray(start, np.uint8).copy()
    if vol.size > MAX_VOXELS:
        raise ValidationError(f"simulated annealing is limited to {round(MAX_VOXELS ** (1 / 3))}³ voxels "
                              f"(asked {'×'.join(map(str, vol.shape))}); use --method grf for larger volumes")
    if r_max >= min(vol.shape):
        raise ValidationError(f"the annealing range {r_max} px must be below the volume's smallest edge")
    vals = np.asarray(values, np.int64)
    if targets is None:
        if labels2d is None:
            raise ValidationError("annealing needs the 2-D sections or per-axis targets")
        s2i, lpi = section_targets(labels2d, values, r_max)
        s2t, lpt = np.repeat(s2i[:, None], 3, axis=1), np.repeat(lpi[:, None], 3, axis=1)
    else:
        s2t, lpt = (np.ascontiguousarray(t[:, :, : r_max + 1], float) for t in targets)
    s2c = np.zeros((len(vals), 3, r_max + 1))
    lpc = np.zeros((len(vals), 3, r_max + 1))
    for i, v in enumerate(vals):
        s, lp = axis_statistics(vol == v, r_max)
        s2c[i], lpc[i] = s * vol.size, lp * vol.size
    e0 = float(np.sum((s2c / vol.size - s2t) ** 2 + (lpc / vol.size - lpt) ** 2))
    n_total = int(sweeps * vol.size)
    t0 = max(e0 * 1e-4, 1e-12)
    cool = (1e-3) ** (1.0 / max(n_total, 1))  # temperature falls by 10³ over the run
    energy, accepted, history = e0, 0, [e0]
    stages = 10
    for k in range(stages):
        n = n_total // stages
        energy, acc = _anneal(vol, vals, s2c, lpc, s2t, lpt, r_max, n, t0 * cool ** (k * n), cool, seed + k)
        accepted += acc
        history.append(float(energy))
        if progress:
            progress(k + 1, stages, float(energy))
    return vol, {"energy_history": history, "accepted": int(accepted), "tried": n_total, "r_max_px": r_max}
