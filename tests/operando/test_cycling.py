"""Cycling-log reader: BioLogic .mpt, generic CSV/TSV, units, mapping, and bad input."""

from __future__ import annotations

import numpy as np
import pytest

import ionscope
from ionscope.io.cycling import read_cycling, write_cycling_csv
from ionscope.model.errors import FormatError, UnitError, UnknownFormatError
from ionscope.operando.electrochem import cycle_capacities
from ionscope.synth.operando import synthetic_cycling_log

MPT_COLUMNS = ["mode", "ox/red", "error", "control changes", "Ns changes", "counter inc.", "Ns", "time/s",
               "control/V/mA", "Ewe/V", "I/mA", "dQ/C", "(Q-Qo)/mA.h", "cycle number", ""]


def _mpt_text(rows: list[tuple[float, float, float, int, int]], decimal: str = ".") -> str:
    header = ["EC-Lab ASCII FILE", "Nb header lines : 6", "", "Galvanostatic Cycling with Potential Limitation",
              "Acquisition started on : 01/02/2024 10:00:00"]
    body = []
    q = 0.0
    for k, (t, v, i_ma, ns, cyc) in enumerate(rows):
        if k:
            q += 0.5 * (i_ma + rows[k - 1][2]) * (t - rows[k - 1][0]) / 3600
        vals = [1, 1, 0, 0, 0, 0, ns, t, i_ma, v, i_ma, 0.0, q, cyc]
        txt = "\t".join(f"{x:.7E}" if isinstance(x, float) else str(x) for x in vals) + "\t"
        body.append(txt.replace(".", decimal) if decimal != "." else txt)
    return "\r\n".join(header + ["\t".join(MPT_COLUMNS)] + body) + "\r\n"


def _rows() -> list[tuple[float, float, float, int, int]]:
    rows = []
    for k in range(11):  # 1 h charge at 0.006 mA, then 1 h discharge
        rows.append((360.0 * k, 2.0 + 0.05 * k, 0.006, 0, 0))
    for k in range(1, 11):
        rows.append((3600.0 + 360.0 * k, 2.5 - 0.05 * k, -0.006, 1, 0))
    return rows


def test_mpt_reads_units_and_columns(tmp_path):
    p = tmp_path / "cell.mpt"
    p.write_bytes(_mpt_text(_rows()).encode("cp1252"))
    log = ionscope.read(p)  # claimed by extension and content
    assert log.attrs["kind"] == "cycling_log" and log.attrs["source"] == "biologic-mpt"
    assert list(log.columns[:6]) == ["time_s", "voltage_V", "current_A", "capacity_Ah", "cycle", "step"]
    assert log["current_A"].iloc[0] == pytest.approx(6e-6)
    caps = cycle_capacities(log)
    # 6 µA for 1 h each way (the first discharge interval ramps from +6 to −6 µA and is split at zero)
    assert caps["charge_Ah"].iloc[0] == pytest.approx(6e-6 + 0.5 * 6e-6 * 0.05, rel=1e-9)
    assert log["capacity_reported_Ah"].iloc[-1] == pytest.approx(log["capacity_Ah"].iloc[-1], abs=1e-12)
    assert log["step"].tolist() == [r[3] for r in _rows()]


def test_mpt_decimal_comma(tmp_path):
    p = tmp_path / "cell.mpt"
    p.write_bytes(_mpt_text(_rows(), decimal=",").encode("cp1252"))
    log = read_cycling(p)
    assert log["voltage_V"].iloc[1] == pytest.approx(2.05)


def test_csv_needs_explicit_format_and_reads_units(tmp_path):
    p = tmp_path / "log.csv"
    p.write_text("# exported by a cycler\nTest_Time(h),Voltage(V),Current(mA),Cycle_Index\n"
                 "0,2.0,0.006,1\n0.5,2.2,0.006,1\n1.0,2.4,0.006,1\n1.5,2.2,-0.006,1\n2.0,2.0,-0.006,1\n")
    with pytest.raises(UnknownFormatError):
        ionscope.read(p)  # a CSV is never claimed by sniffing
    log = ionscope.read(p, format="cycling")
    assert log["time_s"].iloc[-1] == pytest.approx(7200.0)
    assert log["current_A"].iloc[0] == pytest.approx(6e-6)
    assert log.attrs["columns"]["time"] == "Test_Time(h)"


