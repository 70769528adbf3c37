"""Per-pixel diffusion maps from (scan, y, x) isotope cubes: batched Levenberg–Marquardt.

The erfc model runs in a fused, parallel numba kernel (one pass over the depth points per
iteration builds the 3×3 normal equations; :mod:`ionscope.diffusion._lm_kernel`). The
surface-exchange model is batched in NumPy: residuals, forward-difference Jacobians (recomputed
only for pixels whose parameters changed) and the small normal equations of all pixels of a block
are array operations (``np.linalg.solve`` on a stack of 4×4 systems). A 256 × 256 map of 200-point
profiles takes seconds rather than the minutes of a per-pixel ``curve_fit`` loop. Pixels are
processed in blocks of bounded memory. Models: ``semi-infinite`` (eq. 8 with k → ∞: log D, C_s,
C₀) and ``surface-exchange`` (eq. 8: log D, log k, C_s, C₀).
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from scipy.special import erfc, erfcx

from ionscope.model.arrays import coord
from ionscope.model.errors import ValidationError
from ionscope.model.provenance import make_provenance

NM = 1e-7
_LOG_D_RANGE = (-22.0, -3.0)
_LOG_K_RANGE = (-16.0, 0.0)


def _model(p: np.ndarray, x_cm: np.ndarray, t: float, surface: bool) -> np.ndarray:
    """Fractions (pixels, depth) for parameters p (pixels, n_par)."""
    D = 10.0 ** p[:, 0:1]
    L = np.sqrt(D * t)
    u = x_cm[None, :] / (2 * L)
    if surface:
        w = 10.0 ** p[:, 1:2] * L / D
        F = np.exp(-u * u) * (erfcx(u) - erfcx(u + w))
        cs, c0 = p[:, 2:3], p[:, 3:4]
    else:
        F = erfc(u)
        cs, c0 = p[:, 1:2], p[:, 2:3]
    return c0 + (cs - c0) * F


def _clip(p: np.ndarray, surface: bool) -> np.ndarray:
    p[:, 0] = np.clip(p[:, 0], *_LOG_D_RANGE)
    if surface:
        p[:, 1] = np.clip(p[:, 1], *_LOG_K_RANGE)
    p[:, -2:] = np.clip(p[:, -2:], 0.0, 1.0)
    return p


def _jacobian(p, x, t, surface, sw, r):
    """Weighted Jacobian (pixels, depth, parameters): analytic for erfc, forward differences for eq. 8."""
    npx, npar = p.shape
    if not surface:
        D = 10.0 ** p[:, 0:1]
        u = x[None, :] / (2 * np.sqrt(D * t))
        F = erfc(u)
        dF = np.exp(-u * u) * u * np.log(10) / np.sqrt(np.pi)  # dF/dlog10 D
        cs, c0 = p[:, 1:2], p[:, 2:3]
        return np.stack([(cs - c0) * dF, F, 1 - F], axis=2) * sw[..., None]
    J = np.empty((npx, x.size, npar))
    base = _model(p, x, t, surface)
    for j in range(npar):
        h = 1e-6 * np.maximum(1.0, np.abs(p[:, j]))
        pj = p.copy()
        pj[:, j] += h
        J[:, :, j] = (_model(pj, x, t, surface) - base) * sw / h[:, None]
    return J


def fit_block(frac: np.ndarray, sigma: np.ndarray, depth_nm: np.ndarray, time_s: float, *,
              model: str = "semi-infinite", iterations: int = 100) -> dict[str, np.ndarray]:
    """Fit every row of ``frac`` (pixels, depth) with weights 1/σ²; returns parameter and error arrays."""
    surface = model == "surface-exchange"
    if model not in ("semi-infinite", "surface-exchange"):
        raise ValidationError(f"map model must be 'semi-infinite' or 'surface-exchange', got {model!r}")
    x = depth_nm * NM
    npx, n = frac.shape
    wts = 1.0 / sigma ** 2
    valid = np.isfinite(frac) & np.isfinite(wts)
    wts = np.where(valid, wts, 0.0)
    y = np.where(valid, frac, 0.0)
    # starting values: background from the deepest tenth, source from the first points, D from the half-step depth
    tail = max(n // 10, 2)
    c0 = np.nanmedian(np.where(valid[:, -tail:], frac[:, -tail:], np.nan), axis=1)
    cs = np.nanmax(np.where(valid[:, :3], frac[:, :3], np.nan), axis=1)
    half = c0 + 0.5 * (cs - c0)
    below = np.where(valid & (frac < half[:, None]), np.arange(n)[None, :], n - 1).min(axis=1)
    xh = np.maximum(x[below], x[1] if n > 1 else x[0] + 1e-7)
    logD = np.log10(np.maximum((xh / (2 * 0.4769)) ** 2 / time_s, 1e-30))
    cols = [logD] + ([logD - 0.5 * np.log10(time_s * 10.0 ** logD) + 0.0] if surface else []) + [cs, c0]
    p = _clip(np.nan_to_num(np.stack(cols, axis=1), nan=0.5), surface)
    npar = p.shape[1]
    lam = np.full(npx, 1e-3)

    def cost_of(pp):
        r = (_model(pp, x, time_s, surface) - y) * np.sqrt(wts)
        return np.einsum("ij,ij->i", r, r), r

    if not surface:  # fused, parallel numba kernel for the erfc model
        from ionscope.diffusion._lm_kernel import lm_erfc

        p, var, cost = lm_erfc(y, wts, x, float(time_s), p, iterations, *_LOG_D_RANGE)
        err = np.sqrt(np.clip(var, 0, None))
        dof = np.maximum(valid.sum(axis=1) - npar, 1)
        D = 10.0 ** p[:, 0]
        return {"D": D, "D_err": D * np.log(10) * err[:, 0], "chi2_red": cost / dof,
                "c_source": p[:, 1], "c_background": p[:, 2]}
    cost, r = cost_of(p)
    eye = np.eye(npar)
    sw = np.sqrt(wts)
    active = np.ones(npx, dtype=bool)
    stale = np.ones(npx, dtype=bool)  # Jacobian must be (re)computed: parameters changed
    J = np.zeros((npx, n, npar))
    JtJ = np.zeros((npx, npar, npar))
    grad = np.zeros((npx, npar))
    for _ in range(iterations):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        new = idx[stale[idx]]
        if new.size:
            J[new] = _jacobian(p[new], x, time_s, surface, sw[new], r[new])
            Jt = J[new].transpose(0, 2, 1)
            JtJ[new] = Jt @ J[new]
            grad[new] = (Jt @ r[new][..., None])[..., 0]
            stale[new] = False
        A = JtJ[idx] + lam[idx, None, None] * (JtJ[idx] * eye + 1e-12 * eye)
        step = -np.linalg.solve(A, grad[idx][..., None])[..., 0]
        trial = _clip(p[idx] + step, surface)
        r_new = (_model(trial, x, time_s, surface) - y[idx]) * sw[idx]
        c_new = np.sum(r_new * r_new, axis=1)
        better = c_new < cost[idx]
        gain = cost[idx] - c_new
        upd = idx[better]
        p[upd], r[upd], cost[upd] = trial[better], r_new[better], c_new[better]
        stale[upd] = True
        lam[idx] = np.where(better, lam[idx] / 3, lam[idx] * 4)
        done = (better & (gain < 1e-9 * (1 + cost[idx]))) | (np.abs(step).max(axis=1) < 1e-9) | (lam[idx] > 1e8)
        active[idx[done]] = False
    J = _jacobian(p, x, time_s, surface, sw, r)
    JtJ = J.transpose(0, 2, 1) @ J
    try:
        cov = np.linalg.inv(JtJ)
    except np.linalg.LinAlgError:  # some pixel's data do not constrain every parameter
        cov = np.linalg.pinv(JtJ)
    dof = np.maximum(valid.sum(axis=1) - npar, 1)
    err = np.sqrt(np.clip(np.diagonal(cov, axis1=1, axis2=2), 0, None))
    D = 10.0 ** p[:, 0]
    out = {"D": D, "D_err": D * np.log(10) * err[:, 0], "chi2_red": cost / dof,
           "c_source": p[:, -2], "c_background": p[:, -1]}
    if surface:
        k = 10.0 ** p[:, 1]
        out["k"], out["k_err"] = k, k * np.log(10) * err[:, 1]
    return out


def diffusion_map(tracer, other, depth_nm, time_s: float, *, model: str = "semi-infinite",
                  block_pixels: int = 2048, pixel_size_um: float = 1.0, progress=None) -> xr.Dataset:
    """Per-pixel D (and k) maps with 1σ uncertainty maps from two (scan, y, x) isotope count cubes.

    Parameters
    ----------
    tracer, other
        Count cubes (scan, y, x) of the tracer and the other isotope (NumPy, Dask or memory-mapped).
    depth_nm
        Depth of each scan, nm (strictly increasing).
    time_s
        Anneal time, s.
    model
        ``semi-infinite`` or ``surface-exchange``.
    block_pixels
        Pixels fitted together; bounds the working memory to ≈ block × scans × (parameters + 4) × 8 B.
    progress
        Optional callable advanced once per block.

    Returns
    -------
    xarray.Dataset
        ``D``, ``D_err`` (cm² s⁻¹), ``chi2_red``, ``c_source``, ``c_background`` and for surface exchange
        ``k``, ``k_err`` (cm s⁻¹), each (y, x) with µm coordinates; provenance and warnings in attrs.
    """
    from ionscope.diffusion.fraction import isotope_fraction

    if np.ndim(tracer) != 3 or np.shape(tracer) != np.shape(other):
        raise ValidationError("isotope cubes must both be (scan, y, x) with the same shape")
    depth = np.asarray(depth_nm, dtype=float)
    nz, ny, nx = np.shape(tracer)
    if depth.shape != (nz,) or np.any(np.diff(depth) <= 0):
        raise ValidationError("depth must give one strictly increasing value (nm) per scan")
    if not time_s > 0:
        raise ValidationError(f"anneal time must be positive, got {time_s!r} s")
    rows_per_block = max(1, block_pixels // nx)
    results: dict[str, np.ndarray] = {}
    for y0 in range(0, ny, rows_per_block):
        y1 = min(ny, y0 + rows_per_block)
        a = np.asarray(tracer[:, y0:y1, :], dtype=float).reshape(nz, -1).T
        b = np.asarray(other[:, y0:y1, :], dtype=float).reshape(nz, -1).T
        frac, sig = isotope_fraction(a, b)
        block = fit_block(frac, sig, depth, time_s, model=model)
        for key, val in block.items():
            results.setdefault(key, np.empty(ny * nx))[y0 * nx:y1 * nx] = val
        if progress is not None:
            progress()
    coords = {"y": coord("y", (np.arange(ny) + 0.5) * pixel_size_um, "µm"),
              "x": coord("x", (np.arange(nx) + 0.5) * pixel_size_um, "µm")}
    units = {"D": "cm^2/s", "D_err": "cm^2/s", "k": "cm/s", "k_err": "cm/s", "chi2_red": "1",
             "c_source": "fraction", "c_background": "fraction"}
    ds = xr.Dataset({k: xr.DataArray(v.reshape(ny, nx), dims=("y", "x"), attrs={"units": units[k]})
                     for k, v in results.items()}, coords=coords)
    warnings = []
    at_bound = np.isclose(np.log10(ds["D"].values), _LOG_D_RANGE[0]) | np.isclose(np.log10(ds["D"].values),
                                                                                  _LOG_D_RANGE[1])
    if at_bound.any():
        warnings.append(f"{int(at_bound.sum())} pixel(s) have D at the bound of the allowed range")
    bad = ds["chi2_red"].values > 3
    if bad.any():
        warnings.append(f"{int(bad.sum())} pixel(s) fit poorly (χ²_red > 3)")
    ds.attrs["warnings"] = warnings
    ds.attrs["provenance"] = make_provenance("ionscope.diffusion.diffusion_map", parameters={
        "model": model, "time_s": time_s, "shape": [nz, ny, nx]})
    return ds
