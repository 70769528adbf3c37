"""Real IONTOF spectra (Laurent et al., Anal. Chem. 2024; MIT licence; ../shared/data/iontof_spectra).

The elements of each sample come from its file name; HEA19 is a multi-element alloy whose composition is
not in the name, so only Ru (in every sample of the study) is required there and nothing is counted as
false. What the method misses or reports wrongly on these 19 files is listed below with the measured
evidence; ``test_known_limits_are_still_limits`` fails when one of them is fixed, so the lists stay honest.
"""

from functools import cache

import numpy as np
import pytest

from ionscope.spectra.continuum import molecular_ion_masses, outside_molecular_continuum
from ionscope.spectra.forms import _unit_pattern
from ionscope.spectra.pipeline import identify_file
from ionscope.spectra.presence import detection_threshold

from ..conftest import shared_data

NAMED = ["Ru", "Rh", "Pd", "Ir", "Pt"]
EXPECTED = {
    "P_Ru_Bi1_1.txt": {"Ru"}, "P_Ru_Bi5_1.txt": {"Ru"}, "N_Ru_Bi1_1.txt": {"Ru"},
    "P_Ru-Pt_Bi1_1.txt": {"Ru", "Pt"}, "N_Ru-Pt_Bi1_1.txt": {"Ru", "Pt"},
    "P_Ru-Pd_Bi1_1.txt": {"Ru", "Pd"}, "N_Ru-Pd_Bi1_1.txt": {"Ru", "Pd"},
    "P_Ru-Pt-Pd_Bi1_1.txt": {"Ru", "Pt", "Pd"}, "N_Ru-Pt-Pd_Bi1_1.txt": {"Ru", "Pt", "Pd"},
    "P_Ru-Ir_Bi1_1.txt": {"Ru", "Ir"}, "N_Ru-Ir_Bi1_1.txt": {"Ru", "Ir"},
    "P_Ru-Rh_Bi1_1.txt": {"Ru", "Rh"}, "N_Ru-Rh_Bi1_1.txt": {"Ru", "Rh"},
    "P_Ru-Pt-Pd-Ir_Bi1_1.txt": {"Ru", "Pt", "Pd", "Ir"}, "N_Ru-Pt-Pd-Ir_Bi1_1.txt": {"Ru", "Pt", "Pd", "Ir"},
    "P_Ru-Pt-Pd-Ir-Rh_Bi1_1.txt": {"Ru", "Pt", "Pd", "Ir", "Rh"},
    "N_Ru-Pt-Pd-Ir-Rh_Bi1_1.txt": {"Ru", "Pt", "Pd", "Ir", "Rh"},
    "P_HEA19_Bi1_1.txt": None, "N_HEA19_Bi1_1.txt": None,
}

