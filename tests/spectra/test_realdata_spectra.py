"""Real IONTOF spectra (Laurent et al., Anal. Chem. 2024; MIT licence; ../shared/data/iontof_spectra)."""

from functools import cache

import pytest

import ionscope
from ionscope.library.isotopes import diagnostic_elements
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
# Pt+ in positive polarity on the ternary sample is not separable from the background at m/z 193–199
# (200-channel binning: 0.17 m/z bins at m/z 195). Evidence (docs/architecture.md, "ionscope.spectra"):
# * window NNLS (elements=["Ru", "Pt", "Pd"]): Pt+ = 3,646 ± 1,020 counts (3.6σ) on Ru–Pt–Pd against
#   3,390 ± 868 (3.9σ) on the Pt-free Ru–Pd, 4,901 ± 1,803 on Ru, 12,376 ± 2,590 (4.8σ) on Ru–Pt;
# * background contrast (SpeciesFit.contrast): Pt+ 0.0σ on Ru–Pt–Pd and on Ru–Pd, 3.0σ on Ru–Pt; the
#   same local model fitted without the non-negativity constraint gives Pt+ = −420 ± 478 counts on
#   Ru–Pt–Pd (42 ± 840 on Ru–Pd, 5,646 ± 1,880 on Ru–Pt): no Pt+ above the local background;
# * Pt-bearing clusters (forms PtH+, PtC+, PtRu+, PtPd+, Pt2+, Pt2O+, PtRu2+): none passes; PtRu+
#   reaches 4.9σ on Ru–Pt–Pd but also 3.7σ on the Pt-free Ru sample (Ru3+ at the same masses) and
#   has contrast 1.9σ;
# * bin-level fit of m/z 186–216 (Gaussian peaks at exact masses, R = 2000; every CxHyOz ion with
#   z ≤ 2 at each nominal mass as free background; Ru2+, RuPd+, Pd2+, Bi+, PtO+, PtH+; calibration
#   shift scanned ±0.06 m/z): Pt+ = 161 counts (0.5σ after scaling by χ²/dof = 21) on Ru–Pt–Pd,
#   628 (2.4σ) on Ru–Pd, 5,536 (5.1σ) on Ru–Pt — mass defect separates nothing here;
# * raw counts in the bins holding the exact Pt masses on Ru–Pt–Pd, m/z 193…199: 1165, 698, 820, 546,
#   636, 422, 499 — m/z 193 (no Pt isotope) exceeds 194–196, no Pt pattern (2,300 Pt+ counts would add
#   ~760 at 194); the background there has a negative mass defect like Pt (Ru-bearing cluster ions,
#   Ru2+ at 200–208), so neither mass defect nor organic-series modelling removes it;
# * detection limit at this binning: 4.5 × 478 ≈ 2,200 Pt+ counts over the local background
#   (contrast test); the window fit alone (σ ≈ 1,000 counts, Pt-free background equivalent up to
#   3,400–4,900 counts) needs ≈ 8,000 counts to tell Ru–Pt–Pd from Ru–Pd. On a synthetic organic
#   series at the same binning (tests/spectra/test_assign_elements.py) 1e4 Pt+ counts are found.
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
@pytest.mark.parametrize("name", sorted(n for n in EXPECTED if "HEA19" not in n))
def test_auto_screening_reports_only_elements_the_sample_can_hold(name):
    # auto screens ~30 elements; without the background-contrast test these spectra give Gd+, DyO+,
    # HgO+, PtO2+, ErO-, YbO2- … at 5–11σ (organic and metal-cluster ions at the same nominal masses)
    spec, cal = _load(name)
    pol = spec.attrs["acquisition"]["polarity"]
    found = set(elements_present(identify_elements(apply_calibration(spec, cal), polarity=pol, elements="auto")))
    assert found <= EXPECTED[name], (name, found)
    if name.startswith("P_"):
        assert "Ru" in found, name


@pytest.mark.realdata
def test_auto_screening_finds_ru_on_the_alloy_once_rh_is_fitted():
    # HEA19's Rh+ (m/z 103, monoisotopic, inside the Ru pattern) is fitted as a nuisance in auto mode;
    # without it the local background of Ru+ is spoilt (contrast 1.3σ) and Ru is missed
    spec, cal = _load("P_HEA19_Bi1_1.txt")
    cal_spec = apply_calibration(spec, cal)
    fits = identify_elements(cal_spec, polarity="positive", elements="auto")
    assert "Ru" in elements_present(fits)
    assert not any(f.present for f in fits if f.formula.startswith(("Rh", "Au")))  # no pattern, never reported
    plain = identify_elements(cal_spec, polarity="positive", elements=diagnostic_elements(), contrast=True)
    assert "Ru" not in elements_present(plain)
