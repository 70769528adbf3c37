import dask.array as da
import numpy as np
import pytest
from scipy.linalg import subspace_angles
from sklearn.decomposition import PCA

from ionscope.model.arrays import labelled
from ionscope.mva import flatten, pca, preprocess
from ionscope.synth.mva import mixture_image


@pytest.fixture(scope="module")
def mixture():
    return mixture_image(4, shape=(40, 40), n_peaks=25, counts_per_pixel=300.0, seed=7)


@pytest.mark.parametrize("solver", ["full", "randomized"])
def test_subspace_equals_sklearn_pca_on_the_same_matrix(mixture, solver):
    img, _ = mixture
    # 4 phases → 3 signal components after centring, then a noise floor: a large spectral gap, so
    # exact and randomized SVDs agree to rounding (angle ~ eps·σ1/(σ3−σ4)); the noise PCs have no gap
    r = pca(img, 3, solver=solver)
    z = preprocess(flatten(img), scaling="poisson").matrix
    sk = PCA(3, svd_solver="full").fit(z)
    assert np.max(subspace_angles(r.loadings.values.T, sk.components_.T)) < 1e-6
    np.testing.assert_allclose(r.explained_variance_ratio, sk.explained_variance_ratio_, rtol=1e-6)


@pytest.mark.slow
def test_sign_and_order_conventions(mixture):
    img, _ = mixture
    r = pca(img, 4)
    load = r.loadings.values
    assert np.all(np.diff(r.explained_variance_ratio) <= 0)
    assert np.all(load[np.arange(4), np.argmax(np.abs(load), axis=1)] > 0)
    flipped = pca(img.isel(peak=slice(None, None, -1)), 4)  # same data, reversed peak order
    np.testing.assert_allclose(flipped.loadings.values[:, ::-1], load, atol=1e-8)


def test_scores_keep_spatial_coords_and_reconstruct(mixture):
    img, _ = mixture
    r = pca(img, 4)
    assert r.scores.dims == ("y", "x", "component")
    np.testing.assert_array_equal(r.scores.coords["x"].values, img.coords["x"].values)
    assert r.loadings.coords["mz"].attrs["units"] == "m/z"
    assert list(r.loadings.coords["peak"].values) == list(img.coords["peak"].values)


@pytest.mark.parametrize("scaling, normalise", [("poisson", "none"), ("none", "none"), ("poisson", "total")])
def test_lazy_out_of_core_equals_eager(mixture, scaling, normalise):
    img, _ = mixture
    lazy = img.copy(data=da.from_array(img.values, chunks=(7, 40, 25)))
    eager = pca(img, 3, scaling=scaling, normalisation=normalise, solver="full")
    out = pca(lazy, 3, scaling=scaling, normalisation=normalise)
    assert out.values["solver"] == "gram" and out.values["passes_fit"] == 1
    assert hasattr(out.scores.data, "dask")
    assert np.max(subspace_angles(out.loadings.values.T, eager.loadings.values.T)) < 1e-6
    np.testing.assert_allclose(out.loadings.values, eager.loadings.values, atol=1e-6)
    np.testing.assert_allclose(out.scores.values, eager.scores.values, atol=1e-6 * np.abs(eager.scores.values).max())
    np.testing.assert_allclose(out.explained_variance_ratio, eager.explained_variance_ratio, rtol=1e-8)


def test_lazy_with_mask_equals_eager(mixture):
    img, _ = mixture
    mask = np.ones((40, 40), bool)
    mask[:, :10] = False
    lazy = img.copy(data=da.from_array(img.values, chunks=(9, 40, 25)))
    a, b = pca(lazy, 3, mask=mask), pca(img, 3, mask=mask)
    assert np.max(subspace_angles(a.loadings.values.T, b.loadings.values.T)) < 1e-6
    np.testing.assert_array_equal(np.isnan(a.scores.values), np.isnan(b.scores.values))


def test_cube3d_pca_scores_on_scan_y_x():
    rng = np.random.default_rng(5)
    lam = np.stack([np.full((4, 6, 6), 5.0), np.linspace(1, 9, 4)[:, None, None] * np.ones((4, 6, 6)),
                    np.full((4, 6, 6), 3.0)], axis=-1)
    cube = labelled(rng.poisson(lam), "cube3d", coords={"peak": np.array(["a", "b", "c"])})
    r = pca(cube, 2)
    assert r.scores.dims == ("scan", "y", "x", "component")
    # the only structure is the depth trend of peak b: PC1 follows the scan index
    pc1 = r.scores.isel(component=0).mean(("y", "x")).values
    assert abs(np.corrcoef(pc1, np.arange(4))[0, 1]) > 0.95
