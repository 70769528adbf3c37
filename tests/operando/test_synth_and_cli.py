"""The synthetic cell's ground truth, and the `ionscope operando` CLI end to end."""

from __future__ import annotations

import json

import numpy as np
import pytest

import ionscope
from ionscope.io.cycling import write_cycling_csv
from ionscope.model.arrays import kind_of


def test_synthetic_cell_truth(cell):
    series, log, truth, labels, classes = cell
    assert kind_of(series) == "operando"
    assert series.attrs["acquisition"]["dead_time_corrected"] is False
    soc = np.asarray(truth.truth["particle_soc"])
    cls = np.array(truth.truth["classes"])
    assert soc.shape == (len(cls), series.sizes["state"])
    assert soc[cls == "sluggish"].max() < 0.5 < soc[cls == "reversible"].max()
    assert soc[cls == "irreversible", -1].min() > 0.8  # stays charged
    assert series.coords["time_end"].values[-1] <= log["time_s"].iloc[-1]
    assert np.asarray(truth.truth["drift_px"])[0].tolist() == [0.0, 0.0]


@pytest.fixture(scope="module")
def files(cell, tmp_path_factory):
    series, log, truth, labels, classes = cell
    d = tmp_path_factory.mktemp("operando")
    ionscope.save(series, d / "series.zarr")
    write_cycling_csv(log, d / "log.csv")
    np.save(d / "labels.npy", labels)
    np.save(d / "wrong.npy", labels[:, :-3])
    return d


@pytest.mark.slow
def test_cli_analyze_json(cli, files, cell):
    *_, classes = cell
    code, out, err = cli("operando", "analyze", files / "series.zarr", "--cycling", files / "log.csv",
                         "--regions", files / "labels.npy", "--species", "^58Ni+", "--species", "^48Ti+",
                         "--area", "0.2cm^2", "--json")
    assert code == 0, err
    res = json.loads(out)["results"]
    cyc = res["capacity"]["cycles"]
    assert cyc[0]["charge_uAh"]["value"] == pytest.approx(29.0, rel=1e-9)
    assert cyc[0]["discharge_uAh"]["value"] == pytest.approx(25.0, rel=1e-9)
    assert cyc[0]["irreversible_fraction"]["value"] == pytest.approx(4 / 29, rel=1e-9)
    assert cyc[1]["coulombic_efficiency"]["value"] == pytest.approx(22 / 25, rel=1e-9)
    assert [r["class"] for r in res["regions"]] == classes
    assert {"id", "area", "reversibility", "class"} <= set(res["regions"][0])
    assert res["regions"][0]["area"]["unit"] == "µm^2"
    assert res["dose"]["static_limit_exceeded"] is True and res["dose"]["total"]["value"] > 1e13
    assert res["dose"]["total"]["unit"] == "ions/cm^2"
    assert json.loads(out)["inputs"][0]["sha256"]


def test_cli_segments_when_no_labels(cli, files):
    code, out, err = cli("operando", "analyze", files / "series.zarr", "--cycling", files / "log.csv",
                         "--species", "^58Ni+", "--json")
    assert code == 0, err
    res = json.loads(out)["results"]
    assert "segmented" in res["regions_source"]
    assert len(res["regions"]) >= 7  # 9 particles; touching neighbours may merge at this pixel size


@pytest.mark.slow
def test_cli_report(cli, files):
    out = files / "report.html"
    code, _, err = cli("operando", "report", files / "series.zarr", "--cycling", files / "log.csv",
                       "--regions", files / "labels.npy", "--species", "^58Ni+", "--out", out)
    assert code == 0, err
    text = out.read_text()
    assert "<svg" in text and "recovery" in text.lower()
    from tests.report.test_report import check_report

    check_report(text)  # valid, summary first, provenance collapsed, no raw ion markup
    assert "Coulombic efficiency" in text and "⁵⁸Ni⁺" in text
    code, _, err = cli("operando", "report", files / "series.zarr", "--cycling", files / "log.csv", "--out", out)
    assert code == 2 and "already exists" in err


def test_cli_species_accepts_a_comma_separated_list(cli, files):
    """``--species A,B`` is the same as ``--species A --species B`` (as for the other commands)."""
    runs = []
    for args in (("--species", "^58Ni+,^48Ti+"), ("--species", "^58Ni+", "--species", " ^48Ti+,")):
        code, out, err = cli("operando", "analyze", files / "series.zarr", "--cycling", files / "log.csv",
                             "--regions", files / "labels.npy", *args, "--json")
        assert code == 0, err
        runs.append(json.loads(out)["results"]["regions"])
    assert runs[0] == runs[1]
    assert {r["species"] for r in runs[0]} <= {"^58Ni+", "^48Ti+"}


def test_cli_bad_input(cli, files, tmp_path):
    code, err, _ = cli("operando", "analyze", files / "series.zarr", "--cycling", files / "log.csv",
                       "--regions", files / "wrong.npy", "--json")
    assert code == 2 and "label image has shape" in err
    bad_log = tmp_path / "bad.csv"
    bad_log.write_text("time (s),voltage (V),current (A)\n0,2,1\n10,2,1\n5,2,1\n")
    code, err, _ = cli("operando", "analyze", files / "series.zarr", "--cycling", bad_log, "--json")
    assert code == 2 and "not strictly increasing" in err
    short_log = tmp_path / "short.csv"
    short_log.write_text("time (s),voltage (V),current (A)\n0,2,1e-6\n100,2,1e-6\n")
    code, err, _ = cli("operando", "analyze", files / "series.zarr", "--cycling", short_log, "--json")
    assert code == 2 and "outside the cycling log" in err
    code, err, _ = cli("operando", "analyze", files / "series.zarr", "--cycling", files / "log.csv",
                       "--species", "^59Co+", "--json")
    assert code == 2 and "not in the series" in err


def test_series_from_folder_of_frames(cell, tmp_path):
    from ionscope.io.operando_series import load_series
    from ionscope.model.arrays import make_ion_image
    from ionscope.model.errors import ValidationError

    series, *_ = cell
    peaks = [str(p) for p in series.coords["peak"].values]
    for k in range(3):
        im = make_ion_image(series.isel(state=k).values, peaks, pixel_size_um=0.5)
        ionscope.save(im, tmp_path / f"frame{k}.zarr")
    (tmp_path / "frames.csv").write_text("file,time_start_s,time_end_s\n"
                                         "frame0.zarr,0,1600\nframe1.zarr,1800,3400\nframe2.zarr,3600,5200\n")
    loaded = load_series(tmp_path)
    assert loaded.sizes["state"] == 3 and loaded.coords["time_end"].values[-1] == 5200
    np.testing.assert_array_equal(loaded.isel(state=2).values, series.isel(state=2).values)
    small = make_ion_image(series.isel(state=0, x=slice(0, 100)).values, peaks, pixel_size_um=0.5)
    ionscope.save(small, tmp_path / "frame2.zarr", force=True)
    with pytest.raises(ValidationError, match="frame 2 has"):
        load_series(tmp_path)


def test_cli_analyze_human_output(cli, files):
    code, out, err = cli("operando", "analyze", files / "series.zarr", "--cycling", files / "log.csv",
                         "--regions", files / "labels.npy", "--species", "^58Ni+", "--no-register")
    assert code == 0, err
    assert "capacity" in out and "irreversible" in out and "static limit exceeded: yes" in out
