"""Binned exports: peak model, resolving power and intensities do not depend on the binning.

IONTOF exports sum up to hundreds of TOF channels per bin (200 in the Laurent et al. 2024 files), so a
peak narrower than a bin is observed one bin wide. The synthetic spectra here have a known instrument
resolving power and known counts per species, and are summed over 1 and 200 channels per bin.
"""

from functools import cache

import numpy as np
import pytest

from ionscope.model.arrays import make_spectrum
from ionscope.spectra.continuum import gaussian_share as _gaussian_share
from ionscope.spectra.elements import identify_elements
from ionscope.spectra.windowfit import (
    _binned_gaussian_share,
    _interval_counts,
    instrument_resolving_power,
)
from ionscope.synth.spectra import tof_spectrum

T0, K = -400.0, 33300.0  # the calibration law of the shared exports: m/z 250 at channel ~526 000
IONS = {"H+": 3e5, "C+": 2e5, "CH3+": 4e5, "Na+": 2e6, "C2H3+": 5e5, "C2H5+": 3e5, "K+": 2e5, "C3H5+": 3e5,
        "C4H7+": 1e5, "C7H7+": 5e4, "Ru+": 7e4, "Pd+": 3e4, "Pt+": 4e3}


@cache
def _spectrum(resolving_power: float, binning: int):
    spec, _ = tof_spectrum(IONS, n_channels=530_000, t0=T0, k=K, resolving_power=resolving_power,
                           background=0.02, shots=None, seed=2, t0_offset=0.0, k_rel_offset=0.0)
    n = spec.sizes["mz"] // binning * binning
    counts = spec.values[:n].reshape(-1, binning).sum(1)
    channel = spec.coords["channel"].values[:n].reshape(-1, binning).mean(1)
    return make_spectrum(counts, ((channel - T0) / K) ** 2, channel=channel, name="synthetic",
                         acquisition={"polarity": "positive"})


def test_a_peak_narrower_than_its_bin_is_the_bin():
    edges = 100.0 + np.array([-0.18, -0.06, 0.06, 0.18])
    centre = np.array([100.0])
    assert _binned_gaussian_share(centre, np.array([0.0]), edges, centre - 0.06, centre + 0.06)[0] == \
        pytest.approx(1.0, abs=1e-6)
    assert _binned_gaussian_share(centre, np.array([0.0]), edges, centre, centre + 1.0)[0] == pytest.approx(0.5)


def test_the_binned_share_is_what_the_window_counts_read_from_the_binned_peak():
    # each bin holds the Gaussian's integral over it; the window count interpolates the running sum between
    # bin edges: the share must be that count exactly, whatever the phase of the peak in its bins
    rng = np.random.default_rng(0)
    for _ in range(50):
        width, sigma = rng.uniform(0.001, 0.2), rng.uniform(0.0005, 0.1)
        x = 100.0 + rng.uniform(-0.5, 0.5) * width + width * np.arange(-400, 401)
        dx = np.gradient(x)
        edges = np.concatenate((x - dx / 2, [x[-1] + dx[-1] / 2]))
        centre = 100.0 + rng.uniform(-0.01, 0.01)
        expected = _gaussian_share(centre, sigma, edges[:-1], edges[1:])
        cs = np.concatenate(([0.0], np.cumsum(expected)))
        lo, hi = centre - rng.uniform(0.0, 3 * sigma, 2), centre + rng.uniform(0.0, 3 * sigma, 2)
        read = _interval_counts(lo, hi, edges, cs)
        share = _binned_gaussian_share(np.full(2, centre), np.full(2, sigma), edges, lo, hi)
        np.testing.assert_allclose(share, read, atol=1e-12)


@pytest.mark.parametrize("resolving_power", [1500.0, 4000.0, 10000.0])
def test_resolving_power_is_the_instruments_at_one_channel_per_bin(resolving_power):
    spec = _spectrum(resolving_power, 1)
    # the height-weighted median of the 20 strongest peaks' second moments: the σ of a width from N counts
    # is 1/√(2N), 0.3 % at the ~10⁵ counts of these peaks; 2 % leaves room for the truncation at ±4.7σ and
    # for the peaks of 1.5 channels per FWHM at R = 10000 (the width at half height read 10000 as 13400)
    got = instrument_resolving_power(spec.values.astype(float), spec.coords["mz"].values)
    assert got == pytest.approx(resolving_power, rel=0.02)


def test_peaks_within_one_bin_are_modelled_within_one_bin():
    # 200 channels per bin: a bin is 0.06 m/z at m/z 23 where R = 4000 gives a 0.006 m/z peak; the
    # binned data bound the peak width only by the bin, and the modelled peak must not be wider
    spec = _spectrum(4000.0, 200)
    x = spec.coords["mz"].values
    got = instrument_resolving_power(spec.values.astype(float), x)
    for m in (23.0, 100.0, 195.0):
        assert m / got < np.interp(m, x, np.gradient(x))


@pytest.mark.parametrize("binning", [1, 200])
def test_intensities_do_not_depend_on_the_binning(binning):
    # before the bin was part of the peak model, 200 channels per bin gave Ru⁺ +11 % and Pt⁺ +36 % (22σ):
    # the observed width (one bin) was taken for the instrument's and extrapolated as m/R
    fits = {f.formula: f for f in identify_elements(_spectrum(4000.0, binning), polarity="positive",
                                                     elements=["Ru", "Pd", "Pt"])}
    for formula in ("Ru+", "Pd+", "Pt+"):
        f = fits[formula]
        assert f.present
        assert abs(f.intensity - IONS[formula]) <= 3 * f.uncertainty, (formula, f.intensity, f.uncertainty)
