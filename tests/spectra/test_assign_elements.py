import numpy as np
import pandas as pd
import pytest

from ionscope.library import builtin_library
from ionscope.library.patterns import isotope_pattern
from ionscope.model import ValidationError
from ionscope.spectra import (
    apply_calibration,
    assign_peaks,
    auto_calibrate,
    candidate_species,
    elements_present,
    find_spectrum_peaks,
    identify_elements,
)
from ionscope.spectra.forms import _untestable, oxide_fragment_allowed
from ionscope.synth.spectra import tof_spectrum

METALS = {"Ru+": 2.0e4, "Pt+": 8e3, "Pd+": 6e3, "RuO+": 4e3, "Ir+": 3e3}
BASE = {"H+": 3e4, "C+": 2e4, "CH3+": 4e4, "Na+": 6e4, "C2H3+": 5e4, "C2H5+": 3e4, "K+": 2e4, "C3H5+": 3e4,
        "C4H7+": 1e4, "C7H7+": 5e3}


@pytest.fixture(scope="module")
def metal_spectrum():
    spec, truth = tof_spectrum({**BASE, **METALS}, n_channels=200_000, seed=11)
    return apply_calibration(spec, auto_calibrate(spec)), truth


def test_identify_recovers_species_intensities_from_overlapping_patterns(metal_spectrum):
    spec, truth = metal_spectrum
    fits = identify_elements(spec, polarity="positive", elements=["Ru", "Pt", "Pd", "Ir", "Rh", "Mo"])
    by = {f.formula: f for f in fits}
    for formula, true in METALS.items():
        f = by[formula]
        assert f.present, formula
        # Poisson σ is 1–2 %; the Gaussian capture-fraction model with the *estimated* resolving
        # power adds up to ~4 % systematic error, so allow 4σ + 5 %
        assert abs(f.intensity - true) < 4 * f.uncertainty + 0.05 * true, (formula, f.intensity, true)
    present = elements_present(fits)
    assert set(present.keys()) == {"Ru", "Pt", "Pd", "Ir"}  # Ru/Pd isobars at 102/104 and Mo at 96–100 decomposed
    assert by["Mo+"].present is False and by["Rh+"].present is False
    assert by["Rh+"].diagnostic is False and by["Ru+"].diagnostic is True  # monoisotopic: no pattern to confirm


def test_auto_mode_finds_only_elements_that_are_there():
    spec, _ = tof_spectrum(BASE, n_channels=200_000, seed=5)
    spec = apply_calibration(spec, auto_calibrate(spec))
    # no element of BASE has a diagnostic pattern; its one- and two-isotope metals are found where their ions are
    # resolved from every molecular ion of their nominal mass (m/Δm 4000: Na⁺ and K⁺; the ions of H, C are not
    # metals), and nothing else is
    assert set(elements_present(identify_elements(spec, polarity="positive")).keys()) == {"Na", "K"}
    # two-isotope elements are found when named: C+ (12C/13C) and K+ (39K/41K) are in BASE, Cl and Ru are not
    named = elements_present(identify_elements(spec, polarity="positive", elements=["C", "K", "Cl", "Ru"]))
    assert set(named.keys()) == {"C", "K"}


def test_oxide_fragment_rule_drops_cations_beyond_the_oxide_valence():
    # Hirokawa et al. 2003: MOy+ needs valence >= 2y+1; rare earths (3) give DyO+ but not DyO2+
    pos = set(candidate_species(["Dy", "Ru", "Pt", "Sr", "Fe"], "positive")["formula"])
    assert {"Dy+", "DyO+", "Ru+", "RuO+", "RuO2+", "Pt+", "PtO+", "Sr+", "Fe+", "FeO+", "FeO2+"} <= pos
    assert not pos & {"DyO2+", "PtO2+", "SrO+", "SrO2+"}
    # anions: the metal's formal oxidation state in MOy- is 2y - 1, at most its valence (Dy 3, Sr 2)
    neg = set(candidate_species(["Dy", "Sr"], "negative")["formula"])
    assert {"Dy-", "DyO-", "DyO2-", "Sr-", "SrO-"} <= neg and not neg & {"DyO3-", "SrO2-", "SrO3-"}
    # explicitly requested forms are not restricted
    assert candidate_species(["Dy"], "positive", forms=["{E}O2"]).values.tolist() == [["DyO2+", "Dy"]]
    assert oxide_fragment_allowed("Xx", "{E}O2", "positive")  # no tabulated valence: allowed


