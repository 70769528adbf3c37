"""Time-of-flight → m/z calibration: models, fits from reference peaks, robust automatic calibration.

Models (``t`` is flight time or channel number — any unit linear in time):

* ``"sqrt"`` — the ideal reflectron/linear TOF relation (Vickerman & Briggs, *ToF-SIMS: Materials
  Analysis by Mass Spectrometry*, 2nd ed., 2013; IONTOF's ``m = ((channel·binning − k0)/sf)²``):
  ``t = t0 + k·√m``, i.e. ``m = ((t − t0)/k)²``.
* ``"sqrt-quadratic"`` — adds a term linear in mass, ``t = t0 + k·√m + c·m``, which absorbs the
  small non-ideality of real flight paths over a wide mass range (as in pySPM's and SurfaceLab's
  extended calibrations); needs ≥ 4 reference peaks.

Both are linear in their parameters, so fits are weighted linear least squares; uncertainties come
from the covariance scaled by the residual variance. Residuals are reported in ppm of m/z.

:func:`auto_calibrate` needs no user input: it finds peaks, takes every peak within a window around
each ion of a polarity-specific list of common ions (H⁺, C⁺, CH₃⁺, Na⁺, … / H⁻, C⁻, O⁻, OH⁻, …) as a
candidate for it, keeps the largest set of (ion, peak) pairs consistent with one calibration (RANSAC,
Fischler & Bolles, *Commun. ACM* 24, 381, 1981, doi:10.1145/358669.358692) and refits by least squares;
:func:`recalibrate` does the same and keeps the file's own calibration unless the refit beats it on
held-out peaks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import TYPE_CHECKING, Any, ClassVar, overload

import numpy as np

from ionscope.library.formula import parse_formula
from ionscope.library.reference_ions import REFERENCE_IONS
from ionscope.model.errors import ValidationError
from ionscope.model.result import RecordSequence

if TYPE_CHECKING:
    import xarray as xr

MODELS = ("sqrt", "sqrt-quadratic")

@dataclass(frozen=True)
class Calibration:
    """A fitted TOF → m/z relation.

    Attributes
    ----------
    model
        ``"sqrt"`` or ``"sqrt-quadratic"``.
    params
        ``(t0, k)`` or ``(t0, k, c)`` in units of ``t``.
    covariance
        Parameter covariance matrix (``None`` when not estimable).
    references
        Matched reference ions: dicts with ``ion``, ``mz_true``, ``t``, ``mz_fit``, ``residual_ppm``,
        ``used`` (False for rejected outliers).
    """

    model: str
    params: tuple[float, ...]
    covariance: np.ndarray | None = None
    references: tuple[dict, ...] = field(default_factory=tuple)

    def mz(self, t) -> np.ndarray:
        """m/z at flight time / channel ``t`` (array-like)."""
        t = np.asarray(t, dtype=float)
        t0, k = self.params[:2]
        if self.model == "sqrt" or self.params[2] == 0:
            return ((t - t0) / k) ** 2
        c = self.params[2]
        disc = np.maximum(k * k + 4 * c * (t - t0), 0.0)
        root = 2 * (t - t0) / (k + np.sqrt(disc))  # stable form of (−k + √disc)/(2c)
        return root ** 2

    def tof(self, mz) -> np.ndarray:
        """Flight time / channel of ions at ``mz``."""
        r = np.sqrt(np.asarray(mz, dtype=float))
        t = self.params[0] + self.params[1] * r
        if self.model == "sqrt-quadratic":
            t = t + self.params[2] * r * r
        return t

    @property
    def residuals_ppm(self) -> np.ndarray:
        return np.array([r["residual_ppm"] for r in self.references if r["used"]])

    @property
    def rms_ppm(self) -> float:
        res = self.residuals_ppm
        return float(np.sqrt(np.mean(res ** 2))) if res.size else float("nan")

    @property
    def uncertainties(self) -> tuple[float, ...] | None:
        if self.covariance is None:
            return None
        return tuple(float(np.sqrt(max(v, 0.0))) for v in np.diag(self.covariance))

    def to_dict(self) -> dict:
        names = ("t0", "k", "c")[: len(self.params)]
        unc = self.uncertainties
        return {
            "model": self.model,
            "params": {n: {"value": float(v), "uncertainty": None if unc is None else unc[i]}
                       for i, (n, v) in enumerate(zip(names, self.params))},
            "rms_ppm": self.rms_ppm,
            "references": [dict(r) for r in self.references],
        }


def _design(mz: np.ndarray, model: str) -> np.ndarray:
    r = np.sqrt(mz)
    cols = [np.ones_like(r), r] + ([mz] if model == "sqrt-quadratic" else [])
    return np.column_stack(cols)


def fit_calibration(t: Sequence[float] | np.ndarray, mz: Sequence[float] | np.ndarray, *, model: str = "sqrt",
                    weights: Sequence[float] | np.ndarray | None = None,
                    ions: Sequence[str] | None = None) -> Calibration:
    """Fit a calibration from reference peaks (flight times ``t`` and true ``mz``).

    Parameters
    ----------
    t, mz
        Measured flight times (or channels) and exact m/z of the reference ions (≥ 2, or ≥ 4 for
        ``"sqrt-quadratic"``; one more than the parameters to estimate uncertainties).
    model
        ``"sqrt"`` or ``"sqrt-quadratic"``.
    weights
        Relative weights (e.g. peak areas); default equal.
    ions
        Names of the references, for the record.
    """
    if model not in MODELS:
        raise ValidationError(f"unknown calibration model {model!r}; choose from {MODELS}")
    tv = np.asarray(t, dtype=float)
    m = np.asarray(mz, dtype=float)
    need = 2 if model == "sqrt" else 4
    if tv.size != m.size or tv.size < need:
        raise ValidationError(f"the {model!r} calibration needs ≥ {need} reference peaks, "
                              f"got {min(tv.size, m.size)}")
    if np.any(m <= 0) or not np.all(np.isfinite(tv)):
        raise ValidationError("reference m/z must be positive and flight times finite")
    w = np.ones_like(tv) if weights is None else np.asarray(weights, dtype=float)
    a = _design(m, model)
    sw = np.sqrt(w)
    coef, *_ = np.linalg.lstsq(a * sw[:, None], tv * sw, rcond=None)
    dof = tv.size - coef.size
    cov = None
    if dof > 0:
        resid_t = tv - a @ coef
        s2 = float(np.sum(w * resid_t ** 2) / dof)
        cov = s2 * np.linalg.pinv((a * w[:, None]).T @ a)
    cal = Calibration(model, tuple(float(c) for c in coef), cov)
    mz_fit = cal.mz(tv)
    names = list(ions) if ions is not None else [f"{x:.4f}" for x in m]
    refs = tuple({"ion": n, "mz_true": float(mt), "t": float(tt), "mz_fit": float(mf),
                  "residual_ppm": float((mf - mt) / mt * 1e6), "used": True}
                 for n, mt, tt, mf in zip(names, m, tv, mz_fit))
    return Calibration(model, cal.params, cov, refs)


def calibration_from_axis(channel, mz, *, model: str = "sqrt") -> Calibration:
    """The calibration implied by an exported (channel, m/z) axis (e.g. SurfaceLab's own)."""
    channel = np.asarray(channel, dtype=float)
    mz = np.asarray(mz, dtype=float)
    ok = mz > 0.5
    if ok.sum() < 2:
        raise ValidationError("the m/z axis has fewer than 2 points above m/z 0.5: cannot infer a calibration")
    step = max(1, int(ok.sum()) // 2000)
    fit = fit_calibration(channel[ok][::step], mz[ok][::step], model=model)
    return replace(fit, references=())


def reference_mz(ions: Sequence[str]) -> np.ndarray:
    """Exact m/z of reference ions (formulas with charge)."""
    return np.array([parse_formula(i).mz for i in ions])


def auto_calibrate(spectrum, *, polarity: str | None = None, references: Sequence[str] | None = None,
                   model: str = "sqrt", window_ppm: float = 3000.0, min_window: float = 0.15,
                   iterations: int = 3, min_snr: float = 5.0, initial: Calibration | None = None) -> Calibration:
    """Recalibrate a spectrum automatically from common ions (always a refit; :func:`recalibrate` also
    keeps the file's own calibration where the refit does not beat it).

    1. Peaks ``min_snr`` Poisson σ over the baseline; matching tolerance ``max(Δbin(m), m/R)`` at each
       reference ion, ``R`` the median m/Δm of the 20 strongest peaks.
    2. Every peak within ``±max(window_ppm·m/10⁶, min_window)`` of a reference ion under the starting
       calibration (the five largest) is a candidate for it; the largest set of (reference, peak) pairs
       consistent with one calibration, RANSAC over pairs of pairs (:func:`_prior_consensus`), starts
       the refit. The largest peak near a reference is not taken for it: a metal ion stronger than the
       reference ion 0.1 u away (Mn⁺ beside C₄H₇⁺) would be.
    3. ``iterations`` rounds of matching within tolerance, consensus over pairs of matched references and
       least squares on the inliers; the best round is kept (:func:`_best_refit`).
    4. Steps 2–3 again from that calibration while they find more references consistent with one calibration
       (at most ``iterations`` times): a start so far off that only a few reference ions lie within the window
       (6 channels of t0 on a 3 500-channel spectrum: 0.4 u at m/z 23) is mended from those few.

    Parameters
    ----------
    spectrum
        ionscope ``spectrum`` DataArray with a ``channel`` (or ``tof``) coordinate.
    polarity
        ``"positive"``/``"negative"``; default from the spectrum's acquisition metadata.
    references
        Ion formulas to use instead of :data:`REFERENCE_IONS` of the polarity.
    model
        Calibration model (see :data:`MODELS`).
    window_ppm, min_window
        Search window around each reference ion under the starting calibration (ppm, u/e).
    iterations
        Match–consensus–fit rounds.
    min_snr
        Peak detection threshold.
    initial
        Starting calibration; default: the one implied by the spectrum's own m/z axis.

    Returns
    -------
    Calibration
        With every matched reference and its residual (those outside the consensus ``used=False``).
    """
    tname = "channel" if "channel" in spectrum.coords else "tof" if "tof" in spectrum.coords else None
    if tname is None:
        raise ValidationError("automatic calibration needs a 'channel' or 'tof' coordinate on the spectrum")
    if iterations < 1:
        raise ValidationError(f"auto-calibration needs at least one iteration, got iterations={iterations}")
    t_axis = np.asarray(spectrum.coords[tname].values, dtype=float)
    mz_axis = np.asarray(spectrum.coords["mz"].values, dtype=float)
    _, names, ref_mz = _reference_ions(spectrum, polarity, references, None)
    start = initial or calibration_from_axis(t_axis, mz_axis, model="sqrt")
    peaks = _calibration_peaks(spectrum, start, t_axis, mz_axis, min_snr, None)
    tol, bin_at = peaks.tolerance(ref_mz)
    best, cal = None, start
    for _ in range(iterations):
        prior = _prior_consensus(cal, peaks.pk_t, peaks.pk_area, ref_mz, tol, bin_at, window_ppm, min_window)
        round_best = _best_refit(prior or cal, peaks.pk_t, peaks.pk_area, ref_mz, tol, bin_at, model, iterations)
        if round_best is None or (best is not None and round_best[0] <= best[0]):
            break
        best, cal = round_best, round_best[1]
    if best is None:
        found = int(np.sum(_match_references(start, peaks.pk_t, peaks.pk_area, ref_mz, tol) >= 0))
        raise ValidationError(f"only {found} of {len(names)} reference ions found near their expected m/z, too "
                              f"few consistent with one calibration: cannot calibrate")
    _, fit, hit, j, inl = best
    t = peaks.pk_t[j[hit]]
    return _with_references(fit, names[hit], ref_mz[hit], t, inl)


def _with_references(fit: Calibration, names, m: np.ndarray, t: np.ndarray, used: np.ndarray) -> Calibration:
    """``fit`` recording each reference ion (``names``, exact m/z ``m``, peak channel ``t``), its residual (ppm)
    and whether the fit ``used`` it."""
    refs = tuple({"ion": str(n), "mz_true": float(a), "t": float(tt), "mz_fit": float(fit.mz(tt)),
                  "residual_ppm": float((fit.mz(tt) - a) / a * 1e6), "used": bool(u)}
                 for n, a, tt, u in zip(names, m, t, used))
    return Calibration(fit.model, fit.params, fit.covariance, refs)


@overload
def apply_calibration(obj: xr.DataArray, cal: Calibration) -> xr.DataArray: ...


@overload
def apply_calibration(obj: np.ndarray | Sequence[float], cal: Calibration) -> np.ndarray: ...


def apply_calibration(obj: Any, cal: Calibration) -> xr.DataArray | np.ndarray:
    """Put calibrated m/z on data.

    * NumPy array (or list) of flight times/channels — e.g. event data — → array of m/z;
    * DataArray with a ``channel``/``tof`` coordinate (spectra; ion images whose ``peak`` dimension
      carries the channel of each peak) → the same data with a recalibrated ``mz`` coordinate and the
      calibration in ``attrs["calibration"]``.
    """
    if not hasattr(obj, "coords"):
        return cal.mz(obj)
    tname = "channel" if "channel" in obj.coords else "tof" if "tof" in obj.coords else None
    if tname is None:
        raise ValidationError("the data have no 'channel' or 'tof' coordinate to calibrate")
    tc = obj.coords[tname]
    new = cal.mz(tc.values)
    if tc.dims == ("mz",) and np.any(np.diff(new) <= 0):
        raise ValidationError("the calibration makes m/z non-increasing over this spectrum (t0 inside the range)")
    out = obj.assign_coords(mz=(tc.dims, new, {"units": "m/z"}))
    out.attrs = dict(obj.attrs)
    out.attrs["calibration"] = cal.to_dict()
    return out


@dataclass(frozen=True)
class ScanCalibrations(RecordSequence[Calibration]):
    """One :class:`Calibration` per scan of a series (:func:`recalibrate_scans`), in scan order.

    Indexing, ``len`` and iteration go over the calibrations; :attr:`t0` is the drift of the time
    offset over the scans (channels or flight-time units), the usual charging diagnostic.
    """

    items_field: ClassVar[str] = "calibrations"
    calibrations: tuple[Calibration, ...]

    @property
    def t0(self) -> np.ndarray:
        """Time offset ``t0`` of every scan (units of ``t``)."""
        return np.array([c.params[0] for c in self.calibrations])

    def to_dict(self) -> dict:
        return {"calibrations": [c.to_dict() for c in self.calibrations]}


def recalibrate_scans(counts, channel, *, references: Sequence[str], initial: Calibration,
                      model: str = "sqrt", min_snr: float = 5.0) -> ScanCalibrations:
    """Per-scan recalibration of a drifting depth profile / frame series.

    Parameters
    ----------
    counts
        (scan, channel) counts: one TOF spectrum per scan.
    channel
        Channel (or flight time) of each column.
    references
        Ions present in every scan.
    initial
        Calibration to start from (used for scan 0; each scan then starts from the previous fit, so
        slow charging drifts are followed).

    Returns
    -------
    ScanCalibrations, one Calibration per scan.
    """
    from ionscope.model.arrays import make_spectrum

    counts = np.asarray(counts, dtype=float)
    channel = np.asarray(channel, dtype=float)
    if counts.ndim != 2 or counts.shape[1] != channel.size:
        raise ValidationError(f"counts must be (scan, channel) with {channel.size} channels, got {counts.shape}")
    out = []
    cal = initial
    for row in counts:
        mz = cal.mz(channel)
        keep = np.concatenate(([True], np.diff(mz) > 0)) & (mz > 0)
        spec = make_spectrum(row[keep], mz[keep], channel=channel[keep])
        cal = auto_calibrate(spec, references=references, model=model, min_snr=min_snr, initial=cal)
        out.append(cal)
    return ScanCalibrations(tuple(out))


class CalibrationError(ValidationError):
    """A spectrum cannot be calibrated: no usable reference ion, or an absent/absurd exported calibration."""


@dataclass(frozen=True)
class CalibrationCheck:
    """Outcome of :func:`recalibrate`: the calibration to use and how it was chosen.

    Attributes
    ----------
    calibration
        The calibration applied (the refit, or the file's own when that was kept).
    exported
        The calibration implied by the file's exported (channel, m/z) axis.
    kept_exported
        True when the refit did not beat the exported calibration on held-out reference peaks.
    used, rejected
        Names of the reference ions used in the fit and of those matched but rejected as outliers.
    rms_ppm
        rms residual (ppm of m/z) of the applied calibration at the used reference ions; for a refit
        these are leave-one-out (held-out) residuals.
    exported_rms_ppm
        rms residual of the exported calibration at the same ions.
    rms_bins, exported_rms_bins
        The same rms residuals in units of the local bin width (what the export can resolve).
    warnings
        Why the exported calibration was kept, or other caveats.
    lock_masses
        Labels of the identified ions offered as further references (:func:`recalibrate`'s ``lock_masses``);
        those matched appear in ``used`` or ``rejected`` like the common ions.
    """

    calibration: Calibration
    exported: Calibration | None
    kept_exported: bool
    used: tuple[str, ...]
    rejected: tuple[str, ...]
    rms_ppm: float
    exported_rms_ppm: float
    rms_bins: float
    exported_rms_bins: float
    warnings: tuple[str, ...] = ()
    lock_masses: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        """Plain summary: model, rms ppm, ions used and rejected, kept or refit."""
        return {"model": self.calibration.model, "source": "exported" if self.kept_exported else "refit",
                "kept_exported": self.kept_exported, "rms_ppm": _finite(self.rms_ppm),
                "exported_rms_ppm": _finite(self.exported_rms_ppm), "rms_bins": _finite(self.rms_bins),
                "exported_rms_bins": _finite(self.exported_rms_bins), "n_used": len(self.used),
                "used": list(self.used), "rejected": list(self.rejected),
                "lock_masses": list(self.lock_masses), "params": list(self.calibration.params)}

    def summary(self) -> str:
        """One line for text reports."""
        from ionscope.spectra.lockmass import lock_peaks_used

        how = "file's own calibration kept" if self.kept_exported else "recalibrated"
        n_lock, _ = lock_peaks_used(self.used, self.lock_masses)
        return (f"calibration: {how} ({self.calibration.model}), rms {self.rms_ppm:.0f} ppm "
                f"({self.rms_bins:.2f} bin) over {len(self.used)} reference peaks"
                + (f" ({n_lock} of them peaks of identified ions)" if n_lock else "")
                + (f" ({len(self.rejected)} rejected)" if self.rejected else "")
                + (f"; exported {self.exported_rms_ppm:.0f} ppm" if np.isfinite(self.exported_rms_ppm) else ""))


def _finite(v: float) -> float | None:
    return float(v) if np.isfinite(v) else None


def exported_calibration(channel, mz, *, source=None) -> Calibration:
    """The file's own channel → m/z calibration, checked for sanity.

    The exported axis of a TOF spectrum follows ``m = ((t − t0)/k)²`` (the export computes m/z from it),
    so a ``"sqrt"`` fit to the axis — or, for exports made with the extended law, a
    ``"sqrt-quadratic"`` one — must reproduce every exported m/z above 0.5 to better than half the
    local bin width; otherwise (or with ``k ≤ 0``, or a TOF zero inside the channel range above m/z
    0.5) the axis is not a TOF calibration and :class:`CalibrationError` is raised.
    """
    channel = np.asarray(channel, dtype=float)
    mz = np.asarray(mz, dtype=float)
    ok = np.isfinite(mz) & (mz > 0.5)
    if ok.sum() < 3:
        raise CalibrationError("the exported m/z axis is absent (fewer than 3 values above m/z 0.5): "
                               "no calibration to start from", source)
    cal = calibration_from_axis(channel, mz)
    t0, k = cal.params
    c, m = channel[ok], mz[ok]
    if not (k > 0 and t0 < c.min()):
        raise CalibrationError(f"the exported m/z axis is absurd (t0 = {t0:.4g}, k = {k:.4g} channels/√(m/z)): "
                               "m/z must grow with the square of the flight time", source)
    half_bin = np.maximum(np.abs(np.gradient(m)) / 2, 1e-6 * m)
    dev = np.abs(cal.mz(c) - m)
    if np.all(dev <= half_bin):
        return cal
    if ok.sum() >= 4:  # an export made with the extended law t = t0 + k√m + c·m
        quad = replace(fit_calibration(c[:: max(1, c.size // 2000)], m[:: max(1, c.size // 2000)],
                                       model="sqrt-quadratic"), references=())
        t0q, kq, cq = quad.params
        small = kq > 0 and abs(cq) * np.sqrt(m.max()) <= 0.1 * kq  # the mass-linear term is a correction
        if small and np.all(np.abs(quad.mz(c) - m) <= half_bin):
            return quad
    i = int(np.argmax(dev - half_bin))
    raise CalibrationError(f"the exported m/z axis is absurd: m/z {m[i]:.4g} at channel {c[i]:.6g} is "
                           f"{dev[i]:.3g} u off the time-of-flight law m = ((t − t0)/k)² (or t = t0 + k√m + c·m) "
                           "fitted to the axis, more than half a bin; if the channel column is not the TOF "
                           "channel, drop it (the channels are then rebuilt from √(m/z))", source)


def _loo_residuals(t: np.ndarray, m: np.ndarray, model: str) -> np.ndarray:
    """Leave-one-out m/z residuals (m/z units): each reference predicted by a fit without it."""
    out = np.empty(t.size)
    idx = np.arange(t.size)
    for i in idx:
        keep = idx != i
        out[i] = fit_calibration(t[keep], m[keep], model=model).mz(t[i]) - m[i]
    return out


def recalibrate(spectrum, *, polarity: str | None = None, references: Sequence[str] | None = None,
                model: str = "sqrt", min_snr: float = 5.0, source=None,
                lock_masses: Sequence[tuple[str, float]] = ()) -> CalibrationCheck:
    """Recalibrate from common ions, never worse than the file's own calibration.

    ``lock_masses`` are further references of known identity, ``(label, exact m/z)`` — the ions identified in
    the spectrum (:func:`ionscope.spectra.lockmass.lock_ions`) — matched and fitted like the others.

    1. Start from the exported calibration (:func:`exported_calibration`).
    2. Peaks (``min_snr`` Poisson σ over the baseline) are matched to reference ions within
       ``tol(m) = max(Δbin(m), m/R)``: one bin width (a centroid of a binned export is good to a
       fraction of a bin) or one FWHM at the measured resolving power ``R`` (median m/Δm of the 20
       strongest peaks), whichever is larger; farther than that the peak is another ion.
    3. Robust fit by exhaustive consensus (RANSAC over all pairs of matched references for ``"sqrt"``):
       each pair defines a calibration, its inliers are the references within ``tol`` of it; the largest
       consensus set (ties: smallest rms in bins) is refitted by least squares. Matching and fitting
       are repeated from the new calibration up to three rounds and the best round (most inliers,
       then smallest rms) is kept.
    4. Held-out check: the refit's leave-one-out residuals at its inliers are compared, in units of the
       local bin width, with the exported calibration's residuals at the same peaks. The refit is
       applied only if it is better beyond chance (:func:`_refit_p_value`) and keeps m/z increasing
       over the whole channel range; otherwise the exported calibration is kept, with a warning.

    Raises
    ------
    CalibrationError
        No reference ion at all near its expected m/z, or the exported calibration is absent/absurd.
    """
    return _recalibration(spectrum, polarity=polarity, references=references, model=model, min_snr=min_snr,
                          source=source, lock_masses=lock_masses)[0]


@dataclass(frozen=True)
class _Peaks:
    """What a recalibration matches reference ions to: the exported calibration, the channel and m/z axes, the
    peaks (channel, area) and the resolving power (median m/Δm of the 20 strongest peaks)."""

    exported: Calibration
    t_axis: np.ndarray
    mz_axis: np.ndarray
    pk_t: np.ndarray
    pk_area: np.ndarray
    resolving_power: float

    def tolerance(self, ref_mz: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Matching tolerance ``max(Δbin(m), m/R)`` and bin width at each reference m/z (u/e)."""
        bin_at = np.interp(ref_mz, self.mz_axis, np.gradient(self.mz_axis))
        return np.maximum(bin_at, ref_mz / self.resolving_power), bin_at


def _recalibration(spectrum, *, polarity: str | None = None, references: Sequence[str] | None = None,
                   model: str = "sqrt", min_snr: float = 5.0, source=None,
                   lock_masses: Sequence[tuple[str, float]] = (),
                   peaks: _Peaks | None = None) -> tuple[CalibrationCheck, _Peaks]:
    """:func:`recalibrate`, and the peaks it matched: given again as ``peaks`` (same spectrum and ``min_snr``),
    they are not looked for again — a second recalibration with lock masses costs only the fit."""
    if "channel" not in spectrum.coords:
        raise CalibrationError("the spectrum has no channel axis: the exported calibration is absent", source)
    if peaks is None:
        t_axis = np.asarray(spectrum.coords["channel"].values, dtype=float)
        mz_axis = np.asarray(spectrum.coords["mz"].values, dtype=float)
        exported = exported_calibration(t_axis, mz_axis, source=source)
    polarity, names, ref_mz = _reference_ions(spectrum, polarity, references, source)
    lock_masses = [(n, m) for n, m in lock_masses if not np.any(np.isclose(ref_mz, m, rtol=0, atol=1e-4))]
    if lock_masses:
        names = np.concatenate([names, np.asarray([n for n, _ in lock_masses], dtype=object)])
        ref_mz = np.concatenate([ref_mz, [m for _, m in lock_masses]])
    if peaks is None:
        peaks = _calibration_peaks(spectrum, exported, t_axis, mz_axis, min_snr, source)
    exported, pk_t, pk_area = peaks.exported, peaks.pk_t, peaks.pk_area
    tol, bin_at = peaks.tolerance(ref_mz)
    j0 = _match_references(exported, pk_t, pk_area, ref_mz, tol)
    prior = _prior_consensus(exported, pk_t, pk_area, ref_mz, tol, bin_at)
    if not np.any(j0 >= 0) and prior is None:
        other = {"positive": "negative", "negative": "positive"}.get(polarity or "")
        hint = (f" (or the spectrum is {other}: check --polarity or the P_/N_ file-name prefix)"
                if other and references is None else "")
        raise CalibrationError(f"none of the {len(names)} {polarity or ''} reference ions "
                               f"({', '.join(names[:6])}, …) is found near its expected m/z: no usable "
                               f"reference ion{hint}", source)
    best = _best_refit(prior or exported, pk_t, pk_area, ref_mz, tol, bin_at, model)
    if best is None:
        check = _keep(exported, names, ref_mz, pk_t, j0, bin_at, model,
                      [f"too few reference ions for a {model!r} refit (found "
                       f"{int(np.sum(j0 >= 0))}): the file's own calibration is kept"])
    else:
        check = _held_out_choice(exported, best, names, ref_mz, pk_t, bin_at, model, peaks.t_axis,
                                 peaks.mz_axis, frozenset(n for n, _ in lock_masses))
    off, strongest = _peaks_between_nominal_masses(check.calibration, peaks)
    if strongest and off > strongest / 2:
        raise CalibrationError(
            f"the calibration puts {off} of the {strongest} strongest peaks of m/z {OFF_NOMINAL_RANGE[0]:g}–"
            f"{OFF_NOMINAL_RANGE[1]:g} between nominal masses, where no ion can lie: the exported calibration is off "
            f"(scaled or shifted) and the {'refit' if not check.kept_exported else 'consensus search'} could not "
            "repair it; give reference ions this spectrum holds with -r, or export it again", source)
    return replace(check, lock_masses=tuple(n for n, _ in lock_masses)), peaks


#: m/z range and number of the strongest peaks :func:`_peaks_between_nominal_masses` looks at: from the mass
#: where 200-channel bins are a few hundredths of a unit wide to the one where the bounds on the mass defect still
#: leave a gap of 0.4 u between nominal masses.
OFF_NOMINAL_RANGE = (30.0, 250.0)
OFF_NOMINAL_PEAKS = 20


def _peaks_between_nominal_masses(calibration: Calibration, peaks: _Peaks) -> tuple[int, int]:
    """How many of the :data:`OFF_NOMINAL_PEAKS` largest peaks in :data:`OFF_NOMINAL_RANGE` the calibration puts
    between nominal masses, farther than one bin and half a peak width (m/2R) from any mass an ion can have, and how
    many were looked at (0 when fewer than 6). An ion of nominal mass N lies between N + ``N·δ₋`` (every nucleon as
    mass-deficient as ⁵⁶Fe's, the most: −1.16·10⁻³ u) and N + the larger of ``N·δ₊`` (every nucleon as mass-rich as
    ⁷Li's: +2.3·10⁻³ u; hydrogen aside) and the largest defect of the plausible C, H, N, O, Si, S ions of N
    (:func:`~ionscope.spectra.continuum.molecular_ion_masses`; nuclide masses: Wang et al., *Chin. Phys. C* 45,
    030003, 2021, doi:10.1088/1674-1137/abddaf). On a sound calibration none of the strongest peaks falls there but
    a rare doubly charged ion; more than half of them is a calibration off by ≳ 0.4 % (an export scaled by 1.005 put
    the Ru⁺ isotopes at m/z 102.4, and every upper limit was then taken at the wrong masses). The half width keeps a
    calibration off by a fraction of a peak, which the window fit absorbs, from being refused where the strongest
    peaks are mass-deficient oxide ions (RuO₃⁻ at m/z 149.89 read 500 ppm low at m/Δm 1 000)."""
    from ionscope.spectra.continuum import molecular_ion_masses

    mz = calibration.mz(peaks.pk_t)
    inside = np.nonzero((mz >= OFF_NOMINAL_RANGE[0]) & (mz <= OFF_NOMINAL_RANGE[1]))[0]
    top = inside[np.argsort(-peaks.pk_area[inside])[:OFF_NOMINAL_PEAKS]]
    if top.size < 6:
        return 0, 0
    deficient, lithium = _defects_per_nucleon()
    margin = np.interp(mz[top], peaks.mz_axis, np.gradient(peaks.mz_axis)) + mz[top] / (2 * peaks.resolving_power)
    off = 0
    for m, tol in zip(mz[top], margin):
        below, above = int(np.floor(m)), int(np.floor(m)) + 1
        known = molecular_ion_masses(below)
        highest = max(below * lithium, float(known.max()) - below if known.size else 0.0)
        if m - below > highest + tol and above - m > -above * deficient + tol:
            off += 1
    return off, int(top.size)


@lru_cache(maxsize=1)
def _defects_per_nucleon() -> tuple[float, float]:
    """Mass defect per nucleon (u) of the most mass-deficient nuclide (⁵⁶Fe) and of ⁷Li
    (:func:`_peaks_between_nominal_masses`)."""
    from ionscope.library.isotopes import element, isotope_table

    deficient = min(float((m - a) / a) for el in isotope_table().values()
                    for a, m in zip(el.mass_numbers, el.masses) if a > 1)
    li = element("Li")
    return deficient, float(li.isotope_mass(7) - 7) / 7


def _reference_ions(spectrum, polarity: str | None, references: Sequence[str] | None,
                    source) -> tuple[str | None, np.ndarray, np.ndarray]:
    """The reference ions of a recalibration and their exact m/z.

    Parameters
    ----------
    spectrum : xarray.DataArray
        The spectrum; its ``acquisition`` attribute gives the polarity when ``polarity`` is None.
    polarity : str or None
        ``"positive"`` or ``"negative"``.
    references : sequence of str or None
        Ion formulas; None for :data:`REFERENCE_IONS` of the polarity.
    source : path-like or None
        File named in errors.

    Returns
    -------
    polarity : str or None
        The polarity used.
    names : numpy.ndarray of str
        The reference ion formulas.
    ref_mz : numpy.ndarray
        Their exact m/z (u/e).

    Raises
    ------
    CalibrationError
        Neither a known polarity nor reference ions.
    """
    if polarity is None:
        polarity = (spectrum.attrs.get("acquisition") or {}).get("polarity")
    if references is None:
        if polarity not in REFERENCE_IONS:
            raise CalibrationError("recalibration needs the polarity (positive/negative) or reference ions", source)
        references = REFERENCE_IONS[polarity]
    else:
        uncharged = [r for r in references if parse_formula(r).charge == 0]
        if uncharged:
            raise CalibrationError(f"reference ion {uncharged[0]!r} has no charge: write it as an ion, "
                                   f"{uncharged[0]}+ or {uncharged[0]}-", source)
        sign = {"positive": 1, "negative": -1}.get(polarity or "")
        wrong = [r for r in references if sign and parse_formula(r).charge * sign < 0]
        if wrong:
            raise CalibrationError(f"reference ion {wrong[0]!r} has the charge of the other polarity: this spectrum "
                                   f"is {polarity}", source)
        if len(set(references)) < 2:
            raise CalibrationError(f"{len(set(references))} reference ion given: a calibration m = ((t − t0)/k)² "
                                   "has two parameters and needs at least two reference ions", source)
    return polarity, np.asarray(list(references), dtype=object), reference_mz(references)


def _calibration_peaks(spectrum, exported: Calibration, t_axis: np.ndarray, mz_axis: np.ndarray, min_snr: float,
                       source) -> _Peaks:
    """The peaks of the spectrum a recalibration matches reference ions to (:class:`_Peaks`).

    Parameters
    ----------
    spectrum : xarray.DataArray
        Counts per channel.
    exported : Calibration
        The file's own calibration.
    t_axis, mz_axis : numpy.ndarray
        Channel and exported m/z (u/e) of every bin.
    min_snr : float
        Peak threshold in Poisson σ over the baseline.
    source : path-like or None
        File named in errors.

    Raises
    ------
    CalibrationError
        No peak stands out of the noise.
    """
    from ionscope.spectra.deadtime import mostly_below_one_count
    from ionscope.spectra.peaks import find_spectrum_peaks

    counts = np.asarray(spectrum.values, float)
    if not counts.any():
        raise CalibrationError("every count of the spectrum is zero: no ion to calibrate on", source)
    peaks = find_spectrum_peaks(counts, mz_axis, min_snr=min_snr)
    if len(peaks) == 0:
        why = (" (its intensities are mostly below 1, which no count is: peaks are found over Poisson noise, so "
               "export the spectrum as counts)" if mostly_below_one_count(counts) else "")
        raise CalibrationError(f"no peak stands out of the noise: no usable reference ion{why}", source)
    top = peaks.nlargest(20, "height")
    return _Peaks(exported, t_axis, mz_axis, np.interp(peaks["mz"].to_numpy(), mz_axis, t_axis),
                  peaks["area"].to_numpy(), float(np.median(top["resolving_power"])) if len(top) else 1000.0)


def _match_references(cal: Calibration, pk_t: np.ndarray, pk_area: np.ndarray, ref_mz: np.ndarray,
                      tol: np.ndarray) -> np.ndarray:
    """Index of the peak matched to each reference ion under ``cal`` (the largest within ``tol``), or −1.

    Parameters
    ----------
    cal : Calibration
        Calibration that turns peak channels into m/z.
    pk_t, pk_area : numpy.ndarray
        Peak positions (channels) and areas (counts).
    ref_mz, tol : numpy.ndarray
        Exact m/z of the reference ions and their matching tolerance (u/e).

    Returns
    -------
    numpy.ndarray of int
        One peak index per reference ion; −1 where none is within tolerance.
    """
    pm = cal.mz(pk_t)
    j = np.full(ref_mz.size, -1)
    for i, (m, tl) in enumerate(zip(ref_mz, tol)):
        sel = np.nonzero(np.abs(pm - m) <= tl)[0]
        if sel.size:
            j[i] = sel[np.argmax(pk_area[sel])]
    return j


def _best_refit(start: Calibration, pk_t: np.ndarray, pk_area: np.ndarray, ref_mz: np.ndarray, tol: np.ndarray,
                bin_at: np.ndarray, model: str, rounds: int = 3) -> tuple | None:
    """Robust refit by consensus, repeated from its own result for up to ``rounds`` rounds.

    Each round matches peaks under the current calibration, keeps the largest consensus set
    (:func:`_consensus`) and refits it by least squares; the best round has the most inliers, then
    the smallest rms residual in bins.

    Parameters
    ----------
    start : Calibration
        Calibration of the first round.
    pk_t, pk_area : numpy.ndarray
        Peak positions (channels) and areas (counts).
    ref_mz, tol, bin_at : numpy.ndarray
        Exact m/z, matching tolerance and bin width at each reference ion (u/e).
    model : str
        Calibration model (:data:`MODELS`).

    Returns
    -------
    tuple or None
        ``(key, fit, hit, j, inl)``: ranking key, the refit, indices of the matched references, peak
        index per reference, inlier mask over ``hit``; None when no round has enough references.
    """
    need = 2 if model == "sqrt" else 4
    best = None
    cal = start
    for _ in range(rounds):
        j = _match_references(cal, pk_t, pk_area, ref_mz, tol)
        hit = np.nonzero(j >= 0)[0]
        if hit.size < need + 1:
            break
        t, m = pk_t[j[hit]], ref_mz[hit]
        inl = _clipped(t, m, _consensus(t, m, tol[hit], bin_at[hit], model), bin_at[hit], model)
        if inl.sum() < need + 1:
            break
        fit = fit_calibration(t[inl], m[inl], model=model)
        res_bins = (fit.mz(t[inl]) - m[inl]) / bin_at[hit][inl]
        key = (int(inl.sum()), -float(np.sqrt(np.mean(res_bins ** 2))))
        if best is None or key > best[0]:
            best = (key, fit, hit, j, inl)
        cal = fit
    return best


#: Residual, in robust standard deviations of the others, beyond which an inlier of the consensus is another
#: ion's peak (:func:`_clipped`): 3σ, the convention of iterative sigma clipping.
CLIP_SIGMA = 3.0

#: Least residual (bins) an inlier is clipped at however well the others fit: the scatter of reference centroids
#: on a binned export, a quarter of a bin (a uniform position within a bin has σ = 0.29 bin). A quarter of the
#: matching tolerance (a FWHM where peaks are wider than a bin) let an absent reference on another ion's peak
#: 190 ppm away through at m/Δm 1 000, where a FWHM is 1 000 ppm (C₆⁻ on the isotopologue of C₃H₃O₂⁻: rms
#: 185 ppm, t0 3 channels off; 8 ppm and 0.1 channel without it).
CLIP_FLOOR_BINS = 0.25


def _clipped(t: np.ndarray, m: np.ndarray, inl: np.ndarray, bins: np.ndarray, model: str) -> np.ndarray:
    """The consensus ``inl`` less the references whose least-squares residual lies beyond :data:`CLIP_SIGMA`
    robust standard deviations (1.4826·MAD, in bins) of the inliers and beyond :data:`CLIP_FLOOR_BINS`, the
    worst first, one at a time, while more than one reference beyond the parameters would remain.

    The consensus counts a reference within one matching tolerance (one bin or one FWHM) as an inlier, and at
    m/Δm 4 000 a FWHM is 250 ppm: an absent reference matched to another ion's peak 200 ppm away (C₆⁻ on the
    ¹³C isotopologue of C₃H₃O₂⁻ at m/z 72.016) was kept and pulled the fit to 67 ppm rms (5 ppm without it)."""
    need = (2 if model == "sqrt" else 3) + 1
    inl = inl.copy()
    while inl.sum() > need:
        fit = fit_calibration(t[inl], m[inl], model=model)
        r = (fit.mz(t) - m) / bins
        mad = 1.4826 * float(np.median(np.abs(r[inl] - np.median(r[inl]))))
        dev = np.where(inl, np.abs(r - np.median(r[inl])), -1.0)
        worst = int(np.argmax(dev))
        if dev[worst] <= max(CLIP_SIGMA * mad, CLIP_FLOOR_BINS):
            break
        inl[worst] = False
    return inl


def _held_out_choice(exported: Calibration, best: tuple, names: np.ndarray, ref_mz: np.ndarray, pk_t: np.ndarray,
                     bin_at: np.ndarray, model: str, t_axis: np.ndarray,
                     mz_axis: np.ndarray, locks: frozenset[str] = frozenset()) -> CalibrationCheck:
    """Apply the refit only if it beats the exported calibration on held-out references.

    The refit's leave-one-out residuals at its inliers are compared, in units of the local bin width,
    with the exported calibration's residuals at the same peaks (:func:`_refit_p_value`), and a kept export is
    reported at those peaks too (matched within its own tolerance on an axis 17 bins off, ¹⁸OH⁻ alone had
    passed for F⁻ and vouched for it at 157 ppm); the refit
    must also keep m/z increasing over the whole channel range (t0 before the first channel), as
    :func:`apply_calibration` requires.

    Parameters
    ----------
    exported : Calibration
        The file's own calibration.
    best : tuple
        Result of :func:`_best_refit`.
    names, ref_mz, bin_at : numpy.ndarray
        Reference ion formulas, exact m/z and bin width there (u/e).
    pk_t : numpy.ndarray
        Peak positions (channels).
    model : str
        Calibration model.
    t_axis, mz_axis : numpy.ndarray
        Channel and exported m/z (u/e) of every bin.
    locks : frozenset of str
        Names of the references that are lock masses (ions identified in the spectrum): with any of them among
        the inliers the signed-rank test decides, else the sign test (:func:`_refit_p_value`).

    Returns
    -------
    CalibrationCheck
        The refit, or the exported calibration with a warning saying why.
    """
    _, fit, hit, j, inl = best
    t, m = pk_t[j[hit]], ref_mz[hit]
    loo = _loo_residuals(t[inl], m[inl], model)
    exp_res = exported.mz(t[inl]) - m[inl]
    b = bin_at[hit][inl]
    rms_b, exp_b = float(np.sqrt(np.mean((loo / b) ** 2))), float(np.sqrt(np.mean((exp_res / b) ** 2)))
    used = tuple(names[hit][inl])
    rejected = tuple(names[hit][~inl])
    mono = bool(np.all(np.diff(fit.mz(t_axis)) > 0))  # as apply_calibration requires
    above = any(u in locks for u in used)  # identified ions among the inliers: the refit is checked up there
    p_value = _refit_p_value(loo / b, exp_res / b, above=above)
    if mono and (p_value < REFIT_ALPHA or _export_misplaces_every_peak(loo / b, exp_res / b)):
        final = _with_references(fit, names[hit], m, t, inl)
        return CalibrationCheck(final, exported, False, used, rejected, _rms_ppm(loo, m[inl]),
                                _rms_ppm(exp_res, m[inl]), rms_b, exp_b, ())
    n = len(used)
    digits = next((d for d in range(3, 7) if f"{rms_b:.{d}f}" != f"{exp_b:.{d}f}"), 6)  # two numbers that differ
    pair = f"{rms_b:.{digits}f} against {exp_b:.{digits}f} bin rms, each peak held out of its own fit"
    if not mono:
        why = "the refit makes m/z non-monotonic over the spectrum"
    elif rms_b < exp_b:
        test = "signed-rank test" if above else "sign test"
        why = (f"the refit fits the {n} reference peaks a little better than the exported calibration ({pair}) but "
               f"not beyond chance ({test} p = {p_value:.2g} ≥ {REFIT_ALPHA})")
    else:
        why = f"the refit fits the {n} reference peaks no better than the exported calibration ({pair})"
    identified = np.full(ref_mz.shape, -1)
    identified[hit[inl]] = j[hit][inl]  # the peaks the consistent refit takes for the references
    return _keep(exported, names, ref_mz, pk_t, identified, bin_at, model,
                 [f"{why}: the file's own calibration is kept"], rejected=rejected)


def refit_is_worse(refit: Calibration, current: Calibration, peaks: _Peaks) -> bool:
    """Whether ``current`` beats ``refit`` beyond chance at the references ``refit`` uses, every residual held
    out of the fit it tests: the leave-one-out residuals of each calibration at the references it was fitted
    to, its plain residuals at the others (lock masses ``current`` never saw), in bins, compared by the test a
    refit must pass against the file's own calibration (:func:`_refit_p_value` with identified ions above)."""
    used = [r for r in refit.references if r["used"]]
    if len(used) < len(refit.params) + 1:
        return True
    t = np.array([r["t"] for r in used])
    m = np.array([r["mz_true"] for r in used])
    bins = peaks.tolerance(m)[1]
    held_out = _loo_residuals(t, m, refit.model) / bins
    return _refit_p_value(_held_out_residuals(current, t, m) / bins, held_out, above=True) < REFIT_ALPHA


def _held_out_residuals(cal: Calibration, t: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Residuals (u/e) of ``cal`` at the peaks ``t`` of references ``m``: leave-one-out at the references it was
    fitted to, plain at the others."""
    own = [r for r in cal.references if r["used"]]
    out = cal.mz(t) - m
    if len(own) <= len(cal.params):
        return out
    own_t = np.array([r["t"] for r in own])
    own_m = np.array([r["mz_true"] for r in own])
    loo = _loo_residuals(own_t, own_m, cal.model)
    for i, (tt, mm) in enumerate(zip(t, m)):
        hit = np.nonzero((own_t == tt) & (own_m == mm))[0]
        if hit.size:
            out[i] = loo[hit[0]]
    return out


REFIT_ALPHA = 0.05  #: one-sided level at which held-out references must favour the refit

#: Residual (bins) beyond which a calibration misplaces a reference peak: a correct one puts a peak's centroid
#: within half a bin of its exact m/z (the bin quantises it; the centroid's own σ is a small fraction of a bin
#: at the counts of a reference peak).
MISPLACED_BINS = 1.0


def _export_misplaces_every_peak(refit: np.ndarray, exported: np.ndarray) -> bool:
    """Whether the exported calibration puts every one of ≥ 2 reference peaks more than :data:`MISPLACED_BINS`
    from its exact m/z while the refit, each peak held out of its own fit, puts each nearer (residuals in bins).
    A file's axis several bins off (a wrong t0 in the export) is then wrong whatever the number of peaks: with
    three or four references the tests of :func:`_refit_p_value` cannot reach :data:`REFIT_ALPHA` (p = 2⁻ⁿ ≥
    0.0625) and would keep it."""
    return bool(exported.size >= 2 and np.all(np.abs(exported) > MISPLACED_BINS)
                and np.all(np.abs(refit) < np.abs(exported)))


def _refit_p_value(refit: np.ndarray, exported: np.ndarray, above: bool = False) -> float:
    """Chance that held-out residuals (bins) favour the refit over the exported calibration this often, or
    (``above``: the references include identified ions at high m/z) this much.

    The squared residuals of each reference peak under the two calibrations are paired. A refit that is only
    as good as the instrument's own calibration — better at some peaks, as much worse at others — would replace
    it on a coin toss; the file's calibration stays until the references show otherwise at level
    :data:`REFIT_ALPHA`. With the common ions alone, all below m/z ~100, the refit would be extrapolated to the
    metal ions at m/z 100–400, so the test counts peaks: one-sided sign test (Dixon & Mood 1946,
    doi:10.1080/01621459.1946.10501137), ``P(K ≥ k)`` for ``K ~ Binomial(n, ½)``, ``k`` the peaks the refit
    fits better of the ``n`` that differ — a refit that fits a few peaks much better and the rest worse does not
    pass. With identified ions above (:mod:`ionscope.spectra.lockmass`) the refit is checked where it is used,
    and the test weighs how much better: one-sided Wilcoxon signed-rank test (:func:`signed_rank_p_value`) of
    exported² − refit². An error in the calibration's scale is a fraction of a bin at the ~20 common ions but a
    large one at the few identified ions, which a count of peaks would outvote. An export off by a few bins
    loses at every peak: p = 2⁻ⁿ either way.
    """
    if above:
        return signed_rank_p_value(exported ** 2 - refit ** 2, alternative="greater")
    from math import comb

    diff = exported ** 2 - refit ** 2
    n, k = int(np.count_nonzero(diff)), int(np.count_nonzero(diff > 0))
    return sum(comb(n, i) for i in range(k, n + 1)) / 2 ** n


def signed_rank_p_value(d: np.ndarray, alternative: str = "two-sided") -> float:
    """Exact Wilcoxon signed-rank p-value that the values ``d`` scatter symmetrically about zero.

    Wilcoxon, *Biometrics Bulletin* 1, 80 (1945), doi:10.2307/3001968: the sum ``W`` of the ranks of |d|
    carried by the positive values is compared with its distribution when each sign is a fair coin,
    counted exactly over the 2ⁿ sign patterns (dynamic programming over the ranks; zeros dropped, ties
    ranked by order). Unlike the sign test it weighs how far each value lies from zero. ``alternative``
    ``"greater"`` gives the one-sided p-value against values that lie above zero: ``P(W ≥ w)``.
    """
    d = np.asarray(d, float)
    d = d[np.isfinite(d) & (d != 0)]
    n = len(d)
    if n == 0:
        return 1.0
    ranks = np.argsort(np.argsort(np.abs(d))) + 1
    total = n * (n + 1) // 2
    w = int(ranks[d > 0].sum())
    ways = [1] + [0] * total  # ways[s]: sign patterns whose positive ranks sum to s
    for r in range(1, n + 1):
        for s in range(total, r - 1, -1):
            ways[s] += ways[s - r]
    if alternative == "greater":
        return sum(ways[w:]) / 2 ** n
    w = min(w, total - w)
    return min(1.0, 2 * sum(ways[: w + 1]) / 2 ** n)


def _rms_ppm(res: np.ndarray, m: np.ndarray) -> float:
    return float(np.sqrt(np.mean((res / m * 1e6) ** 2))) if res.size else float("nan")


def _keep(exported: Calibration, names, ref_mz, pk_t, j, bin_at, model, warnings, rejected=()) -> CalibrationCheck:
    hit = np.nonzero(j >= 0)[0]
    t, m = pk_t[j[hit]], ref_mz[hit]
    res = exported.mz(t) - m
    rms_b = float(np.sqrt(np.mean((res / bin_at[hit]) ** 2))) if hit.size else float("nan")
    refs = tuple({"ion": n, "mz_true": float(a), "t": float(tt), "mz_fit": float(exported.mz(tt)),
                  "residual_ppm": float((exported.mz(tt) - a) / a * 1e6), "used": True}
                 for n, a, tt in zip(names[hit], m, t))
    cal = Calibration(exported.model, exported.params, _reference_covariance(exported, t, m), refs)
    return CalibrationCheck(cal, exported, True, tuple(names[hit]), tuple(rejected), _rms_ppm(res, m),
                            _rms_ppm(res, m), rms_b, rms_b, tuple(warnings))


def _reference_covariance(cal: Calibration, t: np.ndarray, m: np.ndarray) -> np.ndarray | None:
    """Parameter covariance of a kept calibration, judged by the reference ions.

    The exported m/z axis is a deterministic function of the channel, so fitting the law to it
    recovers the parameters to the print precision of the export, not to the accuracy of the
    calibration. Its accuracy is what the reference peaks show: the covariance of a least-squares
    fit at those peaks, ``s² (AᵀA)⁻¹`` with ``s²`` the flight-time residual variance over
    ``n − p`` degrees of freedom (e.g. Press et al. 2007, *Numerical Recipes*, 3rd ed., eq. 15.4.15).
    """
    a = _design(m, cal.model)
    dof = t.size - a.shape[1]
    if dof <= 0:
        return None
    resid = t - a @ np.asarray(cal.params[: a.shape[1]], dtype=float)
    return float(resid @ resid / dof) * np.linalg.pinv(a.T @ a)


def _consensus(t: np.ndarray, m: np.ndarray, tol: np.ndarray, bins: np.ndarray, model: str) -> np.ndarray:
    """Largest set of references consistent with one calibration (RANSAC over all pairs, at once): each pair
    defines ``t = t0 + k·√m``; its inliers lie within ``tol``; the most inliers win, then the smallest rms
    residual in bins, then the first pair."""
    r = np.sqrt(m)
    a, b = np.triu_indices(t.size, 1)
    dr = r[b] - r[a]
    ok = dr != 0
    k = np.where(ok, (t[b] - t[a]) / np.where(ok, dr, 1.0), 0.0)
    ok &= k > 0
    best = np.ones(t.size, bool)
    if ok.any():
        a, k = a[ok], k[ok]
        t0 = t[a] - k * r[a]
        err = ((t[None, :] - t0[:, None]) / k[:, None]) ** 2 - m[None, :]
        inl = np.abs(err) <= tol[None, :]
        n = inl.sum(axis=1)
        rms = np.sqrt(np.where(inl, (err / bins[None, :]) ** 2, 0.0).sum(axis=1) / np.maximum(n, 1))
        top = np.nonzero(n == n.max())[0]
        best = inl[top[np.argmin(rms[top])]]
    if model != "sqrt" and best.sum() >= 4:
        fit = fit_calibration(t[best], m[best], model=model)
        best = np.abs(fit.mz(t) - m) <= tol
    return best


#: Largest error of an exported calibration searched for (relative m/z): 3000 ppm, a few times the
#: drift of an uncorrected TOF over a day of charging (SurfaceLab re-fits are typically < 500 ppm).
PRIOR_PPM = 3000.0


def _prior_consensus(exported: Calibration, pk_t, pk_area, ref_mz, tol, bins, window_ppm: float = PRIOR_PPM,
                     min_window: float = 0.0) -> Calibration | None:
    """A calibration from the largest consistent set of (reference, peak) pairs within ``window_ppm``
    (:data:`PRIOR_PPM`; at least ``min_window`` u/e) of the exported calibration (RANSAC over pairs of
    candidate pairs), or None when fewer than three references agree. Lets a badly exported calibration
    be repaired; every candidate peak within the prior window is considered, not just the nearest."""
    pm = exported.mz(pk_t)
    pairs_r: list[int] = []
    pairs_p: list[int] = []
    for i, m in enumerate(ref_mz):
        sel = np.nonzero(np.abs(pm - m) <= max(window_ppm * 1e-6 * m, tol[i], min_window))[0]
        sel = sel[np.argsort(-pk_area[sel])][:5]
        pairs_r += [i] * sel.size
        pairs_p += [int(q) for q in sel]
    if len(set(pairs_r)) < 3:
        return None
    ri, pj = np.array(pairs_r, dtype=int), np.array(pairs_p, dtype=int)
    t, m, r = pk_t[pj], ref_mz[ri], np.sqrt(ref_mz[ri])
    best_n, best = 2, None
    for a in range(t.size):
        for b in range(a + 1, t.size):
            if ri[a] == ri[b] or r[a] == r[b]:
                continue
            k = (t[b] - t[a]) / (r[b] - r[a])
            if k <= 0:
                continue
            t0 = t[a] - k * r[a]
            ok = np.abs(((t - t0) / k) ** 2 - m) <= tol[ri]
            n = np.unique(ri[ok]).size
            if n > best_n:
                best_n, best = n, ok
    if best is None:
        return None
    return fit_calibration(t[best], m[best], model="sqrt")
