"""Choosing the array of a multi-array file (``.npz``) for an analysis: ``--variable`` and ``--dims``."""

from __future__ import annotations

import numpy as np
import pytest

import ionscope
from ionscope.io.variables import select_array
from ionscope.model.errors import ValidationError


@pytest.fixture
def npz(tmp_path):
    """A pixels × channels count matrix stored like a converted instrument export (no dimension names)."""
    rng = np.random.default_rng(0)
    path = tmp_path / "image.npz"
    np.savez(path, counts_pixels_by_mz=rng.poisson(5.0, (64, 6)).astype(np.uint16),
             mz=np.arange(1.0, 7.0), xy=np.array([8, 8]))
    return path


def test_the_only_matrix_is_chosen_and_dims_are_asked_for_with_the_file_named(npz):
    with pytest.raises(ValidationError) as e:
        select_array(ionscope.read(npz), npz, need="peak")
    assert str(npz) in str(e.value) and "--dims pixel,peak" in str(e.value) and "counts_pixels_by_mz" in str(e.value)
    arr = select_array(ionscope.read(npz), npz, need="peak", dims=["pixel", "peak"])
    assert arr.dims == ("pixel", "peak") and arr.shape == (64, 6)
    np.testing.assert_array_equal(arr.coords["mz"].values, np.arange(1.0, 7.0))


def test_an_ambiguous_file_lists_its_variables_and_variable_chooses(tmp_path):
    path = tmp_path / "two.npz"
    np.savez(path, a=np.ones((4, 3)), b=np.ones((5, 3)))
    with pytest.raises(ValidationError, match=r"--variable NAME") as e:
        select_array(ionscope.read(path), path, need="peak", dims=["pixel", "peak"])
    assert "a (" in str(e.value) and "b (" in str(e.value) and str(path) in str(e.value)
    assert select_array(ionscope.read(path), path, need="peak", variable="b", dims=["pixel", "peak"]).shape == (5, 3)
    with pytest.raises(ValidationError, match="no variable 'c'"):
        select_array(ionscope.read(path), path, need="peak", variable="c")
    with pytest.raises(ValidationError, match="--dims needs 2 distinct names"):
        select_array(ionscope.read(path), path, need="peak", variable="a", dims=["peak"])


def test_mva_on_an_npz_names_the_file_and_runs_with_dims(cli, npz):
    code, _, err = cli("mva", "pca", npz, "-n", "2")
    assert code == 2 and npz.name in err and "--dims" in err and "DataArray" not in err
    code, _, err = cli("mva", "pca", npz, "-n", "2", "--dims", "pixel,peak", "--variable", "counts_pixels_by_mz")
    assert code == 0, err
