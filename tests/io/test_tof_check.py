"""The calibration check of raw events: right k0/sf → silent; wrong k0 or sf → a warning and a suggestion
that recovers the simulator's calibration within its stated uncertainty."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ionscope.imaging import bin_events
from ionscope.io.grd import write_grd
from ionscope.io.tof_check import check_tof_calibration, find_tof_peaks
from ionscope.library import parse_formula
from ionscope.model.events import Calibration, EventTable
from ionscope.synth.events import DEFAULT_CALIBRATION, raw_events

#: A ±200 ppm window around ⁷Li⁺ (a few peak widths).
LI_WINDOW = (np.array([7.01546 * (1 - 2e-4)]), np.array([7.01546 * (1 + 2e-4)]))
#: Exact m/z of the simulated ions (electron mass included), so that the truth is the common ions' calibration.
IONS = ("^6Li+", "Li+", "Na+", "Co+")
MZ = [parse_formula(i).mz for i in IONS]
K0, SF = DEFAULT_CALIBRATION.k0, DEFAULT_CALIBRATION.sf


def _with(table: EventTable, k0: float, sf: float) -> EventTable:
    return EventTable(table.path, calibration=Calibration(k0, sf), geometry=table.geometry, attrs=dict(table.attrs))


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    path = tmp_path_factory.mktemp("tofcheck") / "run.grd"
    return raw_events(path, nx=32, ny=32, n_scans=4, peaks_mz=MZ, seed=3)[0]


def test_peaks_are_found_where_the_simulator_put_them(run):
    tof = np.sort(np.asarray(run.column("tof"), dtype=np.int64))
    peaks = find_tof_peaks(tof)
    assert peaks.channel.size == 4  # the four ions; the flat background gives none
    true = np.sort(DEFAULT_CALIBRATION.channel(MZ))
    order = np.argsort(peaks.channel)
    # centroid within 4 standard errors; FWHM of the σ = 2-channel Gaussian, 2.355 × 2
    assert np.all(np.abs(peaks.channel[order] - true) < 4 * peaks.channel_sigma[order])
    assert np.allclose(peaks.fwhm, 2.3548 * 2, rtol=0.1)


def test_right_calibration_gives_no_warning(run):
    check = check_tof_calibration(run, windows=LI_WINDOW)
    assert check.consistent is True and check.warnings == ()
    assert check.matched == 3 and check.tested == 4  # Co⁺ is not a common ion
    assert check.windows_above_flat == 1
    # the simulator's own (rounded, neutral-atom) masses: still within one peak width of the ions
    table = raw_events(run.path.with_name("demo.grd"), nx=32, ny=32, seed=4)[0]
    assert check_tof_calibration(table).warnings == ()


@pytest.mark.parametrize(("k0", "sf"), [(K0 + 100, SF), (K0 - 37, SF), (K0, SF * 1.01)])
def test_wrong_calibration_is_named_and_the_truth_suggested(run, k0, sf):
    check = check_tof_calibration(_with(run, k0, sf), windows=LI_WINDOW)
    assert check.consistent is False and check.matched == 0
    assert len(check.warnings) == 1 and "probably wrong" in check.warnings[0]
    assert "none of the 4 strongest time-of-flight peaks" in check.warnings[0]
    assert check.windows_above_flat == 0
    s = check.suggestion
    assert s is not None and sorted(s["ions"]) == sorted(["^6Li+", "Li+", "Na+"])
    for name, true in (("k0", K0), ("sf", SF)):
        assert abs(s[name]["value"] - true) <= 2 * s[name]["uncertainty"], (name, s[name], true)
    assert f"k0 = {s['k0']['value']:.6g}" in check.warnings[0]


def test_suggestion_uncertainty_covers_the_truth_over_seeds(tmp_path):
    """Over 8 simulated runs the suggested k0 and sf deviate from the truth by ≲ 1 stated σ (rms):
    the uncertainty is neither far too small nor the truth missed."""
    z = []
    for seed in range(8):
        table = raw_events(tmp_path / f"r{seed}.grd", nx=24, ny=24, peaks_mz=MZ, seed=seed)[0]
        s = check_tof_calibration(_with(table, K0 + 60, SF)).suggestion
        assert s is not None
        z += [(s["k0"]["value"] - K0) / s["k0"]["uncertainty"], (s["sf"]["value"] - SF) / s["sf"]["uncertainty"]]
    assert np.max(np.abs(z)) < 3.5 and np.sqrt(np.mean(np.square(z))) < 1.5


def test_absent_requested_ion_is_reported_with_a_right_calibration(run):
    k = parse_formula("K+").mz
    check = check_tof_calibration(run, windows=(np.array([k * (1 - 50e-6)]), np.array([k * (1 + 50e-6)])))
    assert check.consistent is True and check.windows_above_flat == 0
    assert len(check.warnings) == 1 and "absent" in check.warnings[0]


def test_no_peaks_no_verdict(tmp_path):
    rng = np.random.default_rng(0)
    rec = np.zeros((20000, 5), dtype=np.uint32)
    rec[:, 4] = rng.integers(20000, 200000, rec.shape[0])
    table = EventTable(write_grd(rec, tmp_path / "flat.grd"), calibration=DEFAULT_CALIBRATION)
    check = check_tof_calibration(table)
    assert check.consistent is None and check.warnings == ()


def test_bin_events_carries_the_check_and_cli_warns(run, cli, tmp_path):
    images = bin_events(_with(run, K0 + 100, SF), peaks=[7.0155, 58.9326], tolerance_ppm=50)
    assert images.attrs["calibration_check"]["consistent"] is False
    assert any("probably wrong" in w for w in images.attrs["warnings"])
    assert "calibration_check" not in bin_events(run, peaks=[7.0155], tolerance_ppm=50,
                                                 check_calibration=False).attrs
    base = ["image", "bin-events", run.path, "--nx", "32", "--ny", "32", "--sf", str(SF), "--pixel-size", "1um",
            "--peaks", "7.0155,58.9326", "--tolerance-ppm", "50"]
    code, out, err = cli(*base, "--k0", str(K0 + 100), "--out", tmp_path / "bad.zarr", "--json")
    assert code == 0
    doc = json.loads(out)
    assert any("probably wrong" in w and "suggests k0 = " in w for w in doc["warnings"])
    assert doc["results"]["calibration_check"]["suggestion"]["k0"]["uncertainty"] > 0
    code, out, err = cli(*base, "--k0", str(K0 + 100), "--out", tmp_path / "bad2.zarr")
    assert code == 0 and "probably wrong" in err and "probably wrong" not in out
    code, out, err = cli(*base, "--k0", str(K0), "--out", tmp_path / "good.zarr", "--keep-scans", "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["results"]["calibration_check"]["consistent"] is True
    assert not any("calibration" in w for w in doc["warnings"])


def test_convert_of_binned_events_reports_the_check(run, cli, tmp_path):
    # `convert run.grd cube.zarr -o peaks=…` bins through the same path: its warnings reach stderr and the JSON
    opts = ["-o", f"sf={SF}", "-o", "nx=32", "-o", "ny=32", "-o", "peaks=7.0155,58.9326", "-o", "tol_ppm=50"]
    code, out, err = cli("convert", run.path, tmp_path / "bad.zarr", "-o", f"k0={K0 + 100}", *opts)
    assert code == 0 and "probably wrong" in err and "probably wrong" not in out
    code, out, _ = cli("convert", run.path, tmp_path / "bad2.zarr", "-o", f"k0={K0 + 100}", *opts, "--json")
    assert code == 0 and any("probably wrong" in w for w in json.loads(out)["warnings"])
    code, out, err = cli("convert", run.path, tmp_path / "good.zarr", "-o", f"k0={K0}", *opts)
    assert code == 0 and "calibration" not in err