def test_noble_gases_only_as_cations_and_no_unbound_atomic_anions():
    neg = set(candidate_species(["Xe", "Kr", "Zn", "Ru"], "negative")["formula"])
    assert not neg & {"Xe-", "XeO-", "XeO2-", "XeO3-", "Kr-", "KrO3-", "Zn-"}
    assert {"ZnO-", "Ru-", "RuO3-"} <= neg  # zinc's oxide anion and Ru⁻ (bound) stay; ZnO2- would be Zn(+3)
    pos = set(candidate_species(["Xe", "Zn"], "positive")["formula"])
    assert "Xe+" in pos and not pos & {"XeO+", "XeO2+"}
    assert "Zn+" in pos
    assert _untestable(["Xe", "Ru", "Zn"], "negative") == ["Xe"] and _untestable(["Xe"], "positive") == []


def test_chloride_forms_only_for_chloride_formers_within_their_oxidation_states():
    from ionscope.spectra.forms import chloride_allowed

    neg = set(candidate_species(["Pd", "Dy", "Sr"], "negative", chlorides=True)["formula"])
    # Pd (soft acid, up to +4): MCl- would hold Pd(0), PdO2Cl- Pd(+4)
    assert {"PdCl2-", "PdCl3-", "PdOCl-", "PdOCl2-", "PdO2Cl-"} <= neg and "PdCl-" not in neg
    assert not {f for f in neg if "Cl" in f and not f.startswith("Pd")}  # hard acids: oxides only
    assert "PdCl2-" not in set(candidate_species(["Pd"], "negative")["formula"])  # off unless asked
    assert chloride_allowed("Ru", "{E}O2Cl", "negative") and not chloride_allowed("Pt", "{E}O2Cl2", "negative")
    assert chloride_allowed("Pt", "{E}Cl", "positive") and not chloride_allowed("Ti", "{E}Cl2", "negative")


def test_candidate_species_and_polarity_errors():
    assert ["RuO3-", "Ru"] in candidate_species(["Ru"], "negative").values.tolist()
    with pytest.raises(ValidationError):
        candidate_species(["Ru"], "neutral")
    with pytest.raises(ValidationError):
        candidate_species(["Qq"], "positive")


def test_assignment_ranks_true_species_first_and_flags_unresolved(metal_spectrum):
    spec, truth = metal_spectrum
    peaks = find_spectrum_peaks(spec, min_snr=5)
    lib = builtin_library().formulas("positive") + ["Ru+", "Pt+", "Pd+", "Ir+", "^102Ru+", "^102Pd+"]
    table = assign_peaks(peaks, lib)
    best = table[table["rank"] == 1].sort_values("score").groupby("formula").last()  # strongest match per ion
    for ion in ["Na+", "K+", "C3H5+", "C7H7+", "Pt+", "Ir+"]:
        assert ion in best.index, ion
        assert abs(best.loc[ion, "error_ppm"]) < 50  # calibrated to ~10 ppm
    assert best.loc["Pt+", "pattern_score"] > 0.8   # all Pt isotopologues seen with the right heights
    # 102Ru+ and 102Pd+ (Δm = 1.3 mDa) cannot be separated at R = 4000: flagged with the R needed (~80,000)
    rows = table[table["formula"].isin(["^102Ru+", "^102Pd+"])]
    assert rows["unresolved_with"].str.len().gt(0).all()
    assert rows["required_resolving_power"].iloc[0] == pytest.approx(101.904 / 0.00126, rel=0.02)


