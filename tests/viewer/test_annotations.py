"""The annotation adapter's internal methods: peak labels, depth interfaces, the cycling curve."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import erf

from ionscope.model.arrays import make_depth_profile
from ionscope.viewer.annotations import depth_interfaces, operando_curve, peak_labels, spectrum_peaks


def test_peak_labels_prefer_the_data_names_then_the_table():
    assert peak_labels([7.016, 57.93], names=["Li", "Ni"]) == ["Li", "Ni"]
    named = peak_labels([7.016, 57.935, 123.456], tolerance=0.01, polarity="positive")
    assert named == ["^7Li+", "^58Ni+", "m/z 123.46"]
    assert peak_labels([7.2], tolerance=0.01, polarity="positive") == ["m/z 7.20"]  # 0.18 m/z from 7Li
    assert peak_labels([7.016]) == ["m/z 7.02"]  # no resolution given: nothing can be named
    assert peak_labels([7.016, 42.98], tolerance=0.01, nominal=True) == ["m/z 7", "m/z 43"]


def _spectrum(centres, *, resolving_power: float, step: float = 0.001, top: float = 60.0, polarity=None):
    """An exact (noise-free) spectrum: Gaussian peaks of 1000 counts and FWHM m/R at ``centres`` on 5 counts."""
    from ionscope.model.arrays import make_spectrum

    mz = np.arange(1.0, top, step)
    counts = np.full(mz.size, 5.0)
    for c in centres:
        counts += 1000 * np.exp(-0.5 * ((mz - c) / (c / resolving_power / 2.3548)) ** 2)
    return make_spectrum(counts, mz, acquisition=None if polarity is None else {"polarity": polarity})


#: Exact m/z of ions of the marker library: ^7Li+, F-, Si+/Si- (both polarities), K+ (LiS- lies 0.025 above).
LI, F, SI, K = 7.015455, 18.998952, 27.976378, 38.963158


@pytest.mark.parametrize(("polarity", "labels"), [
    ("positive", ["^7Li+", "m/z 19.00", "Si+", "K+"]),  # no F+ in the library: F- is not offered
    ("negative", ["m/z 7.02", "F-", "Si-", "m/z 38.96"]),  # LiS- is 0.025 away: 4 FWHM of a R = 3000 peak
    (None, ["^7Li±", "F±", "Si±", "K±"]),  # not recorded: no charge sign is claimed, none mixed
])
def test_spectrum_labels_come_from_ions_of_the_recorded_polarity(polarity, labels):
    from ionscope.viewer.slicing import spectrum_of

    answer = spectrum_of(_spectrum([LI, F, SI, K], resolving_power=3000, polarity=polarity), "spectrum", {})
    assert [p["mz"] for p in answer["peaks"]] == pytest.approx([LI, F, SI, K], abs=5e-4)
    assert [p["label"] for p in answer["peaks"]] == labels
    assert answer["labelling"]["polarity"] == polarity and not answer["labelling"]["channel_binned"]
    assert ("not recorded" in answer["labelling"]["note"]) == (polarity is None)
    signs = {lab[-1] for lab in labels if not lab.startswith("m/z")}
    assert len(signs) == 1  # one polarity (or none claimed) on one spectrum


def test_polarity_is_read_where_readers_store_it():
    from ionscope.viewer.annotations import data_polarity

    sp = _spectrum([LI], resolving_power=3000, top=10.0, polarity="negative")
    assert data_polarity(sp) == "negative"
    sp.attrs.pop("acquisition")
    assert data_polarity(sp) is None
    sp.attrs["polarity"] = "positive"  # as the imzML reader records the scan polarity
    assert data_polarity(sp) == "positive"
    sp.attrs["polarity"] = "mixed"
    assert data_polarity(sp) is None


def test_the_matching_half_width_follows_the_peak_width():
    """A peak 0.03 m/z above K+ is K+ only when it is too wide (R = 300: FWHM 0.13) to tell them apart; at
    R = 5000 (FWHM 0.008) it is another ion. With the polarity not recorded, the wide peak also holds LiS-
    (0.025 above K+): two compositions, so no name, and both are offered as candidates."""
    shifted = K + 0.03
    line = {"step": 0.005, "top": 45.0}  # the 101-bin baseline window (0.5 m/z) is wider than the peaks
    narrow = spectrum_peaks(*_line(_spectrum([shifted], resolving_power=5000, **line)), polarity="positive")
    wide = spectrum_peaks(*_line(_spectrum([shifted], resolving_power=300, **line)), polarity="positive")
    assert [p["label"] for p in narrow] == ["m/z 38.99"] and narrow[0]["candidates"] == []
    assert [p["label"] for p in wide] == ["K+"]
    (unknown,) = spectrum_peaks(*_line(_spectrum([K], resolving_power=300, **line)))
    assert unknown["label"] == "m/z 38.96" and sorted(unknown["candidates"]) == ["K+", "LiS-"]


def _line(sp):
    return sp.mz.values, sp.values


@pytest.mark.parametrize("polarity", ["positive", "negative", None])
def test_unit_mass_channels_are_labelled_by_nominal_mass_on_their_channel(polarity):
    """Unit-mass channels (a TRIFT image's export) cannot tell K+ from LiS- or CH3+ from anything else at 15:
    the labels are nominal masses, and the CH3+ peak beside a strong CH2+ channel stays on channel 15."""
    from ionscope.model.arrays import make_spectrum
    from ionscope.viewer.slicing import spectrum_of

    mz = np.arange(1.0, 101.0)
    counts = np.full(mz.size, 40.0)
    counts[[12, 13, 14]] = [5500, 9000, 12500]  # m/z 13, 14, 15: CH3+ at 15 is the maximum
    counts[38] = 20000  # m/z 39: K+ or LiS-?
    sp = make_spectrum(counts, mz, acquisition=None if polarity is None else {"polarity": polarity})
    answer = spectrum_of(sp, "spectrum", {})
    assert [(p["mz"], p["label"]) for p in answer["peaks"]] == [(15.0, "m/z 15"), (39.0, "m/z 39")]
    assert all(p["candidates"] == [] for p in answer["peaks"])
    assert answer["labelling"]["channel_binned"] and answer["labelling"]["channel_spacing"] == 1.0
    assert "nominal mass" in answer["labelling"]["note"]


def test_spectrum_peaks_on_an_exact_spectrum():
    mz = np.arange(1, 100, 0.01)
    counts = 5 + 1000 * np.exp(-0.5 * ((mz - 58.93) / 0.01) ** 2) + 300 * np.exp(-0.5 * ((mz - 27.0) / 0.01) ** 2)
    peaks = spectrum_peaks(mz, counts, polarity="positive")
    assert [p["mz"] for p in peaks] == pytest.approx([27.0, 58.93], abs=0.006)
    assert peaks[1]["label"] == "^59Co+"
    assert spectrum_peaks(mz, counts)[1]["label"] == "^59Co±"  # polarity not recorded
    assert spectrum_peaks(mz, np.full(mz.size, 5.0)) == []


def test_depth_interfaces_of_noise_free_steps():
    t = np.arange(0, 1000, 2.0)
    step = lambda c, s: 0.5 * (1 + erf((t - c) / (np.sqrt(2) * s)))  # noqa: E731
    a = 100 * (1 - step(300, 10))  # top layer
    b = 100 * step(300, 10) * (1 - step(700, 10))  # middle layer
    c = 60 * (1 - step(700, 10)) + 0.5  # present above 700 s at 60 % of its level, then gone
    d = 80 * step(700, 10) + 0.5  # substrate
    total = a + b + c + d
    prof = make_depth_profile(np.stack([a, b, c, d, total], axis=1), ["A", "B", "C", "D", "total"], sputter_time_s=t)
    ann = depth_interfaces(prof)
    # exact erf steps: the 50 % points are the step centres up to interpolation; `total` is not a marker
    assert [i["position"] for i in ann["interfaces"]] == pytest.approx([300.0, 700.0], abs=0.5)
    assert [i["width"] for i in ann["interfaces"]] == pytest.approx([20.0, 20.0], abs=1.0)  # 16-84 % = 2σ
    assert [lay["name"] for lay in ann["layers"]] == ["A", "B", "D"]
    assert all("total" not in i["species"] for i in ann["interfaces"])
    assert ann["unit"] == "s" and ann["axis"] == "sputter_time"


def test_depth_interfaces_of_a_flat_profile_is_empty():
    prof = make_depth_profile(np.ones((50, 2)), ["A", "B"], sputter_time_s=np.arange(50.0))
    assert depth_interfaces(prof)["interfaces"] == []


def test_operando_curve_without_coordinates():
    import xarray as xr

    from ionscope.model.arrays import coord, labelled

    da = labelled(np.zeros((3, 2, 2, 1)), "operando",
                  coords={"voltage": coord("state", [3.0, 3.5, 4.0], "V"), "peak": xr.Variable("peak", ["Li"])})
    curve = operando_curve(da)
    assert curve["voltage"] == [3.0, 3.5, 4.0] and curve["time"] is None and curve["units"] == {"voltage": "V"}


def test_make_spectrum_sample_matches_known_masses():
    from ionscope.synth.viewer_samples import spectrum_sample

    sp, truth = spectrum_sample(seed=2)
    assert sp.attrs["kind"] == "spectrum" and sp.coords["mz"].attrs["units"] == "m/z"
    assert sp.attrs["acquisition"]["polarity"] == "positive"
    found = spectrum_peaks(sp.mz.values, sp.values, polarity="positive")
    assert len(found) == len(truth.truth["peaks"])  # no noise peak
    for species, mz in truth.truth["peaks"].items():
        nearest = min(found, key=lambda p: abs(p["mz"] - mz))
        assert nearest["mz"] == pytest.approx(mz, abs=0.011)  # two 0.005-wide bins
        assert species in nearest["candidates"] or species == "^48Ti+" and nearest["label"] == "Ti+"
