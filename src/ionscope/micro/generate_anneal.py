"""Simulated-annealing reconstruction on two-point and lineal-path functions (Yeong & Torquato 1998).

Yeong & Torquato 1998 (doi:10.1103/PhysRevE.57.495): voxels of two different phases are swapped
(so the fractions never change), and a swap is kept with the Metropolis probability
``min(1, exp(−ΔE/T))``, where the energy ``E = Σ_phases Σ_axes Σ_r [(S₂(r) − Ŝ₂(r))² + (L(r) − L̂(r))²]``
compares the volume's two-point function ``S₂`` and lineal-path function ``L`` along z, y and x
(periodic, ``r`` = 0…``r_max``) with the targets ``Ŝ₂``, ``L̂`` measured on the 2-D sections (along y
and x, averaged, for an isotropic material; or per axis from three orthogonal sections,
:func:`plane_targets`).

Only interface voxels are swapped — voxels with a face neighbour of another phase — as in the
different-phase-neighbour moves of Rozman & Utz 2001 (doi:10.1103/PhysRevE.63.066701): a swap deep
inside a grain creates an isolated voxel, raises the energy and is almost always refused, so random
swaps waste most of the run. S₂ and L are updated exactly per flip from the pairs and the run through
the flipped voxel (cost ∝ ``r_max`` + run length, not the line length). The start is the
pluri-Gaussian volume (the "hybrid" start of Jiao, Stillinger & Torquato 2008,
doi:10.1103/PhysRevE.77.031135); the start temperature is measured from the energy changes of trial
swaps (:func:`start_temperature`) and falls geometrically.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import numba as nb
import numpy as np

#: Largest volume annealed: the cost grows with voxels × sweeps (one sweep of 128³ with r_max = 16 is
#: about a minute of one core); the default method has no such limit.
MAX_VOXELS = 128**3


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


# --------------------------------------------------------------------------- annealing kernel
# One swap exchanges the phases of two interface voxels. Only the six lines through them change, and
# on a line only the pairs that contain the flipped voxel (S₂) and the run that holds it (lineal path):
# each flip costs O(r_max + run length) instead of re-counting whole lines.


@nb.njit(cache=True)
def _seed(seed):  # pragma: no cover - numba
    np.random.seed(seed)  # noqa: NPY002 - numba supports only the legacy global generator


@nb.njit(cache=True)
def _uniform():  # pragma: no cover - numba
    return np.random.random()  # noqa: NPY002 - numba supports only the legacy global generator


@nb.njit(cache=True)
def _at(vol, axis, z, y, x, k):  # pragma: no cover - numba
    """The voxel at position ``k`` of the line along ``axis`` through (z, y, x)."""
    if axis == 0:
        return vol[k, y, x]
    if axis == 1:
        return vol[z, k, x]
    return vol[z, y, k]


@nb.njit(cache=True)
def _is_interface(vol, z, y, x):  # pragma: no cover - numba
    """Whether a face neighbour (periodic 6-neighbourhood) belongs to another phase."""
    nz, ny, nx = vol.shape
    v = vol[z, y, x]
    return (vol[(z + 1) % nz, y, x] != v or vol[(z + nz - 1) % nz, y, x] != v
            or vol[z, (y + 1) % ny, x] != v or vol[z, (y + ny - 1) % ny, x] != v
            or vol[z, y, (x + 1) % nx] != v or vol[z, y, (x + nx - 1) % nx] != v)


@nb.njit(cache=True)
def _pick_interface(vol, avoid):  # pragma: no cover - numba
    """A random interface voxel whose phase is not ``avoid`` (−1: any phase), as (z, y, x)."""
    nz, ny, nx = vol.shape
    while True:
        i = int(_uniform() * nz * ny * nx)
        z, y, x = i // (ny * nx), (i // nx) % ny, i % nx
        if int(vol[z, y, x]) != avoid and _is_interface(vol, z, y, x):
            return z, y, x


@nb.njit(cache=True)
def _s2_flip(vol, axis, z, y, x, old, new, ko, kn, d_s2):  # pragma: no cover - numba
    """S₂ pair-count changes on one line when the voxel (z, y, x) turns from phase ``old`` to ``new``:
    the pairs (i, i ± r) lose ``old`` partners and gain ``new`` ones (slots ``ko``, ``kn`` of ``d_s2``)."""
    n = vol.shape[axis]
    i = (z, y, x)[axis]
    d_s2[ko, axis, 0] -= 1.0
    d_s2[kn, axis, 0] += 1.0
    for r in range(1, d_s2.shape[2]):
        a = _at(vol, axis, z, y, x, (i + r) % n)
        b = _at(vol, axis, z, y, x, (i - r + n) % n)
        d_s2[ko, axis, r] -= (a == old) + (b == old)
        d_s2[kn, axis, r] += (a == new) + (b == new)


@nb.njit(cache=True)
def _arm(vol, axis, z, y, x, ph, step):  # pragma: no cover - numba
    """Voxels of phase ``ph`` next to (z, y, x) along ``axis`` in direction ``step`` (±1), at most n − 1."""
    n = vol.shape[axis]
    k = ((z, y, x)[axis] + step + n) % n
    c = 0
    while c < n - 1 and _at(vol, axis, z, y, x, k) == ph:
        c += 1
        k = (k + step + n) % n
    return c


@nb.njit(cache=True)
def _add_run(d_lp, slot, axis, length, n, sign):  # pragma: no cover - numba
    """Add (``sign`` +1) or remove (−1) one run's lineal-path counts: ``length − r`` segments of length r;
    a whole periodic line (``length == n``) holds n segments of every length."""
    for r in range(d_lp.shape[2]):
        if length >= n:
            d_lp[slot, axis, r] += sign * n
        elif r < length:
            d_lp[slot, axis, r] += sign * (length - r)


@nb.njit(cache=True)
def _lp_flip(vol, axis, z, y, x, ph, slot, sign, d_lp):  # pragma: no cover - numba
    """Lineal-path count changes on one line when (z, y, x) joins (``sign`` +1) or leaves (−1) phase ``ph``:
    the runs on either side merge into one, or the run splits."""
    n = vol.shape[axis]
    left = _arm(vol, axis, z, y, x, ph, -1)
    if left == n - 1:  # every other voxel of the line is ph: a run of n − 1 ↔ the whole line
        _add_run(d_lp, slot, axis, n - 1, n, -sign)
        _add_run(d_lp, slot, axis, n, n, sign)
        return
    right = _arm(vol, axis, z, y, x, ph, 1)
    _add_run(d_lp, slot, axis, left + right + 1, n, sign)
    _add_run(d_lp, slot, axis, left, n, -sign)
    _add_run(d_lp, slot, axis, right, n, -sign)


@nb.njit(cache=True)
def _pix(vol, axis, z, y, x, a, b, ph):  # pragma: no cover - numba
    """1 if the voxel offset by (a, b) within the plane normal to ``axis`` (periodic) is phase ``ph``."""
    nz, ny, nx = vol.shape
    if axis == 0:
        return int(vol[z, (y + a + ny) % ny, (x + b + nx) % nx] == ph)
    if axis == 1:
        return int(vol[(z + a + nz) % nz, y, (x + b + nx) % nx] == ph)
    return int(vol[(z + a + nz) % nz, (y + b + ny) % ny, x] == ph)


@nb.njit(cache=True)
def _quad(vol, axis, z, y, x, du, dv, ph):  # pragma: no cover - numba
    """Gray's bit-quad weight (×4) for phase ``ph`` of the 2×2 square at (z, y, x) + (0…du, 0…dv) in the plane
    normal to ``axis``: one pixel in → 1, three → −1, two on a diagonal → 2; the sum over all squares
    is 4 × the 4-connected Euler number (Gray 1971, doi:10.1109/T-C.1971.223300)."""
    p00 = _pix(vol, axis, z, y, x, 0, 0, ph)
    p01 = _pix(vol, axis, z, y, x, 0, dv, ph)
    p10 = _pix(vol, axis, z, y, x, du, 0, ph)
    p11 = _pix(vol, axis, z, y, x, du, dv, ph)
    n = p00 + p01 + p10 + p11
    if n == 1:
        return 1.0
    if n == 3:
        return -1.0
    if n == 2 and p00 == p11:
        return 2.0
    return 0.0


@nb.njit(cache=True)
def _euler_around(vol, z, y, x, ph, slot, sign, d_eu):  # pragma: no cover - numba
    """Add ``sign`` × the bit-quad weights of ``ph`` of the four squares around (z, y, x) in each of the
    three plane orientations (the only squares a flip of that voxel changes)."""
    for axis in range(3):
        for du in (-1, 1):
            for dv in (-1, 1):
                d_eu[slot, axis, 0] += sign * _quad(vol, axis, z, y, x, du, dv, ph)


@nb.njit(cache=True)
def _flip(vol, z, y, x, new, ko, kn, deltas):  # pragma: no cover - numba
    """Count changes of the three lines and twelve plane squares through (z, y, x) as it turns to phase
    ``new``, then set it. ``deltas`` (3, 2, 3, r_max + 1): S₂, lineal path, Euler (r = 0 only)."""
    old = vol[z, y, x]
    for axis in range(3):
        _s2_flip(vol, axis, z, y, x, old, new, ko, kn, deltas[0])
        _lp_flip(vol, axis, z, y, x, old, ko, -1.0, deltas[1])
        _lp_flip(vol, axis, z, y, x, new, kn, 1.0, deltas[1])
    _euler_around(vol, z, y, x, old, ko, -1.0, deltas[2])
    _euler_around(vol, z, y, x, new, kn, -1.0, deltas[2])
    vol[z, y, x] = new
    _euler_around(vol, z, y, x, old, ko, 1.0, deltas[2])
    _euler_around(vol, z, y, x, new, kn, 1.0, deltas[2])


@nb.njit(cache=True)
def _swap(vol, c1, c2, deltas):  # pragma: no cover - numba
    """Exchange the phases a (at ``c1``) and b (at ``c2``); ``deltas`` gets the count changes of a (slot 0)
    and b (slot 1). The two flips are applied one after the other, so a shared line or square is exact."""
    deltas[:] = 0.0
    a, b = vol[c1], vol[c2]
    _flip(vol, c1[0], c1[1], c1[2], b, 0, 1, deltas)
    _flip(vol, c2[0], c2[1], c2[2], a, 1, 0, deltas)


@nb.njit(cache=True)
def _energy_change(counts, targets, weights, deltas, phases, size):  # pragma: no cover - numba
    """Change of Σ w·(count/size − target)² over the two swapped phases (``phases``: their rows).

    ``counts``, ``targets``: (3, phases, 3, r_max + 1) — S₂, lineal path, Euler (×4, r = 0 only);
    ``weights`` (4, phases), the fourth for the surface term S₂(0) − S₂(1); ``deltas`` (3, 2, 3, r_max + 1)."""
    de = 0.0
    for slot in range(2):
        k = phases[slot]
        for a in range(3):
            for f in range(3):
                for r in range(targets.shape[3] if f < 2 else 1):
                    old = counts[f, k, a, r] / size - targets[f, k, a, r]
                    new = old + deltas[f, slot, a, r] / size
                    de += weights[f, k] * (new * new - old * old)
            old = (counts[0, k, a, 0] - counts[0, k, a, 1]) / size - (targets[0, k, a, 0] - targets[0, k, a, 1])
            new = old + (deltas[0, slot, a, 0] - deltas[0, slot, a, 1]) / size
            de += weights[3, k] * (new * new - old * old)
    return de


@nb.njit(cache=True)
def _propose(vol, idx, counts, targets, weights, deltas, pair):  # pragma: no cover - numba
    """Swap two interface voxels of different phases; return their coordinates, phases and ΔE."""
    c1 = _pick_interface(vol, -1)
    c2 = _pick_interface(vol, int(vol[c1]))
    a, b = vol[c1], vol[c2]
    _swap(vol, c1, c2, deltas)
    pair[0], pair[1] = idx[a], idx[b]
    de = _energy_change(counts, targets, weights, deltas, pair, vol.size)
    return c1, c2, a, b, de


@nb.njit(cache=True)
def _trial_changes(vol, idx, counts, targets, weights, n_trials):  # pragma: no cover - numba
    """ΔE of ``n_trials`` proposed swaps, each undone: the sample the start temperature is set from."""
    deltas = np.zeros((3, 2, 3, targets.shape[3]))
    pair = np.zeros(2, np.int64)
    out = np.empty(n_trials)
    for k in range(n_trials):
        c1, c2, a, b, de = _propose(vol, idx, counts, targets, weights, deltas, pair)
        out[k] = de
        vol[c1], vol[c2] = a, b
    return out


@nb.njit(cache=True)
def _anneal(vol, idx, counts, targets, weights, n_steps, temp, cool):  # pragma: no cover - numba
    """Metropolis interface swaps at a geometrically falling temperature; ``counts`` kept up to date."""
    deltas = np.zeros((3, 2, 3, targets.shape[3]))
    pair = np.zeros(2, np.int64)
    accepted = 0
    for _ in range(n_steps):
        c1, c2, a, b, de = _propose(vol, idx, counts, targets, weights, deltas, pair)
        if de <= 0.0 or _uniform() < math.exp(-de / temp):
            counts[:, pair[0]] += deltas[:, 0]
            counts[:, pair[1]] += deltas[:, 1]
            accepted += 1
        else:
            vol[c1], vol[c2] = a, b
        temp *= cool
    return accepted


def plane_targets(sections: Mapping[str, np.ndarray], values: Sequence[int], r_max: int,
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-axis targets from three orthogonal sections ``{"xy", "xz", "yz"}``: Ŝ₂, L̂ (phases, 3, r_max + 1)
    and the Euler density with its misfit scale per plane orientation (2, phases, 3; :func:`section_euler`).

    As SliceGAN trains on the three planes (Kench & Cooper 2021, doi:10.1038/s42256-021-00322-1), each
    axis gets its own target: z from the xz and yz sections (their rows), y from xy (rows) and yz
    (columns), x from xy and xz (columns), the two estimates averaged. The planes normal to z, y, x
    take the Euler density of the xy, xz and yz section.
    """
    planes = {"xy": (1, 2), "xz": (0, 2), "yz": (0, 1)}
    normal = {"xy": 0, "xz": 1, "yz": 2}
    s2 = np.zeros((len(values), 3, r_max + 1))
    lp = np.zeros((len(values), 3, r_max + 1))
    eu = np.zeros((2, len(values), 3))
    count = np.zeros(3)
    for name, img in sections.items():
        for local, ax in enumerate(planes[name]):
            # section_targets averages rows and columns; take one direction by transposing a copy
            one = np.asarray(img) if local == 1 else np.asarray(img).T
            s_row, l_row = _direction_targets(one, values, r_max)
            s2[:, ax] += s_row
            lp[:, ax] += l_row
            count[ax] += 1
        chi, scale = section_euler([np.asarray(img)], values)
        eu[:, :, normal[name]] = chi, scale
    return s2 / count[None, :, None], lp / count[None, :, None], eu


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


