"""PCA of the real PHI TRIFT image of poplar wood (Bioconductor tofsimsData, 256 × 256 × 200 channels)."""

import numpy as np
import pytest
from scipy.linalg import subspace_angles
from sklearn.decomposition import PCA

from ionscope.model.arrays import make_ion_image
from ionscope.mva import flatten, pca, preprocess, select_peaks

from ..conftest import shared_data


def _poplar(min_counts: float = 100):
    d = np.load(shared_data("phi_trift_image", "poplar_wood_image.npz"))
    counts, mz = d["counts_pixels_by_mz"], d["mz"]
    ny, nx = (int(v) for v in d["xy"])
    # pixel index i = row * nx + col (C order); the file's row order is known only up to a transpose,
    # which PCA does not see (the loadings are identical, score images are transposed)
    img = make_ion_image(counts.reshape(ny, nx, -1), [f"m{m:.0f}" for m in mz], mz=mz, pixel_size_um=1.0)
    # 18 of the 200 channels hold < 100 counts in 65,536 pixels (28 counts/px on average): under
    # Poisson scaling one stray count there becomes PC1 (a one-pixel "component"); drop them
    return select_peaks(img, min_counts=min_counts)


def _lag1(a: np.ndarray) -> float:
    a = (a - a.mean()) / a.std()
    return float((np.mean(a[1:] * a[:-1]) + np.mean(a[:, 1:] * a[:, :-1])) / 2)


@pytest.mark.slow
@pytest.mark.realdata
def test_poplar_poisson_pca_equals_sklearn_and_shows_structure():
    img = _poplar()
    assert img.sizes["peak"] == 182
    r = pca(img, 5)
    assert not r.warnings
    z = preprocess(flatten(img), scaling="poisson").matrix
    sk = PCA(5, svd_solver="full").fit(z)
    # the first 5 Poisson-scaled PCs are separated by clear gaps: angles at rounding level
    assert np.max(subspace_angles(r.loadings.values.T, sk.components_.T)) < 1e-6
    score = r.scores.isel(component=0).values
    # without selection (only all-zero channels dropped) ionscope warns about the sparse channels
    assert "fewer than 100 counts" in pca(_poplar(min_counts=1), 2).warnings[0]
    shuffled = np.random.default_rng(0).permutation(score.ravel()).reshape(score.shape)
    # wood cell walls/lumina make neighbouring pixels alike; a shuffled image has |ρ1| ~ 1/256
    assert _lag1(score) > 0.3
    assert abs(_lag1(shuffled)) < 0.02
