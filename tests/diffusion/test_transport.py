"""Arrhenius, Nernst–Einstein, Haven ratio and thermodynamic factor (Sharma et al. 2025,
doi:10.1080/14686996.2025.2580917, eqs. 2, 4–7)."""

import numpy as np
import pytest

from ionscope.diffusion.transport import (
    K_B_EV,
    arrhenius,
    arrhenius_D,
    chemical_diffusion,
    haven_ratio,
    nernst_einstein,
    thermodynamic_factor,
)
from ionscope.model.errors import ValidationError

T25 = 298.15
D25, EA = 6.0e-13, 0.58  # amorphous Li3PO4 (Sharma et al. 2025)
D0 = D25 / np.exp(-EA / (K_B_EV * T25))


def test_arrhenius_li3po4_recovers_0p58_eV_within_uncertainty():
    rng = np.random.default_rng(0)
    T = np.array([298.15, 323.15, 348.15, 373.15, 398.15, 423.15])
    D_true = arrhenius_D(T, D0, EA)
    rel = 0.05  # 5 % per-point uncertainty, typical of a profile fit
    D = D_true * (1 + rel * rng.standard_normal(T.size))
    res = arrhenius(T, D, rel * D)
    assert abs(res["Ea_eV"] - EA) < 2 * res["Ea_err_eV"]
    assert 0.005 < res["Ea_err_eV"] < 0.05
    assert arrhenius_D(T25, res["D0_cm2_s"], res["Ea_eV"]) == pytest.approx(D25, rel=0.1)
    exact = arrhenius(T, D_true, rel * D_true)
    assert exact["Ea_eV"] == pytest.approx(EA, rel=1e-10)
    assert exact["D0_cm2_s"] == pytest.approx(D0, rel=1e-8)


def _scattered(chi2_red, n=4, rel=0.05):
    """Points on the Li₃PO₄ line moved off it, orthogonally to the fitted line, so that the weighted
    fit returns the true Eₐ and D₀ with exactly this χ²_red (ν = n − 2)."""
    T = np.linspace(300.0, 450.0, n)
    A = np.c_[np.ones(n), -1.0 / (K_B_EV * T)]
    v = np.resize([1.0, -1.0, -1.0, 1.0], n)
    v = v - A @ np.linalg.lstsq(A, v, rcond=None)[0]
    eps = rel * np.sqrt(chi2_red * (n - 2)) / np.linalg.norm(v)
    D = arrhenius_D(T, D0, EA) * np.exp(eps * v)
    return T, D, rel * D


def test_arrhenius_poor_fit_rule_at_its_boundary():
    """ν = 2: the limit is 1 + 3√(2/2) = 4 (Birge 1932, doi:10.1103/PhysRev.40.207, for the inflation).
    Just below it nothing is flagged (a fixed χ²_red > 3 would have been); just above, a warning and
    uncertainties × √χ²_red."""
    below = arrhenius(*_scattered(0.95 * 4.0))
    above = arrhenius(*_scattered(1.05 * 4.0))
    assert below["chi2_red_limit"] == above["chi2_red_limit"] == pytest.approx(4.0)
    assert below["chi2_red"] == pytest.approx(3.8) and below["chi2_red"] > 3
    assert below["birge_ratio"] == 1.0 and not below.warnings
    assert above["chi2_red"] == pytest.approx(4.2)
    assert above["birge_ratio"] == pytest.approx(np.sqrt(4.2))
    assert len(above.warnings) == 1 and "poor Arrhenius fit" in above.warnings[0] and "ν = 2" in above.warnings[0]
    # the same points and weights give the same covariance: only the Birge ratio differs
    assert above["Ea"].value == pytest.approx(EA, rel=1e-9) and below["Ea"].value == pytest.approx(EA, rel=1e-9)
    assert above["Ea"].uncertainty == pytest.approx(below["Ea"].uncertainty * np.sqrt(4.2), rel=1e-9)
    assert above["D0"].uncertainty > below["D0"].uncertainty
    assert above["correlation_lnD0_Ea"] == pytest.approx(below["correlation_lnD0_Ea"])


def test_arrhenius_poor_fit_rule_needs_uncertainties_and_degrees_of_freedom():
    T, D, err = _scattered(10.0)
    unweighted = arrhenius(T, D)  # covariance scaled by the residual variance: no Birge ratio on top
    assert unweighted["birge_ratio"] == 1.0 and not unweighted.warnings
    two = arrhenius(T[:2], D[:2], err[:2])  # ν = 0: nothing to judge
    assert two["chi2_red_limit"] is None and two["birge_ratio"] == 1.0 and not two.warnings


