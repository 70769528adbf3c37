"""Element identification from isotope patterns, with NNLS decomposition of overlapping patterns.

Each candidate species (an element's atomic ion and its oxides for the polarity, :data:`FORMS`) has
an isotope pattern. Around every isotopologue m/z a window of ±FWHM/2 (``m/2R``, never narrower than
one bin) holds the counts of that isotopologue minus a local background: the mean count per bin of
two flanks one FWHM away from the peak (:func:`_window_counts`), whose Poisson variance is propagated
into the window variance. Windows of different species that overlap are merged. The window
intensities ``b`` are modelled as ``A·x`` with ``A[j, s]`` the fraction of species ``s``'s ions
falling in window ``j`` and ``x ≥ 0`` the total intensity of each species, solved by
variance-weighted non-negative least squares (Lawson–Hanson 1974; the algorithm of :func:`scipy.optimize.nnls`).

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
   by √(χ²/dof) of this local fit). An organic envelope spread over the same nominal masses as a
   rare-earth or oxide pattern is absorbed by the background; a metal pattern with gaps (Ru⁺ has none
   at 97 and 103, Pd⁺ none at 107 and 109) is not. A pad of 4 gives each parity two masses per side.

Named mode runs the same tests as auto mode: naming an element does not make it present.
``z_crit`` comes from counting statistics (:func:`detection_threshold`): the one-sided z that keeps
the false-report probability of the whole run of species tests at that of a single 3σ test
(Bonferroni), e.g. 3.8σ for 5 elements × 4 forms, 4.3σ for the ~150 species of auto mode.

A species with a single isotopologue above 1 % of the largest (Rh⁺, RhO⁺, Au⁺, Co⁺ …;
``SpeciesFit.diagnostic`` False) has no pattern to confirm: it is present only when it passes tests 1
and 3, i.e. stands out of the local background at its own mass once the named multi-isotope
elements are fitted jointly (Ru⁺ has no isotope at 103, so the Ru pattern fixes how much of m/z 103
the Ru-bearing ions can explain). Such elements are not auto-mode candidates: screened over
~35 elements a single-mass excess is what any organic or cluster ion produces. Auto mode fits the
monoisotopic noble metals :data:`AUTO_NUISANCE` (Rh⁺ at m/z 103 inside the Ru and Pd patterns, Au⁺
at 197 inside Pt's) without reporting them, so that a major Rh⁺ peak of an alloy does not spoil the
local background of Ru⁺. Name them to test them.

Hydride forms (MH⁺) are not fitted by default: on synthetic spectra without hydrides, MH⁺ windows
merging with the M⁺ windows one mass apart biased Ru⁺ by +12 %; pass ``forms`` to add them.

Optionally (``max_shift_ppm`` > 0) a residual calibration error is absorbed by a ppm shift of the
windows per 50-m/z band, chosen to maximise the intensity explained by the species (off by default:
the recalibration is kept within a fraction of a bin).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ionscope.library.isotopes import diagnostic_elements, element
from ionscope.library.patterns import isotope_pattern
from ionscope.model.errors import ValidationError
from ionscope.spectra import _peakfind

_erf = np.frompyfunc(math.erf, 1, 1)


def nnls(a: np.ndarray, b: np.ndarray, maxiter: int) -> tuple[np.ndarray, float]:
    """Lawson–Hanson NNLS: :func:`scipy.optimize.nnls` (compiled) once ``scipy.optimize`` is imported
    (a batch imports it), else the NumPy twin (no import cost for a single spectrum)."""
    if "scipy.optimize" in sys.modules:
        return sys.modules["scipy.optimize"].nnls(a, b, maxiter=maxiter)
    return _peakfind.nnls(a, b, maxiter=maxiter)


def erf(v) -> np.ndarray:
    """Error function, element-wise (``math.erf``; avoids importing ``scipy.special`` at start-up)."""
    return np.asarray(_erf(np.asarray(v, dtype=float)), dtype=float)


AUTO_NUISANCE = ("Rh", "Au")  #: monoisotopic metals fitted (never reported) in auto mode

#: Species forms tried for each element, by polarity (metal surfaces and their oxides: Laurent et al.,
#: Anal. Chem. 2024).
FORMS = {
    "positive": ("{E}", "{E}O", "{E}O2"),
    "negative": ("{E}", "{E}O", "{E}O2", "{E}O3"),
}


@dataclass(frozen=True)
class SpeciesFit:
    """One candidate species: fitted intensity (counts), its 1σ, significance, pattern match, presence."""

    formula: str
    element: str
    mz: float
    intensity: float
    uncertainty: float
    significance: float
    score: float
    min_fraction: float
    mass_offset: float
    contrast: float
    diagnostic: bool
    present: bool

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def candidate_species(elements: Sequence[str], polarity: str, forms: Sequence[str] | None = None,
                      max_mz: float | None = None) -> list[tuple[str, str]]:
    """(formula, element) pairs for ``elements`` in the forms of ``polarity``."""
    if polarity not in FORMS:
        raise ValidationError(f"polarity must be 'positive' or 'negative', got {polarity!r}")
    sign = "+" if polarity == "positive" else "-"
    out = []
    for e in elements:
        element(e)
        for f in forms or FORMS[polarity]:
            formula = f.format(E=e) + sign
            if max_mz is None or isotope_pattern(formula, resolution="unit").mz.max() < max_mz:
                out.append((formula, e))
    return out


def _windows(centres: np.ndarray, half: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    order = np.argsort(centres)
    lo, hi = centres[order] - half[order], centres[order] + half[order]
    group = np.zeros(lo.size, int)
    g, end = 0, hi[0]
    for i in range(1, lo.size):
        if lo[i] > end:
            g += 1
            end = hi[i]
        else:
            end = max(end, hi[i])
        group[i] = g
    wlo = np.array([lo[group == k].min() for k in range(g + 1)])
    whi = np.array([hi[group == k].max() for k in range(g + 1)])
    inv = np.empty_like(group)
    inv[order] = group
    return wlo, whi, inv


def identify_elements(spectrum, mz=None, *, polarity: str, elements: Sequence[str] | str = "auto",
                      forms: Sequence[str] | None = None, resolving_power: float | None = None,
                      min_significance: float | None = None, min_match: float = 0.9, min_fraction: float = 0.5,
                      min_abundance: float = 0.01, max_shift_ppm: float = 0.0,
                      shift_step_ppm: float = 50.0, band_width: float = 50.0,
                      max_offset: float = 1.0, contrast: bool | None = None,
                      contrast_pad: int = 4) -> list[SpeciesFit]:
    """Which multi-isotope elements are in a calibrated spectrum, and how much of each species.

    Parameters
    ----------
    spectrum, mz
        Counts and m/z (or a ``spectrum`` DataArray); the m/z must already be calibrated.
    polarity
        ``"positive"`` or ``"negative"`` (chooses the species forms).
    elements
        ``"auto"`` (every element with a diagnostic pattern: ≥ 3 isotopes above 5 %, see
        :func:`ionscope.library.isotopes.diagnostic_elements`, plus :data:`AUTO_NUISANCE`) or a list
        such as ``["Ru", "Pt", "Pd"]`` (any element, including two-isotope and monoisotopic ones).
    forms
        Species templates such as ``("{E}", "{E}O")``; default :data:`FORMS` of the polarity.
    resolving_power
        m/Δm used for the window half-width ``m/(2R)`` (default: median of the 20 strongest peaks);
        never narrower than one bin.
    min_significance
        z needed in tests 1 and 3; default :func:`detection_threshold` of the number of species.
    min_match, min_fraction
        Pattern criteria (module docstring, test 2).
    min_abundance
        Isotopologues below this abundance are left out of the windows.
    max_offset
        Largest allowed offset of the observed count centroid from the exact m/z in the species' main
        isotopologue windows, in window half-widths (``SpeciesFit.mass_offset``; 1 = anywhere in the
        window). A diagnostic more than a filter on coarsely binned data.
    contrast, contrast_pad
        Background-contrast test (module docstring, test 3): required for presence unless
        ``contrast=False`` (then only for single-isotopologue species); its significance is reported
        either way in ``SpeciesFit.contrast``. ``contrast_pad`` nominal masses on each side of the
        pattern give the local background.
    max_shift_ppm, shift_step_ppm, band_width
        Residual calibration error tolerated: in every ``band_width`` (m/z) band the window centres
        are shifted by a ppm offset chosen on this grid to maximise the intensity the species explain
        there (a calibration extrapolated from light reference ions drifts with mass); 0 disables.

    Returns
    -------
    list of SpeciesFit, sorted by decreasing intensity.
    """
    from ionscope.spectra.peaks import estimate_baseline, find_spectrum_peaks

    if mz is None:
        mz = spectrum.coords["mz"].values
        spectrum = spectrum.values
    y = np.asarray(spectrum, dtype=float)
    x = np.asarray(mz, dtype=float)
    auto = isinstance(elements, str) and elements == "auto"
    els = diagnostic_elements() + list(AUTO_NUISANCE) if auto else list(elements)
    if contrast is None:
        contrast = True
    species = candidate_species(els, polarity, forms, max_mz=float(x.max()))
    if not species:
        raise ValidationError("no candidate species fall inside the m/z range of the spectrum")
    z_crit = detection_threshold(len(species)) if min_significance is None else min_significance
    if resolving_power is None:
        pk = find_spectrum_peaks(y, x, min_snr=10)
        top = pk.nlargest(20, "height") if len(pk) else pk
        resolving_power = float(np.median(top["resolving_power"])) if len(top) else 1000.0
    yb = np.clip(y - estimate_baseline(y, 101), 0, None)
    cs = np.concatenate(([0.0], np.cumsum(yb)))
    cs_raw = np.concatenate(([0.0], np.cumsum(y)))
    cs_x = np.concatenate(([0.0], np.cumsum(yb * x)))
    dx = np.gradient(x)
    pats = [isotope_pattern(f, resolution="unit") for f, _ in species]
    cm, ca, cs_idx = [], [], []
    for s, p in enumerate(pats):
        keep = p.abundance >= min_abundance * p.abundance.max()
        cm.append(p.mz[keep])
        ca.append(p.abundance[keep])
        cs_idx.append(np.full(int(keep.sum()), s))
    cm, ca, cs_idx = np.concatenate(cm), np.concatenate(ca), np.concatenate(cs_idx)
    ok = (cm > x[0]) & (cm < x[-1])
    cm, ca, cs_idx = cm[ok], ca[ok], cs_idx[ok]
    half = np.maximum(cm / (2 * resolving_power), np.interp(cm, x, dx))
    # fraction of a Gaussian peak of FWHM m/R inside ±half: the columns of A then give total counts
    ca = ca * erf(half * 2.354820045 / (cm / resolving_power) / np.sqrt(2))

    def solve(shift_ppm, rows=None):
        sel = np.arange(cm.size) if rows is None else rows
        shifts = shift_ppm if np.ndim(shift_ppm) == 0 else np.asarray(shift_ppm)[sel]
        centres = cm[sel] * (1 + shifts * 1e-6)
        wlo, whi, win = _windows(centres, half[sel])
        b, var = _window_counts(wlo, whi, x, cs_raw, dx)
        a = np.zeros((wlo.size, len(species)))
        np.add.at(a, (win, cs_idx[sel]), ca[sel])
        w = 1.0 / np.sqrt(np.maximum(var, 1.0))
        used = np.nonzero(a.any(axis=0))[0]
        coef = np.zeros(len(species))
        coef[used], _ = nnls(a[:, used] * w[:, None], b * w, maxiter=50 * used.size + 50)
        return a, b, w, coef

    shifts = np.zeros(cm.size)
    if max_shift_ppm > 0:
        grid = np.arange(-max_shift_ppm, max_shift_ppm + 1e-9, shift_step_ppm)
        band = np.floor(cm / band_width).astype(int)
        for k in np.unique(band):
            rows = np.nonzero(band == k)[0]
            explained = []
            for g in grid:
                a_k, _, _, c_k = solve(g, rows)
                explained.append(float(np.sum(a_k @ c_k)))
            shifts[rows] = grid[int(np.argmax(explained))]
    a, b, w, coef = solve(shifts)
    fitted = a @ coef
    resid = (b - fitted) * w
    active = np.nonzero(coef > 0)[0]
    sigma = np.full(len(species), np.inf)
    if active.size:
        aw = a[:, active] * w[:, None]
        cov = np.linalg.pinv(aw.T @ aw)
        for j, s in enumerate(active):
            rows = a[:, s] > 0
            local = float(np.mean(resid[rows] ** 2)) if rows.any() else 1.0
            sigma[s] = np.sqrt(max(cov[j, j], 0.0) * max(local, 1.0))
    for s in np.nonzero(~np.isfinite(sigma) & a.any(axis=0))[0]:  # not fitted (x = 0): σ of it fitted alone
        rows = a[:, s] > 0
        local = float(np.mean(resid[rows] ** 2)) if rows.any() else 1.0
        sigma[s] = np.sqrt(max(local, 1.0) / float(np.sum((a[rows, s] * w[rows]) ** 2)))
    def _centroid_offset(s: int) -> float:
        sel = np.nonzero(cs_idx == s)[0]
        sel = sel[ca[sel] >= 0.2 * ca[sel].max()]
        c = cm[sel] * (1 + shifts[sel] * 1e-6)
        lo = np.searchsorted(x, c - half[sel], side="left")
        hi = np.searchsorted(x, c + half[sel], side="right")
        n = cs[hi] - cs[lo]
        ok = n > 0
        if not ok.any():
            return float("nan")
        centroid = (cs_x[hi[ok]] - cs_x[lo[ok]]) / n[ok]
        return float(np.average((centroid - c[ok]) / half[sel][ok], weights=ca[sel][ok]))

    out = []
    for s, (formula, el) in enumerate(species):
        p = pats[s]
        contrib = a[:, s] * coef[s]
        rows = np.nonzero(a[:, s] >= 0.2 * a[:, s].max())[0] if coef[s] > 0 else np.array([], int)
        frac, match = 0.0, 0.0
        if rows.size:
            own = np.clip(b[rows] - (fitted[rows] - contrib[rows]), 0, None)
            frac = float(np.min(own / contrib[rows]))
            allrows = np.nonzero(a[:, s] > 0)[0]
            o = np.clip(b[allrows] - (fitted[allrows] - contrib[allrows]), 0, None)
            match = float(o @ contrib[allrows] / (np.linalg.norm(o) * np.linalg.norm(contrib[allrows]) + 1e-300))
        z = float(coef[s] / sigma[s]) if np.isfinite(sigma[s]) and sigma[s] > 0 else 0.0
        offset = _centroid_offset(s) if coef[s] > 0 else np.nan
        diagnostic = bool(np.sum(p.abundance >= 0.01 * p.abundance.max()) >= 2)
        present = bool(z >= z_crit and abs(offset) <= max_offset
                       and (not diagnostic or (match >= min_match and frac >= min_fraction)))
        z_c = (_contrast_significance(s, cm, ca, cs_idx, cs, x, dx, resolving_power, contrast_pad)
               if coef[s] > 0 else 0.0)
        if contrast or not diagnostic:
            present = present and z_c >= z_crit
        if auto and el in AUTO_NUISANCE:
            present = False
        out.append(SpeciesFit(formula, el, p.base_mz, float(coef[s]), float(sigma[s]), z, match, frac,
                              float(offset), z_c, diagnostic, present))
    out.sort(key=lambda f: -f.intensity)
    return out


def _contrast_significance(s: int, cm: np.ndarray, ca: np.ndarray, cs_idx: np.ndarray, cs: np.ndarray,
                           x: np.ndarray, dx: np.ndarray, resolving_power: float, pad: int) -> float:
    """Significance of species ``s`` over a smooth local background (module docstring, test 3).

    Windows at every nominal mass ``N`` from ``pad`` below to ``pad`` above the species' pattern, at
    ``N`` + the species' mean mass defect, including the masses where the species has no
    isotopologue. Model: every candidate species with an isotopologue in a window (capture fractions
    ``ca``) plus a background linear in ``N``, separately for even and odd ``N`` (organic ions
    alternate in intensity with the parity of their nominal mass), written as four non-negative
    ramps. Poisson-weighted NNLS; σ of the species from the active set, scaled by √(χ²/dof) when > 1.
    """
    mine = cs_idx == s
    nom = np.rint(cm[mine]).astype(int)
    defect = float(np.average(cm[mine] - nom, weights=ca[mine]))
    grid = np.arange(nom.min() - pad, nom.max() + pad + 1)
    centres = grid + defect
    ok = (centres > x[0]) & (centres < x[-1])
    grid, centres = grid[ok], centres[ok]
    if grid.size < 3:
        return 0.0
    half = np.maximum(centres / (2 * resolving_power), np.interp(centres, x, dx))
    b = cs[np.searchsorted(x, centres + half, side="right")] - cs[np.searchsorted(x, centres - half, side="left")]
    var = b
    j = np.rint(cm - defect).astype(int) - grid[0]
    inside = (j >= 0) & (j < grid.size)
    inside[inside] &= np.abs(cm[inside] - centres[j[inside]]) <= half[j[inside]]
    used = np.unique(cs_idx[inside])
    if s not in used:
        return 0.0
    a = np.zeros((grid.size, used.size))
    np.add.at(a, (j[inside], np.searchsorted(used, cs_idx[inside])), ca[inside])
    t = (grid - grid[0]) / max(grid[-1] - grid[0], 1)
    even = (grid % 2 == 0).astype(float)
    ramps = np.column_stack([even * t, even * (1 - t), (1 - even) * t, (1 - even) * (1 - t)])
    design = np.column_stack([a, ramps])
    w = 1.0 / np.sqrt(np.maximum(var, 1.0))
    k = int(np.searchsorted(used, s))
    coef, _ = nnls(design * w[:, None], b * w, maxiter=50 * design.shape[1] + 50)
    if coef[k] <= 0:
        return 0.0
    active = np.nonzero(coef > 0)[0]
    resid = (b - design @ coef) * w
    dof = max(grid.size - active.size, 1)
    aw = design[:, active] * w[:, None]
    cov = np.linalg.pinv(aw.T @ aw) * max(float(resid @ resid) / dof, 1.0)
    var = cov[int(np.searchsorted(active, k)), int(np.searchsorted(active, k))]
    return float(coef[k] / np.sqrt(var)) if var > 0 else 0.0


def detection_threshold(n_tests: int, family_sigma: float = 3.0) -> float:
    """One-sided z needed per species so that a whole run of ``n_tests`` species tests has at most the
    false-report probability of a single ``family_sigma`` test (Bonferroni: ``p = Φ(−3)/n``; 3σ one-sided
    is p = 1.35·10⁻³). E.g. 20 species → 3.82σ, 150 species → 4.32σ."""
    from statistics import NormalDist

    nd = NormalDist()
    return float(-nd.inv_cdf(nd.cdf(-family_sigma) / max(int(n_tests), 1)))


def elements_present(fits: Sequence[SpeciesFit]) -> dict[str, float]:
    """Element → summed intensity of its present species (counts)."""
    res: dict[str, float] = {}
    for f in fits:
        if f.present:
            res[f.element] = res.get(f.element, 0.0) + f.intensity
    return dict(sorted(res.items(), key=lambda kv: -kv[1]))


def _window_counts(wlo: np.ndarray, whi: np.ndarray, x: np.ndarray, cs_raw: np.ndarray,
                   dx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Background-subtracted counts in each window and their Poisson variance.

    The local background of a window ``[lo, hi]`` of width ``W`` is the mean count per bin in two
    flanks ``[lo − W, lo − W/2]`` and ``[hi + W/2, hi + W]`` (at least one bin each). A window is
    ±FWHM/2 around the exact mass, so the flanks start one FWHM from the peak centre, where a
    Gaussian peak has fallen to 6 % of its height, and end before the next nominal mass. With ``S``
    counts in ``n`` window bins and ``F`` counts in ``n_f`` flank bins:
    ``b = S − n·F/n_f`` and ``var(b) = S + n²·F/n_f²`` (both sums Poisson).
    """
    width = np.maximum(whi - wlo, 0.0)
    i_lo = np.searchsorted(x, wlo, side="left")
    i_hi = np.searchsorted(x, whi, side="right")
    n = np.maximum(i_hi - i_lo, 1)
    s = cs_raw[i_hi] - cs_raw[i_lo]
    step = np.interp(wlo, x, dx)
    l0 = np.searchsorted(x, wlo - np.maximum(width, 2 * step), side="left")
    l1 = np.minimum(np.searchsorted(x, wlo - width / 2, side="right"), i_lo)
    l0 = np.minimum(l0, np.maximum(l1 - 1, 0))
    r0 = np.maximum(np.searchsorted(x, whi + width / 2, side="left"), i_hi)
    r1 = np.searchsorted(x, whi + np.maximum(width, 2 * step), side="right")
    r1 = np.maximum(r1, np.minimum(r0 + 1, x.size))
    nf = np.maximum((l1 - l0) + (r1 - r0), 1)
    f = (cs_raw[l1] - cs_raw[l0]) + (cs_raw[r1] - cs_raw[r0])
    return s - n * f / nf, s + n * n * f / (nf * nf)
