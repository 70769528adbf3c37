"""Auto mode on one- and two-isotope metals: found where the spectrum resolves their ions from the molecular
continuum, not where it cannot (ground truth from :mod:`ionscope.synth.spectra`)."""

import math
import re

import numpy as np
import pytest

from ionscope.spectra.continuum import (
    isotopologue_counts,
    isotopologue_ions,
    mass_defect_gap,
    molecular_ion_masses,
    outside_molecular_continuum,
    resolved_from_molecular_ions,
)
from ionscope.spectra.pipeline import identify_file
from ionscope.synth.spectra import tof_spectrum

ORGANICS = {"H+": 3e4, "C+": 2e4, "CH3+": 4e4, "C2H3+": 5e4, "C2H5+": 3e4, "C3H5+": 3e4, "C4H7+": 1e4,
            "C7H7+": 5e3, "C3H7O+": 8e3, "C2H3O+": 2e4, "C4H9+": 1.5e4, "C5H9+": 6e3}
#: a lithium-ion cathode (Li, Ni, Mn, Co oxide) with sodium: the metals' atomic and oxide ions
CATHODE = {"Li+": 2e5, "Li2O+": 8e3, "Ni+": 3e4, "NiO+": 5e3, "Mn+": 1.2e4, "MnO+": 2e3, "Co+": 1e4, "CoO+": 1.5e3,
           "Na+": 2e4}


def _identified(species, tmp_path, resolving_power=10000.0, seed=0, n_channels=400_000, binning=1):
    """``spectrum identify`` (auto mode) of a simulated spectrum saved as an archive of m/z, counts and channels,
    as a user runs it."""
    spec, _ = tof_spectrum(species, n_channels=n_channels, resolving_power=resolving_power, shots=None, seed=seed)
    if binning > 1:  # an export that sums `binning` TOF channels a row, as IONTOF's 200-channel exports
        spec = spec.coarsen(mz=binning, boundary="trim").sum()  # m/z and channel: the bins' means
    path = tmp_path / f"P_sim_{seed}.npz"
    np.savez(path, mz=spec.mz.values, counts=spec.values, channel=spec.channel.values)
    res = identify_file(path, elements="auto")
    return {r["element"]: r for r in res["elements"] if r["detected"]}, res


def test_molecular_ions_of_a_nominal_mass():
    masses = molecular_ion_masses(59)
    for neutral in (59.0133, 59.0497, 59.0007):  # C₂H₃O₂, C₃H₇O, CHNO₂
        assert np.min(np.abs(masses - neutral)) < 1e-3
    assert molecular_ion_masses(7).size == 0 and outside_molecular_continuum(np.array([6.015, 7.016]))
    assert np.min(np.abs(molecular_ion_masses(73) - 73.0474)) < 1e-3  # SiC₃H₉⁺ of polydimethylsiloxane
    # Co⁺ 58.933 lies 0.044 u from the nearest: resolved (two FWHM apart) from m/Δm 2 700 (FWHM 0.022 u at
    # m/Δm 4000), not in the 0.09 u bins of a 200-channel export
    gap = mass_defect_gap(58.9326)
    assert 0.03 < gap < 0.07
    def only_co(mz):  # 10⁴ counts of Co⁺, none at the molecular ions whose isotopologues lie near it
        return np.where(np.abs(np.asarray(mz) - 58.9326) < 1e-3, 1e4, 0.0)

    assert resolved_from_molecular_ions([58.9326], [58.9326 / 8000], counts=only_co)
    assert not resolved_from_molecular_ions([58.9326], [58.9326 / 4000]) and not resolved_from_molecular_ions(
        [58.9326], [0.09])



def test_no_molecular_anion_is_a_hydride_adduct_of_a_saturated_molecule():
    """H₃O⁺, NH₄⁺ and H₃S⁺ (rings-plus-double-bonds −½) are cations of the continuum; H₃O⁻ and H₃S⁻ would hold an
    electron in an antibonding orbital: no molecular anion has nominal mass 19, and at 35 Cl⁻ (34.969) has none
    within 0.05 u."""
    assert np.min(np.abs(molecular_ion_masses(19, 1) - 19.0184)) < 1e-3 and molecular_ion_masses(19, -1).size == 0
    assert np.min(np.abs(molecular_ion_masses(35, 1) - 34.9950)) < 1e-3
    assert mass_defect_gap(34.9694, -1) > 0.05 and mass_defect_gap(18.9989, -1) == np.inf
    for n in range(1, 120):  # the anions are the cations less the adducts
        assert set(np.round(molecular_ion_masses(n, -1), 6)) <= set(np.round(molecular_ion_masses(n, 1), 6))


