"""Rigid and affine slice alignment against synthetic stacks with known rotation/shear jitter."""

from __future__ import annotations

import numpy as np
import pytest

from ionscope.imaging.rigid import rotation_angle_deg
from ionscope.model.errors import ValidationError
from ionscope.synth.fibsem import image_stack, three_phase_electrode
from ionscope.tomo.align import align_stack, apply_transforms, slice_transforms

GRID = np.stack([*(g.ravel() for g in np.mgrid[0:128:8, 0:128:8]), np.ones(256)])
FIDUCIAL = (slice(0, 32), slice(None))


def field_error(matrices, truth) -> np.ndarray:
    """Largest misplacement (px) over the slice of the estimated transform, per slice."""
    d = np.einsum("kij,jn->kin", np.asarray(matrices) - truth, GRID)[:, :2]
    return np.abs(d).max(axis=(1, 2))


@pytest.fixture(scope="module")
def electrode():
    return three_phase_electrode((12, 128, 128), seed=5)


@pytest.fixture(scope="module")
def rotated(electrode):
    vol, _ = electrode
    return image_stack(vol.values, stripe_amplitude=0, shading=0, fiducial_rows=32, rotation_deg=1.0, seed=3)


def _translation_matrices(res) -> np.ndarray:
    m = np.tile(np.eye(3), (res["slices"], 1, 1))
    m[:, :2, 2] = res["drift_px"]
    return m


def test_rigid_recovers_rotation_on_fiducial(rotated):
    stack, truth = rotated
    res = align_stack(stack, transform="rigid", reference="first", fiducial=FIDUCIAL)
    aligned = res.aligned
    # the fixed 32×128 px mark against slice 0: Gauss–Newton σ(θ) ≈ 0.02° (reported), σ(shift) ≈ 0.01 px;
    # the blurred binary mark adds interpolation bias of ≈0.05 px → 0.1° and 0.2 px are ≥ 4σ
    sigma = np.asarray(res["rotation_sigma_deg"])[1:]
    assert np.all(sigma > 0) and sigma.max() < 0.05
    np.testing.assert_allclose(res["rotation_deg"], truth.truth["rotation_deg"], atol=0.1)
    np.testing.assert_allclose(res["drift_px"], truth.truth["drift_px"], atol=0.2)
    assert np.all(np.abs(np.asarray(res["rotation_deg"]) - truth.truth["rotation_deg"])[1:] < 5 * sigma)
    assert res.provenance["parameters"]["transform"] == "rigid"
    assert res.provenance["parameters"]["fiducial"] == [[0, 32], [0, 128]]
    np.testing.assert_allclose(res["drift_um"], np.asarray(res["drift_px"]) * 0.1, rtol=1e-6)
    # translation alone cannot follow a ±1° jitter: up to 64 px · 0.0175 ≈ 1.1 px off at the edge
    tr = align_stack(stack, transform="translation", reference="first", fiducial=FIDUCIAL)
    err_rigid = field_error(res["matrices"], truth.truth["transform"]).max()
    err_trans = field_error(_translation_matrices(tr), truth.truth["transform"]).max()
    assert err_rigid < 0.2 and err_trans > 0.6
    # the aligned stack carries no rotation or drift any more
    again = align_stack(aligned.load(), transform="rigid", reference="first", fiducial=FIDUCIAL)
    assert np.abs(again["rotation_deg"]).max() < 0.1 and np.abs(again["drift_px"]).max() < 0.2


@pytest.mark.slow
def test_previous_and_median_references_follow_rotation(rotated):
    stack, truth = rotated
    for ref in ("previous", "median"):
        res = align_stack(stack, transform="rigid", reference=ref)
        # consecutive sections differ (0.1 µm apart): per-pair θ errors ≈ 0.03° accumulate over 11 steps
        # to ≈ 0.1° (the reported σ); allow 0.4°, and 1 px of accumulated drift
        np.testing.assert_allclose(res["rotation_deg"], truth.truth["rotation_deg"], atol=0.4)
        np.testing.assert_allclose(res["drift_px"], truth.truth["drift_px"], atol=1.0)
        tr = align_stack(stack, transform="translation", reference=ref)
        assert (field_error(res["matrices"], truth.truth["transform"]).max()
                < 0.5 * field_error(_translation_matrices(tr), truth.truth["transform"]).max())


