"""imzML: real reference files against pyimzML, writer round trips, IONTOF quirks, bad input."""

from __future__ import annotations

import shutil
import tracemalloc

import numpy as np
import pytest
import xarray as xr
from pyimzml.ImzMLParser import ImzMLParser, getionimage

import ionscope
from ionscope.imaging import ion_images
from ionscope.io.imzml import ImzMLData, open_imzml, read_imzml
from ionscope.io.imzml_write import write_imzml
from ionscope.model.arrays import coord, labelled, pixel_axis
from ionscope.model.errors import (
    AbsurdSizeError,
    FormatError,
    InputNotFoundError,
    OutputExistsError,
    UnsupportedError,
)

from ..conftest import shared_data


@pytest.mark.realdata
@pytest.mark.parametrize("name", ["Example_Continuous", "Example_Processed"])
def test_reference_examples_match_pyimzml(name):
    # imzML reference examples (Apache-2.0, shipped with pyimzML): 3 × 3 pixels, 100 µm.
    path = shared_data("imzml", f"{name}.imzML")
    ours = open_imzml(path)
    ref = ImzMLParser(str(path))
    assert ours.n_spectra == len(ref.coordinates) == 9
    assert ours.pixel_size_um == (100.0, 100.0)
    assert ours.index.polarity == "negative"
    for i, (x, y, _z) in enumerate(ref.coordinates):
        mz, it = ours.spectrum(i)
        rmz, rit = ref.getspectrum(i)
        assert (ours.index.x[i], ours.index.y[i]) == (x, y)
        np.testing.assert_array_equal(mz, rmz)
        np.testing.assert_array_equal(it, rit)
    peaks = [151.2, 300.5, 600.1]
    images = ion_images(ours, peaks, tolerance_da=0.25)
    for k, m in enumerate(peaks):
        expected = getionimage(ref, m, tol=0.25)
        # pyimzML sums float32 values in float32; ours sums in float64: agree to float32 rounding.
        np.testing.assert_allclose(images.values[..., k], expected, rtol=1e-6, atol=1e-9)
    assert images.dims == ("y", "x", "peak") and images["x"].attrs["units"] == "µm"


@pytest.mark.realdata
def test_continuous_reference_is_a_hyperspectral_cube():
    path = shared_data("imzml", "Example_Continuous.imzML")
    cube = ionscope.read(path)
    ref = ImzMLParser(str(path))
    assert cube.dims == ("y", "x", "mz") and cube.shape == (3, 3, 8399)
    assert cube["mz"].attrs["units"] == "m/z"
    for i, (x, y, _z) in enumerate(ref.coordinates):
        np.testing.assert_array_equal(cube.values[y - 1, x - 1], ref.getspectrum(i)[1])
    lazy = read_imzml(path, lazy=True)
    assert lazy.chunks is not None
    np.testing.assert_array_equal(lazy.values, cube.values)
    # ion images from the cube and from the sparse spectra agree exactly
    sparse = read_imzml(path, as_spectra=True)
    a = ion_images(cube, [300.5], tolerance_ppm=1000)
    b = ion_images(sparse, [300.5], tolerance_ppm=1000)
    np.testing.assert_allclose(a.values, b.values, rtol=1e-12)


def _spectra(seed=1, ny=4, nx=5, skip=((0, 1),), empty=((2, 3),)):
    rng = np.random.default_rng(seed)
    out = []
    for y in range(ny):
        for x in range(nx):
            if (y, x) in skip:
                continue
            n = 0 if (y, x) in empty else int(rng.integers(5, 40))
            mz = np.sort(rng.uniform(1, 200, n))
            out.append((x, y, mz, rng.poisson(3.0, n).astype(np.float32)))
    return out


