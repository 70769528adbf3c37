"""Transport relations: Arrhenius (eq. 2), Nernst–Einstein (eq. 4), Haven ratio (eq. 5),
thermodynamic factor (eq. 7) and chemical diffusion D̃ = Θ D_σ (eq. 6) of Sharma, Hasegawa, Xing &
Kuwata 2025, Sci. Technol. Adv. Mater. 26, 2580917, doi:10.1080/14686996.2025.2580917.
"""

from __future__ import annotations

import numpy as np

from ionscope.model.deprecation import renamed_parameters
from ionscope.model.errors import ValidationError
from ionscope.model.goodness import birge_ratio, poor_fit_limit
from ionscope.model.provenance import make_provenance
from ionscope.model.result import NoUncertainty, Quantity, Result

K_B_EV = 8.617333262e-5  # eV/K
K_B = 1.380649e-23  # J/K
E_CHARGE = 1.602176634e-19  # C

#: Kelvin temperatures below this are taken as a mistake (°C given where K is expected).
T_MIN_K = 150.0
T_MAX_K = 2500.0


def check_kelvin(T_K, *, what: str = "temperature", advice: str = "were °C given? kelvin = °C + 273.15") -> np.ndarray:
    """Temperatures in K, refusing values that look like °C (< 150 K) or are impossible.

    Parameters
    ----------
    T_K
        Temperature(s), K.
    what
        What the values are, for the message (e.g. ``"--T"``).
    advice
        How the caller's user gives kelvin (a column, an option with a unit), appended to the
        message for a value below :data:`T_MIN_K`.
    """
    T = np.atleast_1d(np.asarray(T_K, dtype=float))
    if np.any(~np.isfinite(T)) or np.any(T <= 0):
        raise ValidationError(f"{what} must be positive kelvin values, got {T.tolist()}")
    if np.any(T < T_MIN_K):
        raise ValidationError(f"{what} {T.min():g} K is implausibly low (< {T_MIN_K:g} K) for diffusion or "
                              f"conductivity data; {advice}")
    if np.any(T > T_MAX_K):
        raise ValidationError(f"{what} {T.max():g} K is implausibly high")
    return T


