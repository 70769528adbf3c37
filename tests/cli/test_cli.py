import json
import subprocess
import sys

import numpy as np
import pytest
import tifffile

import ionscope
from ionscope.synth import composite_cross_section


def test_version(cli):
    code, out, _ = cli("--version")
    assert code == 0 and out.strip() == f"ionscope {ionscope.__version__}"


def test_info_json_contract(cli, tmp_path):
    path = ionscope.save(composite_cross_section(shape=(16, 16), seed=0)[0], tmp_path / "c.zarr")
    code, out, _ = cli("info", path, "--json")
    assert code == 0
    d = json.loads(out)["results"]
    assert {"kind", "dims", "shape", "coords", "attrs"} <= set(d)
    assert d["kind"] == "ion_image" and d["dims"] == ["y", "x", "peak"] and d["shape"] == [16, 16, 5]
    assert d["coords"]["x"] == "µm" and d["coords"]["mz"] == "m/z"
    assert d["attrs"]["acquisition"]["polarity"] == "positive"


def test_info_bad_inputs_give_one_line_and_exit_2(cli, tmp_path):
    (tmp_path / "empty.tif").write_bytes(b"")
    (tmp_path / "notes.xyz").write_text("hello")
    broken = ionscope.save(composite_cross_section(shape=(4, 4), seed=0)[0], tmp_path / "b.zarr")
    (broken / "zarr.json").write_text("garbage")
    cases = {
        tmp_path / "missing.tif": "no such file",
        tmp_path: "not a store",
        tmp_path / "empty.tif": "empty",
        tmp_path / "notes.xyz": "not a format",
        broken: "broken Zarr metadata",
    }
    for path, expected in cases.items():
        code, out, err = cli("info", path)
        assert code == 2, path
        assert expected in err and str(path.name) in err
        assert "Traceback" not in err and len(err.strip().splitlines()) <= 2, err


def test_convert_and_force(cli, tmp_path):
    src = tmp_path / "s.tif"
    tifffile.imwrite(src, np.arange(3 * 4 * 5, dtype=np.uint8).reshape(3, 4, 5), photometric="minisblack")
    dst = tmp_path / "s.zarr"
    assert cli("convert", src, dst)[0] == 0
    np.testing.assert_array_equal(ionscope.read(dst).values, tifffile.imread(src))
    code, _, err = cli("convert", src, dst)
    assert code == 2 and "--force" in err
    assert cli("convert", src, dst, "--force")[0] == 0


@pytest.mark.slow
def test_demo_writes_report_and_results(cli, demo_output):
    out = demo_output
    html = (out / "report.html").read_text()
    assert html.startswith("<!DOCTYPE html>") and "<svg" in html and "Provenance" in html
    for external in ('src="http', "src='http", 'href="http', "<link", "@import"):  # self-contained
        assert external not in html
    results = json.loads((out / "results.json").read_text())
    for key, rec in results["data_model"]["phase_means"].items():
        # phase means agree with the simulator's rates within 4 standard errors
        assert abs(rec["value"] - rec["true"]) < 4 * rec["uncertainty"] + 1e-9, key
    assert cli("demo", "--out", out)[0] == 2  # no overwrite without --force


def test_console_script_runs():
    res = subprocess.run([sys.executable, "-m", "ionscope", "--version"], capture_output=True, text=True)
    assert res.returncode == 0 and "ionscope" in res.stdout


def test_version_imports_no_scientific_library():
    # start-up: `ionscope --version` loads typer and rich only (the scientific stack is imported lazily)
    probe = ("import runpy, sys\nsys.argv = ['ionscope', '--version']\n"
             "try:\n    runpy.run_module('ionscope', run_name='__main__')\nexcept SystemExit:\n    pass\n"
             "print(sorted(m for m in ('numpy', 'pydantic', 'xarray', 'pandas', 'scipy', 'numba', 'dask')"
             " if m in sys.modules))")
    res = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize("args, words", [
    (["spectrum", "identify", "x.txt", "--workers", "0"], "Invalid value for '--workers'"),
    (["spectrum", "identify"], "Missing argument"),
    (["spectrum", "identfy"], "No such command 'identfy'"),
    (["info", "x", "--bogus"], "No such option: --bogus"),
])
def test_a_usage_error_is_one_line_naming_the_help_to_read(cli, args, words):
    code, out, err = cli(*args)
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error: ") and words in lines[0], err
    assert "--help`" in lines[0] and not out