def test_processed_writer_round_trips_through_pyimzml(tmp_path):
    spectra = _spectra()
    path = write_imzml(spectra, tmp_path / "p.imzML", shape=(4, 5), pixel_size_um=(2.0, 3.0), polarity="positive")
    ref = ImzMLParser(str(path))
    assert len(ref.coordinates) == len(spectra)
    for i, (x, y, mz, it) in enumerate(spectra):
        assert ref.coordinates[i][:2] == (x + 1, y + 1)
        rmz, rit = ref.getspectrum(i)
        np.testing.assert_array_equal(rmz, mz)
        np.testing.assert_array_equal(rit, it)
    ours = ionscope.read(path)
    assert isinstance(ours, ImzMLData) and ours.mode == "processed" and ours.shape == (4, 5)
    assert ours.pixel_size_um == (2.0, 3.0) and ours.index.polarity == "positive"
    assert any("have no spectrum" in n for n in ours.index.notes)
    mz, it = ours.spectrum_at(3, 4)
    np.testing.assert_array_equal(mz, spectra[-1][2])
    assert ours.spectrum_at(0, 1)[0].size == 0  # the skipped (sparse) pixel
    # integer counts: sums are exact in float32 and float64, so images are identical to a brute-force
    # sum and to pyimzML's wherever pyimzML's bisection is right: it returns the first value of a
    # spectrum with fewer than two values ≤ m + tol even when that value is outside the window.
    for m in (20.0, 100.0, 150.0):
        img = ion_images(ours, [m], tolerance_da=5.0).values[..., 0]
        brute = np.zeros((4, 5))
        reliable = np.ones((4, 5), bool)
        for x, y, smz, sit in spectra:
            brute[y, x] = sit[(smz >= m - 5) & (smz <= m + 5)].sum()
            reliable[y, x] = np.count_nonzero(smz <= m + 5) >= 2 or smz.size == 0
        np.testing.assert_array_equal(img, brute)
        np.testing.assert_array_equal(img[reliable], getionimage(ref, m, tol=5.0)[reliable])
        assert reliable.sum() >= 10
    # binned densification: totals conserved within the covered range
    binned = ours.binned(np.linspace(0, 256, 257))
    assert binned.dims == ("y", "x", "mz")
    assert binned.values.sum() == pytest.approx(sum(float(s[3].sum()) for s in spectra))


def test_continuous_writer_round_trips_int32(tmp_path):
    rng = np.random.default_rng(2)
    mz = np.linspace(10, 60, 101)
    data = rng.poisson(4.0, (3, 4, mz.size)).astype(np.int32)
    cube = labelled(data, "hyperspectral", coords={"y": coord("y", pixel_axis(3, 0.5), "µm"),
                                                   "x": coord("x", pixel_axis(4, 0.5), "µm"),
                                                   "mz": coord("mz", mz, "m/z")})
    path = ionscope.write(cube, tmp_path / "c.imzML")
    ref = ImzMLParser(str(path))
    assert ref.intensityPrecision == "i"
    for i, (x, y, _z) in enumerate(ref.coordinates):
        np.testing.assert_array_equal(ref.getspectrum(i)[1], data[y - 1, x - 1])
        np.testing.assert_array_equal(ref.getspectrum(i)[0], mz)
    back = ionscope.read(path)
    xr.testing.assert_equal(back.reset_coords(drop=True), cube.reset_coords(drop=True))
    assert back.dtype == np.int32
    with pytest.raises(OutputExistsError):
        ionscope.write(cube, tmp_path / "c.imzML")


def _quirky_copy(src_path, tmp_path, name="q"):
    """An imzML rewritten as IONTOF exports it: ISO-8859-1, CRLF, no indentation, Latin-1 text."""
    text = src_path.read_text(encoding="utf-8")
    text = text.replace('encoding="UTF-8"', 'encoding="ISO-8859-1"')
    text = " ".join(line.strip() for line in text.splitlines()).replace("> <", "><")
    text = text.replace('value="ionscope"/>', 'value="Universität Münster – µm"/>'.replace("–", "-"), 1)
    text = text.replace("><", ">\r\n<")
    out = tmp_path / f"{name}.imzML"
    out.write_bytes(text.encode("latin-1"))
    shutil.copy(src_path.with_suffix(".ibd"), out.with_suffix(".ibd"))
    return out


