"""2D grain-boundary diffusion: the Fisher / Whipple–Suzuoka geometry solved numerically.

A slab of bulk (diffusivity D_bulk) of half-width ``grain_size/2`` holds, at x = 0, half of a
grain boundary of width δ with diffusivity D_gb (symmetry planes at x = 0 and x = grain_size/2).
The isotope enters through the surface y = 0 (fixed source fraction, or finite exchange k) and
the depth profile a SIMS raster measures is the laterally averaged C̄(y). Cell-centred finite
volumes (the boundary is resolved by its own cells; geometric grading away from it and from the
surface), harmonic face diffusivities. With a fixed surface concentration the discrete system is
separable and is solved exactly in time by two nested symmetric eigendecompositions (depth modes,
then one small lateral problem per mode); a finite surface exchange k uses implicit variable-step
BDF2 with banded Cholesky factorisations (LAPACK).

Fitting the averaged profile with this solver gives δD_gb (and D_bulk) without the asymptotic
assumptions of Le Claire's tail formula (Le Claire 1963, Br. J. Appl. Phys. 14, 351,
doi:10.1088/0508-3443/14/6/317; eq. 9 of Sharma et al. 2025) — the approach of the LMO pellet study discussed by Sharma,
Hasegawa, Xing & Kuwata 2025 (doi:10.1080/14686996.2025.2580917, Fig. 10b).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp
from scipy.interpolate import PchipInterpolator
from scipy.linalg import cho_solve_banded, cholesky_banded
from threadpoolctl import threadpool_limits

from ionscope.model.errors import ValidationError
from ionscope.model.goodness import birge_ratio, poor_fit_limit
from ionscope.model.result import NoUncertainty, Quantity, Result


def graded_faces(length: float, first: float, growth: float = 1.15, max_cell: float | None = None,
                 max_cells: int = 2000) -> np.ndarray:
    """Faces from 0 to ``length``: first cell ``first``, growing by ``growth`` up to ``max_cell`` (cm)."""
    if not (length > 0 and first > 0 and growth >= 1):
        raise ValidationError("graded grid needs positive length and first cell, growth ≥ 1")
    cap = max_cell or length
    faces, h = [0.0], first
    while faces[-1] < length and len(faces) <= max_cells:
        faces.append(faces[-1] + h)
        h = min(h * growth, cap)
    out = np.asarray(faces)
    return out * (length / out[-1])


@dataclass
class GrainBoundarySolution:
    """Lateral cell centres ``x`` and depth cell centres ``y`` (cm), field ``C[y, x]`` and C̄(y)."""

    x: np.ndarray
    y: np.ndarray
    width_x: np.ndarray
    C: np.ndarray

    @property
    def mean_profile(self) -> np.ndarray:
        """Laterally averaged concentration at the depth cell centres."""
        return self.C @ self.width_x / self.width_x.sum()

    def averaged(self, depth_cm) -> np.ndarray:
        """C̄ at arbitrary depths (cm), monotone cubic interpolation."""
        return PchipInterpolator(self.y, self.mean_profile, extrapolate=True)(np.asarray(depth_cm, float))


def solve_grain_boundary(D_bulk: float, D_gb: float, delta: float, time: float, *, grain_size: float,
                         depth: float, k: float = np.inf, nx_boundary: int = 2, growth: float = 1.3,
                         first_dy: float | None = None, ny_max: int = 100, nx_max: int = 12,
                         steps_per_doubling: int = 12, method: str = "auto") -> GrainBoundarySolution:
    """Solve the 2D grain-boundary problem and return the field after ``time``.

    Parameters
    ----------
    D_bulk, D_gb
        Bulk and boundary diffusion coefficients, cm² s⁻¹.
    delta
        Grain-boundary width δ, cm (the classical value is 0.5 nm = 5e-8 cm).
    time
        Anneal time, s.
    grain_size
        Distance between parallel boundaries, cm (the domain is half of it).
    depth
        Depth of the domain, cm (choose well beyond the measured profile; the bottom is closed).
    k
        Surface exchange coefficient, cm s⁻¹ (``inf``: fixed surface concentration 1).
    nx_boundary
        Cells across the half-boundary.
    growth
        Geometric growth of cells away from the boundary and the surface.
    first_dy
        First depth cell, cm (default √(D_bulk t)/20).
    ny_max, nx_max
        Depth and lateral cells are at most ``depth/ny_max`` and ``grain_size/2/nx_max`` wide.
    steps_per_doubling
        Time steps per doubling of time of the BDF2 integrator (``method="bdf2"`` only).
    method
        ``"spectral"``: exact in time on the finite-volume grid (:func:`_spectral_field`; needs a
        fixed surface concentration, ``k = inf``); ``"bdf2"``: variable-step BDF2
        (:func:`bdf2_symmetric`, any ``k``); ``"auto"``: spectral when ``k`` is infinite.
        Both share the grid, so they differ only by the BDF2 time error (≈ 2e-4 of the source with
        12 steps per doubling, falling as the square of the step).
    """
    for name, v in (("D_bulk", D_bulk), ("D_gb", D_gb), ("delta", delta), ("time", time),
                    ("grain_size", grain_size), ("depth", depth)):
        if not (np.isfinite(v) and v > 0):
            raise ValidationError(f"grain-boundary model needs a positive {name}, got {v!r}")
    if method not in ("auto", "spectral", "bdf2"):
        raise ValidationError(f"method must be auto, spectral or bdf2, got {method!r}")
    if method == "spectral" and np.isfinite(k):
        raise ValidationError("the spectral solver needs a fixed surface concentration (k = inf); use method='bdf2'")
    half = grain_size / 2
    if delta / 2 >= half:
        raise ValidationError("the grain-boundary width must be smaller than the grain size")
    Lb = np.sqrt(D_bulk * time)
    fx_b = np.linspace(0, delta / 2, nx_boundary + 1)
    fx_rest = delta / 2 + graded_faces(half - delta / 2, delta / 2 / nx_boundary, growth, half / nx_max)
    fx = np.r_[fx_b, fx_rest[1:]]
    fy = _depth_faces(depth, Lb, first_dy or min(Lb / 20, depth / 200), growth, depth / ny_max)
    xc, yc = 0.5 * (fx[1:] + fx[:-1]), 0.5 * (fy[1:] + fy[:-1])
    wx, wy = np.diff(fx), np.diff(fy)
    Dx = np.where(xc < delta / 2, D_gb, D_bulk)
    # lateral conductances between columns i, i+1 (harmonic through the face)
    gx = 1.0 / ((fx[1:-1] - xc[:-1]) / Dx[:-1] + (xc[1:] - fx[1:-1]) / Dx[1:])
    gy = 1.0 / np.diff(yc)  # times D of the column (same material along y)
    if method == "bdf2" or np.isfinite(k):
        C = _bdf2_field(xc, yc, wx, wy, Dx, gx, gy, k, time, steps_per_doubling)
    else:
        C = _spectral_field(yc, wx, wy, Dx, gx, gy, time)
    return GrainBoundarySolution(xc, yc, wx, C)


def _laplacian_tridiagonal(g: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Diagonal and off-diagonal of the 1-D finite-volume Laplacian with conductances ``g`` (closed ends)."""
    d = np.zeros(n)
    d[:-1] -= g
    d[1:] -= g
    return d, g.copy()


