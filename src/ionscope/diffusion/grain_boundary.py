"""Grain-boundary diffusion: Le Claire's tail analysis and flux continuity in a map (eqs. 9 and 10 of
Sharma, Hasegawa, Xing & Kuwata 2025, Sci. Technol. Adv. Mater. 26, 2580917, doi:10.1080/14686996.2025.2580917).

Le Claire 1963 (Br. J. Appl. Phys. 14, 351, doi:10.1088/0508-3443/14/6/317): in the type-B
regime the deep tail of the laterally averaged profile follows
``ln C̄ = const − (∂ln C̄/∂x^{6/5}) x^{6/5}`` and
``δ D_gb = 1.322 (D_bulk/t)^{1/2} (−∂ln C̄/∂x^{6/5})^{−5/3}`` (Sharma et al. 2025, eq. 9,
doi:10.1080/14686996.2025.2580917). The regime
parameter is ``β = δ D_gb / (2 D_bulk √(D_bulk t))`` (segregation factor 1); the 6/5 law holds
for β ≳ 10 with ``α = δ / (2√(D_bulk t)) < 0.1`` (Harrison 1961 type B,
doi:10.1039/TF9615701191: √(D_bulk t) ≫ δ and smaller than the grain size).
"""

from __future__ import annotations

import numpy as np

from ionscope.model.errors import ValidationError
from ionscope.model.provenance import make_provenance
from ionscope.model.result import NoUncertainty, Quantity, Result

NM = 1e-7
LE_CLAIRE = 1.322
BETA_MIN = 10.0


def _line(s: np.ndarray, z: np.ndarray, w: np.ndarray):
    """Weighted straight line z = a + b s; returns slope, its σ, intercept, χ²_red and a curvature z-score."""
    W = np.sqrt(w)
    A = np.c_[np.ones_like(s), s] * W[:, None]
    coef, res, *_ = np.linalg.lstsq(A, z * W, rcond=None)
    r = z * W - A @ coef
    dof = max(s.size - 2, 1)
    chi2r = float(r @ r) / dof
    cov = np.linalg.inv(A.T @ A) * max(chi2r, 1e-300)
    sc = (s - s.mean()) / (np.ptp(s) or 1.0)
    A2 = np.c_[np.ones_like(sc), sc, sc * sc] * W[:, None]
    c2, *_ = np.linalg.lstsq(A2, z * W, rcond=None)
    r2 = z * W - A2 @ c2
    cov2 = np.linalg.inv(A2.T @ A2) * max(float(r2 @ r2) / max(s.size - 3, 1), 1e-300)
    curv_z = abs(c2[2]) / np.sqrt(cov2[2, 2]) if cov2[2, 2] > 0 else np.inf
    return float(coef[1]), float(np.sqrt(cov[1, 1])), float(coef[0]), chi2r, float(curv_z)