def test_iontof_quirks(tmp_path):
    spectra = _spectra(seed=3)
    path = write_imzml(spectra, tmp_path / "p.imzML", shape=(4, 5))
    quirky = _quirky_copy(path, tmp_path)
    assert b"\r\n" in quirky.read_bytes() and b"\xfc" in quirky.read_bytes()
    ours = open_imzml(quirky)
    for i, (_x, _y, mz, it) in enumerate(spectra):
        got = ours.spectrum(i)
        np.testing.assert_array_equal(got[0], mz)
        np.testing.assert_array_equal(got[1], it)
    assert ours.pixel_size_um == (1.0, 1.0)  # no pixel size in the file: 1 µm assumed
    # an empty spectrum and a missing pixel both read as zero in images
    img = ion_images(ours, [100.0], tolerance_da=200).values[..., 0]
    assert img[2, 3] == 0 and img[0, 1] == 0


def _write_small(tmp_path, name="s"):
    return write_imzml(_spectra(seed=4), tmp_path / f"{name}.imzML", shape=(4, 5))


def _edit_xml(path, old, new, count=1):
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, count), encoding="utf-8")


def test_truncated_ibd_is_named(tmp_path):
    path = _write_small(tmp_path)
    ibd = path.with_suffix(".ibd")
    ibd.write_bytes(ibd.read_bytes()[:-100])
    with pytest.raises(FormatError, match=r"beyond the end of the file.*truncated") as exc:
        open_imzml(path)
    assert "s.ibd" in str(exc.value)


def test_offset_beyond_file(tmp_path):
    path = _write_small(tmp_path)
    text = path.read_text(encoding="utf-8")
    first_offset = text.split('name="external offset" value="')[1].split('"')[0]
    _edit_xml(path, f'name="external offset" value="{first_offset}"', 'name="external offset" value="99999999"')
    with pytest.raises(FormatError, match="spectrum 0.*beyond the end"):
        open_imzml(path, checksum=False)


def test_negative_length(tmp_path):
    path = _write_small(tmp_path)
    text = path.read_text(encoding="utf-8")
    n = text.split('name="external array length" value="')[1].split('"')[0]
    _edit_xml(path, f'name="external array length" value="{n}"', 'name="external array length" value="-5"')
    with pytest.raises(FormatError, match="negative"):
        open_imzml(path, checksum=False)


def test_mismatched_uuid(tmp_path):
    path = _write_small(tmp_path)
    ibd = path.with_suffix(".ibd")
    raw = bytearray(ibd.read_bytes())
    raw[:16] = bytes(16)
    ibd.write_bytes(bytes(raw))
    with pytest.raises(FormatError, match="UUID mismatch"):
        open_imzml(path)


def test_sha1_mismatch(tmp_path):
    path = _write_small(tmp_path)
    ibd = path.with_suffix(".ibd")
    raw = bytearray(ibd.read_bytes())
    raw[-1] ^= 0xFF
    ibd.write_bytes(bytes(raw))
    with pytest.raises(FormatError, match="SHA-1 checksum mismatch"):
        open_imzml(path)
    open_imzml(path, checksum=False)  # the user may skip the hash


@pytest.mark.parametrize("content, message", [
    ('<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><rect/></svg>', "not <mzML>"),
    ('<?xml version="1.0"?><mzML><run><spectrumList', "not well-formed"),
    ('<?xml version="1.0"?><mzML xmlns="http://psi.hupo.org/ms/mzml"><run><spectrumList count="0"/></run></mzML>',
     "no spectra"),
])
def test_xml_that_is_not_imzml(tmp_path, content, message):
    path = tmp_path / "n.imzML"
    path.write_text(content)
    path.with_suffix(".ibd").write_bytes(bytes(32))
    with pytest.raises(FormatError, match=message):
        open_imzml(path)


