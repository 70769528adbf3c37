"""Local thickness against its definition, computed by brute force on small anisotropic volumes."""

from __future__ import annotations

import importlib

import numpy as np
import pytest
from scipy import ndimage

from ionscope.micro import local_thickness
from ionscope.micro.local_thickness import _WINDOW, _envelope_1d, _min_convolve_line, _squared_edt
from ionscope.model.errors import ValidationError


def _random_phase(shape, seed):
    rng = np.random.default_rng(seed)
    return ndimage.gaussian_filter(rng.normal(size=shape), 1.5) > 0.0


@pytest.mark.parametrize("spacing", [(1.0, 1.0, 1.0), (0.7, 0.5, 0.45)])
def test_distance_transform_equals_scipy(spacing):
    m = _random_phase((23, 31, 27), 1)
    m[0, 0, 0] = False
    d2 = np.zeros(tuple(n + 2 for n in m.shape), np.float32)  # padded
    _squared_edt(m, *spacing, d2)
    ours = np.sqrt(d2[1:-1, 1:-1, 1:-1])
    np.testing.assert_allclose(ours, ndimage.distance_transform_edt(m, sampling=spacing), rtol=1e-7)  # float32


@pytest.mark.parametrize("spacing", [(1.0, 1.0, 1.0), (0.7, 0.5, 0.45)])
def test_local_thickness_equals_the_definition(spacing):
    # definition: largest r(c) over every phase voxel c whose open ball (radius = EDT at c) covers
    # the voxel; evaluated over all pairs, so the maximal-ball reduction must lose nothing
    m = _random_phase((14, 17, 16), 2)
    r = ndimage.distance_transform_edt(m, sampling=spacing)
    pts = np.argwhere(m) * np.asarray(spacing)
    rc = r[m]
    d2 = ((pts[:, None, :] - pts[None, :, :]) ** 2).sum(-1)
    covered = d2 < (rc * rc * (1 - 1e-6))[None, :]
    expected = np.zeros(m.shape)
    expected[m] = 2 * np.where(covered, rc[None, :], 0).max(axis=1)
    np.testing.assert_allclose(local_thickness(m, spacing), expected, rtol=1e-6)


def test_local_thickness_edge_cases():
    assert not local_thickness(np.zeros((4, 5, 6), bool)).any()
    with pytest.raises(ValidationError, match="unbounded"):
        local_thickness(np.ones((4, 5, 6), bool))
    with pytest.raises(ValidationError, match="spacing"):
        local_thickness(np.ones((4, 4, 4), bool), (1.0, 0.0, 1.0))
    with pytest.raises(ValidationError, match="3-D"):
        local_thickness(np.ones((4, 4), bool))


def test_balls_beyond_the_containment_table_are_still_exact(monkeypatch):
    # a tiny table sends most balls to the geometric containment test and their own radius kinds
    lt_module = importlib.import_module("ionscope.micro.local_thickness")  # the package exports the function
    m = _random_phase((20, 22, 24), 3)
    sp = (0.7, 0.5, 0.45)
    full = local_thickness(m, sp)
    monkeypatch.setattr(lt_module, "_TABLE_POINTS", 30)
    u, _ = lt_module._containment_table(10.0, sp)
    assert u[-1] < 1.0  # the table now covers radii below one micrometre only
    np.testing.assert_array_equal(local_thickness(m, sp), full)


def _reference(mask, spacing=(1.0, 1.0, 1.0)):
    """The definition, one ball at a time: every phase voxel c is the centre of the open ball of
    radius r(c) (SciPy's Euclidean distance transform); each voxel takes the largest 2·r(c) among
    the balls that cover it. Cost N², for small volumes only."""
    r = ndimage.distance_transform_edt(mask, sampling=spacing)
    grid = np.indices(mask.shape).reshape(3, -1).T * np.asarray(spacing)
    out = np.zeros(mask.size)
    for c in np.argwhere(mask):
        rc = r[tuple(c)]
        covered = ((grid - c * np.asarray(spacing)) ** 2).sum(1) < rc * rc * (1 - 1e-6)
        out[covered] = np.maximum(out[covered], 2 * rc)
    return out.reshape(mask.shape)


