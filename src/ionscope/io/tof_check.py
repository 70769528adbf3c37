"""Does a TOF mass calibration fit the events? A statistical check on a sample of a raw-event file.

A GRD file carries no calibration: the user gives ``k0`` and ``sf`` (flight time
t = channel · binning = k0 + sf·√(m/z), Vickerman & Briggs, *ToF-SIMS: Materials Analysis by Mass
Spectrometry*, 2nd ed., IM Publications 2013, ch. 3). A wrong pair gives empty or wrong ion images
without any error, so :func:`check_tof_calibration` tests it on the first events of the file (one
bounded read, not a second pass over the file):

1. **Peaks.** The TOF channels of the sample are histogrammed at bin widths 1, 2, 4, … channels; the
   width that makes the strongest peak most significant (smallest Poisson tail probability over the
   local baseline) is the matched filter for the peak width. At that width, peaks are local maxima
   whose Poisson tail probability is below α / (number of bins) (Bonferroni, family-wise false
   detection rate α = 1 %). Each peak is measured on the raw channels around it:
   background-subtracted centroid, its standard error (counting statistics) and FWHM (2√(2 ln 2) × the
   second moment).
2. **Common ions.** Under the given calibration, each of the :data:`N_PEAKS` strongest peaks either
   lies within one FWHM of a common ion of the polarity (:mod:`ionscope.library.reference_ions`;
   both polarities when it is not known) or not — closer than one FWHM two ions are not resolved, so
   the peak *is* that ion. If the calibration were unrelated to the data, a peak would land that
   close to a common ion with probability pᵢ = the fraction of the recorded flight-time range
   covered by ±FWHMᵢ around the common ions. The number of matches is compared with that chance
   distribution (Poisson binomial): a count that chance reaches with probability above α means the
   calibration is probably wrong.
3. **Requested windows.** With the peak windows of the binning, each window's events are compared
   with what a flat (uncalibrated) flight-time distribution would put there (Poisson tail,
   Bonferroni over the windows); that no window stands out corroborates a wrong calibration.
4. **Suggestion.** When the check fails, (k0, sf) pairs are hypothesised from the peaks themselves:
   k0 alone (each peak taken as each common ion), sf alone, or both (each ordered pair of peaks taken
   as each ordered pair of ions). The hypothesis that puts most peaks on common ions is kept if the
   number of such hypotheses times the chance probability of that many extra matches (the
   look-elsewhere effect) is below α and no different assignment does as well; its matches are then
   refitted by weighted least squares (weights 1/σ² of the centroids; covariance scaled by the
   reduced χ² when that exceeds 1, Birge 1932, doi:10.1103/PhysRev.40.207).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

from ionscope.kernels.baseline import estimate_baseline
from ionscope.library.reference_ions import reference_ions
from ionscope.model.events import Calibration, EventTable
from ionscope.model.result import NoUncertainty, Quantity

#: Family-wise false-alarm probability of every test of this module (1 %).
ALPHA = 0.01
#: The strongest peaks tested against the common ions.
N_PEAKS = 5
#: Events read from the start of the file for the check (2 Mi events = 40 MB; a fraction of a second).
SAMPLE_EVENTS = 1 << 21
#: FWHM of a Gaussian over its standard deviation, 2√(2 ln 2).
FWHM_PER_SIGMA = 2.0 * np.sqrt(2.0 * np.log(2.0))
#: Bins per block of the clipped block-mean baseline (:func:`ionscope.kernels.baseline.estimate_baseline`).
BASELINE_BLOCK = 101


@dataclass(frozen=True)
class TofPeaks:
    """Peaks of a TOF-channel histogram, strongest first (channels are record channels, before binning)."""

    channel: np.ndarray
    channel_sigma: np.ndarray
    fwhm: np.ndarray
    net_counts: np.ndarray
    span: tuple[int, int]
    n_events: int


@dataclass(frozen=True)
class TofCalibrationCheck:
    """Outcome of :func:`check_tof_calibration`.

    Attributes
    ----------
    consistent
        False when the given calibration puts no more of the strongest peaks on common ions than
        chance would; None when the sample has too few peaks to tell.
    matched, tested
        Strongest peaks within one FWHM of a common ion, and peaks tested.
    expected_by_chance, p_value
        Mean matches and probability of at least ``matched`` matches for a calibration unrelated to the data.
    peaks
        Per tested peak: channel, m/z under the given calibration, nearest common ion, offset and
        tolerance (ppm), matched.
    windows_above_flat
        Requested windows holding significantly more events than a flat TOF distribution (None: no windows).
    suggestion
        ``{"k0": {value, uncertainty, unit}, "sf": {…}, "ions": […], "polarity": …}`` (k0 in channels ×
        binning, sf in channels per √(m/z); 1σ) estimated from the peaks, or None.
    warnings
        Texts for the user (empty when the calibration fits).
    """

    consistent: bool | None
    matched: int
    tested: int
    expected_by_chance: float
    p_value: float
    polarity: str | None
    sample_events: int
    peaks: tuple[dict[str, Any], ...] = ()
    windows_above_flat: int | None = None
    n_windows: int = 0
    suggestion: dict[str, Any] | None = None
    warnings: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-ready summary."""
        return {"consistent": self.consistent, "matched": self.matched, "tested": self.tested,
                "expected_by_chance": _num(self.expected_by_chance), "p_value": _num(self.p_value),
                "polarity": self.polarity, "sample_events": self.sample_events, "peaks": [dict(p) for p in self.peaks],
                "windows_above_flat": self.windows_above_flat, "n_windows": self.n_windows,
                "suggestion": self.suggestion}