def test_header_claiming_1e12_pixels_fails_before_allocating(tmp_path):
    path = _write_small(tmp_path)
    _edit_xml(path, 'name="max count of pixels x" value="5"', 'name="max count of pixels x" value="1000000"')
    _edit_xml(path, 'name="max count of pixels y" value="4"', 'name="max count of pixels y" value="1000000"')
    tracemalloc.start()
    try:
        with pytest.raises(AbsurdSizeError, match="1e\\+12 pixels"):
            ionscope.read(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 10 * 1024**2


def test_missing_ibd_and_compression(tmp_path):
    path = _write_small(tmp_path)
    path.with_suffix(".ibd").unlink()
    with pytest.raises(InputNotFoundError, match="no binary data file"):
        open_imzml(path)
    path = _write_small(tmp_path, "z")
    _edit_xml(path, 'accession="MS:1000576" name="no compression"', 'accession="MS:1000574" name="zlib compression"')
    with pytest.raises(UnsupportedError, match="zlib"):
        open_imzml(path)


def test_sniffed_without_extension(tmp_path):
    from ionscope.io import find_plugin

    path = _write_small(tmp_path)
    renamed = path.rename(tmp_path / "export.xml")
    path.with_suffix(".ibd").rename(tmp_path / "export.ibd")
    assert find_plugin(renamed).name == "imzml"
    assert ionscope.read(renamed).n_spectra == 19


def test_int32_offsets_are_unwrapped():
    from ionscope.io.imzml_index import _unwrap_int32

    true = np.array([16, 2**31 - 8, 2**31 + 100, 2**32 + 5, 2**32 + 2**31 + 7], dtype=np.int64)
    written = ((true + 2**31) % 2**32) - 2**31  # as a signed 32-bit exporter writes them
    np.testing.assert_array_equal(_unwrap_int32(written), true)


def test_cli_extract_info_and_convert_processed(tmp_path, cli):
    import json

    spectra = _spectra(seed=6)
    path = write_imzml(spectra, tmp_path / "p.imzML", shape=(4, 5), pixel_size_um=2.0)
    code, out, _ = cli("image", "extract", path, "--peaks", "50,150", "--tolerance", "10", "--json",
                       "--out", tmp_path / "img.zarr")
    assert code == 0
    d = json.loads(out)["results"]
    expected = sum(float(s[3][(s[2] >= 40) & (s[2] <= 60)].sum()) for s in spectra)
    assert d["peaks"]["50.0000"]["total_counts"]["value"] == expected
    assert ionscope.read(tmp_path / "img.zarr").shape == (4, 5, 2)
    code, out, _ = cli("info", path, "--json")
    assert code == 0 and json.loads(out)["results"]["attrs"]["mode"] == "processed"
    code, _, _ = cli("convert", path, tmp_path / "dense.zarr", "-o", "mz_bin=0.5")
    assert code == 0
    dense = ionscope.read(tmp_path / "dense.zarr")
    assert dense.dims == ("y", "x", "mz") and float(dense.sum()) == pytest.approx(
        sum(float(s[3].sum()) for s in spectra))
    code, out, _ = cli("image", "extract", path, "--peaks", "50", "--json")
    assert code == 2 and "exactly one window half-width" in json.loads(out)["error"]["message"]


@pytest.mark.parametrize("n_values", [30, 3000])  # merge-walk path and binary-search path
def test_unsorted_and_overlapping_windows_match_brute_force(tmp_path, n_values):
    rng = np.random.default_rng(n_values)
    spectra = [(x, y, np.sort(rng.uniform(1, 100, n_values)), rng.poisson(2.0, n_values).astype(np.float32))
               for y in range(2) for x in range(3)]
    path = write_imzml(spectra, tmp_path / "w.imzML", shape=(2, 3))
    peaks = [80.0, 10.0, 10.5, 55.0, 99.9]  # unsorted; 10.0 and 10.5 overlap at ±1
    images = ion_images(open_imzml(path), peaks, tolerance_da=1.0)
    for k, m in enumerate(peaks):
        for x, y, mz, it in spectra:
            assert images.values[y, x, k] == it[(mz >= m - 1) & (mz <= m + 1)].sum()