def test_mass_error_is_measured_minus_exact():
    """A peak 100 ppm above Na⁺ has an error of +100 ppm, the sign of a calibration residual."""
    na = 22.989221
    peaks = pd.DataFrame({"mz": [na * (1 + 1e-4)], "height": [1e4], "fwhm": [0.005]})
    row = assign_peaks(peaks, ["Na+"]).iloc[0]
    assert row["error_ppm"] == pytest.approx(100.0, abs=0.5)


@pytest.mark.slow
def test_assignment_of_a_10k_library_is_vectorised():
    rng = np.random.default_rng(0)
    peaks = find_spectrum_peaks(*_peaky(rng))
    forms = [f"C{c}H{h}+" for c in range(1, 60) for h in range(1, 100)][:5000]
    table = assign_peaks(peaks, forms, pattern=False)
    assert set(table.columns) >= {"formula", "score", "confidence"}
    assert np.allclose(table.groupby("peak")["confidence"].sum(), 1.0)


def _peaky(rng):
    x = np.linspace(10, 500, 200_000)
    y = rng.poisson(1.0, x.size).astype(float)
    for m in rng.uniform(20, 480, 200):
        y += rng.poisson(200 * np.exp(-0.5 * ((x - m) / 0.01) ** 2))
    return y, x


def _organic_series(rng, lo=60, hi=260, level=1000.0):
    """Two hydrocarbon ions per nominal mass (H/C ≈ 0.8 and 1.6), odd masses twice as intense, ±30 %."""
    out = {}
    for n_mass in range(lo, hi + 1):
        for hc in (0.8, 1.6):
            c = round(n_mass / (12 + hc))
            h = n_mass - 12 * c
            if h >= 1:
                parity = 2 if n_mass % 2 else 1
                out[f"C{c}H{h}+"] = level * np.exp(-(n_mass - lo) / 60) * parity * rng.uniform(0.7, 1.3)
    return out


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_auto_contrast_rejects_organic_lookalikes_at_coarse_binning(seed):
    # 3,500 channels put 0.18 m/z bins at m/z 195, as in the real 200-channel-binned IONTOF exports
    organics = _organic_series(np.random.default_rng(seed))
    truth = {"Ru+": 2e4, "Pt+": 1e4}
    spec, _ = tof_spectrum({**BASE, **organics, **truth}, n_channels=3500, resolving_power=1700, t0_offset=0.3,
                           k_rel_offset=1e-4, shots=None, seed=seed)
    spec = apply_calibration(spec, auto_calibrate(spec))
    fits = identify_elements(spec, polarity="positive", elements="auto")
    # Na⁺ of BASE lies where no molecular ion can (m/z 23); K⁺ is not resolved from C₃H₃⁺ in these bins
    assert {f.formula for f in fits if f.present} == set(truth) | {"Na+"}
    assert set(elements_present(fits).keys()) == {"Ru", "Pt", "Na"} == set(fits.present().keys())
    na = next(f for f in fits if f.formula == "Na+")
    # no organic ion at m/z 23; the capture fraction of a peak with the *estimated* resolving power adds up to
    # ~4 % systematic error (first test of this module): 4σ + 5 %
    assert abs(na.intensity - BASE["Na+"]) < 4 * na.uncertainty + 0.05 * BASE["Na+"]
    for f in fits:
        if f.present and f.element != "Na":
            # the ±1-bin windows also hold the organic ions of the same nominal masses; the fit is a
            # weighted mean of (window counts)/(expected fraction) over the fitted isotopologues (≥ 1 %),
            # so the organics raise it by at most max of organics(N)/(abundance(N)·0.76) — 0.76: the least
            # fraction of a Gaussian peak inside a window of half-width ≥ FWHM/2
            pat = isotope_pattern(f.formula, resolution="unit")
            main = pat.abundance >= 0.01 * pat.abundance.max()
            per_mass = {}
            for k, v in organics.items():
                n_mass = round(isotope_pattern(k).base_mz)
                per_mass[n_mass] = per_mass.get(n_mass, 0.0) + v
            bias = max(per_mass.get(round(m), 0.0) / (a * 0.76) for m, a in zip(pat.mz[main], pat.abundance[main]))
            assert truth[f.formula] - 4 * f.uncertainty < f.intensity < truth[f.formula] + bias + 4 * f.uncertainty, f


