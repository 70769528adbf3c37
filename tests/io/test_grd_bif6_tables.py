"""GRD event files, BIF6 peak images and CSV/TSV tables: layouts, round trips and bad input."""

from __future__ import annotations

import struct
import tracemalloc

import numpy as np
import pandas as pd
import pytest

import ionscope
from ionscope.io.bif6 import read_bif6, write_bif6
from ionscope.io.grd import read_grd, write_grd
from ionscope.io.table_text import write_table
from ionscope.model.arrays import make_depth_profile, make_ion_image, make_spectrum
from ionscope.model.errors import FormatError, ValidationError
from ionscope.model.events import Calibration, EventTable


def test_grd_is_memory_mapped_columns(tmp_path):
    rec = np.array([[0, 1, 2, 3, 1000], [1, 5, 6, 7, 2000], [2, 9, 1, 0, 3000]], dtype=np.uint32)
    path = write_grd(rec, tmp_path / "a.grd")
    table = ionscope.read(path, k0=100, sf=10, nx=8, ny=8)
    assert isinstance(table, EventTable) and len(table) == 3
    assert isinstance(table.records, np.memmap)
    np.testing.assert_array_equal(table.column("tof"), rec[:, 4])
    np.testing.assert_array_equal(table.column("x"), rec[:, 2])
    chunks = [(s, b.copy()) for s, b in table.iter_chunks(2)]
    assert [s for s, _ in chunks] == [0, 2]
    np.testing.assert_array_equal(np.concatenate([b for _, b in chunks]), rec)
    # m/z = ((channel·binning − k0)/sf)²
    assert table.mz(1000) == pytest.approx(((1000 - 100) / 10) ** 2)
    d = table.describe()
    assert d["kind"] == "events" and d["shape"] == [3] and d["attrs"]["last_event"]["tof"] == 3000


def test_calibration_inverse():
    cal = Calibration(k0=1234.5, sf=21000.0, binning=2.0)
    mz = np.array([1.007, 7.016, 58.93, 208.98])
    np.testing.assert_allclose(cal.mz(cal.channel(mz)), mz, rtol=1e-12)
    assert np.isnan(cal.mz(0))


def test_truncated_grd(tmp_path):
    path = tmp_path / "t.grd"
    path.write_bytes(bytes(20 * 10 + 7))
    with pytest.raises(FormatError, match="not a multiple of the 20-byte") as exc:
        read_grd(path)
    assert "t.grd" in str(exc.value)


def test_grd_geometry_and_calibration_are_checked(tmp_path):
    path = write_grd(np.array([[0, 0, 40, 3, 5000]], dtype=np.uint32), tmp_path / "g.grd")
    with pytest.raises(ValidationError, match="both k0 and sf"):
        read_grd(path, k0=1.0)
    with pytest.raises(ValidationError, match="outside the declared 8 × 8 pixel grid"):
        from ionscope.imaging import bin_events

        bin_events(read_grd(path, k0=0, sf=1000, nx=8, ny=8), peaks=[25.0], tolerance_da=1)


def _bif6_bytes(nx, ny, intervals):
    out = struct.pack("<6s3H", b"\x00\x00BIF6", len(intervals), nx, ny)
    for ident, lo, mid, hi, img in intervals:
        out += struct.pack("<I3f", ident, lo, mid, hi) + np.asarray(img, dtype="<u4").tobytes()
    return out


