"""Bad inputs to `operando report`, `sample init`, `sample export` and `image extract`.

A missing file, a folder, an empty file, a wrong suffix, an existing output without ``--force``: each
gives one line on stderr naming the file (or, under ``--json``, one error document on stdout naming
it), exit code 2, no traceback, and leaves every existing file as it was.
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import jsonschema
import numpy as np
import pytest

ERROR_SCHEMA = Path(__file__).resolve().parents[2] / "docs" / "schemas" / "error.json"


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """A small operando series and its log, a label image, a history, a flat image, and the bad files."""
    import ionscope
    from ionscope.io.cycling import write_cycling_csv
    from ionscope.synth.operando import operando_cell

    d = tmp_path_factory.mktemp("bad")
    (series, log), truth = operando_cell(seed=7)
    ionscope.save(series, d / "series.zarr")
    write_cycling_csv(log, d / "log.csv")
    np.save(d / "labels.npy", truth.truth["labels"])
    (d / "history.yaml").write_text("preparation: cryo-fib\n")
    np.savez(d / "flat.npz", counts_pixels_by_mz=np.ones((12, 3), np.uint16), mz=np.array([1.0, 2.0, 3.0]),
             xy=np.array([4, 3]))
    (d / "adir").mkdir()
    (d / "adir" / "kept.txt").write_text("inside")
    for name in ("empty.zarr", "empty.csv", "empty.npy", "empty.yaml", "empty.npz", "empty.imzML"):
        (d / name).write_bytes(b"")
    (d / "wrong.docx").write_text("hello\n")
    for name in ("exists.html", "exists.yaml", "exists.jsonld", "exists.zarr"):
        (d / name).write_text("keep")
    return d


REPORT = ["operando", "report"]
LOG = ["--cycling", "log.csv"]
PEAKS = ["--peaks", "2", "--tolerance", "0.2"]

#: name → (argv, the file the error must name)
CASES: dict[str, tuple[list[str], str]] = {
    "report: series missing": ([*REPORT, "missing.zarr", *LOG, "--out", "o.html"], "missing.zarr"),
    "report: series a plain folder": ([*REPORT, "adir", *LOG, "--out", "o.html"], "adir"),
    "report: series empty": ([*REPORT, "empty.zarr", *LOG, "--out", "o.html"], "empty.zarr"),
    "report: series wrong suffix": ([*REPORT, "wrong.docx", *LOG, "--out", "o.html"], "wrong.docx"),
    "report: log missing": ([*REPORT, "series.zarr", "--cycling", "missing.csv", "--out", "o.html"], "missing.csv"),
    "report: log a folder": ([*REPORT, "series.zarr", "--cycling", "adir", "--out", "o.html"], "adir"),
    "report: log empty": ([*REPORT, "series.zarr", "--cycling", "empty.csv", "--out", "o.html"], "empty.csv"),
    "report: log wrong suffix": ([*REPORT, "series.zarr", "--cycling", "wrong.docx", "--out", "o.html"],
                                 "wrong.docx"),
    "report: regions missing": ([*REPORT, "series.zarr", *LOG, "--regions", "missing.npy", "--out", "o.html"],
                                "missing.npy"),
    "report: regions a folder": ([*REPORT, "series.zarr", *LOG, "--regions", "adir", "--out", "o.html"], "adir"),
    "report: regions empty": ([*REPORT, "series.zarr", *LOG, "--regions", "empty.npy", "--out", "o.html"],
                              "empty.npy"),
    "report: regions wrong suffix": ([*REPORT, "series.zarr", *LOG, "--regions", "wrong.docx", "--out", "o.html"],
                                     "wrong.docx"),
    "report: out a folder": ([*REPORT, "series.zarr", *LOG, "--out", "adir"], "adir"),
    "report: out a folder, --force": ([*REPORT, "series.zarr", *LOG, "--out", "adir", "--force"], "adir"),
    "report: out wrong suffix": ([*REPORT, "series.zarr", *LOG, "--out", "o.txt"], "o.txt"),
    "report: out below a file": ([*REPORT, "series.zarr", *LOG, "--out", "wrong.docx/o.html"], "wrong.docx/o.html"),
    "report: out exists": ([*REPORT, "series.zarr", *LOG, "--out", "exists.html"], "exists.html"),
    "init: a folder": (["sample", "init", "adir"], "adir"),
    "init: a folder, --force": (["sample", "init", "adir", "--force"], "adir"),
    "init: wrong suffix": (["sample", "init", "x.txt"], "x.txt"),
    "init: exists": (["sample", "init", "exists.yaml"], "exists.yaml"),
    "export: missing": (["sample", "export", "missing.yaml"], "missing.yaml"),
    "export: a folder without history": (["sample", "export", "adir"], "adir"),
    "export: empty": (["sample", "export", "empty.yaml"], "empty.yaml"),
    "export: wrong suffix (no history beside it)": (["sample", "export", "wrong.docx"], "wrong.docx"),
    "export: --sample missing": (["sample", "export", "history.yaml", "--sample", "missing.yaml"], "missing.yaml"),
    "export: --sample a folder": (["sample", "export", "history.yaml", "--sample", "adir"], "adir"),
    "export: --sample empty": (["sample", "export", "history.yaml", "--sample", "empty.yaml"], "empty.yaml"),
    "export: --sample not a history": (["sample", "export", "history.yaml", "--sample", "wrong.docx"], "wrong.docx"),
    "export: out a folder": (["sample", "export", "history.yaml", "--out", "adir", "--force"], "adir"),
    "export: out wrong suffix": (["sample", "export", "history.yaml", "--out", "x.txt"], "x.txt"),
    "export: out exists": (["sample", "export", "history.yaml", "--out", "exists.jsonld"], "exists.jsonld"),
    "image: missing": (["image", "extract", "missing.npz", *PEAKS], "missing.npz"),
    "image: a plain folder": (["image", "extract", "adir", *PEAKS], "adir"),
    "image: empty npz": (["image", "extract", "empty.npz", *PEAKS], "empty.npz"),
    "image: empty imzML": (["image", "extract", "empty.imzML", *PEAKS], "empty.imzML"),
    "image: wrong suffix": (["image", "extract", "wrong.docx", *PEAKS], "wrong.docx"),
    "image: out no writer takes": (["image", "extract", "flat.npz", *PEAKS, "--out", "x.docx"], "x.docx"),
    "image: out exists": (["image", "extract", "flat.npz", *PEAKS, "--out", "exists.zarr"], "exists.zarr"),
}


def _run(folder: Path, argv: list[str], monkeypatch) -> tuple[int, str, str]:
    from ionscope.cli.main import main

    monkeypatch.chdir(folder)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


def _snapshot(folder: Path) -> dict[str, bytes | None]:
    return {str(p.relative_to(folder)): p.read_bytes() if p.is_file() else None for p in sorted(folder.rglob("*"))
            if "series.zarr" not in p.parts}


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input_is_one_line_naming_the_file(name, folder, monkeypatch):
    argv, named = CASES[name]
    before = _snapshot(folder)
    code, out, err = _run(folder, argv, monkeypatch)
    lines = err.strip().splitlines()
    assert code == 2 and out == "", (name, out, err)
    assert len(lines) == 1 and lines[0].startswith("error: ") and named in lines[0], (name, err)
    assert "Traceback" not in err
    assert _snapshot(folder) == before, f"{name}: a file was changed, added or removed"


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input_under_json_is_an_error_document(name, folder, monkeypatch):
    argv, named = CASES[name]
    before = _snapshot(folder)
    code, out, err = _run(folder, [*argv, "--json"], monkeypatch)
    assert code == 2 and err == "", (name, err)
    doc = json.loads(out)
    jsonschema.validate(doc, json.loads(ERROR_SCHEMA.read_text(encoding="utf-8")))
    assert doc["error"]["path"] == named, (name, doc)
    assert _snapshot(folder) == before, f"{name}: a file was changed, added or removed"


def test_a_read_only_folder_is_refused_even_for_root(folder, monkeypatch, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        code, out, err = _run(folder, ["sample", "init", str(locked / "sample.yaml")], monkeypatch)
        assert code == 2 and out == "" and "read-only" in err and str(locked) in err
        # the store outputs too (they are checked by the writer's registry, not by the command)
        code, out, err = _run(folder, ["image", "extract", "flat.npz", *PEAKS, "--out", str(locked / "i.zarr")],
                              monkeypatch)
        assert code == 2 and out == "" and "read-only" in err and "Traceback" not in err
        assert not any(locked.iterdir())
    finally:
        locked.chmod(0o755)


def test_the_same_commands_succeed_on_good_inputs(folder, monkeypatch, tmp_path):
    """The cases above fail for the bad input alone: with it replaced, each command runs (exit 0)."""
    good = [["sample", "init", str(tmp_path / "t.yaml")],
            ["sample", "export", "history.yaml", "--out", str(tmp_path / "h.jsonld")],
            ["image", "extract", "flat.npz", *PEAKS, "--out", str(tmp_path / "i.zarr")]]
    for argv in good:
        code, _, err = _run(folder, argv, monkeypatch)
        assert code == 0, (argv, err)