@renamed_parameters(D_err="D_uncertainty")
def arrhenius(T_K, D, D_uncertainty=None, *, inputs=()) -> Result:
    """Fit ``D = D₀ exp(−Eₐ/k_B T)`` (eq. 2 of Sharma et al. 2025, doi:10.1080/14686996.2025.2580917)
    as a weighted straight line in (1/T, ln D).

    Parameters
    ----------
    T_K
        Temperatures, K.
    D
        Diffusion coefficients, cm² s⁻¹.
    D_uncertainty
        1σ of each D, cm² s⁻¹ (formerly ``D_err``; weights ``(D/σ_D)²``); without it the covariance
        is scaled by the residual variance (needs ≥ 3 points).

    Returns
    -------
    Result
        ``Ea_eV``, ``Ea_err_eV``, ``D0_cm2_s``, ``D0_err_cm2_s`` (σ of D₀ from σ of ln D₀), quantities
        ``Ea``, ``D0``, the ln D₀–Eₐ correlation, ``chi2_red``, ``chi2_red_limit`` (None with ν = 0
        degrees of freedom) and ``birge_ratio`` (factor applied to the uncertainties, 1 when none).

    Notes
    -----
    With ``D_uncertainty`` and ν = n − 2 ≥ 1, χ²_red above
    :func:`~ionscope.model.goodness.poor_fit_limit` ``1 + 3√(2/ν)`` (three standard deviations √(2/ν)
    of χ²_red above its mean 1) says one straight line does not describe the points within their
    errors (e.g. a change of mechanism between temperature ranges): a warning says so and the
    uncertainties of Eₐ and D₀ are inflated by the Birge ratio √χ²_red (Birge 1932, Phys. Rev. 40,
    207, doi:10.1103/PhysRev.40.207).
    """
    T = check_kelvin(T_K)
    Dv = np.atleast_1d(np.asarray(D, dtype=float))
    if Dv.shape != T.shape:
        raise ValidationError("temperatures and diffusion coefficients differ in length")
    if np.any(~(Dv > 0)):
        raise ValidationError("diffusion coefficients must be positive (cm²/s)")
    if np.unique(T).size < 2:
        raise ValidationError("an Arrhenius fit needs at least two different temperatures")
    if D_uncertainty is None and T.size < 3:
        raise ValidationError("without uncertainties an Arrhenius fit needs at least three temperatures")
    z = np.log(Dv)
    if D_uncertainty is not None:
        e = np.atleast_1d(np.asarray(D_uncertainty, dtype=float))
        if e.shape != Dv.shape or np.any(~(e > 0)):
            raise ValidationError("D uncertainties must be positive, one per point")
        w = (Dv / e) ** 2
    else:
        w = np.ones_like(z)
    A = np.c_[np.ones_like(T), -1.0 / (K_B_EV * T)]
    Wsq = np.sqrt(w)
    coef, *_ = np.linalg.lstsq(A * Wsq[:, None], z * Wsq, rcond=None)
    r = (z - A @ coef) * Wsq
    dof = T.size - 2
    chi2_red = float(r @ r) / dof if dof > 0 else float("nan")
    cov = np.linalg.inv((A * w[:, None]).T @ A)
    if D_uncertainty is None:
        cov = cov * chi2_red
    limit = poor_fit_limit(dof) if dof > 0 else None
    birge = birge_ratio(chi2_red, limit) if D_uncertainty is not None and limit is not None else 1.0
    lnD0, Ea = coef
    s_lnD0, s_Ea = birge * np.sqrt(np.diag(cov))
    D0 = float(np.exp(lnD0))
    warnings = []
    if birge > 1:
        warnings.append(f"poor Arrhenius fit: χ²_red = {chi2_red:.3g} > {limit:.3g} (1 + 3√(2/ν), ν = {dof}); the "
                        "points scatter more than their uncertainties and a single Arrhenius line may not describe "
                        f"them (regime change?); uncertainties inflated ×{birge:.3g} (Birge ratio √χ²_red)")
    values = {"Ea_eV": float(Ea), "Ea_err_eV": float(s_Ea), "D0_cm2_s": D0, "D0_err_cm2_s": float(D0 * s_lnD0),
              "Ea": Quantity(Ea, s_Ea, "eV"), "D0": Quantity(D0, D0 * s_lnD0, "cm^2/s"),
              "ln_D0": Quantity(lnD0, s_lnD0, "ln(cm^2/s)"),
              "correlation_lnD0_Ea": float(cov[0, 1] / np.sqrt(cov[0, 0] * cov[1, 1])),
              "chi2_red": chi2_red, "chi2_red_limit": limit, "birge_ratio": birge, "n_points": int(T.size)}
    prov = make_provenance("ionscope.diffusion.arrhenius", inputs=inputs,
                           parameters={"T_K": T, "weighted": D_uncertainty is not None})
    return Result("diffusion.arrhenius", values, warnings=tuple(warnings), provenance=prov)


def arrhenius_D(T_K, D0: float, Ea_eV: float) -> np.ndarray:
    """``D₀ exp(−Eₐ/k_B T)`` in the unit of D₀."""
    return D0 * np.exp(-Ea_eV / (K_B_EV * np.asarray(T_K, dtype=float)))


def nernst_einstein(sigma_S_cm: float, n_per_cm3: float, T_K: float, z: int = 1) -> float:
    """Charge diffusion coefficient ``D_σ = k_B T σ / (n (z e)²)`` (eq. 4 of Sharma et al. 2025,
    doi:10.1080/14686996.2025.2580917), cm² s⁻¹.

    σ in S cm⁻¹ and n in cm⁻³ give cm² s⁻¹ directly (J·S·cm²/C² = cm² s⁻¹).
    """
    T = float(check_kelvin(T_K)[0])
    if not (sigma_S_cm > 0 and n_per_cm3 > 0 and z != 0):
        raise ValidationError("σ and n must be positive and the charge number non-zero")
    return K_B * T * float(sigma_S_cm) / (float(n_per_cm3) * (z * E_CHARGE) ** 2)


