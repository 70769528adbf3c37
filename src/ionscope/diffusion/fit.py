"""Least-squares fits of isotope-exchange depth profiles (eqs. 3 and 8 of Sharma et al. 2025,
doi:10.1080/14686996.2025.2580917; thin films, numerical models).

A fit turns depths (nm), tracer fractions and their 1σ uncertainties into D (cm² s⁻¹), k (cm s⁻¹),
source and background fractions, an optional depth offset and Gaussian depth resolution, with
covariance uncertainties (or a parametric bootstrap), χ², AIC/BIC, residuals, and validity and
identifiability warnings. D and k are fitted as log₁₀ values (they span decades); their
uncertainties are propagated linearly back to cm² s⁻¹ and cm s⁻¹.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import least_squares

from ionscope.diffusion import models as m
from ionscope.diffusion.checks import (
    check_bounds,
    check_diffusion_length,
    check_gradient_points,
    check_reaches_background,
)
from ionscope.model.deprecation import grouped_parameters
from ionscope.model.errors import ValidationError
from ionscope.model.provenance import make_provenance
from ionscope.model.result import NoUncertainty, Quantity, Result

NM = 1e-7  # cm per nm
#: Models :func:`fit_profile` knows; ``auto`` compares the first three by AIC.
MODELS = ("couple", "surface-exchange", "thin-film", "semi-infinite", "thin-source", "two-layer")
AUTO_MODELS = ("couple", "surface-exchange", "thin-film")
#: h√(Dt) above which k no longer changes the profile measurably.
K_UNDETERMINED = 20.0


@dataclass(frozen=True)
class Param:
    name: str
    init: float
    lower: float
    upper: float
    log: bool = False

    def to_internal(self, v: float) -> float:
        return float(np.log10(v)) if self.log else float(v)

    def from_internal(self, p: float) -> float:
        return float(10.0 ** p) if self.log else float(p)


def validate_profile(depth_nm, fraction, sigma=None) -> Result:
    """Check a depth profile: ≥ 3 finite points, depth strictly increasing, fractions within [0, 1].

    Returns
    -------
    Result
        ``diffusion.profile``: the checked ``depth_nm`` (nm), ``fraction`` and ``sigma`` (1σ, or ``None``)
        as flat float arrays.

    Raises
    ------
    ValidationError
        With a sentence naming the problem (single point, non-monotonic depth, fraction < 0 or > 1…).
    """
    x = np.asarray(depth_nm, dtype=float).ravel()
    y = np.asarray(fraction, dtype=float).ravel()
    if x.shape != y.shape:
        raise ValidationError(f"depth and fraction differ in length ({x.size} vs {y.size})")
    if x.size < 3:
        raise ValidationError(f"a diffusion profile needs at least 3 points, got {x.size}: a single point "
                              "cannot constrain D")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise ValidationError("depth and fraction must be finite numbers (found NaN or inf)")
    if np.any(np.diff(x) <= 0):
        i = int(np.argmax(np.diff(x) <= 0))
        raise ValidationError(f"depth must increase strictly; it does not between points {i} and {i + 1} "
                              f"({x[i]:.6g} → {x[i + 1]:.6g} nm): sort the profile or fix the depth scale")
    if np.any(y < 0) or np.any(y > 1):
        bad = y[(y < 0) | (y > 1)][0]
        raise ValidationError(f"isotope fractions must lie within [0, 1]; found {bad:.6g}: give fractions, not "
                              "counts or percent (or pass the two isotope count columns)")
    s = None
    if sigma is not None:
        s = np.asarray(sigma, dtype=float).ravel()
        if s.shape != y.shape or np.any(~(s > 0)):
            raise ValidationError("uncertainties must be positive numbers, one per point")
    return Result("diffusion.profile", {"depth_nm": x, "fraction": y, "sigma": s})


def _norm_shape(model: str, x_cm: np.ndarray, v: dict[str, float], t: float, extra: dict) -> np.ndarray:
    """Normalised profile F(x) of ``model`` with parameters ``v`` (D in cm²/s, k in cm/s, lengths in cm)."""
    xx = x_cm - v.get("offset_cm", 0.0)
    if model == "couple":
        return m.couple_profile(xx - v["interface_cm"], v["D"], t)
    if model == "surface-exchange":
        return m.surface_exchange_profile(xx, v["D"], v["k"], t)
    if model == "semi-infinite":
        return m.semi_infinite_profile(xx, v["D"], t)
    if model == "thin-film":
        return m.finite_source_profile(xx, v["D"], t, v["thickness_cm"])
    if model == "thin-source":
        return m.thin_source_profile(np.maximum(xx, 0), v["D"], t)
    if model == "two-layer":
        from ionscope.diffusion.fick1d import Layer, Surface, solve_fick_1d

        film = extra["film_thickness_cm"]
        deep = max(x_cm.max() * 1.5, film + 12 * np.sqrt(v["D_substrate"] * t))
        sol = solve_fick_1d([Layer(film, v["D"], cells=60), Layer(deep - film, v["D_substrate"], cells=120)], t,
                            surface=Surface(1.0, v.get("k", np.inf)), rtol=1e-6, atol=1e-9)
        return sol.profile(np.clip(xx, 0, deep))
    raise ValidationError(f"unknown diffusion model {model!r}; choose one of {', '.join(MODELS)} or auto")


def _initial_D(x_cm, y, t) -> float:
    lo, hi = np.percentile(y, 5), np.percentile(y, 95)
    half = lo + 0.5 * (hi - lo)
    order = y >= half
    x_half = x_cm[order].max() if np.any(order) else x_cm.mean()
    x_half = max(x_half - x_cm.min(), np.ptp(x_cm) / 20)
    return float(np.clip((x_half / (2 * 0.4769)) ** 2 / t, 1e-30, 1.0))


def _params(model: str, x_cm, y, t, *, background, source, fit_offset, resolution_nm, D_bounds, k_bounds,
            film_thickness_cm) -> list[Param]:
    D0 = float(np.clip(_initial_D(x_cm, y, t), D_bounds[0] * 1.01, D_bounds[1] / 1.01))
    ymax, ymin = float(np.max(y)), float(np.min(y))
    ps = [Param("D", D0, D_bounds[0], D_bounds[1], log=True)]
    if model == "surface-exchange":
        k0 = float(np.clip(D0 / np.sqrt(D0 * t), k_bounds[0] * 1.01, k_bounds[1] / 1.01))
        ps.append(Param("k", k0, k_bounds[0], k_bounds[1], log=True))
    if model == "two-layer":
        ps.append(Param("D_substrate", D0, D_bounds[0], D_bounds[1], log=True))
    if model == "couple":
        ps.append(Param("interface_cm", float(np.median(x_cm)), x_cm.min() - np.ptp(x_cm), x_cm.max() + np.ptp(x_cm)))
    if model == "thin-film":
        ps.append(Param("thickness_cm", float(np.median(x_cm)), np.ptp(x_cm) * 1e-4, 2 * x_cm.max()))
    if source is None:
        ps.append(Param("c_source", min(max(ymax, 1e-6), 1.0), 0.0, 1.0))
    if background is None:
        ps.append(Param("c_background", min(max(ymin, 0.0), 1.0), 0.0, 1.0))
    if fit_offset:
        ps.append(Param("offset_cm", 0.0, -np.ptp(x_cm) / 4, np.ptp(x_cm) / 4))
    if resolution_nm == "fit":
        ps.append(Param("resolution_cm", max(np.min(np.diff(x_cm)), np.ptp(x_cm) / 200), np.ptp(x_cm) * 1e-5,
                        np.ptp(x_cm) / 4))
    return ps


class _Problem:
    def __init__(self, model, x_cm, y, s, t, ps, *, background, source, resolution_nm, extra):
        self.model, self.x, self.y, self.t, self.ps = model, x_cm, y, t, ps
        self.s = s if s is not None else np.ones_like(y)
        self.background, self.source, self.extra = background, source, extra
        self.res_cm = None if resolution_nm in (None, "fit") else float(resolution_nm) * NM

    def values(self, p: np.ndarray) -> dict[str, float]:
        v = {par.name: par.from_internal(q) for par, q in zip(self.ps, p)}
        v.setdefault("c_source", self.source)
        v.setdefault("c_background", self.background)
        v.setdefault("resolution_cm", self.res_cm or 0.0)
        return v

    def normalised(self, p: np.ndarray, x: np.ndarray | None = None) -> np.ndarray:
        v = self.values(p)
        x = self.x if x is None else x
        return m.gaussian_smear(lambda xx: _norm_shape(self.model, xx, v, self.t, self.extra), x, v["resolution_cm"])

    def curve(self, p: np.ndarray, x: np.ndarray | None = None) -> np.ndarray:
        v = self.values(p)
        return m.scaled_profile(self.normalised(p, x), v["c_source"], v["c_background"])

    def residuals(self, p: np.ndarray) -> np.ndarray:
        return (self.curve(p) - self.y) / self.s

    def solve(self, start: np.ndarray, y: np.ndarray | None = None):
        if y is not None:
            saved, self.y = self.y, y
        try:
            lo = np.array([p.to_internal(p.lower) for p in self.ps])
            hi = np.array([p.to_internal(p.upper) for p in self.ps])
            return least_squares(self.residuals, np.clip(start, lo + 1e-9 * (hi - lo), hi - 1e-9 * (hi - lo)),
                                 bounds=(lo, hi), method="trf", x_scale="jac", jac="3-point",
                                 xtol=1e-12, ftol=1e-12, gtol=1e-12, max_nfev=400)
        finally:
            if y is not None:
                self.y = saved


def _covariance(jac: np.ndarray) -> np.ndarray:
    """(JᵀJ)⁻¹ by SVD; directions the data do not constrain get infinite variance."""
    _, s, vt = np.linalg.svd(jac, full_matrices=False)
    good = s > np.finfo(float).eps * max(jac.shape) * s[0]
    cov = (vt[good].T / s[good] ** 2) @ vt[good]
    if not np.all(good):
        null = np.sum(vt[~good] ** 2, axis=0) > 1e-6
        cov[np.diag_indices_from(cov)] = np.where(null, np.inf, np.diag(cov))
    return cov


def _starts(problem: _Problem) -> list[np.ndarray]:
    """A few starting points in log D (and log k) so that the fit does not stop in a local minimum."""
    base = np.array([p.to_internal(p.init) for p in problem.ps])
    out = [base]
    for dd in (-1.0, 1.0):
        s = base.copy()
        s[0] += dd
        out.append(s)
    if problem.ps[1].name == "k":
        for dk in (-1.5, 1.5):
            s = base.copy()
            s[1] += dk
            out.append(s)
    return out


#: Default search bounds of D (cm² s⁻¹) and k (cm s⁻¹), unchanged from the former ``D_bounds``/``k_bounds``
#: defaults: many decades wide, so they only keep the search finite; a fit that ends at a bound is
#: reported with a warning (:func:`ionscope.diffusion.checks.check_bounds`).
DEFAULT_BOUNDS: Mapping[str, tuple[float, float]] = {"D": (1e-22, 1e-3), "k": (1e-16, 1.0)}


def _bounds(bounds: Mapping[str, tuple[float, float]] | None) -> tuple[tuple[float, float], tuple[float, float]]:
    """The (lower, upper) bounds of D and of k: ``bounds`` over :data:`DEFAULT_BOUNDS`."""
    given = dict(bounds or {})
    unknown = sorted(set(given) - set(DEFAULT_BOUNDS))
    if unknown:
        raise ValidationError(f"bounds are given for D and k only, not for {', '.join(map(repr, unknown))}")
    merged = {**DEFAULT_BOUNDS, **given}
    out = []
    for name in ("D", "k"):
        try:
            lo, hi = (float(v) for v in merged[name])
        except (TypeError, ValueError):
            raise ValidationError(f"bounds[{name!r}] must be two numbers (lower, upper), got {merged[name]!r}") \
                from None
        if not (0 < lo < hi < np.inf):
            raise ValidationError(f"bounds[{name!r}] must satisfy 0 < lower < upper, got {merged[name]!r}")
        out.append((lo, hi))
    return out[0], out[1]


@grouped_parameters(bounds={"D_bounds": "D", "k_bounds": "k"})
def fit_profile(depth_nm, fraction, time_s: float, *, model: str = "surface-exchange", sigma=None,
                background: float | None = None, source: float | None = None, fit_offset: bool = False,
                resolution_nm: float | str | None = None, film_thickness_nm: float | None = None,
                sample_thickness_nm: float | None = None, bounds: Mapping[str, tuple[float, float]] | None = None,
                uncertainty: str = "covariance", n_boot: int = 100, seed: int = 0, inputs=()) -> Result:
    """Fit an isotope-exchange depth profile.

    Parameters
    ----------
    depth_nm, fraction
        Depth below the surface (nm, strictly increasing) and tracer fraction (0–1) per point.
    time_s
        Anneal (exchange) time, s.
    model
        ``couple`` (eq. 3 of Sharma et al. 2025, doi:10.1080/14686996.2025.2580917, interface position fitted),
        ``surface-exchange`` (eq. 8 of the same paper: D and k),
        ``thin-film`` (enriched film of fitted thickness on a substrate, eq. 2.15 of Crank 1975, *The Mathematics
        of Diffusion*, 2nd ed., Oxford University Press, ISBN 978-0-19-853411-2),
        ``semi-infinite`` (eq. 8 with k → ∞), ``thin-source`` (Gaussian), ``two-layer`` (numerical:
        film of ``film_thickness_nm`` with D on a substrate with D_substrate), or ``auto``
        (lowest AIC of couple, surface-exchange and thin-film).
    sigma
        1σ uncertainty of each fraction (e.g. from :func:`~ionscope.diffusion.fraction.isotope_fraction`).
        If omitted, unit weights are used and the covariance is scaled by χ²_red.
    background, source
        Fix the background (natural abundance) or source fraction; fitted when ``None``.
    fit_offset
        Fit a depth offset (nm) of the surface (sputter-equilibrium shift, roughness).
    resolution_nm
        Standard deviation of a Gaussian depth-resolution function (nm), ``"fit"`` to fit it, or
        ``None`` for none.
    film_thickness_nm
        Thickness of the film for ``two-layer``.
    sample_thickness_nm
        Sample/layer thickness for the diffusion-length validity check.
    bounds
        Search bounds ``{"D": (lower, upper), "k": (lower, upper)}`` of D (cm² s⁻¹, also used for
        D_substrate) and k (cm s⁻¹); a key left out keeps its default (:data:`DEFAULT_BOUNDS`). The
        former keywords ``D_bounds=``/``k_bounds=`` still work, with a ``DeprecationWarning``.
    uncertainty
        ``"covariance"`` (linearised, from the Jacobian) or ``"bootstrap"`` (parametric, ``n_boot``
        refits of Gaussian-resampled data; the spread of log₁₀ D and log₁₀ k gives the 1σ).

    Returns
    -------
    Result
        ``kind="diffusion.fit"`` with ``model``, ``D_cm2_s``, ``D_err_cm2_s``, ``k_cm_s``, ``k_err_cm_s``,
        quantities ``D``/``k``/…, ``chi2_red``, ``aic``, ``bic``, ``depth_nm``, ``fitted``,
        ``residuals`` (normalised) and warnings.
    """
    D_bounds, k_bounds = _bounds(bounds)
    if model == "auto":
        return compare_models(depth_nm, fraction, time_s, models=AUTO_MODELS, sigma=sigma, background=background,
                              source=source, fit_offset=fit_offset, resolution_nm=resolution_nm,
                              sample_thickness_nm=sample_thickness_nm, bounds={"D": D_bounds, "k": k_bounds},
                              uncertainty=uncertainty, n_boot=n_boot, seed=seed, inputs=inputs)
    t, x_nm, y, s, extra = _checked_inputs(model, depth_nm, fraction, time_s, sigma, resolution_nm,
                                           film_thickness_nm, uncertainty)
    x = x_nm * NM
    depth_curve: Any = x_nm  # an array Quantity: its value is an array (the annotation says float)
    ps = _params(model, x, y, t, background=background, source=source, fit_offset=fit_offset,
                 resolution_nm=resolution_nm, D_bounds=D_bounds, k_bounds=k_bounds,
                 film_thickness_cm=extra.get("film_thickness_cm"))
    prob = _Problem(model, x, y, s, t, ps, background=background, source=source, resolution_nm=resolution_nm,
                    extra=extra)
    best = _best_fit(prob, model, ps, s, y)
    p = best.x
    r = prob.residuals(p)
    n, npar = y.size, len(ps)
    chi2 = float(r @ r)
    chi2_red = chi2 / max(n - npar, 1)
    cov = _covariance(best.jac)
    if s is None:
        cov = cov * chi2_red
    err = np.sqrt(np.clip(np.diag(cov), 0, None))
    if uncertainty == "bootstrap":
        err = _bootstrap_errors(prob, p, n_boot, seed, err, absolute=s is not None, chi2_red=chi2_red)
    vals = prob.values(p)
    out, warnings = _parameter_values(model, ps, p, err, vals, t)
    D, D_err = out["D_cm2_s"], out["D_err_cm2_s"]
    corr = cov / np.sqrt(np.outer(np.diag(cov), np.diag(cov)) + 1e-300)
    warnings += _identifiability_warnings(corr, ps)
    warnings += _validity_warnings(model, prob.normalised(p), _norm_shape(model, x, vals, t, extra), D, t,
                                   sample_thickness_nm)
    out.update({"chi2": chi2, "chi2_red": chi2_red, "n_points": n, "n_parameters": npar,
                "aic": _aic(chi2, n, npar, s is not None), "bic": _bic(chi2, n, npar, s is not None),
                "diffusion_length_nm": float(np.sqrt(D * t) / NM), "time_s": t,
                "diffusion_length": Quantity(np.sqrt(D * t) / NM, 0.5 * np.sqrt(D * t) / NM * D_err / D, "nm"),
                "time": Quantity(t, None, "s", NoUncertainty.given("the anneal time is given, taken as exact")),
                "correlation": {f"{ps[i].name}/{ps[j].name}": float(corr[i, j]) for i in range(npar)
                                for j in range(i + 1, npar)},
                "depth_nm": x_nm, "fitted": prob.curve(p), "residuals": r,
                "depth": Quantity(depth_curve, None, "nm",
                                  NoUncertainty.given("the depth scale of the profile, taken as exact"))})
    prov = make_provenance("ionscope.diffusion.fit_profile", inputs=inputs, parameters={
        "model": model, "time_s": t, "background": background, "source": source, "fit_offset": fit_offset,
        "resolution_nm": resolution_nm, "uncertainty": uncertainty, "D_bounds": D_bounds, "k_bounds": k_bounds})
    return Result("diffusion.fit", out, warnings=tuple(dict.fromkeys(warnings)), provenance=prov)


def _checked_inputs(model: str, depth_nm: Any, fraction: Any, time_s: float, sigma: Any,
                    resolution_nm: float | str | None, film_thickness_nm: float | None,
                    uncertainty: str) -> tuple[float, np.ndarray, np.ndarray, np.ndarray | None, dict[str, float]]:
    """Step 1 of :func:`fit_profile`: check the model, time, profile and options before fitting.

    Returns the anneal time (s), depth (nm), fractions, their 1σ (or ``None``) and the model's fixed
    extras (the film thickness in cm for ``two-layer``).
    """
    if model not in MODELS:
        raise ValidationError(f"unknown diffusion model {model!r}; choose one of {', '.join(MODELS)} or auto")
    t = float(time_s)
    if not (np.isfinite(t) and t > 0):
        raise ValidationError(f"anneal time must be positive, got {time_s!r} s")
    checked = validate_profile(depth_nm, fraction, sigma)
    if isinstance(resolution_nm, str) and resolution_nm != "fit":
        raise ValidationError(f"resolution must be a width in nm, 'fit' or None, got {resolution_nm!r}")
    extra = {}
    if model == "two-layer":
        if film_thickness_nm is None or not film_thickness_nm > 0:
            raise ValidationError("the two-layer model needs the film thickness (nm)")
        extra["film_thickness_cm"] = float(film_thickness_nm) * NM
    if uncertainty not in ("covariance", "bootstrap"):
        raise ValidationError(f"uncertainty must be 'covariance' or 'bootstrap', got {uncertainty!r}")
    return t, checked.depth_nm, checked.fraction, checked.sigma, extra


def _best_fit(prob: _Problem, model: str, ps: Sequence[Param], s: np.ndarray | None, y: np.ndarray) -> Any:
    """Step 2: the least-squares solution from the first starting point, and from the others only
    when the first is not statistically acceptable (χ²_red > 1.5, or no σ given)."""
    starts = _starts(prob) if model != "two-layer" else [np.array([p.to_internal(p.init) for p in ps])]
    best = prob.solve(starts[0])
    if s is None or 2 * best.cost / max(y.size - len(ps), 1) > 1.5:
        best = min([best] + [prob.solve(st) for st in starts[1:]], key=lambda r: r.cost)
    return best


def _parameter_values(model: str, ps: Sequence[Param], p: np.ndarray, err: np.ndarray, vals: dict[str, float],
                      t: float) -> tuple[dict[str, Any], list[str]]:
    """Step 3: the fitted parameters as numbers and quantities (D, k, h√(Dt), lengths in nm), with
    the warnings about parameters at their bounds and an undetermined surface-exchange k."""
    out: dict[str, Any] = {"model": model}
    warnings: list[str] = []
    quantities = {}
    for par, q, e in zip(ps, p, err):
        v = par.from_internal(q)
        ev = v * np.log(10) * e if par.log else e
        quantities[par.name] = (v, ev)
        warnings += check_bounds(par.name, v, par.lower, par.upper, log=par.log) if par.name in (
            "D", "k", "D_substrate") else []
    D, D_err = quantities["D"]
    out["D_cm2_s"], out["D_err_cm2_s"] = D, D_err
    out["k_cm_s"], out["k_err_cm_s"] = quantities.get("k", (None, None))
    out["D"] = Quantity(D, D_err, "cm^2/s")
    if "k" in quantities:
        out["k"] = Quantity(*quantities["k"], "cm/s")
        w = quantities["k"][0] * np.sqrt(D * t) / D
        out["h_sqrt_Dt"] = float(w)
        if w > K_UNDETERMINED:
            warnings.append(f"k is undetermined: h√(Dt) = {w:.3g} ≫ 1, so surface exchange is too fast to shape "
                            "the profile; the fitted k is only a lower bound (use the semi-infinite model)")
        elif quantities["k"][1] > quantities["k"][0]:
            rel = quantities["k"][1] / quantities["k"][0]
            warnings.append(f"k is poorly determined (relative uncertainty {rel:.2g}; h√(Dt) = {w:.3g})")
    for name, unit, scale in (("D_substrate", "cm^2/s", 1.0), ("c_source", "fraction", 1.0),
                              ("c_background", "fraction", 1.0), ("interface_cm", "nm", 1 / NM),
                              ("thickness_cm", "nm", 1 / NM), ("offset_cm", "nm", 1 / NM),
                              ("resolution_cm", "nm", 1 / NM)):
        key = name.replace("_cm", "") if unit == "nm" else name
        if name in quantities:
            out[key] = Quantity(quantities[name][0] * scale, quantities[name][1] * scale, unit)
        elif name in ("c_source", "c_background"):
            out[key] = Quantity(vals[name], None, unit)
    return out, warnings


def _identifiability_warnings(corr: np.ndarray, ps: Sequence[Param]) -> list[str]:
    """Step 4: a warning for every pair of parameters correlated beyond |r| = 0.995."""
    warnings = []
    for i in range(len(ps)):
        for j in range(i + 1, len(ps)):
            if np.isfinite(corr[i, j]) and abs(corr[i, j]) > 0.995:
                warnings.append(f"parameters {ps[i].name} and {ps[j].name} are not separately identifiable "
                                f"(correlation {corr[i, j]:+.4f}): either trades against the other at almost no "
                                "cost to the fit, so neither value nor σ holds on its own; constrain one of them by "
                                "another measurement")
    return warnings


def _validity_warnings(model: str, F: np.ndarray, F_shape: np.ndarray, D: float, t: float,
                       sample_thickness_nm: float | None) -> list[str]:
    """Step 5: the regime checks: diffusion length against the sample, the profile reaching the
    background, and enough points on the gradient (:mod:`ionscope.diffusion.checks`)."""
    warnings = check_diffusion_length(D, t, None if sample_thickness_nm is None else sample_thickness_nm * NM)
    if model in ("surface-exchange", "semi-infinite", "thin-film", "two-layer", "couple", "thin-source"):
        warnings += check_reaches_background(float(F_shape[-1]))
    warnings += check_gradient_points(F)
    return warnings


def _aic(chi2: float, n: int, k: int, absolute: bool) -> float:
    """Akaike information criterion from χ² (known σ) or from the residual sum of squares."""
    base = chi2 if absolute else n * np.log(max(chi2, 1e-300) / n)
    return float(base + 2 * k)


def _bic(chi2: float, n: int, k: int, absolute: bool) -> float:
    base = chi2 if absolute else n * np.log(max(chi2, 1e-300) / n)
    return float(base + k * np.log(n))


def _bootstrap_errors(prob: _Problem, p: np.ndarray, n_boot: int, seed: int, fallback: np.ndarray, *,
                      absolute: bool, chi2_red: float) -> np.ndarray:
    rng = np.random.default_rng(seed)
    mu = prob.curve(p)
    scale = prob.s * (1.0 if absolute else np.sqrt(chi2_red))
    draws = []
    for _ in range(int(n_boot)):
        y_star = np.clip(mu + scale * rng.standard_normal(mu.size), 0.0, 1.0)
        res = prob.solve(p, y=y_star)
        if res.success:
            draws.append(res.x)
    if len(draws) < max(10, n_boot // 2):
        return fallback
    return np.std(np.asarray(draws), axis=0, ddof=1)


def compare_models(depth_nm, fraction, time_s: float, *, models=AUTO_MODELS, **kwargs) -> Result:
    """Fit several models and choose the one with the lowest AIC; the table lists χ², AIC, BIC, ΔAIC.

    Returns the chosen model's fit result with ``comparison`` (one row per model) added.
    """
    fits: dict[str, Result] = {}
    failures = []
    for name in models:
        try:
            fits[name] = fit_profile(depth_nm, fraction, time_s, model=name, **kwargs)
        except ValidationError as exc:
            failures.append(f"{name}: {exc}")
    if not fits:
        raise ValidationError("no model could be fitted: " + "; ".join(failures))
    best_name = min(fits, key=lambda k: fits[k]["aic"])
    a0 = fits[best_name]["aic"]
    rows = [{"model": k, "chi2_red": f["chi2_red"], "aic": f["aic"], "bic": f["bic"], "delta_aic": f["aic"] - a0,
             "D_cm2_s": f["D_cm2_s"]} for k, f in fits.items()]
    best = fits[best_name]
    warnings = list(best.warnings)
    close = [r["model"] for r in rows if r["model"] != best_name and r["delta_aic"] < 2]
    if close:
        warnings.append(f"model choice is ambiguous: {', '.join(close)} within ΔAIC < 2 of {best_name}")
    values = dict(best.values)
    values["comparison"] = rows
    return Result("diffusion.fit", values, warnings=tuple(warnings), provenance=best.provenance)


def model_function(model: str, time_s: float, **fixed) -> Callable:
    """``f(depth_nm, **params)`` → normalised profile, for plotting and external fitting."""
    def f(depth_nm, **params):
        v = {**fixed, **params}
        return _norm_shape(model, np.asarray(depth_nm, float) * NM, v, float(time_s), fixed)
    return f
