"""Degenerate inputs: constant cubes, empty clusters, iteration limits, and where outputs went."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

import ionscope
from ionscope.model.arrays import make_ion_image
from ionscope.mva import cluster_scores, mcr, nmf, pca


def _image(values: np.ndarray):
    return make_ion_image(values, [f"p{i}" for i in range(values.shape[-1])], pixel_size_um=1.0)


@pytest.mark.parametrize("value", [7.0, 3.3])
@pytest.mark.parametrize("lazy", [False, True])
def test_pca_of_a_constant_cube_warns(value, lazy):
    img = _image(np.full((16, 16, 5), value))
    res = pca(img.chunk({"y": 8}) if lazy else img, 2)
    assert any("do not vary" in w for w in res.warnings)
    assert np.all(res.explained_variance_ratio == 0)


def test_pca_of_counts_does_not_warn():
    rng = np.random.default_rng(0)
    img = _image(rng.poisson(50, (16, 16, 5)).astype(float))
    assert not any("do not vary" in w for w in pca(img, 3).warnings)
    assert not any("do not vary" in w for w in pca(img.chunk({"y": 8}), 3).warnings)


def test_empty_clusters_warn_without_raw_library_warnings():
    values = np.full((16, 16, 5), 50.0)
    values[:8] *= 2  # two phases only
    scores = pca(_image(values), 1, scaling="none")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no scikit-learn ConvergenceWarning may escape
        res = cluster_scores(scores, 4)
        res_gmm = cluster_scores(scores, 4, method="gmm")
    for r in (res, res_gmm):
        assert any("empty clusters" in w or "distinct" in w for w in r.warnings)


def test_cluster_reports_each_start():
    rng = np.random.default_rng(1)
    scores = pca(_image(rng.poisson(40, (12, 12, 4)).astype(float)), 2)
    steps = []
    cluster_scores(scores, 3, on_step=lambda stage, n: steps.append((stage, n)))
    assert len(steps) == steps[0][1] and steps[0][0] == "k-means starts"


@pytest.mark.parametrize("fn", [nmf, mcr])
def test_factorisations_report_iterations_and_limits(fn):
    rng = np.random.default_rng(2)
    img = _image(rng.poisson(30, (12, 12, 6)).astype(float))
    seen = []
    res = fn(img, 2, max_iter=20, tol=0.0, on_iteration=lambda it, n: seen.append((it, n)))
    assert seen and seen[-1] == (20, 20)
    assert any("iterations" in w and "converged" in w for w in res.warnings)


def test_mcr_says_where_its_output_went(cli, tmp_path):
    rng = np.random.default_rng(3)
    path = tmp_path / "cube.zarr"
    ionscope.save(_image(rng.poisson(30, (12, 12, 6)).astype(float)), path)
    code, out, err = cli("mva", "mcr", path, "--components", "2")
    assert code == 0 and "nothing was written" in err and "--out" in err
    code, out, err = cli("mva", "mcr", path, "--components", "2", "--out", tmp_path / "o")
    assert code == 0 and "wrote scores" in out and str(tmp_path / "o") in out
    code, out, err = cli("mva", "mcr", path, "--components", "2", "--json")
    data = json.loads(out)
    body = data.get("results", data)
    assert code == 0 and any("nothing was written" in w for w in data.get("warnings", body.get("warnings", [])))
