"""Registration: sub-pixel drift by phase correlation, shifts, landmarks and intensity-based fits."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from ionscope.imaging.registration import (
    affine_from_landmarks,
    apply_shifts,
    estimate_shifts,
    register_intensity,
    similarity_matrix,
    warp_image,
)
from ionscope.model.errors import ValidationError
from ionscope.operando.analysis import registration_image


def _scene(shape=(96, 112), seed=0):
    rng = np.random.default_rng(seed)
    img = ndimage.gaussian_filter(rng.random(shape), 3)
    return (img - img.min()) / np.ptp(img)


def _fourier_shift(img, dy, dx):
    ky, kx = np.fft.fftfreq(img.shape[0])[:, None], np.fft.fftfreq(img.shape[1])[None, :]
    return np.fft.ifft2(np.fft.fft2(img) * np.exp(-2j * np.pi * (ky * dy + kx * dx))).real


def test_known_subpixel_shifts_noise_free():
    img = _scene()
    true = np.array([[0, 0], [1.3, -2.45], [-3.7, 0.6], [0.25, 4.1]])
    stack = np.stack([_fourier_shift(img, *d) for d in true])
    # periodic, band-limited shifts: plain phase correlation is exact to the 1/upsample grid
    est = estimate_shifts(stack, 0, upsample=40, window_alpha=0, smooth_px=0, edges=False)
    np.testing.assert_allclose(est, -true, atol=0.026)
    # the defaults (smoothing, gradient images, taper) cost a little accuracy on this ideal case
    np.testing.assert_allclose(estimate_shifts(stack, 0, upsample=40), -true, atol=0.05)
    found = estimate_shifts(stack, 0, upsample=40, return_error=True)
    np.testing.assert_allclose(found.shifts, -true, atol=0.05)
    assert found.peak_heights.shape == (4,) and np.all(found.peak_heights <= 1.0 + 1e-6)


def test_robust_to_intensity_change():
    img = _scene()
    moved = _fourier_shift(img, 2.4, -1.2)
    # half the scene doubles its intensity (a "charged" region); the edges stay where they are
    moved = moved * np.where(np.arange(img.shape[1])[None, :] < 50, 2.0, 1.0) + 0.3
    est = estimate_shifts(np.stack([img, moved]), 0)
    np.testing.assert_allclose(est[1], [-2.4, 1.2], atol=0.15)


def test_synthetic_series_drift_below_0p2_px(cell):
    series, _, truth, *_ = cell
    est = estimate_shifts(registration_image(series), 0)
    # issue acceptance: < 0.2 px on the synthetic series (Poisson counts, yields changing with SOC)
    assert np.abs(est - truth.truth["shifts_px"]).max() < 0.2
    assert np.abs(truth.truth["shifts_px"]).max() > 1.0  # the drift is real


def test_previous_and_mean_references(cell):
    series, _, truth, *_ = cell
    img = registration_image(series)[:12]
    prev = estimate_shifts(img, "previous")
    assert np.abs(prev - truth.truth["shifts_px"][:12]).max() < 0.4  # accumulated pairwise errors
    mean = estimate_shifts(img, "mean")
    rel = mean - mean[0]
    assert np.abs(rel - truth.truth["shifts_px"][:12]).max() < 0.25


def test_apply_shifts_inverts_drift():
    img = _scene()
    stack = np.stack([img, _fourier_shift(img, 1.5, -2.0)])
    for method in ("fourier", "linear"):
        back = apply_shifts(stack, np.array([[0, 0], [-1.5, 2.0]]), method=method)
        inner = (slice(8, -8), slice(8, -8))
        # Fourier: the Nyquist terms of a real image do not survive a fractional shift exactly
        assert np.nanmax(np.abs(back[1][inner] - img[inner])) < (0.01 if method == "fourier" else 0.02)


def test_landmark_affine_exact():
    m_true = np.array([[2.02, 0.05, 3.0], [-0.04, 1.98, -7.5], [0, 0, 1]])
    fixed = np.array([[10, 10], [80, 15], [20, 90], [70, 70.0]])
    moving = (m_true[:2, :2] @ fixed.T).T + m_true[:2, 2]
    fit = affine_from_landmarks(fixed, moving)
    np.testing.assert_allclose(fit.matrix, m_true, atol=1e-9)
    assert fit.rms < 1e-9
    assert fit["rms"] == fit.rms
    with pytest.raises(ValidationError, match="at least 3"):
        affine_from_landmarks(fixed[:2], moving[:2])
    with pytest.raises(ValidationError, match="collinear"):
        affine_from_landmarks([[0, 0], [1, 1], [2, 2]], [[0, 0], [1, 1], [2, 2]])


def test_intensity_registration_of_external_image():
    # an "SEM" image of the same area at twice the resolution, inverted contrast, rotated and shifted
    sims = _scene((80, 80), seed=5)
    m_true = similarity_matrix((4.0, -3.0, np.deg2rad(2.0), np.log(1.02)), 2.0)
    yy, xx = np.mgrid[:170, :170]
    inv = np.linalg.inv(m_true)
    src = inv[:2, :2] @ np.stack([yy.ravel(), xx.ravel()]) + inv[:2, 2:3]
    sem = 1 - ndimage.map_coordinates(sims, src, order=3, mode="nearest").reshape(170, 170)
    fit = register_intensity(sims, sem, scale=2.0, metric="mi")
    # compare where the two transforms put the field's corners and centre (SEM px)
    pts = np.array([[10, 10, 1], [70, 10, 1], [10, 70, 1], [40, 40, 1.0]]).T
    err = np.abs(fit["matrix"] @ pts - m_true @ pts)[:2]
    assert err.max() < 1.0  # under one SEM pixel (half a SIMS pixel)
    warped = warp_image(sem, fit["matrix"], sims.shape)
    ok = np.isfinite(warped)
    assert np.corrcoef(warped[ok], sims[ok])[0, 1] < -0.95


def test_bad_input():
    with pytest.raises(ValidationError, match="stack of 2-D frames"):
        estimate_shifts(np.zeros((10, 10)))
    with pytest.raises(ValidationError, match="reference image has shape"):
        estimate_shifts(np.zeros((2, 16, 16)), np.zeros((8, 8)))
    with pytest.raises(ValidationError, match="outside the stack"):
        estimate_shifts(np.zeros((2, 16, 16)), 5)
    with pytest.raises(ValidationError, match="shifts"):
        apply_shifts(np.zeros((2, 16, 16)), np.zeros((3, 2)))