def test_isotopologues_of_molecular_ions_count_as_strongly_as_their_monoisotopic_ions():
    """¹⁸OH⁻ (0.205 % of ¹⁶OH⁻; Meija et al. 2016) lies 0.0086 u from F⁻: at m/Δm 3 000 (FWHM 0.0063 u) the
    tail of its peak reaches a window on F⁻, and how far follows from the OH⁻ counts of the same spectrum."""
    masses, parents, shares = isotopologue_ions(18.99840, 0.02)
    h18o = np.argmin(np.abs(masses - (17.99916 + 1.00783)))
    assert abs(parents[h18o] - 17.00274) < 1e-4 and abs(shares[h18o] - 0.00205 / 0.99757) < 1e-5
    f_minus, half = 18.99840 + 5.486e-4, 19.0 / 6000  # F⁻ ion, window ± FWHM/2 at m/Δm 3 000
    assert mass_defect_gap(f_minus, -1) > 4 * half  # H₃O is resolved, so only the isotopologue decides

    def spectrum(oh: float, f: float):
        return lambda mz: np.where(np.abs(mz - 17.0033) < 0.01, oh, np.where(np.abs(mz - f_minus) < 0.01, f, 0.0))

    sigma, offset = 2 * half / 2.354820045, masses[h18o] - 18.99840
    scale = sigma * math.sqrt(2)
    in_window = 0.5 * (math.erf((half - offset) / scale) - math.erf((-half - offset) / scale))
    expected = 1e6 * shares[h18o] * in_window  # ≈ 45 counts of 2 055 ¹⁸OH⁻
    assert isotopologue_counts(f_minus, half, -1, spectrum(1e6, 1e4)) == pytest.approx(expected, rel=1e-4)
    assert 30 < expected < 60
    assert resolved_from_molecular_ions([f_minus], [half], -1, spectrum(1e6, 1e4))  # 45 ≤ √10⁴
    assert not resolved_from_molecular_ions([f_minus], [half], -1, spectrum(1e6, 1e3))  # 45 > 32
    assert not resolved_from_molecular_ions([f_minus], [half], -1)  # no counts: counted as a molecular ion
    assert resolved_from_molecular_ions([f_minus], [19.0 / 40000], -1)  # two FWHM apart at m/Δm 20 000 (also from ¹⁸OH)


def test_auto_mode_finds_the_metals_of_a_cathode_and_their_intensities(tmp_path):
    found, _ = _identified({**ORGANICS, **CATHODE}, tmp_path)
    assert set(found) == {"Li", "Na", "Ni", "Mn", "Co"}
    truth = {"Li": 2e5, "Na": 2e4, "Ni": 3.5e4, "Mn": 1.4e4, "Co": 1.15e4}  # atomic + oxide ions
    for el, true in truth.items():
        got = found[el]["intensity"]
        # Poisson σ ≈ 1 %; the capture fraction with the estimated resolving power adds up to ~4 % (see
        # test_assign_elements): 4σ + 5 %
        assert abs(got.value - true) < 4 * got.uncertainty + 0.05 * true, (el, got, true)


def test_auto_mode_finds_nickel_from_the_resolving_power_its_ions_need(tmp_path, seed=0):
    """⁵⁸Ni⁺ and ⁶⁰Ni⁺ lie 0.035 u from Si₂H₂⁺ and SiO₂⁺, two FWHM from m/Δm ≈ 3 400 (SiS⁺, 0.019 u from ⁶⁰Ni⁺, had
    demanded 7 800: no contaminant ion holds both Si and S). At m/Δm 4 000, a typical bunched-mode spectrum, the
    cathode's nickel is found with its counts, and none in the organic spectrum with its PDMS ions."""
    pdms = {"SiC3H9+": 1e4, "SiH3O+": 3e3, "Si2C5H15O+": 3e3}
    found, _ = _identified({**ORGANICS, **pdms, **CATHODE}, tmp_path, resolving_power=4000.0, seed=seed)
    got = found["Ni"]["intensity"]
    assert abs(got.value - 3e4) < 4 * got.uncertainty + 0.05 * 3e4, got  # Ni⁺; NiO⁺ unresolved at m/z 74–76
    found, _ = _identified({**ORGANICS, **pdms}, tmp_path, resolving_power=4000.0, seed=seed)
    assert "Ni" not in found, sorted(found)