def _spectral_field(yc, wx, wy, Dx, gx, gy, time: float) -> np.ndarray:
    """Field ``C[y, x]`` at ``time``, exact in time, for a fixed surface concentration 1.

    With ``k = inf`` the finite-volume system ``M C' = K C + g`` is separable: ``M = W_y ⊗ W_x``
    and ``K = W_y ⊗ G_x + G_y ⊗ D_x W_x`` (G: 1-D Laplacians, W: cell widths, D_x: the column's
    diffusivity; the surface conductance D_x w_x / y₀ belongs to G_y). The symmetric tridiagonal
    eigenproblem of ``W_y^{-1/2} G_y W_y^{-1/2}`` (eigenvalues λ_j < 0) decouples the depth modes;
    each mode is the small lateral problem ``W_x^{-1/2} G_x W_x^{-1/2} + λ_j D_x``, diagonalised in
    one batched LAPACK call. The steady state is C = 1, so ``C(t) = 1 + exp(M⁻¹K t)(C(0) − 1)``
    evaluated mode by mode: no time steps and no time-discretisation error.
    """
    from scipy.linalg import eigh_tridiagonal

    sy, sx = np.sqrt(wy), np.sqrt(wx)
    dy, ey = _laplacian_tridiagonal(gy, yc.size)
    dy[0] -= 1.0 / yc[0]  # the fixed-concentration surface, half a cell above the first centre
    with threadpool_limits(1):  # small dense problems: BLAS threads only add contention
        lam, Q = eigh_tridiagonal(dy / wy, ey / (sy[:-1] * sy[1:]))
        dx, ex = _laplacian_tridiagonal(gx, wx.size)
        n = wx.size
        i = np.arange(n)
        B = np.zeros((lam.size, n, n))
        B[:, i, i] = dx / wx + lam[:, None] * Dx
        B[:, i[:-1], i[1:]] = ex / (sx[:-1] * sx[1:])
        B[:, i[1:], i[:-1]] = B[:, i[:-1], i[1:]]
        mu, P = np.linalg.eigh(B)
        w0 = -(Q.T @ sy)[:, None] * sx[None, :]  # C(0) − 1 = −1 in the scaled mode coordinates
        coef = np.einsum("jki,jk->ji", P, w0) * np.exp(mu * time)
        W = np.einsum("jik,jk->ji", P, coef)
        return 1.0 + (Q @ W) / sy[:, None] / sx[None, :]


