"""Profile fits against synthetic ground truth: exact recovery, uncertainty calibration, warnings, bad input."""

import numpy as np
import pytest

from ionscope.diffusion.fit import fit_profile
from ionscope.diffusion.fraction import isotope_fraction, natural_fraction
from ionscope.model.errors import ValidationError
from ionscope.synth.diffusion import isotope_exchange_profile

D0, K0, T0 = 1e-13, 3e-9, 86400.0  # h√(Dt) ≈ 2.8: both D and k shape the profile


def _noisy(da):
    iso = isotope_fraction(da.sel(peak="Li6").values, da.sel(peak="Li7").values)
    return iso.fraction, iso.uncertainty


def test_noise_free_surface_exchange_recovers_D_and_k_to_0p1_percent():
    da, truth = isotope_exchange_profile("surface-exchange", D=D0, k=K0, time_s=T0, seed=0)
    res = fit_profile(da.depth.values, truth.truth["fraction"], T0, model="surface-exchange")
    assert res["D_cm2_s"] == pytest.approx(D0, rel=1e-3)
    assert res["k_cm_s"] == pytest.approx(K0, rel=1e-3)
    assert res["c_background"].value == pytest.approx(0.0759, abs=1e-6)


def test_noise_free_couple_and_thin_film_with_resolution():
    da, truth = isotope_exchange_profile("couple", D=2e-15, time_s=3600, interface_nm=60, resolution_nm=3.0,
                                         max_depth_nm=150, seed=0)
    res = fit_profile(da.depth.values, truth.truth["fraction"], 3600, model="couple", resolution_nm=3.0)
    assert res["D_cm2_s"] == pytest.approx(2e-15, rel=1e-3)
    assert res["interface"].value == pytest.approx(60, rel=1e-4)
    da, truth = isotope_exchange_profile("thin-film", D=1e-15, time_s=3600, film_thickness_nm=100, seed=0)
    res = fit_profile(da.depth.values, truth.truth["fraction"], 3600, model="thin-film")
    assert res["D_cm2_s"] == pytest.approx(1e-15, rel=1e-3)
    assert res["thickness"].value == pytest.approx(100, rel=1e-3)


def test_fitted_resolution_degenerate_with_D_for_erfc_is_flagged():
    da, truth = isotope_exchange_profile("couple", D=2e-15, time_s=3600, interface_nm=60, resolution_nm=5.0,
                                         max_depth_nm=150, seed=0)
    res = fit_profile(da.depth.values, truth.truth["fraction"], 3600, model="couple", resolution_nm="fit")
    # an erfc smeared by a Gaussian is an erfc with Dt + σ²/2: D and the width cannot be separated, and the
    # fit must say so instead of reporting either
    assert any("D and resolution_cm are not separately identifiable" in w for w in res.warnings)
    Dt_eff = res["D_cm2_s"] * 3600 + (res["resolution"].value * 1e-7) ** 2 / 2
    assert Dt_eff == pytest.approx(2e-15 * 3600 + (5e-7) ** 2 / 2, rel=1e-4)


@pytest.mark.slow
def test_uncertainties_are_calibrated_over_50_poisson_repetitions():
    # 2e4 counts per point (≈ 1 % counting error on the fraction): the 2σ interval must contain the
    # truth in ≥ 90 % of repetitions (binomial: 95 % nominal, 90 % is 2.3σ below for n = 50)
    hits_D = hits_k = 0
    for seed in range(50):
        da, _ = isotope_exchange_profile("surface-exchange", D=D0, k=K0, time_s=T0, n_points=120, seed=seed)
        frac, sig = _noisy(da)
        res = fit_profile(da.depth.values, frac, T0, sigma=sig)
        hits_D += abs(res["D_cm2_s"] - D0) < 2 * res["D_err_cm2_s"]
        hits_k += abs(res["k_cm_s"] - K0) < 2 * res["k_err_cm_s"]
    assert hits_D >= 45 and hits_k >= 45


def test_bootstrap_uncertainty_agrees_with_covariance():
    da, _ = isotope_exchange_profile("couple", D=2e-15, time_s=3600, interface_nm=60, max_depth_nm=150,
                                     n_points=80, seed=3)
    frac, sig = _noisy(da)
    cov = fit_profile(da.depth.values, frac, 3600, model="couple", sigma=sig)
    boot = fit_profile(da.depth.values, frac, 3600, model="couple", sigma=sig, uncertainty="bootstrap", n_boot=40)
    # 40 refits estimate σ to ±11 % (1σ); a nearly linear problem should agree within 40 %
    assert boot["D_err_cm2_s"] == pytest.approx(cov["D_err_cm2_s"], rel=0.4)


def test_fast_exchange_warns_k_undetermined():
    da, truth = isotope_exchange_profile("surface-exchange", D=D0, k=1e-4, time_s=T0, seed=0)
    frac, sig = _noisy(da)
    res = fit_profile(da.depth.values, frac, T0, sigma=sig)
    assert any("k is undetermined" in w or "k is poorly determined" in w or "at its bound" in w
               for w in res.warnings)
    assert res["D_cm2_s"] == pytest.approx(D0, rel=0.1)


