import numpy as np
import pytest

from ionscope.model.arrays import make_depth_profile, make_ion_image
from ionscope.model.errors import ValidationError
from ionscope.mva import flatten, pca, preprocess


def _image(data):
    return make_ion_image(data, [f"p{i}" for i in range(data.shape[-1])], pixel_size_um=1.0)


def test_poisson_scaling_matches_keenan_kotula():
    rng = np.random.default_rng(0)
    x = rng.poisson(5.0, size=(6, 7, 4)).astype(float) + 1
    pre = preprocess(flatten(_image(x)), scaling="poisson", centre=False)
    m = x.reshape(-1, 4)
    expected = m / np.sqrt(m.mean(axis=1))[:, None] / np.sqrt(m.mean(axis=0))[None, :]
    np.testing.assert_allclose(pre.matrix, expected, rtol=1e-12)


def test_total_ion_normalisation_sqrt_and_centring():
    rng = np.random.default_rng(1)
    x = rng.poisson(9.0, size=(5, 5, 3)).astype(float) + 1
    pre = preprocess(flatten(_image(x)), scaling="none", normalisation="total", sqrt=True)
    m = x.reshape(-1, 3)
    z = np.sqrt(m / m.sum(axis=1, keepdims=True))
    np.testing.assert_allclose(pre.matrix, z - z.mean(axis=0), atol=1e-12)
    np.testing.assert_allclose(pre.matrix.mean(axis=0), 0, atol=1e-12)


def test_reference_normalisation_divides_by_reference_peak():
    x = np.arange(1, 2 * 2 * 3 + 1, dtype=float).reshape(2, 2, 3)
    pre = preprocess(flatten(_image(x)), scaling="none", normalisation="reference", reference="p2", centre=False)
    np.testing.assert_allclose(pre.matrix[:, 2], 1.0)


def test_flatten_keeps_coords_of_a_depth_profile():
    prof = make_depth_profile(np.ones((10, 3)) + np.arange(3), ["a", "b", "c"], sputter_time_s=np.arange(10.0))
    flat = flatten(prof)
    assert flat.sample_dims == ("scan",) and flat.matrix.shape == (10, 3)
    da = flat.unflatten(np.zeros((10, 2)), "component")
    assert "sputter_time" in da.coords and da.dims == ("scan", "component")


def test_mask_excludes_samples_and_scores_are_nan_there():
    rng = np.random.default_rng(2)
    x = rng.poisson(20.0, size=(8, 8, 5)).astype(float)
    mask = np.ones((8, 8), bool)
    mask[:2] = False
    r = pca(_image(x), 2, mask=mask)
    assert np.isnan(r.scores.values[:2]).all() and np.isfinite(r.scores.values[2:]).all()
    ref = pca(_image(x[2:]), 2)
    np.testing.assert_allclose(np.abs(r.loadings.values), np.abs(ref.loadings.values), atol=1e-10)


@pytest.mark.parametrize("bad, match", [
    ("nan", "NaN"), ("zero", "all-zero channel.*'p1'"), ("mask", "mask has shape"), ("rank", "rank"),
    ("nopeak", "'peak' dimension"), ("negative", "negative"),
])
def test_bad_input_raises_specific_errors(bad, match):
    rng = np.random.default_rng(3)
    x = rng.poisson(10.0, size=(6, 6, 4)).astype(float)
    mask = None
    k = 2
    if bad == "nan":
        x[0, 0, 0] = np.nan
    elif bad == "zero":
        x[..., 1] = 0
    elif bad == "mask":
        mask = np.ones((5, 6), bool)
    elif bad == "rank":
        k = 5
    elif bad == "negative":
        x[1, 1, 1] = -1
    data = _image(x)
    if bad == "nopeak":
        data = data.isel(peak=0)
    with pytest.raises(ValidationError, match=match):
        pca(data, k, mask=mask)


def test_rank_deficient_data_rejects_too_many_components():
    rng = np.random.default_rng(4)
    base = rng.uniform(1, 2, size=(2, 6))
    x = rng.uniform(0, 1, size=(100, 2)) @ base + 0.1  # rank ≤ 3 after centring with offset
    img = _image(x.reshape(10, 10, 6))
    with pytest.raises(ValidationError, match="numerical rank"):
        pca(img, 4, scaling="none")