def _bdf2_field(xc, yc, wx, wy, Dx, gx, gy, k: float, time: float, steps_per_doubling: int) -> np.ndarray:
    """Field ``C[y, x]`` at ``time`` by the BDF2 integrator of the assembled sparse system (any ``k``)."""
    nx, ny = xc.size, yc.size
    idx = np.arange(nx * ny).reshape(ny, nx)
    rows, cols, vals = [], [], []
    diag = np.zeros((ny, nx))

    def link(a, b, g):
        rows.extend([a.ravel(), b.ravel()])
        cols.extend([b.ravel(), a.ravel()])
        vals.extend([g.ravel(), g.ravel()])

    cell_area = wy[:, None] * wx[None, :]
    g_lat = np.broadcast_to(gx[None, :] * wy[:, None], (ny, nx - 1))
    link(idx[:, :-1], idx[:, 1:], g_lat)
    diag[:, :-1] -= g_lat
    diag[:, 1:] -= g_lat
    g_vert = gy[:, None] * Dx[None, :] * wx[None, :]
    link(idx[:-1, :], idx[1:, :], g_vert)
    diag[:-1, :] -= g_vert
    diag[1:, :] -= g_vert
    g_surf = wx / (1.0 / k + yc[0] / Dx) if np.isfinite(k) else wx * Dx / yc[0]
    diag[0, :] -= g_surf
    rows.append(idx.ravel())
    cols.append(idx.ravel())
    vals.append(diag.ravel())
    K = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(nx * ny,) * 2)
    g = np.zeros(nx * ny)
    g[idx[0, :]] = g_surf
    C = bdf2_symmetric(K, cell_area.ravel(), g, np.zeros(nx * ny), time, bandwidth=nx,
                       steps_per_doubling=steps_per_doubling)
    return C.reshape(ny, nx)


def _depth_faces(depth: float, Lb: float, first: float, growth: float, max_cell: float) -> np.ndarray:
    """Depth faces (cm): cells ≤ √(D_bulk t)/4 down to 8√(D_bulk t), then graded up to ``max_cell``.

    The bulk erfc and the grain-boundary tail cross at a few √(D_bulk t); graded cells there reach
    √(D_bulk t) and misplace C̄ by ≈ 1e-4 of the source (many Poisson σ at 10⁷ counts per point), while
    the tail, which carries δD_gb, is smooth on the scale of ``max_cell``.
    """
    near_end = min(8 * Lb, depth)
    near = graded_faces(near_end, min(first, near_end), min(growth, 1.1), min(Lb / 4, max_cell))
    if near_end >= depth:
        return near
    rest = graded_faces(depth - near_end, near[-1] - near[-2], growth, max(max_cell, near[-1] - near[-2]))
    return np.r_[near, near_end + rest[1:]]


def _upper_band(S: sp.spmatrix, u: int) -> np.ndarray:
    """Upper banded storage of a symmetric matrix for :func:`scipy.linalg.cholesky_banded`."""
    n = S.shape[0]
    ab = np.zeros((u + 1, n))
    dia = S.todia()
    for off, data in zip(dia.offsets, dia.data):
        if 0 <= off <= u:
            ab[u - off, off:] = data[off:]
    return ab