def _num(v: float) -> float | None:
    return float(v) if np.isfinite(v) else None


def check_tof_calibration(events: EventTable, *, windows: tuple[np.ndarray, np.ndarray] | None = None,
                          polarity: str | None = None, sample_events: int = SAMPLE_EVENTS,
                          start: int = 0) -> TofCalibrationCheck:
    """Test the event table's calibration against the strongest TOF peaks of its first events.

    Parameters
    ----------
    events
        Event table with a calibration.
    windows
        ``(lo, hi)`` m/z bounds of the requested peak windows (u/e), or None.
    polarity
        ``"positive"``/``"negative"``; default ``events.attrs["polarity"]``, else both ion lists.
    sample_events
        Events read from record ``start`` on.

    Returns
    -------
    TofCalibrationCheck
        With warnings naming the likely cause and, when the peaks determine one, a suggested (k0, sf).
    """
    cal = events.calibration
    if cal is None:
        raise ValueError("check_tof_calibration needs an event table with a calibration")
    polarity = polarity or events.attrs.get("polarity")
    names, ref = reference_ions(polarity if polarity in ("positive", "negative") else None)
    ref_mz = np.asarray(ref)
    stop = min(len(events), start + int(sample_events))
    tof = (np.sort(np.asarray(events.column("tof")[start:stop], dtype=np.int64)) if stop > start
           else np.zeros(0, dtype=np.int64))
    peaks = find_tof_peaks(tof)
    n_win, above = _windows_above_flat(tof, cal, windows)
    top = slice(0, N_PEAKS)
    if peaks.channel.size < 2:
        return TofCalibrationCheck(None, 0, int(peaks.channel.size), float("nan"), float("nan"), polarity,
                                   int(tof.size), windows_above_flat=above, n_windows=n_win)
    c, tol = peaks.channel[top], peaks.fwhm[top]
    ref_ch = np.asarray(cal.channel(ref_mz))
    matched, near = _matches(c, tol, ref_ch)
    p_i = _chance(tol, ref_ch, peaks.span)
    p_value = _tail(p_i, int(matched.sum()))
    se = peaks.channel_sigma[top]
    table = tuple(_peak_row(cal, *row) for row in zip(c, se, tol, [names] * c.size, [ref_mz] * c.size, near, matched))
    consistent = bool(p_value <= ALPHA)
    suggestion = None if consistent else _suggest(peaks, cal, polarity)
    warn = () if consistent else (_message(cal, table, int(matched.sum()), float(p_i.sum()), p_value, polarity,
                                           n_win, above, suggestion),)
    if consistent and n_win and above == 0:
        warn = (f"none of the {n_win} requested peak windows holds significantly more events than a flat "
                "time-of-flight distribution would put there (Poisson tail, α = 1 %, in the first "
                f"{tof.size} events): those ions are absent from the sample or outside the windows",)
    return TofCalibrationCheck(consistent, int(matched.sum()), int(c.size), float(p_i.sum()), p_value, polarity,
                               int(tof.size), table, above, n_win, suggestion, warn)