# Named mode (--elements Ru,Rh,Pd,Ir,Pt), measured on these files (contrast over the local background, σ):
# * Pd has no oxide-anion pattern over the background in negative polarity (PdO⁻, PdO₂⁻ ≤ 2.2σ); it is found
#   on all four negative Pd samples through its chloro-anions (PdCl₂⁻ 21–34σ, PdCl₃⁻), fitted since chlorine
#   (³⁵Cl⁻ ≈ 16 % of all counts) is seen in every negative spectrum — the same forms recovered Ru on the
#   negative quaternary and HEA19 (RuO₂Cl⁻, RuOCl₂⁻);
# * Pt⁺ in positive polarity stays at 0.8–3.1σ on the three richer Pt samples (Ru–Pt: 5.0σ, found; on the
#   quinary PtO⁺ reached 7.4σ, contrast 5.4, while the auto screening assigned the ions at m/z 212–218 to
#   WO₂⁺ — no W in the sample — and named mode fitted W as a background species; with the dimer oxides in
#   auto mode's confirmation W is gone, and so is that PtO⁺):
#   200-channel binning puts 0.17 m/z bins under Pt's isotopes, where a continuum of cluster ions has
#   the same nominal masses (Ru–Rh, without Pt, gives Pt⁺ 2.6σ); per total ion count, the even Pt masses
#   194/196/198 of the Pt samples stand no higher over their neighbours than on the Pt-free files, i.e. a
#   detection limit (synthetic Pt⁺ is found from 1–10 % of Ru⁺); in negative polarity Pt⁻/PtO⁻/PtO₂⁻
#   find it on every Pt sample;
# * Ir in positive polarity: Ir⁺/IrO⁺ at 2.4–2.8σ on the Ir samples: the odd-mass excess at m/z 191 + 193
#   is 3.5–7.7·10⁻⁴ of all ions on the Ir-free files, 8.7·10⁻⁴ on Ru–Ir and 3.5–3.9·10⁻⁴ on the quaternary
#   and quinary, so Ir⁺ is ~2 sd above the ions every file has there, or not at all (synthetic Ir⁺ is found
#   from 1 % of Ru⁺ on Ru–Ir); negative IrO₂⁻ finds every one;
# * Ru in negative polarity on the quinary alloy (RuOₓ⁻ and its oxychloride anions below threshold);
# * Rh on the negative quinary (RhO₂⁻ 2.0σ).
KNOWN_MISSES = {
    ("P_Ru-Pt-Pd_Bi1_1.txt", "Pt"), ("P_Ru-Pt-Pd-Ir_Bi1_1.txt", "Pt"), ("P_Ru-Pt-Pd-Ir-Rh_Bi1_1.txt", "Pt"),
    ("P_Ru-Ir_Bi1_1.txt", "Ir"), ("P_Ru-Pt-Pd-Ir_Bi1_1.txt", "Ir"), ("P_Ru-Pt-Pd-Ir-Rh_Bi1_1.txt", "Ir"),
    ("N_Ru-Pt-Pd-Ir-Rh_Bi1_1.txt", "Ru"), ("N_Ru-Pt-Pd-Ir-Rh_Bi1_1.txt", "Rh"),
}
# Reports of elements the sample does not hold (named mode): Ir⁺ on Ru–Pd (ions at odd masses that a
# two-isotope pattern cannot tell apart at this binning; IrO⁺ on Ru–Pt–Pd went when the contrast test counted
# its windows as the window fit does; no candidate species of Ru, Pd or Pt
# lands there: their excess over the even neighbours at 191 + 193 is 3.5–7.7·10⁻⁴ of all ions on every
# Ir-free positive spectrum, Ru–Pd the largest; it follows the total ion count, not Ru⁺ or the small
# aromatic cations, and its sub-bin mass defect is about half metal-like, half hydrogen-poor hydrocarbon
# C₁₅H₇₋₁₃⁺. RuC₇H₇⁺ as interference removes the Ru–Pd one but is not the ion — its pattern matches at
# 0.71–0.90 and it absorbs Ir⁺ on Ru–Ir; even-electron CₙHₘ⁺ nuisance columns at the odd masses of Ir⁺/IrO⁺/
# Rh⁺/RhO⁺ remove both but cut the sensitivity to Ir⁺ and Rh⁺ 4–10 times, measured with synthetic ions).
# The interference species fitted jointly in named mode (RuO₃H⁻ on RhO₃⁻ …) removed the false Rh on Ru–Ir
# and the false Ir on Ru (negative) of the per-species decision without them.
KNOWN_FALSE = {("P_Ru-Pd_Bi1_1.txt", "Ir")}


@cache  # each file is analysed once per session and mode
def _found(name: str, mode: str) -> frozenset:
    res = identify_file(shared_data("iontof_spectra", name), elements=NAMED if mode == "named" else "auto")
    return frozenset(r["element"] for r in res["elements"] if r["detected"])


@pytest.mark.realdata
def test_every_shared_spectrum_is_listed():
    folder = shared_data("iontof_spectra")
    assert {p.name for p in folder.glob("*.txt")} == set(EXPECTED)