def bdf2_symmetric(K: sp.spmatrix, mass: np.ndarray, g: np.ndarray, y0: np.ndarray, t_end: float, *, bandwidth: int,
                   steps_per_doubling: int = 12, first_fraction: float = 1e-9) -> np.ndarray:
    """Integrate ``M y' = K y + g`` (M = diag(mass), K symmetric negative semi-definite) to ``t_end``.

    Variable-step BDF2 started by implicit Euler. Steps are constant within blocks and double from
    block to block (from ``first_fraction·t_end``), so each doubling of time costs two banded
    Cholesky factorisations of the SPD matrix ``a M − h K`` (LAPACK pbtrf); the step ratio 2 keeps
    BDF2 zero-stable (ratio < 1 + √2).
    """
    n_blocks = int(np.ceil(np.log2(1.0 / first_fraction)))
    dt = t_end / ((2.0 ** n_blocks - 1) * steps_per_doubling)  # the blocks add up to t_end exactly
    Kb = _upper_band(K, bandwidth)
    Mb = np.zeros_like(Kb)
    Mb[-1] = mass
    y = y0.astype(float)
    cache: dict[tuple[float, float], np.ndarray] = {}

    def solve(a: float, h: float, rhs: np.ndarray) -> np.ndarray:
        if (a, h) not in cache:
            cache.clear()
            cache[(a, h)] = cholesky_banded(a * Mb - h * Kb, lower=False)
        return cho_solve_banded((cache[(a, h)], False), rhs)

    with threadpool_limits(1):  # small banded factorisations: BLAS threads only add contention
        return _bdf2_steps(solve, mass, g, y, dt, n_blocks, steps_per_doubling)


def _bdf2_steps(solve, mass, g, y, dt, n_blocks, steps_per_doubling):
    y_prev, h_prev = None, None
    for _block in range(n_blocks):
        for _ in range(steps_per_doubling):
            if y_prev is None:
                y_new = solve(1.0, dt, mass * y + dt * g)
            else:
                w = dt / h_prev
                rhs = mass * ((1 + w) * y - w * w / (1 + w) * y_prev) + dt * g
                y_new = solve((1 + 2 * w) / (1 + w), dt, rhs)
            y_prev, y, h_prev = y, y_new, dt
        dt *= 2
    return y


