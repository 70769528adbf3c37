"""Partial-volume clean-up: carbon-binder specks below the PSF resolution cell go to the nearest other phase."""

import numpy as np
import pytest

from ionscope.micro.surface import tpb_edge_length
from ionscope.model.errors import ValidationError
from ionscope.tomo import psf_resolution_voxels, remove_partial_volume_specks

PORE, NMC, CBD = 0, 1, 2


def _electrode() -> tuple[np.ndarray, np.ndarray]:
    """Pore | NMC half-spaces with a resolved CBD film and one-voxel partial-volume specks on the interface."""
    truth = np.zeros((8, 16, 16), np.uint8)
    truth[:, :, 8:] = NMC
    truth[2:6, 2:6, 5:8] = CBD  # a resolved 4×4×3 carbon-binder patch on the NMC surface
    seg = truth.copy()
    seg[1, 10, 8] = CBD  # speck on the NMC side of the interface
    seg[5, 12, 7] = CBD  # speck on the pore side
    seg[6, 14, 7:9] = CBD  # two-voxel speck straddling the interface
    return truth, seg


def test_resolution_cell_of_fibsem_psf():
    # FWHM = 2.3548 σ; in-plane ellipse π/4·FWHM², one slice thick
    assert psf_resolution_voxels((0.0, 0.7, 0.7)) == pytest.approx(np.pi / 4 * (2.35482 * 0.7) ** 2, rel=1e-4)
    assert psf_resolution_voxels((0.7, 0.7, 0.7)) == pytest.approx(np.pi / 6 * (2.35482 * 0.7) ** 3, rel=1e-4)
    assert psf_resolution_voxels((0.0, 0.1, 0.1)) == pytest.approx(np.pi / 4)  # sub-voxel blur: one voxel


def test_specks_take_the_nearest_other_phase_and_the_film_stays():
    truth, seg = _electrode()
    res = remove_partial_volume_specks(seg, CBD, (0.0, 0.7, 0.7))
    cleaned, n = res.labels, res["removed"]
    assert n == 4
    np.testing.assert_array_equal(cleaned, truth)
    assert cleaned[1, 10, 8] == NMC and cleaned[5, 12, 7] == PORE
    assert tpb_edge_length(seg, (1, 1, 1), (0, 1, 2)) > tpb_edge_length(cleaned, (1, 1, 1), (0, 1, 2))


def test_larger_psf_removes_larger_specks_only():
    truth, seg = _electrode()
    seg[3, 12:14, 9:11] = CBD  # a 2×2 speck: area 4 > π/4·(2.35·0.7)² but < the cell of σ = 1.5 px
    kept = remove_partial_volume_specks(seg, CBD, (0.0, 0.7, 0.7)).labels
    assert (kept[3, 12:14, 9:11] == CBD).all()
    gone = remove_partial_volume_specks(seg, CBD, (0.0, 1.5, 1.5)).labels
    assert (gone[3, 12:14, 9:11] == NMC).all()
    assert (gone == CBD).sum() == (truth == CBD).sum()  # the 48-voxel film exceeds that cell too


def test_bad_psf_is_refused():
    with pytest.raises(ValidationError):
        remove_partial_volume_specks(np.zeros((2, 2, 2), np.uint8), CBD, (0.7, 0.7))
    with pytest.raises(ValidationError):
        psf_resolution_voxels((0.0, -1.0, 0.7))


def test_tpb_tolerance_grows_with_the_boundary_error_rate():
    from ionscope.demo.micro import tpb_boundary_tolerance

    truth, _ = _electrode()
    tols = [tpb_boundary_tolerance(truth, rate, 0.1, seed=1) for rate in (0.0, 0.1, 0.5)]
    assert tols[0] == 0.0
    assert 0.0 < tols[1] < tols[2]