@renamed_parameters(D_star_err="D_star_uncertainty", sigma_err="sigma_uncertainty", n_err="n_uncertainty")
def haven_ratio(D_star: float, sigma_S_cm: float, n_per_cm3: float, T_K: float, *, z: int = 1,
                D_star_uncertainty: float | None = None, sigma_uncertainty: float | None = None,
                n_uncertainty: float | None = None, inputs=()) -> Result:
    """Haven ratio ``H_R = D*/D_σ`` (eq. 5 of Sharma et al. 2025, doi:10.1080/14686996.2025.2580917) with D_σ
    from Nernst–Einstein (eq. 4 there).

    Relative uncertainties of D*, σ and n add in quadrature (H_R ∝ D* n / σ). ``D_star_uncertainty``
    (cm²/s), ``sigma_uncertainty`` (S/cm) and ``n_uncertainty`` (cm⁻³) are their 1σ, in the units of
    ``D_star``, ``sigma_S_cm`` and ``n_per_cm3`` (formerly ``D_star_err``, ``sigma_err``, ``n_err``).
    """
    if not D_star > 0:
        raise ValidationError("D* must be positive (cm²/s)")
    Ds = nernst_einstein(sigma_S_cm, n_per_cm3, T_K, z)
    H = D_star / Ds
    given = ((D_star_uncertainty, D_star), (sigma_uncertainty, sigma_S_cm), (n_uncertainty, n_per_cm3))
    rel = [e / v for e, v in given if e is not None]
    H_err = H * float(np.sqrt(np.sum(np.square(rel)))) if rel else None
    rel_ds = [e / v for e, v in ((sigma_uncertainty, sigma_S_cm), (n_uncertainty, n_per_cm3)) if e is not None]
    rel_ds = rel_ds + [0.0] * (2 - len(rel_ds)) if rel_ds else []
    warnings = []
    if H > 1.5 or H < 0.05:
        warnings.append(f"H_R = {H:.3g} is outside the usual 0.1–1 range: check n (carriers per cm³) and σ units "
                        "(S/cm)")
    if not rel:
        warnings.append("no input uncertainties given: H_R has no uncertainty")
    values = {"D_sigma_cm2_s": Ds, "haven_ratio": H, "haven_ratio_err": H_err,
              "D_sigma": Quantity(Ds, Ds * float(np.hypot(rel_ds[0], rel_ds[1])) if rel_ds else None, "cm^2/s",
                                  why_no_uncertainty="no uncertainties of σ or n were given"),
              "H_R": Quantity(H, H_err, "1", why_no_uncertainty="no uncertainties of D*, σ or n were given"),
              "T_K": float(T_K),
              "T": Quantity(T_K, None, "K", NoUncertainty.given("the temperature is given, taken as exact"))}
    prov = make_provenance("ionscope.diffusion.haven_ratio", inputs=inputs, parameters={
        "D_star": D_star, "sigma_S_cm": sigma_S_cm, "n_per_cm3": n_per_cm3, "T_K": T_K, "z": z})
    return Result("diffusion.haven", values, warnings=tuple(warnings), provenance=prov)


def thermodynamic_factor(x, E_V, T_K: float, *, smoothing: float | None = None) -> Result:
    """Thermodynamic factor ``Θ = −(e x / k_B T) dE/dx`` (eq. 7 of Sharma et al. 2025,
    doi:10.1080/14686996.2025.2580917) from an OCV curve E(x).

    The derivative comes from a cubic smoothing spline whose smoothing is chosen by generalised
    cross-validation (:func:`scipy.interpolate.make_smoothing_spline`) unless ``smoothing`` (λ) is
    given — differentiating noisy OCV data point to point amplifies the noise by 1/Δx.

    Parameters
    ----------
    x
        Lithium composition (e.g. x in LiₓCoO₂), strictly increasing.
    E_V
        Electrode potential, V.
    T_K
        Temperature, K.

    Returns
    -------
    Result
        ``diffusion.thermodynamic_factor``: ``theta``, Θ at each x (1), and ``dE_dx``, the smoothed
        dE/dx (V per unit x).
    """
    from scipy.interpolate import make_smoothing_spline

    xv = np.asarray(x, dtype=float)
    E = np.asarray(E_V, dtype=float)
    if xv.shape != E.shape or xv.size < 5:
        raise ValidationError("an OCV curve needs ≥ 5 (x, E) points of equal length")
    if np.any(np.diff(xv) <= 0):
        raise ValidationError("composition x of the OCV curve must increase strictly")
    T = float(check_kelvin(T_K)[0])
    spline = make_smoothing_spline(xv, E, lam=smoothing)
    dE = spline.derivative()(xv)
    theta = -(E_CHARGE * xv / (K_B * T)) * dE
    return Result("diffusion.thermodynamic_factor", {"theta": theta, "dE_dx": dE})