def fit_grain_boundary(depth_nm, fraction, time_s: float, *, D_bulk: float, grain_size_um: float,
                       delta_nm: float = 0.5, sigma=None, fit_D_bulk: bool = False, D_gb_start: float | None = None,
                       solver_options: dict | None = None, inputs=()) -> Result:
    """Fit the whole averaged profile with the 2D grain-boundary model: D_gb (and optionally D_bulk).

    Source and background fractions enter linearly and are eliminated at each step (variable
    projection), so only log₁₀ D_gb (and log₁₀ D_bulk) are iterated; each step solves the 2D model.
    Uncertainties come from the Jacobian of the projected residuals (scaled by χ²_red when ``sigma``
    is not given). When ``sigma`` is given and χ²_red exceeds
    :func:`~ionscope.model.goodness.poor_fit_limit`, the model does not describe the profile within its
    errors: a warning says so and the uncertainties are inflated by the Birge ratio √χ²_red (Birge
    1932, Phys. Rev. 40, 207, doi:10.1103/PhysRev.40.207).

    Returns
    -------
    Result
        ``D_gb_cm2_s``, ``D_gb_err_cm2_s``, ``delta_Dgb_cm3_s``, ``D_bulk_cm2_s`` (fitted or given),
        ``c_source``, ``c_background``, ``chi2_red``, ``chi2_red_limit``, ``birge_ratio`` (factor
        applied to the uncertainties, 1 when none), ``n_solves``.
    """
    from scipy.optimize import least_squares

    from ionscope.diffusion.fit import validate_profile
    from ionscope.model.provenance import make_provenance

    checked = validate_profile(depth_nm, fraction, sigma)
    x_nm, y, s = checked.depth_nm, checked.fraction, checked.sigma
    w = 1.0 / (s if s is not None else np.ones_like(y))
    delta = delta_nm * 1e-7
    opts = {"ny_max": 60, **(solver_options or {})}
    depth = x_nm.max() * 1e-7 * 1.3
    n_solves = [0]

    def shape(q):
        Dgb = 10.0 ** q[0]
        Db = 10.0 ** q[1] if fit_D_bulk else D_bulk
        n_solves[0] += 1
        sol = solve_grain_boundary(Db, Dgb, delta, time_s, grain_size=grain_size_um * 1e-4, depth=depth, **opts)
        return sol.averaged(x_nm * 1e-7)

    def linear(F):
        A = np.c_[np.ones_like(F), F] * w[:, None]
        coef, *_ = np.linalg.lstsq(A, y * w, rcond=None)
        return coef, A @ coef - y * w

    def resid(q):
        return linear(shape(q))[1]

    guess = np.log10(D_gb_start if D_gb_start is not None else 1e4 * D_bulk)
    q0 = np.array([guess] + ([np.log10(D_bulk)] if fit_D_bulk else []))
    lo = np.array([np.log10(D_bulk)] + ([-22.0] if fit_D_bulk else []))
    hi = np.array([np.log10(D_bulk) + 12] + ([-3.0] if fit_D_bulk else []))
    res = least_squares(resid, np.clip(q0, lo + 1e-6, hi - 1e-6), bounds=(lo, hi), x_scale=1.0, diff_step=1e-4,
                        xtol=1e-8, ftol=1e-10)
    coef, r = linear(shape(res.x))
    dof = max(y.size - q0.size - 2, 1)
    chi2_red = float(r @ r) / dof
    J = res.jac
    cov = np.linalg.pinv(J.T @ J) * (chi2_red if s is None else 1.0)
    limit = poor_fit_limit(dof)
    birge = birge_ratio(chi2_red, limit) if s is not None else 1.0
    err = birge * np.sqrt(np.clip(np.diag(cov), 0, None))
    Dgb = 10.0 ** res.x[0]
    Dgb_err = Dgb * np.log(10) * err[0]
    Db = 10.0 ** res.x[1] if fit_D_bulk else D_bulk
    warnings = []
    if birge > 1:
        warnings.append(f"poor 2-D fit: χ²_red = {chi2_red:.3g} > {limit:.3g} (1 + 3√(2/ν), ν = {dof}); the "
                        "grain-boundary model does not describe this profile within its errors, uncertainties "
                        f"inflated ×{birge:.3g} (Birge ratio √χ²_red)")
    if np.any(np.isclose(res.x, lo, atol=1e-3)) or np.any(np.isclose(res.x, hi, atol=1e-3)):
        warnings.append("a fitted diffusion coefficient is at its bound; the grain-boundary fit is not meaningful")
    beta = delta * Dgb / (2 * Db * np.sqrt(Db * time_s))
    values = {"D_gb_cm2_s": Dgb, "D_gb_err_cm2_s": Dgb_err, "D_gb": Quantity(Dgb, Dgb_err, "cm^2/s"),
              "delta_Dgb_cm3_s": delta * Dgb, "D_bulk_cm2_s": Db,
              "D_bulk": Quantity(Db, Db * np.log(10) * err[1] if fit_D_bulk else None, "cm^2/s"),
              "c_background": float(coef[0]), "c_source": float(coef[0] + coef[1]), "beta": float(beta),
              "chi2_red": chi2_red, "chi2_red_limit": float(limit), "birge_ratio": birge, "n_solves": n_solves[0]}
    prov = make_provenance("ionscope.diffusion.fit_grain_boundary", inputs=inputs, parameters={
        "time_s": time_s, "D_bulk": D_bulk, "grain_size_um": grain_size_um, "delta_nm": delta_nm,
        "fit_D_bulk": fit_D_bulk, "solver_options": opts})
    return Result("diffusion.grain_boundary_fit", values, warnings=tuple(warnings), provenance=prov)


HARRISON = "Harrison 1961, Trans. Faraday Soc. 57, 1191, doi:10.1039/TF9615701191"
LE_CLAIRE_1963 = "Le Claire 1963, Br. J. Appl. Phys. 14, 351, doi:10.1088/0508-3443/14/6/317"
#: Two estimates disagree when they differ by more than this many combined 1σ (two-sided p ≈ 0.3 %).
AGREEMENT_Z = 3.0


class HarrisonRegime(NamedTuple):
    """Harrison's kinetic regime letter, α = δ/(2√(D_bulk t)) (1) and √(D_bulk t) (cm)."""

    regime: str
    alpha: float
    bulk_length_cm: float


