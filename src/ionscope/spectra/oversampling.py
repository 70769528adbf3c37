"""Spectra sampled far finer than their peaks: summed to the instrument's resolution before peak detection.

A TOF histogram at the detector's time resolution (e.g. a PHI TRIFT spectrum of ~0.1 ns channels, stored with
its empty channels left out) spreads a peak of mass resolution m/Δm ≈ 1000 over ~100 channels holding a few
counts each. A local maximum of such counts is a Poisson spike, not a peak, and a baseline taken over ~100
channels follows the peaks. Summing channels keeps Poisson counts Poisson, so the peak detection of
:mod:`ionscope.spectra.peaks` applies unchanged once each bin is at most one standard deviation σ of a peak
wide: the Fourier transform of a Gaussian of σ, ``exp(−2π²σ²f²)``, is ``exp(−π²/2) ≈ 0.7 %`` of its maximum at the
Nyquist frequency ``1/(2σ)`` of that sampling, so one bin per σ loses nothing a peak holds (Shannon,
*Proc. IRE* 37, 10 (1949), doi:10.1109/JRPROC.1949.232969).

The peak width comes from the spectrum itself: the autocorrelation of the counts less their baseline over the
channel lags is, near zero lag, that of its peaks, a Gaussian of σ√2 for peaks of σ. Poisson noise is
independent between channels and adds to lag 0 alone. An export already binned to its resolution (an IONTOF
export of 200-channel bins holds every ion heavier than H within one or two bins) is left as it is.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

#: Largest relative departure of a channel spacing from a whole number of the channel width for an axis to be
#: read as a channel grid with empty channels left out (m/z stored to 10⁻⁶ u give ~1 % at the finest channels).
GRID_TOLERANCE = 0.2


class ChannelGrid(NamedTuple):
    """The channels of an axis: ``channel`` of each bin (from 0), the channel ``width`` (√u or u) and whether
    the grid is uniform in √(m/z) (``in_root``) or in m/z."""

    channel: np.ndarray
    width: float
    in_root: bool


class ResolutionBins(NamedTuple):
    """A spectrum summed to its resolution: ``counts`` and ``mz`` of each bin, ``bin_of`` each input bin,
    ``channels`` summed into each bin."""

    counts: np.ndarray
    mz: np.ndarray
    bin_of: np.ndarray
    channels: np.ndarray


def channel_grid(mz: np.ndarray) -> ChannelGrid | None:
    """The channel number of each bin of an axis sampled on a uniform grid in √(m/z) (TOF) or m/z, possibly
    with empty channels left out (:class:`ChannelGrid`); None when the axis is on neither grid.

    The channel width is the median of the spacings no larger than 1.5 times their 5th percentile (adjacent
    channels); each spacing must then be a whole number of widths within :data:`GRID_TOLERANCE`.
    """
    x = np.asarray(mz, dtype=float)
    if x.size < 16 or not np.all(x > 0):
        return None
    best = None
    for in_root, axis in ((True, np.sqrt(x)), (False, x)):
        step = np.diff(axis)
        adjacent = step[step <= 1.5 * np.percentile(step, 5)]
        width = float(np.median(adjacent))
        if not width > 0:
            continue
        ratio = step / width
        off = np.abs(ratio - np.rint(ratio)) / np.maximum(np.rint(ratio), 1)
        if np.all(np.rint(ratio) >= 1) and np.all(off <= GRID_TOLERANCE):
            spread = float(np.std(adjacent) / width)
            if best is None or spread < best[0]:
                best = (spread, np.concatenate(([0], np.cumsum(np.rint(ratio).astype(np.int64)))), width, in_root)
    return None if best is None else ChannelGrid(*best[1:])


def on_whole_grid(counts: np.ndarray, mz: np.ndarray, grid: ChannelGrid) -> ResolutionBins:
    """``counts`` over ``mz`` placed on every channel of ``grid`` from the first to the last stored one, the
    channels left out as zeros, their m/z interpolated on the grid (√(m/z) or m/z): a :class:`ResolutionBins`
    of one channel a bin."""
    every = np.arange(int(grid.channel[-1]) + 1)
    axis = np.interp(every, grid.channel, np.sqrt(mz) if grid.in_root else np.asarray(mz, dtype=float))
    full = np.zeros(every.size)
    full[grid.channel] = counts
    return ResolutionBins(full, axis ** 2 if grid.in_root else axis, grid.channel, np.ones(every.size, np.int64))


def peak_sigma_channels(counts: np.ndarray, max_lag: int = 4096) -> float:
    """Typical standard deviation of the peaks of a count spectrum on a full channel grid, in channels.

    From the autocorrelation ``r(L) = Σ y_i·y_{i+L}`` of the counts less their baseline
    (:func:`~ionscope.kernels.baseline.estimate_baseline` over blocks of ``4·max_lag`` channels, four times the
    widest lobe taken for peaks, so that the baseline does not follow them), over lags
    ``1 … max_lag``: its central lobe is that of the peaks, a Gaussian of σ√2, which falls to half its height
    at lag ``σ·√2·√(2 ln 2)``; the height is taken at lag 1. Lag 0 alone holds the Poisson variance (the sum
    of the counts): less it, it is the lobe's height, and a lobe already below half of it at lag 1 means
    peaks narrower than a channel (0 is returned). NaN when that height is not 3σ above its Poisson
    scatter (no peaks, or too few counts to tell) or the lobe does not fall to half within ``max_lag``.
    """
    from ionscope.kernels.baseline import estimate_baseline

    y = np.asarray(counts, dtype=float)
    n = y.size
    if n < 8 or max_lag < 2:
        return float("nan")
    raw = np.clip(y, 0, None)
    poisson = float(raw.sum())
    # sd of Σ(y² − y) for Poisson y of mean μ: Var(y² − y) = 4μ³ + 2μ², μ estimated by y
    height_sd = float(np.sqrt(np.sum(4 * raw ** 3 + 2 * raw ** 2)))
    y = y - estimate_baseline(y, max(3, min(4 * max_lag, n)))
    size = 1 << int(np.ceil(np.log2(2 * n)))
    f = np.fft.rfft(y, size)
    r = np.fft.irfft(f * np.conj(f), size)[:min(max_lag, n - 1) + 1]
    height = r[0] - poisson  # lag 0 less the Poisson variance of the counts: the lobe's own height
    r = r[1:]
    if not (r[0] > 0 and height > 3 * height_sd):
        return float("nan")  # no peaks, or too few counts to tell
    if r[0] <= height / 2:
        return 0.0  # the lobe is below half its height at lag 1: peaks narrower than a channel
    half = r[0] / 2
    below = int(np.argmax(r <= half))
    if r[below] > half:
        return float("nan")
    # r[k] is lag k + 1: linear interpolation between lags ``below`` and ``below + 1``
    lag = below + (r[below - 1] - half) / (r[below - 1] - r[below]) if below > 0 else 1.0
    return float(lag / (np.sqrt(2.0) * np.sqrt(2.0 * np.log(2.0))))


#: Least counts in a segment of the spectrum for its autocorrelation to be read; sparser segments (the high
#: masses of a TRIFT spectrum) take their width from the power law through the others.
SEGMENT_MIN_COUNTS = 10_000
#: Exponent range of the peak σ in channels against m/z, for channels uniform in √(m/z) (TOF time) and in m/z:
#: a constant time spread (primary pulse, detector) gives σ independent of m/z in time, ∝ √m in m/z; a constant
#: relative mass spread (energy spread: constant m/Δm) gives σ ∝ √m in time, ∝ m in m/z.
WIDTH_EXPONENT = {True: (0.0, 0.5), False: (0.5, 1.0)}


#: Widest lobe (u) read as a peak width: ions lie one nominal mass apart, so a lobe that has not fallen to half
#: within half of that is the unresolved continuum of a spectrum at unit resolution, not its peaks.
HALF_NOMINAL = 0.5


#: Least peak σ (channels) of every segment for a spectrum to be summed: groups of half of it are then at
#: least two channels wide.
MIN_SIGMA = 4.0


def peak_sigma_by_mass(full: np.ndarray, mz_of_channel: np.ndarray, in_root: bool = True) -> np.ndarray | None:
    """Peak σ in channels at each channel of a full TOF channel grid (at least two: groups of half of it are
    one channel, not summed, where it is narrower); None where no segment gives :data:`MIN_SIGMA` or more, or
    where a segment gives less above one that gives more (an IONTOF export of 200-channel bins spreads H⁻ over
    a few bins, every heavier ion within one: it is not summed). A segment narrower than :data:`MIN_SIGMA`
    below every wider one is the light end of a spectrum whose peaks widen with m/z, as at constant m/Δm
    (σ ∝ t ∝ √m in channels): H⁻ two channels wide at m/Δm 1 000 does not stop the summing of the ions of
    m/z 100–500, twenty channels wide, whose counting noise otherwise splits each into several peaks.

    :func:`peak_sigma_channels` over segments each spanning a factor 2 in m/z with at least
    :data:`SEGMENT_MIN_COUNTS` counts, lags up to :data:`HALF_NOMINAL`, then a power law ``σ = a·m^b`` through
    them, weighted by their counts, ``b`` within :data:`WIDTH_EXPONENT` of the grid (``in_root``: channels
    uniform in √(m/z)); it carries the width into the sparse high-mass range where the autocorrelation has
    too few counts.
    """
    edges = np.searchsorted(mz_of_channel, 2.0 ** np.arange(0, 13) - 0.5)  # between nominal masses, not on them
    mass: list[float] = []
    sigma: list[float] = []
    weight: list[float] = []
    for a, b in zip(edges[:-1], edges[1:]):
        n = float(full[a:b].sum())
        if b - a > 16 and n >= SEGMENT_MIN_COUNTS:
            per_channel = float(np.median(np.diff(mz_of_channel[a:b])))
            width = peak_sigma_channels(full[a:b], max_lag=int(HALF_NOMINAL / per_channel))
            if width < MIN_SIGMA and sigma:
                return None  # narrower than a lighter segment: binned to its resolution, peaks within a channel
            if width < MIN_SIGMA:
                continue  # light ions of a spectrum whose peaks widen with m/z: not summed there
            if np.isfinite(width):
                mass.append(float(np.average(mz_of_channel[a:b], weights=full[a:b])))
                sigma.append(width)
                weight.append(n)
    if not sigma:
        return None
    logm, logs = np.log(mass), np.log(sigma)
    if len(sigma) == 1:
        slope = WIDTH_EXPONENT[in_root][0]
    else:
        slope = float(np.clip(np.polyfit(logm, logs, 1, w=np.sqrt(weight))[0], *WIDTH_EXPONENT[in_root]))
    level = float(np.average(logs - slope * logm, weights=weight))
    law = np.exp(level + slope * np.log(np.maximum(mz_of_channel, mz_of_channel[mz_of_channel > 0].min())))
    return np.maximum(law, 2.0)  # groups of one channel at least where the law falls below two channels


def binned_to_resolution(counts: np.ndarray, mz: np.ndarray) -> ResolutionBins | None:
    """Counts summed over groups of whole channels, each about half a peak σ wide at its m/z (module
    docstring; :func:`peak_sigma_by_mass`), or None when the spectrum is not sampled finer than that (on no
    channel grid, or a part of it whose peaks are narrower than :data:`MIN_SIGMA`).

    The autocorrelation's σ is that of the clusters of ions one peak width apart (on the shared PHI TRIFT
    spectrum 1.6 times the σ of its single peaks at m/z 40–70), so groups are half of it wide. Each channel
    adds ``1/w`` of a group where groups should be ``w`` channels wide, so groups widen smoothly with m/z.
    Empty channels left out of the input count as zero; a group's m/z is that of its centre channel,
    interpolated on the grid (√(m/z) or m/z) between the channels of the input.
    """
    grid = channel_grid(mz)
    if grid is None:
        return None
    whole = on_whole_grid(counts, mz, grid)
    sigma = peak_sigma_by_mass(whole.counts, whole.mz, grid.in_root)
    if sigma is None:
        return None
    group = np.floor(sigma / 2)  # ≥ 2: σ ≥ MIN_SIGMA
    bin_of_channel = np.floor(np.concatenate(([0.0], np.cumsum(1.0 / group)[:-1])) + 1e-9).astype(np.int64)
    n_bins = int(bin_of_channel[-1]) + 1
    size = np.bincount(bin_of_channel, minlength=n_bins)
    every = np.arange(whole.counts.size)
    at = np.sqrt(whole.mz) if grid.in_root else whole.mz
    centre = np.interp(np.bincount(bin_of_channel, weights=every, minlength=n_bins) / size, every, at)
    return ResolutionBins(np.bincount(bin_of_channel, weights=whole.counts, minlength=n_bins),
                          centre ** 2 if grid.in_root else centre, bin_of_channel[grid.channel], size)


__all__ = ["GRID_TOLERANCE", "HALF_NOMINAL", "MIN_SIGMA", "SEGMENT_MIN_COUNTS", "WIDTH_EXPONENT", "ChannelGrid",
           "ResolutionBins", "binned_to_resolution", "channel_grid", "on_whole_grid", "peak_sigma_by_mass",
           "peak_sigma_channels"]
