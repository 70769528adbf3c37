"""The mixing–roughness–information-depth (MRI) model of depth-profile broadening, and its fit.

Hofmann's MRI model (S. Hofmann, *Surf. Interface Anal.* 21 (1994) 673; *Rep. Prog. Phys.* 61 (1998)
827) writes the depth resolution function for a delta layer at ``z0`` as the convolution of

* atomic mixing over a zone ``w``:  g_w(z) = (1/w)·exp(−(z − z0 + w)/w)  for z ≥ z0 − w,
* surface roughness ``σ``:          g_σ(z) = exp(−(z − z0)²/2σ²)/(σ√(2π)),
* information depth ``λ``:          g_λ(z) = (1/λ)·exp((z − z0)/λ)       for z ≤ z0,

and the measured profile as ``I(z) = ∫ X(z0) g(z − z0) dz0`` with the true composition ``X``. Mixing
gives the exponential trailing tail of a layer, the information depth its exponential leading edge.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.optimize import least_squares
from scipy.signal import fftconvolve

from ionscope.model.errors import ValidationError
from ionscope.model.goodness import birge_ratio, poor_fit_limit
from ionscope.model.provenance import make_provenance
from ionscope.model.result import Quantity, Result

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def mri_kernel(step: float, w: float, sigma: float, lam: float) -> Result:
    """The MRI depth resolution function on a grid of spacing ``step`` (same length unit as w, σ, λ).

    Returns
    -------
    Result
        ``depth.mri_kernel``: ``offsets`` ``z − z0`` (odd number of points, centred on 0; unit of
        ``step``) and the resolution function ``g`` normalised to unit sum.
    """
    if not step > 0:
        raise ValidationError("MRI grid step must be positive")
    if min(w, sigma, lam) < 0:
        raise ValidationError(f"MRI parameters must be ≥ 0, got w={w}, σ={sigma}, λ={lam}")
    half = int(np.ceil((8 * w + 6 * sigma + 8 * lam + 2 * step) / step))
    u = np.arange(-half, half + 1) * step

    def delta() -> np.ndarray:
        d = np.zeros_like(u)
        d[half] = 1.0
        return d

    g_w = np.where(u >= -w, np.exp(-(u + w) / w), 0.0) if w > step / 20 else delta()
    g_l = np.where(u <= 0, np.exp(u / lam), 0.0) if lam > step / 20 else delta()
    g_s = np.exp(-0.5 * (u / sigma) ** 2) if sigma > step / 20 else delta()
    g = fftconvolve(fftconvolve(g_w, g_s, mode="same"), g_l, mode="same")
    g = np.clip(g, 0, None)
    return Result("depth.mri_kernel", {"offsets": u, "g": g / g.sum()})


def layer_composition(z: np.ndarray, boundaries: Sequence[float], n_layers: int) -> np.ndarray:
    """Fraction ``X[k](z)`` of each grid cell of uniform ``z`` filled by layer k (interfaces at ``boundaries``).

    Cells cut by an interface are filled in proportion, so the model is continuous in the interface
    positions (needed by the least-squares fit).
    """
    b = np.asarray(boundaries, dtype=float)
    if b.size != n_layers - 1:
        raise ValidationError(f"{n_layers} layers need {n_layers - 1} interfaces, got {len(boundaries)}")
    z = np.asarray(z, dtype=float)
    h = float(np.median(np.diff(z))) if z.size > 1 else 1.0
    below = np.clip((z[None, :] + h / 2 - b[:, None]) / h, 0.0, 1.0)  # share of each cell below boundary i
    upper = np.concatenate([np.ones((1, z.size)), below])
    lower = np.concatenate([below, np.zeros((1, z.size))])
    return upper - lower


def mri_profile(z: np.ndarray, composition: np.ndarray, w: float, sigma: float, lam: float) -> np.ndarray:
    """Measured profile(s) for the true ``composition`` sampled on the uniform depth grid ``z``.

    ``composition`` is (n_z,) or (n_species, n_z); values outside the grid are taken equal to the
    first/last sample (semi-infinite top layer and substrate).
    """
    z = np.asarray(z, dtype=float)
    step = float(np.median(np.diff(z)))
    x = np.atleast_2d(np.asarray(composition, dtype=float))
    kernel = mri_kernel(step, w, sigma, lam)
    u, g = kernel.offsets, kernel.g
    pad = u.size // 2
    xp = np.pad(x, ((0, 0), (pad, pad)), mode="edge")
    # I(z) = Σ X(z0) g(z − z0) = (X ∗ g)(z) on the grid.
    out = fftconvolve(xp, g[None, :], mode="same", axes=1)[:, pad:-pad]
    return out[0] if np.ndim(composition) == 1 else out


def _model(params: np.ndarray, z: np.ndarray, n_layers: int, species_layer: np.ndarray,
           data: np.ndarray, weights: np.ndarray, grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    thick, (w, sigma, lam) = params[: n_layers - 2], params[n_layers - 2:n_layers + 1]
    first = params[n_layers + 1]
    bounds = first + np.concatenate([[0.0], np.cumsum(thick)])
    comp = layer_composition(grid, bounds, n_layers)
    fine = mri_profile(grid, comp, w, sigma, lam)
    shapes = np.stack([np.interp(z, grid, fine[k]) for k in range(n_layers)])[species_layer]
    # Amplitude and background of each species by weighted linear least squares (variable projection).
    fitted = np.empty_like(data)
    for j in range(data.shape[0]):
        a = np.stack([shapes[j], np.ones_like(z)], axis=1) * weights[j][:, None]
        coef, *_ = np.linalg.lstsq(a, data[j] * weights[j], rcond=None)
        fitted[j] = coef[0] * shapes[j] + coef[1]
    return fitted, bounds


def _grid(z: np.ndarray) -> np.ndarray:
    """Uniform model grid: half the smallest spacing of ``z``, 5 % margins."""
    span = float(z[-1] - z[0])
    h = float(np.min(np.diff(z))) / 2
    return np.arange(z[0] - 0.05 * span, z[-1] + 0.05 * span + h, h)


def fit_mri(z: np.ndarray, signals: np.ndarray, species_layer: Sequence[int], *, n_layers: int,
            interfaces_guess: Sequence[float], w: float = 2.0, sigma: float = 2.0, lam: float = 1.0,
            unit: str = "nm", labels: Sequence[str] | None = None) -> Result:
    """Fit true layer thicknesses and the MRI parameters (w, σ, λ) to measured profiles.

    Parameters
    ----------
    z
        Depth of each scan (``unit``), increasing; the model is evaluated on a uniform grid of half
        the smallest spacing and sampled at ``z``.
    signals
        Counts (n_species, n_z); each species marks one layer (``species_layer[j]``) and is modelled
        as ``a_j · MRI(X_k)(z) + b_j`` with amplitude and background solved linearly.
    n_layers
        Number of layers including the substrate (the first and last are semi-infinite).
    interfaces_guess
        Starting interface depths (e.g. the 50 % points of :func:`find_interfaces`).

    Returns
    -------
    Result
        ``interfaces`` (true interface depths), ``thicknesses`` of the inner layers, ``w``, ``sigma``,
        ``lam`` as :class:`Quantity` with 1σ from the Jacobian (Poisson weights), ``reduced_chi2``,
        ``chi2_red_limit`` and ``birge_ratio`` (factor applied to the uncertainties, 1 when none).

    Notes
    -----
    A reduced χ² above :func:`~ionscope.model.goodness.poor_fit_limit` ``1 + 3√(2/ν)`` (three standard
    deviations √(2/ν) of χ²_red above its mean 1) says the model does not describe the profiles
    within Poisson noise: a warning says so and the uncertainties are inflated by the Birge ratio
    √χ²_red (Birge 1932, Phys. Rev. 40, 207, doi:10.1103/PhysRev.40.207).
    """
    z = np.asarray(z, dtype=float)
    data = np.atleast_2d(np.asarray(signals, dtype=float))
    sl = np.asarray(species_layer, dtype=int)
    if data.shape != (sl.size, z.size):
        raise ValidationError(f"signals of shape {data.shape} do not match {sl.size} species × {z.size} depths")
    if n_layers < 2 or len(interfaces_guess) != n_layers - 1:
        raise ValidationError(f"{n_layers} layers need {n_layers - 1} interface guesses, got {len(interfaces_guess)}")
    if np.any(sl < 0) or np.any(sl >= n_layers):
        raise ValidationError("species_layer indices must name layers 0 … n_layers−1")
    guess = np.sort(np.asarray(interfaces_guess, dtype=float))
    weights = 1.0 / np.sqrt(np.maximum(data, 1.0))
    if z.size < 4 or np.any(np.diff(z) <= 0):
        raise ValidationError("depths must increase strictly (≥ 4 points)")
    step = float(np.median(np.diff(z)))
    span = float(z[-1] - z[0])
    grid = _grid(z)
    p0 = np.concatenate([np.diff(guess), [max(w, step), max(sigma, step), max(lam, step)], [guess[0]]])
    lo = np.concatenate([np.full(n_layers - 2, step), [0.05 * step] * 3, [z[0]]])
    hi = np.concatenate([np.full(n_layers - 2, span), [span / 4] * 3, [z[-1]]])
    p0 = np.clip(p0, lo * 1.001, hi * 0.999)

    def residuals(p: np.ndarray) -> np.ndarray:
        fitted, _ = _model(p, z, n_layers, sl, data, weights, grid)
        return ((fitted - data) * weights).ravel()

    # w, σ and λ trade off against each other; start from a few shapes and keep the best fit.
    sol = None
    for fw, fs, fl in ((1.0, 1.0, 1.0), (0.5, 2.0, 0.5), (2.0, 0.5, 2.0)):
        start = p0.copy()
        start[n_layers - 2:n_layers + 1] *= (fw, fs, fl)
        start = np.clip(start, lo * 1.001, hi * 0.999)
        trial = least_squares(residuals, start, bounds=(lo, hi), x_scale=np.maximum(np.abs(start), step),
                              diff_step=1e-3)
        if sol is None or trial.cost < sol.cost:
            sol = trial
    assert sol is not None  # three starts ran
    dof = max(sol.fun.size - sol.x.size - 2 * sl.size, 1)
    chi2 = float(np.sum(sol.fun ** 2) / dof)
    limit = poor_fit_limit(dof)
    birge = birge_ratio(chi2, limit)
    warnings: list[str] = []
    try:
        cov = np.linalg.pinv(sol.jac.T @ sol.jac) * birge ** 2
        err = np.sqrt(np.clip(np.diag(cov), 0, None))
    except np.linalg.LinAlgError:  # pragma: no cover - pinv handles singular matrices
        err = np.full(sol.x.size, np.nan)
        cov = np.full((sol.x.size, sol.x.size), np.nan)
    at_bound = np.isclose(sol.x, lo, rtol=1e-3) | np.isclose(sol.x, hi, rtol=1e-3)
    names = [f"thickness[{k + 1}]" for k in range(n_layers - 2)] + ["w", "sigma", "lam", "first_interface"]
    for n, b in zip(names, at_bound):
        if b:
            warnings.append(f"{n} ended at a bound of the fit; its value and uncertainty are not reliable")
    if birge > 1:
        warnings.append(f"poor MRI fit: reduced χ² = {chi2:.3g} > {limit:.3g} (1 + 3√(2/ν), ν = {dof}); the MRI "
                        "model does not describe the profile within Poisson noise, uncertainties inflated "
                        f"×{birge:.3g} (Birge ratio √χ²_red)")
    thick = sol.x[: n_layers - 2]
    # Interface k = first + Σ_{i<k} thickness_i; its variance from the covariance of those parameters.
    idx_first = n_layers + 1
    interfaces, bounds = [], sol.x[idx_first] + np.concatenate([[0.0], np.cumsum(thick)])
    for k in range(n_layers - 1):
        sel = [idx_first, *range(k)]
        var = float(np.sum(cov[np.ix_(sel, sel)]))
        interfaces.append(Quantity(bounds[k], np.sqrt(max(var, 0.0)), unit))
    values = {
        "interfaces": interfaces,
        "thicknesses": [Quantity(t, e, unit) for t, e in zip(thick, err[: n_layers - 2])],
        "w": Quantity(sol.x[n_layers - 2], err[n_layers - 2], unit),
        "sigma": Quantity(sol.x[n_layers - 1], err[n_layers - 1], unit),
        "lam": Quantity(sol.x[n_layers], err[n_layers], unit),
        "reduced_chi2": chi2,
        "chi2_red_limit": limit,
        "birge_ratio": birge,
        "correlation_w_sigma_lam": _correlation(cov, slice(n_layers - 2, n_layers + 1)),
        "species": list(labels) if labels is not None else list(range(sl.size)),
        "species_layer": sl.tolist(),
    }
    prov = make_provenance("ionscope.depth.fit_mri", parameters={
        "n_layers": n_layers, "interfaces_guess": guess.tolist(), "unit": unit, "start": p0.tolist()})
    return Result("depth.mri_fit", values, warnings=tuple(warnings), provenance=prov)




def _correlation(cov: np.ndarray, sel: slice) -> list[list[float]]:
    c = cov[sel, sel]
    d = np.sqrt(np.clip(np.diag(c), 0, None))
    with np.errstate(invalid="ignore", divide="ignore"):
        return (c / np.outer(d, d)).tolist()


def fit_profile_mri(profile, layers: Result, *, axis: str = "depth") -> Result:
    """Fit the MRI model to a depth profile using a :func:`~ionscope.depth.find_layers` result.

    Every species of each found layer marks that layer; the interface positions start the fit; scans
    before the first trusted scan (surface transient) are left out. ``layers`` must have been found on
    the same ``axis`` (use :func:`~ionscope.depth.to_depth` first for a depth axis in nm).
    """
    from ionscope.depth._common import axis_values, species_counts

    if layers.values.get("axis") != axis:
        raise ValidationError(f"the layers were found on {layers['axis']!r}, not on {axis!r}")
    lay = layers["layers"]
    if len(lay) < 2:
        raise ValidationError("an MRI fit needs at least two layers")
    z, unit = axis_values(profile, axis)
    names, owner = [], []
    for k, layer in enumerate(lay):
        for s in layer["species"]:
            names.append(s)
            owner.append(k)
    skip = int(layers["skipped_scans"])
    counts = species_counts(profile, names)[skip:]
    guess = [i["position"].value for i in layers["interfaces"]]
    return fit_mri(z[skip:], counts.T, owner, n_layers=len(lay), interfaces_guess=guess, unit=unit, labels=names)




#: |correlation| above which two of w, σ, λ are reported as not separately identifiable: at 0.95 the
#: 1σ ellipse is ~3× longer along the trade-off direction than the parameters' own 1σ suggest.
CORRELATION_LIMIT = 0.95
#: Relative 1σ above which a parameter is reported as not determined by the profile.
RELATIVE_LIMIT = 0.5


def _guesses(z: np.ndarray, counts: np.ndarray, profile, names, axis: str) -> list[float]:
    """Interface starts: the layer finder's 50 % points when it finds one per pair, else midpoints of maxima."""
    from ionscope.depth.interfaces import find_layers

    n = len(names)
    try:
        found = find_layers(profile, names, axis=axis)
        # the measured 50 % points (the fit models the MRI shift itself), not the shift-corrected positions
        pos = sorted(float(np.nanmean([i["upper_fall_50"], i["lower_rise_50"]])) for i in found["interfaces"])
        if len(pos) == n - 1:
            return pos
    except ValidationError:
        pass
    peaks = [float(z[int(np.argmax(counts[:, j]))]) for j in range(n)]
    return [0.5 * (peaks[k] + peaks[k + 1]) for k in range(n - 1)]


