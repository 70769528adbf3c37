"""Writer → reader round trips: Zarr (any labelled array), TIFF (pixels and pixel size), imzML (cubes).

Files go to a fresh temporary folder per example (hypothesis re-runs the test body, so pytest's
function-scoped ``tmp_path`` cannot be used).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
import tifffile
import xarray as xr
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import ionscope
from ionscope.io.imzml import read_imzml
from ionscope.io.imzml_write import write_imzml
from ionscope.io.tiff import read_tiff
from ionscope.model.arrays import coord, labelled, make_ion_image, pixel_axis

from .strategies import IO

pixel_sizes = st.floats(min_value=0.001, max_value=50.0)
small = st.integers(min_value=1, max_value=6)
counts = st.sampled_from([np.uint16, np.int32, np.float32, np.float64])


def _cube(draw, dtype) -> np.ndarray:
    shape = (draw(small), draw(small), draw(st.integers(min_value=1, max_value=4)))
    elements = st.floats(-1e6, 1e6, width=32) if np.dtype(dtype).kind == "f" else st.integers(0, 60000)
    return draw(hnp.arrays(dtype, shape, elements=elements))


@IO
@given(st.data(), counts, pixel_sizes, st.booleans())
def test_zarr_round_trip_keeps_values_coords_units_and_attrs(data, dtype, pixel, lazy):
    values = _cube(data.draw, dtype)
    peaks = [f"p{i}" for i in range(values.shape[2])]
    image = make_ion_image(values, peaks, pixel_size_um=pixel, mz=np.arange(1.0, values.shape[2] + 1))
    with tempfile.TemporaryDirectory() as tmp:
        path = ionscope.save(image, Path(tmp) / "a.zarr")
        back = ionscope.load(path, lazy=lazy).load()
    assert back.name == "data"  # an unnamed array is stored as the store's one variable, "data"
    xr.testing.assert_identical(back, image.rename("data"))
    assert back.x.attrs["units"] == "µm" and back.attrs["units"] == image.attrs["units"]


@IO
@given(hnp.arrays(np.uint16, hnp.array_shapes(min_dims=2, max_dims=2, min_side=2, max_side=16)), pixel_sizes)
def test_tiff_round_trip_keeps_pixels_and_pixel_size(pixels, pixel):
    """ImageJ resolution tags store pixels per µm as a rational: the size comes back to ~1e-6 relative."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "a.tif"
        tifffile.imwrite(path, pixels, imagej=True, resolution=(1 / pixel, 1 / pixel), metadata={"unit": "um"})
        back = read_tiff(path)
        np.testing.assert_array_equal(np.asarray(back), pixels)
        step = float(back.x[1] - back.x[0])
    assert step == pytest.approx(pixel, rel=1e-6)


@IO
@given(st.data(), st.sampled_from([np.float32, np.int32, np.float64]), pixel_sizes)
def test_imzml_continuous_round_trip(data, dtype, pixel):
    values = _cube(data.draw, dtype)
    ny, nx, nmz = values.shape
    mz = np.sort(data.draw(hnp.arrays(np.float64, nmz, elements=st.floats(1.0, 2000.0), unique=True)))
    cube = labelled(values, "hyperspectral", coords={"y": coord("y", pixel_axis(ny, pixel), "µm"),
                                                     "x": coord("x", pixel_axis(nx, pixel), "µm"),
                                                     "mz": coord("mz", mz, "m/z")})
    with tempfile.TemporaryDirectory() as tmp:
        path = write_imzml(cube, Path(tmp) / "a.imzML", intensity_dtype=dtype)
        back = read_imzml(path, lazy=False).load()
    np.testing.assert_array_equal(back.values, values)
    np.testing.assert_array_equal(back.mz.values, mz)
    assert float(back.x[1] - back.x[0]) == pytest.approx(pixel, rel=1e-9) if nx > 1 else True