@pytest.mark.realdata
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_named_identification_matches_the_sample_name(name):
    found = _found(name, "named")
    expected = EXPECTED[name]
    if expected is None:
        assert "Ru" in found or (name, "Ru") in KNOWN_MISSES, found
        return
    assert {e for e in expected if (name, e) not in KNOWN_MISSES} <= found, found
    assert found - expected <= {e for (n, e) in KNOWN_FALSE if n == name}, found


@pytest.mark.realdata
@pytest.mark.parametrize("name", sorted(n for n in EXPECTED if n.startswith("P_")))
def test_sodium_is_found_in_every_positive_spectrum(name):
    """Na⁺ (m/z 23, where no molecular ion exists) is among the strongest peaks of every positive spectrum; its
    contrast test against the H₃O⁺ … C₂H₃⁺ peaks around it failed it on the quinary alloy at z = 243. (Na₂OH⁺ at
    m/z 63, 1 % of Na⁺, passes as a further form on some of them.)"""
    res = identify_file(shared_data("iontof_spectra", name), elements=["Na"])
    row = res["elements"][0]
    assert row["detected"] and row["evidence"][0] == "Na+", row


@pytest.mark.realdata
def test_known_limits_are_still_limits():
    for name, el in KNOWN_MISSES:
        assert el not in _found(name, "named"), (name, el, "now found: remove it from KNOWN_MISSES")
    for name, el in KNOWN_FALSE:
        assert el in _found(name, "named"), (name, el, "no longer reported: remove it from KNOWN_FALSE")


@cache
def _nominal_fractions(name: str, lo: int = 100, hi: int = 800) -> tuple[np.ndarray, np.ndarray]:
    """Counts within ±0.4 of each nominal mass lo…hi−1 over the spectrum's total, and their Poisson 1σ."""
    table = np.loadtxt(shared_data("iontof_spectra", name), skiprows=3)
    mz, counts = table[:, 1], table[:, 2]
    k = np.rint(mz).astype(int)
    ok = (np.abs(mz - k) < 0.4) & (k >= lo) & (k < hi)
    per_mass = np.zeros(hi - lo)
    np.add.at(per_mass, k[ok] - lo, counts[ok])
    return per_mass / counts.sum(), np.sqrt(np.maximum(per_mass, 1.0)) / counts.sum()


def _best_model_free_separation(element: str) -> tuple[int, float]:
    """Over the positive spectra of known composition, the nominal mass (100–799) at which every spectrum
    holding ``element`` stands highest above every spectrum without it: (mass, z of the weakest holder over
    the strongest non-holder in Poisson σ). No species list, pattern or background model is involved."""
    names = [n for n, e in EXPECTED.items() if n.startswith("P_") and e is not None]
    f, s = zip(*(_nominal_fractions(n) for n in names))
    f, s = np.array(f), np.array(s)
    has = np.array([element in EXPECTED[n] for n in names])
    cols = np.arange(f.shape[1])
    weakest, strongest = f[has].argmin(0), f[~has].argmax(0)
    z = (f[has][weakest, cols] - f[~has][strongest, cols]) / np.hypot(s[has][weakest, cols], s[~has][strongest, cols])
    best = int(np.argmax(z))
    return 100 + best, float(z[best])


@pytest.mark.realdata
def test_positive_pt_and_ir_leave_no_trace_at_any_mass():
    # The positive Pt and Ir misses of KNOWN_MISSES are detection limits of the data, not of the method:
    # without any model, no nominal mass from 100 to 799 is higher in every positive Pt (Ir) spectrum than in
    # every positive spectrum without it by more than counting noise (Bonferroni over the 700 masses at
    # the 3σ family level), while the same test finds Rh at m/z 103 and Pd at m/z 106 by far.
    z_crit = detection_threshold(700)
    for element in ("Pt", "Ir"):
        mass, z = _best_model_free_separation(element)
        assert z < z_crit, (element, mass, z)
    for element, mass in (("Rh", 103), ("Pd", 106)):
        assert _best_model_free_separation(element)[0] == mass
        assert _best_model_free_separation(element)[1] > 10 * z_crit


