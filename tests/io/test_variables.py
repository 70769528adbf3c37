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


@pytest.fixture
def bare_npz(tmp_path):
    """The same matrix without the image size: nothing says how the pixels form an image."""
    rng = np.random.default_rng(0)
    path = tmp_path / "bare.npz"
    np.savez(path, counts_pixels_by_mz=rng.poisson(5.0, (64, 6)).astype(np.uint16), mz=np.arange(1.0, 7.0))
    return path


def test_the_only_matrix_is_chosen_and_dims_are_asked_for_with_the_file_named(bare_npz, npz):
    with pytest.raises(ValidationError) as e:
        select_array(ionscope.read(bare_npz), bare_npz, need="peak")
    msg = str(e.value)
    assert str(bare_npz) in msg and "--dims pixel,peak" in msg and "counts_pixels_by_mz" in msg
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


def test_mva_on_an_npz_names_the_file_and_runs_with_dims(cli, npz, bare_npz):
    code, _, err = cli("mva", "pca", bare_npz, "-n", "2")
    assert code == 2 and bare_npz.name in err and "--dims" in err and "DataArray" not in err
    code, _, err = cli("mva", "pca", npz, "-n", "2", "--dims", "pixel,peak", "--variable", "counts_pixels_by_mz")
    assert code == 0, err


def test_a_flat_image_with_masses_and_size_becomes_y_x_peak(tmp_path):
    """A TRIFT-style export (pixels × channels, ``mz``, ``xy`` = (x size, y size), x fastest) is reshaped."""
    nx, ny, masses = 5, 3, np.array([1.0078, 12.0, 27.0235, 43.0184])
    cube = np.arange(ny * nx * masses.size).reshape(ny, nx, masses.size)
    path = tmp_path / "trift.npz"
    np.savez(path, counts_pixels_by_mz=cube.reshape(ny * nx, masses.size), mz=masses, xy=np.array([nx, ny]))
    arr = select_array(ionscope.read(path), path, need="peak")
    assert arr.dims == ("y", "x", "peak") and arr.shape == (ny, nx, masses.size)
    np.testing.assert_array_equal(arr.values, cube)
    assert list(arr.coords["peak"].values) == ["1.01", "12.00", "27.02", "43.02"]
    np.testing.assert_array_equal(arr.coords["mz"].values, masses)


def test_mva_names_components_by_mass_channel(cli, tmp_path):
    import json

    rng = np.random.default_rng(1)
    nx, ny, masses = 12, 10, np.arange(1.0, 9.0)
    counts = rng.poisson(20.0, (ny * nx, masses.size)).astype(np.uint16)
    counts[: ny * nx // 2, 3] += 200  # one phase rich in channel 4
    path = tmp_path / "trift.npz"
    np.savez(path, counts_pixels_by_mz=counts, mz=masses, xy=np.array([nx, ny]))
    code, out, err = cli("mva", "pca", path, "-n", "2", "--json")
    assert code == 0, err
    res = json.loads(out)["results"]
    assert res["scores_dims"] == ["y", "x", "component"] and res["top_peaks"][0][0] == "4.00"
    code, out, err = cli("mva", "pca", path, "-n", "2")
    assert code == 0 and "component 1:" in out and "largest loadings: m/z 4.00" in out, out


@pytest.mark.realdata
def test_the_real_trift_image_is_analysed_as_an_image(cli, tmp_path):
    from tests.conftest import shared_data

    path = shared_data("phi_trift_image", "poplar_wood_image.npz")  # Lorenz et al., tofsimsData (GPL-3)
    arr = select_array(ionscope.read(path), path, need="peak")
    assert arr.dims == ("y", "x", "peak") and arr.shape == (256, 256, 200)
    assert arr.coords["peak"].values[0] == "1.00"