def test_auto_mode_does_not_test_metals_its_bins_cannot_tell_from_organic_ions(tmp_path):
    # the same sample, 200 channels a bin: Ni⁺, Mn⁺, Co⁺ share their bins with the organic ions of their
    # nominal masses; Li⁺ and Na⁺ lie where no molecular ion can, and the note names the metals not tested
    found, res = _identified({**ORGANICS, **CATHODE}, tmp_path, resolving_power=1500.0, binning=200,
                             n_channels=800_000)
    assert set(found) == {"Li", "Na"}
    note = next(w for w in res.warnings if "not tested here" in w)
    assert all(e in note.split("two-isotope element: ")[1].split(", ") for e in ("Ni", "Mn", "Co"))


def test_an_isobar_of_an_established_metal_is_not_another_element(tmp_path):
    # CoO⁺ 74.928 is As⁺ 74.922: Co, found by Co⁺, holds it; As has no other evidence
    found, _ = _identified({**ORGANICS, "Co+": 5e3, "CoO+": 1.25e3}, tmp_path, seed=1)
    assert set(found) == {"Co"}
    assert abs(found["Co"]["intensity"].value - 6.25e3) < 4 * found["Co"]["intensity"].uncertainty + 0.05 * 6.25e3


def test_an_oxide_ion_alone_is_not_an_element_whose_atomic_ion_is_empty(tmp_path):
    # positive metal ions are led by M⁺: counts at the exact mass of LaO⁺ (154.901) with none at La⁺
    # (138.906) are another ion's; with La⁺ beside them they are lanthanum's (both resolved at m/Δm 20 000)
    found, res = _identified({**ORGANICS, "LaO+": 5e3}, tmp_path, resolving_power=20000.0, n_channels=1_000_000)
    assert not found
    assert res["screened"]["La"]["not_detected_because"] == ["atomic ion"]  # LaO⁺ passed every other test
    found, _ = _identified({**ORGANICS, "LaO+": 5e3, "La+": 2e3}, tmp_path, resolving_power=20000.0,
                           n_channels=1_000_000)
    assert set(found) == {"La"}


def test_auto_mode_finds_fluorine_by_its_resolved_anion_and_makes_none_of_hydroxide(tmp_path):
    """No molecular anion has nominal mass 19 (H₃O⁻ is not bound): F⁻ is resolved from the continuum at any
    resolving power where ¹⁸OH⁻ (19.007, 0.2 % of OH⁻, weighed by the OH⁻ counts) cannot hold more than its
    counting noise — 10⁵ F⁻ beside 3·10⁴ OH⁻ at m/Δm 1 000 (it had failed the contrast test and left fluorine's
    total at −72 %), 5·10⁴ F⁻ beside 5·10⁵ OH⁻ from m/Δm 3 000 — and 10⁶ OH⁻ alone make no fluorine."""
    surface = {"H-": 2e5, "C-": 1e5, "CH-": 1e5, "O-": 3e5, "C2-": 5e4, "C2H-": 8e4, "CN-": 2e4, "CNO-": 1e4,
               "C3H-": 1e4, "C4H-": 8e3}
    cases = [(1000.0, {**surface, "OH-": 3e4, "F-": 1e5}, True), (1000.0, {**surface, "OH-": 1e6}, False)]
    cases += [(r, ions, fluorine) for r in (3000.0, 8000.0)
              for ions, fluorine in (({**surface, "OH-": 5e5, "F-": 5e4}, True), ({**surface, "OH-": 1e6}, False))]
    for resolving_power, ions, fluorine in cases:
        spec, _ = tof_spectrum(ions, n_channels=300_000, resolving_power=resolving_power, shots=None, seed=4)
        path = tmp_path / f"N_{fluorine}_{resolving_power:.0f}.npz"
        np.savez(path, mz=spec.mz.values, counts=spec.values, channel=spec.channel.values)
        rows = {r["element"]: r for r in identify_file(path, elements="auto")["elements"] if r["detected"]}
        assert ("F" in rows) == fluorine, (resolving_power, fluorine, sorted(rows))
        if fluorine:
            got, true = rows["F"]["intensity"], ions["F-"]
            assert abs(got.value - true) < 4 * got.uncertainty + 0.02 * true, got


def test_an_ion_is_resolved_only_as_well_as_the_calibration_places_it():
    """At m/Δm 4 000 F⁻ lies 8 window half-widths from H₃O and 3.6 from ¹⁸OH⁻, whose tail (of 10⁵ OH⁻) puts 0.2
    counts in its window: resolved on an exact axis. On one whose calibration is known to 150 ppm (0.003 u at
    m/z 19) a 3σ shift can put the ¹⁸OH⁻ peak in F⁻'s window: not resolved."""
    f_minus, half = 18.99840 + 5.486e-4, 19.0 / 8000

    def hydroxide(mz):
        return np.where(np.abs(np.asarray(mz) - 17.0033) < 0.01, 1e5, 0.0)

    assert resolved_from_molecular_ions([f_minus], [half], -1, hydroxide)
    assert not resolved_from_molecular_ions([f_minus], [half], -1, hydroxide, position_sigma=19.0 * 150e-6)


