"""Numba kernel: per-pixel Levenberg–Marquardt for the erfc (semi-infinite, eq. 8 with k → ∞) model.

Fused over depth points and parallel over pixels; used by :func:`ionscope.diffusion.maps.fit_block`.
Parameters per pixel: log₁₀ D, C_s, C₀; same bounds, damping and stopping rules as the NumPy path.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

_LN10 = math.log(10.0)
_SQRT_PI = math.sqrt(math.pi)


@njit(cache=True)
def _normal_equations(logD, cs, c0, y, w, x, t, JtJ, g):
    """Fill JᵀWJ (3×3) and JᵀWr; return the weighted cost."""
    L2 = 2.0 * math.sqrt(10.0 ** logD * t)
    for a in range(3):
        g[a] = 0.0
        for b in range(3):
            JtJ[a, b] = 0.0
    cost = 0.0
    for j in range(x.size):
        if w[j] == 0.0:
            continue
        u = x[j] / L2
        F = math.erfc(u)
        r = c0 + (cs - c0) * F - y[j]
        j0 = (cs - c0) * math.exp(-u * u) * u * _LN10 / _SQRT_PI
        jac = (j0, F, 1.0 - F)
        for a in range(3):
            g[a] += w[j] * jac[a] * r
            for b in range(3):
                JtJ[a, b] += w[j] * jac[a] * jac[b]
        cost += w[j] * r * r
    return cost


@njit(cache=True)
def _cost(logD, cs, c0, y, w, x, t):
    L2 = 2.0 * math.sqrt(10.0 ** logD * t)
    cost = 0.0
    for j in range(x.size):
        if w[j] != 0.0:
            r = c0 + (cs - c0) * math.erfc(x[j] / L2) - y[j]
            cost += w[j] * r * r
    return cost


@njit(cache=True)
def _solve3(A, b, out):
    """Solve a 3×3 system by Cramer's rule into ``out`` (must not alias ``b``); False if singular."""
    det = (A[0, 0] * (A[1, 1] * A[2, 2] - A[1, 2] * A[2, 1]) - A[0, 1] * (A[1, 0] * A[2, 2] - A[1, 2] * A[2, 0])
           + A[0, 2] * (A[1, 0] * A[2, 1] - A[1, 1] * A[2, 0]))
    if det == 0.0 or not math.isfinite(det):
        return False
    for c in range(3):
        M = A.copy()
        for rr in range(3):
            M[rr, c] = b[rr]
        out[c] = (M[0, 0] * (M[1, 1] * M[2, 2] - M[1, 2] * M[2, 1]) - M[0, 1] * (M[1, 0] * M[2, 2] - M[1, 2] * M[2, 0])
                  + M[0, 2] * (M[1, 0] * M[2, 1] - M[1, 1] * M[2, 0])) / det
    return True


@njit(parallel=True, cache=True)
def lm_erfc(y, w, x, t, p0, iterations, logd_lo, logd_hi):
    """Fit every row of ``y`` (pixels, depth) with weights ``w``; returns parameters, their covariance
    diagonal and the weighted cost per pixel."""
    npx = y.shape[0]
    p = p0.copy()
    var = np.full((npx, 3), np.nan)
    costs = np.empty(npx)
    for i in prange(npx):
        JtJ = np.zeros((3, 3))
        g = np.zeros(3)
        A = np.zeros((3, 3))
        step = np.zeros(3)
        rhs = np.zeros(3)
        logD, cs, c0 = p[i, 0], p[i, 1], p[i, 2]
        cost = _normal_equations(logD, cs, c0, y[i], w[i], x, t, JtJ, g)
        lam = 1e-3
        for _ in range(iterations):
            for a in range(3):
                for b in range(3):
                    A[a, b] = JtJ[a, b] * (1.0 + lam if a == b else 1.0) + (1e-12 if a == b else 0.0)
                rhs[a] = -g[a]
            if not _solve3(A, rhs, step):
                break
            nd = min(max(logD + step[0], logd_lo), logd_hi)
            ns = min(max(cs + step[1], 0.0), 1.0)
            nb = min(max(c0 + step[2], 0.0), 1.0)
            c_new = _cost(nd, ns, nb, y[i], w[i], x, t)
            biggest = max(abs(step[0]), abs(step[1]), abs(step[2]))
            if c_new < cost:
                gain = cost - c_new
                logD, cs, c0 = nd, ns, nb
                cost = _normal_equations(logD, cs, c0, y[i], w[i], x, t, JtJ, g)
                lam /= 3.0
                if gain < 1e-9 * (1.0 + cost):
                    break
            else:
                lam *= 4.0
                if lam > 1e8:
                    break
            if biggest < 1e-9:
                break
        p[i, 0], p[i, 1], p[i, 2] = logD, cs, c0
        costs[i] = cost
        inv = np.zeros(3)
        for c in range(3):
            e = np.zeros(3)
            e[c] = 1.0
            col = np.zeros(3)
            if _solve3(JtJ, e, col):
                inv[c] = col[c]
            else:
                inv[c] = np.nan
        for c in range(3):
            var[i, c] = inv[c]
    return p, var, costs