def harrison_regime(D_bulk: float, time_s: float, delta_nm: float, grain_size_um: float) -> HarrisonRegime:
    """Harrison's kinetic regime (A, B or C) with α = δ/(2√(D_bulk t)) and √(D_bulk t) (cm).

    Type A when the bulk diffusion length reaches the grain size (the grains are penetrated and
    the profile is one effective erfc); type B when δ ≪ √(D_bulk t) < grain size, taken as
    α ≤ 0.1 (Kaur, Mishin & Lojkowski 1995, *Fundamentals of Grain and Interphase Boundary
    Diffusion*, ch. 1); otherwise the boundary carries the tracer nearly alone (toward type C)
    (Harrison 1961, Trans. Faraday Soc. 57, 1191, doi:10.1039/TF9615701191).
    """
    Lb = float(np.sqrt(D_bulk * time_s))
    alpha = delta_nm * 1e-7 / (2 * Lb)
    if Lb >= grain_size_um * 1e-4:
        return HarrisonRegime("A", alpha, Lb)
    return HarrisonRegime("C" if alpha > 0.1 else "B", alpha, Lb)


def le_claire_reasons(regime: str, alpha: float, Lb: float, grain_size_um: float, betas: dict[str, float],
                      beta_min: float) -> list[str]:
    """Why Le Claire's 6/5 law does not hold (empty list: it holds).

    It needs Harrison's type B and β ≳ ``beta_min`` (Le Claire 1963, Br. J. Appl. Phys. 14, 351,
    doi:10.1088/0508-3443/14/6/317: the x^{6/5} slope and the constant 1.322 are established for
    β ≥ 10); every available estimate of β (2-D fit, Le Claire's own tail) must satisfy it, since a
    tail estimate whose own β is below the limit is not self-consistent.
    """
    reasons = []
    if regime == "A":
        reasons.append(f"type A: √(D_bulk t) = {Lb * 1e4:.3g} µm ≥ grain size {grain_size_um:.3g} µm")
    elif regime == "C":
        reasons.append(f"α = δ/2√(D_bulk t) = {alpha:.3g} > 0.1 (not type B)")
    for name, beta in betas.items():
        if not beta >= beta_min:
            reasons.append(f"β = {beta:.3g} < {beta_min:g} from {name}")
    return reasons


def _agreement(lc_value: Quantity, value: float, err: float) -> tuple[float, float]:
    """Ratio Le Claire / 2-D and the difference in combined 1σ (nan when unknown)."""
    ratio = lc_value.value / value
    sig = np.hypot(lc_value.uncertainty or 0.0, err)
    z = abs(lc_value.value - value) / sig if sig > 0 else float("inf")
    return float(ratio), float(z)


