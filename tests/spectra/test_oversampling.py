"""Spectra sampled far finer than their peaks are summed to their resolution before peak detection."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from ionscope.spectra.oversampling import binned_to_resolution, channel_grid, peak_sigma_channels
from ionscope.spectra.peaks import find_spectrum_peaks
from tests.conftest import shared_data

IONS = (15.0235, 27.0235, 29.0391, 41.0391, 43.0184, 43.0548, 57.0704, 91.0548)
RESOLVING_POWER = 800.0


def tof_histogram(rng, *, counts_per_ion=3000, width=1e-4, background=0.02, drop_empty=True):
    """A TOF histogram on channels uniform in √(m/z), peaks of m/Δm = 800 (~60–250 channels at half height),
    a flat background of ``background`` counts a channel, empty channels left out as in a sparse export."""
    root = np.arange(np.sqrt(10.0), np.sqrt(100.0), width)
    mz = root ** 2
    expected = np.full(mz.size, background)
    for m in IONS:
        s = m / RESOLVING_POWER / 2.3548
        expected += counts_per_ion * np.exp(-0.5 * ((mz - m) / s) ** 2) * np.gradient(mz) / (s * np.sqrt(2 * np.pi))
    counts = rng.poisson(expected).astype(float)
    keep = counts > 0 if drop_empty else np.ones(counts.size, bool)
    return counts[keep], mz[keep]


def test_channel_grid_rebuilds_the_empty_channels():
    counts, mz = tof_histogram(np.random.default_rng(0))
    grid = channel_grid(mz)
    assert grid is not None and grid.in_root and grid.width == pytest.approx(1e-4, rel=1e-6)
    assert np.array_equal(grid.channel, np.rint((np.sqrt(mz) - np.sqrt(mz[0])) / 1e-4).astype(int))
    assert channel_grid(np.cumsum(np.random.default_rng(1).uniform(0.5, 1.5, 500))) is None  # on no grid


def test_peak_width_from_the_autocorrelation():
    """One Gaussian of σ = 30 channels under Poisson noise: the autocorrelation gives its σ."""
    rng = np.random.default_rng(2)
    i = np.arange(20_000)
    expected = 0.5 + sum(4000 / (30 * np.sqrt(2 * np.pi)) * np.exp(-0.5 * ((i - c) / 30) ** 2)
                         for c in range(1000, 20_000, 2000))
    assert peak_sigma_channels(rng.poisson(expected)) == pytest.approx(30, rel=0.1)
    assert not peak_sigma_channels(rng.poisson(np.full(5000, 3.0))) >= 1  # noise alone: no width


def test_sparse_tof_histogram_gives_one_peak_per_ion():
    """Poisson spikes on a peak ~100 channels wide were listed as separate peaks (m/Δm up to 67 000 on the
    PHI TRIFT spectrum). Summed to its resolution, every ion gives one peak, its centroid within 4 standard
    errors (σ_m/√N) and FWHM within 15 % of m/R."""
    counts, mz = tof_histogram(np.random.default_rng(3))
    table = find_spectrum_peaks(counts, mz, min_snr=5)
    resolved = [m for m in IONS if not any(abs(m - o) < 2 * m / RESOLVING_POWER for o in IONS if o != m)]
    for m in resolved:
        near = table[np.abs(table.mz - m) < m / RESOLVING_POWER]
        assert len(near) == 1, f"m/z {m}: {len(near)} peaks"
        row = near.iloc[0]
        s = m / RESOLVING_POWER / 2.3548
        assert row.mz == pytest.approx(m, abs=4 * s / np.sqrt(3000))
        assert row.fwhm == pytest.approx(m / RESOLVING_POWER, rel=0.15)
        assert abs(mz[int(row["index"])] - m) < m / RESOLVING_POWER
    assert len(table) <= len(IONS) + 2


def test_a_narrow_light_end_does_not_stop_the_summing():
    """At constant m/Δm = 1 000 on TOF channels (σ ∝ √m channels), H⁻ is two channels wide and the oxide ions of
    m/z 110–160 twenty: the light end had stopped the summing of the whole spectrum, and counting noise split each
    heavy peak into several. One peak per ion, its FWHM within 15 % of m/R, as above."""
    from ionscope.synth.spectra import tof_spectrum

    ions = {"H-": 2e4, "C-": 3e4, "O-": 2e5, "OH-": 1.5e5, "C2H-": 6e4, "Cl-": 1e4, "C2H3O2-": 8e3,
            "RuO2-": 1e5}
    spec, _ = tof_spectrum(ions, polarity="negative", resolving_power=1000, shots=None, seed=0)
    x = spec.mz.values
    sigma = np.gradient(x) / (x / 1000 / 2.3548)  # channel width over peak σ
    assert sigma[np.searchsorted(x, 1.0)] > 0.25 and sigma[np.searchsorted(x, 130.0)] < 0.05
    table = find_spectrum_peaks(spec)
    for mass in (130.9, 131.9, 132.9, 133.9, 135.9):  # ⁹⁹⁻¹⁰⁴Ru¹⁶O₂⁻
        near = table[np.abs(table.mz - mass) < 0.3]
        assert len(near) == 1, f"m/z {mass}: {len(near)} peaks"
        assert near.iloc[0].fwhm == pytest.approx(mass / 1000, rel=0.15)


def test_a_spectrum_binned_to_its_resolution_is_left_as_it_is():
    """Peaks of σ ≈ 1 bin (the 200-channel bins of an IONTOF export) are not summed again."""
    counts, mz = tof_histogram(np.random.default_rng(4), width=4e-3, drop_empty=False)
    assert binned_to_resolution(counts, mz) is None


def test_trift_spectrum_peaks_are_one_per_ion():
    """The PHI TRIFT spectrum (Lorenz et al., tofsimsData; TOF channels of 0.00145 u at m/z 200, empty ones
    left out): no two peaks closer than their half widths, and none narrower than a tenth of the instrument's
    peak width (its strong peaks' m/Δm ≈ 550). Before, Poisson spikes on one peak were listed as peaks of
    m/Δm up to 67 000, 120 times that."""
    data = np.load(shared_data("phi_trift_image", "poplar_wood_spectrum.npz"))
    table = find_spectrum_peaks(data["counts"], data["mz"])
    assert len(table) > 50
    gaps = np.diff(table.mz.to_numpy())
    half = (table.fwhm.to_numpy()[1:] + table.fwhm.to_numpy()[:-1]) / 4
    assert np.all(gaps > half)
    strong = table.resolving_power[table.z_background > 50]
    assert len(strong) > 10 and table.resolving_power.max() < 10 * strong.median()


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(16, 4000), width=st.floats(1e-5, 1e-2),
       rate=st.floats(0.01, 50.0), keep=st.floats(0.05, 1.0), sigma=st.floats(0.3, 60.0))
@example(seed=1, n=4000, width=1e-4, rate=50.0, keep=1.0, sigma=30.0)  # summed (10–15 channels a bin)
@example(seed=1, n=4000, width=1e-4, rate=50.0, keep=0.3, sigma=30.0)
def test_summing_conserves_counts_on_any_grid(seed, n, width, rate, keep, sigma):
    """Fuzzed channel grids (uniform in √(m/z), some channels left out) and peak widths: either the spectrum is
    left as it is, or its bins hold every count once, in increasing m/z; peak detection never fails."""
    rng = np.random.default_rng(seed)
    root = 1.0 + width * np.arange(n)
    i = np.arange(n)
    expected = rate * (0.05 + np.exp(-0.5 * ((i - n / 2) / sigma) ** 2))
    counts = rng.poisson(expected).astype(float)
    mask = rng.random(n) < keep
    mask[[0, -1]] = True
    counts, mz = counts[mask], root[mask] ** 2
    binned = binned_to_resolution(counts, mz)
    if binned is not None:
        assert binned.counts.sum() == pytest.approx(counts.sum())
        assert np.all(np.diff(binned.mz) > 0) and np.all(binned.channels >= 2)
        assert np.array_equal(np.bincount(binned.bin_of, weights=counts, minlength=binned.counts.size),
                              binned.counts)
    find_spectrum_peaks(counts, mz)


def test_empty_channels_left_out_of_a_file_are_restored(tmp_path):
    """A TOF histogram stored without its empty channels reads as the whole histogram: the window fit takes a
    bin's neighbours as the adjacent channels (Na⁺ came out 32 % low on a sparse simulated histogram)."""
    from ionscope.spectra.pipeline import read_spectrum

    rng = np.random.default_rng(5)
    full_counts, full_mz = tof_histogram(rng, drop_empty=False)
    keep = full_counts > 0
    np.savez(tmp_path / "sparse.npz", counts=full_counts[keep], mz=full_mz[keep])
    spec = read_spectrum(tmp_path / "sparse.npz")
    first, last = np.flatnonzero(keep)[[0, -1]]  # the empty channels outside the stored ones are unknown
    assert np.array_equal(spec.values, full_counts[first:last + 1])
    assert np.allclose(spec.coords["mz"].values, full_mz[first:last + 1], rtol=1e-9)
    assert any("empty channels left out of the file restored" in w for w in spec.attrs["read_warnings"])
