"""The GRD sidecar ``NAME.grd.json``: written with the calibration, read by the reader, overridden by flags."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ionscope.io.grd import read_grd, read_grd_sidecar, sidecar_path, write_grd, write_grd_sidecar
from ionscope.model.errors import FormatError
from ionscope.model.events import Calibration, Geometry


@pytest.fixture
def grd(tmp_path):
    rec = np.array([[0, 0, 3, 2, 54975], [0, 1, 7, 5, 54976]], dtype=np.uint32)
    return write_grd(rec, tmp_path / "run.grd")


def test_sidecar_round_trip_and_flags_override(grd):
    side = write_grd_sidecar(grd, Calibration(2000.0, 20000.0, 2.0), geometry=Geometry(8, 6, 0.39, 3),
                             polarity="negative")
    assert side == sidecar_path(grd) and side.name == "run.grd.json"
    assert json.loads(side.read_text())["units"] == "channel"
    table = read_grd(grd)
    assert table.calibration == Calibration(2000.0, 20000.0, 2.0)
    assert table.geometry == Geometry(8, 6, 0.39, 3)
    assert table.attrs["polarity"] == "negative" and table.attrs["sidecar"] == "run.grd.json"
    flagged = read_grd(grd, k0=1990.0, nx=16, binning=1.0, polarity="positive")
    assert flagged.calibration == Calibration(1990.0, 20000.0, 1.0)
    assert flagged.geometry == Geometry(16, 6, 0.39, 3) and flagged.attrs["polarity"] == "positive"
    with pytest.raises(FileExistsError):
        write_grd_sidecar(grd, Calibration(1.0, 2.0))


def test_no_sidecar_no_calibration(grd):
    assert read_grd_sidecar(grd) == {}
    table = read_grd(grd)
    assert table.calibration is None and table.geometry is None and "polarity" not in table.attrs


@pytest.mark.parametrize(("text", "message"), [
    ("{", "not valid JSON"),
    ("[1, 2]", "must be a JSON object"),
    ('{"k0": 1, "sf": -2}', "sf must be a positive number"),
    ('{"k0": 1, "sf": 2, "units": "ns"}', "units must be 'channel'"),
    ('{"k0": 1, "sf": 2, "nx": 2.5}', "nx must be a positive integer"),
    ('{"k0": 1, "sf": 2, "polarity": "+"}', "polarity must be"),
    ('{"k0": 1, "sf": 2, "t0": 3}', "unknown keys ['t0']"),
])
def test_bad_sidecar_is_a_format_error_naming_it(grd, text, message):
    sidecar_path(grd).write_text(text)
    with pytest.raises(FormatError) as exc:
        read_grd(grd)
    assert message in str(exc.value) and "run.grd.json" in str(exc.value)


def test_cli_uses_the_sidecar_and_names_what_is_missing(grd, cli, tmp_path):
    args = ["image", "bin-events", grd, "--peaks", "7.016", "--tolerance-ppm", "50"]
    code, _, err = cli(*args, "--out", tmp_path / "a.zarr")
    assert code == 2 and "--k0, --sf, --nx, --ny, --pixel-size needed" in err and "run.grd.json" in err
    write_grd_sidecar(grd, Calibration(2000.0, 20000.0), geometry=Geometry(8, 6, 0.39))
    code, out, err = cli(*args, "--out", tmp_path / "b.zarr", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["results"]["shape"] == [6, 8, 1] and doc["results"]["events_counted"] == 2
    code, out, err = cli(*args, "--ny", "4", "--out", tmp_path / "c.zarr")
    assert code == 2 and "outside the declared 4 × 8 pixel grid" in err
    sidecar_path(grd).write_text('{"k0": "x"}')
    code, out, err = cli(*args, "--out", tmp_path / "d.zarr")
    assert code == 2 and "k0 must be a finite number" in err
