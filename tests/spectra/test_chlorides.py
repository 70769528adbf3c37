"""Chloride forms and the primary-ion nuisance in the joint window fit (synthetic spectra with known truth)."""

import pytest

from ionscope.spectra import apply_calibration, auto_calibrate, identify_elements
from ionscope.synth.spectra import tof_spectrum

BASE = {"H-": 3e4, "C-": 2e4, "CH-": 1e4, "O-": 8e4, "OH-": 6e4, "C2-": 3e4, "C2H-": 4e4, "C3-": 1e4,
        "C4H-": 5e3, "PO2-": 4e3, "PO3-": 6e3}
METALS = {"PdCl2-": 8e3, "PdCl3-": 3e3, "RuO2-": 6e3, "RuO3-": 4e3}


def _spectrum(ions: dict, seed: int):
    spec, _ = tof_spectrum(ions, n_channels=120_000, polarity="negative", seed=seed)
    return apply_calibration(spec, auto_calibrate(spec))


@pytest.fixture(scope="module")
def chlorinated():
    return _spectrum({**BASE, "Cl-": 5e4, **METALS}, seed=7)


def test_palladium_seen_only_as_chloro_anions_is_found_when_chlorine_is_there(chlorinated):
    res = identify_elements(chlorinated, polarity="negative", elements=["Ru", "Pd"])
    by = {f.formula: f for f in res}
    assert res.chlorides and "Pd" in res.present().keys() and "Ru" in res.present().keys()
    assert by["PdCl2-"].present and by["PdCl2-"].intensity == pytest.approx(8e3, rel=0.15)
    without = identify_elements(chlorinated, polarity="negative", elements=["Ru", "Pd"], chlorides=False)
    assert not without.chlorides and "Pd" not in without.present().keys()  # no oxide anion of Pd there


def test_no_chloride_forms_without_chlorine(chlorinated):
    clean = _spectrum({**BASE, "RuO2-": 6e3, "RuO3-": 4e3}, seed=8)
    for elements in (["Ru", "Pd"], "auto"):
        res = identify_elements(clean, polarity="negative", elements=elements)
        assert not res.chlorides and not any("Cl" in f.formula and f.element != "Cl" for f in res), elements
    off = identify_elements(chlorinated, polarity="negative", elements="auto", chlorides=False)
    assert not off.chlorides and not any("Cl" in f.formula and f.element != "Cl" for f in off)
    assert "Pd" not in off.present().keys()  # its oxide anions are not in the spectrum
    oxides = identify_elements(chlorinated, polarity="negative", elements="auto", forms=["{E}O2", "{E}O3"])
    assert not oxides.chlorides and not any("Cl" in f.formula and f.element != "Cl" for f in oxides)  # forms asked


def test_auto_mode_finds_a_metal_seen_only_as_chloro_anions(chlorinated):
    # the first stage (no chlorides) finds Ru by its oxide anions; the chloro-complex stage tests the
    # chloride-forming metals it did not find by MCl₂⁻/MCl₃⁻ against Ru's oxide and chloride ions
    res = identify_elements(chlorinated, polarity="negative", elements="auto")
    by = {f.formula: f for f in res}
    assert res.chlorides and set(res.present().keys()) == {"Ru", "Pd", "Cl"}  # Cl⁻ resolved: chlorine too
    assert by["PdCl2-"].present and by["PdCl2-"].intensity == pytest.approx(8e3, rel=0.15)
    assert by["PdCl3-"].intensity == pytest.approx(3e3, rel=0.25)
    assert not any(f.present for f in res if "Cl" in f.formula and f.element not in ("Pd", "Cl"))
    # the elements found are reported from the confirmation fit: named mode's model for them plus all their
    # dimer ions (Ru₂⁻, RuPd⁻, Pd₂⁻ at m/z 192–220, none in this spectrum), so named mode's numbers
    named = {f.formula: f for f in identify_elements(chlorinated, polarity="negative", elements=["Ru", "Pd"])}
    for f in res:
        if f.element in ("Ru", "Pd") and f.intensity > 10 * f.uncertainty:
            assert f.intensity == pytest.approx(named[f.formula].intensity, rel=0.01), f.formula


def test_chloro_complex_ions_are_the_binary_chlorides_of_soft_metals():
    from ionscope.spectra.elements import _chloro_complex_metals, _chloro_complex_pairs

    metals = _chloro_complex_metals()
    assert {"Pd", "Pt", "Ru", "Hg"} <= set(metals) and not {"Dy", "Sr", "Ba", "Rh", "Ir"} & set(metals)
    assert _chloro_complex_pairs(["Pd", "Dy"], "negative", 1000.0) == [("PdCl2-", "Pd"), ("PdCl3-", "Pd")]
    assert _chloro_complex_pairs(["Pd"], "positive", 1000.0) == [("PdCl+", "Pd"), ("PdCl2+", "Pd")]
    assert _chloro_complex_pairs(["Pd"], "negative", 150.0) == []  # beyond the m/z range


def test_primary_ion_species_are_fitted_but_never_reported(chlorinated):
    spec = _spectrum({**BASE, "Cl-": 5e4, **METALS, "Bi-": 2e4, "BiO2-": 5e3}, seed=9)
    res = identify_elements(spec, polarity="negative", elements=["Ru", "Pd"], primary_ion="Bi3+")
    bi = {f.formula: f for f in res if f.element == "Bi"}
    assert res.nuisance == ("Bi",) and {"Bi-", "BiO2-"} <= set(bi)
    assert not any(f.present for f in bi.values()) and "Bi" not in res.present().keys()
    assert bi["Bi-"].intensity == pytest.approx(2e4, rel=0.1)
    named = identify_elements(spec, polarity="negative", elements=["Ru", "Bi"], primary_ion="Bi3+")
    assert named.nuisance == () and "Bi" in named.present().keys()  # named: tested like any element


