"""Analytic models: stability, limits and identities (Crank 1975; Sharma et al. 2025,
doi:10.1080/14686996.2025.2580917, eqs. 3, 8)."""

import numpy as np
import pytest
from scipy.special import erfc

from ionscope.diffusion import models as m
from ionscope.model.errors import ValidationError

D, T = 1e-13, 86400.0
L = np.sqrt(D * T)


def test_eq8_stable_form_matches_naive_where_naive_works():
    x = np.linspace(0, 6 * L, 50)
    k = 2 * D / L  # h√(Dt) = 2: the naive product is still finite
    h = k / D
    naive = erfc(x / (2 * L)) - np.exp(h * x + h * h * D * T) * erfc(x / (2 * L) + h * L)
    np.testing.assert_allclose(m.surface_exchange_profile(x, D, k, T), naive, rtol=1e-12, atol=1e-15)


def test_eq8_no_overflow_and_fast_exchange_limit():
    x = np.linspace(0, 6 * L, 50)
    with np.errstate(over="raise", invalid="raise"):
        F = m.surface_exchange_profile(x, D, 1e6 * D / L, T)  # h√(Dt) = 1e6, naive exp overflows
    np.testing.assert_allclose(F, erfc(x / (2 * L)), atol=1e-6)
    np.testing.assert_array_equal(m.surface_exchange_profile(x, D, np.inf, T), erfc(x / (2 * L)))
    assert np.all(np.isfinite(m.surface_exchange_profile(np.linspace(0, 1e3 * L, 20), D, 1e-30, T)))


def test_eq8_slow_exchange_limit_is_linear_in_k():
    # h√(Dt) ≪ 1: surface uptake rate k·t fixes the amount; F(0) → 2h√(Dt)/√π
    k = 1e-6 * D / L
    assert m.surface_exchange_profile(0.0, D, k, T) == pytest.approx(2e-6 / np.sqrt(np.pi), rel=1e-5)


def test_couple_half_at_interface_and_symmetry():
    assert m.couple_profile(0.0, D, T) == pytest.approx(0.5)
    x = np.linspace(0, 5 * L, 10)
    np.testing.assert_allclose(m.couple_profile(x, D, T) + m.couple_profile(-x, D, T), 1.0, rtol=1e-14)


def test_finite_source_conserves_amount_and_film_limits():
    ell = 0.7 * L
    x = np.linspace(0, 20 * L, 20001)
    F = m.finite_source_profile(x, D, T, ell)
    assert np.trapezoid(F, x) == pytest.approx(ell, rel=1e-6)  # the reflecting surface keeps all tracer
    # a film much thicker than √(Dt) behaves like a semi-infinite exchange
    F_film = m.film_exchange_profile(np.linspace(0, 3 * L, 7), D, T, 100 * L)
    np.testing.assert_allclose(F_film, erfc(np.linspace(0, 3 * L, 7) / (2 * L)), atol=1e-12)
    # a thin blocking film fills up: long anneal → F ≈ 1 everywhere
    assert m.film_exchange_profile(np.array([0.1 * L]), D, T, 0.1 * L)[0] > 0.99


def test_gaussian_smear_preserves_linear_and_broadens_step():
    x = np.linspace(-5, 5, 11)
    np.testing.assert_allclose(m.gaussian_smear(lambda z: 2 * z + 1, x, 0.7), 2 * x + 1, rtol=1e-12)
    sm = m.gaussian_smear(lambda z: 0.5 * erfc(z / (2 * 1.0)), x, 1.0)
    # erfc with √(Dt)=1 convolved with σ: equivalent √(Dt) = √(1 + σ²/2)
    np.testing.assert_allclose(sm, 0.5 * erfc(x / (2 * np.sqrt(1.5))), atol=1e-10)


@pytest.mark.parametrize("D_bad,t_bad", [(1e-13, 0.0), (1e-13, -5.0), (0.0, 10.0), (np.nan, 10.0)])
def test_bad_parameters_raise(D_bad, t_bad):
    with pytest.raises(ValidationError):
        m.couple_profile([0.0], D_bad, t_bad)
