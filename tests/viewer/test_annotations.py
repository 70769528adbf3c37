"""The annotation adapter's internal methods: peak labels, depth interfaces, the cycling curve."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import erf

from ionscope.model.arrays import make_depth_profile
from ionscope.viewer.annotations import depth_interfaces, operando_curve, peak_labels, spectrum_peaks


def test_peak_labels_prefer_the_data_names_then_the_table():
    assert peak_labels([7.016, 57.93], names=["Li", "Ni"]) == ["Li", "Ni"]
    assert peak_labels([7.016, 57.935, 123.456]) == ["^7Li+", "^58Ni+", "m/z 123.46"]
    assert peak_labels([7.2]) == ["m/z 7.20"]  # 0.18 m/z away from 7Li: not labelled as it


def test_spectrum_peaks_on_an_exact_spectrum():
    mz = np.arange(1, 100, 0.01)
    counts = 5 + 1000 * np.exp(-0.5 * ((mz - 58.93) / 0.01) ** 2) + 300 * np.exp(-0.5 * ((mz - 27.0) / 0.01) ** 2)
    peaks = spectrum_peaks(mz, counts)
    assert [p["mz"] for p in peaks] == pytest.approx([27.0, 58.93], abs=0.006)
    assert peaks[1]["label"] == "^59Co+"
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
    found = spectrum_peaks(sp.mz.values, sp.values)
    assert len(found) == len(truth.truth["peaks"])  # no noise peak
    for mz in truth.truth["peaks"].values():
        nearest = min(found, key=lambda p: abs(p["mz"] - mz))
        assert nearest["mz"] == pytest.approx(mz, abs=0.011)  # two 0.005-wide bins
        assert not nearest["label"].startswith("m/z")  # named from the marker library