@pytest.mark.realdata
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_recalibration_never_fails_and_is_never_worse_than_the_export(name):
    import ionscope
    from ionscope.spectra.calibration import recalibrate

    spec = ionscope.read(shared_data("iontof_spectra", name), polarity="from-name")
    check = recalibrate(spec)
    assert len(check.used) >= 10
    assert check.rms_bins <= check.exported_rms_bins + 1e-12
    assert check.rms_bins < 0.5  # a centroid of a binned export is good to a fraction of a bin
    m = check.calibration.mz(spec.coords["channel"].values)
    assert np.all(np.diff(m[m > 0.5]) > 0)


@pytest.mark.slow
@pytest.mark.realdata
def test_auto_mode_finds_ru_in_positive_spectra_and_few_foreign_elements():
    # auto screens ~30 elements with ≥ 3 isotopes above 5 %; measured on the 19 files before the second
    # chloride round: Ru in 17 of 19 (every positive spectrum; missed on the negative quinary and HEA19), and 4
    # reports of foreign
    # elements (in no sample) over the 17 spectra of known composition: DyO₂⁻/DyO₃⁻/ErO₃⁻ on the masses
    # of Pt⁻/PtO⁻ (×3) and SrO₂⁻. The oxide fragment rule removed DyO₂⁺, GdO₂⁺ … and SrO⁺ (6 reports
    # before it: Dy×3, Sr×2, Yb); Xe⁻, XeO⁻ and KrO₃⁻ (no such anions) had taken the Ru oxide anions of
    # two negative spectra (Ru 15 of 19 before). Counting windows over their exact m/z interval
    # (unbiased single-isotope intensities) lifted BaO₂⁻ on the negative quinary from 4.0σ to 4.3σ,
    # just over the threshold, in the oxide-anion region whose unmodelled structure limits Ru and Pd
    # there too: 5 reports. Bounding the formal oxidation state of the metal in an oxide anion MOᵧ⁻
    # (2y − 1) by its valence, as the fragment rule does for cations, removed SrO₂⁻, BaO₂⁻, DyO₃⁻ and
    # ErO₃⁻ (Sr +3, Ba +3, Dy +5, Er +5): 3 reports (DyO₂⁻ ×2 on the masses of Pt⁻ and PdOCl₂⁻, ErO₂⁻), and
    # Pt (PtO⁻/PtO₂⁻) found on two negative Pt spectra.
    # The confirmation fit of the elements found (alone, with the chloro-complex ions of the negative
    # spectra) removed those three: DyO₂⁻/ErO₂⁻ lose their counts to Pt⁻ once Pt is in the model.
    # Modelling each peak spread over its bin (unbiased intensities at 200 channels per bin) lifted WO₂⁺ on
    # the positive quinary to contrast 4.2 over z_crit 4.07, on the m/z 214–218 region of the Pd₂⁺/RuPd⁺
    # dimers and PtO⁺ (the dimers, fitted in the confirmation, do not take it): 1 report. The dimer oxides
    # (Ru₂O⁺ at m/z 208–224, PdPtO₂⁺ …) in the confirmation take those ions: WO₂⁺ is not confirmed, 0 reports.
    # Negative HEA19: RuO⁻/RuO₂⁻ show Ru's pattern (6.5σ, cosine 0.95) but no contrast over the continuum
    # there, and Ru has no binary chloro-complex ion; the second chloride round, after Rh is found, tests
    # its oxychloride ions: RuO₂Cl⁻ 5.5σ, contrast 8.9 (z_crit 4.29) — Ru in 18 of 19, as named mode.
    # One- and two-isotope metals are tested too where the spectrum resolves their ions from every molecular
    # ion of the same nominal mass: on these 200-channel exports none is, but Li⁺ (m/z 6/7), B⁺ (10/11) and
    # Na (23) lie where no molecular ion can, and are found on most spectra (⁶Li/⁷Li 103/1165 = 0.088 on
    # P_Ru, natural 0.082; ¹⁰B/¹¹B 46/158 = 0.29, natural 0.25): trace contaminants, not false reports.
    # No molecular anion has nominal mass 19 (H₃O⁻, a hydride adduct of water, is not bound): F⁻ is then
    # resolved from every one wherever the ¹⁸OH⁻ isotopologue cannot hold its counts — on N_Ru and the negative
    # quinary 57 700 counts at m/z 19 beside 106 000 OH⁻ (¹⁸OH⁻ ≤ 220): fluorine contamination, found.
    ru = [n for n in EXPECTED if "Ru" in _found(n, "auto")]
    assert {n for n in EXPECTED if n.startswith("P_")} | {"N_HEA19_Bi1_1.txt"} <= set(ru)
    assert len(ru) >= 18
    for name, expected in EXPECTED.items():
        if expected is None:
            continue
        res = identify_file(shared_data("iontof_spectra", name), elements="auto")
        for row in res["elements"]:
            if row["detected"] and row["element"] not in expected | set(NAMED):
                evidence = [_unit_pattern(f["formula"]).mz for f in row["forms"] if f["present"]]
                charge = 1 if name.startswith("P_") else -1
                assert any(outside_molecular_continuum(mz)
                           or all(not molecular_ion_masses(round(m), charge).size for m in mz) for mz in evidence), (
                    name, row["element"])


