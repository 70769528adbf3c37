"""Peak detection in counting spectra: Poisson noise, baseline, peak table.

Noise model: the recorded value of a bin is a sum of Poisson counts, so its variance equals its
expected count. When the values are *not* raw counts (per-channel averages of a binned export, or
counts scaled by a dead-time correction), ``counts_per_unit`` converts them back: a bin value ``y``
holds ``y·counts_per_unit`` counts and has standard deviation ``sqrt(y·counts_per_unit)/counts_per_unit``.

Baseline: the mean of each block of ``baseline_window`` bins after excluding bins above
``median + 3·sqrt(median)`` (peaks), linearly interpolated between block centres (unbiased for a
sparse Poisson background, unlike a running minimum or a median).

Detection and S/N follow Currie (*Anal. Chem.* 40, 586, 1968, doi:10.1021/ac60259a007), who separates
the *decision* "is there a signal?" from the *precision* of the net signal:

- Detection (Currie's critical level ``L_C = z·σ₀``, σ₀ the noise of the blank): a peak is a local
  maximum whose height above the baseline exceeds ``min_snr`` standard deviations of the Poisson
  noise of the baseline, ``z_background = (y − b)/σ(b)`` with ``σ(b) = sqrt(max(b, 1 count))``, and at
  least ``min_counts``, and whose prominence exceeds ``min_prominence`` Poisson σ of its apex.
  ``z_background`` is a column of the table. On an empty baseline (b < 1 count) σ(b) is floored at
  1 count, so ``z_background`` of a strong peak equals its height: a test statistic, not a S/N.
- Reported S/N (``snr``): the net signal over its own standard deviation. The apex holds
  ``y = h + b`` Poisson counts (variance ``y``), and the baseline, a mean over ~``baseline_window``
  bins, adds a negligible ``b/window``, so ``σ(h) = sqrt(h + b)`` and ``S/N = h / sqrt(max(h + b, 1))``
  (Currie 1968, eq. 4 with a well-known blank). It is ``sqrt(h)`` for a peak on no background and
  ``h/sqrt(b)`` for a weak one on a high background. Widths
come from :func:`scipy.signal.peak_widths` (or its NumPy twin in ``_peakfind`` for small spectra;
linear interpolation at half height); centroids are the intensity-weighted mean m/z over the part
above half height; areas are baseline-subtracted sums between the points where the peak falls to
5 % of its height.

Channel-binned (unit-mass) spectra: an export whose channels are ``≥`` :data:`NOMINAL_SPACING` (0.5 u)
apart (median spacing, e.g. the 200 unit-mass channels of a PHI TRIFT image) is sampled at most twice
per nominal mass, so by the sampling theorem (Shannon, *Proc. IRE* 37, 10, 1949,
doi:10.1109/JRPROC.1949.232969) it resolves no mass difference below 2 × 0.5 = 1 u, the spacing of
nominal masses: each channel holds the whole signal of its nominal mass and its neighbours hold other
ions. Centroiding across channels there mixes different ions (a CH₃⁺ channel at 15 beside a CH₂⁺
channel at 14 gives 14.6, a mass no ion has); such a peak is its apex channel: ``mz`` its centre,
``fwhm``, ``left_mz``/``right_mz`` its width and edges (midway to the neighbouring channels), ``area``
its counts above the baseline.

Spectra sampled far finer than their peaks (a TOF histogram at the detector's time resolution, a few counts a
channel) are first summed to about one peak σ a bin (:mod:`ionscope.spectra.oversampling`); heights and
baselines are then per input channel, ``snr`` and ``z_background`` those of the summed bins, ``index`` the
input bin of most counts in the apex bin, and the table's ``attrs["channels_per_bin"]`` the least and most
channels summed.
"""

from __future__ import annotations

import sys
import warnings

import numpy as np
import pandas as pd

from ionscope.kernels.baseline import estimate_baseline
from ionscope.model.errors import ValidationError
from ionscope.spectra import _peakfind
from ionscope.spectra.oversampling import ResolutionBins, binned_to_resolution

PEAK_COLUMNS = ("mz", "height", "area", "fwhm", "resolving_power", "snr", "z_background", "baseline", "left_mz",
                "right_mz", "index")
