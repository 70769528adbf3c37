"""Interference species in the joint window fit: RuH⁺ on ¹⁰³Rh⁺ (synthetic spectra with known truth)."""

import pytest

from ionscope.model import ValidationError
from ionscope.spectra import apply_calibration, auto_calibrate, identify_elements
from ionscope.spectra.forms import _candidate_pairs, _deciding_interferences, _interference_species
from ionscope.spectra.identification import IdentifyParameters
from ionscope.synth.spectra import tof_spectrum

BASE = {"H+": 3e4, "C+": 2e4, "CH3+": 4e4, "Na+": 6e4, "C2H3+": 5e4, "K+": 2e4, "C3H5+": 3e4, "C7H7+": 5e3}
RU = {"Ru+": 4e4, "RuH+": 1.2e4}  # ¹⁰²Ru¹H⁺ (m/z 102.912) on ¹⁰³Rh⁺ (102.905): one bin apart at most


def _spectrum(ions: dict, seed: int):
    spec, _ = tof_spectrum(ions, n_channels=100_000, seed=seed)
    return apply_calibration(spec, auto_calibrate(spec))


@pytest.fixture(scope="module")
def ru_only():
    return _spectrum({**BASE, **RU}, seed=3)


@pytest.fixture(scope="module")
def ru_rh():
    return _spectrum({**BASE, **RU, "Rh+": 3e3}, seed=3)


def _by_formula(spec, **options):
    return {f.formula: f for f in identify_elements(spec, polarity="positive", elements=["Ru", "Rh"], **options)}


def test_ru_hydride_is_not_taken_for_rhodium(ru_only):
    by = _by_formula(ru_only)
    assert by["Ru+"].present and not by["Rh+"].present
    assert by["RuH+"].interference and not by["RuH+"].present
    assert by["RuH+"].intensity == pytest.approx(RU["RuH+"], rel=0.15)
    # without the interference model the RuH⁺ counts at m/z 103 are all credited to Rh⁺
    assert _by_formula(ru_only, interferences=False)["Rh+"].intensity > 5 * max(by["Rh+"].intensity, 1.0)


def test_rhodium_under_the_ru_hydride_is_found_with_its_own_share(ru_rh):
    rh = _by_formula(ru_rh)["Rh+"]
    assert rh.present
    assert rh.intensity == pytest.approx(3e3, rel=0.3)
    # credited with the RuH⁺ counts as well, Rh⁺ would come out about three times too large
    assert _by_formula(ru_rh, interferences=False)["Rh+"].intensity > 1.8 * 3e3


def test_deciding_interferences_land_on_one_or_two_isotope_forms_of_another_element():
    els = ["Ru", "Rh", "Pt"]
    forms = [(f, frozenset((e,)), e) for f, e in _candidate_pairs(els, "positive")]
    chosen = {f for f, _, _ in _deciding_interferences(forms, _interference_species(els, "positive"))}
    assert {"RuH+", "RuOH+"} <= chosen   # on Rh⁺, RhO⁺
    assert "RuO2H+" not in chosen  # RhO₂⁺ is not a form: Rh oxides reach valence 4 < 5 (fragment rule)
    assert "PtH+" not in chosen and "Pt2+" not in chosen  # lands on no one- or two-isotope form
    assert ("RuPt+", frozenset({"Ru", "Pt"})) in _interference_species(["Ru", "Pt"], "positive")


def test_hydrides_of_the_matrix_oxychlorides_decide_the_minor_metals_oxychlorides():
    # ¹⁰²RuO₂³⁵ClH⁻ (m/z 170) lies on ¹⁰³RhO₂³⁵Cl⁻: where chlorides are fitted, so are their hydrides
    els = ["Ru", "Rh"]
    forms = [(f, frozenset((e,)), e) for f, e in _candidate_pairs(els, "negative", chlorides=True)]
    with_cl = {f for f, _, _ in _deciding_interferences(forms, _interference_species(els, "negative", chlorides=True))}
    assert "RuO2ClH-" in with_cl
    assert "RuO2ClH-" not in {f for f, _ in _interference_species(els, "negative")}


def test_identification_options_are_validated():
    assert IdentifyParameters.from_options(min_match=0.8).min_match == 0.8
    assert IdentifyParameters.from_options(forms=["{E}"]).forms == ("{E}",)
    with pytest.raises(ValidationError, match="unknown identification option"):
        IdentifyParameters.from_options(min_matsh=0.8)


def test_auto_mode_tests_rhodium_against_the_elements_found(ru_only, ru_rh):
    # second auto stage: Rh is a candidate, decided against Ru (found by its pattern) and RuH⁺
    auto = identify_elements(ru_rh, polarity="positive", elements="auto")
    assert {"Ru", "Rh", "Ir"} <= set(auto.candidates)
    assert "Rh" in auto.present().keys() and "Ru" in auto.present().keys()
    rh = next(f for f in auto if f.formula == "Rh+")
    assert rh.intensity == pytest.approx(3e3, rel=0.3)
    assert "Rh" not in identify_elements(ru_only, polarity="positive", elements="auto").present().keys()


def test_auto_mode_below_the_mass_of_rhodium_still_works():
    # no Rh or Ir ion inside the m/z range: no second stage (it used to raise "no candidate species")
    spec = _spectrum({**BASE, "Zn+": 2e4}, seed=3)
    low = spec.where(spec.coords["mz"] < 90, drop=True)
    found = identify_elements(low, polarity="positive", elements="auto")
    assert set(found.present().keys()) == {"Zn", "Na", "K"} and "Ir" not in found.candidates