def quad_euler(mask: np.ndarray, periodic: bool = False) -> float:
    """4-connected Euler number per pixel of a 2-D phase (or summed over a stack's slices, per pixel)
    from Gray's bit quads: (n₁ − n₃ + 2·n_diag)/4 over the 2×2 squares (Gray 1971,
    doi:10.1109/T-C.1971.223300). Non-periodic: only the squares inside the image, divided by their
    number — a local estimate of the density free of border clusters; periodic: all squares."""
    m = np.asarray(mask, bool)
    m = m[None] if m.ndim == 2 else m
    if periodic:
        a, b, c, d = m, np.roll(m, -1, 2), np.roll(m, -1, 1), np.roll(np.roll(m, -1, 1), -1, 2)
    else:
        a, b, c, d = m[:, :-1, :-1], m[:, :-1, 1:], m[:, 1:, :-1], m[:, 1:, 1:]
    n = a.astype(np.int8) + b + c + d
    q = np.count_nonzero(n == 1) - np.count_nonzero(n == 3) + 2 * np.count_nonzero((n == 2) & (a == d))
    return q / 4 / a.size


def section_euler(sections: Sequence[np.ndarray], values: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """Euler density per phase over 2-D sections (pixel-weighted) and its misfit scale: ``max(|χ|, 10/A)``,
    A the sections' area — below ten clusters or holes the count's own noise sets the scale (Poisson)."""
    area = float(sum(np.asarray(s).size for s in sections))
    chi = np.array([sum(quad_euler(np.asarray(s) == v) * np.asarray(s).size for s in sections) / area
                    for v in values])
    return chi, np.maximum(np.abs(chi), 10.0 / area)


def _resolve_targets(labels2d: np.ndarray | None, values: Sequence[int], r_max: int,
                     targets: tuple[np.ndarray, ...] | None) -> tuple[np.ndarray, np.ndarray]:
    """Targets (3, phases, 3, r_max + 1) — Ŝ₂, L̂ per phase and axis, and 4 × the Euler density per phase
    and plane orientation (at r = 0) — and the weights (3, phases).

    Each family is a mean squared relative misfit: S₂ and L relative to the phase's fraction, the Euler
    density relative to :func:`section_euler`'s scale, each averaged over its number of terms, so that
    no family outweighs another by its count of lags. Targets given per axis (:func:`plane_targets`)
    or the sections' isotropic ones repeated along z, y, x; without Euler targets that family has weight 0.
    """
    from ionscope.model.errors import ValidationError

    n_ph = len(values)
    out = np.zeros((3, n_ph, 3, r_max + 1))
    eu = None
    if targets is not None:
        out[0], out[1] = (np.ascontiguousarray(t[:, :, : r_max + 1], float) for t in targets[:2])
        eu = targets[2] if len(targets) > 2 else None
    elif labels2d is None:
        raise ValidationError("annealing needs the 2-D sections or per-axis targets")
    else:
        s2i, lpi = section_targets(labels2d, values, r_max)
        out[0], out[1] = s2i[:, None], lpi[:, None]
        lab = np.asarray(labels2d)
        chi, scale = section_euler(list(lab[None] if lab.ndim == 2 else lab), values)
        eu = np.stack([np.repeat(chi[:, None], 3, axis=1), np.repeat(scale[:, None], 3, axis=1)])
    frac = np.maximum(out[0, :, :, 0].mean(axis=1), 1e-12)
    weights = np.zeros((4, n_ph))
    weights[:2] = 1.0 / (frac[None] ** 2 * n_ph * 3 * (r_max + 1))
    weights[3] = 1.0 / (np.maximum((out[0, :, :, 0] - out[0, :, :, 1]).mean(axis=1), 1e-12) ** 2 * n_ph * 3)
    if eu is not None:
        out[2, :, :, 0] = 4.0 * eu[0]
        weights[2] = 1.0 / ((4.0 * eu[1].mean(axis=1)) ** 2 * n_ph * 3)
    return out, weights


def volume_counts(vol: np.ndarray, values: Sequence[int], r_max: int) -> np.ndarray:
    """Periodic pair counts of every phase (3, phases, 3, r_max + 1): S₂ and lineal path along z, y, x, and
    4 × the Euler number summed over the planes normal to z, y, x (at r = 0); divide by the voxel count."""
    out = np.zeros((3, len(values), 3, r_max + 1))
    for i, v in enumerate(values):
        m = vol == v
        s, lp = axis_statistics(m, r_max)
        out[0, i], out[1, i] = s * vol.size, lp * vol.size
        for a in range(3):
            out[2, i, a, 0] = 4.0 * quad_euler(np.moveaxis(m, a, 0), periodic=True) * vol.size
    return out


def start_temperature(changes: np.ndarray, acceptance: float) -> float:
    """Temperature at which the sampled uphill moves are accepted with mean probability ``acceptance``.

    ``changes`` are the energy changes ΔE of trial swaps (not applied). T solves
    ``mean(exp(−ΔE⁺/T)) = acceptance`` over the uphill ones (bisection in log T), the measured start
    of Kirkpatrick, Gelatt & Vecchi 1983 (doi:10.1126/science.220.4598.671) used by Yeong & Torquato
    1998 (doi:10.1103/PhysRevE.57.495), computed as in Ben-Ameur 2004
    (doi:10.1023/B:COAP.0000044187.23143.bd). Without uphill moves the start is already a minimum for
    these moves; a temperature far below any ΔE is returned.
    """
    up = np.asarray(changes, float)
    up = up[up > 0]
    if up.size == 0:
        return 1e-300
    lo, hi = math.log(up.min()) - 40.0, math.log(up.max()) + 40.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if np.mean(np.exp(-up / math.exp(mid))) < acceptance:
            lo = mid
        else:
            hi = mid
    return math.exp(0.5 * (lo + hi))


def _energy(counts: np.ndarray, targets: np.ndarray, weights: np.ndarray, size: int) -> float:
    """The annealing energy (:func:`_energy_change` term by term)."""
    d = counts / size - targets
    surface = d[0, :, :, 0] - d[0, :, :, 1]
    return float(np.sum(weights[:3, :, None, None] * d**2) + np.sum(weights[3, :, None] * surface**2))


def anneal(start: np.ndarray, labels2d: np.ndarray | None, values: Sequence[int], *, r_max: int = 16,
           sweeps: float = 2.0, seed: int = 0, progress: Callable[[int, int, float], None] | None = None,
           targets: tuple[np.ndarray, ...] | None = None, acceptance: float = 0.01,
           trials: int = 2000) -> tuple[np.ndarray, dict]:
    """Anneal ``start`` (a label volume, e.g. the pluri-Gaussian one) towards the sections' S₂ and L.

    ``sweeps`` × voxels swaps of interface voxels are tried in ten stages (``progress`` after each,
    with the energy). The start temperature is measured on ``trials`` trial swaps so that uphill moves
    are first accepted with mean probability ``acceptance`` (:func:`start_temperature`); it falls
    geometrically by 10³ over the run. The default 1 % suits the hybrid start, which is already close:
    Kirkpatrick's "melt" (about half the uphill moves accepted) randomises it — on an NMC electrode
    section (128³, one sweep) the surface areas rose by 30–75 % and were not recovered — whereas a start
    at 1 % refines it; use ~0.5 for a random start. ``targets`` (from :func:`plane_targets`) gives each
    axis its own Ŝ₂, L̂ and Euler density for anisotropic input; without it the sections ``labels2d``
    stand for every direction. The energy adds to S₂ and L the sections' 4-connected Euler density of
    each phase (clusters − holes per pixel) on the planes normal to z, y, x: a connectivity measure that
    two-point statistics do not fix (Arns, Knackstedt, Pinczewski & Mecke 2001,
    doi:10.1103/PhysRevE.63.031112), local, so updated per swap from twelve 2×2 squares.
    """
    from ionscope.model.errors import ValidationError

    vol = np.ascontiguousarray(start, np.uint8).copy()
    if vol.size > MAX_VOXELS:
        raise ValidationError(f"simulated annealing is limited to {round(MAX_VOXELS ** (1 / 3))}³ voxels "
                              f"(asked {'×'.join(map(str, vol.shape))}); use --method grf for larger volumes")
    if r_max >= min(vol.shape):
        raise ValidationError(f"the annealing range {r_max} px must be below the volume's smallest edge")
    if np.unique(vol).size < 2:
        raise ValidationError("annealing needs a start volume with at least two phases")
    vals = np.asarray(values, np.int64)
    tgt, weights = _resolve_targets(labels2d, values, r_max, targets)
    counts = volume_counts(vol, values, r_max)
    idx = np.zeros(256, np.int64)
    idx[vals] = np.arange(vals.size)
    _seed(seed)
    t0 = start_temperature(_trial_changes(vol, idx, counts, tgt, weights, trials), acceptance)
    n_total = int(sweeps * vol.size)
    cool = (1e-3) ** (1.0 / max(n_total, 1))  # temperature falls by 10³ over the run
    history = [_energy(counts, tgt, weights, vol.size)]
    accepted, stages = 0, 10
    for k in range(stages):
        n = n_total // stages
        accepted += _anneal(vol, idx, counts, tgt, weights, n, t0 * cool ** (k * n), cool)
        history.append(_energy(counts, tgt, weights, vol.size))
        if progress:
            progress(k + 1, stages, history[-1])
    return vol, {"energy_history": history, "accepted": int(accepted), "tried": n_total, "r_max_px": r_max,
                 "start_temperature": t0, "start_acceptance": acceptance}