def _composition(z, counts, shapes, weights, scale, names):
    """Per-layer signal fractions of every species with 1σ (delta method over independent species);
    ``scale`` multiplies the variances (the squared Birge ratio of the fit, 1 for a good fit)."""
    n = len(names)
    amp, bkg, var = np.empty(n), np.empty(n), np.empty((n, 2, 2))
    for j in range(n):
        a = np.stack([shapes[j], np.ones_like(z)], axis=1) * weights[j][:, None]
        coef, *_ = np.linalg.lstsq(a, counts[j] * weights[j], rcond=None)
        amp[j], bkg[j] = coef
        var[j] = np.linalg.pinv(a.T @ a) * scale
    layers = []
    for k in range(n):
        S = np.array([amp[j] * (j == k) + bkg[j] for j in range(n)])
        vS = np.array([var[j, 0, 0] * (j == k) + var[j, 1, 1] + 2 * var[j, 0, 1] * (j == k) for j in range(n)])
        tot = S.sum()
        comp = {}
        for j in range(n):
            grad = ((np.arange(n) == j) * tot - S[j]) / tot ** 2
            comp[names[j]] = Quantity(S[j] / tot, float(np.sqrt(np.sum(grad ** 2 * vS))), "1")
        layers.append({"marker": names[k], "composition": comp})
    return layers


