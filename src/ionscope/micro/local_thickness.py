"""Local thickness (continuous pore/phase size distribution), Hildebrand & Rüegsegger (1997).

The local thickness at a voxel is the diameter of the largest ball that lies inside the phase and
covers the voxel; the ball centred at c has the radius r(c) of the Euclidean distance transform and
covers the voxels strictly closer than r(c). The result is exact (no discretisation of sizes;
PoreSpy's ``local_thickness`` rounds radii down to whole voxels). Four steps, numba-parallel over
z-planes:

1. squared Euclidean distance transform with the anisotropic voxel spacing: exact separable passes
   (Saito & Toriwaki, *Pattern Recogn.* 27, 1551, 1994), each line's minimum searched outwards from
   the voxel no farther than its distance to background, the lower envelope of parabolas
   (Felzenszwalb & Huttenlocher, *Theory Comput.* 8, 415, 2012) for lines with distant background;
2. reduction to the discretely maximal balls: a ball is dropped when the voxel set of a neighbour's
   larger ball contains its own voxel set, tested exactly with a table of the farthest lattice point
   of every digital ball from each neighbour offset (the lookup idea of Rémy & Thiel, *Pattern
   Recogn. Lett.* 23, 649, 2002, for any spacing); containment grows with the neighbour's radius, so
   of the 26 neighbours only the largest of each of the seven offset classes is tested (a
   branch-free maximum, then seven comparisons); the balls kept are listed per plane;
3. balls grouped by radius, largest first (a counting sort of those lists);
4. painting plane by plane from precomputed row spans of every digital ball: each span writes only
   voxels still unpainted, found with a union–find "next free voxel" pointer per row (full path
   compression), so every voxel is written once and spans that larger balls already filled cost
   one lookup.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from ionscope.model.errors import ValidationError

STRICT = 1.0 - 1e-6  # a voxel at exactly r from the centre (a background voxel) stays out of the ball
_TABLE_POINTS = 2_000_000  # octant lattice points of the containment table (≈ 0.1 GB while built);
#                            balls beyond it (radius ≳ 125 voxels) use the geometric test
_OFFSETS = np.array([(a, b, c) for a in (0, 1) for b in (0, 1) for c in (0, 1)][1:], np.int64)


@nb.njit(cache=True)
def _envelope_1d(f, step, out, v, z, g):  # pragma: no cover - numba
    """Lower envelope of parabolas (x − q·step)² + f[q] sampled at x = p·step (F&H 2012, Alg. 1);
    the intersection test is multiplied out (no division in the inner loop)."""
    n = f.size
    k = -1
    two = 2.0 * step
    for q in range(n):
        if f[q] == np.inf:
            continue
        gq = f[q] + (q * step) ** 2
        while k >= 0 and gq - g[k] <= z[k] * (two * (q - v[k])):
            k -= 1
        k += 1
        if k == 0:
            z[0] = -np.inf
        else:
            z[k] = (gq - g[k - 1]) / (two * (q - v[k - 1]))
        v[k] = q
        g[k] = gq
    if k < 0:
        out[:] = np.inf
        return
    j = 0
    for p in range(n):
        x = p * step
        while j < k and z[j + 1] < x:
            j += 1
        out[p] = (x - v[j] * step) ** 2 + f[v[j]]



_WINDOW = 16  # widest search (voxels each side) before a line falls back to the envelope


@nb.njit(cache=True)
def _min_convolve_line(line, step, buf, out, v, z, g):  # pragma: no cover - numba
    """min over q of (p·step − q·step)² + f(q) at every phase voxel p of one line, in place.

    The search widens from p and stops once the squared offset alone exceeds the best value (f ≥ 0):
    the window never passes the nearest background voxel (f = 0), so it is as wide as the local
    distance, a few voxels. Both give the exact minimum; a line where some voxel lies farther than
    ``_WINDOW`` voxels from background is done by the lower envelope instead (linear time)."""
    n = line.size
    for p in range(n):
        buf[p] = line[p]
    for p in range(n):
        best = buf[p]
        if best == 0.0:
            continue
        x = p * step
        dq = 1
        while True:
            alive = False
            q = p - dq
            if q >= 0:
                d = (x - q * step) ** 2
                if d <= best:
                    alive = True
                    best = min(best, d + buf[q])
            q = p + dq
            if q < n:
                d = (x - q * step) ** 2
                if d <= best:
                    alive = True
                    best = min(best, d + buf[q])
            if not alive:
                break
            dq += 1
            if dq > _WINDOW:
                _envelope_1d(buf[:n], step, out, v, z, g)
                for r in range(n):
                    line[r] = out[r]
                return
        line[p] = best


@nb.njit(parallel=True, cache=True)
def _squared_edt(mask, sz, sy, sx, d2):  # pragma: no cover - numba
    """Squared distance to the nearest background voxel centre (inf where there is none), in an array
    padded with one plane of zeros on every face (so neighbour loops need no bounds tests);
    envelopes in float64, stored as float32 (relative error 6e-8, far inside ``STRICT``'s 1e-6).
    ``d2``: zeroed float32 output of shape (nz + 2, ny + 2, nx + 2)."""
    nz, ny, nx = mask.shape
    for j in nb.prange(ny):  # z: two scans, rows of x innermost (contiguous)
        last = np.full(nx, -1, np.int64)
        for k in range(nz):
            for i in range(nx):
                if not mask[k, j, i]:
                    last[i] = k
                d2[k + 1, j + 1, i + 1] = np.inf if last[i] < 0 else ((k - last[i]) * sz) ** 2
        last[:] = -1
        for k in range(nz - 1, -1, -1):
            for i in range(nx):
                if not mask[k, j, i]:
                    last[i] = k
                if last[i] >= 0:
                    d2[k + 1, j + 1, i + 1] = min(d2[k + 1, j + 1, i + 1], ((last[i] - k) * sz) ** 2)
    for k in nb.prange(1, nz + 1):  # y, then x, within the plane
        n = max(ny, nx)
        buf, out, v, z, g = np.empty(n), np.empty(n), np.empty(n, np.int64), np.empty(n + 1), np.empty(n)
        for i in range(1, nx + 1):
            _min_convolve_line(d2[k, 1:-1, i], sy, buf, out, v, z, g)
        for j in range(1, ny + 1):
            _min_convolve_line(d2[k, j, 1:-1], sx, buf, out, v, z, g)


def _containment_table(rmax: float, sp: tuple[float, float, float]) -> tuple[np.ndarray, np.ndarray]:
    """Distinct squared radii ``u`` of the lattice and, for each, the largest squared distance from
    each neighbour offset class to a point of the digital ball {|v|² ≤ u}; shape (len(u), 7).

    The ball is symmetric under every axis reflection, so one octant and the seven offsets with
    components in {0, 1} cover all 26 neighbours.
    """
    ext = [int(np.ceil(rmax / s)) + 1 for s in sp]
    while np.prod([e + 1 for e in ext]) > _TABLE_POINTS:
        ext = [max(e * 3 // 4, 1) for e in ext]
    axes = [np.arange(e + 1) * s for e, s in zip(ext, sp)]
    v = np.stack([a.ravel() for a in np.meshgrid(*axes, indexing="ij")], 1)
    d2 = (v**2).sum(1)
    order = np.argsort(d2, kind="stable")
    v, d2 = v[order], d2[order]
    far = np.empty((d2.size, len(_OFFSETS)))
    for n, off in enumerate(_OFFSETS):
        far[:, n] = np.maximum.accumulate(((v + off * np.asarray(sp)) ** 2).sum(1))
    last = np.r_[d2[1:] != d2[:-1], True]
    # the octant box is complete only up to the smallest axis extent
    complete = d2[last] <= min(e * s for e, s in zip(ext, sp)) ** 2
    return d2[last][complete], far[last][complete]


def _radius_lut(u: np.ndarray) -> tuple[np.ndarray, float]:
    """Bins of width ``h`` over [0, u[-1]] with the count of ``u`` below each bin's lower edge, so
    that the largest ``u`` below a squared radius is found by a short forward scan (about four
    bins per distinct radius) instead of a binary search."""
    h = max(float(u[-1]), 1e-300) / (4 * u.size)
    edges = np.arange(int(u[-1] / h) + 2) * h
    return np.searchsorted(u, edges, side="left").astype(np.int64), h


def _class_steps(sp: tuple[float, float, float]) -> np.ndarray:
    """Distance of a neighbour of each offset class of :func:`_containment_table`."""
    return np.array([np.sqrt((a * sp[0]) ** 2 + (b * sp[1]) ** 2 + (c * sp[2]) ** 2) for a, b, c in _OFFSETS])


@nb.njit(inline="always")
def _if_larger(dn, dc):  # pragma: no cover - numba
    return dn if dn > dc else np.float32(0.0)


@nb.njit(parallel=True, cache=True)
def _plane_counts(mask):  # pragma: no cover - numba
    """Phase voxels of every z-plane and their running sum (start of each plane's slots)."""
    nz, ny, nx = mask.shape
    count = np.zeros(nz + 1, np.int64)
    for k in nb.prange(nz):
        c = 0
        for j in range(ny):
            for i in range(nx):
                c += mask[k, j, i]
        count[k + 1] = c
    for k in range(nz):
        count[k + 1] += count[k]
    return count


@nb.njit(parallel=True, cache=True)
def _maximal_balls(d2, u, far, lut, h, step, out, slots, cpos, ckind, ncent):  # pragma: no cover - numba
    """Discretely maximal balls of every z-plane k, listed from ``slots[k]`` on: ``cpos`` = j·nx + i,
    ``ckind`` = the index in ``u`` of the largest lattice squared radius inside the ball (−2 beyond
    the table); ``ncent[k]`` of them. ``d2`` is padded (see :func:`_squared_edt`). One-voxel balls
    are written to ``out`` directly: they cover their centre only. ``lut[b]`` counts the ``u``
    below ``b·h`` (see :func:`_radius_lut`); ``step``: distance of each offset class.

    A ball is dropped when the ball of one of its 26 neighbours with a larger distance holds it.
    Containment grows with the neighbour's radius, so within each of the seven offset classes only
    the largest such neighbour is tested: seven comparisons after a branch-free maximum, instead of
    a data-dependent branch per neighbour."""
    pz, py, px = d2.shape
    nz, ny, nx = pz - 2, py - 2, px - 2
    flat = d2.ravel()
    umax = u[-1]
    X, Y, Z = 1, px, py * px
    for k in nb.prange(nz):
        c = slots[k]
        for j in range(ny):
            base = ((k + 1) * py + (j + 1)) * px + 1
            for i in range(nx):
                p = base + i
                dc = flat[p]
                if dc == 0.0:
                    continue
                g = _if_larger
                m0 = max(g(flat[p - X], dc), g(flat[p + X], dc))  # classes in the order of _OFFSETS
                m1 = max(g(flat[p - Y], dc), g(flat[p + Y], dc))
                m2 = max(max(g(flat[p - Y - X], dc), g(flat[p - Y + X], dc)),
                         max(g(flat[p + Y - X], dc), g(flat[p + Y + X], dc)))
                m3 = max(g(flat[p - Z], dc), g(flat[p + Z], dc))
                m4 = max(max(g(flat[p - Z - X], dc), g(flat[p - Z + X], dc)),
                         max(g(flat[p + Z - X], dc), g(flat[p + Z + X], dc)))
                m5 = max(max(g(flat[p - Z - Y], dc), g(flat[p - Z + Y], dc)),
                         max(g(flat[p + Z - Y], dc), g(flat[p + Z + Y], dc)))
                m6 = max(max(max(g(flat[p - Z - Y - X], dc), g(flat[p - Z - Y + X], dc)),
                             max(g(flat[p - Z + Y - X], dc), g(flat[p - Z + Y + X], dc))),
                         max(max(g(flat[p + Z - Y - X], dc), g(flat[p + Z - Y + X], dc)),
                             max(g(flat[p + Z + Y - X], dc), g(flat[p + Z + Y + X], dc))))
                qc = dc * STRICT
                lo = -2
                if qc <= umax:
                    lo = max(lut[int(qc / h)] - 1, 0)  # largest u < qc: the digital ball of the centre
                    while lo + 1 < u.size and u[lo + 1] < qc:
                        lo += 1
                    f = far[lo]
                    if ((f[0] < m0 * STRICT) | (f[1] < m1 * STRICT) | (f[2] < m2 * STRICT) | (f[3] < m3 * STRICT)
                            | (f[4] < m4 * STRICT) | (f[5] < m5 * STRICT) | (f[6] < m6 * STRICT)):
                        lo = -1
                else:  # beyond the table: geometric containment, |n − c| + r(c) ≤ r(n)
                    rc = np.sqrt(dc)
                    if ((rc + step[0] <= np.sqrt(m0)) | (rc + step[1] <= np.sqrt(m1)) | (rc + step[2] <= np.sqrt(m2))
                            | (rc + step[3] <= np.sqrt(m3)) | (rc + step[4] <= np.sqrt(m4))
                            | (rc + step[5] <= np.sqrt(m5)) | (rc + step[6] <= np.sqrt(m6))):
                        lo = -1
                if lo == -1:
                    continue
                if lo == 0:
                    out[k, j, i] = 2.0 * np.sqrt(dc)
                    continue
                cpos[c] = j * nx + i
                ckind[c] = lo
                c += 1
        ncent[k] = c - slots[k]


@nb.njit(cache=True)
def _beyond_radii(d2, slots, cpos, ckind, ncent):  # pragma: no cover - numba
    """Distinct squared radii of the balls beyond the containment table (rare), ascending."""
    nz, ny, nx = d2.shape
    n = 0
    for k in range(nz):
        for c in range(slots[k], slots[k] + ncent[k]):
            n += ckind[c] == -2
    vals = np.empty(n, d2.dtype)
    n = 0
    for k in range(nz):
        for c in range(slots[k], slots[k] + ncent[k]):
            if ckind[c] == -2:
                vals[n] = d2[k, cpos[c] // nx, cpos[c] % nx]
                n += 1
    return np.unique(vals)


@nb.njit(parallel=True, cache=True)
def _bucket_by_kind(d2, slots, cpos, ckind, ncent, nu, big):  # pragma: no cover - numba
    """Counting sort of the ball centres by (kind, z); start offsets per (kind, z) and the largest
    squared radius of each kind. Kinds ≥ ``nu`` are the balls beyond the table, one per value of
    ``big``. Parallel over z: the counts and slots of plane k are its own."""
    nz, ny, nx = d2.shape
    nkinds = nu + big.size
    for k in nb.prange(nz):
        for c in range(slots[k], slots[k] + ncent[k]):
            if ckind[c] == -2:
                ckind[c] = nu + np.searchsorted(big, d2[k, cpos[c] // nx, cpos[c] % nx])
    start = np.zeros(nkinds * nz + 1, np.int64)
    for k in nb.prange(nz):
        for c in range(slots[k], slots[k] + ncent[k]):
            start[ckind[c] * nz + k + 1] += 1
    for a in range(1, start.size):
        start[a] += start[a - 1]
    cy = np.empty(start[-1], np.int32)
    cx = np.empty(start[-1], np.int32)
    cz = np.empty(start[-1], np.int32)
    cd = np.empty(start[-1], d2.dtype)
    for k in nb.prange(nz):
        for c in range(slots[k], slots[k] + ncent[k]):
            t = ckind[c]
            p = start[t * nz + k]
            j, i = cpos[c] // nx, cpos[c] % nx
            cz[p], cy[p], cx[p], cd[p] = k, j, i, d2[k, j, i]
            start[t * nz + k] += 1  # restored below: each slot now holds the next one's start
    for a in range(start.size - 1, 0, -1):
        start[a] = start[a - 1]
    start[0] = 0
    largest = np.zeros(nkinds)
    for t in range(nkinds):
        for p in range(start[t * nz], start[(t + 1) * nz]):
            largest[t] = max(largest[t], cd[p])
    return cz, cy, cx, start, largest


@nb.njit(cache=True)
def _row_spans(q, sz, sy, sx, nz, ny):  # pragma: no cover - numba
    """Digital ball {|v|² < q[t]} of every kind as x half-widths of its rows: the rows of the plane at
    z-offset dz are ``half[first[s] : first[s + 1]]`` (dy = −ey … ey) with s = slot[t] + dz + ez[t];
    a half-width of −1 marks an empty row. Offsets are cut at the volume's extent (``nz``, ``ny``
    voxels): a ball centred inside reaches no farther, and a phase with a single background voxel
    then does not need a table of every large ball's full extent."""
    ez = np.empty(q.size, np.int64)
    slot = np.zeros(q.size + 1, np.int64)
    for t in range(q.size):
        ez[t] = min(int(np.sqrt(q[t]) / sz), nz - 1)
        slot[t + 1] = slot[t] + 2 * ez[t] + 1
    ey = np.empty(slot[-1], np.int64)
    first = np.zeros(slot[-1] + 1, np.int64)
    for t in range(q.size):
        for dz in range(-ez[t], ez[t] + 1):
            s = slot[t] + dz + ez[t]
            rem = q[t] - (dz * sz) ** 2
            ey[s] = min(int(np.sqrt(rem) / sy), ny - 1) if rem > 0.0 else -1
            first[s + 1] = first[s] + max(2 * ey[s] + 1, 0)
    half = np.empty(first[-1], np.int32)
    for t in range(q.size):
        for dz in range(-ez[t], ez[t] + 1):
            s = slot[t] + dz + ez[t]
            rem = q[t] - (dz * sz) ** 2
            for n in range(2 * ey[s] + 1):
                rem2 = rem - ((n - ey[s]) * sy) ** 2
                half[first[s] + n] = int(np.ceil(np.sqrt(rem2) / sx)) - 1 if rem2 > 0.0 else -1
    return ez, slot, ey, first, half


@nb.njit(parallel=True, cache=True)
def _paint_largest_first(cz, cy, cx, start, ez, slot, ey, first, half, diam, out):  # pragma: no cover
    """Kinds (see :func:`_row_spans`) ascend in size and carry the diameters ``diam``."""
    nz, ny, nx = out.shape
    w = nx + 1
    flat = out.ravel()
    for k in nb.prange(nz):
        free = np.empty(ny * w, np.int32)  # union–find: next unpainted voxel of each row (row j at j·w)
        for j in range(ny):
            for i in range(w):
                free[j * w + i] = i
        pbase = k * ny * nx
        for t in range(ez.size - 1, -1, -1):
            dt = diam[t]
            et = ez[t]
            st = slot[t] + k + et
            for m in range(start[t * nz + max(k - et, 0)], start[t * nz + min(k + et + 1, nz)]):
                s = st - cz[m]
                ys = ey[s]
                if ys < 0:
                    continue
                ky, kx = cy[m], cx[m]
                r0 = first[s] - (ky - ys)
                for j in range(max(ky - ys, 0), min(ky + ys + 1, ny)):
                    e = half[r0 + j]
                    if e < 0:
                        continue
                    a, b = max(kx - e, 0), min(kx + e, nx - 1)
                    rb = j * w
                    i = free[rb + a]
                    if i > b:  # the span is painted already: one lookup
                        continue
                    while free[rb + i] != i:
                        i = free[rb + i]
                    ob = pbase + j * nx
                    while i <= b:
                        flat[ob + i] = max(flat[ob + i], dt)  # one-voxel balls were written first
                        free[rb + i] = i + 1
                        i += 1
                        while free[rb + i] != i:
                            i = free[rb + i]
                    while a < i:  # full path compression: every voxel passed now points past the span
                        nxt = free[rb + a]
                        free[rb + a] = i
                        a = nxt


def local_thickness(mask: np.ndarray, spacing: tuple[float, float, float] = (1.0, 1.0, 1.0)) -> np.ndarray:
    """Local thickness (diameter, in the unit of ``spacing``) of every voxel of ``mask``; 0 outside.

    The ball radius at a centre is its distance to the nearest background voxel centre (voxels
    beyond the volume's faces do not count as background); a voxel is covered when strictly closer
    than that radius, so a one-voxel sheet has thickness 2 voxels (PoreSpy reports radii; multiply
    its output by 2 to compare). Peak memory: about 9 bytes per voxel and 8 per phase voxel, output
    included.
    """
    mask = np.ascontiguousarray(mask, dtype=bool)
    if mask.ndim != 3:
        raise ValidationError(f"local thickness needs a 3-D mask, got shape {mask.shape}")
    sz, sy, sx = (float(s) for s in spacing)
    if not (np.isfinite([sz, sy, sx]).all() and min(sz, sy, sx) > 0):
        raise ValidationError(f"voxel spacing must be positive and finite, got {spacing}")
    out = np.zeros(mask.shape, np.float32)
    if not mask.any():
        return out
    if mask.all():
        raise ValidationError("the phase fills the whole volume: its local thickness is unbounded")
    # allocated here, not in numba, so that NumPy asks for huge pages (page faults cost ~10 % otherwise)
    d2 = np.zeros(tuple(n + 2 for n in mask.shape), np.float32)
    slots = _plane_counts(mask)
    cpos = np.empty(slots[-1], np.int32)
    ckind = np.empty(slots[-1], np.int32)
    ncent = np.zeros(mask.shape[0], np.int64)
    _squared_edt(mask, sz, sy, sx, d2)
    u, far = _containment_table(float(np.sqrt(d2.max())), (sz, sy, sx))
    _maximal_balls(d2, u, far, *_radius_lut(u), _class_steps((sz, sy, sx)), out, slots, cpos, ckind, ncent)
    d2 = d2[1:-1, 1:-1, 1:-1]
    big = _beyond_radii(d2, slots, cpos, ckind, ncent)  # balls larger than the table: rare, one kind per radius
    cz, cy, cx, start, largest = _bucket_by_kind(d2, slots, cpos, ckind, ncent, u.size, big)
    del d2, cpos, ckind
    # kind t < u.size holds the balls {|v|² ≤ u[t]}: any threshold between u[t] and u[t + 1] selects
    # them (the last table kind stays empty); larger kinds keep their strict radius
    q = np.r_[0.5 * (u[:-1] + u[1:]), u[-1], big * STRICT]
    ez, slot, ey, first, half = _row_spans(q, sz, sy, sx, mask.shape[0], mask.shape[1])
    _paint_largest_first(cz, cy, cx, start, ez, slot, ey, first, half, (2.0 * np.sqrt(largest)).astype(np.float32), out)
    return out


def size_distribution(thickness: np.ndarray, mask: np.ndarray, bins: int | np.ndarray = 30) -> dict:
    """Volume-weighted distribution of local thickness over the phase (unit of ``thickness``): bin
    edges, volume fraction per bin, mean and the volume-weighted percentiles d10, d50, d90."""
    t = thickness[mask]
    if t.size == 0:
        nan = float("nan")
        return {"edges": [], "volume_fraction": [], "mean": nan, "d10": nan, "d50": nan, "d90": nan}
    hist, edges = np.histogram(t, bins=bins)
    d10, d50, d90 = (float(v) for v in np.percentile(t, [10, 50, 90]))
    return {"edges": edges.tolist(), "volume_fraction": (hist / t.size).tolist(), "mean": float(t.mean()),
            "d10": d10, "d50": d50, "d90": d90}
