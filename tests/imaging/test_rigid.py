"""Rigid / similarity / affine registration of image pairs against synthetic truth."""

from __future__ import annotations

import numpy as np
import pytest

from ionscope.imaging.registration import warp_image
from ionscope.imaging.rigid import (
    about_centre,
    centre_displacement,
    estimate_transform,
    rotation_angle_deg,
    rotation_matrix,
    rotation_scale,
)
from ionscope.model.errors import ValidationError
from ionscope.synth.fibsem import image_stack, three_phase_electrode


@pytest.fixture(scope="module")
def section():
    vol, _ = three_phase_electrode((1, 96, 96), seed=2)
    return np.repeat(vol.values, 2, axis=0)


def _pair(section, seed, **kw):
    stack, truth = image_stack(section, stripe_amplitude=0, shading=0, drift_step_px=2.0, seed=seed, **kw)
    a = np.asarray(stack)
    return a[0], a[1], truth.truth["transform"][1]


@pytest.mark.slow
def test_rigid_recovers_pair_and_error_is_calibrated(section):
    z, errs = [], []
    for seed in range(100, 120):
        ref, mov, t = _pair(section, seed, rotation_deg=2.0)
        r = estimate_transform(ref, mov, "rigid")
        assert r["converged"]
        e = np.r_[r["shift_px"] - centre_displacement(t, ref.shape), np.radians(r["angle_deg"] - rotation_angle_deg(t))]
        errs.append(e)
        z.append(e / [r["stderr"]["dy"], r["stderr"]["dx"], r["stderr"]["angle"]])
    errs = np.abs(errs)
    # noise σ = 12 grey levels against phase steps of 80–160 on a 96² image: Gauss–Newton σ ≈ 0.02 px and
    # ≈ 0.01°; 0.2 px / 0.1° leave room for the interpolation bias of the blurred phase boundaries
    assert errs[:, :2].max() < 0.2 and np.degrees(errs[:, 2]).max() < 0.1
    # the reported standard errors describe the scatter over 20 noise realisations (within a factor 2.5:
    # the smoothing-correlation factor 4πσ² is approximate, and 20 draws give ±16 % on a standard deviation)
    spread = np.asarray(z).std(axis=0)
    assert np.all((spread > 0.4) & (spread < 2.5)), spread


def test_large_rotation_uses_log_polar_start(section):
    ref, mov, t = _pair(section, 7, rotation_deg=20.0)
    assert abs(rotation_angle_deg(t)) > 10
    # log-polar grid of 360 angles over 180° (0.5° bins) refined ×20: within a bin of the truth
    rs = rotation_scale(ref, mov)
    angle, scale = rs.angle, rs.scale
    assert abs(np.degrees(angle) - rotation_angle_deg(t)) < 0.5 and abs(scale - 1) < 0.02
    r = estimate_transform(ref, mov, "rigid")
    assert abs(r["angle_deg"] - rotation_angle_deg(t)) < 0.1
    np.testing.assert_allclose(r["shift_px"], centre_displacement(t, ref.shape), atol=0.2)


def test_similarity_recovers_scale(section):
    ref = image_stack(section, stripe_amplitude=0, shading=0, drift_step_px=0.0, seed=3)[0].values[0]
    truth = about_centre(rotation_matrix(np.radians(6.0), 1.04), ((95) / 2, 95 / 2))
    # moving(q) = ref(T⁻¹ q): the reference point p is seen at T p
    mov = warp_image(ref, np.linalg.inv(truth), ref.shape, order=3, mode="nearest")
    mov = mov + np.random.default_rng(0).normal(0, 12, mov.shape)
    scale = rotation_scale(ref, mov).scale
    # log-radius bins of ln(0.45·48)/127 ≈ 2.4 % refined ×20
    assert abs(scale - 1.04) < 0.01
    r = estimate_transform(ref, mov, "similarity")
    lin = r["matrix"][:2, :2]
    assert abs(np.sqrt(abs(np.linalg.det(lin))) - 1.04) < 2e-3
    assert abs(r["angle_deg"] - 6.0) < 0.1
    # rigid cannot absorb a 4 % scale: its residual stays larger
    assert estimate_transform(ref, mov, "rigid")["residual"] > 1.5 * r["residual"]


def test_affine_recovers_shear(section):
    ref, mov, t = _pair(section, 11, rotation_deg=1.0, shear=0.02)
    r = estimate_transform(ref, mov, "affine")
    # reported σ ≈ 5e-4 per linear element on a 96² image (noise 12, steps ≥ 80); 2e-3 is 4σ. A shear of
    # 0.015 changes the symmetric part by ≈ γ/2 = 7e-3, which rigid cannot follow
    np.testing.assert_allclose(r["matrix"][:2, :2], t[:2, :2], atol=2e-3)
    np.testing.assert_allclose(r["shift_px"], centre_displacement(t, ref.shape), atol=0.2)
    rigid = estimate_transform(ref, mov, "rigid")
    assert np.abs(rigid["matrix"][:2, :2] - t[:2, :2]).max() > 5e-3


def test_bad_pairs():
    img = np.random.default_rng(0).random((32, 32))
    with pytest.raises(ValidationError, match="same shape"):
        estimate_transform(img, img[:20])
    with pytest.raises(ValidationError, match="unknown transform model"):
        estimate_transform(img, img, "projective")
    with pytest.raises(ValidationError, match="too small"):
        estimate_transform(img[:8, :8], img[:8, :8])
    bad = img.copy()
    bad[3, 3] = np.nan
    with pytest.raises(ValidationError, match="NaN"):
        estimate_transform(img, bad)
    with pytest.raises(ValidationError, match="levels"):
        estimate_transform(img, img, levels=0)