def test_window_background_ignores_a_peak_in_one_flank():
    from ionscope.spectra.windowfit import _bin_edges, _window_counts

    rng = np.random.default_rng(3)
    x = np.linspace(90.0, 110.0, 20001)
    mu = np.full(x.size, 20.0)
    mu += 2000.0 * np.exp(-0.5 * ((x - 100.075) / 0.005) ** 2)  # a peak in the upper flank [100.06, 100.09]
    y = rng.poisson(mu).astype(float)
    cs = np.concatenate(([0.0], np.cumsum(y)))
    b, var, _ = _window_counts(np.array([99.97]), np.array([100.03]), x, cs, np.gradient(x),
                               _bin_edges(x, np.gradient(x)))
    # the window holds background only: 61 bins × 20 counts; the upper flank's peak must not be subtracted
    assert abs(b[0]) < 4 * np.sqrt(var[0]), (b, var)


def test_window_background_stays_clear_of_the_neighbouring_nominal_masses():
    # coarse binning (0.3 m/z bins, as a 400-channel IONTOF export at m/z 180) makes the windows 0.6 m/z
    # wide; a flank one window-width out would sit on the peaks one mass away and subtract them
    from ionscope.spectra.windowfit import _bin_edges, _window_counts

    rng = np.random.default_rng(4)
    x = np.arange(170.0, 190.0, 0.3) + 0.05
    mu = np.full(x.size, 5.0)
    for m in range(171, 190):
        mu += 3000.0 * np.exp(-0.5 * ((x - m) / 0.08) ** 2)
    y = rng.poisson(mu).astype(float)
    cs = np.concatenate(([0.0], np.cumsum(y)))
    dx = np.gradient(x)
    b, var, flanks = _window_counts(np.array([179.7]), np.array([180.3]), x, cs, dx, _bin_edges(x, dx))
    assert flanks.left[0][0] >= 179.0 + 0.3 and flanks.right[1][0] <= 181.0 - 0.3
    edges = np.concatenate((x - dx / 2, [x[-1] + dx[-1] / 2]))
    inside = np.interp(180.3, edges, cs) - np.interp(179.7, edges, cs)
    # the peak's own counts stay (the flanks hold background and a little of the peak's tail)
    assert b[0] > 0.9 * inside, (b, inside)


def test_metal_next_to_hydrocarbon_ions_of_the_same_nominal_mass():
    # C15H14-16+ lie 0.15 m/z above 194-196Pt: 1.15 FWHM at m/dm = 1500, i.e. in the windows' upper flanks
    organics = {"C15H14+": 4e3, "C15H15+": 4e3, "C15H16+": 3e3}
    spec, _ = tof_spectrum({**BASE, "Ru+": 2e4, "Pt+": 3e3, **organics}, n_channels=200_000, seed=0,
                           resolving_power=1500)
    spec = apply_calibration(spec, auto_calibrate(spec))
    pt = {f.formula: f for f in identify_elements(spec, polarity="positive", elements=["Ru", "Pt"])}["Pt+"]
    assert pt.present
    # the Gaussian tails of the hydrocarbon peaks (beyond 1.6σ) put ≈ 6 % of their 11 000 counts, ≈ 600,
    # inside the Pt windows; Poisson σ of Pt⁺ ≈ 2 %: allow +25 % / −10 %
    assert 0.9 * 3e3 < pt.intensity < 1.25 * 3e3, pt.intensity