@pytest.mark.slow
@pytest.mark.realdata
def test_auto_mode_tests_rh_and_ir_as_named_mode_does():
    # Rh and Ir (one and two isotopes) are tested in a later auto stage against the elements found before,
    # with their interference and chloride species: on these files the same reports as named mode (Rh 0 → 3
    # of 4, Ir 0 → 3 of 6), except Ir⁺ on positive Ru–Pt–Pd (KNOWN_FALSE in named mode), which fails the
    # confirmation fit of the elements found (Ru, Pd, Ir; named mode fits Pt and Rh too).
    for name in EXPECTED:
        auto, named = _found(name, "auto") & {"Rh", "Ir"}, _found(name, "named") & {"Rh", "Ir"}
        if name == "P_Ru-Pt-Pd_Bi1_1.txt":
            assert auto == named - {"Ir"}, name
        else:
            assert auto == named, name


@pytest.mark.slow
@pytest.mark.realdata
def test_auto_mode_finds_pd_and_pt_by_their_chloro_complex_anions():
    # every negative spectrum holds chlorine; Pd shows there only as PdCl₂⁻/PdCl₃⁻ (its oxide anions fail
    # the pattern and contrast tests in both modes), Pt on the negative quaternary only as Pt⁻ and PtCl₂⁻
    # (Pt⁻ taken by DyO₂⁻ in the screening fit). The chloro-complex stage finds Pd on 3 of the 4 negative
    # Pd samples (the quinary misses it: PdCl₂⁻ 4.2σ over the local background; with the quinary's Rh in the
    # model — RhO₂Cl⁻, RhCl₂⁻ at m/z 170–177, but Rh is not found there — 5.0σ) and Pt on the negative
    # quaternary and quinary; the confirmation fit
    # then drops DyO₂⁻/ErO₂⁻ (Dy ×2, Er) on the negative Pt samples.
    negative_pd = [n for n, e in EXPECTED.items() if n.startswith("N_") and e and "Pd" in e]
    assert sum("Pd" in _found(n, "auto") for n in negative_pd) >= 3
    with_pt = {n for n in EXPECTED if "Pt" in _found(n, "auto")}
    assert {"N_Ru-Pt-Pd-Ir_Bi1_1.txt", "N_Ru-Pt-Pd-Ir-Rh_Bi1_1.txt"} <= with_pt
    for el in ("Pd", "Pt"):
        assert not any(el in _found(n, "auto") for n, e in EXPECTED.items() if e is not None and el not in e), el