def test_auto_mode_says_which_ions_of_a_nonmetal_it_could_not_test(tmp_path):
    """PO₂⁻ and PO₃⁻ lie 0.013 u from HNOS⁻ and HNO₂S⁻, unresolved at m/Δm 6 000 (two FWHM are 0.021 u): auto mode
    tests phosphorus by P⁻ only, and its note says so rather than leave phosphorus looking absent; at m/Δm 10 000
    PO₂⁻ is resolved, and phosphorus is found by it (PO₃⁻, at m/z 79, needs m/Δm 12 000)."""
    ions = {"H-": 2e5, "C-": 1e5, "CH-": 1e5, "O-": 3e5, "OH-": 3e5, "C2-": 5e4, "C2H-": 8e4, "CN-": 2e4,
            "PO2-": 2e4, "PO3-": 2e4}
    for resolving_power, found in ((6000, False), (10000, True)):
        spec, _ = tof_spectrum(ions, n_channels=300_000, resolving_power=resolving_power, shots=None, seed=5)
        path = tmp_path / f"N_phosphate_{resolving_power}.npz"
        np.savez(path, mz=spec.mz.values, counts=spec.values, channel=spec.channel.values)
        res = identify_file(path, elements="auto")
        rows = {r["element"]: r for r in res["elements"] if r["detected"]}
        assert ("P" in rows) == found, (resolving_power, sorted(rows))
        if found:
            assert abs(rows["P"]["intensity"].value - 2e4) < 4 * rows["P"]["intensity"].uncertainty + 400
        else:
            assert any(re.search(r"P \(not [^)]*PO₂⁻, PO₃⁻\)", w) for w in res.warnings), res.warnings


def test_a_metal_counted_by_its_resolved_ions_alone_is_said_to_be_a_lower_bound(tmp_path):
    """At m/Δm 3 000 auto mode tests cobalt by the ion it resolves from the molecular ions (Co⁺), not by CoO⁺
    (at m/Δm 10 000 it counts both): the total then lacks CoO⁺'s counts, and a warning names the forms left out
    and that the total is a lower bound."""
    found, res = _identified({**ORGANICS, **CATHODE}, tmp_path, resolving_power=3000.0)
    assert "Co" in found and found["Co"]["evidence"] == ["Co+"], found.get("Co")
    said = next(w for w in res.warnings if w.startswith("counted by the ions auto mode tells"))
    assert "lower bounds" in said and re.search(r"Co by Co⁺ \(not [^)]*CoO⁺", said), said


NEGATIVE = {"H-": 2e4, "C-": 3e4, "CH-": 2e4, "O-": 2e5, "OH-": 1.5e5, "C2-": 4e4, "C2H-": 6e4, "CN-": 2e4,
            "Cl-": 1e4, "CHO2-": 1e4, "C2H3O2-": 8e3, "C3H3O2-": 3e3, "CO3-": 5e3, "C4H-": 4e3}


def test_an_ion_another_one_isotope_element_can_make_is_no_evidence_of_it(tmp_path):
    """⁷⁵As⁻ (74.922) and ⁵⁹Co¹⁶O⁻ (74.929) are isobars at m/Δm 3 000: a cobalt oxide surface had been reported to
    hold arsenic in auto mode, and, fitted beside a named Co, As took CoO⁻'s counts (Co 25 % low, 22σ). Neither
    As, whose every resolved ion cobalt can make, is reported, and the named cobalt holds its 10⁴ counts."""
    spec, _ = tof_spectrum({**NEGATIVE, "CoO2-": 6e3, "CoO-": 2.5e3, "Co-": 1.5e3}, polarity="negative",
                           resolving_power=3000.0, seed=1, shots=100_000, background=0.5)
    path = tmp_path / "N_cobalt.npz"
    np.savez(path, mz=spec.mz.values, counts=spec.values, channel=spec.channel.values, shots=np.int64(100_000))
    auto = identify_file(path, elements="auto")
    assert "As" not in {r["element"] for r in auto["elements"] if r["detected"]}
    co = identify_file(path, elements=["Co"])["elements"][0]["intensity"]
    assert abs(co.value - 1e4) < 4 * co.uncertainty, co