@pytest.mark.slow
def test_previous_composes_pair_transforms(electrode):
    vol, _ = electrode
    # one section repeated: every slice is the same scene moved, so the chain of pairs must land on the
    # direct estimate; a wrong composition order misplaces by the rotation × drift (≈ 1.5° · 5 px)
    same = np.repeat(vol.values[:1], 8, axis=0)
    stack, truth = image_stack(same, stripe_amplitude=0, shading=0, drift_step_px=2.0, rotation_deg=1.5, seed=4)
    fit = slice_transforms(stack.data, transform="rigid", reference="previous")
    chain, sig = fit.matrices, fit["sigma"]
    # noise σ = 12 on grey steps of 80–160: per pair σ(shift) ≈ 0.01 px, σ(θ) ≈ 0.01°; 7 links → < 0.1 px
    assert field_error(chain, truth.truth["transform"]).max() < 0.1
    assert np.all(sig[1:] > 0) and np.all(np.diff(sig[:, 2]) > 0)


@pytest.mark.slow
def test_affine_recovers_shear(electrode):
    vol, _ = electrode
    same = np.repeat(vol.values[:1], 8, axis=0)
    stack, truth = image_stack(same, stripe_amplitude=0, shading=0, rotation_deg=1.0, shear=0.01, seed=6)
    tm = truth.truth["transform"]
    aff = align_stack(stack, transform="affine", reference="first")
    rig = align_stack(stack, transform="rigid", reference="first")
    # whole 128² slice against slice 0: σ ≈ 0.01 px per parameter-induced displacement; a shear of up to
    # 0.01 displaces the edge rows by up to 0.64 px relative to the centre, which rigid cannot follow
    assert field_error(aff["matrices"], tm).max() < 0.15
    assert field_error(rig["matrices"], tm).max() > 0.2
    np.testing.assert_allclose(aff["rotation_deg"], [rotation_angle_deg(m) for m in tm], atol=0.03)
    np.testing.assert_allclose(np.asarray(aff["matrices"])[:, 1, 0] - np.asarray(aff["matrices"])[:, 0, 1],
                               tm[:, 1, 0] - tm[:, 0, 1], atol=2e-3)


def test_apply_transforms_undoes_known_matrices(rotated):
    stack, truth = rotated
    # resampling with the true matrices puts every slice back on the slice-0 frame: the fiducial rows
    # then agree with slice 0 up to noise (σ = 12 per image → √2·12 ≈ 17 rms) and interpolation
    out = apply_transforms(stack.data, truth.truth["transform"]).compute()
    base = out[0, 4:28, 8:-8]
    for k in range(1, out.shape[0]):
        assert np.sqrt(np.mean((out[k, 4:28, 8:-8] - base) ** 2)) < 20
    raw = np.asarray(stack.data)
    assert max(np.sqrt(np.mean((raw[k, 4:28, 8:-8] - raw[0, 4:28, 8:-8]) ** 2)) for k in range(1, 12)) > 30


def test_bad_alignment_input(rotated):
    stack, _ = rotated
    with pytest.raises(ValidationError, match="transform"):
        align_stack(stack, transform="projective")
    with pytest.raises(ValidationError, match=r"\(z, y, x\)"):
        align_stack(stack[0], transform="rigid")
    with pytest.raises(ValidationError, match=r"\(z, y, x\)"):
        slice_transforms(np.zeros((64, 64)), transform="rigid")
    with pytest.raises(ValidationError, match="not inside the slice"):
        align_stack(stack, transform="rigid", fiducial=(slice(100, 200), slice(None)))
    with pytest.raises(ValidationError, match="too small"):
        align_stack(stack, transform="rigid", fiducial=(slice(0, 8), slice(None)))
    with pytest.raises(ValidationError, match="reference"):
        align_stack(stack, transform="affine", reference="last")
    with pytest.raises(ValidationError, match="matrices"):
        apply_transforms(stack.data, np.eye(3)[None])