def grain_boundary_analysis(depth_nm, fraction, time_s: float, *, D_bulk: float, grain_size_um: float,
                            delta_nm: float = 0.5, sigma=None, tail_start_nm: float | None = None,
                            solver_options: dict | None = None, inputs=()) -> Result:
    """δ·D_gb from the numerical 2-D model, side by side with Le Claire's tail estimate and its regime.

    The 2-D fit (:func:`fit_grain_boundary`) uses the whole averaged profile and no asymptotics; Le
    Claire's tail formula (Le Claire 1963, Br. J. Appl. Phys. 14, 351, doi:10.1088/0508-3443/14/6/317;
    eq. 9 of Sharma et al. 2025, doi:10.1080/14686996.2025.2580917) uses the ln C̄ vs x^{6/5} tail
    above the background C₀ of the 2-D fit. It holds in Harrison's type-B regime (Harrison 1961,
    Trans. Faraday Soc. 57, 1191, doi:10.1039/TF9615701191; :func:`harrison_regime`) with
    β = δD_gb/(2D_bulk√(D_bulk t)) ≳ 10 for both the 2-D and the tail estimate of δD_gb
    (:func:`le_claire_reasons`). A poor 2-D fit (χ²_red above :func:`~ionscope.model.goodness.poor_fit_limit`) is warned
    and its uncertainty inflated by √χ²_red; two estimates more than 3 combined σ apart are warned.

    Returns
    -------
    Result
        Kind ``diffusion.gb``: ``delta_Dgb`` (cm³ s⁻¹), ``D_gb``, ``D_bulk`` (cm² s⁻¹), ``beta``,
        ``alpha``, ``regime`` (Harrison A, B or C), ``le_claire_holds``, ``le_claire_reasons``,
        ``le_claire`` (its δD_gb, β, regime, or the reason it failed), ``ratio_le_claire_to_2d``,
        ``z_le_claire_vs_2d`` (difference in combined 1σ), ``chi2_red``, ``chi2_red_limit``,
        ``birge_ratio``, ``n_solves``.
    """
    from ionscope.diffusion.grain_boundary import BETA_MIN, le_claire
    from ionscope.model.provenance import make_provenance

    if not (D_bulk > 0 and grain_size_um > 0 and delta_nm > 0 and time_s > 0):
        raise ValidationError("D_bulk, grain size, δ and time must all be positive")
    fit = fit_grain_boundary(depth_nm, fraction, time_s, D_bulk=D_bulk, grain_size_um=grain_size_um,
                             delta_nm=delta_nm, sigma=sigma, solver_options=solver_options)
    delta = delta_nm * 1e-7
    Dgb, Dgb_err = fit["D_gb_cm2_s"], fit["D_gb_err_cm2_s"]
    regime, alpha, Lb = harrison_regime(D_bulk, time_s, delta_nm, grain_size_um)
    beta = delta * Dgb / (2 * D_bulk * Lb)
    warnings = list(fit.warnings)
    betas = {"the 2-D fit": float(beta)}
    lc: dict = {}
    ratio, z = float("nan"), float("nan")
    try:
        lcr = le_claire(depth_nm, fraction, time_s, D_bulk, sigma=sigma, delta_nm=delta_nm,
                        tail_start_nm=tail_start_nm, background=fit["c_background"])
        lc = {"delta_Dgb": lcr["delta_Dgb"], "D_gb": lcr["D_gb"], "beta": lcr["beta"], "regime": lcr["regime"],
              "tail_start": lcr["tail_start"], "tail_end": lcr["tail_end"], "warnings": list(lcr.warnings)}
        betas["Le Claire's own tail"] = float(lcr["beta"])
        ratio, z = _agreement(lcr["delta_Dgb"], delta * Dgb, delta * Dgb_err)
    except ValidationError as exc:
        lc = {"error": exc.problem}
        warnings.append(f"Le Claire's tail analysis failed: {lc['error']}")
    reasons = le_claire_reasons(regime, alpha, Lb, grain_size_um, betas, BETA_MIN)
    if reasons:
        warnings.append(f"Le Claire's 6/5 law does not hold here ({'; '.join(reasons)}); it needs type B and "
                        f"β ≳ {BETA_MIN:g} ({LE_CLAIRE_1963}): use the 2-D result")
    if z > AGREEMENT_Z:
        warnings.append(f"the 2-D and Le Claire estimates of δD_gb disagree: ratio {ratio:.3g}, {z:.1f} combined σ "
                        f"apart (> {AGREEMENT_Z:g})")
    values = {"delta_Dgb": Quantity(delta * Dgb, delta * Dgb_err, "cm^3/s"), "D_gb": Quantity(Dgb, Dgb_err, "cm^2/s"),
              "D_bulk": Quantity(D_bulk, None, "cm^2/s", NoUncertainty.given("D_bulk is given, held fixed in the fit")),
              "delta": Quantity(delta_nm, None, "nm", NoUncertainty.given("the grain-boundary width δ is assumed")),
              "grain_size": Quantity(grain_size_um, None, "µm", NoUncertainty.given("the grain size is given")),
              "beta": float(beta), "alpha": float(alpha), "regime": regime, "le_claire_holds": not reasons,
              "le_claire_reasons": reasons, "le_claire": lc, "ratio_le_claire_to_2d": ratio,
              "z_le_claire_vs_2d": z, "chi2_red": fit["chi2_red"], "chi2_red_limit": fit["chi2_red_limit"],
              "birge_ratio": fit["birge_ratio"], "c_source": fit["c_source"], "c_background": fit["c_background"],
              "n_solves": fit["n_solves"]}
    prov = make_provenance("ionscope.diffusion.grain_boundary_analysis", inputs=inputs, parameters={
        "time_s": time_s, "D_bulk": D_bulk, "grain_size_um": grain_size_um, "delta_nm": delta_nm},
        parents=[dict(fit.provenance)])
    return Result("diffusion.gb", values, warnings=tuple(warnings), provenance=prov)
