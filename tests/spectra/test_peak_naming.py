"""`spectrum peaks` names a peak by the identified ion whose fitted counts explain it (ionscope.spectra.naming)."""

import json

import numpy as np
import pytest

from ionscope.library.isotopes import element
from ionscope.spectra.naming import _likeliest_isotopologue

from ..conftest import shared_data

#: A negative surface of adventitious carbon, oxygen and chlorine, as on every negative export.
SURFACE = {"H-": 2e4, "C-": 3e4, "CH-": 2e4, "O-": 2e5, "OH-": 1.5e5, "C2-": 4e4, "C2H-": 6e4, "CN-": 2e4,
           "Cl-": 1e4, "CHO2-": 1e4, "C2H3O2-": 8e3, "C3H3O2-": 3e3, "CO3-": 5e3, "C4H-": 4e3}


def test_the_likeliest_isotopologue_weighs_every_atom():
    """At m/z 171, ¹⁰⁴Ru³⁵Cl (0.186 · 0.758 = 0.141) outweighs ¹⁰²Ru³⁷Cl (0.316 · 0.242 = 0.076); a one-isotope
    element and the main isotope of one holding ≥ 90 % are written bare, the metal of several isotopes not."""
    ru, cl = element("Ru"), element("Cl")
    share = dict(zip(ru.mass_numbers, ru.abundances)), dict(zip(cl.mass_numbers, cl.abundances))
    assert share[0][104] * share[1][35] > share[0][102] * share[1][37]
    assert _likeliest_isotopologue("RuO2Cl-", frozenset({"Ru"}), 170.9) == "^104RuO2Cl-"
    assert _likeliest_isotopologue("RuO2Cl-", frozenset({"Ru"}), 168.9) == "^102RuO2Cl-"
    assert _likeliest_isotopologue("RhCl2-", frozenset({"Rh"}), 174.8) == "Rh^37ClCl-"
    assert _likeliest_isotopologue("Li2O+", frozenset({"Li"}), 29.0) == "^6LiLiO+"
    assert _likeliest_isotopologue("Li2O+", frozenset({"Li"}), 30.0) == "Li2O+"
    assert _likeliest_isotopologue("RuO2-", frozenset({"Ru"}), 300.0) == "RuO2-"  # no isotopologue there


@pytest.mark.parametrize("resolving_power", [1000, 3000])
def test_the_peaks_of_an_identified_oxide_are_named_by_it(cli, tmp_path, resolving_power):
    """RuO⁻, RuO₂⁻ and RuO₃⁻ on a negative surface: every isotopologue holding ≥ 10 % of its ion is named by it
    (¹⁰¹RuO₂⁻), not by an atomic ion of one mass that agrees in mass alone (¹³³Cs⁻, ¹³⁴Ba⁻, ¹⁵⁰Sm⁻), and its mass
    error agrees with zero within its uncertainty."""
    from ionscope.synth.spectra import tof_spectrum

    oxides = {"RuO-": 3e4, "RuO2-": 1e5, "RuO3-": 6e4}
    spec, _ = tof_spectrum({**SURFACE, **oxides}, polarity="negative", resolving_power=resolving_power, shots=None,
                           seed=0)
    path = tmp_path / "N_ru.npz"
    np.savez(path, mz=spec.mz.values, counts=spec.values, channel=spec.channel.values)
    code, out, err = cli("spectrum", "peaks", path, "--json")
    assert code == 0, err
    named = {round(p["mz"]["value"]): p["ion"] for p in json.loads(out)["results"]["peaks"] if p["ion"]}
    ru = element("Ru")
    for ion in oxides:
        n_oxygen = int(ion[3]) if ion[3].isdigit() else 1
        for a, share in zip(ru.mass_numbers, ru.abundances):
            if share < 0.10:
                continue
            nominal = int(a) + 16 * n_oxygen
            expected = f"^{a}{ion}"
            assert named[nominal]["formula"] == expected, (nominal, named[nominal])
            error = named[nominal]["error"]
            assert abs(error["value"]) < 4 * error["uncertainty"], (expected, error)
            assert named[nominal]["mass_agrees"] == (abs(error["value"]) <= 3 * error["uncertainty"])


