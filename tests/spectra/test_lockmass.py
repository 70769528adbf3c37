"""Identified ions as lock masses: which isotopologues qualify, and the high-mass offset warning."""

import numpy as np
import pytest

from ionscope.library.patterns import isotope_pattern
from ionscope.spectra.identification import SpeciesFit
from ionscope.spectra.lockmass import LOCK_ABUNDANCE, LOCK_BLEND, LOCK_SIGNIFICANCE, lock_ions


def _fit(formula, element, intensity, z, present=True, interference=False, offset=0.0, mz=None):
    mz = isotope_pattern(formula).base_mz if mz is None else mz
    return SpeciesFit(formula, element, mz, intensity, intensity / z, z, 1.0, 1.0, offset, z, True, present,
                      interference, () if present else ("significance",))


def test_lock_masses_are_the_main_unblended_isotopologues_of_species_found_at_5_sigma():
    fits = [_fit("Ru+", "Ru", 1e5, 40.0),
            _fit("RuH+", "Ru", 4e4, 9.0, interference=True),   # fitted for its counts only, but they count
            _fit("Pt+", "Pt", 1e4, LOCK_SIGNIFICANCE - 0.1),    # found, but below the references' level
            _fit("Pd+", "Pd", 1e4, 8.0, present=False)]         # not found
    locks = lock_ions(fits)
    assert all(label.startswith("Ru+ m/z ") for label, _ in locks)
    # Ru's isotopes ≥ 20 % of ¹⁰²Ru (31.6 %): 99, 100, 101, 102, 104 (⁹⁶Ru 5.5 % and ⁹⁸Ru 1.9 % are minor).
    # RuH⁺ at 40 % of Ru⁺'s counts lands one mass up: ⁹⁹RuH on ¹⁰⁰Ru is 29 % of m/z 100, ¹⁰⁰RuH on ¹⁰¹Ru 23 %
    # of m/z 101 (> LOCK_BLEND); ¹⁰¹RuH on ¹⁰²Ru is 18 %, ⁹⁸RuH on ⁹⁹Ru 6 %, and nothing lands on ¹⁰⁴Ru
    assert LOCK_BLEND == 0.2 and LOCK_ABUNDANCE == 0.2
    assert [round(m) for _, m in locks] == [99, 102, 104]
    assert [m for _, m in locks] == pytest.approx([98.905939, 101.904344, 103.905430], abs=1e-3)


def test_a_blended_isotopologue_is_no_lock_mass():
    # ¹⁰²Pd (1 %) under ¹⁰²Ru, ¹⁰⁴Pd (11 %) and ¹⁰⁴Ru (18.6 %): with as many Pd as Ru counts, m/z 104 is a blend
    fits = [_fit("Ru+", "Ru", 1e5, 40.0), _fit("Pd+", "Pd", 1e5, 40.0)]
    masses = [round(m) for _, m in lock_ions(fits)]
    assert 104 not in masses
    assert {101, 106, 108} <= set(masses)  # ¹⁰¹Ru, ¹⁰⁶Pd, ¹⁰⁸Pd stand alone


def test_no_species_found_means_no_lock_mass():
    assert lock_ions([]) == []
    assert lock_ions([_fit("Ru+", "Ru", 1e5, 40.0, present=False)]) == []


def test_ions_sitting_to_one_side_of_their_masses_raise_the_warning():
    from ionscope.spectra.pipeline import _high_mass_offset

    rng = np.random.default_rng(0)

    def fits(offsets):
        return [_fit("Ru+", "Ru", 1e5, 20.0, offset=o, mz=100.0 + i) for i, o in enumerate(offsets)]

    low = fits(-0.3 + rng.normal(0.0, 0.05, 8))
    (warning,) = _high_mass_offset(low, above_mz=91.0)
    assert "sit systematically below their exact masses" in warning
    assert _high_mass_offset(fits(rng.normal(0.0, 0.05, 8)), above_mz=91.0) == []
    assert _high_mass_offset(low[:5], above_mz=91.0) == []  # too few ions to tell
    assert _high_mass_offset(low, above_mz=120.0) == []     # none above the highest reference


def test_identified_ions_recalibrate_a_simulated_export_to_its_true_law(tmp_path):
    """A simulated 200-channel export (m/z 191 bins 0.15 wide, as IONTOF's) whose m/z axis has k 300 ppm too
    large: identify recalibrates on the common ions and the Ru⁺/RuO⁺/Pt⁺/PtO⁺ isotopologues it found, to the
    true law within a tenth of a bin at m/z 100–250 (the exported axis is 0.5–0.8 bin off there)."""
    from ionscope.spectra.pipeline import identify_file
    from ionscope.synth.spectra import DEFAULT_POSITIVE, tof_spectrum

    species = {**{s: n for s, n in DEFAULT_POSITIVE.items() if s not in ("Ru+", "Pt+", "Ni+", "Co+")},
               "Ru+": 3e5, "RuO+": 5e4, "Pt+": 1e5, "PtO+": 2e4}
    spec, truth = tof_spectrum(species, n_channels=800_000, resolving_power=1500, k_rel_offset=3e-4,
                               t0_offset=0.0, shots=None, seed=1)
    n = spec.size // 200 * 200
    binned = [spec[c].values[:n].reshape(-1, 200) for c in ("channel", "mz")] + [spec.values[:n].reshape(-1, 200)]
    path = tmp_path / "P_Ru-Pt_sim.txt"
    path.write_text("# Binning: 200 channels\nChannel\tm/z\tIntensity\n" + "\n".join(
        f"{c:.0f}\t{m:.6f}\t{y:.0f}" for c, m, y in zip(binned[0].mean(1), binned[1].mean(1), binned[2].sum(1))))
    res = identify_file(path, elements=["Ru", "Pt"])
    cal = res["calibration"]
    assert {r["element"] for r in res["elements"] if r["detected"]} == {"Ru", "Pt"}
    assert not cal["kept_exported"] and sum(" m/z " in u for u in cal["used"]) >= 10
    t0, k = truth.truth["t0"], truth.truth["k"]
    m = np.array([100.0, 150.0, 200.0, 250.0])
    t = t0 + k * np.sqrt(m)
    fitted = ((t - cal["params"]["t0"].value) / cal["params"]["k"].value) ** 2
    exported = ((t - t0) / (k * (1 + 3e-4))) ** 2
    bin_width = 2 * m * 200 / (t - t0)
    assert np.all(np.abs(fitted - m) < 0.1 * bin_width)
    assert np.all(np.abs(exported - m) > 0.4 * bin_width)


def test_a_lock_mass_at_a_reference_ions_mass_is_dropped():
    # Li⁺ named on a positive spectrum: its ⁷Li lock mass is the common reference Li⁺ again; as a second
    # reference at the same m/z it made the consensus divide by zero (a RuntimeWarning on the terminal)
    import warnings

    from ionscope.library.formula import parse_formula
    from ionscope.spectra.calibration import recalibrate
    from ionscope.synth.spectra import tof_spectrum

    spec, _ = tof_spectrum(seed=0, shots=None)
    li = parse_formula("Li+").mz
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check = recalibrate(spec, polarity="positive", lock_masses=[(f"Li+ m/z {li:.3f}", li)])
    assert check.lock_masses == () and "Li+" in check.used