def le_claire(depth_nm, fraction, time_s: float, D_bulk: float, *, background: float = 0.0, sigma=None,
              delta_nm: float | None = None, tail_start_nm: float | None = None, min_points: int = 6,
              inputs=()) -> Result:
    """δD_gb from the tail of ln C̄ vs x^{6/5} with automatic tail selection and a β check.

    Le Claire 1963, Br. J. Appl. Phys. 14, 351, doi:10.1088/0508-3443/14/6/317; eq. 9 of Sharma et al.
    2025, doi:10.1080/14686996.2025.2580917.

    Parameters
    ----------
    depth_nm, fraction
        Averaged depth profile (nm; tracer fraction or normalised concentration).
    time_s
        Anneal time, s.
    D_bulk
        Bulk diffusion coefficient, cm² s⁻¹ (from the near-surface part of the profile).
    background
        Fraction subtracted before taking the logarithm (natural abundance); the result is
        normalised by the surface value.
    sigma
        1σ of each fraction (weights of the line fit); default: relative errors equal.
    delta_nm
        Boundary width for the α check (default 0.5 nm).
    tail_start_nm
        Force the tail to start here instead of choosing it automatically.

    Tail selection: only points deeper than 3√(D_bulk t) (bulk contribution erfc(1.5) < 4 %) and
    above the noise (C − C₀ > 3σ, or > 10⁻⁶ of the surface step) are candidates; the tail is the
    longest suffix of those on which ln C̄ vs x^{6/5} has no significant curvature (|z| < 3).

    Returns
    -------
    Result
        ``delta_Dgb_cm3_s`` (and quantity ``delta_Dgb``), ``beta``, ``alpha``, ``slope``,
        tail range, warnings outside type B.
    """
    t = float(time_s)
    if not (np.isfinite(t) and t > 0):
        raise ValidationError(f"anneal time must be positive, got {time_s!r} s")
    if not (np.isfinite(D_bulk) and D_bulk > 0):
        raise ValidationError(f"D_bulk must be a positive number of cm²/s, got {D_bulk!r}")
    from ionscope.diffusion.fit import validate_profile

    checked = validate_profile(depth_nm, fraction, sigma)
    x_nm, y, s = checked.depth_nm, checked.fraction, checked.sigma
    step = y[0] - background
    if not step > 0:
        raise ValidationError("the profile does not start above the background; no tracer uptake to analyse")
    c = (y - background) / step
    sc = (s / step) if s is not None else None
    Lb = np.sqrt(D_bulk * t)
    x_cm = x_nm * NM
    noise = 3 * sc if sc is not None else np.full_like(c, 1e-6)
    ok = (c > noise) & (c > 0)
    cand = ok & (x_cm >= (tail_start_nm * NM if tail_start_nm is not None else 3 * Lb))
    idx = np.flatnonzero(cand)
    # the tail ends at the first point lost in the noise
    if idx.size:
        stop = idx[0]
        while stop + 1 < c.size and ok[stop + 1]:
            stop += 1
        idx = idx[idx <= stop]
    if idx.size < min_points:
        raise ValidationError(f"only {idx.size} point(s) of the profile lie deeper than 3√(D_bulk·t) = "
                              f"{3 * Lb / NM:.3g} nm and above the noise; the Le Claire tail needs ≥ {min_points}")
    s6 = x_cm[idx] ** 1.2
    z = np.log(c[idx])
    w = np.ones_like(z) if sc is None else (c[idx] / sc[idx]) ** 2
    chosen, warnings = None, []
    for start in range(0, idx.size - min_points + 1):
        fitres = _line(s6[start:], z[start:], w[start:])
        if fitres[4] < 3 or tail_start_nm is not None:
            chosen = (start, fitres)
            break
    if chosen is None:
        start = idx.size - min_points
        chosen = (start, _line(s6[start:], z[start:], w[start:]))
        warnings.append("no straight tail found in ln C vs x^(6/5) (curvature significant everywhere); the last "
                        f"{min_points} points were used")
    start, (slope, slope_err, _, chi2r, _) = chosen
    if not slope < 0:
        raise ValidationError("the tail of ln C vs x^(6/5) does not decrease; no grain-boundary tail to analyse")
    m6 = -slope
    dDgb = LE_CLAIRE * np.sqrt(D_bulk / t) * m6 ** (-5.0 / 3.0)
    dDgb_err = dDgb * 5.0 / 3.0 * slope_err / m6
    delta = (delta_nm if delta_nm is not None else 0.5) * NM
    beta = dDgb / (2 * D_bulk * Lb)
    alpha = delta / (2 * Lb)
    if beta < BETA_MIN:
        warnings.append(f"β = {beta:.3g} < {BETA_MIN:g}: outside the type-B regime where Le Claire's 6/5 law "
                        "(Le Claire 1963, doi:10.1088/0508-3443/14/6/317) holds; it "
                        "overestimates δD_gb — fit the whole profile with the numerical grain-boundary model")
    if alpha > 0.1:
        warnings.append(f"α = δ/2√(D_bulk t) = {alpha:.3g} > 0.1: type-C-like regime (Harrison 1961, "
                        "doi:10.1039/TF9615701191), Le Claire's 6/5 law does not apply")
    if beta > 1e4:
        warnings.append(f"β = {beta:.3g} > 10⁴: beyond the range where the constant 1.322 was established")
    tail = x_nm[idx[start:]]
    values = {
        "delta_Dgb_cm3_s": dDgb, "delta_Dgb_err_cm3_s": dDgb_err,
        "delta_Dgb": Quantity(dDgb, dDgb_err, "cm^3/s"),
        "D_gb": Quantity(dDgb / delta, dDgb_err / delta, "cm^2/s"),
        "delta_nm": delta / NM, "beta": beta, "alpha": alpha, "regime": "B" if beta >= BETA_MIN and alpha <= 0.1
        else "not B",
        "slope_per_cm6_5": slope, "slope_err": slope_err, "chi2_red_tail": chi2r,
        "tail_start_nm": float(tail[0]), "tail_end_nm": float(tail[-1]), "tail_points": int(tail.size),
        "delta": Quantity(delta / NM, None, "nm", NoUncertainty.given("the grain-boundary width δ is assumed")),
        "tail_start": Quantity(float(tail[0]), None, "nm", NoUncertainty.given("a depth point of the profile")),
        "tail_end": Quantity(float(tail[-1]), None, "nm", NoUncertainty.given("a depth point of the profile")),
    }
    prov = make_provenance("ionscope.diffusion.le_claire", inputs=inputs, parameters={
        "time_s": t, "D_bulk": D_bulk, "background": background, "delta_nm": delta / NM,
        "tail_start_nm": tail_start_nm})
    return Result("diffusion.le_claire", values, warnings=tuple(warnings), provenance=prov)


