"""Shared command machinery: a missing input is refused before the analysis modules are imported."""

from __future__ import annotations

import subprocess
import sys

import pytest

_PROBE = """
import sys
from ionscope.cli.main import main
code = main([{args}])
heavy = sorted(m for m in sys.modules if m.split(".")[:2] in (["ionscope", "{package}"],))
print(code, heavy)
"""


@pytest.mark.parametrize(("args", "package"), [("'depth', 'layers', 'nope.txt'", "depth"),
                                               ("'mva', 'pca', 'nope.zarr'", "mva"),
                                               ("'micro', 'metrics', 'nope.tif'", "micro")])
def test_a_missing_input_fails_before_the_analysis_is_imported(args, package, tmp_path):
    res = subprocess.run([sys.executable, "-c", _PROBE.format(args=args, package=package)], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120, check=False)
    assert "no such file or folder" in res.stderr and "nope." in res.stderr
    assert res.stdout.strip() == "2 []", res.stdout + res.stderr[-500:]


def test_globs_and_stdin_are_left_to_the_command(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = cli("spectrum", "identify", "nothing*.txt")
    assert code == 2 and "glob that matched nothing" in err


def test_no_history_hint_names_where_sample_yaml_is_looked_up(cli, tmp_path):
    """The hint's ``sample init PATH`` writes the template exactly where it is then found."""
    import numpy as np
    import tifffile

    sub = tmp_path / "data" / "run"
    sub.mkdir(parents=True)
    tifffile.imwrite(sub / "a.tif", np.zeros((2, 6, 6), np.uint8))
    code, out, err = cli("tomo", "destripe", sub / "a.tif", "--out", tmp_path / "b.tif")
    assert code == 0, err
    text = " ".join((out + err).split())
    want = sub / "sample.yaml"
    assert f"ionscope sample init {want}" in text and "current folder" not in text
    code, _, err = cli("sample", "init", want)
    assert code == 0, err
    assert want.is_file()
    code, out, err = cli("tomo", "destripe", sub / "a.tif", "--out", tmp_path / "c.tif")
    assert code == 0, err
    assert "no sample history" not in out + err


def test_no_history_hint_for_a_read_only_data_folder_suggests_sample_instead(cli, tmp_path, monkeypatch):
    """Where the data folder cannot be written (a shared, read-only data set), the hint does not name a
    command that would fail there: it writes the template in the current folder, to pass with --sample."""
    import numpy as np
    import tifffile

    data = tmp_path / "data"
    data.mkdir()
    tifffile.imwrite(data / "a.tif", np.zeros((2, 6, 6), np.uint8))
    data.chmod(0o555)
    monkeypatch.chdir(tmp_path)
    try:
        code, out, err = cli("tomo", "destripe", data / "a.tif", "--out", tmp_path / "b.tif")
    finally:
        data.chmod(0o755)
    assert code == 0, err
    text = " ".join((out + err).split())
    assert "read-only" in text and "--sample sample.yaml" in text and f"sample init {data}" not in text


_PIPED = """
from ionscope.cli.common import console
console.print("reliability: " + " ".join(f"word{i}" for i in range(60)), highlight=False)
from rich.table import Table
t = Table("a", "b", box=None)
t.add_row("x" * 70, "y" * 70)
console.print(t)
"""


def test_text_written_to_a_pipe_is_not_wrapped(tmp_path):
    """Rich assumes 80 columns without a terminal; ``ionscope … | cat`` must get whole lines."""
    import os

    env = {**os.environ, "COLUMNS": "80"}  # exported by some shells and test runners: terminals only
    res = subprocess.run([sys.executable, "-c", _PIPED], cwd=tmp_path, capture_output=True, text=True,
                         timeout=120, check=False, env=env, stdin=subprocess.DEVNULL)
    lines = res.stdout.splitlines()
    assert lines[0].endswith("word59") and len(lines[0]) > 80, res.stdout
    assert any("x" * 70 in ln and "y" * 70 in ln for ln in lines), res.stdout


def test_real_depth_profile_piped_keeps_each_interface_on_one_line(tmp_path):
    from tests.conftest import shared_data

    path = shared_data("iontof_depth_profiles", "MAPI-stack", "I241209zc_C_MAPI-dev_4f-3nA_pos-B-electrode1.txt")
    import os

    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    res = subprocess.run([sys.executable, "-m", "ionscope", "depth", "layers", str(path)], cwd=tmp_path,
                         capture_output=True, text=True, timeout=300, check=False, env=env,
                         stdin=subprocess.DEVNULL)
    assert res.returncode == 0, res.stderr[-500:]
    assert all(ln.startswith(("  ", "reliability:")) for ln in res.stdout.splitlines()[1:]), res.stdout


def test_overwrite_errors_say_add_force_on_the_cli_and_force_true_in_python(cli, tmp_path):
    """The command line advises --force only; the Python API keeps its force=True wording."""
    import json

    import pytest

    from ionscope.io.atomic import check_writable
    from ionscope.model.errors import OutputExistsError

    out = tmp_path / "taken.zarr"
    out.mkdir()
    (out / "zarr.json").write_text("{}")
    with pytest.raises(OutputExistsError, match=r"force=True in Python"):
        check_writable(out, False)
    src = tmp_path / "p.txt"
    rows = "".join(f"{i}\t{i / 10:.3f}\t{i}\n" for i in range(1, 50))
    src.write_text("# Binning: 1\nChannel\tm/z\tIntensity\n" + rows)
    code, _, err = cli("convert", src, out)
    assert code == 2 and "add --force" in err and "Python" not in err
    code, stdout, _ = cli("convert", src, out, "--json")
    message = json.loads(stdout)["error"]["message"]
    assert code == 2 and message.endswith("add --force to replace it"), message


def test_a_folder_that_is_not_our_output_is_never_offered_for_replacement(cli, tmp_path):
    """image extract --out FOLDER: the missing writer is reported first (with or without --force), and a
    folder named like a store but not one is never replaced, even with --force."""
    from ionscope.synth.viewer_samples import write_viewer_samples

    cube = write_viewer_samples(tmp_path / "s", seed=0)["cube"]
    plain = tmp_path / "existing_folder"
    plain.mkdir()
    for extra in ((), ("--force",)):
        code, _, err = cli("image", "extract", cube, "--peaks", "27", "--out", plain, *extra)
        assert code == 2 and "writable formats" in err and "--force" not in err, err
    fake = tmp_path / "fake.zarr"
    fake.mkdir()
    (fake / "mine.txt").write_text("keep")
    code, _, err = cli("image", "extract", cube, "--peaks", "27", "--out", fake, "--force")
    assert code == 2 and "not a zarr store" in err and "add --force" not in err, err
    assert (fake / "mine.txt").read_text() == "keep"


_GARBAGE = "not data\n"

#: Commands with their output option; the input is garbage, so an error about the input means the output
#: was not checked first.
_OUTPUT_COMMANDS = [
    ("tomo", "align", "{inp}", "--out", "{out}.zarr"),
    ("tomo", "destripe", "{inp}", "--out", "{out}.tif"),
    ("tomo", "correct", "{inp}", "--out", "{out}.tif"),
    ("tomo", "segment", "{inp}", "--out", "{out}.zarr"),
    ("micro", "export", "{inp}", "--electrode", "positive", "--base", "Chen2020", "--to", "pybamm",
     "--active", "nmc", "--out", "{out}.json"),
    ("depth", "plot", "{inp}", "--out", "{out}.svg"),
    ("depth", "mri", "{inp}", "--species", "Li", "--figure", "{out}.png"),
    ("depth", "cube", "{inp}", "--out", "{out}.zarr"),
    ("diffusion", "map", "{inp}", "--isotopes", "^18O-,^16O-", "--time", "1h", "--out", "{out}.zarr"),
    ("spectrum", "calibrate", "{inp}", "--out", "{out}.zarr"),
    ("spectrum", "identify", "{inp}", "--elements", "Ru", "--table", "{out}.csv"),
    ("image", "extract", "{inp}", "--peaks", "27", "--out", "{out}.zarr"),
]


@pytest.mark.parametrize("args", _OUTPUT_COMMANDS, ids=lambda a: " ".join(a[:2]))
def test_every_output_is_checked_before_any_work(cli, tmp_path, args):
    """An existing output is refused (add --force) before the input is even read; an existing folder that
    is not an output of ours is refused with --force too, and not replaced."""
    inp = tmp_path / "input.txt"
    inp.write_text(_GARBAGE)
    out = tmp_path / "taken"
    argv = [a.format(inp=inp, out=out) for a in args]
    target = tmp_path / next(a for a in argv if a.startswith(str(out))).split("/")[-1]
    target.write_text("mine")
    code, _, err = cli(*argv)
    assert code == 2 and "already exists; add --force" in err and target.name in err, err
    target.unlink()
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    code, _, err = cli(*argv, "--force")
    assert code == 2 and target.name in err and "folder" in err and "add --force" not in err, err
    assert (target / "keep.txt").read_text() == "mine"


def test_text_mode_warns_about_a_quantity_without_uncertainty_or_reason_as_json_does(monkeypatch):
    """The text epilogue prints on stderr the same `no uncertainty for …` warning the JSON envelope carries,
    and nothing for quantities whose reason is stated (those are `uncertainty_notes`, not warnings)."""
    import io

    from rich.console import Console

    from ionscope.cli import common
    from ionscope.model.flags import recording
    from ionscope.model.result import NoUncertainty, Quantity, Result, envelope

    buf = io.StringIO()
    monkeypatch.setattr(common, "err_console", Console(file=buf, width=200))
    monkeypatch.setattr(common, "command_kind", lambda: "x.fit")
    monkeypatch.setattr(common, "command_inputs", lambda skip=frozenset(): [])
    with recording() as record:
        stated = Result("x.fit", {"m": Quantity(7.016, None, "m/z", NoUncertainty.exact("tabulated"))})
        common._text_epilogue(record)
        assert buf.getvalue() == "" and envelope("x.fit", stated)["warnings"] == []
        bare = Result("x.fit", {"area": Quantity(2.0, None, "µm^2")})
        common._text_epilogue(record)
    shown = " ".join(buf.getvalue().split())
    assert shown == "warning: " + envelope("x.fit", bare)["warnings"][0]
    assert "no uncertainty for area:" in shown