def test_bif6_layout(tmp_path):
    a = np.arange(12, dtype=np.uint32).reshape(3, 4)  # ny = 3 rows, nx = 4 columns, x fastest
    b = 100 + a
    path = tmp_path / "p.bif6"
    path.write_bytes(_bif6_bytes(4, 3, [(0, 0.5, 100.0, 500.0, a), (7, 6.9, 7.0, 7.1, b)]))
    im = ionscope.read(path, pixel_size_um=2.0)
    assert im.dims == ("y", "x", "peak") and im.shape == (3, 4, 2)
    np.testing.assert_array_equal(im.values[..., 0], a)
    np.testing.assert_array_equal(im.values[..., 1], b)
    assert list(im["peak"].values) == ["total", "7.0000"]
    np.testing.assert_allclose(im["mz_low"].values, [0.5, 6.9], rtol=1e-6)
    assert float(im["x"][1] - im["x"][0]) == 2.0
    # ion images select the exported interval that contains the requested m/z
    sel = ionscope.imaging.ion_images(im, [7.02])
    np.testing.assert_array_equal(sel.values[..., 0], b)
    with pytest.raises(ValidationError, match="no exported interval"):
        ionscope.imaging.ion_images(im, [50.0], tolerance_da=0.1)
    # writer round trip
    out = write_bif6(im, tmp_path / "q.bif6")
    assert out.read_bytes() == path.read_bytes()


@pytest.mark.parametrize("mutate, message", [
    (lambda raw: raw[:-3], "inconsistent sizes"),
    (lambda raw: raw + b"\x00" * 4, "inconsistent sizes"),
    (lambda raw: b"\x00\x00BIF5" + raw[6:], "bad magic"),
    (lambda raw: raw[:8], "shorter than the 12-byte"),
    (lambda raw: raw[:6] + struct.pack("<3H", 65535, 65535, 65535) + raw[12:], "inconsistent sizes"),
])
def test_bif6_bad_input(tmp_path, mutate, message):
    raw = _bif6_bytes(4, 3, [(1, 6.9, 7.0, 7.1, np.ones((3, 4)))])
    path = tmp_path / "bad.bif6"
    path.write_bytes(mutate(raw))
    tracemalloc.start()
    try:
        with pytest.raises(FormatError, match=message) as exc:
            read_bif6(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "bad.bif6" in str(exc.value)
    assert peak < 1024**2  # nothing near the 17 GB the 65535³ header claims


def test_bif6_writer_refuses_non_counts(tmp_path):
    im = make_ion_image(np.full((2, 2, 1), 0.5), ["a"], pixel_size_um=1.0, mz=[7.0])
    with pytest.raises(ValidationError, match="whole"):
        write_bif6(im, tmp_path / "x.bif6")


def test_spectrum_csv_round_trip(tmp_path):
    mz = np.array([1.007825, 6.015122, 7.016003])
    sp = make_spectrum(np.array([10.0, 3.5, 1e-17]), mz, channel=np.array([100, 200, 300]))
    path = ionscope.write(sp, tmp_path / "s.csv")
    table = pd.read_csv(path, comment="#")
    assert list(table.columns) == ["m/z", "channel", "intensity (counts)"]
    np.testing.assert_array_equal(table["m/z"].to_numpy(), mz)
    np.testing.assert_array_equal(table["intensity (counts)"].to_numpy(), sp.values)
    assert path.read_text().startswith("# kind: \"spectrum\"")


def test_depth_profile_tsv_round_trip(tmp_path):
    data = np.array([[1.0, 2.0, 3.0], [4.0, np.nan, 6.0]])
    labels = ["^7Li+", "^13CH_5N_2+ / ( Pb+ )", "total"]
    prof = make_depth_profile(data, labels, sputter_time_s=[0.5, 1.5], dose_ions=[1e12, 2e12],
                              mz=[7.016, np.nan, np.nan])
    path = write_table(prof, tmp_path / "d.tsv")
    assert "\t" in path.read_text().splitlines()[-1]
    table = pd.read_csv(path, sep="\t", comment="#")
    assert list(table.columns) == ["scan", "sputter_time (s)", "dose (ions)", *labels]
    np.testing.assert_array_equal(table[labels].to_numpy(), data)
    np.testing.assert_array_equal(table["dose (ions)"].to_numpy(), [1e12, 2e12])
    with pytest.raises(ionscope.model.OutputExistsError):
        write_table(prof, path)
    with pytest.raises(ValidationError, match="spectrum"):
        write_table(make_ion_image(np.zeros((2, 2, 1)), ["a"], pixel_size_um=1.0), tmp_path / "i.csv")
