"""Real IONTOF spectra (Laurent et al., Anal. Chem. 2024; MIT licence; ../shared/data/iontof_spectra)."""

from functools import cache

import pytest

import ionscope
from ionscope.spectra import apply_calibration, auto_calibrate, calibration_from_axis, identify_elements
from ionscope.spectra.elements import elements_present

from ..conftest import shared_data

# Expected noble metals per file, from the sample names. HEA19 is a multi-element alloy whose
# composition is not in the file name: only Ru is required there.
EXPECTED = {
    "P_Ru_Bi1_1.txt": {"Ru"}, "P_Ru_Bi5_1.txt": {"Ru"}, "N_Ru_Bi1_1.txt": {"Ru"},
    "P_Ru-Pt_Bi1_1.txt": {"Ru", "Pt"}, "N_Ru-Pt_Bi1_1.txt": {"Ru", "Pt"},
    "P_Ru-Pd_Bi1_1.txt": {"Ru", "Pd"},
    "P_Ru-Pt-Pd_Bi1_1.txt": {"Ru", "Pt", "Pd"},
    "P_HEA19_Bi1_1.txt": {"Ru"}, "N_HEA19_Bi1_1.txt": {"Ru"},
}
# Pt+ in positive polarity on the ternary sample gives ~2,300 counts spread over four isotopes, no more
# than the organic background at m/z 194–198 on the Pt-free Ru–Pd sample (same fitted level, z ≈ 4):
# with 200-channel binning (0.17 m/z bins at m/z 195) the patterns cannot tell them apart.
KNOWN_MISSES = {("P_Ru-Pt-Pd_Bi1_1.txt", "Pt")}


@cache  # each file is read and recalibrated once per session
def _load(name):
    spec = ionscope.read(shared_data("iontof_spectra", name), polarity="from-name")
    return spec, auto_calibrate(spec)


@pytest.mark.realdata
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_identification_matches_the_sample_name(name):
    spec, cal = _load(name)
    fits = identify_elements(apply_calibration(spec, cal), polarity=spec.attrs["acquisition"]["polarity"],
                             elements=["Ru", "Pt", "Pd"])
    found = set(elements_present(fits))
    expected = EXPECTED[name]
    required = {e for e in expected if (name, e) not in KNOWN_MISSES}
    assert required <= found, (name, found)
    if not name.startswith(("P_HEA", "N_HEA")):
        assert found <= expected, (name, found)  # no Pt/Pd where the name says there is none


@pytest.mark.realdata
def test_known_miss_is_still_a_miss():
    # documents the limitation above; when identification improves, move the file out of KNOWN_MISSES
    spec, cal = _load("P_Ru-Pt-Pd_Bi1_1.txt")
    fits = identify_elements(apply_calibration(spec, cal), polarity="positive", elements=["Ru", "Pt", "Pd"])
    assert "Pt" not in elements_present(fits)


@pytest.mark.realdata
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_recalibration_residuals_are_within_the_bin_width(name):
    spec, cal = _load(name)
    used = [r for r in cal.references if r["used"]]
    assert len(used) >= 10
    k = cal.params[1]
    for r in used:
        # bin width relative to m: 2·binning/(k·√m); a centroid is good to about one bin
        bin_ppm = 2 * 200 / (k * r["mz_true"] ** 0.5) * 1e6
        assert abs(r["residual_ppm"]) < 1.5 * bin_ppm, (r["ion"], r["residual_ppm"], bin_ppm)
    # the exported calibration agrees with ours to better than one bin (0.12 m/z) at m/z 100
    exported = calibration_from_axis(spec.coords["channel"].values, spec.coords["mz"].values)
    assert abs(exported.mz(cal.tof(100.0)) - 100.0) < 2 * 10 * 200 / k


@pytest.mark.realdata
@pytest.mark.parametrize("name", [n for n in sorted(EXPECTED) if n.startswith("P_")])
def test_auto_screening_finds_ru_in_positive_spectra(name):
    # auto mode screens ~30 elements; it is a screening tool (see ionscope.spectra.elements) and its
    # extra rare-earth/oxide hits on these organic-rich spectra are not asserted on
    spec, cal = _load(name)
    fits = identify_elements(apply_calibration(spec, cal), polarity="positive", elements="auto")
    assert "Ru" in elements_present(fits)
