"""Window counts over a local background and their joint decomposition into species intensities.

Around every isotopologue m/z a window of ±FWHM/2 (``m/2R``, never narrower than one bin) holds the counts
of that isotopologue minus a local background: the mean count per bin of two flanks one FWHM away from the
peak (:func:`_window_counts`), whose Poisson variance is propagated into the window variance. Windows of
different species that overlap are merged. The window intensities ``b`` are modelled as ``A·x`` with
``A[j, s]`` the fraction of species ``s``'s ions falling in window ``j`` and ``x ≥ 0`` the total intensity of each
species, solved by variance-weighted non-negative least squares (Lawson–Hanson 1974; the algorithm of
:func:`scipy.optimize.nnls`).

Optionally (``max_shift_ppm`` > 0) a residual calibration error is absorbed by a ppm shift of the windows
per 50-m/z band, chosen to maximise the intensity explained by the species (off by default: the
recalibration is kept within a fraction of a bin).

Steps: ``_prepare`` (arrays, running sums, resolving power), ``_build_species`` (forms, interferences,
isotopologue windows), ``_fit_windows`` (joint NNLS and σ).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ionscope.model.errors import ValidationError
from ionscope.spectra import _peakfind
from ionscope.spectra.continuum import FWHM_SIGMA, erf
from ionscope.spectra.forms import (
    NO_ION_WHY,
    _candidate_pairs,
    _deciding_interferences,
    _dimer_species,
    _interference_species,
    _primary_ion_species,
    _shared_form_species,
    _unit_pattern,
)
from ionscope.spectra.identification import IdentifyParameters


def _nnls(a: np.ndarray, b: np.ndarray, maxiter: int) -> tuple[np.ndarray, float]:
    """Lawson–Hanson NNLS: :func:`scipy.optimize.nnls` (compiled) once ``scipy.optimize`` is imported
    (a batch imports it), else the NumPy twin (no import cost for a single spectrum)."""
    if "scipy.optimize" in sys.modules:
        return sys.modules["scipy.optimize"].nnls(a, b, maxiter=maxiter)
    return _peakfind.nnls(a, b, maxiter=maxiter)


def _windows(centres: np.ndarray, half: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Merged windows ``[wlo, whi]`` of the intervals ``centres ± half`` that overlap, and the window of
    each interval. In centre order a window ends where an interval starts beyond the upper ends of all
    the intervals before it."""
    order = np.argsort(centres, kind="stable")
    lo, hi = centres[order] - half[order], centres[order] + half[order]
    starts = np.concatenate(([True], lo[1:] > np.maximum.accumulate(hi)[:-1]))
    group = np.cumsum(starts) - 1
    first = np.nonzero(starts)[0]
    wlo, whi = np.minimum.reduceat(lo, first), np.maximum.reduceat(hi, first)
    inv = np.empty_like(group)
    inv[order] = group
    return wlo, whi, inv


@dataclass(frozen=True)
class _Spectrum:
    """Counts, m/z, bin widths, running sums and the resolving power of one calibrated spectrum."""

    y: np.ndarray
    x: np.ndarray
    dx: np.ndarray
    cs: np.ndarray      # running sum of baseline-subtracted counts
    cs_raw: np.ndarray  # running sum of counts
    cs_x: np.ndarray    # running sum of baseline-subtracted counts × m/z
    resolving_power: float
    edges: np.ndarray   # bin edges, half a bin either side of each centre
    position_ppm: float = 0.0  # uncertainty of the calibration at a peak (ppm)
    resolving_power_spread: float = 0.0  # relative spread of the peaks' own resolving powers


@dataclass(frozen=True)
class _Species:
    """Candidate species: formula, its elements, the element it is reported under (None for an
    interference species), and its isotopologue rows (m/z, capture-weighted abundance, species index,
    window half-width, abundance)."""

    formulas: list[str]
    metals: list[frozenset]
    reported: list[str | None]
    patterns: list
    cm: np.ndarray
    ca: np.ndarray
    idx: np.ndarray
    half: np.ndarray
    ab: np.ndarray


