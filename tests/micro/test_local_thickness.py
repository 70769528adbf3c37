"""Local thickness against its definition, computed by brute force on small anisotropic volumes."""

from __future__ import annotations

import importlib

import numpy as np
import pytest
from scipy import ndimage

from ionscope.micro import local_thickness
from ionscope.micro.local_thickness import _squared_edt
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