#: Channel spacing (u) from which a spectrum is channel-binned at unit mass: at 0.5 u per channel the finest
#: resolvable mass difference (two channels, sampling theorem) is 1 u, the spacing of nominal masses.
NOMINAL_SPACING = 0.5


def channel_binned(mz: np.ndarray) -> bool:
    """Whether the m/z axis ``mz`` is channel-binned at unit mass: median spacing ≥ :data:`NOMINAL_SPACING`.

    Such an axis samples each nominal mass at most twice, so it cannot tell apart ions of one nominal mass,
    whose m/z differ only by their mass defects (Si⁺ 27.977, CO⁺ 27.995, C₂H₄⁺ 28.031); see the module
    docstring. The median keeps a few wide gaps (a missing range of an export) from deciding it.
    """
    x = np.asarray(mz, dtype=float)
    return x.size >= 2 and float(np.median(np.abs(np.diff(x)))) >= NOMINAL_SPACING


def _channel_edges(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper edge (m/z) of every channel: midway to its neighbours, mirrored at the ends."""
    mid = (x[1:] + x[:-1]) / 2
    lo = np.concatenate(([x[0] - (mid[0] - x[0])], mid))
    hi = np.concatenate((mid, [x[-1] + (x[-1] - mid[-1])]))
    return lo, hi


#: Above this many bins the compiled SciPy peak functions pay for their import (~0.3 s): the NumPy ones
#: loop over peaks in Python (~50 µs per peak), SciPy's are ~6× faster per peak. Same results either way;
#: once ``scipy.signal`` is imported (e.g. by a batch), it is always used.
SCIPY_ABOVE = 200_000


def _peak_functions(n: int):
    """(find maxima, prominences, widths) with positional arguments: NumPy for small spectra (fast start-up),
    :mod:`scipy.signal` for large ones."""
    if n <= SCIPY_ABOVE and "scipy.signal" not in sys.modules:
        return _peakfind.local_maxima, _peakfind.prominences, _peakfind.widths
    from scipy.signal import find_peaks, peak_prominences, peak_widths

    return ((lambda y, h: find_peaks(y, height=h)[0]),
            (lambda y, p, w: peak_prominences(y, p, wlen=w)),
            (lambda y, p, r, d: peak_widths(y, p, rel_height=r, prominence_data=d)))


def _interp(x: np.ndarray, pos: np.ndarray) -> np.ndarray:
    i = np.clip(np.floor(pos).astype(int), 0, x.size - 2)
    f = pos - i
    return x[i] * (1 - f) + x[i + 1] * f


def find_spectrum_peaks(spectrum, mz=None, *, min_snr: float = 3.0, min_counts: float = 5.0,
                        baseline_window: int = 101, counts_per_unit: float = 1.0,
                        max_peaks: int | None = None, min_prominence: float = 3.0,
                        prominence_window: int = 2001) -> pd.DataFrame:
    """Detect peaks and measure them.

    Parameters
    ----------
    spectrum
        Counts per bin (NumPy array or an ionscope ``spectrum`` DataArray, whose ``mz`` is then used).
    mz
        m/z of each bin (strictly increasing), when ``spectrum`` is a plain array.
    min_snr
        Minimum height above baseline in Poisson standard deviations of the baseline (the detection
        threshold on ``z_background``, Currie's critical level; not the reported ``snr``).
    min_counts
        Minimum height above baseline in counts.
    baseline_window
        Width of the baseline filter in bins (should exceed the widest peak).
    counts_per_unit
        Counts represented by one unit of ``spectrum`` (1 for raw or summed-bin counts).
    min_prominence, prominence_window
        A maximum must rise ``min_prominence·sqrt(apex counts)`` above the higher of the minima
        separating it from its neighbours (searched within ``prominence_window`` bins); this drops
        counting-noise wiggles on wide peaks and keeps shoulders that are statistically resolved.
    max_peaks
        Keep only the most intense peaks.

    Returns
    -------
    pandas.DataFrame
        One row per peak, sorted by m/z: ``mz`` (centroid), ``height`` and ``baseline`` (counts at the
        apex; per input channel for a spectrum summed to its resolution, module docstring), ``area`` (counts),
        ``fwhm`` (m/z), ``resolving_power`` (m/Δm at FWHM), ``snr``
        (height over its Poisson σ, ``h/sqrt(h + b)``), ``z_background`` (height over the baseline's
        Poisson σ, the detection statistic), ``left_mz``/``right_mz`` (5 % extent) and ``index`` (apex bin).
        On a channel-binned axis (:func:`channel_binned`) a peak is its apex channel: ``mz`` the channel
        centre, ``left_mz``/``right_mz`` its edges, ``fwhm`` its width, ``area`` its counts over the baseline.
    """
    for name, value in (("min_snr", min_snr), ("min_counts", min_counts), ("min_prominence", min_prominence)):
        if not (np.isfinite(value) and value >= 0):
            raise ValidationError(f"find_spectrum_peaks: {name} must be a finite number ≥ 0, got {value}")
    if mz is None:
        if not hasattr(spectrum, "coords") or "mz" not in spectrum.coords:
            raise ValidationError("find_spectrum_peaks needs m/z values: pass a spectrum DataArray or mz=")
        mz = spectrum.coords["mz"].values
        spectrum = spectrum.values
    y = np.asarray(spectrum, dtype=float) * counts_per_unit
    x = np.asarray(mz, dtype=float)
    if y.shape != x.shape or y.ndim != 1:
        raise ValidationError(f"spectrum and m/z must be 1-D of equal length, got {y.shape} and {x.shape}")
    if x.size < 3:
        return pd.DataFrame(columns=list(PEAK_COLUMNS))
    if np.any(np.diff(x) <= 0):
        raise ValidationError("m/z values must increase strictly for peak detection")
    binned = binned_to_resolution(y, x)
    if binned is None:
        return _measured_peaks(y, x, min_snr, min_counts, baseline_window, counts_per_unit, max_peaks,
                               min_prominence, prominence_window)
    table = _measured_peaks(binned.counts, binned.mz, min_snr, min_counts, baseline_window, counts_per_unit,
                            max_peaks, min_prominence, prominence_window, half_edges=True)
    out = _per_input_bin(table, binned, y, x, counts_per_unit).drop(columns=["half_left", "half_right"])
    out.attrs["channels_per_bin"] = [int(binned.channels.min()), int(binned.channels.max())]
    return out


def _per_input_bin(table: pd.DataFrame, binned: ResolutionBins, counts: np.ndarray, x: np.ndarray,
                   counts_per_unit: float) -> pd.DataFrame:
    """The peaks of a spectrum summed to its resolution, told in its input bins: heights and baselines per input
    channel (``snr`` and ``z_background`` stay those of the summed bins, where the counts were tested),
    centroids the weighted mean m/z of the input bins above the baseline between the peak's half-height
    edges, interpolated on the summed bins (the summed bins' coarse centres would shift them with the phase of
    the binning), ``index`` the input bin of most counts in the apex bin."""
    out = table.copy()
    per_bin = binned.channels[table["index"].to_numpy(dtype=int)] if len(table) else 1
    out["height"] /= per_bin
    out["baseline"] /= per_bin
    base = out["baseline"] * counts_per_unit
    net = np.clip(counts - np.interp(x, out["mz"], base), 0, None) if len(out) else counts
    cs, csx = np.concatenate(([0.0], np.cumsum(net))), np.concatenate(([0.0], np.cumsum(net * x)))
    lo = np.searchsorted(x, out["half_left"].to_numpy(dtype=float))
    hi = np.searchsorted(x, out["half_right"].to_numpy(dtype=float), side="right")
    weight = cs[hi] - cs[lo]
    out["mz"] = np.where(weight > 0, (csx[hi] - csx[lo]) / np.where(weight > 0, weight, 1), out["mz"])
    out["resolving_power"] = out["mz"] / out["fwhm"]
    out["index"] = _richest_input_bin(binned.bin_of, counts, table["index"].to_numpy(dtype=int))
    return out


def _richest_input_bin(group_of: np.ndarray, y: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """For each bin of a summed spectrum, the input bin of most counts among those summed into it."""
    start = np.searchsorted(group_of, groups, side="left")
    stop = np.searchsorted(group_of, groups, side="right")
    return np.array([a + int(np.argmax(y[a:b])) if b > a else min(a, y.size - 1) for a, b in zip(start, stop)],
                    dtype=int)


def _measured_peaks(y: np.ndarray, x: np.ndarray, min_snr: float, min_counts: float, baseline_window: int,
                    counts_per_unit: float, max_peaks: int | None, min_prominence: float,
                    prominence_window: int, half_edges: bool = False) -> pd.DataFrame:
    """Peaks of counts ``y`` on the axis ``x`` (both validated), as :func:`find_spectrum_peaks` returns them;
    with ``half_edges`` also the m/z where each falls to half its height (``half_left``, ``half_right``)."""
    base = estimate_baseline(y, max(3, min(baseline_window, x.size)))
    sigma = np.sqrt(np.maximum(base, 1.0))
    find_peaks, peak_prominences, peak_widths = _peak_functions(y.size)
    idx = find_peaks(y, base + np.maximum(min_snr * sigma, min_counts))
    if idx.size:
        # a maximum is a peak only if it rises min_prominence·sqrt(apex) above the saddle to its
        # neighbours: Poisson wiggles on the flank of a wide peak do not
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # maxima below a sloping baseline have prominence 0: dropped
            prom_data = peak_prominences(y - base, idx, int(prominence_window))
        keep = prom_data[0] >= min_prominence * np.sqrt(np.maximum(y[idx], 1.0))
        if max_peaks is not None and keep.sum() > max_peaks:
            strongest = np.argsort(np.where(keep, y[idx] - base[idx], -np.inf))[-max_peaks:]
            keep = np.zeros_like(keep)
            keep[strongest] = True
        idx = idx[keep]
        prom_data = tuple(d[keep] for d in prom_data)
    if idx.size == 0:
        return pd.DataFrame(columns=list(PEAK_COLUMNS) + (["half_left", "half_right"] if half_edges else []))
    yb = y - base
    height = yb[idx]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # flat-topped 1-bin peaks: widths floored below
        w_half = peak_widths(yb, idx, 0.5, prom_data)
        w_base = peak_widths(yb, idx, 0.95, prom_data)
    lh, rh = w_half[2], w_half[3]
    lb, rb = w_base[2], w_base[3]
    left_mz_h, right_mz_h = _interp(x, lh), _interp(x, rh)
    dx = np.gradient(x)
    fwhm = np.maximum(right_mz_h - left_mz_h, dx[idx])
    cs_y = np.concatenate(([0.0], np.cumsum(np.clip(yb, 0, None))))
    cs_xy = np.concatenate(([0.0], np.cumsum(np.clip(yb, 0, None) * x)))
    lo_h = np.ceil(lh).astype(int)
    hi_h = np.floor(rh).astype(int) + 1
    w = cs_y[hi_h] - cs_y[lo_h]
    centroid = np.where(w > 0, (cs_xy[hi_h] - cs_xy[lo_h]) / np.where(w > 0, w, 1), x[idx])
    lo_b = np.floor(lb).astype(int)
    hi_b = np.minimum(np.ceil(rb).astype(int) + 1, y.size)
    area = cs_y[hi_b] - cs_y[lo_b]
    left, right = _interp(x, lb), _interp(x, rb)
    if channel_binned(x):  # one nominal mass per channel: the peak is its apex channel (module docstring)
        left, right = (edge[idx] for edge in _channel_edges(x))
        centroid, fwhm, area = x[idx], right - left, np.clip(height, 0, None)
    table = pd.DataFrame({
        "mz": centroid, "height": height, "area": area / counts_per_unit, "fwhm": fwhm,
        "resolving_power": centroid / fwhm, "snr": height / np.sqrt(np.maximum(height + base[idx], 1.0)),
        "z_background": height / sigma[idx], "baseline": base[idx] / counts_per_unit,
        "left_mz": left, "right_mz": right, "index": idx,
    })
    table["height"] /= counts_per_unit
    if half_edges:
        table["half_left"], table["half_right"] = left_mz_h, right_mz_h
    return table