def _rates(mode: str) -> dict[str, tuple[float, float]]:
    """Element → (detection rate on files containing it, false-report rate on files without it)."""
    out = {}
    for el in NAMED:
        have = [n for n, e in EXPECTED.items() if (e is not None and el in e) or (e is None and el == "Ru")]
        lack = [n for n, e in EXPECTED.items() if e is not None and el not in e]
        out[el] = (sum(el in _found(n, mode) for n in have) / len(have),
                   sum(el in _found(n, mode) for n in lack) / len(lack) if lack else 0.0)
    return out


@pytest.mark.realdata
@pytest.mark.xfail(strict=True, reason="not met on the shared files: Ru 95 %, Ir 50 % (9 % false), Pt 62 %, "
                                       "Rh 75 %; see KNOWN_MISSES / KNOWN_FALSE")
def test_named_mode_meets_the_targets():
    # targets: each metal found in ≥ 90 % of the spectra holding it, ≤ 5 % false reports
    for el, (hit, false) in _rates("named").items():
        assert hit >= 0.9 and false <= 0.05, (el, hit, false)


@pytest.mark.slow
@pytest.mark.realdata
@pytest.mark.xfail(strict=True, reason="not met on the shared files: Ru 95 % (negative quinary), "
                                       "Rh 75 %, Ir 50 % (9 % false), Pt 50 % (positive "
                                       "spectra)")
def test_auto_mode_meets_the_targets():
    # targets: Ru in ≥ 98 %; each metal ≥ 80 % with ≤ 5 % false reports
    rates = _rates("auto")
    assert rates["Ru"][0] >= 0.98
    for el, (hit, false) in rates.items():
        assert hit >= 0.8 and false <= 0.05, (el, hit, false)


@pytest.mark.realdata
@pytest.mark.parametrize("name, element", [("N_HEA19_Bi1_1.txt", "Ru"), ("N_Ru-Pt-Pd-Ir_Bi1_1.txt", "Ru"),
                                           ("P_Ru-Pd_Bi1_1.txt", "Pd"), ("N_Ru_Bi1_1.txt", "Ru"),
                                           ("N_Ru-Rh_Bi1_1.txt", "Rh"), ("N_Ru-Pt_Bi1_1.txt", "Pt")])
def test_naming_one_element_gives_what_naming_all_five_gives(name, element):
    # the other elements the auto screening finds are fitted (not reported) in named mode; before, naming Ru
    # alone on negative HEA19 gave "not detected, < 1.6·10⁵" against 2.6·10⁵ ± 0.5·10⁵ with all five named.
    # Named elements the sample lacks took counts from the present ones until the detected elements were
    # refitted alone: negative Ru–Rh, Rh 1.29·10⁶ named alone against 1.00·10⁶ with the absent Pd, Ir, Pt named;
    # negative Ru, Ru 9.7·10⁴ against 7.9·10⁴. Which forms count was decided at the run's Bonferroni threshold,
    # which grows with the number of elements named: negative Ru–Pt, Pt 1.09·10⁵ alone against 0.89·10⁵ (Pt⁻ and
    # PtCl₃⁻ in or out). Each is now the same number.
    def row(elements):
        res = identify_file(shared_data("iontof_spectra", name), elements=elements)
        return next(r for r in res["elements"] if r["element"] == element)

    one, five = row([element]), row(NAMED)
    assert one["detected"] and five["detected"]
    assert one["intensity"].value == pytest.approx(five["intensity"].value, rel=1e-9)



def _rescaled_export(name: str, folder, k_rel: float):
    """A copy of a shared export whose m/z column follows the export's own law t = t0 + k·√m with k
    changed by ``k_rel`` (m/z off by −2·k_rel relative): a calibration wrong in scale."""
    lines = shared_data("iontof_spectra", name).read_text().splitlines()
    head = [ln for ln in lines[:5] if not ln[:1].isdigit()]
    rows = np.array([[float(v) for v in ln.split("\t")] for ln in lines[len(head):]])
    ok = rows[:, 1] > 0.5
    t0, k = np.linalg.lstsq(np.column_stack([np.ones(ok.sum()), np.sqrt(rows[ok, 1])]), rows[ok, 0], rcond=None)[0]
    mz = np.clip((rows[:, 0] - t0) / (k * (1 + k_rel)), 0, None) ** 2
    path = folder / name
    path.write_text("\n".join(head + [f"{c:.0f}\t{m:.6f}\t{y:.0f}" for c, m, y in zip(rows[:, 0], mz, rows[:, 2])]))
    return path