@dataclass(frozen=True)
class _WindowFit:
    """Design ``a`` (windows × species), background-subtracted window counts ``b``, weights ``w``,
    coefficients, per-isotopologue ppm shifts, 1σ of each coefficient from counting statistics and the
    relative 1σ of each species' capture fraction."""

    a: np.ndarray
    b: np.ndarray
    w: np.ndarray
    coef: np.ndarray
    shifts: np.ndarray
    sigma: np.ndarray
    capture: np.ndarray | None = None  # relative 1σ of each capture fraction (:func:`_capture_uncertainty`)

    @property
    def fitted(self) -> np.ndarray:
        return self.a @ self.coef

    @property
    def total_sigma(self) -> np.ndarray:
        """1σ of each intensity with the uncertainty of its capture fraction (the tests of presence use
        :attr:`sigma`, counting statistics alone: how well the capture is known says nothing of whether the
        ion is there)."""
        return self.sigma if self.capture is None else np.hypot(self.sigma, self.coef * self.capture)


def instrument_resolving_power(y: np.ndarray, x: np.ndarray, n_peaks: int = 20) -> float:
    """m/Δm (FWHM) of the instrument, the widening by the export's binning removed.

    An export sums many TOF channels per bin, so a peak is observed at least one bin wide. The width of
    each of the ``n_peaks`` strongest peaks (10σ) is taken from the second moment of its counts over a
    local background (:func:`_peak_resolving_power`) with Sheppard's correction for grouping into bins
    of width ``Δ``, ``σ² = var − Δ²/12`` (Sheppard,
    *Proc. Lond. Math. Soc.* 29, 353, 1898; exact for a Gaussian sampled finer than ~σ whatever the bin
    phase), and ``w = 2√(2 ln 2)·σ``. The estimate is the median of ``m/w`` over those peaks, each weighted
    by its height (the width of a peak is known to ~1/√counts). A peak whose corrected variance is not
    positive lies within its bin (``w = 0``): ``inf`` when those hold most of the weight — true peaks
    narrower than the binning, as in exports of 200 channels per bin, whose windows are then one bin and
    whose peak shape is the bin; 1000 when the spectrum has no peak.

    The width at half height read between bin centres is not a usable alternative: with the half-height
    points interpolated from two or three bins per FWHM it depends on where the peak centre falls in its
    bin, and removing the bin in quadrature read R = 10000 as 13400 on a synthetic one-channel export (the
    moments give 10100), and gave 1700–20000 on the 19 exports of Laurent et al. (2024), whose peaks all
    lie within one bin at the masses that count.
    """
    return _resolving_power_and_spread(y, x, n_peaks)[0]


def _resolving_power_and_spread(y: np.ndarray, x: np.ndarray, n_peaks: int = 20) -> tuple[float, float]:
    """:func:`instrument_resolving_power` and the relative spread of the peaks' own m/w about it (1.4826·MAD
    of their logarithms, the finite ones; 0 with fewer than three): how well the one resolving power fits any
    one peak. At 1.2 bins per FWHM (⁷Li⁺ at m/Δm 10 000 over 200 000 channels) Sheppard's correction is no
    longer exact: R read 1 % high, the peaks spread by 1.3 %."""
    from ionscope.spectra.peaks import find_spectrum_peaks

    pk = find_spectrum_peaks(y, x, min_snr=10)
    if not len(pk):
        return 1000.0, 0.0
    top = pk.nlargest(n_peaks, "height")
    bin_width = np.gradient(x)
    r = np.array([_peak_resolving_power(y, x, bin_width, m, w_obs)
                  for m, w_obs in zip(top["mz"].to_numpy(), top["fwhm"].to_numpy())])
    order = np.argsort(r)
    weight = np.cumsum(top["height"].to_numpy()[order])
    finite = np.log(r[np.isfinite(r)])
    spread = 1.4826 * float(np.median(np.abs(finite - np.median(finite)))) if finite.size >= 3 else 0.0
    return float(r[order][np.searchsorted(weight, weight[-1] / 2)]), spread