def chemical_diffusion(theta, D_sigma) -> np.ndarray:
    """Chemical diffusion coefficient ``D̃ = Θ D_σ`` (eq. 6 of Sharma et al. 2025,
    doi:10.1080/14686996.2025.2580917), in the unit of D_σ."""
    return np.asarray(theta, dtype=float) * np.asarray(D_sigma, dtype=float)


def chemical_from_tracer(D_star: float, thermodynamic_factor: float, haven: float, *,
                         D_star_err: float | None = None, theta_err: float | None = None,
                         haven_err: float | None = None, inputs=()) -> Result:
    """Chemical diffusion coefficient from the tracer one: ``D̃ = Θ D_σ = Θ D*/H_R``.

    Combines eqs. 5 and 6 of Sharma, Hasegawa, Xing & Kuwata 2025 (doi:10.1080/14686996.2025.2580917):
    ``D_σ = D*/H_R`` (Haven ratio) and ``D̃ = Θ D_σ`` (thermodynamic factor Θ, eq. 7 of the same paper). Relative 1σ of
    D*, Θ and H_R add in quadrature, i.e. they are taken as independent — not so when H_R was itself
    computed from the same D* (then give D_σ from the conductivity via ``diffusion haven`` instead).

    Parameters
    ----------
    D_star
        Tracer diffusion coefficient, cm² s⁻¹.
    thermodynamic_factor
        Θ = ∂ln a/∂ln c (dimensionless, > 0; ≈ 1 for an ideal dilute solution).
    haven
        Haven ratio H_R (dimensionless, > 0).

    Returns
    -------
    Result
        Kind ``diffusion.chemical``: quantities ``D_chemical``, ``D_sigma``, ``D_star``,
        ``thermodynamic_factor``, ``H_R``.
    """
    for name, v in (("D*", D_star), ("the thermodynamic factor", thermodynamic_factor), ("H_R", haven)):
        if not (np.isfinite(v) and v > 0):
            raise ValidationError(f"{name} must be positive, got {v!r}" + (
                " (Θ ≤ 0 means a two-phase, spinodal region where D̃ is not defined)"
                if name.startswith("the thermo") else ""))
    Ds = D_star / haven
    Dc = thermodynamic_factor * Ds
    pairs = ((D_star_err, D_star), (theta_err, thermodynamic_factor), (haven_err, haven))
    rel = [e / v for e, v in pairs if e is not None]
    rel_s = [e / v for e, v in (pairs[0], pairs[2]) if e is not None]
    none_why = "no uncertainties of D*, Θ or H_R were given"
    warnings = []
    if haven > 1.5 or haven < 0.05:
        warnings.append(f"H_R = {haven:.3g} is outside the usual 0.1–1 range")
    values = {"D_chemical": Quantity(Dc, Dc * float(np.sqrt(np.sum(np.square(rel)))) if rel else None, "cm^2/s",
                                     why_no_uncertainty=none_why),
              "D_sigma": Quantity(Ds, Ds * float(np.sqrt(np.sum(np.square(rel_s)))) if rel_s else None, "cm^2/s",
                                  why_no_uncertainty="no uncertainties of D* or H_R were given"),
              "D_star": Quantity(D_star, D_star_err, "cm^2/s", why_no_uncertainty="no uncertainty of D* given"),
              "thermodynamic_factor": Quantity(thermodynamic_factor, theta_err, "1",
                                               why_no_uncertainty="no uncertainty of Θ given"),
              "H_R": Quantity(haven, haven_err, "1", why_no_uncertainty="no uncertainty of H_R given")}
    prov = make_provenance("ionscope.diffusion.chemical_from_tracer", inputs=inputs, parameters={
        "D_star": D_star, "thermodynamic_factor": thermodynamic_factor, "H_R": haven})
    return Result("diffusion.chemical", values, warnings=tuple(warnings), provenance=prov)