def find_tof_peaks(tof: np.ndarray) -> TofPeaks:
    """Significant peaks of sorted TOF channels, strongest (net counts) first.

    The bin width is the matched filter for the strongest peak (see the module docstring); a peak is
    a local maximum whose Poisson tail probability over the block-clipped baseline is below
    ``ALPHA`` / (number of bins). Each is measured on the raw channels of ±1.5 bins around it.
    """
    none = np.zeros(0)
    empty = TofPeaks(none, none, none, none, span=(0, 0), n_events=int(tof.size))
    if tof.size < 2 or tof[-1] == tof[0]:
        return empty
    t0, span = int(tof[0]), int(tof[-1] - tof[0]) + 1
    # memory follows the events read, not the flight-time range a corrupt event can stretch: at most
    # 4 bins (and a dense table of events before each channel) per event, else binary search
    max_bins = min(1 << 22, 4 * int(tof.size))
    cum = np.concatenate(([0], np.cumsum(np.bincount(tof - t0)))) if span <= max_bins else None
    best = None
    w = 1 << max(0, int(np.ceil(np.log2(span / max_bins))))
    while span // w >= 4 * BASELINE_BLOCK:
        counts, base = _binned(tof, cum, t0, w, span)
        score = _strongest(counts, base)
        if best is None or score < best[0]:
            best = (score, w, counts, base)
        w *= 2
    if best is None:
        return empty
    _, w, counts, base = best
    is_max = np.zeros(counts.size, bool)
    is_max[1:-1] = (counts[1:-1] >= counts[:-2]) & (counts[1:-1] > counts[2:]) & (counts[1:-1] > base[1:-1])
    idx = np.nonzero(is_max)[0]
    idx = idx[_log_tail(counts[idx], base[idx]) < np.log(ALPHA / counts.size)]
    rows = [r for r in (_measure(tof, t0 + (i + 0.5) * w, w, base[i] / w) for i in idx) if r is not None]
    rows = _distinct(rows)
    arr = np.array(rows, dtype=float).reshape(-1, 4)
    order = np.argsort(-arr[:, 3])
    arr = arr[order]
    return TofPeaks(arr[:, 0], arr[:, 1], arr[:, 2], arr[:, 3], (t0, t0 + span), int(tof.size))


