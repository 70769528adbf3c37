"""Numba kernels: per-pixel Levenberg–Marquardt for isotope-exchange profiles, parallel over pixels.

Models (Sharma, Hasegawa, Xing & Kuwata 2025, Sci. Technol. Adv. Mater. 26, 2580917,
doi:10.1080/14686996.2025.2580917, eqs. 3 and 8; Crank 1975, *The Mathematics of Diffusion*, eq. 3.15):

* ``semi-infinite``: ``F = erfc(u)``, ``u = x / 2√(Dt)``; parameters log₁₀ D, C_s, C₀.
* ``surface-exchange``: ``F = erfc(u) − exp(hx + h²Dt) erfc(u + h√(Dt))``, ``h = k/D``; parameters
  log₁₀ D, log₁₀ w with ``w = h√(Dt) = k√(t/D)`` (fixed bounds, less correlated with D than k), C_s,
  C₀. Written as ``F = e^{−u²} [erfcx(u) − erfcx(u + w)]``, which never overflows.

The fraction is ``C₀ + (C_s − C₀) F``; C_s and C₀ enter linearly and are set to their weighted
least-squares optimum at every step (variable projection, Golub & Pereyra 1973, SIAM J. Numer. Anal.
10, 413, doi:10.1137/0710036), which removes their valley with k from the search. One pass over a
pixel's depth points accumulates the weighted moments of the model, its analytic derivatives and the
data, from which the normal matrix JᵀWJ and the gradient JᵀWr follow in closed form (the cost is
summed from the residuals in a second, three-operation loop), so one LM iteration costs one pass.
erfcx is interpolated from a cubic-Hermite table in ``y = 1/(1 + z)`` (values and exact derivatives
from :func:`scipy.special.erfcx`): relative error < 1e-11 for every z ≥ 0, far below the counting noise
of any profile, and cheaper than ``exp(z²)·erfc(z)`` (scipy's erfcx cannot be called from numba).

Tracer fractions ``a/(a+b)`` and their Poisson weights (``σ_f² = (b² σ_a² + a² σ_b²)/(a+b)⁴``, as in
:func:`ionscope.diffusion.fraction.isotope_fraction`) are formed in the kernel from the raw counts, so
the cube is read once and no (pixels × depth) temporaries are made.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

_LN10 = math.log(10.0)
_SQRT_PI = math.sqrt(math.pi)
_TWO_OVER_SQRT_PI = 2.0 / _SQRT_PI
#: Stop when an accepted step lowers χ² by less than this. A χ² change of 1 moves a parameter by 1σ, so
#: the parameters are then within ≈ √(1e-4) = 1 % of their σ of the minimum (well below the counting noise).
GAIN_TOL = 1e-4
#: |log₁₀ h√(Dt)| bound: at h√(Dt) = 10³ the surface-exchange profile differs from erfc by < 6e-4
#: (≈ e^{−u²}/(h√(Dt)√π)), below the counting noise of any profile, so larger k are not identifiable;
#: at 10⁻³ the profile amplitude ∝ h√(Dt) is degenerate with C_s.
W_LOG_RANGE = 3.0
#: Intervals of the erfcx table on y ∈ [0, 1]; 4096 gives a relative error < 1e-11 (Hermite error ∝ h⁴).
TABLE_INTERVALS = 4096


def erfcx_table(n: int = TABLE_INTERVALS) -> tuple[np.ndarray, np.ndarray]:
    """Values g and slopes dg/dy of ``g(y) = erfcx(1/y − 1)`` at ``y = i/n`` (i = 0…n)."""
    from scipy.special import erfcx

    y = np.arange(n + 1) / n
    g = np.zeros(n + 1)
    dg = np.zeros(n + 1)
    g[0], dg[0] = 0.0, 1.0 / _SQRT_PI  # z → ∞: erfcx(z) ≈ 1/(z√π) = y/((1 − y)√π)
    z = 1.0 / y[1:] - 1.0
    g[1:] = erfcx(z)
    big = z > 40.0  # asymptotic series avoids the cancellation of 2z·erfcx(z) − 2/√π
    zi2 = 1.0 / np.where(big, z, 1.0) ** 2
    series = _TWO_OVER_SQRT_PI * zi2 * (-0.5 + zi2 * (0.75 + zi2 * (-1.875 + zi2 * 6.5625)))
    derfcx = np.where(big, series, 2.0 * z * g[1:] - _TWO_OVER_SQRT_PI)
    dg[1:] = -derfcx / y[1:] ** 2  # dz/dy = −1/y²
    return g, dg


@njit(cache=True, inline="always")
def _erfcx(z, g, dg):
    """erfcx(z) for z ≥ 0 by cubic Hermite interpolation of the table."""
    y = 1.0 / (1.0 + z)
    n = g.size - 1
    s = y * n
    i = min(int(s), n - 1)
    t = s - i
    h = 1.0 / n
    t2 = t * t
    t3 = t2 * t
    return ((2 * t3 - 3 * t2 + 1) * g[i] + (t3 - 2 * t2 + t) * h * dg[i]
            + (-2 * t3 + 3 * t2) * g[i + 1] + (t3 - t2) * h * dg[i + 1])


@njit(cache=True)
def erfcx_nb(z, g, dg):
    """Vectorised test hook for :func:`_erfcx`."""
    out = np.empty(z.size)
    for i in range(z.size):
        out[i] = _erfcx(z[i], g, dg)
    return out


@njit(cache=True, inline="always")
def _moments(p, npar, y, w, x, t, g, dg, F):
    """Step 1 of :func:`_pass`: the model F at every point (into ``F``) and the weighted moments of F,
    its derivatives and the data: (s0, s1, s2, sy, sfy, a0, a00, a01, a0f, a0y, b1, b11, b1f, b1y)."""
    surface = npar == 4
    D = 10.0 ** p[0]
    L = math.sqrt(D * t)
    inv2L = 0.5 / L
    ww = 10.0 ** p[1] if surface else 0.0
    s0 = s1 = s2 = sy = sfy = 0.0
    a0 = a00 = a01 = a0f = a0y = 0.0
    b1 = b11 = b1f = b1y = 0.0
    for j in range(x.size):
        wj = w[j]
        if wj == 0.0:
            F[j] = 0.0
            continue
        u = x[j] * inv2L
        e = math.exp(-u * u)
        yj = y[j]
        if surface:
            s = u + ww
            es = _erfcx(s, g, dg)
            G = e * es
            Fj = e * _erfcx(u, g, dg) - G
            H = e * (2.0 * s * es - _TWO_OVER_SQRT_PI)  # −∂F/∂w
            dj0 = u * ww * G * _LN10  # ∂F/∂log₁₀D at fixed w (∂F/∂u = −2wG, ∂u/∂ln D = −u/2)
            dj1 = -ww * H * _LN10  # ∂F/∂log₁₀w
            wd1 = wj * dj1
            b1 += wd1
            b11 += wd1 * dj1
            b1f += wd1 * Fj
            b1y += wd1 * yj
            a01 += wj * dj0 * dj1
        else:
            Fj = e * _erfcx(u, g, dg)
            dj0 = e * u / _SQRT_PI * _LN10
        F[j] = Fj
        wd0 = wj * dj0
        a0 += wd0
        a00 += wd0 * dj0
        a0f += wd0 * Fj
        a0y += wd0 * yj
        wf = wj * Fj
        s0 += wj
        s1 += wf
        s2 += wf * Fj
        sy += wj * yj
        sfy += wf * yj
    return s0, s1, s2, sy, sfy, a0, a00, a01, a0f, a0y, b1, b11, b1f, b1y


@njit(cache=True, inline="always")
def _project_linear(p, npar, s0, s1, s2, sy, sfy):
    """Step 2: C_s and C₀ (the last two entries of ``p``) at their weighted least-squares optimum,
    from the 2×2 normal equations of y ≈ C₀ (1 − F) + C_s F (unchanged when they are singular)."""
    m11 = s0 - 2 * s1 + s2
    m12 = s1 - s2
    m22 = s2
    r1 = sy - sfy
    r2 = sfy
    det = m11 * m22 - m12 * m12
    if det > 1e-12 * max(m11 * m22, 1e-300):
        p[npar - 1] = (m22 * r1 - m12 * r2) / det
        p[npar - 2] = (m11 * r2 - m12 * r1) / det


@njit(cache=True)
def _pass(p, npar, y, w, x, t, g, dg, JtJ, grad, F):
    """Weighted cost at the nonlinear parameters of ``p`` (log₁₀ D and, for surface exchange, log₁₀ w with
    ``w = h√(Dt) = k√(t/D)``), with C_s and C₀ set to their weighted
    least-squares optimum (variable projection); fills JᵀWJ and JᵀWr of all parameters.

    One pass over the points accumulates the weighted moments of the model F, its derivatives and the
    data; JᵀWJ and JᵀWr follow from them once C_s and C₀ are known. The cost is summed from the
    residuals themselves (a second, three-operation pass) so that it carries no cancellation."""
    s0, s1, s2, sy, sfy, a0, a00, a01, a0f, a0y, b1, b11, b1f, b1y = _moments(p, npar, y, w, x, t, g, dg, F)
    _project_linear(p, npar, s0, s1, s2, sy, sfy)
    cs, c0 = p[npar - 2], p[npar - 1]
    amp = cs - c0
    ics, ic0 = npar - 2, npar - 1
    # Jacobian columns: amp·d0, (amp·d1), F, 1 − F; residual r = C₀ + amp·F − y
    JtJ[0, 0] = amp * amp * a00
    JtJ[0, ics] = amp * a0f
    JtJ[0, ic0] = amp * (a0 - a0f)
    JtJ[ics, ics] = s2
    JtJ[ics, ic0] = s1 - s2
    JtJ[ic0, ic0] = s0 - 2 * s1 + s2
    grad[0] = amp * (c0 * a0 + amp * a0f - a0y)
    grad[ics] = c0 * s1 + amp * s2 - sfy
    grad[ic0] = (c0 * s0 + amp * s1 - sy) - grad[ics]
    if npar == 4:  # surface exchange: the log₁₀ w column
        JtJ[0, 1] = amp * amp * a01
        JtJ[1, 1] = amp * amp * b11
        JtJ[1, ics] = amp * b1f
        JtJ[1, ic0] = amp * (b1 - b1f)
        grad[1] = amp * (c0 * b1 + amp * b1f - b1y)
    for a in range(npar):
        for b in range(a):
            JtJ[a, b] = JtJ[b, a]
    cost = 0.0
    for j in range(x.size):
        r = c0 + amp * F[j] - y[j]
        cost += w[j] * r * r
    return cost


@njit(cache=True)
def _solve(A, b, out, n):
    """Solve the n×n system A·out = b by Gaussian elimination with partial pivoting; False if singular."""
    M = np.empty((n, n + 1))
    for i in range(n):
        for k in range(n):
            M[i, k] = A[i, k]
        M[i, n] = b[i]
    for c in range(n):
        piv = c
        for r in range(c + 1, n):
            if abs(M[r, c]) > abs(M[piv, c]):
                piv = r
        if M[piv, c] == 0.0 or not math.isfinite(M[piv, c]):
            return False
        if piv != c:
            for k in range(n + 1):
                M[c, k], M[piv, k] = M[piv, k], M[c, k]
        for r in range(c + 1, n):
            f = M[r, c] / M[c, c]
            for k in range(c, n + 1):
                M[r, k] -= f * M[c, k]
    for i in range(n - 1, -1, -1):
        acc = M[i, n]
        for k in range(i + 1, n):
            acc -= M[i, k] * out[k]
        out[i] = acc / M[i, i]
    return True


@njit(cache=True)
def _start(y, w, x, t, npar, p):
    """Starting values: C₀ from the deepest tenth, C_s from the first points, D from the half-step depth."""
    n = x.size
    tail = max(n // 10, 2)
    acc, cnt = 0.0, 0
    for j in range(n - tail, n):
        if w[j] > 0.0:
            acc += y[j]
            cnt += 1
    c0 = acc / cnt if cnt else 0.0
    cs = -1.0
    for j in range(min(3, n)):
        if w[j] > 0.0 and y[j] > cs:
            cs = y[j]
    if cs < 0.0:
        cs = 1.0
    half = c0 + 0.5 * (cs - c0)
    xh = x[n - 1]
    for j in range(n):
        if w[j] > 0.0 and y[j] < half:
            xh = x[j]
            break
    xh = max(xh, x[1] if n > 1 else x[0] + 1e-7, 1e-9)
    logD = math.log10(max((xh / (2 * 0.4769)) ** 2 / t, 1e-30))
    p[0] = logD
    if npar == 4:
        p[1] = 0.0  # h√(Dt) = 1
    p[npar - 2] = min(max(cs, 0.0), 1.0)
    p[npar - 1] = min(max(c0, 0.0), 1.0)


@njit(cache=True, inline="always")
def _damped_system(JtJ, grad, lam, p, bounds, npar, A, rhs):
    """Step 1 of an LM iteration: A = JᵀWJ + λ·diag(JᵀWJ), rhs = −JᵀWr; a parameter at a bound that
    the descent pushes outward is held there (its row and column replaced by the identity)."""
    for a in range(npar):
        for b in range(npar):
            A[a, b] = JtJ[a, b]
        A[a, a] = JtJ[a, a] * (1.0 + lam) + 1e-12
        rhs[a] = -grad[a]
    for a in range(npar):
        if (p[a] <= bounds[a, 0] + 1e-12 and grad[a] > 0.0) or (p[a] >= bounds[a, 1] - 1e-12 and grad[a] < 0.0):
            for b in range(npar):
                A[a, b] = 0.0
                A[b, a] = 0.0
            A[a, a] = 1.0
            rhs[a] = 0.0


@njit(cache=True, inline="always")
def _clipped_trial(p, step, bounds, npar, trial):
    """Step 2: the trial point p + step clipped to the bounds; returns the largest |step|."""
    biggest = 0.0
    for a in range(npar):
        trial[a] = min(max(p[a] + step[a], bounds[a, 0]), bounds[a, 1])
        biggest = max(biggest, abs(step[a]))
    return biggest


@njit(cache=True, inline="always")
def _accept(p, trial, grad, grad_t, JtJ, JtJ_t, npar):
    """Step 3 (a step that lowered the cost): the trial point with its gradient and normal matrix."""
    for a in range(npar):
        p[a] = trial[a]
        grad[a] = grad_t[a]
        for b in range(npar):
            JtJ[a, b] = JtJ_t[a, b]


@njit(cache=True, inline="always")
def _invert_into(JtJ, npar, cov):
    """The covariance (JᵀWJ)⁻¹ column by column into ``cov``; NaN columns where JᵀWJ is singular."""
    e = np.zeros(4)
    col = np.zeros(4)
    for c in range(npar):
        for a in range(npar):
            e[a] = 0.0
        e[c] = 1.0
        ok = _solve(JtJ, e, col, npar)
        for a in range(npar):
            cov[a, c] = col[a] if ok else np.nan


@njit(cache=True)
def _fit_pixel(y, w, x, t, npar, g, dg, bounds, iterations, p, cov):
    """Levenberg–Marquardt of one profile; leaves the parameters in ``p``, their covariance in ``cov``;
    returns the weighted cost χ². The steps are inlined into one compiled loop (``inline="always"``)."""
    JtJ = np.zeros((4, 4))
    grad = np.zeros(4)
    JtJ_t = np.zeros((4, 4))
    grad_t = np.zeros(4)
    A = np.zeros((4, 4))
    rhs = np.zeros(4)
    step = np.zeros(4)
    trial = np.zeros(4)
    F = np.empty(x.size)
    cost = _pass(p, npar, y, w, x, t, g, dg, JtJ, grad, F)
    lam = 1e-3
    for _ in range(iterations):
        _damped_system(JtJ, grad, lam, p, bounds, npar, A, rhs)
        if not _solve(A, rhs, step, npar):
            break
        biggest = _clipped_trial(p, step, bounds, npar, trial)
        c_new = _pass(trial, npar, y, w, x, t, g, dg, JtJ_t, grad_t, F)
        if c_new < cost:
            gain = cost - c_new
            cost = c_new
            _accept(p, trial, grad, grad_t, JtJ, JtJ_t, npar)
            lam = max(lam / 3.0, 1e-9)
            if gain < GAIN_TOL:
                break
        else:
            lam *= 4.0
            if lam > 1e8:
                break
        if biggest < 1e-9:
            break
    _invert_into(JtJ, npar, cov)
    return cost


@njit(parallel=True, cache=True)
def lm_counts(a, b, va, vb, x, t, npar, g, dg, bounds, iterations):
    """Fit every column of the count arrays ``a``, ``b`` (depth, pixels).

    ``va``, ``vb`` are the count variances (the counts themselves for Poisson, or dead-time corrected
    variances). Returns parameters (pixels, npar), their covariance (pixels, npar, npar), χ² and the
    number of usable points per pixel.
    """
    n, npx = a.shape
    p = np.empty((npx, npar))
    cov = np.full((npx, npar, npar), np.nan)
    chi2 = np.empty(npx)
    used = np.zeros(npx, dtype=np.int64)
    for i in prange(npx):
        y = np.empty(n)
        w = np.empty(n)
        m = 0
        for j in range(n):
            aj, bj = float(a[j, i]), float(b[j, i])
            tot = aj + bj
            if tot > 0.0:
                y[j] = aj / tot
                v = (bj * bj * max(float(va[j, i]), 0.0) + aj * aj * max(float(vb[j, i]), 0.0)) / max(tot, 1.0) ** 4
                v = max(v, 0.25 / max(tot + 1.0, 1.0) ** 2)
                w[j] = 1.0 / v
                m += 1
            else:
                y[j] = 0.0
                w[j] = 0.0
        used[i] = m
        pi = p[i]
        if m <= npar:
            pi[:] = np.nan
            chi2[i] = np.nan
            continue
        _start(y, w, x, t, npar, pi)
        chi2[i] = _fit_pixel(y, w, x, t, npar, g, dg, bounds, iterations, pi, cov[i])
    return p, cov, chi2, used


@njit(parallel=True, cache=True)
def lm_fractions(y, w, x, t, npar, g, dg, bounds, iterations):
    """Fit every row of fractions ``y`` (pixels, depth) with weights ``w`` (0 for unusable points)."""
    npx, n = y.shape
    p = np.empty((npx, npar))
    cov = np.full((npx, npar, npar), np.nan)
    chi2 = np.empty(npx)
    for i in prange(npx):
        yi = np.ascontiguousarray(y[i])
        wi = np.ascontiguousarray(w[i])
        _start(yi, wi, x, t, npar, p[i])
        chi2[i] = _fit_pixel(yi, wi, x, t, npar, g, dg, bounds, iterations, p[i], cov[i])
    return p, cov, chi2