def test_primary_ion_from_the_file_name():
    from ionscope.spectra.pipeline import primary_ion_from_name

    assert primary_ion_from_name("P_Ru_Bi5_1.txt") == "Bi5+" and primary_ion_from_name("N_Ru-Pt_Bi1_1.txt") == "Bi+"
    assert primary_ion_from_name("sample-Au3.txt") == "Au3+"
    assert primary_ion_from_name("N_Ru-Ir_Bi3++_1.txt") == "Bi3++"  # a doubly charged cluster: still Bi
    assert primary_ion_from_name("N_Ru-Ir_Bi3+_1.txt") == "Bi3+"
    assert primary_ion_from_name("GaN_film.txt") is None and primary_ion_from_name("Bismuth_2.txt") is None


def test_confirmation_drops_an_element_the_elements_found_explain_without_it(chlorinated):
    from dataclasses import replace

    from ionscope.spectra.elements import _confirmation
    from ionscope.spectra.identification import IdentifyParameters
    from ionscope.spectra.windowfit import _prepare

    res = identify_elements(chlorinated, polarity="negative", elements="auto")
    assert {f.element for f in res if "not confirmed" in f.failed} == set()  # Ru and Pd stand alone
    # a screening record of an absent element marked present (as DyO₂⁻ on the masses of Pt⁻ in real
    # spectra) fails the refit of the elements found, where its ions hold no counts of their own
    fake = next(f for f in res if f.formula == "DyO2-")
    fits = [replace(fake, present=True, failed=())] + [f for f in res if f is not fake]
    params = IdentifyParameters()
    again = _confirmation(fits, "negative", params, _prepare(chlorinated, None, params), (), True)
    dy = next(f for f in again if f.formula == "DyO2-")
    assert not dy.present and dy.failed == ("not confirmed",)
    assert {f.element for f in again if f.present} - {"Cl"} == {"Ru", "Pd"}


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_chloro_complex_stage_reports_nothing_where_no_metal_chloride_is(seed):
    # chlorine and Ru oxide anions, no chloro-complex ion: the ~20 chloro-complex tests of the auto run
    # (Bonferroni over all its stages) must not turn Poisson noise into a metal
    spec = _spectrum({**BASE, "Cl-": 5e4, "RuO2-": 6e3, "RuO3-": 4e3}, seed=seed)
    res = identify_elements(spec, polarity="negative", elements="auto")
    assert res.chlorides and set(res.present().keys()) == {"Ru", "Cl"}  # Cl⁻ resolved: chlorine too
    assert any(f.formula == "PdCl2-" for f in res)  # tested, not found


def test_oxychloride_ions_are_tested_only_when_asked():
    from ionscope.spectra.elements import _chloro_complex_pairs

    both = _chloro_complex_pairs(["Ru"], "negative", 1000.0, oxychlorides=True)
    assert {"RuCl2-", "RuCl3-", "RuOCl-", "RuOCl2-", "RuO2Cl-"} <= {f for f, _ in both}
    assert {f for f, _ in _chloro_complex_pairs(["Ru"], "negative", 1000.0)} == {"RuCl2-", "RuCl3-"}


def test_oxide_pattern_seen_means_only_the_contrast_test_failed(chlorinated):
    from dataclasses import replace

    from ionscope.spectra.elements import _oxide_pattern_seen

    res = list(identify_elements(chlorinated, polarity="negative", elements="auto"))
    sn, te = (next(f for f in res if f.formula == name) for name in ("SnO2-", "TeO2-"))
    fits = res + [replace(sn, present=False, failed=("contrast",)),
                  replace(te, present=False, failed=("pattern", "contrast"))]
    assert _oxide_pattern_seen(fits) == {"Sn"}  # Te's pattern is not seen; Ru and Pd are found
    ru_found = replace(next(f for f in res if f.formula == "RuO-"), present=False, failed=("contrast",))
    assert "Ru" not in _oxide_pattern_seen(res + [ru_found])


def test_a_metal_seen_as_oxychloride_anions_is_found_in_the_second_chloride_round():
    # RuO₂Cl⁻ without any binary chloro-complex ion: the first round (MCl₂⁻, MCl₃⁻) finds nothing; the
    # second, for a metal whose oxide pattern was seen, tests its oxychloride ions and recovers the truth
    from ionscope.spectra.elements import _chloro_complex_stage
    from ionscope.spectra.identification import IdentifyParameters
    from ionscope.spectra.windowfit import _prepare

    spec = _spectrum({**BASE, "Cl-": 5e4, "RuO2Cl-": 8e3}, seed=21)
    params = IdentifyParameters(min_significance=4.3)
    data = _prepare(spec, None, params)
    first = _chloro_complex_stage([], "negative", params, data, ())
    assert not any(f.present for f in first)
    second = _chloro_complex_stage(first, "negative", params, data, (), frozenset({"Ru"}))
    assert {f.element for f in second if f.present} == {"Ru"}
    ru = {f.formula: f for f in second if f.element == "Ru"}
    assert ru["RuO2Cl-"].present and ru["RuO2Cl-"].intensity == pytest.approx(8e3, rel=0.1)
    assert len(second) == len({f.formula for f in second})  # the retested ions replace their first records