def test_column_mapping_units_and_sign(tmp_path):
    p = tmp_path / "log.tsv"
    p.write_text("t\tU\tJ\n0\t2.0\t-6\n60\t2.1\t-6\n120\t2.2\t-6\n")
    log = read_cycling(p, columns={"time": "t", "voltage": "U", "current": "J"},
                       units={"time": "min", "voltage": "V", "current": "µA"}, current_sign=-1)
    assert log["time_s"].iloc[-1] == 7200.0
    assert log["current_A"].iloc[0] == pytest.approx(6e-6)
    assert log["capacity_Ah"].iloc[-1] == pytest.approx(12e-6)


def test_synthetic_log_round_trip_keeps_capacities_exact(tmp_path):
    log, truth = synthetic_cycling_log()
    path = write_cycling_csv(log, tmp_path / "log.csv")
    back = read_cycling(path)
    caps = cycle_capacities(back)
    # exact up to the 12 significant digits written to the CSV
    np.testing.assert_allclose(caps["charge_Ah"] * 1e6, truth.truth["charge_uAh"], rtol=1e-9)
    np.testing.assert_allclose(caps["discharge_Ah"] * 1e6, truth.truth["discharge_uAh"], rtol=1e-9)


def test_time_stamps_are_converted(tmp_path):
    p = tmp_path / "log.csv"
    p.write_text("time,voltage (V),current (A)\n2024-01-01 10:00:00,2.0,1e-6\n2024-01-01 10:00:10,2.1,1e-6\n")
    log = read_cycling(p)
    assert log["time_s"].tolist() == [0.0, 10.0]


@pytest.mark.parametrize(("text", "error", "match"), [
    ("time (s),voltage (V),current (A)\n0,2,1\n10,2,1\n5,2,1\n", FormatError, "not strictly increasing"),
    ("time (s),voltage (V),current (furlongs)\n0,2,1\n10,2,1\n", UnitError, "unknown current unit"),
    ("time (s),voltage (V),capacity (mAh)\n0,2,1\n10,2,1\n", FormatError, "no current column"),
    ("time (s),voltage (V),current\n0,2,1\n10,2,1\n", UnitError, "not in its header"),
    ("time (s),voltage (V),current (A)\n0,2,1\n10,2,abc\n", FormatError, "not a number"),
    ("time (s),voltage (V),current (A)\n0,2,1\n10,2\n", FormatError, "truncated"),
    ("time (s),voltage (V),current (A)\n0,2,1\n", FormatError, "at least two rows"),
])
def test_bad_csv_logs(tmp_path, text, error, match):
    p = tmp_path / "bad.csv"
    p.write_text(text)
    with pytest.raises(error, match=match) as info:
        read_cycling(p)
    assert "bad.csv" in str(info.value)


def test_bad_mpt_files(tmp_path):
    good = _mpt_text(_rows())
    absurd = tmp_path / "absurd.mpt"
    absurd.write_text(good.replace("Nb header lines : 6", "Nb header lines : 999999999"))
    with pytest.raises(FormatError, match="header claims"):
        read_cycling(absurd)
    truncated = tmp_path / "trunc.mpt"
    truncated.write_text(good[: good.rfind("\t", 0, len(good) - 40)])
    with pytest.raises(FormatError, match="truncated"):
        read_cycling(truncated)
    wrong = tmp_path / "wrong.mpt"
    wrong.write_text("not a biologic file\n1\t2\n")
    with pytest.raises(UnknownFormatError):
        ionscope.read(wrong)
    empty = tmp_path / "empty.mpt"
    empty.write_bytes(b"")
    with pytest.raises(FormatError, match="empty"):
        read_cycling(empty)


def test_info_cli_describes_logs(cli, tmp_path):
    import json

    p = tmp_path / "cell.mpt"
    p.write_bytes(_mpt_text(_rows()).encode("cp1252"))
    code, out, err = cli("info", p, "--json")
    assert code == 0, err
    desc = json.loads(out)["results"]
    assert desc["kind"] == "cycling_log" and desc["coords"]["current_A"] == "A"
    csv = tmp_path / "log.csv"
    csv.write_text("time (s),voltage (V),current (mA)\n0,2,1\n10,2,1\n")
    code, out, err = cli("info", csv, "--format", "cycling", "--json")
    assert code == 0, err
    assert json.loads(out)["results"]["shape"] == [2]
