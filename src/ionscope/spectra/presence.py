"""Whether a fitted species is present: the three tests, and the z they need.

A species is reported *present* when

1. its intensity is significant: ``x_s / σ(x_s) ≥ z_crit`` (σ from the weighted normal equations of
   the active set, scaled by the mean squared weighted residual of the species' own windows when
   that exceeds 1 — misfit elsewhere in the spectrum does not dilute it);
2. for a species with ≥ 2 isotopologues, its own pattern is seen: over its isotopologues with ≥ 20 %
   of its largest abundance, the counts left after removing the other species' fitted share reach at
   least ``min_fraction`` of what it predicts in every one of them, and the cosine similarity of
   observed and predicted pattern is ≥ ``min_match``;
3. its pattern stands out from a smooth local background (``SpeciesFit.contrast``): windows at
   *every* nominal mass from ``contrast_pad`` below to ``contrast_pad`` above the pattern —
   including the masses where the species has no isotopologue — are fitted with the candidate
   species plus a background linear in nominal mass, separately for even and odd masses (organic
   fragment ions alternate in intensity with parity); the species must reach ``z_crit`` σ (σ scaled
   by √(χ²/dof) of this local fit). Each window's counts and each species' share of them are taken over
   the window's exact m/z interval, as in the window fit, so the test does not depend on the phase of
   the binning. An organic envelope spread over the same nominal masses as a
   rare-earth or oxide pattern is absorbed by the background; a metal pattern with gaps (Ru⁺ has none
   at 97 and 103, Pd⁺ none at 107 and 109) is not. A pad of 4 gives each parity two masses per side.
   Species whose isotopologues (those with ≥ 20 % of the largest) all lie at nominal masses where no
   molecular ion can exist (:func:`outside_molecular_continuum`: m/z 4–11 and 20–23, so Li⁺, Be⁺, B⁺, Na⁺)
   are exempt: the isolated H₃O⁺, C₂⁺ or B⁺ peaks around them, which a linear background cannot follow,
   would only inflate the test's σ (a clean ⁶Li⁺/⁷Li⁺ pair between empty masses came out at 2.3σ, Na⁺ of
   z = 243 at 3.4σ). So are species whose isotopologues the spectrum resolves from every plausible molecular
   ion of their nominal masses (:func:`~ionscope.spectra.continuum.resolved_from_molecular_ions`: farther than
   two FWHM, or four bins): the counts at their exact masses are no molecular ion's, and the metals beside
   them at the neighbouring masses (Mn⁺, Co⁺, Ni⁺ of a cathode at m/z 55–62) are not a continuum (each
   failed the test at zc 1.2–2.9 with z 83–145 on a simulated spectrum at m/Δm 1500).

``z_crit`` comes from counting statistics (:func:`detection_threshold`, Bonferroni over the species
tested in a run). Once an element has a present species, its other forms that fail only tests 1 and 3 at
``z_crit`` but pass both at the single-test 3σ level (:data:`FORM_Z`) are present too
(:func:`_further_forms`): the threshold of the run decides whether the element is there, each form's own
test which of its forms count towards its intensity.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ionscope.spectra.continuum import outside_molecular_continuum, resolved_from_molecular_ions
from ionscope.spectra.forms import _main_mz
from ionscope.spectra.identification import IdentifyParameters, SpeciesFit
from ionscope.spectra.windowfit import (
    FWHM_SIGMA,
    _binned_gaussian_share,
    _interval_counts,
    _nnls,
    _Species,
    _Spectrum,
    _WindowFit,
    window_half_width,
)


def _pattern_agreement(s: int, fit: _WindowFit) -> tuple[float, float]:
    """Cosine similarity of observed (the other species' share removed) and predicted counts over the
    species' windows, and the least observed/predicted ratio over its windows with ≥ 20 % of its
    largest."""
    a, b, coef = fit.a, fit.b, fit.coef
    if coef[s] <= 0:
        return 0.0, 0.0
    fitted = fit.fitted
    contrib = a[:, s] * coef[s]
    rows = np.nonzero(contrib >= 0.2 * contrib.max())[0]
    own = np.clip(b[rows] - (fitted[rows] - contrib[rows]), 0, None)
    frac = float(np.min(own / contrib[rows]))
    allrows = np.nonzero(contrib > 0)[0]
    o = np.clip(b[allrows] - (fitted[allrows] - contrib[allrows]), 0, None)
    match = float(o @ contrib[allrows] / (np.linalg.norm(o) * np.linalg.norm(contrib[allrows]) + 1e-300))
    return match, frac


#: Centroid offset (window half-widths) beyond which a window's counts are mostly another ion's: the tail of a
#: Gaussian peak 1.5 FWHM away, alone in a window of ±FWHM/2, has its centroid 0.76 half-widths off; a peak of
#: the species holding half the window with it, 0.38. A centroid farther off than that, and significantly so
#: (:func:`_centroid_offset`), fails the mass-offset test: Al⁺ of the C₂H₃⁺ tail at m/Δm 1 000 does, Pt⁺ of 3 000
#: counts with 600 of hydrocarbon tails beside it (0.13) does not.
TAIL_OFFSET = 0.38


def _centroid_offset(s: int, species: _Species, fit: _WindowFit, data: _Spectrum) -> tuple[float, float]:
    """Offset of the count centroid from the exact m/z in the species' main windows (half-widths), and that
    offset over its standard error.

    The standard error of each window's centroid adds in quadrature that of a Gaussian peak's mean over its
    ``n`` counts, ``σ/√n`` with σ = m/(2.3548·R) (Bevington & Robinson 2003, ch. 4), the spread of a position
    within a bin, ``Δbin/√12``, and the calibration's uncertainty at the peak; the windows' offsets are
    averaged by abundance. The tail of an ion 1.5 FWHM away fills a window with counts all on one side (Al⁺,
    26.982, beside C₂H₃⁺, 27.023, at m/Δm 1 000: 480 counts whose centroid sits 8 standard errors off) where a
    peak of the species itself centres."""
    sel = np.nonzero(species.idx == s)[0]
    if not sel.size:
        return float("nan"), float("nan")
    sel = sel[species.ca[sel] >= 0.2 * species.ca[sel].max()]
    half = species.half[sel]
    c = species.cm[sel] * (1 + fit.shifts[sel] * 1e-6)
    lo = np.searchsorted(data.x, c - half, side="left")
    hi = np.searchsorted(data.x, c + half, side="right")
    n = data.cs[hi] - data.cs[lo]
    ok = n > 0
    if not ok.any():
        return float("nan"), float("nan")
    centroid = (data.cs_x[hi[ok]] - data.cs_x[lo[ok]]) / n[ok]
    weight = species.ca[sel][ok]
    offset = float(np.average((centroid - c[ok]) / half[ok], weights=weight))
    sigma_peak = c[ok] / (FWHM_SIGMA * data.resolving_power) if np.isfinite(data.resolving_power) else 0.0
    bin_width = np.interp(c[ok], data.x, data.dx)
    se = np.sqrt(sigma_peak ** 2 / n[ok] + bin_width ** 2 / 12 + (c[ok] * data.position_ppm * 1e-6) ** 2)
    mean = float(np.average(centroid - c[ok], weights=weight))
    se_mean = float(np.sqrt(np.sum((weight * se) ** 2)) / np.sum(weight))
    return offset, (mean / se_mean if se_mean > 0 else 0.0)


def _assess(species: _Species, fit: _WindowFit, data: _Spectrum, params: IdentifyParameters,
            hidden: set[str], only: set[str] | None = None) -> list[SpeciesFit]:
    """SpeciesFit records and presence (module docstring, tests 1–3) of the reported species; the
    interference species follow with ``present=False``. Elements in ``hidden`` are never present; given
    ``only``, just the species reported under those elements are assessed. Without
    ``params.contrast_of_failed`` the contrast (the costly test 3) is computed only for species that pass
    the others (0 for the rest) and the further forms of a detected element, which change no decision, are
    not looked for; with it they are added (:func:`_further_forms`)."""
    n = len(species.formulas)
    z_crit = run_threshold(species, hidden, params)
    total_sigma = fit.total_sigma
    out = []
    for s in range(n):
        el = species.reported[s]
        if only is not None and el not in only:
            continue
        z = float(fit.coef[s] / fit.sigma[s]) if np.isfinite(fit.sigma[s]) and fit.sigma[s] > 0 else 0.0
        match, frac = _pattern_agreement(s, fit)
        p = species.patterns[s]
        diagnostic = bool(np.sum(p.abundance >= 0.01 * p.abundance.max()) >= 2)
        offset, offset_z = (_centroid_offset(s, species, fit, data) if fit.coef[s] > 0
                            else (float("nan"), float("nan")))
        failed = []
        if el is None or el in hidden:
            failed.append("not reported")
        if not z >= z_crit:
            failed.append("significance")
        if diagnostic and not (match >= params.min_match and frac >= params.min_fraction):
            failed.append("pattern")
        contrast, local, local_sigma = 0.0, float("nan"), float("nan")
        atomic = species.formulas[s][:-1] == el
        if el is not None and (fit.coef[s] > 0 or atomic) and (params.contrast_of_failed or not failed):
            contrast, local, local_sigma = _local_fit(s, species, data, params.contrast_pad)
            if not fit.coef[s] > 0:  # the window fit has none of it: nothing to test, the atomic ion's limit
                contrast = 0.0
        # whether the spectrum resolves it is looked at only where that decides presence: the species passes every
        # other test, or fails only significance at a z a further form of a detected element needs (_further_forms)
        decisive = not failed or (failed == ["significance"] and z >= min(FORM_Z, z_crit))
        if (params.contrast or not diagnostic) and not contrast >= z_crit and not _clear_of_continuum(
                species.formulas[s], data, resolved=decisive):
            failed.append("contrast")
        if not (abs(offset) <= params.max_offset and (abs(offset_z) <= z_crit or abs(offset) <= TAIL_OFFSET)):
            failed.append("mass offset")
        owner = el if el is not None else "".join(sorted(species.metals[s]))
        out.append(SpeciesFit(species.formulas[s], owner, p.base_mz, float(fit.coef[s]), float(total_sigma[s]), z,
                              match, frac, float(offset), contrast, diagnostic, not failed, interference=el is None,
                              failed=tuple(failed), local_intensity=local, local_uncertainty=local_sigma,
                              shared_with=tuple(sorted(species.metals[s] - {el})) if el is not None else ()))
    if params.contrast_of_failed:
        out = _further_forms(out, min(FORM_Z, z_crit))
    out.sort(key=lambda f: (f.interference, -f.intensity))
    return out


def _clear_of_continuum(formula: str, data: _Spectrum, resolved: bool = True) -> bool:
    """Whether the main isotopologues of an ion (≥ 20 % of the largest) all lie where no molecular ion can,
    or (``resolved``) the spectrum resolves them from every plausible molecular ion of their nominal masses
    with the windows of the fit and the calibration's uncertainty at them, and the isotopologues of molecular
    ions it does not resolve hold no more than their counting noise
    (:func:`~ionscope.spectra.continuum.resolved_from_molecular_ions`)."""
    main = _main_mz(formula)
    if outside_molecular_continuum(main):
        return True
    charge = 1 if formula.endswith("+") else -1
    return resolved and resolved_from_molecular_ions(main, window_half_width(main, data), charge,
                                                     lambda mz: _counts_around(mz, data),
                                                     main * data.position_ppm * 1e-6)


def _counts_around(mz: np.ndarray, data: _Spectrum) -> np.ndarray:
    """Counts (before any background subtraction) in the window of an ion at each of ``mz``
    (:func:`~ionscope.spectra.windowfit.window_half_width`)."""
    half = window_half_width(mz, data)
    return _interval_counts(mz - half, mz + half, data.edges, data.cs_raw)


#: z a further form of a detected element must reach in tests 1 and 3 to count towards the element: the
#: single-test 3σ detection convention of counting statistics (Currie, *Anal. Chem.* 40, 586, 1968,
#: doi:10.1021/ac60259a007).
FORM_Z = 3.0


def _further_forms(out: list[SpeciesFit], z_form: float) -> list[SpeciesFit]:
    """The records with the further forms of each detected element marked present: a form of an element
    that has a present form, failing only tests 1 and 3 at ``z_crit`` but passing both at ``z_form``.

    ``z_crit`` (Bonferroni over the run) bounds the probability of reporting an element that is absent. Which
    forms of a detected element count towards its intensity is a question about each form, answered at the
    single-test level: with the run's threshold, the same spectrum would give an element a different intensity
    depending on how many elements were named with it (Pt⁻ on a negative Ru–Pt spectrum, contrast 3.7σ:
    counted with Pt named alone, z_crit 3.6 over its 8 forms, not with five metals named, z_crit 4.0)."""
    detected = {f.element for f in out if f.present and not f.interference}
    for i, f in enumerate(out):
        if f.present or f.interference or f.element not in detected or set(f.failed) - {"significance", "contrast"}:
            continue
        if f.significance >= z_form and ("contrast" not in f.failed or f.contrast >= z_form):
            out[i] = replace(f, present=True, failed=())
    return out


def run_threshold(species: _Species, hidden: set[str], params: IdentifyParameters) -> float:
    """``z_crit`` of a fit: ``params.min_significance`` if set, else :func:`detection_threshold` over the
    Bonferroni family of the species that can be reported (not interference species, not those of the
    ``hidden`` nuisance and background elements)."""
    if params.min_significance is not None:
        return params.min_significance
    return detection_threshold(reportable_count(species, hidden))


def reportable_count(species: _Species, hidden: set[str]) -> int:
    """Number of species of a fit that can be reported (not interference species, not those of the ``hidden``
    nuisance and background elements): the tests of its Bonferroni family."""
    return sum(1 for r in species.reported if r is not None and r not in hidden)


def _local_fit(s: int, species: _Species, data: _Spectrum, pad: int) -> tuple[float, float, float]:
    """Significance of species ``s`` over a smooth local background (module docstring, test 3), and its
    counts above that background with their 1σ: ``(z, counts, σ)``; ``(0, 0, nan)`` where it has no window.

    Model, over the windows of :func:`_local_windows`: every candidate species with a share in a window plus a
    background linear in ``N``, separately for even and odd ``N`` (organic ions alternate in intensity with
    the parity of their nominal mass), written as four non-negative ramps. Poisson-weighted NNLS; σ of the
    species from the active set (with the species in it when its coefficient is 0), scaled by √(χ²/dof) when
    > 1; ``z`` is 0 when the coefficient is.
    """
    windows = _local_windows(s, species, data, pad)
    if windows is None:
        return 0.0, 0.0, float("nan")
    grid, b, a, k = windows
    t = (grid - grid[0]) / max(grid[-1] - grid[0], 1)
    even = (grid % 2 == 0).astype(float)
    ramps = np.column_stack([even * t, even * (1 - t), (1 - even) * t, (1 - even) * (1 - t)])
    design = np.column_stack([a, ramps])
    w = 1.0 / np.sqrt(np.maximum(b, 1.0))
    coef, _ = _nnls(design * w[:, None], b * w, maxiter=50 * design.shape[1] + 50)
    active = np.union1d(np.nonzero(coef > 0)[0], [k])
    resid = (b - design @ coef) * w
    dof = max(grid.size - active.size, 1)
    aw = design[:, active] * w[:, None]
    cov = np.linalg.pinv(aw.T @ aw) * max(float(resid @ resid) / dof, 1.0)
    i = int(np.searchsorted(active, k))
    sigma = float(np.sqrt(cov[i, i]))
    x_k = float(coef[k])
    return (x_k / sigma if x_k > 0 and sigma > 0 else 0.0), x_k, sigma


def _local_windows(s: int, species: _Species, data: _Spectrum,
                   pad: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, int] | None:
    """The windows of the contrast test of species ``s``: ``(N, counts, shares, column of s)``, or None where
    it has no window.

    A window at every nominal mass ``N`` from ``pad`` below to ``pad`` above the species' pattern, at ``N`` +
    the species' mean mass defect, half-width max(m/2R, one bin), including the masses where the species has
    no isotopologue. Counts are taken over each window's exact m/z interval, a bin's counts spread evenly over
    it, and each candidate species' column holds the share of its isotopologues' peaks (FWHM m/R, spread over
    their bin) inside that interval (:func:`~ionscope.spectra.windowfit._binned_gaussian_share`), as in the
    window fit: counting whole bins by their centres made the windows gain or lose a bin with the phase of the
    binning, and the contrast of Rh⁺ on a 200-channel export swung between 3.5 and 30σ with calibration shifts
    of a few hundredths of a bin.
    """
    cm, x = species.cm, data.x
    mine = species.idx == s
    if not mine.any():
        return None
    nom = np.rint(cm[mine]).astype(int)
    defect = float(np.average(cm[mine] - nom, weights=species.ab[mine]))
    grid = np.arange(nom.min() - pad, nom.max() + pad + 1)
    grid = grid[(grid + defect > x[0]) & (grid + defect < x[-1])]
    if grid.size < 3:
        return None
    centres = grid + defect
    half = np.maximum(centres / (2 * data.resolving_power), np.interp(centres, x, data.dx))
    b = _interval_counts(centres - half, centres + half, data.edges, data.cs)
    j = np.rint(cm - defect).astype(int) - grid[0]
    rows = np.nonzero((j >= 0) & (j < grid.size))[0]
    j = j[rows]
    share = species.ab[rows] * _binned_gaussian_share(cm[rows], cm[rows] / (data.resolving_power * FWHM_SIGMA),
                                                      data.edges, centres[j] - half[j], centres[j] + half[j])
    keep = share > 1e-3 * species.ab[rows]
    rows, j, share = rows[keep], j[keep], share[keep]
    used = np.unique(species.idx[rows])
    if s not in used:
        return None
    a = np.zeros((grid.size, used.size))
    np.add.at(a, (j, np.searchsorted(used, species.idx[rows])), share)
    return grid, b, a, int(np.searchsorted(used, s))


def detection_threshold(n_tests: int, family_sigma: float = 3.0) -> float:
    """One-sided z needed per species so that a whole run of ``n_tests`` species tests has at most the
    false-report probability of a single ``family_sigma`` test (Bonferroni: ``p = Φ(−3)/n``; 3σ one-sided
    is p = 1.35·10⁻³). E.g. 20 species → 3.82σ, 150 species → 4.32σ."""
    from statistics import NormalDist

    nd = NormalDist()
    return float(-nd.inv_cdf(nd.cdf(-family_sigma) / max(int(n_tests), 1)))