@pytest.mark.realdata
def test_a_calibration_wrong_in_scale_is_mended_by_the_identified_ions(tmp_path):
    # k 300 ppm too large: m/z 600 ppm low, 0.1–0.3 bin at the common ions (all below m/z ~91) — they cannot
    # tell — but half a bin at m/z 100; the ions identified above are the references that can
    name = "N_HEA19_Bi1_1.txt"
    rescaled = identify_file(_rescaled_export(name, tmp_path, 3e-4), elements=NAMED)
    original = identify_file(shared_data("iontof_spectra", name), elements=NAMED)
    cal = rescaled["calibration"]
    assert not cal["kept_exported"] and original["calibration"]["kept_exported"]
    identified = {u for u in cal["used"] if " m/z " in u}
    assert identified and set(cal["lock_masses"]) >= identified

    def law(c):
        return lambda t: ((t - c["params"]["t0"].value) / c["params"]["k"].value) ** 2

    c, m = original["calibration"]["params"], np.array([100.0, 150.0, 200.0, 250.0])
    t = c["t0"].value + c["k"].value * np.sqrt(m)  # channels of m/z 100–250
    bins = (law(cal)(t) - m) / (2 * m * 200 / (t - c["t0"].value))  # a bin is 200 channels: 2m·Δt/(t − t0)
    # as exported: −0.5 to −0.8 bin; mended to within the ~0.25-bin rms scatter of the reference centroids
    assert np.all(np.abs(bins) < 0.2), bins
    assert ({r["element"] for r in rescaled["elements"] if r["detected"]}
            == {r["element"] for r in original["elements"] if r["detected"]})
    assert not any("systematically" in w for w in rescaled.warnings + original.warnings)


@pytest.mark.realdata
def test_lock_masses_are_ions_of_the_identification_the_spectrum_ends_with(tmp_path):
    """Positive Ru–Pt–Pd with every m/z 600 ppm high, auto mode: IrO⁺ passed on the exported calibration and
    served as a lock mass, then failed on the calibration it helped make. The lock masses are taken again until
    they are ions the final identification reports."""
    lines = shared_data("iontof_spectra", "P_Ru-Pt-Pd_Bi1_1.txt").read_text().splitlines()
    path = tmp_path / "P_Ru-Pt-Pd_Bi1_1.txt"
    path.write_text("\n".join(ln if not ln[:1].isdigit() else "\t".join(
        f"{float(v) * 1.0006:.6f}" if i == 1 else v for i, v in enumerate(ln.split("\t"))) for ln in lines) + "\n")
    res = identify_file(path)
    present = {s["formula"] for s in res["species"]}
    locks = {m.split(" m/z ")[0] for m in res["calibration"]["lock_masses"]}
    assert locks and locks <= present, (locks, present)