def _peak_resolving_power(y: np.ndarray, x: np.ndarray, bin_width: np.ndarray, mz: float,
                          fwhm_observed: float) -> float:
    """m/w of one peak from the second moment of its counts, Sheppard-corrected (``inf`` within a bin).

    The counts are taken over ±2 observed FWHM (±4.7σ of a Gaussian) less a flat background, the mean of
    as many bins again as an eighth of that span (at least two) just outside it on each side: a
    background estimated over a block as wide as the peak would take its wings, and the variance with
    them (R = 1500 read as 1610).
    """
    i = int(np.clip(np.searchsorted(x, mz), 1, x.size - 1))
    i -= int(mz - x[i - 1] < x[i] - mz)  # the bin whose centre is nearest
    delta = float(np.interp(mz, x, bin_width))
    half = max(2, int(np.ceil(2 * fwhm_observed / delta)))
    edge = max(2, (2 * half + 1) // 8)
    if i - half - edge < 0 or i + half + edge >= x.size:
        return float("inf")
    lo, hi = i - half, i + half + 1
    c = y[lo:hi] - 0.5 * (y[lo - edge:lo].mean() + y[hi:hi + edge].mean())
    xs = x[lo:hi]
    total = float(c.sum())
    if total <= 0:
        return float("inf")
    mean = float(c @ xs) / total
    variance = float(c @ (xs - mean) ** 2) / total - delta ** 2 / 12
    return mz / (FWHM_SIGMA * np.sqrt(variance)) if variance > 0 else float("inf")


def _prepare(spectrum, mz, params: IdentifyParameters) -> _Spectrum:
    """Arrays, running sums, the instrument's resolving power (:func:`instrument_resolving_power`) and the
    uncertainty of the spectrum's calibration at a peak (:func:`_calibration_position_ppm`)."""
    from ionscope.spectra.peaks import estimate_baseline

    position = 0.0
    if mz is None:
        position = _calibration_position_ppm(spectrum.attrs.get("calibration") or {})
        mz = spectrum.coords["mz"].values
        spectrum = spectrum.values
    y = np.asarray(spectrum, dtype=float)
    x = np.asarray(mz, dtype=float)
    rp, spread = params.resolving_power, 0.0
    if rp is None:
        rp, spread = _resolving_power_and_spread(y, x)
    yb = np.clip(y - estimate_baseline(y, 101), 0, None)
    zero = np.zeros(1)
    dx = np.gradient(x)
    return _Spectrum(y, x, dx, np.concatenate((zero, np.cumsum(yb))), np.concatenate((zero, np.cumsum(y))),
                     np.concatenate((zero, np.cumsum(yb * x))), rp, _bin_edges(x, dx), position, spread)


def _calibration_position_ppm(calibration: dict) -> float:
    """Uncertainty (ppm) of where the calibration puts a peak, from ``attrs["calibration"]`` as
    :func:`~ionscope.spectra.calibration.apply_calibration` writes it: the rms residual at its ``n`` reference
    ions times √(p/n), ``p`` its parameters — the standard error of a least-squares curve at a point of mean
    leverage p/n (Draper & Smith, *Applied Regression Analysis*, 3rd ed., Wiley 1998, section 8.1). 0 without one.

    On simulated spectra at m/Δm 2 000 (rms 110–160 ppm over 13 references) it gives 43–64 ppm; the calibration
    was 51–79 ppm off at ⁷Li⁺. The file's own calibration kept (``fitted_to_references`` False) was not fitted to
    the reference ions, so nothing averages its error down: the rms residual at them is its error at a peak (an
    export 550 ppm off at m/Δm 1 000 had been taken as known to 190 ppm, and organic ions' tails passed for
    CoO₂⁻ and PdOCl⁻ on a spectrum of neither)."""
    rms = calibration.get("rms_ppm")
    used = sum(1 for r in calibration.get("references") or () if r.get("used", True))
    if rms is None or not np.isfinite(rms) or used == 0:
        return 0.0
    if calibration.get("fitted_to_references") is False:
        return float(rms)
    return float(rms) * np.sqrt(min(len(calibration.get("params") or (0, 0)) / used, 1.0))


def _nothing_in_range(els: Sequence[str], polarity: str, forms: Sequence[str] | None, chlorides: bool,
                      lo: float, hi: float) -> str:
    """Why no candidate species can be fitted: none of the elements forms an expected ion of the polarity,
    or their ions all lie beyond the spectrum's m/z range (named, with the lightest one)."""
    possible = _candidate_pairs(els, polarity, forms, None, chlorides)
    if not possible:
        return f"no {polarity} ion of {', '.join(els)} is expected ({NO_ION_WHY})"
    formula, mz = min(((f, float(_unit_pattern(f).mz.max())) for f, _ in possible), key=lambda t: t[1])
    return (f"the spectrum covers only m/z {lo:.1f}–{hi:.1f}: no ion tried fits inside it (the lightest, "
            f"{formula}, reaches m/z {mz:.1f}); is the export cut short?")


def _build_species(els: Sequence[str], polarity: str, params: IdentifyParameters, data: _Spectrum,
                   interferences: bool, chlorides: bool = False, nuisance: Sequence[str] = (),
                   extra: Sequence[tuple[str, str]] = (), dimers: bool = False,
                   shared: Sequence[str] = ()) -> _Species:
    """Reported forms of every element (with ``chlorides`` its (oxy)chloride ions too), the ions of two elements of
    which one is ``shared`` (named; :func:`~ionscope.spectra.forms._shared_form_species`: Li₂F⁺, PF₆⁻ …) and the
    ``extra`` (formula, element) species, plus (``interferences``) the deciding interference species — with
    ``dimers``, every dimer ion of ``els`` (no monomer form is collinear with one, and where it is not fitted a
    multi-isotope form at the same masses takes its counts) — and the primary-ion species of the ``nuisance``
    elements; the isotopologues above ``min_abundance`` inside the m/z range, with the share of a Gaussian peak of
    FWHM m/R over its bins (:func:`_binned_gaussian_share`) captured by a window of half-width ``max(m/2R, one
    bin)``."""
    x, rp = data.x, data.resolving_power
    top = float(x.max())
    candidates = _candidate_pairs(els, polarity, params.forms, top, chlorides)
    pairs: list[tuple[str, frozenset, str | None]] = [(f, frozenset((e,)), e) for f, e in candidates]
    pairs += [(f, frozenset((e,)), e) for f, e in extra if (f, frozenset((e,)), e) not in pairs]
    if shared and not params.forms:
        found = list(els) + [e for _, e in extra]  # Li₂F⁺ of a named F and a Li the screening found
        pairs += [t for t in _shared_form_species(shared, polarity, top, found) if t not in pairs]
    if not pairs:
        raise ValidationError(_nothing_in_range(els, polarity, params.forms, chlorides, float(x.min()), top))
    if interferences:
        pairs += _deciding_interferences(pairs, _interference_species(els, polarity, top, chlorides))
        if dimers:
            pairs += [(f, m, None) for f, m in _dimer_species(els, polarity, top, oxides=True)
                      if (f, m, None) not in pairs]
    pairs += _primary_ion_species(nuisance, polarity, top)
    pats = [_unit_pattern(f) for f, _, _ in pairs]
    keeps = [p.abundance >= params.min_abundance * p.abundance.max() for p in pats]
    cm = np.concatenate([p.mz[k] for p, k in zip(pats, keeps)])
    ca = np.concatenate([p.abundance[k] for p, k in zip(pats, keeps)])
    idx = np.concatenate([np.full(int(k.sum()), s) for s, k in enumerate(keeps)])
    ok = (cm > x[0]) & (cm < x[-1])
    cm, ca, idx = cm[ok], ca[ok], idx[ok]
    half = window_half_width(cm, data)
    captured = ca * _binned_gaussian_share(cm, cm / (rp * FWHM_SIGMA), data.edges, cm - half, cm + half)
    return _Species([f for f, _, _ in pairs], [m for _, m, _ in pairs], [r for _, _, r in pairs], pats,
                    cm, captured, idx, half, ca)


def window_half_width(mz: np.ndarray, data: _Spectrum) -> np.ndarray:
    """Half-width (u) of the window of an isotopologue at ``mz``: the larger of FWHM/2 = m/(2R) and the
    spectrum's bin width there (a peak narrower than its bin is recorded in one bin, whose neighbour it
    can spill into)."""
    return np.maximum(mz / (2 * data.resolving_power), np.interp(mz, data.x, data.dx))


def _solve(species: _Species, data: _Spectrum, shift_ppm, rows=None):
    """Variance-weighted NNLS of the window counts on the species' capture fractions.

    A species' column holds, per window, its isotopologues' abundance times the share of their
    Gaussian peak (FWHM m/R), spread over its bin, that the background-subtracted window count keeps
    (:func:`_captured_fraction`).
    """
    n = len(species.formulas)
    sel = np.arange(species.cm.size) if rows is None else rows
    shifts = shift_ppm if np.ndim(shift_ppm) == 0 else np.asarray(shift_ppm)[sel]
    centres = species.cm[sel] * (1 + shifts * 1e-6)
    wlo, whi, win = _windows(centres, species.half[sel])
    b, var, flanks = _window_counts(wlo, whi, data.x, data.cs_raw, data.dx, data.edges)
    sigma = centres / (data.resolving_power * FWHM_SIGMA)
    kept = _captured_fraction(centres, sigma, data.edges, wlo, whi, flanks, win)
    a = np.zeros((wlo.size, n))
    np.add.at(a, (win, species.idx[sel]), species.ab[sel] * kept)
    w = 1.0 / np.sqrt(np.maximum(var, 1.0))
    used = np.nonzero(a.any(axis=0))[0]
    coef = np.zeros(n)
    coef[used], _ = _nnls(a[:, used] * w[:, None], b * w, maxiter=50 * used.size + 50)
    return a, b, w, coef


def _band_shifts(species: _Species, data: _Spectrum, params: IdentifyParameters) -> np.ndarray:
    """Per-isotopologue ppm shift: per ``band_width`` band, the grid value explaining most intensity."""
    shifts = np.zeros(species.cm.size)
    if params.max_shift_ppm <= 0:
        return shifts
    grid = np.arange(-params.max_shift_ppm, params.max_shift_ppm + 1e-9, params.shift_step_ppm)
    band = np.floor(species.cm / params.band_width).astype(int)
    for k in np.unique(band):
        rows = np.nonzero(band == k)[0]
        fits = (_solve(species, data, g, rows) for g in grid)
        explained = [float(np.sum(a @ c)) for a, _, _, c in fits]
        shifts[rows] = grid[int(np.argmax(explained))]
    return shifts


def _fit_windows(species: _Species, data: _Spectrum, params: IdentifyParameters, robust: bool = False) -> _WindowFit:
    """Joint window fit of all species and the 1σ of each intensity (:func:`_sigmas`; ``robust``: at least the
    sandwich σ)."""
    shifts = _band_shifts(species, data, params)
    a, b, w, coef = _solve(species, data, shifts)
    return _WindowFit(a, b, w, coef, shifts, _sigmas(a, b, w, coef, robust), _capture_uncertainty(species, data))


def _capture_uncertainty(species: _Species, data: _Spectrum) -> np.ndarray:
    """Relative 1σ of each species' capture fraction, abundance-weighted over its isotopologues: the share of its
    counts a window of ±FWHM/2 loses when the peak lies one position σ off the window's centre (the
    calibration's uncertainty at a peak, :func:`_calibration_position_ppm`), and the share it gains or loses
    when the peak is one spread wider or narrower than the resolving power says
    (:func:`_resolving_power_and_spread`), added in quadrature.

    A window of ±FWHM/2 keeps 76 % of a Gaussian peak centred in it, 74 % of one 0.37σ off (⁷Li⁺ 79 ppm off at
    m/Δm 2 000), 75.5 % of one 1 % wider: a loss of counting precision for strong peaks (1–2 % where Poisson
    gives 0.2 %) that the fit's residuals do not show, since a one- or two-window species fits its windows
    exactly whatever its capture. Both are 0 where peaks lie within their bins (a shift of a small fraction of
    a bin leaves the bin inside the window; there is no resolving power to be wrong).
    """
    n = len(species.formulas)
    if (data.position_ppm <= 0 and data.resolving_power_spread <= 0) or not np.isfinite(data.resolving_power):
        return np.zeros(n)
    cm, half = species.cm, species.half
    sigma = cm / (data.resolving_power * FWHM_SIGMA)
    delta = cm * data.position_ppm * 1e-6

    def share(centre, s):
        return _binned_gaussian_share(centre, s, data.edges, cm - half, cm + half)

    centred = np.divide(species.ca, species.ab, out=np.zeros(cm.size), where=species.ab > 0)  # _build_species'
    moved = 0.5 * (share(cm + delta, sigma) + share(cm - delta, sigma))
    wider = share(cm, sigma * (1 + data.resolving_power_spread))
    kept = np.bincount(species.idx, species.ca, minlength=n)
    off = np.bincount(species.idx, species.ab * np.clip(centred - moved, 0.0, None), minlength=n)
    width = np.bincount(species.idx, species.ab * np.abs(centred - wider), minlength=n)
    return np.divide(np.hypot(off, width), kept, out=np.zeros(n), where=kept > 0)


def _sigmas(a: np.ndarray, b: np.ndarray, w: np.ndarray, coef: np.ndarray, robust: bool = False) -> np.ndarray:
    """1σ of each coefficient from the weighted normal equations of the active set, scaled by the mean
    squared weighted residual of the species' own windows when that exceeds 1; a species not fitted
    (x = 0) gets the σ it would have fitted alone.

    With ``robust``, at least the heteroskedasticity-consistent ("sandwich") σ of the active set (White,
    *Econometrica* 48, 817, 1980, doi:10.2307/1912934): the misfit of every window reaches a coefficient through
    its coupling to the others. A one-window species (Rh⁺ at m/z 103) fits its own window exactly, so its own
    misfit says nothing of how well the share of an overlapping species there (RuH⁺) is known; on positive Ru–Rh
    Rh⁺ was 392 326 ± 743 counts with ~66 k of m/z 103 credited to RuH⁺, ± 18 000 with the sandwich."""
    resid = (b - a @ coef) * w
    sigma = np.full(a.shape[1], np.inf)

    def local(s: int | np.integer) -> float:
        rows = a[:, s] > 0
        return max(float(np.mean(resid[rows] ** 2)) if rows.any() else 1.0, 1.0)

    active = np.nonzero(coef > 0)[0]
    if active.size:
        aw = a[:, active] * w[:, None]
        cov = np.linalg.pinv(aw.T @ aw)
        for j, s in enumerate(active):
            sigma[s] = np.sqrt(max(cov[j, j], 0.0) * local(s))
        if robust:
            sandwich = cov @ (aw.T * resid ** 2) @ aw @ cov
            sigma[active] = np.maximum(sigma[active], np.sqrt(np.clip(np.diag(sandwich), 0.0, None)))
    for s in np.nonzero(~np.isfinite(sigma) & a.any(axis=0))[0]:
        rows = a[:, s] > 0
        sigma[s] = np.sqrt(local(s) / float(np.sum((a[rows, s] * w[rows]) ** 2)))
    return sigma


#: z beyond which the two flanks of a window are taken to disagree (:func:`_window_counts`): a 3σ test
#: of the difference of two Poisson rates (normal approximation, variance ``F_l/n_l² + F_r/n_r²``), the
#: same 3σ convention as a detection limit (Currie, *Anal. Chem.* 1968, doi:10.1021/ac60259a007).
FLANK_Z = 3.0


def _bin_edges(x: np.ndarray, dx: np.ndarray) -> np.ndarray:
    """Bin edges (m/z) of bins centred at ``x`` with widths ``dx``: half a bin either side of each centre."""
    return np.concatenate((x - dx / 2, [x[-1] + dx[-1] / 2]))


def _interval_counts(lo: np.ndarray, hi: np.ndarray, edges: np.ndarray, cs: np.ndarray) -> np.ndarray:
    """Counts between the m/z ``lo`` and ``hi`` from the running sum ``cs`` of bins with ``edges``
    (:func:`_bin_edges`), each bin's counts spread evenly over it (the running sum interpolated between bin
    edges)."""
    return np.interp(hi, edges, cs) - np.interp(lo, edges, cs)


def _window_counts(wlo: np.ndarray, whi: np.ndarray, x: np.ndarray, cs_raw: np.ndarray, dx: np.ndarray,
                   edges: np.ndarray) -> tuple[np.ndarray, np.ndarray, _Flanks]:
    """Background-subtracted counts in each window, their Poisson variance, and the flanks used.

    Counts are taken over the exact m/z interval of a window, not over the bins whose centres fall in
    it: the running sum is interpolated linearly between bin edges (half a bin either side of each
    centre), i.e. counts are spread evenly over a bin. Otherwise the counted interval jumps by up to a
    bin at each edge with the bin phase — a 10 % swing of a single-isotope species when the window
    spans eight bins — while the capture fraction assumes the nominal window.

    The local background of a window ``[lo, hi]`` of width ``W`` is the count rate per unit m/z in two
    flanks ``[lo − W, lo − W/2]`` and ``[hi + W/2, hi + W]`` (at least one bin wide each). A window is
    ±FWHM/2 around the exact mass, so the flanks start one FWHM from the peak centre, where a
    Gaussian peak has fallen to 6 % of its height, and end before the next nominal mass. With ``S``
    counts in the window and ``F`` counts over flank width ``W_f``:
    ``b = S − W·F/W_f`` and ``var(b) = S + W²·F/W_f²`` (both sums Poisson).

    When the two flanks disagree beyond counting statistics — their rates differ by more than
    :data:`FLANK_Z` standard deviations of the difference — another peak sits in one of them (at high
    resolving power a hydrocarbon ion of the same nominal mass lies 0.1–0.2 m/z above a metal ion,
    i.e. in its upper flank), and the lower flank alone gives the background. Pooling them would
    subtract that peak from the window: ¹⁹⁵Pt⁺ next to C₁₅H₁₅⁺ came out as zero.
    """
    def counts(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return _interval_counts(a, b, edges, cs_raw)

    width = np.maximum(whi - wlo, 0.0)
    s = counts(wlo, whi)
    gap, wf = _flank_geometry(width, np.interp(wlo, x, dx))
    left = (wlo - gap - wf, wlo - gap)
    right = (whi + gap, whi + gap + wf)
    fl, fr = counts(*left), counts(*right)
    has = wf > 0
    wfs = np.where(has, wf, 1.0)
    rate_l, rate_r = fl / wfs, fr / wfs
    sd = np.sqrt(np.maximum(fl, 1) + np.maximum(fr, 1)) / wfs
    discordant = np.abs(rate_l - rate_r) > FLANK_Z * sd
    use_l = has & (~discordant | (rate_l <= rate_r))
    use_r = has & (~discordant | (rate_r < rate_l))
    f = fl * use_l + fr * use_r
    wsum = wfs * (use_l.astype(float) + use_r)
    weight = np.where(has, width / np.where(has, wsum, 1.0), 0.0)
    flanks = _Flanks(left, right, weight * use_l, weight * use_r)
    return s - weight * f, s + weight * weight * f, flanks


def _flank_geometry(width: np.ndarray, bin_width: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Gap between a window and each of its flanks, and the flank width (m/z), for windows of ``width``.

    Wanted: a gap of ``width/2`` (one FWHM from the peak centre for a ±FWHM/2 window) and a flank of
    ``max(width/2, one bin)``. Singly charged ions of neighbouring nominal masses lie 1 m/z apart, so
    their windows (about as wide) start ``1 − width`` beyond this one's edge; a flank reaching further
    would count their peaks as background. Coarse binning (windows are never narrower than a bin: at
    400 channels per bin in an IONTOF export, 0.3 m/z at m/z 180) makes that happen, so the flank is
    kept inside that gap — the gap to the window shrinks first, then the flank; where no room is left
    (windows ≥ 0.5 m/z wide) the window gets no flank and no background is subtracted.
    """
    room = np.clip(1.0 - width, 0.0, None)
    wf = np.minimum(np.maximum(width / 2, bin_width), room)
    gap = np.minimum(width / 2, room - wf)
    return gap, wf


@dataclass(frozen=True)
class _Flanks:
    """m/z intervals ``(start, stop)`` of each window's two flanks and the weight with which each
    flank's counts were subtracted (0 for a flank left out)."""

    left: tuple[np.ndarray, np.ndarray]
    right: tuple[np.ndarray, np.ndarray]
    left_weight: np.ndarray
    right_weight: np.ndarray


def _binned_gaussian_share(centre: np.ndarray, sigma: np.ndarray, edges: np.ndarray, lo: np.ndarray,
                           hi: np.ndarray) -> np.ndarray:
    """Share between ``lo`` and ``hi`` of a Gaussian peak (centre, σ in m/z) as the window counts read it,
    each bin's counts spread evenly over the bin (``edges``, m/z; :func:`_interval_counts`).

    A peak wider than a bin (finite σ) is integrated over the bins it falls in: the running count up to ``u``
    in bin ``[e₀, e₁)`` is ``Φ((e₀ − c)/σ) + f·[Φ((e₁ − c)/σ) − Φ((e₀ − c)/σ)]``, ``f = (u − e₀)/(e₁ − e₀)``,
    exact for every phase of the peak in its bins. A Gaussian convolved with a box one bin wide centred on
    the peak, a phase-free stand-in, misread a window two or three bins wide by 1.3 % (⁷Li⁺ at m/Δm 10 000
    in 0.0003 u bins: 2 % low, 8σ).

    A peak narrower than its bin (σ = 0: :func:`instrument_resolving_power` found the peaks within their
    bins) is spread over a box one bin wide around its centre (:func:`_box_share`): where it lies within its
    bin is then known only to the calibration's scatter, a quarter of a bin on the 200-channel exports of
    Laurent et al. (2024), about the standard deviation Δ/√12 = 0.29 Δ of that box; placing it exactly
    would claim a precision the axis does not have.
    """
    last = edges.size - 2
    if not np.all(np.asarray(sigma) > 0):
        return _box_share(centre, _bin_width_at(centre, edges), lo, hi)

    def running(u):
        k = np.clip(np.searchsorted(edges, u, side="right") - 1, 0, last)
        e0, e1 = edges[k], edges[k + 1]
        z = 1.0 / (sigma * np.sqrt(2))
        p0, p1 = 0.5 * erf((e0 - centre) * z), 0.5 * erf((e1 - centre) * z)
        return p0 + np.clip((u - e0) / (e1 - e0), 0.0, 1.0) * (p1 - p0)

    return running(hi) - running(lo)


def _bin_width_at(mz: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Bin width at ``mz``, interpolated between the centres of the bins (``edges``) either side, as
    ``np.interp(mz, centres, widths)`` gives it, from the two bins alone."""
    last = edges.size - 2
    k = np.clip(np.searchsorted(edges, mz, side="right") - 1, 0, last)
    j = np.clip(k + (mz >= 0.5 * (edges[k] + edges[k + 1])), 1, last)  # the first bin whose centre lies above
    c0, c1 = 0.5 * (edges[j - 1] + edges[j]), 0.5 * (edges[j] + edges[j + 1])
    w0, w1 = edges[j] - edges[j - 1], edges[j + 1] - edges[j]
    return np.where(mz <= c0, w0, np.where(mz >= c1, w1, w0 + (mz - c0) / (c1 - c0) * (w1 - w0)))


def _box_share(centre: np.ndarray, bin_width: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Share between ``lo`` and ``hi`` of counts spread evenly over ``centre ± bin_width/2`` (m/z)."""
    return np.clip((np.minimum(hi, centre + bin_width / 2) - np.maximum(lo, centre - bin_width / 2)) / bin_width,
                   0.0, 1.0)


def _captured_fraction(centre: np.ndarray, sigma: np.ndarray, edges: np.ndarray, wlo: np.ndarray,
                       whi: np.ndarray, flanks: _Flanks, win: np.ndarray) -> np.ndarray:
    """Expected share of each isotopologue's counts in its window's background-subtracted count: the
    integral of its peak spread over its bin (:func:`_binned_gaussian_share`) over its window — wider
    than its own ±FWHM/2 when windows of neighbouring isotopologues merged — minus the flank weights
    times the integrals over the flanks, where the peak's own tail lies partly."""
    inside = _binned_gaussian_share(centre, sigma, edges, wlo[win], whi[win])
    left = _binned_gaussian_share(centre, sigma, edges, flanks.left[0][win], flanks.left[1][win])
    right = _binned_gaussian_share(centre, sigma, edges, flanks.right[0][win], flanks.right[1][win])
    return inside - flanks.left_weight[win] * left - flanks.right_weight[win] * right