def _binned(tof: np.ndarray, cum: np.ndarray | None, t0: int, w: int, span: int) -> tuple[np.ndarray, np.ndarray]:
    """Counts in bins of ``w`` channels from ``t0`` and their block-clipped baseline (``cum``: events
    before each channel from ``t0``, or None to search the sorted ``tof``)."""
    edges = w * np.arange(span // w + 1, dtype=np.int64)
    below = cum[edges] if cum is not None else np.searchsorted(tof, t0 + edges, side="left")
    counts = np.diff(below).astype(float)
    return counts, estimate_baseline(counts, BASELINE_BLOCK)


def _strongest(counts: np.ndarray, base: np.ndarray) -> float:
    """log Poisson tail probability of the most significant bin (smaller: more significant)."""
    cand = np.argpartition(counts - base, -16)[-16:] if counts.size > 16 else np.arange(counts.size)
    return float(np.min(_log_tail(counts[cand], base[cand])))


def _log_tail(c: np.ndarray, b: np.ndarray) -> np.ndarray:
    """log P(X ≥ c) for X ~ Poisson(b), without underflow: far in the tail (c > b + 1) the series
    P(X ≥ c) = pmf(c)·(1 + b/(c+1) + b²/((c+1)(c+2)) + …) is summed as pmf(c)/(1 − b/(c+1)) (an upper
    bound, tight for c ≫ b); elsewhere SciPy's log survival function."""
    c = np.asarray(c, dtype=float)
    b = np.maximum(np.asarray(b, dtype=float), 1e-12)
    far = c > b + 1
    out = stats.poisson.logsf(c - 1, b)
    out[far] = stats.poisson.logpmf(c[far], b[far]) - np.log1p(-b[far] / (c[far] + 1))
    return out


def _measure(tof: np.ndarray, centre: float, w: int, beta: float) -> tuple[float, float, float, float] | None:
    """(centroid, its standard error, FWHM, net counts) of the peak near ``centre`` (channels), from the
    raw channels around it minus a flat background of ``beta`` events per channel.

    First ±1.5 w around the bin, then three times re-centred on the centroid over ±max(1.5 w, 2.5 FWHM)
    (±5.9σ of a Gaussian: the truncated tails hold < 10⁻⁸ of the peak).
    """
    out = None
    half = 1.5 * w
    for _ in range(4):
        a, b = int(np.ceil(centre - half)), int(np.floor(centre + half)) + 1
        vals = tof[np.searchsorted(tof, a):np.searchsorted(tof, b)].astype(float)
        x = np.arange(a, b, dtype=float)
        net = vals.size - beta * x.size
        if net <= 0:
            return out
        c = (vals.sum() - beta * x.sum()) / net
        m2 = np.sum((vals - c) ** 2) - beta * np.sum((x - c) ** 2)
        var = max(m2 / net, 1.0 / 12.0)  # at least the rounding of a whole channel
        se = np.sqrt((np.sum((vals - c) ** 2) + beta * np.sum((x - c) ** 2)) / net ** 2 + 1.0 / (12.0 * net))
        out = (float(c), float(se), float(FWHM_PER_SIGMA * np.sqrt(var)), float(net))
        centre, half = c, max(1.5 * w, 2.5 * out[2])
    return out


def _distinct(rows: list[tuple[float, float, float, float]]) -> list[tuple[float, float, float, float]]:
    """Drop peaks whose centroid lies within the FWHM of a stronger one (noise maxima on a wide peak)."""
    kept: list[tuple[float, float, float, float]] = []
    for r in sorted(rows, key=lambda r: -r[3]):
        if all(abs(r[0] - k[0]) > max(k[2], r[2]) for k in kept):
            kept.append(r)
    return kept


def _matches(c: np.ndarray, tol: np.ndarray, ref_ch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Whether each peak lies within its tolerance of a reference channel, and the nearest reference."""
    d = np.abs(c[:, None] - ref_ch[None, :])
    near = np.argmin(d, axis=1)
    return d[np.arange(c.size), near] <= tol, near


def _chance(tol: np.ndarray, ref_ch: np.ndarray, span: tuple[int, int]) -> np.ndarray:
    """Per peak: fraction of the recorded channel range within ±tol of a reference channel."""
    lo, hi = span
    out = np.empty(tol.size)
    for i, t in enumerate(tol):
        a = np.clip(np.sort(ref_ch) - t, lo, hi)
        b = np.clip(np.sort(ref_ch) + t, lo, hi)
        covered, end = 0.0, lo
        for x, y in zip(a, b):
            x = max(x, end)
            if y > x:
                covered += y - x
                end = y
        out[i] = min(1.0, covered / max(hi - lo, 1))
    return out


def _tail(p: np.ndarray, k: int) -> float:
    """P(at least k successes) of independent Bernoulli trials with probabilities ``p`` (Poisson binomial)."""
    dist = np.zeros(p.size + 1)
    dist[0] = 1.0
    for q in p:
        dist[1:] = dist[1:] * (1 - q) + dist[:-1] * q
        dist[0] *= 1 - q
    return float(min(1.0, dist[k:].sum()))


def _peak_row(cal: Calibration, c: float, se: float, tol: float, names: tuple[str, ...], ref_mz: np.ndarray,
              j: int, matched: bool) -> dict[str, Any]:
    """One tested peak for the record: channel (± its standard error), m/z, nearest common ion, offset
    and tolerance (ppm of m/z; the tolerance is one FWHM, Δm/m = 2Δt/(t − k0))."""
    t = c * cal.binning - cal.k0
    mz = float(cal.mz(c)) if t > 0 else None
    tol_ppm = float(2e6 * tol * cal.binning / t) if t > 0 else None
    offset = None if mz is None else float((mz - ref_mz[j]) / ref_mz[j] * 1e6)
    sigma_mz = 2.0 * mz * cal.binning * se / t if mz is not None and np.isfinite(se) else None  # m = ((t−k0)/sf)²
    return {"channel": _q(c, se, "channel"), "mz": _q(mz, sigma_mz, "m/z"), "nearest_ion": names[j],
            "nearest_ion_mz": _q(float(ref_mz[j]), None, "m/z"), "offset": _q(offset, None if sigma_mz is None else
                                                                             sigma_mz / ref_mz[j] * 1e6, "ppm"),
            "tolerance": _q(tol_ppm, None, "ppm"), "matched": bool(matched)}


#: Why a field of a check's record has no uncertainty (:func:`check_quantities`).
_NO_UNCERTAINTY = {
    "nearest_ion_mz": NoUncertainty.exact("the ion's m/z from tabulated isotopic masses (AME2012: Wang et al. "
                                          "2012, doi:10.1088/1674-1137/36/12/003)"),
    "tolerance": NoUncertainty("a test criterion (one peak width, FWHM, at this m/z), not a measurement"),
}


def check_quantities(record: Any, key: str = "") -> Any:
    """A check's JSON-ready record (:meth:`TofCalibrationCheck.to_dict`) with its ``{value, uncertainty,
    unit}`` entries as :class:`~ionscope.model.result.Quantity`, each without an uncertainty saying why."""
    if isinstance(record, dict) and set(record) == {"value", "uncertainty", "unit"}:
        why = _NO_UNCERTAINTY.get(key, NoUncertainty("the peak's channel has no standard error"))
        return Quantity(record["value"], record["uncertainty"], record["unit"],
                        why_no_uncertainty=why if record["uncertainty"] is None else None)
    if isinstance(record, dict):
        return {k: check_quantities(v, k) for k, v in record.items()}
    if isinstance(record, (list, tuple)):
        return [check_quantities(v, key) for v in record]
    return record


def _q(value: float | None, uncertainty: float | None, unit: str) -> dict[str, Any]:
    """A plain ``{value, uncertainty, unit}`` record (JSON-ready)."""
    return {"value": None if value is None else float(value),
            "uncertainty": None if uncertainty is None else float(uncertainty), "unit": unit}


def _windows_above_flat(tof: np.ndarray, cal: Calibration,
                        windows: tuple[np.ndarray, np.ndarray] | None) -> tuple[int, int | None]:
    """(number of windows, how many hold significantly more sample events than a flat TOF distribution)."""
    if windows is None or tof.size == 0:
        return 0, None
    lo, hi = (np.asarray(w, dtype=float) for w in windows)
    a, b = np.ceil(cal.channel(lo)), np.floor(cal.channel(hi)) + 1
    n = np.searchsorted(tof, b) - np.searchsorted(tof, a)
    t0, t1 = float(tof[0]), float(tof[-1]) + 1
    width = np.clip(np.minimum(b, t1) - np.maximum(a, t0), 0, None)
    flat = tof.size * width / (t1 - t0)
    p = stats.poisson.sf(n - 1, np.maximum(flat, 1e-12))
    return int(lo.size), int(np.sum((p < ALPHA / lo.size) & (n > flat)))


def _suggest(peaks: TofPeaks, cal: Calibration, polarity: str | None) -> dict[str, Any] | None:
    """The suggestion from the common ions of ``polarity``; when it is unknown, from the positive and
    the negative ions separately (a spectrum has one polarity), the more significant of the two, with
    the look-elsewhere count doubled for trying both."""
    pols = (polarity,) if polarity in ("positive", "negative") else ("positive", "negative")
    found = []
    for pol in pols:
        names, ref = reference_ions(pol)
        s = suggest_tof_calibration(peaks, cal, names, np.asarray(ref), trials=len(pols))
        if s is not None:
            found.append({**s, "polarity": pol})
    return min(found, key=lambda s: s["expected_false_matches"]) if found else None


def suggest_tof_calibration(peaks: TofPeaks, cal: Calibration, names: tuple[str, ...],
                            ref_mz: np.ndarray, *, trials: int = 1) -> dict[str, Any] | None:
    """(k0, sf) with uncertainties that put the strongest peaks on common ions, or None if none is significant.

    Hypotheses: k0 free (sf as given), sf free (k0 as given), or both; see the module docstring.
    ``trials``: how many ion lists are tried in all (multiplies the look-elsewhere count).
    """
    c, sig, tol = peaks.channel[:N_PEAKS], peaks.channel_sigma[:N_PEAKS], peaks.fwhm[:N_PEAKS]
    if c.size < 3:
        return None
    t = c * cal.binning
    r = np.sqrt(ref_mz)
    p_bar = float(np.mean(_chance(tol, np.asarray(cal.channel(ref_mz)), peaks.span)))
    best = None
    for d, (k0s, sfs) in ((1, _k0_only(t, r, cal)), (1, _sf_only(t, r, cal)), (2, _both(t, r))):
        if k0s.size == 0:
            continue
        pred = (k0s[:, None] + sfs[:, None] * r[None, :]) / cal.binning  # (hypotheses, refs) channels
        dist = np.abs(c[None, :, None] - pred[:, None, :])
        hit = dist.min(axis=2) <= tol[None, :]
        k = hit.sum(axis=1)
        kmax = int(k.max())
        look_elsewhere = trials * k0s.size * float(stats.binom.sf(kmax - d - 1, c.size - d, p_bar))
        assign = {tuple(np.where(h, np.argmin(dd, axis=1), -1)) for h, dd, n in zip(hit, dist, k) if n == kmax}
        if look_elsewhere < ALPHA and len(assign) == 1 and (best is None or look_elsewhere < best[0]):
            best = (look_elsewhere, np.array(next(iter(assign))))
    if best is None:
        return None
    j = best[1]
    use = j >= 0
    return _refit(t[use], sig[use] * cal.binning, ref_mz[j[use]], [names[i] for i in j[use]], best[0])


def _k0_only(t: np.ndarray, r: np.ndarray, cal: Calibration) -> tuple[np.ndarray, np.ndarray]:
    k0 = (t[:, None] - cal.sf * r[None, :]).ravel()
    return k0, np.full(k0.size, cal.sf)


def _sf_only(t: np.ndarray, r: np.ndarray, cal: Calibration) -> tuple[np.ndarray, np.ndarray]:
    sf = ((t[:, None] - cal.k0) / r[None, :]).ravel()
    sf = sf[sf > 0]
    return np.full(sf.size, cal.k0), sf


def _both(t: np.ndarray, r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    i, i2 = np.triu_indices(t.size, 1)
    j, j2 = np.triu_indices(r.size, 1)
    dt = (t[i2] - t[i])[:, None]
    dr = (r[j2] - r[j])[None, :]
    sf = np.abs(dt) / dr  # peaks and ions both in increasing order: t[i] < t[i2] ⇔ r[j] < r[j2]
    t_lo = np.minimum(t[i], t[i2])[:, None]
    k0 = t_lo - sf * r[j][None, :]
    ok = np.isfinite(sf) & (sf > 0)
    return k0[ok], sf[ok]


def _refit(t: np.ndarray, sigma: np.ndarray, mz: np.ndarray, ions: list[str], look_elsewhere: float
           ) -> dict[str, Any] | None:
    """Weighted least squares t = k0 + sf·√m over the matched peaks; covariance scaled by max(1, χ²/dof)."""
    if t.size < 3:
        return None
    a = np.column_stack([np.ones_like(mz), np.sqrt(mz)])
    w = 1.0 / np.maximum(sigma, 1e-9) ** 2
    cov = np.linalg.inv((a * w[:, None]).T @ a)
    coef = cov @ ((a * w[:, None]).T @ t)
    chi2 = float(np.sum(w * (t - a @ coef) ** 2))
    dof = t.size - 2
    cov = cov * max(1.0, chi2 / dof)
    u = np.sqrt(np.diag(cov))
    return {"k0": _q(coef[0], u[0], "channel"), "sf": _q(coef[1], u[1], "channel"),
            "ions": ions, "chi2_per_dof": chi2 / dof, "expected_false_matches": look_elsewhere}


def _message(cal: Calibration, peaks: tuple[dict[str, Any], ...], k: int, expected: float, p_value: float,
             polarity: str | None, n_win: int, above: int | None, suggestion: dict[str, Any] | None) -> str:
    """The warning for a calibration that does not fit the events."""
    tol = [p["tolerance"]["value"] for p in peaks if p["tolerance"]["value"] is not None]
    within = (f"within their own peak width (±{min(tol):.0f}–{max(tol):.0f} ppm)" if tol
              else "within their own peak width")
    ions = f"common {polarity} ion" if polarity in ("positive", "negative") else "common ion (either polarity)"
    count = "none" if k == 0 else f"only {k}"
    text = (f"the given calibration (k0 = {cal.k0:g}, sf = {cal.sf:g}, binning {cal.binning:g}) puts {count} of the "
            f"{len(peaks)} strongest time-of-flight peaks {within} of a {ions} — no more than an unrelated "
            f"calibration would ({expected:.2g} expected by chance, p = {p_value:.2g}); the calibration is "
            "probably wrong")
    if n_win and above == 0:
        text += (f", and none of the {n_win} requested peak windows holds more events than a flat time-of-flight "
                 "distribution would")
    if suggestion is None:
        return text + "; no k0/sf pair puts those peaks on common ions unambiguously"
    k0, sf = suggestion["k0"], suggestion["sf"]
    return (text + f"; matching the peaks to the {suggestion['polarity']} ions {', '.join(suggestion['ions'])} "
            f"suggests k0 = {k0['value']:.6g} ± {k0['uncertainty']:.2g}, sf = {sf['value']:.7g} ± "
            f"{sf['uncertainty']:.2g} (1σ)")


__all__ = ["ALPHA", "N_PEAKS", "SAMPLE_EVENTS", "TofCalibrationCheck", "TofPeaks", "check_tof_calibration",
           "find_tof_peaks", "suggest_tof_calibration"]