@pytest.mark.parametrize("seed", [0, 1])
def test_the_tail_of_a_neighbour_is_no_ion_of_a_named_element(seed):
    """Al⁺ (26.982) named on a spectrum without aluminium, 1.5 FWHM below C₂H₃⁺ (27.023) at m/Δm 1 000: the
    C₂H₃⁺ tail puts ~500 counts in its window, all on the upper side, and Al had been detected (z ≈ 18, contrast
    ≈ 14) in 11 of 12 seeds. Their centroid sits most of the way to the window's edge, many standard errors off:
    not detected, for the mass offset."""
    from ionscope.spectra.calibration import apply_calibration, auto_calibrate
    from ionscope.spectra.elements import identify_elements

    spec, _ = tof_spectrum({**BASE, "C2H3+": 5e4, "C2H5+": 3e4, "Li+": 2e5}, n_channels=300_000, seed=seed,
                           resolving_power=1000, shots=None)
    spec = apply_calibration(spec, auto_calibrate(spec))
    al = {f.formula: f for f in identify_elements(spec, polarity="positive", elements=["Al"])}["Al+"]
    assert not al.present and "mass offset" in al.failed, al


@pytest.mark.parametrize("interferences", [False, True])
def test_single_isotope_intensity_is_unbiased_whatever_the_bin_phase(interferences):
    # ⁵⁹Co⁺ spans ~8.6 channels (m/Δm = 4000). Counting the bins whose centres fall in the window made
    # its intensity swing ±10 % with the bin phase, and the window merged with ⁵⁸NiH⁺ (10 mDa away, a
    # deciding interference in named mode) counted a wider interval than its capture fraction assumed
    # (+9 %). Over 6 noise seeds the mean z-score of an unbiased estimate is N(0, 1/√6): 4σ = 1.6.
    from ionscope.spectra.calibration import apply_calibration, auto_calibrate
    from ionscope.spectra.elements import identify_elements
    from ionscope.synth.spectra import tof_spectrum

    z = []
    for seed in range(6):
        spec, truth = tof_spectrum(shots=None, seed=seed)  # a lithium-metal SEI with Ni, Co, Ru, Pt
        spec = apply_calibration(spec, auto_calibrate(spec))
        fits = identify_elements(spec, polarity="positive", elements=["Co", "Ni", "Ru"],
                                 interferences=interferences)
        co = next(f for f in fits if f.formula == "Co+")
        z.append((co.intensity - truth.truth["species"]["Co+"]) / co.uncertainty)
    assert abs(np.mean(z)) < 4 / np.sqrt(6), z


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_light_ion_between_isolated_peaks_is_found_and_not_made_up(seed):
    """Below m/z 12 there is no molecular continuum: Li⁺ between H₂⁺, H₃⁺ and B⁺ peaks, which no linear
    background follows, is found from its ⁶Li/⁷Li pattern, and not reported where there is none."""
    light = {"H2+": 8e3, "H3+": 1e3, "B+": 1.5e4}
    spec, _ = tof_spectrum({**BASE, **light, "Li+": 2.5e3}, n_channels=3500, resolving_power=1700, shots=None,
                           seed=seed)
    fits = identify_elements(apply_calibration(spec, auto_calibrate(spec)), polarity="positive",
                             elements=["Li", "Ru"])
    li = next(f for f in fits if f.formula == "Li+")
    assert li.present and abs(li.intensity - 2.5e3) < 4 * li.uncertainty + 0.05 * 2.5e3, li
    spec, _ = tof_spectrum({**BASE, **light}, n_channels=3500, resolving_power=1700, shots=None, seed=seed)
    fits = identify_elements(apply_calibration(spec, auto_calibrate(spec)), polarity="positive",
                             elements=["Li", "Ru"])
    assert "Li" not in fits.present()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sodium_between_isolated_molecular_peaks_is_found_and_not_made_up(seed):
    """No molecular ion has m/z 20–23, so Na⁺ is judged without the contrast test: between the H₃O⁺, C₂⁺, C₂H⁺,
    C₂H₂⁺ and C₂H₃⁺ peaks, which no linear background follows, it was not detected at z > 200."""
    around = {"H3O+": 3e4, "C2+": 3e3, "C2H+": 6e3, "C2H2+": 1.5e4, "C2H3+": 5e4}
    base = {k: v for k, v in BASE.items() if k != "Na+"}
    for na in (2e4, 0.0):
        spec, _ = tof_spectrum({**base, **around, "Na+": na}, n_channels=3500, resolving_power=1700, shots=None,
                               t0_offset=0.0, k_rel_offset=0.0, seed=seed)  # exported m/z exact
        fits = identify_elements(spec, polarity="positive", elements=["Na", "Ru"])
        fit = next(f for f in fits if f.formula == "Na+")
        if na:
            assert fit.present and abs(fit.intensity - na) < 4 * fit.uncertainty + 0.05 * na, fit
        else:
            assert not fit.present, fit


