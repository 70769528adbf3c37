"""Registration accuracy on simulated pairs with the exact transform, and the TRE estimates."""

from __future__ import annotations

import numpy as np
import pytest

from ionscope.correlate.grid import grid_of, registration_plane
from ionscope.correlate.register import curvature_tre, landmark_fit, landmark_tre, map_points, register_planes
from ionscope.synth.correlative import correlative_pair


def _true_error_px(transform, sem, sims, truth) -> float:
    """RMS distance (SIMS pixels) between estimated and true positions of the SIMS pixels on the SEM."""
    fg, mg = grid_of(sem, "fixed"), grid_of(sims, "moving")
    pts = mg.centres()
    m = truth.truth["matrix"]
    true = pts @ m[:2, :2].T + m[:2, 2]
    ok = fg.inside(true)
    err = map_points(transform, pts[ok]) - true[ok]
    return float(np.sqrt(np.mean(np.sum(err ** 2, axis=1)))) / mg.pixel_um[0]


# 4× pixel ratio, rotations up to 15°, centre shifts of 20–40 SEM pixels, 5–50 counts per pixel.
CASES = [(1, 15.0, (3.0, 2.0)), (2, -12.0, (-4.0, 2.5)), (3, 6.0, (2.0, -4.0))]


@pytest.mark.parametrize(("seed", "rotation", "shift"), CASES)
@pytest.mark.slow
def test_tre_below_half_a_sims_pixel(seed, rotation, shift):
    """The target: TRE ≤ 0.5 SIMS pixel on pairs with the exact transform known."""
    sem, sims, truth = correlative_pair((256, 256), seed=seed, rotation_deg=rotation, shift_um=shift)
    fg, mg = grid_of(sem, "fixed"), grid_of(sims, "moving")
    reg = register_planes(sem.values, fg, registration_plane(sims, None, True), mg)
    err = _true_error_px(reg.transform, sem, sims, truth)
    assert err <= 0.5
    curv = curvature_tre(reg, mg, fg)
    tre, cov = curv["tre"], curv["covariance"]
    assert tre is not None and cov.shape == (4, 4)
    # the curvature estimate is a TRE of the same order as the true error (here ≲ 0.1 px); it must not
    # be many times smaller than what is observed, which would make uncertainties meaningless
    assert tre / mg.pixel_um[0] > err / 10


@pytest.mark.slow
def test_affine_model_and_bspline_refinement_stay_accurate():
    sem, sims, truth = correlative_pair((256, 256), seed=4, rotation_deg=-9.0, shift_um=(2.0, 1.0))
    fg, mg = grid_of(sem, "fixed"), grid_of(sims, "moving")
    plane = registration_plane(sims, None, True)
    aff = register_planes(sem.values, fg, plane, mg, model="affine")
    assert _true_error_px(aff.transform, sem, sims, truth) <= 0.5
    bs = register_planes(sem.values, fg, plane, mg, bspline_mesh=3)
    assert _true_error_px(bs.transform, sem, sims, truth) <= 0.5


def test_landmark_fit_and_leave_one_out_error():
    """Landmarks clicked with 0.1 µm (1σ per axis) scatter: the leave-one-out TRE is of that size."""
    rng = np.random.default_rng(0)
    th = np.deg2rad(12)
    m = np.array([[np.cos(th), -np.sin(th), 5.0], [np.sin(th), np.cos(th), -2.0], [0, 0, 1]])
    mov = rng.uniform(0, 30, size=(12, 2))
    fix = mov @ m[:2, :2].T + m[:2, 2] + rng.normal(0, 0.1, size=(12, 2))
    est = landmark_fit(mov, fix, "similarity")
    assert np.allclose(est[:2, :2], m[:2, :2], atol=0.01)
    tre = landmark_tre(mov, fix, "similarity")
    # expected prediction error of a new point: √2·0.1 µm (2-D scatter) inflated slightly by the fit
    assert 0.05 < tre < 0.3
    assert landmark_tre(mov[:2], fix[:2], "similarity") is None


def test_registration_plane_prefers_the_contrasted_combination():
    sem, sims, _ = correlative_pair((128, 128), seed=2)
    plane = registration_plane(sims, None, True)
    assert plane.shape == sims.shape[:2]
    one = registration_plane(sims, ["^7Li+"], True)
    assert np.allclose(one, 2 * np.sqrt(sims.sel(peak="^7Li+").values + 0.375))