@pytest.mark.realdata
def test_spectrum_calibrate_mends_a_scale_error_with_lock_elements(cli, tmp_path):
    # the same rescaled export (k 300 ppm too large): the common ions alone keep it (--lock-elements none); with
    # the ions of Ru and Pt identified on it as further references the refit replaces it, as `spectrum identify`
    # does, and so it does by default (the elements auto mode finds), in `spectrum peaks` too
    import json

    path = _rescaled_export("N_Ru-Pt_Bi1_1.txt", tmp_path, 3e-4)
    code, out, _ = cli("spectrum", "calibrate", path, "--lock-elements", "none", "--json")
    assert code == 0 and json.loads(out)["results"]["quality"]["kept_exported"]
    for command in ("calibrate", "peaks"):
        code, out, _ = cli("spectrum", command, path, "--json")
        results = json.loads(out)["results"]
        quality = results["quality"] if command == "calibrate" else results["calibration"]
        assert code == 0 and not quality["kept_exported"] and quality["lock_masses"], command
    code, out, _ = cli("spectrum", "calibrate", path, "--lock-elements", "Ru,Pt", "--json")
    res = json.loads(out)["results"]
    assert code == 0 and not res["quality"]["kept_exported"]
    assert sum(u.startswith(("Ru", "Pt")) and " m/z " in u for u in res["quality"]["used"]) >= 10
    assert res["quality"]["lock_masses"]
    original = identify_file(shared_data("iontof_spectra", "N_Ru-Pt_Bi1_1.txt"), elements=["Ru", "Pt"])
    c, m = original["calibration"]["params"], np.array([100.0, 150.0, 200.0, 250.0])
    t = c["t0"].value + c["k"].value * np.sqrt(m)
    fitted = ((t - res["t0"]["value"]) / res["k"]["value"]) ** 2
    assert np.all(np.abs(fitted - m) < 0.2 * 2 * m * 200 / (t - c["t0"].value))  # within 0.2 bin
    code, _, err = cli("spectrum", "calibrate", path, "--lock-elements", "Xx")
    assert code == 2 and "unknown element 'Xx'" in err


@pytest.mark.realdata
def test_a_reference_ion_given_but_not_found_is_named(cli):
    # "191IrO2-" (meant as ¹⁹¹IrO₂⁻, written ^191IrO2-) reads as 191 IrO₂ units, far beyond the spectrum: it
    # was dropped without a word, "3 reference peaks used, 0 rejected"
    path = shared_data("iontof_spectra", "N_HEA19_Bi1_1.txt")
    code, _, err = cli("spectrum", "calibrate", path, "-r", "Cl-", "-r", "C-", "-r", "O-", "-r", "191IrO2-")
    assert code == 0 and "reference ion(s) given not found" in err and "191IrO2-" in err


@pytest.mark.realdata
def test_an_upper_limit_changes_little_with_the_elements_named():
    # Ir⁻ on negative Ru–Rh: from the window fit alone < 46 700 counts named alone and < 3 700 with five metals
    # named (12×: the other elements' ions took the continuum under Ir⁻); with the limit over the local
    # continuum, < 46 700 and < 37 100 (there too the other named elements' ions explain part of the counts at
    # m/z 191–193) — within a factor 1.5, the guard against the order-of-magnitude swing
    def limit(elements):
        res = identify_file(shared_data("iontof_spectra", "N_Ru-Rh_Bi1_1.txt"), elements=elements)
        row = next(r for r in res["elements"] if r["element"] == "Ir")
        assert not row["detected"] and row["upper_limit_form"] == "Ir-"
        return row["upper_limit"].value

    alone, five = limit(["Ir"]), limit(NAMED)
    assert 1 / 1.5 < alone / five < 1.5, (alone, five)


@pytest.mark.realdata
def test_auto_mode_does_not_hinge_on_the_phase_of_the_binning(tmp_path):
    # The contrast test counted whole bins by their centres while its design assumed the window fit's capture
    # fractions: shifting the positive quinary's m/z by 0.12–0.14 of a bin (at m/z 103) dropped Rh⁺'s contrast
    # from 30σ to 3.5σ and auto mode reported nothing. A calibration is good to ~0.25 bin at best here.
    name = "P_Ru-Pt-Pd-Ir-Rh_Bi1_1.txt"
    bin_103 = 2 * 103 * 200 / (32965.4 * np.sqrt(103))  # the export's law: t = −364 + 32965.4·√m, 200 channels
    for bins in (-0.14, -0.12, -0.06, 0.06, 0.12, 0.14):
        path = _rescaled_export(name, tmp_path, bins * bin_103 / 103 / 2)
        res = identify_file(path, recalibrate=False)
        assert {"Ru", "Rh", "Pd"} <= {r["element"] for r in res["elements"] if r["detected"]}, bins