def test_masses_no_molecular_ion_can_have():
    """CcHhNnOo ions with rings-plus-double-bonds ≥ −½ fill every nominal mass from 12 up except 20–23."""
    from ionscope.spectra.continuum import outside_molecular_continuum

    gaps = [n for n in range(1, 200) if outside_molecular_continuum(np.array([n + 0.01]))]
    assert gaps == [4, 5, 6, 7, 8, 9, 10, 11, 20, 21, 22, 23]
    assert outside_molecular_continuum(np.array([6.015, 7.016])) and outside_molecular_continuum([22.99])
    assert not outside_molecular_continuum(np.array([22.99, 38.96]))  # one isotopologue in the continuum
    assert not outside_molecular_continuum(np.array([]))


def test_oxide_ions_of_alkali_metals_follow_the_fragment_rule():
    """Na and Li are +1 in every oxide: NaO⁺ (which sits on ³⁹K⁺) and LiO₂⁻ are not expected, LiO⁻ is
    (Hirokawa et al. 2003)."""
    from ionscope.spectra.forms import oxide_fragment_allowed

    assert not oxide_fragment_allowed("Na", "{E}O", "positive")
    assert oxide_fragment_allowed("Li", "{E}O", "negative")
    assert not oxide_fragment_allowed("Li", "{E}O2", "negative")


def test_sandwich_sigma_carries_an_overlapping_species_misfit_to_a_one_window_species():
    """A one-window species fits its own window exactly, so its own misfit says nothing of how well an
    overlapping species' share there is known; the sandwich σ carries that species' misfit to it, and costs
    nothing where the model fits (White 1980)."""
    from ionscope.spectra.windowfit import _sigmas

    rng = np.random.default_rng(4)
    a = np.zeros((5, 2))
    a[:, 0] = 0.2  # a species spread over five windows, e.g. RuH⁺ …
    a[4, 1] = 1.0  # … and a one-window species on its last (Rh⁺ at 103)
    truth = np.array([1e5, 5e4])
    ratios = {}
    for name, misfit in (("fits", np.zeros(5)), ("misfit", np.array([0.3, -0.3, 0.3, -0.3, 0.0]))):
        b = rng.poisson(a @ truth * (1 + misfit)).astype(float)
        w = 1 / np.sqrt(np.maximum(b, 1))
        coef = np.linalg.lstsq(a * w[:, None], b * w, rcond=None)[0]
        plain, robust = _sigmas(a, b, w, coef), _sigmas(a, b, w, coef, robust=True)
        assert np.all(robust >= plain)
        ratios[name] = robust[1] / plain[1]
    assert ratios["fits"] < 2.0 and ratios["misfit"] > 5 * ratios["fits"], ratios
