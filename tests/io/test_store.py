import json

import numpy as np
import pytest

import ionscope
from ionscope.model import FormatError, OutputExistsError, make_depth_profile, make_ion_image, make_volume
from ionscope.synth import composite_cross_section


def _assert_same(a, b):
    assert a.dims == b.dims
    np.testing.assert_array_equal(np.asarray(a.values), np.asarray(b.values))
    assert a.attrs == b.attrs
    assert set(a.coords) == set(b.coords)
    for name in a.coords:
        np.testing.assert_array_equal(a.coords[name].values, b.coords[name].values)
        assert a.coords[name].attrs == b.coords[name].attrs, name


@pytest.mark.parametrize("make", [
    lambda: composite_cross_section(shape=(32, 40), seed=3)[0],
    lambda: make_depth_profile(np.random.default_rng(0).poisson(5, (50, 3)), ["^6Li+", "^7Li+", "Li_2F+ / (x)"],
                               sputter_time_s=np.linspace(0, 49, 50), dose_ions=np.linspace(0, 1e12, 50),
                               fluence_ions_cm2=np.linspace(0, 1e15, 50), mz=[6.015, 7.016, np.nan],
                               acquisition={"polarity": "positive", "sputter_ion": "Cs+", "sputter_energy_keV": 0.5},
                               sample={"preparation": "bib", "air_free_transfer": False}),
    lambda: make_volume(np.arange(60, dtype=np.uint8).reshape(3, 4, 5), (0.02, 0.01, 0.01), phases={"pore": 0}),
])
def test_round_trip_keeps_every_coordinate_unit_and_metadata_field(tmp_path, make):
    da = make()
    path = ionscope.save(da, tmp_path / "a.zarr")
    lazy = ionscope.read(path)
    assert lazy.chunks is not None  # dask-backed
    _assert_same(da, lazy.load())
    _assert_same(da, ionscope.load(path, lazy=False))


def test_large_array_is_chunked_and_loaded_lazily(tmp_path):
    import dask.array as dsa

    cube = dsa.zeros((512, 512, 64), chunks=(128, 512, 64), dtype="float32")
    big = make_ion_image(cube, [f"p{i}" for i in range(64)], pixel_size_um=1.0)
    path = ionscope.save(big, tmp_path / "big.zarr")
    back = ionscope.read(path)
    assert back.chunks is not None and len(back.chunks[0]) > 1


def test_refuses_to_overwrite_without_force(tmp_path):
    da = composite_cross_section(shape=(8, 8), seed=1)[0]
    path = ionscope.save(da, tmp_path / "a.zarr")
    with pytest.raises(OutputExistsError, match="--force"):
        ionscope.save(da, path)
    ionscope.save(da * 2, path, force=True)
    assert int(ionscope.read(path).sum()) == 2 * int(da.sum())
    assert [p.name for p in tmp_path.iterdir()] == ["a.zarr"]  # no temporary leftovers


def test_failed_write_leaves_the_old_store(tmp_path, monkeypatch):
    da = composite_cross_section(shape=(8, 8), seed=1)[0]
    path = ionscope.save(da, tmp_path / "a.zarr")
    import xarray as xr

    def boom(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(xr.Dataset, "to_zarr", boom)
    with pytest.raises(RuntimeError):
        ionscope.save(da * 2, path, force=True)
    monkeypatch.undo()
    _assert_same(da, ionscope.load(path, lazy=False))
    assert [p.name for p in tmp_path.iterdir()] == ["a.zarr"]


def test_broken_metadata_gives_a_format_error(tmp_path):
    path = ionscope.save(composite_cross_section(shape=(8, 8), seed=1)[0], tmp_path / "a.zarr")
    (path / "zarr.json").write_text("{ not json")
    with pytest.raises(FormatError, match="a.zarr"):
        ionscope.read(path)


def test_store_claiming_a_missing_variable(tmp_path):
    path = ionscope.save(composite_cross_section(shape=(8, 8), seed=1)[0], tmp_path / "a.zarr")
    meta = json.loads((path / "zarr.json").read_text())
    meta["attributes"]["ionscope_dataarray"] = "nothing"
    (path / "zarr.json").write_text(json.dumps(meta))
    with pytest.raises(FormatError, match="no such variable"):
        ionscope.read(path)


def test_atomic_files_get_ordinary_permissions(tmp_path):
    import os

    from ionscope.io.atomic import write_text

    p = write_text(tmp_path / "r.txt", "x")
    mask = os.umask(0)
    os.umask(mask)
    assert p.stat().st_mode & 0o777 == 0o666 & ~mask


def test_load_array_refuses_a_store_of_several_variables(tmp_path):
    import xarray as xr

    from ionscope.io.zarr_store import load_array, save
    from ionscope.model.errors import ValidationError

    one = make_volume(np.zeros((4, 5, 6), np.uint8), spacing=(1.0, 1.0, 1.0))
    save(one, tmp_path / "one.zarr")
    assert load_array(tmp_path / "one.zarr", "label image").shape == (4, 5, 6)
    save(xr.Dataset({"a": ("x", np.arange(3)), "b": ("x", np.arange(3))}), tmp_path / "two.zarr")
    with pytest.raises(ValidationError, match="several variables, not one label image"):
        load_array(tmp_path / "two.zarr", "label image")