def test_validity_warnings_short_profile_and_thickness():
    da, truth = isotope_exchange_profile("semi-infinite", D=D0, time_s=T0, max_depth_nm=1200, seed=0)
    frac, sig = _noisy(da)
    res = fit_profile(da.depth.values, frac, T0, model="surface-exchange", sigma=sig, background=0.0759,
                      sample_thickness_nm=2000)
    text = " ".join(res.warnings)
    assert "not reached the background" in text
    assert "thickness" in text
    coarse = fit_profile(np.array([0.0, 2000, 4000, 6000, 8000]), np.array([0.9, 0.3, 0.09, 0.076, 0.0759]), T0,
                         model="couple")
    assert any("gradient" in w for w in coarse.warnings)


def test_auto_prefers_surface_exchange_on_surface_exchange_data():
    da, _ = isotope_exchange_profile("surface-exchange", D=D0, k=1e-9, time_s=T0, total_counts=1e5, seed=2)
    frac, sig = _noisy(da)
    res = fit_profile(da.depth.values, frac, T0, model="auto", sigma=sig)
    assert res["model"] == "surface-exchange"
    assert {r["model"] for r in res["comparison"]} == {"couple", "surface-exchange", "thin-film"}


def test_fraction_uncertainty_and_natural_background():
    iso = isotope_fraction(np.array([100.0, 0.0]), np.array([300.0, 50.0]))
    f, s = iso.fraction, iso.uncertainty
    assert f[0] == pytest.approx(0.25)
    assert s[0] == pytest.approx(np.sqrt(0.25 * 0.75 / 400))
    assert s[1] > 0
    assert natural_fraction("Li6", "Li7") == pytest.approx(0.0759 / (0.0759 + 0.9241))
    with pytest.raises(ValidationError):
        natural_fraction("Xx9", "Li7")


def test_dead_time_corrected_fraction():
    f_raw = isotope_fraction(np.array([500.0]), np.array([900.0])).fraction
    from ionscope.kernels.deadtime import DeadTimeWarning

    with pytest.warns(DeadTimeWarning):  # 90 % of shots hit: a large correction, rightly flagged
        iso = isotope_fraction(np.array([500.0]), np.array([900.0]), shots=1000)
        f_dt, s_dt = iso.fraction, iso.uncertainty
    # the stronger channel loses more counts to dead time: correction raises its share
    assert f_dt[0] < f_raw[0] and s_dt[0] > 0


@pytest.mark.parametrize("depth,frac,match", [
    ([0, 1, 2], [0.5, 1.2, 0.1], "within \\[0, 1\\]"),
    ([0, 1, 2], [0.5, -0.1, 0.1], "within \\[0, 1\\]"),
    ([0, 2, 1], [0.9, 0.5, 0.1], "increase strictly"),
    ([5.0], [0.5], "at least 3 points"),
])
def test_bad_profiles_raise_specific_errors(depth, frac, match):
    with pytest.raises(ValidationError, match=match):
        fit_profile(depth, frac, 100.0)


def test_bad_time_and_model():
    with pytest.raises(ValidationError, match="positive"):
        fit_profile([0, 1, 2, 3], [0.9, 0.5, 0.2, 0.1], 0.0)
    with pytest.raises(ValidationError, match="unknown diffusion model"):
        fit_profile([0, 1, 2, 3], [0.9, 0.5, 0.2, 0.1], 10.0, model="nope")


def test_two_layer_numerical_model_reduces_to_erfc_for_equal_D():
    from scipy.special import erfc

    from ionscope.diffusion.fit import model_function

    L_nm = np.sqrt(D0 * T0) * 1e7
    f = model_function("two-layer", T0, film_thickness_cm=0.5 * L_nm * 1e-7)
    depth = np.linspace(0, 5 * L_nm, 40)
    np.testing.assert_allclose(f(depth, D=D0, D_substrate=D0), erfc(depth / (2 * L_nm)), atol=2e-3)
    # a slow substrate holds the tracer back in the film
    slow = f(depth, D=D0, D_substrate=D0 / 100)
    assert slow[depth > L_nm].max() < f(depth, D=D0, D_substrate=D0)[depth > L_nm].max()


def test_bounds_mapping_and_the_former_keywords():
    da, truth = isotope_exchange_profile("surface-exchange", D=D0, k=K0, time_s=T0, seed=0)
    x, f = da.depth.values, truth.truth["fraction"]
    tight = fit_profile(x, f, T0, model="surface-exchange", bounds={"D": (1e-16, 1e-14)})
    assert tight["D_cm2_s"] == pytest.approx(1e-14, rel=1e-3)  # held at the upper bound, with a warning
    assert any("bound" in w for w in tight.warnings)
    with pytest.warns(DeprecationWarning, match="D_bounds"):
        old = fit_profile(x, f, T0, model="surface-exchange", D_bounds=(1e-16, 1e-14))
    assert old["D_cm2_s"] == tight["D_cm2_s"]
    assert tuple(old.provenance["parameters"]["D_bounds"]) == (1e-16, 1e-14)  # provenance keeps its keys
    for bad in ({"E": (1, 2)}, {"D": (2e-12, 1e-12)}, {"k": "fast"}):
        with pytest.raises(ValidationError, match="bounds"):
            fit_profile(x, f, T0, model="surface-exchange", bounds=bad)
