"""Numerical solvers against the analytic solutions and the Le Claire slope."""

import numpy as np
import pytest

from ionscope.diffusion.fick1d import Layer, Surface, converged_profile, solve_fick_1d
from ionscope.diffusion.gb2d import solve_grain_boundary
from ionscope.diffusion.grain_boundary import le_claire
from ionscope.diffusion.models import couple_profile, semi_infinite_profile, surface_exchange_profile

D, T = 1e-13, 86400.0
L = np.sqrt(D * T)


@pytest.mark.parametrize("hsqrt", [0.3, 3.0])
def test_fick_reproduces_eq8_to_1e6(hsqrt):
    k = hsqrt * D / L
    x = np.linspace(0, 8 * L, 120)
    conv = converged_profile([Layer(14 * L, D, cells=200)], T, x, surface=Surface(1.0, k))
    num, est = conv.profile, conv["error_estimate"]
    ref = surface_exchange_profile(x, D, k, T)
    assert np.max(np.abs(num - ref)) / ref.max() < 1e-6
    assert est < 1e-4  # the grid-error estimate is honest and small


def test_fick_reproduces_eq3_couple_to_1e6():
    x = np.linspace(-6 * L, 6 * L, 121)
    layers = [Layer(14 * L, D, initial=1.0, cells=200), Layer(14 * L, D, initial=0.0, cells=200)]
    num = converged_profile(layers, T, x + 14 * L, surface=None).profile
    assert np.max(np.abs(num - couple_profile(x, D, T))) < 1e-6


def test_partition_coefficient_sets_interface_jump():
    # long anneal of a closed two-layer stack: equilibrium C_right / C_left = K everywhere
    layers = [Layer(L, D, initial=1.0, cells=30), Layer(L, D, initial=0.0, partition=3.0, cells=30)]
    sol = solve_fick_1d(layers, 50 * T, surface=None, rtol=1e-9, atol=1e-12)
    left, right = sol.C[-1][sol.layer_of_cell == 0], sol.C[-1][sol.layer_of_cell == 1]
    assert right.mean() / left.mean() == pytest.approx(3.0, rel=1e-4)
    assert (left.mean() + right.mean()) * L == pytest.approx(L, rel=1e-6)  # tracer conserved (equal thickness)


def test_concentration_dependent_D_conserves_tracer():
    layers = [Layer(2 * L, lambda c, t: D * (1 + 4 * c), initial=1.0, cells=60),
              Layer(10 * L, lambda c, t: D * (1 + 4 * c), initial=0.0, cells=120)]
    sol = solve_fick_1d(layers, T, surface=None, rtol=1e-8, atol=1e-12)
    widths = np.diff(sol.faces)
    assert sol.C[-1] @ widths == pytest.approx(2 * L, rel=1e-6)
    # faster diffusion at high C pushes the front deeper than constant D would
    const = solve_fick_1d([Layer(2 * L, D, initial=1.0, cells=60), Layer(10 * L, D, cells=120)], T, surface=None)
    assert sol.profile([3 * L])[0] > const.profile([3 * L])[0]


def test_time_dependent_D_ramp_equals_integrated_Dt():
    # D(t) rising linearly (a heating ramp): the profile is erfc with the integral ∫D dt = D T
    ramp = Layer(14 * L, lambda c, t: np.full_like(c, D * (0.5 + t / T)), cells=200)
    sol = solve_fick_1d([ramp], T, surface=Surface(1.0), rtol=1e-9, atol=1e-12)
    x = np.linspace(0, 5 * L, 30)
    np.testing.assert_allclose(sol.profile(x), semi_infinite_profile(x, D, T), atol=2e-4)


def test_grain_boundary_solver_reproduces_le_claire_in_type_B():
    Db, Dgb, delta, t = 1e-14, 1e-9, 5e-8, 1e4  # β ≈ 250: type B
    sol = solve_grain_boundary(Db, Dgb, delta, t, grain_size=4e-4, depth=2.5e-3, ny_max=60)
    x_nm = np.linspace(10, 20000, 300)
    res = le_claire(x_nm, sol.averaged(x_nm * 1e-7), t, Db)
    # Le Claire's constant 1.322 is an asymptotic fit good to a few % for 10 < β < 10⁴; the grid adds ~1 %
    assert res["delta_Dgb_cm3_s"] == pytest.approx(delta * Dgb, rel=0.08)
    assert res["regime"] == "B" and not res.warnings


def test_grain_boundary_default_solver_is_exact_in_time(monkeypatch):
    """With a fixed surface source the default solver has no time-discretisation error.

    BDF2 is second order: 4× more steps per doubling of time shrink its error 16× (from ≈ 2e-4 of
    the source at 12 steps to ≈ 1.3e-5 at 48), so the exact field must lie within 3e-5 of the
    48-step BDF2 field and the 12-step BDF2 field must lie ≥ 1e-4 away. The default path does not
    time-step at all (the BDF2 integrator is not called).
    """
    from ionscope.diffusion import gb2d

    args = (1e-14, 1e-9, 5e-8, 1e4)
    kw = {"grain_size": 4e-4, "depth": 12000e-7 * 1.3, "ny_max": 30}
    fine = gb2d.solve_grain_boundary(*args, **kw, method="bdf2", steps_per_doubling=48).C
    coarse = gb2d.solve_grain_boundary(*args, **kw, method="bdf2").C

    def no_steps(*a, **k):
        raise AssertionError("the fixed-source solver should not time-step")

    monkeypatch.setattr(gb2d, "bdf2_symmetric", no_steps)
    exact = gb2d.solve_grain_boundary(*args, **kw).C
    assert np.max(np.abs(exact - fine)) < 3e-5
    assert np.max(np.abs(exact - coarse)) > 1e-4


def test_grain_boundary_finite_exchange_uses_bdf2():
    """A finite surface exchange k is not separable: the spectral solver refuses it, BDF2 solves it."""
    from ionscope.diffusion.gb2d import solve_grain_boundary
    from ionscope.model.errors import ValidationError

    kw = {"grain_size": 4e-4, "depth": 5e-4, "ny_max": 20, "k": 1e-8}
    with pytest.raises(ValidationError, match="k = inf"):
        solve_grain_boundary(1e-14, 1e-9, 5e-8, 1e4, **kw, method="spectral")
    sol = solve_grain_boundary(1e-14, 1e-9, 5e-8, 1e4, **kw)
    assert 0 < sol.mean_profile[0] < 1  # the surface lags behind the source with a finite k
