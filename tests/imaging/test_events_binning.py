"""Event binning against a brute-force histogram and against the simulator's ground truth."""

from __future__ import annotations

import json

import numpy as np
import pytest

import ionscope
from ionscope.imaging import bin_events, ion_images, peak_windows
from ionscope.model.errors import ValidationError
from ionscope.synth.events import raw_events

PEAKS = [6.015, 7.016, 22.990, 58.93]
TOL_PPM = 2000.0  # ±0.014 Da at 7 u: many peak widths (σ = 2 channels ≈ 5e-4 Da at 7 u)


@pytest.fixture(scope="module")
def drifted(tmp_path_factory):
    drift = np.array([[0, 0], [1, 2], [-2, 1], [3, -1]])
    path = tmp_path_factory.mktemp("ev") / "run.grd"
    return raw_events(path, nx=24, ny=20, n_scans=4, drift_px=drift, seed=5)


def _brute(table, lo, hi, shifts=None, b=1, keep=False):
    rec = np.asarray(table.records).view("<u4").reshape(-1, 5).astype(np.int64)
    mz = table.calibration.mz(rec[:, 4])
    geo = table.geometry
    nsc = geo.n_scans if keep else 1
    out = np.zeros((nsc, geo.ny // b, geo.nx // b, lo.size), dtype=np.int64)
    for k in range(lo.size):
        sel = (mz >= lo[k]) & (mz <= hi[k])
        y, x, s = rec[sel, 3], rec[sel, 2], rec[sel, 0]
        if shifts is not None:
            y, x = y - shifts[s, 0], x - shifts[s, 1]
        ok = (y >= 0) & (x >= 0) & (y < geo.ny) & (x < geo.nx)
        y, x, s = y[ok] // b, x[ok] // b, s[ok]
        ok = (y < geo.ny // b) & (x < geo.nx // b)
        np.add.at(out, (s[ok] if keep else 0, y[ok], x[ok], k), 1)
    return out if keep else out[0]


def test_binning_equals_brute_force_histogram(drifted):
    table, truth = drifted
    _, lo, hi = peak_windows(PEAKS, tolerance_ppm=TOL_PPM)
    images = bin_events(table, peaks=PEAKS, tolerance_ppm=TOL_PPM, chunk_events=997)
    assert images.dims == ("y", "x", "peak") and images.dtype == np.uint32
    np.testing.assert_array_equal(images.values, _brute(table, lo, hi))
    # independent of the chunk size
    np.testing.assert_array_equal(bin_events(table, peaks=PEAKS, tolerance_ppm=TOL_PPM).values, images.values)
    shifts = truth.truth["drift_px"]
    cube = bin_events(table, peaks=PEAKS, tolerance_ppm=TOL_PPM, keep_scans=True, spatial_bin=2, shifts=shifts)
    assert cube.dims == ("scan", "y", "x", "peak") and cube.shape == (4, 10, 12, 4)
    np.testing.assert_array_equal(cube.values, _brute(table, lo, hi, shifts=shifts, b=2, keep=True))
    assert cube["x"].attrs["units"] == "µm" and float(cube["x"][1] - cube["x"][0]) == 2.0


def test_shift_correction_recovers_true_rates(drifted):
    table, truth = drifted
    shifts = truth.truth["drift_px"]
    images = bin_events(table, peaks=PEAKS, tolerance_ppm=TOL_PPM, shifts=shifts)
    expected = truth.truth["expected_counts"]  # (species, y, x) over 4 scans, true frame
    # Pixels that no scan's drift pushed out of the field keep all 4 scans (|shift| ≤ 3 px).
    inner = (slice(3, 17), slice(3, 21))
    for k in range(len(PEAKS)):
        obs = images.values[inner + (k,)].astype(float)
        exp = expected[k][inner]
        # Poisson: total over ~250 pixels of mean ≥ 0.8 counts; 99.7 % of the Gaussian peak is inside
        # ±3σ ≪ window; background adds ≲ 0.5·4·(window/range) per pixel. Allow 5σ of the total.
        bg = 0.5 * 4 * (table.calibration.channel(58.93 * 1.002) - table.calibration.channel(58.93 * 0.998)) / (
            table.calibration.channel(100) - table.calibration.channel(1)) * obs.size
        assert abs(obs.sum() - exp.sum() - bg) < 5 * np.sqrt(exp.sum()) + bg
    # Without correction, the drifted scans smear the disc edges: correlation with truth drops.
    raw = bin_events(table, peaks=PEAKS, tolerance_ppm=TOL_PPM).values
    for k in range(len(PEAKS)):
        c_fixed = np.corrcoef(images.values[..., k].ravel(), expected[k].ravel())[0, 1]
        c_raw = np.corrcoef(raw[..., k].ravel(), expected[k].ravel())[0, 1]
        assert c_fixed > c_raw


def test_mz_binned_cube_and_ion_images_from_it(drifted):
    table, _ = drifted
    edges = np.linspace(1.0, 100.0, 9901)
    cube = bin_events(table, mz_edges=edges)
    assert cube.dims == ("y", "x", "mz") and cube["mz"].attrs["units"] == "m/z"
    mz = table.calibration.mz(np.asarray(table.column("tof")))
    assert int(cube.values.sum()) == int(np.count_nonzero((mz >= 1.0) & (mz < 100.0)))
    im = ion_images(cube, [7.016], tolerance_da=0.2)
    direct = bin_events(table, mz_edges=[7.016 - 0.2, 7.016 + 0.2])
    # bin edges at 0.01 steps: 6.816 … 7.216 coincide with cube edges up to rounding; totals agree ±0.1 %
    assert im.values.sum() == pytest.approx(direct.values.sum(), rel=1e-3)


def test_ion_images_on_event_tables_and_paths(drifted):
    table, _ = drifted
    a = ion_images(table, PEAKS, tolerance_ppm=TOL_PPM)
    b = ion_images(table.path, PEAKS, tolerance_ppm=TOL_PPM, k0=table.calibration.k0, sf=table.calibration.sf,
                   nx=24, ny=20)
    np.testing.assert_array_equal(a.values, b.values)


def test_bad_requests(drifted):
    table, _ = drifted
    with pytest.raises(ValidationError, match="exactly one"):
        peak_windows([7.0])
    with pytest.raises(ValidationError, match="overlap"):
        bin_events(table, peaks=[7.0, 7.001], tolerance_da=0.01)
    with pytest.raises(ValidationError, match="either peaks"):
        bin_events(table)
    with pytest.raises(ionscope.model.AbsurdSizeError):
        bin_events(table, peaks=[7.0], tolerance_da=0.01, keep_scans=True, scans=(0, 10**9))
    with pytest.raises(ValidationError, match="shifts"):
        bin_events(table, peaks=[7.0], tolerance_da=0.01, shifts=np.zeros((4, 3)))


def test_cli_bin_events_extract_info_convert(drifted, cli, tmp_path):
    table, _ = drifted
    out = tmp_path / "cube.zarr"
    code, stdout, _ = cli("image", "bin-events", table.path, "--pixel-size", "1um",
                          "--nx", "24", "--ny", "20", "--k0", "2000",
                          "--sf", "20000", "--peaks", "7.016,58.93", "--tolerance-ppm", "2000", "--out", out, "--json")
    assert code == 0
    doc = json.loads(stdout)
    d = doc["results"]
    assert doc["kind"] == "image.bin-events" and d["shape"] == [20, 24, 2] and doc["provenance"]
    stored = ionscope.read(out)
    direct = bin_events(table, peaks=[7.016, 58.93], tolerance_ppm=2000)
    np.testing.assert_array_equal(stored.values, direct.values)
    code, stdout, _ = cli("image", "extract", out, "--peaks", "58.93", "--tolerance-ppm", "10", "--json")
    total = json.loads(stdout)["results"]["peaks"]["58.9300"]["total_counts"]["value"]
    assert code == 0 and total == float(direct.values[..., 1].sum())
    code, stdout, _ = cli("info", table.path, "--json")
    assert code == 0 and json.loads(stdout)["results"]["kind"] == "events"
    code, _, _ = cli("convert", table.path, tmp_path / "c2.zarr", "-o", "k0=2000", "-o", "sf=20000", "-o", "nx=24",
                     "-o", "ny=20", "-o", "peaks=7.016", "-o", "tol_ppm=2000")
    assert code == 0
    np.testing.assert_array_equal(ionscope.read(tmp_path / "c2.zarr").values[..., 0], direct.values[..., 0])
    code, _, err = cli("image", "bin-events", table.path, "--pixel-size", "1um",
                          "--nx", "4", "--ny", "4", "--k0", "2000", "--sf", "20000",
                       "--peaks", "7.016", "--tolerance-ppm", "2000", "--out", tmp_path / "x.zarr")
    assert code == 2 and "outside the declared 4 × 4 pixel grid" in err


def test_streaming_scan_blocks_to_zarr(drifted, tmp_path):
    from ionscope.imaging import bin_events_to_zarr

    table, truth = drifted
    shifts = truth.truth["drift_px"]
    path = bin_events_to_zarr(table, tmp_path / "cube.zarr", scans_per_block=3, peaks=PEAKS,
                              tolerance_ppm=TOL_PPM, shifts=shifts)
    stored = ionscope.read(path)
    assert stored.dims == ("scan", "y", "x", "peak") and stored.chunks is not None
    direct = bin_events(table, peaks=PEAKS, tolerance_ppm=TOL_PPM, keep_scans=True, shifts=shifts)
    np.testing.assert_array_equal(stored.values, direct.values)
    np.testing.assert_array_equal(stored["scan"].values, np.arange(4))
    assert stored["x"].attrs["units"] == "µm" and list(stored["peak"].values) == list(direct["peak"].values)
    assert stored.attrs["events_counted"] == direct.attrs["events_counted"]


def test_streaming_refuses_unordered_scans(tmp_path):
    from ionscope.imaging import bin_events_to_zarr
    from ionscope.io.grd import read_grd, write_grd

    rec = np.array([[1, 0, 0, 0, 60000], [0, 0, 1, 1, 60000], [1, 0, 2, 2, 60000]], dtype=np.uint32)
    table = read_grd(write_grd(rec, tmp_path / "u.grd"), k0=2000, sf=20000, nx=4, ny=4, n_scans=2)
    with pytest.raises(ValidationError, match="not ordered by scan"):
        bin_events_to_zarr(table, tmp_path / "u.zarr", scans_per_block=1, peaks=[50.0], tolerance_da=50)
    with pytest.raises(ValidationError, match="keep_scans needs peaks"):
        bin_events(table, mz_edges=[1, 100], keep_scans=True)


def test_cli_keep_scans_streams_to_zarr(drifted, cli, tmp_path):
    table, _ = drifted
    out = tmp_path / "scans.zarr"
    code, stdout, _ = cli("image", "bin-events", table.path, "--pixel-size", "1um",
                          "--nx", "24", "--ny", "20", "--k0", "2000", "--sf",
                          "20000", "--peaks", "7.016", "--tolerance-ppm", "2000", "--keep-scans", "--out", out,
                          "--json")
    assert code == 0 and json.loads(stdout)["results"]["shape"] == [4, 20, 24, 1]
    direct = bin_events(table, peaks=[7.016], tolerance_ppm=2000, keep_scans=True)
    np.testing.assert_array_equal(ionscope.read(out).values, direct.values)
