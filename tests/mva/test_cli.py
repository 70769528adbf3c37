import json

import numpy as np
import pytest

import ionscope
from ionscope.synth.mva import mixture_image


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    img, truth = mixture_image(3, shape=(24, 24), n_peaks=12, counts_per_pixel=300.0, seed=3)
    path = tmp_path_factory.mktemp("mva") / "mix.zarr"
    ionscope.save(img, path)
    return path, img


def test_pca_json_and_outputs(cli, store, tmp_path):
    path, img = store
    code, out, err = cli("mva", "pca", path, "--components", "3", "--out", tmp_path / "o", "--json")
    assert code == 0, err
    doc = json.loads(out)
    res = doc["results"]
    assert res["n_components"] == 3 and len(res["explained_variance_ratio"]) == 3
    assert doc["kind"] == "mva.pca" and res["solver"] == "gram"  # a Zarr store is read lazily
    scores = ionscope.read(res["outputs"]["scores"])
    loadings = ionscope.read(res["outputs"]["loadings"])
    assert scores.dims == ("y", "x", "component") and loadings.dims == ("component", "peak")
    from ionscope.mva import pca

    direct = pca(img, 3)
    np.testing.assert_allclose(res["explained_variance_ratio"], direct.explained_variance_ratio, rtol=1e-8)
    np.testing.assert_allclose(loadings.values, direct.loadings.values, atol=1e-8)
    # outputs exist now: a second run refuses without --force and succeeds with it
    code, _, err = cli("mva", "pca", path, "--components", "3", "--out", tmp_path / "o")
    assert code == 2 and "already exists" in err
    assert cli("mva", "pca", path, "--components", "3", "--out", tmp_path / "o", "--force")[0] == 0


@pytest.mark.parametrize("method", ["nmf", "mcr", "cluster"])
def test_other_methods(cli, store, method):
    path, _ = store
    code, out, err = cli("mva", method, path, "--components", "3", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["kind"] == f"mva.{method}" and doc["results"]["n_components"] == 3


def test_bad_input_is_one_line_error(cli, store, tmp_path):
    path, _ = store
    code, _, err = cli("mva", "pca", path, "--components", "50")
    assert code == 2 and "rank" in err
    code, _, err = cli("mva", "pca", path, "--scaling", "log")
    assert code == 2 and "scaling" in err


def test_scheduler_option_runs_on_a_cluster(cli, store):
    distributed = pytest.importorskip("distributed")
    path, _ = store
    with distributed.LocalCluster(n_workers=1, processes=False, dashboard_address=None) as cluster:
        code, out, err = cli("mva", "pca", path, "--components", "2", "--scheduler", cluster.scheduler_address,
                             "--json")
    assert code == 0, err
    local = json.loads(cli("mva", "pca", path, "--components", "2", "--json")[1])["results"]
    np.testing.assert_allclose(json.loads(out)["results"]["explained_variance_ratio"],
                               local["explained_variance_ratio"], rtol=1e-10)


@pytest.mark.parametrize("method", ["pca", "cluster"])
def test_text_results_on_stdout_warnings_on_stderr(cli, store, method):
    """Results (components, phases) go to stdout with the tier line; only warnings go to stderr."""
    path, _ = store
    code, out, err = cli("mva", method, path, "--components", "3")
    assert code == 0, err
    assert "components of" in out and ("% of the variance" in out or "% of the samples" in out)
    assert "components of" not in err and "% of the" not in err
    assert "nothing was written" in err and "nothing was written" not in out


def test_a_cluster_of_a_few_outlier_pixels_is_called_an_outlier_phase(cli, tmp_path):
    """Two phases plus three hot pixels, clustered into three: the third 'phase' is flagged, on stderr and in JSON."""
    img, _ = mixture_image(2, shape=(32, 32), n_peaks=8, counts_per_pixel=300.0, seed=4)
    values = np.array(img.values, dtype=float)
    values[[3, 17, 29], [5, 20, 11], 2] += 5000.0  # hot pixels: one channel saturated
    path = tmp_path / "hot.zarr"
    ionscope.save(img.copy(data=values), path)
    code, out, err = cli("mva", "cluster", path, "--components", "3")
    assert code == 0, err
    assert "outlier phase" in err and "outlier phase" not in out
    code, out, err = cli("mva", "cluster", path, "--components", "3", "--json")
    doc = json.loads(out)
    assert any("phase 2 holds 3 of 1024 samples" in w and "not a material phase" in w for w in doc["warnings"])
    code, out, err = cli("mva", "cluster", path, "--components", "2", "--json")
    assert not any("outlier phase" in w for w in json.loads(out)["warnings"])