def mri_analysis(profile, species: Sequence[str], *, axis: str = "sputter_time", inputs=()) -> Result:
    """MRI fit of a layered profile with one marker species per layer (top to bottom).

    Fits Hofmann's mixing length w, roughness σ and information depth λ with the true interface depths
    (:func:`fit_mri`), then gives each layer's composition as the fractions of the species' fitted
    plateau signals in it (signal fractions: without relative sensitivity factors they are not atomic
    fractions), and warns where w, σ, λ are not identifiable (|correlation| > 0.95 or relative 1σ > 50 %).

    Returns
    -------
    Result
        Kind ``depth.mri``: ``mixing_length``, ``roughness``, ``information_depth``, ``interfaces``,
        ``thicknesses``, ``layers``, ``reduced_chi2``, ``chi2_red_limit``, ``birge_ratio`` (see
        :func:`fit_mri`), ``correlation_w_sigma_lam``; and ``curves``,
        ``{"z", "data", "fitted", "unit", "species", "axis"}`` for :func:`mri_figure` (``r.curves``; the
        command line leaves it out of its JSON).
    """
    from ionscope.depth._common import axis_values, species_counts

    names = list(species)
    if len(names) < 2:
        raise ValidationError("an MRI fit needs at least two layers: give one marker species per layer")
    z, unit = axis_values(profile, axis)
    counts = species_counts(profile, names)
    guess = _guesses(z, counts, profile, names, axis)
    fit = fit_mri(z, counts.T, list(range(len(names))), n_layers=len(names), interfaces_guess=guess, unit=unit,
                  labels=names)
    n = len(names)
    params = np.concatenate([[q.value for q in fit["thicknesses"]],
                             [fit["w"].value, fit["sigma"].value, fit["lam"].value], [fit["interfaces"][0].value]])
    weights = 1.0 / np.sqrt(np.maximum(counts.T, 1.0))
    grid = _grid(z)
    bounds = params[n + 1] + np.concatenate([[0.0], np.cumsum(params[: n - 2])])
    fine = mri_profile(grid, layer_composition(grid, bounds, n), *params[n - 2:n + 1])
    shapes = np.stack([np.interp(z, grid, fine[k]) for k in range(n)])
    fitted, _ = _model(params, z, n, np.arange(n), counts.T, weights, grid)
    warnings = list(fit.warnings)
    labels = {"w": "mixing length w", "sigma": "roughness σ", "lam": "information depth λ"}
    keys = ["w", "sigma", "lam"]
    corr = np.asarray(fit["correlation_w_sigma_lam"], dtype=float)
    for a in range(3):
        for b in range(a + 1, 3):
            if np.isfinite(corr[a, b]) and abs(corr[a, b]) > CORRELATION_LIMIT:
                warnings.append(f"{labels[keys[a]]} and {labels[keys[b]]} are not separately identifiable "
                                f"(correlation {corr[a, b]:.2f}): only a combination of them is determined")
    for k in keys:
        rel = fit[k].relative_uncertainty
        if rel is None or not np.isfinite(rel) or rel > RELATIVE_LIMIT:
            warnings.append(f"{labels[k]} is not determined by this profile (relative 1σ "
                            f"{'unknown' if rel is None or not np.isfinite(rel) else f'{rel:.0%}'})")
    values = {"axis": axis, "species": names, "mixing_length": fit["w"], "roughness": fit["sigma"],
              "information_depth": fit["lam"], "interfaces": fit["interfaces"], "thicknesses": fit["thicknesses"],
              "layers": _composition(z, counts.T, shapes, weights, fit["birge_ratio"] ** 2, names),
              "reduced_chi2": fit["reduced_chi2"], "chi2_red_limit": fit["chi2_red_limit"],
              "birge_ratio": fit["birge_ratio"], "correlation_w_sigma_lam": fit["correlation_w_sigma_lam"]}
    prov = make_provenance("ionscope.depth.mri_analysis", inputs=inputs,
                           parameters={"species": names, "axis": axis}, parents=[dict(fit.provenance)])
    values["curves"] = {"z": z, "data": counts.T, "fitted": fitted, "unit": unit, "species": names, "axis": axis}
    return Result("depth.mri", values, warnings=tuple(warnings), provenance=prov)


def mri_figure(curves: Mapping[str, Any]) -> Figure:
    """Measured counts (points) and fitted MRI curves (lines) of every marker species, log scale."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2), constrained_layout=True)
    for j, name in enumerate(curves["species"]):
        line, = ax.plot(curves["z"], curves["fitted"][j], lw=1.5, label=f"{name} (MRI fit)")
        ax.plot(curves["z"], curves["data"][j], ".", ms=3, color=line.get_color(), alpha=0.6)
    ax.set_yscale("log")
    ax.set_xlabel(f"{curves['axis'].replace('_', ' ')} ({curves['unit']})")
    ax.set_ylabel("counts")
    ax.legend(fontsize=8)
    return fig
__all__ = ["fit_mri", "fit_profile_mri", "layer_composition", "mri_analysis", "mri_figure", "mri_kernel", "mri_profile"]