def boundary_flux_continuity(position_um, fraction, *, D_bulk: float, delta_nm: float, boundary_um: float | None = None,
                             window_um: float | None = None, sigma=None, inputs=()) -> Result:
    """D_gb from a line profile across a boundary in an isotope map.

    Eq. 10 of Sharma et al. 2025, doi:10.1080/14686996.2025.2580917.

    ``−D_bulk ∂C/∂x|bulk = −D_gb ΔC_gb/δ`` ⇒ ``D_gb = D_bulk |∂C/∂x|bulk δ / ΔC_gb``. The boundary is
    located at the steepest jump of C (or at ``boundary_um``); straight lines are fitted to the bulk
    on each side within ``window_um``; ΔC_gb is the jump between the two lines at the boundary and
    the gradient is the mean of the two bulk slopes (flux continuity makes them equal).

    Parameters
    ----------
    position_um, fraction
        Positions along the line (µm) and the tracer fraction.
    D_bulk
        Bulk diffusion coefficient, cm² s⁻¹ (e.g. PFG-NMR).
    delta_nm
        Grain-boundary width δ, nm.
    """
    x = np.asarray(position_um, float)
    y = np.asarray(fraction, float)
    if x.size < 7 or x.shape != y.shape:
        raise ValidationError("a line profile across a boundary needs ≥ 7 points with matching positions")
    if np.any(np.diff(x) <= 0):
        raise ValidationError("positions along the line must increase strictly")
    if not (D_bulk > 0 and delta_nm > 0):
        raise ValidationError("D_bulk and δ must be positive")
    w = np.ones_like(y) if sigma is None else 1.0 / np.asarray(sigma, float) ** 2
    if boundary_um is None:
        j = int(np.argmax(np.abs(np.diff(y))))
        xb = 0.5 * (x[j] + x[j + 1])
    else:
        xb = float(boundary_um)
    win = window_um if window_um is not None else 0.5 * min(xb - x[0], x[-1] - xb)
    left = (x < xb) & (x >= xb - win)
    right = (x > xb) & (x <= xb + win)
    # the points adjacent to the boundary are smeared by the lateral resolution: leave them out
    left &= x < x[left].max() if left.sum() > 3 else left
    right &= x > x[right].min() if right.sum() > 3 else right
    if left.sum() < 2 or right.sum() < 2:
        raise ValidationError("too few points on one side of the boundary for a bulk gradient")

    def fit(sel):
        A = np.c_[np.ones(sel.sum()), x[sel] - xb] * np.sqrt(w[sel])[:, None]
        coef, *_ = np.linalg.lstsq(A, y[sel] * np.sqrt(w[sel]), rcond=None)
        r = y[sel] * np.sqrt(w[sel]) - A @ coef
        dof = max(sel.sum() - 2, 1)
        cov = np.linalg.inv(A.T @ A) * (float(r @ r) / dof if sigma is None else 1.0)
        return coef, cov

    (al, bl), cl = fit(left)
    (ar, br), cr = fit(right)
    dC = abs(al - ar)
    dC_err = np.sqrt(cl[0, 0] + cr[0, 0])
    grad = 0.5 * (abs(bl) + abs(br)) / 1e-4  # per µm → per cm
    grad_err = 0.5 * np.sqrt(cl[1, 1] + cr[1, 1]) / 1e-4
    delta = delta_nm * NM
    Dgb = D_bulk * grad * delta / dC
    rel = np.sqrt((grad_err / grad) ** 2 + (dC_err / dC) ** 2) if grad > 0 and dC > 0 else np.inf
    warnings = []
    if dC < 3 * dC_err:
        warnings.append("the concentration jump at the boundary is not significant (< 3σ); D_gb is unreliable")
    if np.sign(bl) != np.sign(br):
        warnings.append("the bulk gradients on the two sides have opposite signs: flux continuity does not hold "
                        "along this line")
    values = {"D_gb_cm2_s": Dgb, "D_gb_err_cm2_s": Dgb * rel, "D_gb": Quantity(Dgb, Dgb * rel, "cm^2/s"),
              "boundary_um": xb, "delta_C_gb": Quantity(dC, dC_err, "fraction"),
              "bulk_gradient_per_um": Quantity(grad * 1e-4, grad_err * 1e-4, "1/µm")}
    prov = make_provenance("ionscope.diffusion.boundary_flux_continuity", inputs=inputs,
                           parameters={"D_bulk": D_bulk, "delta_nm": delta_nm, "window_um": win})
    return Result("diffusion.flux_continuity", values, warnings=tuple(warnings), provenance=prov)
