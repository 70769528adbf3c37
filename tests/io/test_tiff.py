import struct

import numpy as np
import pytest
import tifffile
import xarray as xr

import ionscope
from ionscope.model import AbsurdSizeError, FormatError, spacing_of

from ..conftest import shared_data


def test_stack_with_imagej_spacing(tmp_path):
    data = np.random.default_rng(0).integers(0, 255, (5, 16, 20), dtype=np.uint8)
    p = tmp_path / "stack.tif"
    meta = {"spacing": 0.03, "unit": "um", "axes": "ZYX"}
    tifffile.imwrite(p, data, imagej=True, resolution=(1 / 0.01, 1 / 0.01), metadata=meta)
    vol = ionscope.read(p)
    assert vol.dims == ("z", "y", "x")
    np.testing.assert_array_equal(vol.values, data)
    assert spacing_of(vol) == pytest.approx((0.03, 0.01, 0.01))
    assert vol.attrs["slice_thickness_source"] == "ImageJ spacing"


def test_declared_spacing_wins_and_lazy(tmp_path):
    data = np.arange(2 * 8 * 8, dtype=np.uint16).reshape(2, 8, 8)
    p = tmp_path / "s.tiff"
    tifffile.imwrite(p, data)
    vol = ionscope.read(p, pixel_size_um=0.005, slice_thickness_um=0.02, lazy=True)
    assert vol.chunks is not None
    np.testing.assert_array_equal(vol.values, data)
    assert spacing_of(vol) == pytest.approx((0.02, 0.005, 0.005))


def test_single_page_is_an_image_with_unknown_size_flagged(tmp_path):
    p = tmp_path / "i.tif"
    tifffile.imwrite(p, np.zeros((4, 6), np.float32))
    img = ionscope.read(p)
    assert img.dims == ("y", "x")
    assert "unknown" in img.attrs["pixel_size_source"]


def _tiny_tiff_header(width: int, height: int) -> bytes:
    """A little-endian TIFF with one IFD declaring width × height 8-bit pixels and no real data."""
    entries = [(256, 4, 1, width), (257, 4, 1, height), (258, 3, 1, 8), (259, 3, 1, 1), (262, 3, 1, 1),
               (273, 4, 1, 8), (277, 3, 1, 1), (278, 4, 1, height), (279, 4, 1, width * height % 2**32)]
    ifd = struct.pack("<H", len(entries)) + b"".join(struct.pack("<HHII", *e) for e in entries) + b"\0\0\0\0"
    return b"II*\x00" + struct.pack("<I", 8) + ifd


def test_absurd_header_is_rejected_before_allocation(tmp_path):
    p = tmp_path / "absurd.tif"
    p.write_bytes(_tiny_tiff_header(1_000_000, 1_000_000))  # 10^12 pixels in a 130-byte file
    with pytest.raises(AbsurdSizeError, match="absurd.tif"):
        ionscope.read(p)


def test_truncated_and_foreign_files(tmp_path):
    good = tmp_path / "g.tif"
    tifffile.imwrite(good, np.zeros((64, 64), np.uint8))
    trunc = tmp_path / "t.tif"
    trunc.write_bytes(good.read_bytes()[:12])
    with pytest.raises(FormatError, match="t.tif"):
        ionscope.read(trunc)
    other = tmp_path / "notes.tif"
    other.write_text("this is text")
    with pytest.raises(FormatError, match="content does not match"):
        ionscope.read(other)


@pytest.mark.realdata
def test_real_three_phase_stack():
    vol = ionscope.read(shared_data("microstructure", "three_phase_stack_100.tiff"))
    assert vol.shape == (100, 100, 100)
    assert set(np.unique(vol.values)) == {0, 127, 254}


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32, np.int32])
def test_write_tiff_round_trips_data_and_spacing(tmp_path, dtype):
    from ionscope.io.registry import write
    from ionscope.model.arrays import make_volume

    data = np.arange(3 * 4 * 5, dtype=dtype).reshape(3, 4, 5)
    vol = make_volume(data, (0.05, 0.012, 0.012))
    out = write(vol, tmp_path / "v.tif")
    back = ionscope.read(out)
    np.testing.assert_array_equal(back.values, data)
    inplane = spacing_of(back, ("y", "x"))
    np.testing.assert_allclose(inplane, (0.012, 0.012), rtol=1e-6)
    if dtype != np.int32:  # ImageJ metadata (slice spacing) exists only for ImageJ's dtypes
        np.testing.assert_allclose(spacing_of(back, ("z",)), (0.05,), rtol=1e-6)


def test_write_tiff_refuses_overwrite_and_wrong_dims(tmp_path):
    from ionscope.io.registry import write
    from ionscope.model.arrays import make_volume
    from ionscope.model.errors import OutputExistsError, ValidationError

    vol = make_volume(np.zeros((2, 3, 3), np.uint8), (1.0, 1.0, 1.0))
    out = write(vol, tmp_path / "v.tif")
    with pytest.raises(OutputExistsError):
        write(vol, out)
    write(vol, out, force=True)
    with pytest.raises(ValidationError, match="image \\(y, x\\) or a volume"):
        write(xr.DataArray(np.zeros((2, 2, 2, 2)), dims=("a", "b", "c", "d")), tmp_path / "w.tif")


@pytest.mark.parametrize("ppi", [72, 96, 300])
def test_a_print_resolution_is_not_a_pixel_size(tmp_path, ppi, cli):
    """72/96/300 pixels per inch (what writers put in every TIFF) leave the pixel size unknown, for the
    plain reader (info), the stack readers of micro/tomo (file and zip) alike; --spacing then sets it."""
    import zipfile

    from ionscope.io.tiff import read_tiff
    from ionscope.io.tiff_stack import read_stack

    labels = (np.arange(4 * 8 * 8).reshape(4, 8, 8) % 3 * 85).astype(np.uint8)
    path = tmp_path / "stack.tif"
    tifffile.imwrite(path, labels, resolution=(ppi, ppi), resolutionunit="INCH", photometric="minisblack")
    zpath = tmp_path / "stack.tiff.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        zf.write(path, "stack.tif")
    for vol in (read_tiff(path), read_stack(path), read_stack(zpath)):
        assert vol.attrs["pixel_size_source"].startswith("unknown") and f"{ppi} pixels per inch" in \
            vol.attrs["pixel_size_source"], vol.attrs
        assert vol.attrs["spacing_um"][1] == 1.0
    code, out, _ = cli("info", path)
    assert code == 0 and "print/screen density" in out and "352.7" not in out
    code, _, err = cli("micro", "metrics", zpath, "--only", "fractions")
    assert code == 2 and "records no voxel size" in err and "pixels per inch" in err
    code, _, err = cli("micro", "metrics", zpath, "--only", "fractions", "--spacing", "2um")
    assert code == 0, err


def test_a_microscope_resolution_in_inches_or_centimetres_is_kept(tmp_path):
    """A physical resolution (254000 per inch = 0.1 µm, 5000 per cm = 2 µm) is still read from the tags."""
    from ionscope.io.tiff import read_tiff

    img = np.zeros((8, 8), np.uint8)
    for res, unit, um in ((254000, "INCH", 0.1), (5000, "CENTIMETER", 2.0)):
        path = tmp_path / f"{unit}.tif"
        tifffile.imwrite(path, img, resolution=(res, res), resolutionunit=unit)
        da = read_tiff(path)
        assert da.attrs["pixel_size_source"] == "TIFF resolution tags"
        assert float(da.x[1] - da.x[0]) == pytest.approx(um)
