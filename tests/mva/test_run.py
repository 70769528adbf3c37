import contextlib

import numpy as np
import pytest

import ionscope
from ionscope.model.errors import OutputExistsError
from ionscope.mva import pca, run_mva
from ionscope.mva.run import ITERATION_LIMITS
from ionscope.synth.mva import mixture_image


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    img, _ = mixture_image(3, shape=(16, 16), n_peaks=10, counts_per_pixel=300.0, seed=5)
    path = tmp_path_factory.mktemp("run") / "mix.zarr"
    ionscope.save(img, path)
    return path, img


def test_run_mva_is_the_decomposition_plus_its_outputs(store, tmp_path):
    path, img = store
    run = run_mva(path, "pca", 3, out=tmp_path / "o")
    direct = pca(img, 3)
    np.testing.assert_allclose(run.decomposition.explained_variance_ratio, direct.explained_variance_ratio,
                               rtol=1e-8)
    assert run.label == "PCA" and set(run.outputs) == {"scores", "loadings"}
    assert run.result["outputs"] == {k: str(v) for k, v in run.outputs.items()}
    assert run.result.provenance["inputs"][0]["path"].endswith("mix.zarr")
    np.testing.assert_allclose(ionscope.read(run.outputs["loadings"]).values, direct.loadings.values, atol=1e-8)
    assert not any("nothing was written" in w for w in run.result.warnings)
    with pytest.raises(OutputExistsError):  # refused before any work
        run_mva(path, "pca", 3, out=tmp_path / "o")


def test_run_mva_reports_its_stages_and_warns_when_nothing_is_written(store):
    path, _ = store
    seen = []

    class Task:
        def advance(self, n=1):
            seen.append(("advance", n))

        def update(self, **kwargs):
            seen.append(("update", kwargs.get("completed")))

    def stage(name, total):
        seen.append((name, total))
        return contextlib.nullcontext(Task())

    def compute_stage(name):
        seen.append((name, None))
        return contextlib.nullcontext()

    run = run_mva(path, "nmf", 2, stage=stage, compute_stage=compute_stage)
    assert seen[0] == ("NMF: reading mix.zarr", None)
    limit = ITERATION_LIMITS["nmf"]
    assert ("NMF: iterations (stops when converged)", limit) in seen and seen[-1] == ("update", limit)
    assert run.outputs == {} and run.result["outputs"] == {}
    assert any("nothing was written" in w and "scores.zarr" in w for w in run.result.warnings)
    assert run.to_dict()["kind"] == "mva.nmf"