@pytest.mark.parametrize("seed", range(4))
def test_random_volumes_equal_the_reference(seed):
    rng = np.random.default_rng(seed)
    shape = tuple(int(n) for n in rng.integers(6, 15, 3))
    spacing = (1.0, 1.0, 1.0) if seed % 2 == 0 else tuple(float(s) for s in rng.uniform(0.4, 1.2, 3))
    m = ndimage.gaussian_filter(rng.normal(size=shape), rng.uniform(0.6, 2.0)) > rng.uniform(-0.4, 0.4)
    np.testing.assert_allclose(local_thickness(m, spacing), _reference(m, spacing), rtol=1e-6)


def test_a_single_background_voxel_is_exact_and_bounded():
    # every phase voxel is a ball centre of its own radius, larger than the containment table; the
    # row-span table is cut at the volume's extent (it exhausted memory at 69 × 21 × 30 before)
    m = np.ones((14, 6, 9), bool)
    m[6, 3, 4] = False
    sp = (1.48, 0.47, 1.35)
    np.testing.assert_allclose(local_thickness(m, sp), _reference(m, sp), rtol=1e-6)


def test_one_voxel_and_phases_touching_the_faces():
    one = np.zeros((5, 6, 7), bool)
    one[2, 3, 4] = True  # distance 1 to background: the ball covers its centre only
    assert local_thickness(one)[2, 3, 4] == 2.0 and local_thickness(one).sum() == 2.0
    corner = np.zeros((5, 6, 7), bool)
    corner[0, 0, 0] = True  # faces are not background: still distance 1
    assert local_thickness(corner)[0, 0, 0] == 2.0
    slab = np.ones((9, 7, 8), bool)
    slab[0] = False  # background on one face only: thickness grows towards the opposite face
    sp = (0.5, 1.0, 1.0)
    np.testing.assert_allclose(local_thickness(slab, sp), _reference(slab, sp), rtol=1e-6)
    assert local_thickness(slab, sp)[-1].min() == pytest.approx(2 * 8 * 0.5)


def test_long_lines_fall_back_to_the_envelope_and_agree():
    # fine in-plane spacing: the in-line search would pass _WINDOW voxels, so lines use the envelope
    m = np.ones((6, 24, 22), bool)
    m[0, ::5, ::4] = False
    sp = (1.0, 0.1, 0.12)
    assert 5 * sp[0] / sp[1] > _WINDOW
    np.testing.assert_allclose(local_thickness(m, sp), _reference(m, sp), rtol=1e-6)


@pytest.mark.parametrize("step", [1.0, 0.37])
def test_line_search_equals_the_parabola_envelope(step):
    # random lines with background (0), no background at all (inf) and distances beyond the window
    rng = np.random.default_rng(7)
    n = 60
    buf, out, v, z, g = np.empty(n), np.empty(n), np.empty(n, np.int64), np.empty(n + 1), np.empty(n)
    for trial in range(200):
        f = (rng.integers(0, 30, n) ** 2 * step**2).astype(np.float64)
        f[rng.random(n) < rng.uniform(0.0, 0.5)] = 0.0
        if trial % 10 == 0:
            f[:] = np.inf
            f[rng.integers(0, n)] = 0.0 if trial % 20 == 0 else np.inf
        expected = np.empty(n)
        line = f.astype(np.float32)  # the EDT stores float32 and searches in float64
        _envelope_1d(line.astype(np.float64), step, expected, v, z, g)
        _min_convolve_line(line, step, buf, out, v, z, g)
        np.testing.assert_array_equal(line, expected.astype(np.float32))
