"""Solver checks against exact cases: straight channels (τ = 1) and layered media (series/parallel)."""

from __future__ import annotations

import numpy as np
import pytest

from ionscope.micro.metrics import tortuosity
from ionscope.micro.tortuosity import percolating_cluster, solve_diffusion
from ionscope.model.errors import ValidationError
from ionscope.synth.fibsem import layered_medium, straight_channels

# The field is float32: exact cases are solved to tol=1e-5 (flux mismatch and last τ change) and
# must agree to 1e-4 relative.
TOL = 1e-4
EXACT = {"tol": 1e-5}


@pytest.mark.parametrize("spacing", [(1.0, 1.0, 1.0), (1.0, 2.0, 0.5)])
def test_straight_channels_have_unit_tortuosity_along_and_do_not_percolate_across(spacing):
    vol, truth = straight_channels(voxel_um=spacing)
    mask = vol.values == 1
    along = solve_diffusion(mask, "x", spacing, **EXACT)
    assert along.percolating
    assert along.tortuosity == pytest.approx(truth.truth["tortuosity"], rel=TOL)
    assert along.relative_diffusivity == pytest.approx(truth.truth["volume_fraction"], rel=TOL)
    for axis in ("z", "y"):
        across = solve_diffusion(mask, axis, spacing)
        assert not across.percolating and np.isnan(across.tortuosity) and across.relative_diffusivity == 0


def test_layered_medium_series_and_parallel():
    field, truth = layered_medium()
    mask = np.ones(field.shape, bool)
    tau_x = solve_diffusion(mask, "x", diffusivity=field, **EXACT).tortuosity
    tau_z = solve_diffusion(mask, "z", diffusivity=field, **EXACT).tortuosity
    assert tau_x == pytest.approx(truth.truth["tau_x"], rel=TOL)
    assert tau_z == pytest.approx(truth.truth["tau_z"], rel=TOL)


def test_dead_ends_carry_no_flux_and_islands_are_excluded():
    mask = np.zeros((10, 10, 20), bool)
    mask[2:5, 2:5, :] = True        # through channel
    mask[6:8, 6:8, 3:9] = True      # island
    mask[2:5, 5:9, 10] = True       # dead end attached to the channel
    cl = percolating_cluster(mask, "x")
    assert not cl[6:8, 6:8, 3:9].any() and cl[2:5, 5:9, 10].all()
    sol = solve_diffusion(mask, "x", **EXACT)
    # D_rel = channel area fraction; τ = ε / D_rel with ε counting every voxel of the phase
    d_rel = 9 / 100
    assert sol.relative_diffusivity == pytest.approx(d_rel, rel=TOL)
    assert sol.tortuosity == pytest.approx(mask.mean() / d_rel, rel=TOL)


def test_random_medium_tortuosity_is_finite_above_one_and_agrees_with_refined_solve():
    rng = np.random.default_rng(3)
    from scipy import ndimage

    mask = ndimage.gaussian_filter(rng.random((40, 40, 40)), 2) > 0.5
    loose = solve_diffusion(mask, "x")          # default accuracy
    tight = solve_diffusion(mask, "x", tol=1e-6, rtol=1e-9)
    assert 1.0 < tight.tortuosity < 10
    # the reported error estimate bounds the true error and meets the tolerance asked
    assert abs(loose.tortuosity / tight.tortuosity - 1) <= loose.relative_error <= loose.tolerance
    assert tight.relative_error <= 1e-4 and tight.iterations > loose.iterations


def test_non_percolating_phase_reports_false_never_infinite():
    vol, _ = straight_channels()
    res = tortuosity(vol, "pore", directions=("x", "y"))
    assert res["x"]["percolating"] and res["x"]["tortuosity"].value == pytest.approx(1.0, rel=TOL)
    assert res["y"]["percolating"] is False and "tortuosity" not in res["y"]
    assert any("does not percolate" in w for w in res.warnings)
    d = res.to_dict()
    assert d["y"]["percolating"] is False


def test_bad_inputs():
    with pytest.raises(ValidationError):
        solve_diffusion(np.ones((4, 4, 4), bool), "x", (1.0, 0.0, 1.0))
    with pytest.raises(ValidationError):
        solve_diffusion(np.ones((4, 4), bool), "y")
    vol, _ = straight_channels()
    with pytest.raises(ValidationError, match="not in the phase map"):
        tortuosity(vol, "nmc")


def test_axis_is_a_dimension_name_and_an_index_is_deprecated():
    mask = np.zeros((6, 6, 6), bool)
    mask[:, :, 2:4] = True  # a slab: connects the faces normal to z and y, not to x
    assert solve_diffusion(mask, "z").percolating and not solve_diffusion(mask, "x").percolating
    with pytest.warns(DeprecationWarning, match="by name"):
        old = solve_diffusion(mask, 0)
    assert old.tortuosity == pytest.approx(solve_diffusion(mask, "z").tortuosity)
    with pytest.raises(ValidationError, match="x, y or z"):
        solve_diffusion(mask, "w")
