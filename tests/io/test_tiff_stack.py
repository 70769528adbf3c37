"""TIFF stacks from a zip of one file per slice."""

from __future__ import annotations

import zipfile

import numpy as np
import tifffile

from ionscope.io.tiff_stack import read_stack


def test_zip_of_slices_reads_in_file_name_order(tmp_path):
    data = np.arange(3 * 6 * 5, dtype=np.uint8).reshape(3, 6, 5)
    z = tmp_path / "slices.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for k in (2, 0, 1):  # stored out of order: the reader sorts by name
            tifffile.imwrite(tmp_path / f"s{k}.tif", data[k])
            zf.write(tmp_path / f"s{k}.tif", f"stack/s{k:03d}.tif")
    vol = read_stack(z, pixel_size_um=0.5, slice_thickness_um=1.0)
    np.testing.assert_array_equal(vol.values, data)