def test_haven_ratio_0p55_when_D_sigma_constructed_to_match():
    n = 2.4e22  # Li per cm³ in Li3PO4 (order of magnitude)
    T = np.array([298.15, 333.15, 373.15])
    for Ti in T:
        Dstar = arrhenius_D(Ti, D0, EA)
        Dsig = arrhenius_D(Ti, D25 / 0.55 / np.exp(-0.55 / (K_B_EV * T25)), 0.55)  # H_R = 0.55 at 25 °C
        sigma = Dsig * n * 1.602176634e-19 ** 2 / (1.380649e-23 * Ti)
        res = haven_ratio(Dstar, sigma, n, Ti, D_star_uncertainty=0.05 * Dstar, sigma_uncertainty=0.02 * sigma)
        assert res["D_sigma_cm2_s"] == pytest.approx(Dsig, rel=1e-12)
        if Ti == T25:
            assert res["haven_ratio"] == pytest.approx(0.55, rel=1e-9)
            assert res["haven_ratio_err"] == pytest.approx(0.55 * np.hypot(0.05, 0.02), rel=1e-9)
        else:  # Eₐ(D*) > Eₐ(D_σ): H_R grows slowly with T, stays near 0.55
            assert 0.55 < res["haven_ratio"] < 0.7


def test_nernst_einstein_units():
    # σ = 1e-3 S/cm, n = 1e22 cm⁻³ at 300 K → D_σ = kT σ / (n e²) ≈ 1.6e-8 cm²/s
    assert nernst_einstein(1e-3, 1e22, 300.0) == pytest.approx(1.6136e-8, rel=1e-4)  # worked by hand


def test_thermodynamic_factor_ideal_solution():
    # ideal lattice gas: E = E0 − (kT/e) ln(x/(1−x)) ⇒ Θ = 1/(1−x)
    T = 298.15
    x = np.linspace(0.2, 0.8, 61)
    rng = np.random.default_rng(1)
    E = 4.0 - K_B_EV * T * np.log(x / (1 - x)) + 2e-4 * rng.standard_normal(x.size)
    theta = thermodynamic_factor(x, E, T).theta
    inner = slice(8, -8)  # spline derivatives are least certain at the ends
    np.testing.assert_allclose(theta[inner], 1 / (1 - x[inner]), rtol=0.1)
    np.testing.assert_allclose(chemical_diffusion(theta, 2e-12), theta * 2e-12)


@pytest.mark.parametrize("T", [25.0, -10.0, 5000.0])
def test_implausible_kelvin_rejected(T):
    with pytest.raises(ValidationError):
        arrhenius([T, 350.0, 400.0], [1e-13, 1e-12, 1e-11])


def test_arrhenius_needs_enough_points():
    with pytest.raises(ValidationError, match="three"):
        arrhenius([300.0, 400.0], [1e-13, 1e-12])


def test_chemical_from_tracer_propagates_relative_errors():
    from ionscope.diffusion.transport import chemical_from_tracer

    r = chemical_from_tracer(6e-13, 12.0, 0.55, D_star_err=6e-14, theta_err=1.2, haven_err=0.055)
    assert r["D_chemical"].value == pytest.approx(12 * 6e-13 / 0.55)
    # three independent 10 % errors: √3 × 10 %
    assert r["D_chemical"].relative_uncertainty == pytest.approx(np.sqrt(3) * 0.1)
    assert r["D_sigma"].relative_uncertainty == pytest.approx(np.sqrt(2) * 0.1)
    with pytest.raises(ValidationError, match="spinodal"):
        chemical_from_tracer(6e-13, -1.0, 0.55)


def test_old_uncertainty_names_still_work_with_a_warning():
    with pytest.warns(DeprecationWarning, match="D_star_uncertainty"):
        old = haven_ratio(1e-12, 1e-3, 1e22, 300.0, D_star_err=1e-13)
    new = haven_ratio(1e-12, 1e-3, 1e22, 300.0, D_star_uncertainty=1e-13)
    assert old["H_R"] == new["H_R"] and new["H_R"].uncertainty == pytest.approx(0.1 * new["H_R"].value)
    T = np.array([500.0, 600.0, 700.0])
    D = 1e-3 * np.exp(-1.0 / (8.617333262e-5 * T))
    with pytest.warns(DeprecationWarning, match="D_uncertainty"):
        a = arrhenius(T, D, D_err=0.05 * D)
    assert a["Ea"].value == pytest.approx(1.0, rel=1e-6)