@pytest.mark.parametrize("name, mz, ion", [
    ("N_Ru_Bi1_1.txt", 133.9, "^102RuO2-"), ("N_Ru-Pt_Bi1_1.txt", 133.9, "^102RuO2-"),
    ("N_Ru-Ir_Bi1_1.txt", 133.9, "^102RuO2-"), ("N_Ru-Ir_Bi1_1.txt", 225.0, "^193IrO2-"),
    ("N_Ru-Pd_Bi1_1.txt", 175.8, "^106PdCl2-"), ("N_Ru-Rh_Bi1_1.txt", 172.8, "RhCl2-"),
])
def test_real_negative_exports_name_their_metal_ions(cli, name, mz, ion):
    """On the real negative exports (Laurent et al., Anal. Chem. 2024) the strongest ions of the alloy's metals
    carry their names; m/z 133.9 had been ¹³⁴Ba⁻, 175.8 ¹⁷⁶Yb⁻ or unnamed, 225.0 unnamed."""
    path = shared_data("iontof_spectra", name)
    code, out, err = cli("spectrum", "peaks", path, "--json")
    assert code == 0, err
    peaks = json.loads(out)["results"]["peaks"]
    peak = min(peaks, key=lambda p: abs(p["mz"]["value"] - mz))
    assert abs(peak["mz"]["value"] - mz) < 0.2 and peak["ion"]["formula"] == ion, peak


def test_the_atomic_ion_of_a_minor_isotope_needs_its_main_isotope():
    """¹¹³In⁺ (4.3 % of indium) on a peak beside one no higher at m/z 115, where ¹¹⁵In⁺ would hold 22 times its
    counts, is no name (the RuOH⁺/RuO⁺ ions of a Ru alloy had been ¹¹³In⁺, ¹¹⁴Cd⁺ …); ¹¹⁵In⁺ is, and ³⁷Cl⁻ beside
    the spectrum's strongest peak, ³⁵Cl⁻, whose counts saturation caps, is too."""
    from ionscope.spectra.naming import _main_isotope_missing

    mz, area = np.array([34.97, 36.97, 112.90, 114.94]), np.array([4.6e6, 3.3e6, 13925.0, 14639.0])
    assert _main_isotope_missing("^113In+", 2, mz, area) and not _main_isotope_missing("^115In+", 3, mz, area)
    assert not _main_isotope_missing("^37Cl-", 1, mz, area) and not _main_isotope_missing("C3H-", 1, mz, area)
    weak = np.array([4.6e6, 3.3e6, 13925.0, 306e3])  # ¹¹⁵In⁺ at 22 times: ¹¹³In⁺ is a name
    assert not _main_isotope_missing("^113In+", 2, mz, weak)


@pytest.mark.parametrize("name, absent", [("P_Ru-Pt_Bi1_1.txt", {"Cd", "Sn", "Te"}),
                                          ("P_Ru-Ir_Bi1_1.txt", {"Pd"})])
def test_no_peak_of_a_real_export_is_named_by_an_element_identification_rejects(cli, name, absent):
    """Elements of a diagnostic pattern that the identification tested and did not find name no peak: the
    RuO⁺/RuOH⁺ ions at m/z 112–121 of Ru–Pt had been ¹¹³Cd⁺, ¹¹⁴Cd⁺, ¹¹⁶Sn⁺ … ¹²⁵Te⁺, and Ru–Ir's m/z 105 ¹⁰⁵Pd⁺."""
    import re

    code, out, err = cli("spectrum", "peaks", shared_data("iontof_spectra", name), "--json")
    assert code == 0, err
    named = [p["ion"]["formula"] for p in json.loads(out)["results"]["peaks"] if p["ion"]]
    assert not [f for f in named if set(re.findall(r"[A-Z][a-z]?", re.sub(r"\^\d+", "", f))) & absent], named
