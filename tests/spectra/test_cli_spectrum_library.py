import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ionscope.spectra.pipeline import NOT_TESTED, TABLE_COLUMNS

from ..conftest import shared_data


def _export(tmp_path, name="P_synthetic.txt"):
    from ionscope.synth.spectra import tof_spectrum

    spec, truth = tof_spectrum({"H+": 3e4, "C+": 2e4, "CH3+": 4e4, "Na+": 6e4, "C2H3+": 5e4, "C2H5+": 3e4,
                                "K+": 2e4, "C3H5+": 3e4, "C4H7+": 1e4, "C7H7+": 5e3, "Ru+": 2e4, "Pt+": 8e3},
                               n_channels=150_000, shots=None, seed=3)
    rows = np.column_stack([spec.coords["channel"].values, spec.coords["mz"].values, spec.values])
    path = tmp_path / name
    with open(path, "w") as fh:
        fh.write("# Binning: 1 channels\n# Deadtime Correction: off\nChannel\tm/z\tIntensity\n")
        np.savetxt(fh, rows, fmt=["%d", "%.9g", "%d"], delimiter="\t")
    return path, truth


def test_identify_json_gives_every_requested_element_a_row(cli, tmp_path):
    path, _ = _export(tmp_path)
    code, out, err = cli("spectrum", "identify", path, "--elements", "Ru,Pt,Pd", "--json")
    assert code == 0, err
    doc = json.loads(out)
    res = doc["results"]
    assert doc["kind"] == "spectrum.identify" and res["polarity"] == "positive"
    rows = {r["element"]: r for r in res["elements"]}
    assert list(rows) == ["Ru", "Pt", "Pd"]
    assert rows["Ru"]["detected"] and rows["Pt"]["detected"] and not rows["Pd"]["detected"]
    ru = rows["Ru"]["intensity"]
    assert ru["unit"] == "counts" and abs(ru["value"] - 2e4) < 4 * ru["uncertainty"] + 0.05 * 2e4
    assert rows["Pd"]["intensity"] is None and rows["Pd"]["upper_limit"]["value"] > 0
    assert rows["Pd"]["upper_limit_form"] == "Pd+" and rows["Ru"]["upper_limit_form"] is None  # the ion it bounds
    assert "Ru+" in rows["Ru"]["evidence"]
    cal = res["calibration"]
    assert cal["n_used"] >= 8 and cal["rms"]["value"] < 50 and cal["rms"]["unit"] == "ppm"
    assert cal["kept_exported"] is False  # the export was off
    for s in res["species"]:
        assert set(s) >= {"formula", "mz", "intensity", "pattern_score", "significance", "contrast"}


def test_identify_batch_table_json_and_a_bad_file(cli, tmp_path):
    folder = tmp_path / "spectra"
    folder.mkdir()
    _export(folder, "P_one.txt")
    _export(folder, "P_two.txt")
    (folder / "P_bad.txt").write_text("# Binning: 1 channels\nChannel\tm/z\tIntensity\n1\t0.5\t3\n2\t0.4\t3\n")
    table = tmp_path / "results.csv"
    code, out, err = cli("spectrum", "identify", folder, "--elements", "Ru,Pd", "--table", table, "--json")
    assert code == 2 and "1 of 3 files not analysed (P_bad.txt)" in err, err  # every output written first
    doc = json.loads(out)
    assert isinstance(doc["results"], list) and len(doc["results"]) == 3  # one entry per input file
    files = {e["results"]["file"].rsplit("/", 1)[-1]: e["results"] for e in doc["results"]}
    assert set(files) == {"P_bad.txt", "P_one.txt", "P_two.txt"}
    entry = next(e for e in doc["results"] if e["results"]["file"].endswith("P_one.txt"))
    assert [i["path"].rsplit("/", 1)[-1] for i in entry["inputs"]] == ["P_one.txt"]
    assert any("P_bad.txt" in w for w in doc["warnings"])
    # the batch's own provenance names the files it read (the bad file too: it was read); the top-level
    # inputs also hold the folder given
    read = {i["path"].rsplit("/", 1)[-1] for i in doc["provenance"]["inputs"]}
    assert read == {"P_one.txt", "P_two.txt", "P_bad.txt"}
    assert {i["sha256"] for i in doc["provenance"]["inputs"]} <= {i["sha256"] for i in doc["inputs"]}
    import jsonschema

    schema = Path(__file__).resolve().parents[2] / "docs" / "schemas" / "spectrum.identify.json"
    jsonschema.validate(doc, json.loads(schema.read_text(encoding="utf-8")))
    assert files["P_bad.txt"]["error"] and files["P_one.txt"]["error"] is None
    assert [r["element"] for r in files["P_bad.txt"]["elements"]] == ["Ru", "Pd"]
    import pandas as pd

    df = pd.read_csv(table)
    assert df.file.map(lambda p: Path(p).parent).nunique() == 1  # the paths as given, not bare names
    df["file"] = df.file.map(lambda p: Path(p).name)
    assert len(df) == 6 and set(df["element"]) == {"Ru", "Pd"}
    assert df.loc[df.file == "P_bad.txt", "error"].notna().all()
    ok = df[(df.file == "P_one.txt") & (df.element == "Ru")].iloc[0]
    assert bool(ok["detected"]) and ok["intensity_sigma_counts"] > 0 and ok["calibration"] == "refit"
    assert ok["calibration_rms_sigma_ppm"] > 0 and 0 < ok["pattern_score"] <= 1
    assert list(df.columns) == list(TABLE_COLUMNS)
    import hashlib

    one = hashlib.sha256((folder / "P_one.txt").read_bytes()).hexdigest()
    assert set(df.loc[df.file == "P_one.txt", "sha256"]) == {one}  # each row names the bytes it came from
    import re

    numbers = re.findall(r"(?<![\w.])(\d*\.\d+|\d+)(?:e[-+]\d+)?(?![\w.])", table.read_text())
    assert numbers and all(len(n.replace(".", "").lstrip("0")) <= 6 for n in numbers), "6 significant digits"


def test_a_quoted_glob_is_expanded_and_batch_warnings_name_their_file(cli, tmp_path):
    """A glob the shell left alone (quoted, or on Windows) means its matches; each warning of a batch starts
    with the name of the file it is about, or with "every file" when all files carry it (printed once)."""
    for name in ("P_one.txt", "P_two.txt"):
        _export(tmp_path, name)
    code, out, err = cli("spectrum", "identify", str(tmp_path / "P_*.txt"), "--elements", "Ru", "--no-recalibrate")
    assert code == 0, err
    assert "P_one.txt (positive)" in out and "P_two.txt (positive)" in out
    warned = [line for line in err.splitlines() if line.startswith("warning:")]
    assert warned and all(line.startswith(("warning: P_one.txt: ", "warning: P_two.txt: ", "warning: every file: "))
                          for line in warned), err
    assert len(warned) == len(set(warned))  # a warning shared by every file is printed once


@pytest.mark.parametrize("args, words", [
    (["--elements", "Ru,Xx"], "unknown element"),
    (["--elements", ""], "no element"),
])
def test_identify_bad_elements_are_one_line_errors(cli, tmp_path, args, words):
    path, _ = _export(tmp_path)
    code, out, err = cli("spectrum", "identify", path, *args)
    assert code == 2 and words in err and len(err.strip().splitlines()) == 1


def test_identify_empty_folder_and_single_bad_file_exit_2(cli, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = cli("spectrum", "identify", empty)
    assert code == 2 and "no spectrum files" in err
    flat = tmp_path / "P_flat.txt"
    rows = "\n".join(f"{c}\t{((c + 400) / 33000) ** 2:.6f}\t0" for c in range(100, 200_000, 200))
    flat.write_text("# Binning: 200 channels\nChannel\tm/z\tIntensity\n" + rows + "\n")
    code, _, err = cli("spectrum", "identify", flat, "--elements", "Ru")
    assert code == 2 and "every count of the spectrum is zero" in err and len(err.strip().splitlines()) == 1
    rows = "\n".join(f"{c}\t{((c + 400) / 33000) ** 2:.6f}\t{c % 3}" for c in range(100, 200_000, 200))
    flat.write_text("# Binning: 200 channels\nChannel\tm/z\tIntensity\n" + rows + "\n")
    code, _, err = cli("spectrum", "identify", flat, "--elements", "Ru")
    assert code == 2 and "reference ion" in err and len(err.strip().splitlines()) == 1


def test_identify_plot_writes_one_figure_per_element(cli, tmp_path):
    path, _ = _export(tmp_path)
    code, _, err = cli("spectrum", "identify", path, "--elements", "Ru,Pd", "--plot", tmp_path / "fig")
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "fig").iterdir()) == ["P_synthetic_Pd.png", "P_synthetic_Ru.png"]
    assert "wrote 2 figures to" in err


def test_files_of_the_same_name_in_two_folders_get_their_own_figures(cli, tmp_path):
    """a/P_synthetic.txt and b/P_synthetic.txt: figures named a-… and b-…, none replacing another."""
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    first, _ = _export(tmp_path / "a")
    second = tmp_path / "b" / first.name
    second.write_text(first.read_text().replace("\t1\n", "\t2\n", 50))  # other counts, same name
    fig = tmp_path / "fig"
    code, out, err = cli("spectrum", "identify", first, second, "--elements", "Ru", "--plot", fig, "--json")
    assert code == 0, err
    entries = [e["results"] for e in json.loads(out)["results"]]
    assert [Path(e["figures"][0]["output"]).name for e in entries] == ["a-P_synthetic_Ru.png", "b-P_synthetic_Ru.png"]
    assert entries[0]["figures"][0]["sha256"] != entries[1]["figures"][0]["sha256"]
    assert sorted(p.name for p in fig.iterdir()) == ["a-P_synthetic_Ru.png", "b-P_synthetic_Ru.png"]


def test_identify_json_names_the_figures_and_the_table_it_wrote(cli, tmp_path):
    """--plot and --table outputs are listed in each file's results (path, SHA-256, format, bytes); a file
    that could not be analysed has no figures, and without the options both are null."""
    from ionscope.model.provenance import sha256_of

    path, _ = _export(tmp_path)
    code, out, err = cli("spectrum", "identify", path, "--elements", "Ru", "--json")
    assert code == 0, err
    res = json.loads(out)["results"]
    assert res["figures"] is None and res["table"] is None
    bad = tmp_path / "P_bad.txt"
    bad.write_text("# Binning: 200 channels\nChannel\tm/z\tIntensity\n")
    fig, table = tmp_path / "fig", tmp_path / "t.csv"
    code, out, err = cli("spectrum", "identify", path, bad, "--elements", "Ru", "--plot", fig, "--table", table,
                         "--json")
    assert code == 2
    good, failed = (entry["results"] for entry in json.loads(out)["results"])
    assert [f["output"] for f in good["figures"]] == [str(fig / "P_synthetic_Ru.png")]
    for record in good["figures"] + [good["table"]]:
        written = Path(record["output"])
        assert record["sha256"] == sha256_of(written) and record["bytes"] == written.stat().st_size
    assert good["table"]["format"] == "csv" and failed["table"] == good["table"] and failed["figures"] == []


def test_absurd_exported_calibration_is_rejected(tmp_path):
    from ionscope.model.errors import ValidationError
    from ionscope.spectra.calibration import CalibrationError, exported_calibration

    ch = np.arange(100, 200_000, 200.0)
    with pytest.raises(CalibrationError, match="absurd"):
        exported_calibration(ch, np.linspace(1, 800, ch.size))  # linear in channel: not a TOF axis
    with pytest.raises(CalibrationError, match="absent"):
        exported_calibration(ch, np.zeros(ch.size))
    assert issubclass(CalibrationError, ValidationError)
    # an export made with the extended law t = t0 + k√m + c·m is a valid calibration, kept as such
    from ionscope.spectra.calibration import Calibration

    law = Calibration("sqrt-quadratic", (-400.0, 33000.0, 50.0))
    got = exported_calibration(ch, law.mz(ch))
    assert got.model == "sqrt-quadratic" and got.params[2] == pytest.approx(50.0, rel=1e-6)


def test_peaks_and_calibrate(cli, tmp_path):
    path, truth = _export(tmp_path)
    code, out, err = cli("spectrum", "peaks", path, "--json")
    assert code == 0, err
    res = json.loads(out)["results"]
    assert res["n_peaks"] == len(res["peaks"]) > 10
    h = next(p for p in res["peaks"] if abs(p["mz"]["value"] - 1.0073) < 0.01)  # H+
    assert h["mz"]["unit"] == "m/z" and 0 < h["mz"]["uncertainty"] < h["fwhm"]["value"]
    assert h["height"]["uncertainty"] == pytest.approx(h["height"]["value"] ** 0.5)
    code, out, err = cli("spectrum", "peaks", path)  # the text table, as a user first sees it
    assert code == 0 and f"{res['n_peaks']} peaks" in out, err
    code, out, err = cli("spectrum", "calibrate", path, "--json")
    assert code == 0, err
    cal = json.loads(out)["results"]
    assert cal["t0"]["value"] == pytest.approx(truth.truth["t0"], abs=1.0)
    assert cal["rms"]["value"] < 50 and cal["exported_rms"]["value"] > cal["rms"]["value"]  # export miscalibrated
    assert cal["rms"]["uncertainty"] > 0 and all(r["residual"]["unit"] == "ppm" for r in cal["references"])
    out_store = tmp_path / "recal.zarr"
    code, _, err = cli("spectrum", "calibrate", path, "--out", out_store)
    assert code == 0 and out_store.exists()
    code, _, err = cli("spectrum", "calibrate", path, "--out", out_store)
    assert code != 0  # exists without --force
    code, out, err = cli("spectrum", "calibrate", path, "--out", out_store, "--force", "--json")
    assert code == 0, err
    from ionscope.model.provenance import sha256_of

    written = json.loads(out)["results"]["written"]
    assert written["output"] == str(out_store) and written["sha256"] == sha256_of(out_store)
    assert written["bytes"] == sum(f.stat().st_size for f in out_store.rglob("*") if f.is_file())
    assert cal["written"] is None  # nothing written without --out


@pytest.mark.parametrize("option", [["--top", "-5"], ["--min-snr", "-1"], ["--min-snr", "nan"], ["--min-snr", "inf"]])
def test_peaks_refuses_a_negative_or_non_finite_option(cli, tmp_path, option):
    path, _ = _export(tmp_path)
    code, _, err = cli("spectrum", "peaks", path, *option)
    assert code == 2 and option[0] in err


def test_a_spectrum_analysed_in_the_wrong_polarity_is_warned(cli, tmp_path):
    """The synthetic positive export (Na⁺, K⁺, hydrocarbons) analysed as negative: a warning names it; as
    positive, none."""
    path, _ = _export(tmp_path)
    code, out, err = cli("spectrum", "peaks", path, "--polarity", "negative", "--no-recalibrate", "--json")
    assert code == 0, err
    assert any(w.startswith("the spectrum looks positive") for w in json.loads(out)["warnings"])
    code, out, err = cli("spectrum", "peaks", path, "--json")
    assert code == 0 and not any("looks" in w for w in json.loads(out)["warnings"])


def test_naming_the_primary_ions_element_is_warned_and_a_nested_folder_is_pointed_to(cli, tmp_path):
    path, _ = _export(tmp_path, name="P_synthetic_Bi1_1.txt")
    code, out, err = cli("spectrum", "identify", path, "--elements", "Ru,Bi", "--json")
    assert code == 0, err
    assert any(w.startswith("Bi is the element of the primary ion (Bi+)") for w in json.loads(out)["warnings"])
    nested = tmp_path / "top" / "sub"
    nested.mkdir(parents=True)
    path.rename(nested / path.name)
    code, _, err = cli("spectrum", "identify", tmp_path / "top")
    assert code == 2 and "its subfolders hold some" in err


def test_unknown_polarity_is_a_clear_error(cli, tmp_path):
    path, _ = _export(tmp_path, name="synthetic.txt")
    code, out, err = cli("spectrum", "identify", path)
    assert code == 2 and "polarity" in err


def _tiny_export(tmp_path, name="P_tiny.txt"):
    """A small, well-formed export (for options refused before the file is analysed)."""
    path = tmp_path / name
    rows = "".join(f"{c}\t{((c + 400) / 33000) ** 2:.6f}\t{c % 7}\n" for c in range(100, 20_000, 200))
    path.write_text("# Binning: 200 channels\nChannel\tm/z\tIntensity\n" + rows)
    return path


@pytest.mark.parametrize("command", ["peaks", "calibrate", "identify"])
@pytest.mark.parametrize("json_flag", [[], ["--json"]])
def test_an_invalid_polarity_is_refused_by_the_option(cli, tmp_path, command, json_flag):
    """--polarity takes auto, positive or negative: any other value is a usage error naming them, not a
    message that the polarity is unknown."""
    code, out, err = cli("spectrum", command, _tiny_export(tmp_path), "--polarity", "sideways", *json_flag)
    text = out if json_flag else err
    assert code == 2 and "--polarity" in text and "sideways" in text, text
    assert all(w in text for w in ("auto", "positive", "negative")) and "neither its metadata" not in text
    if json_flag:
        assert "error" in json.loads(out)


def test_read_spectrum_refuses_an_invalid_polarity(tmp_path):
    from ionscope.model.errors import ValidationError
    from ionscope.spectra.pipeline import read_spectrum

    with pytest.raises(ValidationError, match="polarity must be 'auto', 'positive' or 'negative', got 'sideways'"):
        read_spectrum(_tiny_export(tmp_path), "sideways")


@pytest.mark.parametrize("primary", ["Zz3+", "bi3+", "3+"])
def test_an_unknown_primary_ion_names_the_option_and_the_form(cli, tmp_path, primary):
    code, _, err = cli("spectrum", "identify", _tiny_export(tmp_path), "--elements", "Ru", "--primary-ion", primary)
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "--primary-ion" in err and repr(primary) in err and "Bi3+" in err, err


@pytest.mark.parametrize("args", [
    ["--mz", "nan"], ["--mz", "inf"], ["--mz", "-5"], ["--mz", "0"],
    ["--mz", "33", "--tolerance", "nan"], ["--mz", "33", "--tolerance", "-0.1"], ["--mz", "33", "--tolerance", "0"],
    ["Li", "--tolerance", "inf"],
])
def test_library_search_refuses_a_non_finite_or_non_positive_number(cli, args):
    code, out, err = cli("library", "search", *args)
    option = args[-2]
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1, (out, err)
    assert option in err and "positive" in err, err


def test_library_search_takes_a_large_mz_and_its_api_refuses_nan():
    from ionscope.library.markers import load_library
    from ionscope.model.errors import ValidationError

    lib = load_library()
    assert lib.search(mz=1e9) == []
    with pytest.raises(ValidationError, match="mz"):
        lib.search(mz=float("nan"))
    with pytest.raises(ValidationError, match="tolerance"):
        lib.search("Li", tolerance=-1.0)


def test_library_search_cli_takes_a_large_mz(cli):
    code, out, err = cli("library", "search", "--mz", "1e9")
    assert code == 0 and "0 marker(s)" in out, err


def test_library_commands(cli, tmp_path):
    code, out, _ = cli("library", "show", "--json")
    assert code == 0 and len(json.loads(out)["results"]["markers"]) > 100
    code, out, _ = cli("library", "search", "TFSI", "--json")
    assert "C2F6NO4S2-" in {m["ion"] for m in json.loads(out)["results"]["markers"]}
    code, out, _ = cli("library", "search", "--mz", "33.03")  # each hit's deviation, nearest first
    rows = [line.split() for line in out.splitlines()[2:] if line.strip()]
    deltas = [abs(int(r[2])) for r in rows]
    assert code == 0 and "within ±0.5 m/z of 33.03" in out and "Δ ppm" in out
    assert deltas == sorted(deltas) and len(deltas) >= 2
    code, out, _ = cli("library", "show", "--interferences", "--json")
    assert any(set(i["ions"]) == {"^6LiH+", "^7Li+"} for i in json.loads(out)["results"]["interferences"])
    bad = tmp_path / "bad.yaml"
    bad.write_text('version: 1\nmarkers:\n  - {ion: "PO3-", polarity: positive, parents: [x], component: [CEI]}\n'
                   '  - {ion: "Qq+", polarity: positive, parents: [x], component: [CEI]}\n')
    code, out, err = cli("library", "validate", bad)
    assert code == 1 and ":3:" in err and ":4:" in err and "contradicts" in err
    code, out, _ = cli("library", "validate", bad, "--json")
    assert json.loads(out)["results"]["valid"] is False


@pytest.mark.realdata
def test_identify_real_file_via_cli(cli):
    path = shared_data("iontof_spectra", "N_Ru-Pt_Bi1_1.txt")
    code, out, err = cli("spectrum", "identify", path, "--elements", "Ru,Pt,Pd", "--json")
    assert code == 0, err
    res = json.loads(out)["results"]
    detected = {r["element"] for r in res["elements"] if r["detected"]}
    assert detected == {"Ru", "Pt"}
    assert res["calibration"]["rms_bins"]["value"] < 0.5 and res["calibration"]["rms_bins"]["unit"] == "bin"


@pytest.mark.realdata
@pytest.mark.slow
def test_identify_folder_of_real_files_with_a_table(cli, tmp_path):
    # N_Ru-Ir failed outright before (the recalibration drifted until m/z was non-monotonic)
    folder = shared_data("iontof_spectra")
    code, out, err = cli("spectrum", "identify", folder, "--elements", "Ru,Ir", "--table", tmp_path / "t.csv")
    assert code == 0, err
    import pandas as pd

    df = pd.read_csv(tmp_path / "t.csv")
    df["file"] = df.file.map(lambda p: Path(p).name)
    assert len(df) == 2 * len(list(folder.glob("*.txt"))) and df["error"].isna().all()
    assert df[(df.file == "N_Ru-Ir_Bi1_1.txt") & (df.element == "Ir")]["detected"].item()


@pytest.mark.realdata
def test_identify_text_table_fits_80_columns_and_says_why_not_detected(cli, monkeypatch):
    """Ir on a Ru film: not detected — the row names the tests it fails, wrapped inside 80 columns."""
    from ionscope.cli.common import console

    monkeypatch.setattr(console, "width", 80)
    path = shared_data("iontof_spectra", "N_Ru_Bi1_1.txt")
    code, out, err = cli("spectrum", "identify", path, "--elements", "Ru,Rh,Pd,Ir,Pt")
    assert code == 0, err
    lines = out.splitlines()
    header = next(line for line in lines if line.lstrip().startswith("element"))
    assert "…" not in header and " z " in header and "zc" in header
    i = next(i for i, line in enumerate(lines) if line.split()[:2] == ["Ir", "no"])
    assert all(len(line) <= 80 for line in lines[i:i + 2])
    assert "contrast" in " ".join(lines[i:i + 2]), lines[i:i + 2]
    assert "Ir⁻" in lines[i]  # the limit names the ion it is on (the detected rows sum several forms)
    assert any(line.strip().startswith("z: a form's fitted intensity") for line in lines)
    code, out, _ = cli("spectrum", "identify", path, "--elements", "Ru,Rh,Pd,Ir,Pt", "--json")
    rows = {r["element"]: r for r in json.loads(out)["results"]["elements"]}
    assert not rows["Ir"]["detected"] and "contrast" in rows["Ir"]["not_detected_because"]
    assert rows["Ru"]["detected"] and rows["Ru"]["not_detected_because"] == []


def test_identify_a_depth_profile_store_says_it_is_not_a_spectrum(cli, tmp_path):
    """A .zarr store is one dataset, not a folder of exports: a depth profile is named as such (exit 2)."""
    import ionscope
    from ionscope.synth.depth import layered_stack

    store = tmp_path / "depth_profile.zarr"
    ionscope.write(layered_stack(seed=1)[0], store)
    code, _, err = cli("spectrum", "identify", store)
    assert code == 2, err
    assert "depth profile" in err and "not a spectrum" in err and "no spectrum files" not in err


def test_peaks_on_bare_numpy_arrays_says_what_the_file_holds(cli, tmp_path):
    """A NumPy archive of unlabelled arrays names them (count and names) instead of "holds a arrays"."""
    one = tmp_path / "one.npz"
    np.savez(one, counts=np.ones(50))
    code, _, err = cli("spectrum", "peaks", one)
    assert code == 2 and "one.npz: holds 1 unlabelled array (counts), not a spectrum" in " ".join(err.split())

    odd = tmp_path / "odd.npz"
    np.savez(odd, counts=np.ones((4, 49)), mz=np.linspace(1.0, 50.0, 50))
    code, _, err = cli("spectrum", "peaks", odd)
    text = " ".join(err.split())
    assert code == 2 and "holds 2 unlabelled arrays (counts, mz), not a spectrum" in text
    assert "holds a arrays" not in text and "counts 4×49, mz 50" in text  # the shapes that do not fit


def test_an_image_is_analysed_as_its_total_spectrum_and_a_processed_imzml_is_refused(cli, tmp_path):
    """A pixels × m/z archive and a continuous imzML are summed over their pixels, with a note; an imzML in
    processed mode (an m/z axis per pixel) is refused in one line. The spectrum commands crashed on both."""
    image = tmp_path / "image.npz"
    mz = np.linspace(1.0, 50.0, 50)
    np.savez(image, counts=np.ones((4, 50)) * (mz == 23.0), mz=mz)
    code, out, err = cli("spectrum", "peaks", image, "--json")
    said = " ".join(err.split() + out.split())
    assert code == 0 and "its total spectrum (the sum over its 4 pixels)" in said
    assert "binned at unit mass" in said  # 1 u channels: FWHM and m/Δm are the channel's
    code, _, err = cli("spectrum", "peaks", shared_data("imzml", "Example_Continuous.imzML"), "--no-recalibrate")
    assert code == 0 and "the sum over its 9 pixels" in " ".join(err.split())
    code, _, err = cli("spectrum", "peaks", shared_data("imzml", "Example_Continuous.imzML"))
    assert code == 2 and "negative reference ions" in err  # the imzML's scan polarity is kept
    code, _, err = cli("spectrum", "identify", shared_data("imzml", "Example_Processed.imzML"))
    assert code == 2 and "processed mode" in err and len(err.strip().splitlines()) == 1


def test_an_archive_of_counts_and_mz_is_read_as_a_spectrum(cli, tmp_path):
    """Two 1-D arrays of one length, one named ``mz`` (how spectra of other instruments are shared as
    NumPy archives) are a spectrum; an m/z array that does not increase is one clear line."""
    mz = np.linspace(1.0, 100.0, 20_000)
    counts = np.random.default_rng(0).poisson(1.0, mz.size) + 500 * np.exp(-0.5 * ((mz - 27.0) / 0.01) ** 2)
    pair = tmp_path / "pair.npz"
    np.savez(pair, counts=counts.astype(np.int64), mz=mz)
    code, out, err = cli("spectrum", "peaks", pair, "--json")
    assert code == 0, err
    peaks = json.loads(out)["results"]["peaks"]
    assert any(abs(p["mz"]["value"] - 27.0) < 0.01 for p in peaks)
    np.savez(pair, counts=counts, mz=mz[::-1])
    code, _, err = cli("spectrum", "peaks", pair)
    assert code == 2 and "pair.npz" in err and "the m/z array must increase strictly" in err


def test_an_archive_with_the_tof_channels_keeps_them(cli, tmp_path):
    """A third array of TOF channels beside m/z and counts is the spectrum's channel coordinate (its exported
    calibration is then checked and refitted on the channels); channels that do not increase are one line."""
    from ionscope.synth.spectra import tof_spectrum

    spec, _ = tof_spectrum(None, n_channels=200_000, shots=None, seed=3)  # m/z axis 6 channels off
    archive = tmp_path / "P_tof.npz"
    np.savez(archive, mz=spec.mz.values, counts=spec.values, channel=spec.channel.values)
    code, out, err = cli("spectrum", "identify", archive, "--json")
    assert code == 0, err
    res = json.loads(out)["results"]
    assert not res["calibration"]["kept_exported"]
    # the simulated interphase's metals: ⁵⁸Ni⁺ and ⁶⁰Ni⁺ lie 0.035 and 0.036 u from the nearest molecular ions
    # (Si₂H₂⁺, SiO₂⁺), over two FWHM (0.03 u) at m/Δm 4000
    assert {r["element"] for r in res["elements"] if r["detected"]} == {"Li", "Na", "K", "Co", "Ni", "Ru", "Pt"}
    np.savez(archive, mz=spec.mz.values, counts=spec.values, channel=spec.channel.values[::-1])
    code, _, err = cli("spectrum", "identify", archive)
    assert code == 2 and "P_tof.npz" in err and "the channel array must be finite and increase" in err


@pytest.mark.realdata
def test_identify_chloride_forms_and_primary_ion_options(cli):
    """Negative Ru–Pd: Pd shows as PdCl₂⁻ (chlorine is seen), not without the chloride forms; a primary ion
    that names no element is one clear line, exit 2."""
    path = shared_data("iontof_spectra", "N_Ru-Pd_Bi1_1.txt")
    rows = {}
    for flag in ("--chlorides", "--no-chlorides"):
        code, out, err = cli("spectrum", "identify", path, "--elements", "Ru,Pd", flag, "--json")
        assert code == 0, err
        rows[flag] = {r["element"]: r for r in json.loads(out)["results"]["elements"]}
    assert rows["--chlorides"]["Pd"]["detected"] and "PdCl2-" in rows["--chlorides"]["Pd"]["evidence"]
    assert not rows["--no-chlorides"]["Pd"]["detected"]
    code, _, err = cli("spectrum", "identify", path, "--elements", "Ru,Pd", "--primary-ion", "Qq3+")
    assert code == 2 and "unknown element 'Qq'" in err


def test_identify_refuses_existing_outputs_before_any_work(cli, tmp_path, monkeypatch):
    """--table and --plot outputs are never replaced without --force, and the refusal comes before any
    spectrum is read; with --force the table is replaced and the other files of the folder are kept."""
    import ionscope.spectra.pipeline as pipeline

    path, _ = _export(tmp_path)
    table, fig = tmp_path / "results.csv", tmp_path / "fig"
    table.write_text("mine\n")
    fig.mkdir()
    (fig / "P_synthetic_Ru.png").write_bytes(b"mine")
    (fig / "notes.txt").write_text("keep")

    def no_work(*a, **k):
        raise AssertionError("the spectrum was analysed before the outputs were checked")

    with monkeypatch.context() as m:
        m.setattr(pipeline, "identify_file", no_work)
        code, _, err = cli("spectrum", "identify", path, "--elements", "Ru", "--table", table)
        assert code == 2 and "results.csv" in err and "add --force" in err and "force=True" not in err
        code, _, err = cli("spectrum", "identify", path, "--elements", "Ru", "--plot", fig)
        assert code == 2 and "P_synthetic_Ru.png" in err and "add --force" in err
        code, _, err = cli("spectrum", "identify", path, "--elements", "Ru", "--table", fig)
        assert code == 2 and "--force" not in err.replace("--table", "")
    assert table.read_text() == "mine\n" and (fig / "P_synthetic_Ru.png").read_bytes() == b"mine"
    code, _, err = cli("spectrum", "identify", path, "--elements", "Ru", "--table", table, "--plot", fig, "--force")
    assert code == 0, err
    assert table.read_text().startswith("file,") or "element" in table.read_text().splitlines()[0]
    assert (fig / "P_synthetic_Ru.png").read_bytes()[:4] == b"\x89PNG" and (fig / "notes.txt").read_text() == "keep"


def test_a_plot_folder_in_a_read_only_folder_is_named_in_the_refusal(cli, tmp_path):
    path, _ = _export(tmp_path)
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        code, _, err = cli("spectrum", "identify", path, "--elements", "Ru", "--plot", locked / "figs")
    finally:
        locked.chmod(0o755)
    assert code == 2 and "figs: cannot write in" in err and "figs/x" not in err, err


def test_element_symbols_are_read_case_insensitively_when_unambiguous(cli, tmp_path):
    """``--elements ru,pd`` means Ru,Pd; an all-capitals pair of two symbols (CO) and unknown text are refused
    with what was probably meant."""
    from ionscope.model.errors import ValidationError
    from ionscope.spectra.pipeline import parse_elements

    assert parse_elements("ru, PT,Pd,rh") == ["Ru", "Pt", "Pd", "Rh"]
    assert parse_elements(["ru", "Ru"]) == ["Ru"]
    with pytest.raises(ValidationError, match=r"did you mean Co, or C and O"):
        parse_elements("CO")
    with pytest.raises(ValidationError, match=r"unknown element 'Xx'.*did you mean Xe"):
        parse_elements("Xx")
    path, _ = _export(tmp_path)
    code, out, err = cli("spectrum", "identify", path, "--elements", "ru,pd", "--json")
    assert code == 0, err
    import json

    assert [r["element"] for r in json.loads(out)["results"]["elements"]] == ["Ru", "Pd"]


def test_identify_fits_unnamed_elements_it_finds_unless_named_only(cli, tmp_path):
    path, _ = _export(tmp_path)
    code, out, err = cli("spectrum", "identify", path, "--elements", "Ru", "--json")
    assert code == 0, err
    doc = json.loads(out)
    # the simulated lithium-metal interphase holds Na⁺ and K⁺, resolved from C₂H₃⁺ and C₃H₃⁺ at m/Δm 4000
    assert doc["results"]["background_elements"] == ["Na", "K", "Pt"]
    assert any("also fitted, not reported: Na, K, Pt" in w for w in doc["warnings"])
    assert [r["element"] for r in doc["results"]["elements"]] == ["Ru"]
    code, out, err = cli("spectrum", "identify", path, "--elements", "Ru", "--named-only", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["results"]["background_elements"] == [] and not any("also fitted" in w for w in doc["warnings"])
    code, _, err = cli("spectrum", "identify", path, "--named-only")  # nothing named: the option has no meaning
    assert code == 2 and "--named-only needs named --elements" in err


def test_identify_says_which_ions_a_truncated_spectrum_cannot_test(cli, tmp_path):
    path, _ = _export(tmp_path)
    lines = path.read_text().splitlines()
    keep = lines[:3] + [ln for ln in lines[3:] if float(ln.split("\t")[1]) < 125.0]
    cut = tmp_path / "P_cut.txt"
    cut.write_text("\n".join(keep) + "\n")
    code, out, err = cli("spectrum", "identify", cut, "--elements", "Ru,Pt", "--json", "--table", tmp_path / "t.csv")
    assert code == 0, err
    doc = json.loads(out)
    rows = {r["element"]: r for r in doc["results"]["elements"]}
    # Pt was not tested: neither detected nor absent, and no number that would read as a measurement
    assert rows["Ru"]["detected"] and rows["Pt"]["detected"] is None
    assert rows["Pt"]["not_detected_because"] == [NOT_TESTED]
    assert rows["Pt"]["significance"] is None and rows["Pt"]["upper_limit"] is None
    import pandas as pd

    table = pd.read_csv(tmp_path / "t.csv").set_index("element")
    assert pd.isna(table.loc["Pt", "detected"]) and table.loc["Pt", "not_detected_because"] == NOT_TESTED
    assert any(w.startswith("Pt: all its ions (Pt+, PtO+") and "not tested" in w for w in doc["warnings"])
    assert any(w.startswith("Ru: RuO2+") and "tested by its other ions only" in w for w in doc["warnings"])
    code, out, err = cli("spectrum", "identify", cut, "--json")  # auto mode: how much of the screening is lost
    assert code == 0, err
    auto_warnings = json.loads(out)["warnings"]
    assert any(w.startswith("the spectrum ends at m/z 12") and "lie beyond it" in w for w in auto_warnings)


def test_a_spectrum_cut_below_every_ion_tried_says_so_and_names_the_file(cli, tmp_path):
    """An export cut short (here at m/z 20) leaves no ion of the named elements, nor of the screening (Mg⁺ at
    24 is the lightest), inside its range: one line naming the file, the range and the lightest ion tried; the
    noble gases, which no one asked about, are not mentioned."""
    path, _ = _export(tmp_path)
    lines = path.read_text().splitlines()
    cut = tmp_path / "P_short.txt"
    cut.write_text("\n".join(lines[:3] + [ln for ln in lines[3:] if float(ln.split("\t")[1]) < 20.0]) + "\n")
    for args in (("--elements", "Pt"), ()):
        code, _, err = cli("spectrum", "identify", cut, *args)
        assert code == 2 and "P_short.txt" in err and "covers only m/z" in err and "cut short" in err, err
        assert "noble" not in err and len(err.strip().splitlines()) == 1


def test_files_of_the_same_name_are_named_by_their_paths_in_the_text_output(cli, tmp_path):
    path, _ = _export(tmp_path)
    for sub in ("a", "b"):
        (tmp_path / sub).mkdir()
        (tmp_path / sub / path.name).write_bytes(path.read_bytes())
    code, out, err = cli("spectrum", "identify", tmp_path / "a", tmp_path / "b", "--elements", "Ru")
    assert code == 0, err
    assert str(tmp_path / "a" / path.name) in out and str(tmp_path / "b" / path.name) in out


def test_a_batch_over_worker_processes_gives_the_results_of_one_process(tmp_path, monkeypatch):
    """Spectra spread over two worker processes: the same rows, in the order of the files, a bad file's row
    saying why, and progress reported once per file."""
    import ionscope.spectra.pipeline as pipeline

    for name in ("P_a.txt", "P_b.txt", "P_c.txt"):
        _export(tmp_path, name)
    (tmp_path / "P_bad.txt").write_text("# Binning: 1 channels\nChannel\tm/z\tIntensity\n1\t0.5\t3\n2\t0.4\t3\n")

    def rows(batch):
        return [(Path(r["file"]).name, r["error"] is None,
                 [(e["element"], e["detected"], getattr(e["intensity"], "value", None)) for e in r["elements"]])
                for r in batch.results]

    one = pipeline.identify_batch([tmp_path], elements=["Ru", "Pd"], workers=1)
    monkeypatch.setattr(pipeline, "SPECTRA_PER_WORKER_START", 1)  # so that 4 files start 2 workers
    seen: list[Path] = []
    started: list[int] = []
    two = pipeline.identify_batch([tmp_path], elements=["Ru", "Pd"], workers=2, on_file=seen.append,
                                  on_workers=started.append)
    assert started == [2]
    assert rows(two) == rows(one)
    assert [r[0] for r in rows(two)] == ["P_a.txt", "P_b.txt", "P_bad.txt", "P_c.txt"]
    assert [r[1] for r in rows(two)] == [True, True, False, True]
    assert sorted(p.name for p in seen) == ["P_a.txt", "P_b.txt", "P_bad.txt", "P_c.txt"]


def test_workers_must_be_a_positive_count(cli, tmp_path):
    path, _ = _export(tmp_path)
    code, _, err = cli("spectrum", "identify", path, "--workers", "0")
    assert code == 2 and "--workers" in err


def test_the_detection_threshold_is_reported_with_the_tests_it_covers(cli, tmp_path):
    """The z each form must reach is the Bonferroni threshold of the ions tested: given in the JSON and the text,
    lower when fewer elements are named, higher in auto mode (every test its stages can make)."""
    from ionscope.spectra.presence import detection_threshold

    path, _ = _export(tmp_path)
    seen = {}
    for els in ("Pt", "Ru,Pt,Pd", "auto"):
        code, out, err = cli("spectrum", "identify", path, "--elements", els, "--json")
        assert code == 0, err
        t = json.loads(out)["results"]["detection_threshold"]
        assert t["tests"] > 0 and t["z"] == pytest.approx(detection_threshold(t["tests"]))
        seen[els] = t
    assert seen["Pt"]["tests"] < seen["Ru,Pt,Pd"]["tests"] < seen["auto"]["tests"]
    assert seen["Pt"]["z"] < seen["Ru,Pt,Pd"]["z"] < seen["auto"]["z"]
    code, out, _ = cli("spectrum", "identify", path, "--elements", "Ru,Pt,Pd")
    assert f"detected where z and zc ≥ {seen['Ru,Pt,Pd']['z']:.2f}" in " ".join(out.split())


def test_a_figure_puts_a_peak_into_its_bins_as_the_fit_counts_it():
    """The figure's fitted pattern is the fit's peak model: a peak narrower than its bin spread over one bin's
    width (two bins in the proportion of where it falls; a single-bin bar stood 1.6× above the data), a
    wider one integrated over each bin."""
    from types import SimpleNamespace

    from ionscope.spectra.plots import _binned_pattern

    lo = np.arange(99.0, 101.0, 0.2)
    pat = SimpleNamespace(mz=np.array([100.05]), abundance=np.array([1.0]))
    counts = _binned_pattern(pat, 1000.0, lo, lo + 0.2, resolving_power=np.inf)
    assert counts.sum() == pytest.approx(1000.0)
    np.testing.assert_allclose(counts[[4, 5]], [250.0, 750.0], atol=1e-6)  # box [99.95, 100.15]
    pat = SimpleNamespace(mz=np.array([100.0]), abundance=np.array([1.0]))  # on the edge of two bins
    counts = _binned_pattern(pat, 1000.0, lo, lo + 0.2, resolving_power=100.0 / (0.05 * 2.354820045))
    np.testing.assert_allclose(counts[[4, 5]], [500.0, 500.0], rtol=1e-4)  # σ = 0.05: 4σ inside each bin
    assert counts[3] == pytest.approx(1000.0 * (0.5 - 0.5 * math.erf(4 / math.sqrt(2))), rel=1e-3)


def test_an_export_without_channels_is_recalibrated_on_channels_rebuilt_from_its_mz(cli, tmp_path):
    """m/z = ((t − t0)/k)², so √(m/z) is the flight time up to t0 and k: a miscalibrated export without its
    channel column is recalibrated as with it, and says how."""
    path, _ = _export(tmp_path, "P_with.txt")
    lines = path.read_text().splitlines(keepends=True)
    bare = tmp_path / "P_without.txt"
    bare.write_text("".join(ln if ln.startswith("#") else ln.split("\t", 1)[1] for ln in lines))
    runs = {}
    for p in (path, bare):
        code, out, err = cli("spectrum", "identify", p, "--elements", "Ru,Pt,Pd", "--json")
        assert code == 0, err
        runs[p.name] = json.loads(out)
    with_ch, without = runs["P_with.txt"]["results"], runs["P_without.txt"]["results"]
    assert without["calibration"]["kept_exported"] is with_ch["calibration"]["kept_exported"] is False
    assert without["calibration"]["rms"]["value"] == pytest.approx(with_ch["calibration"]["rms"]["value"], rel=1e-3)
    for a, b in zip(with_ch["elements"], without["elements"]):
        assert a["detected"] == b["detected"]
        if a["detected"]:
            assert b["intensity"]["value"] == pytest.approx(a["intensity"]["value"], rel=1e-3)
    assert any("channels rebuilt from its m/z" in w for w in runs["P_without.txt"]["warnings"])


def test_an_unknown_primary_ion_is_said(cli, tmp_path):
    """Without metadata or a Bi1/Bi3/Au3 tag in the file name, the primary ion's ions are not fitted: a warning
    says so and what to give; given, it is not said."""
    path, _ = _export(tmp_path)
    code, out, _ = cli("spectrum", "identify", path, "--elements", "Ru", "--json")
    assert code == 0 and any("primary ion is unknown" in w for w in json.loads(out)["warnings"])
    code, out, _ = cli("spectrum", "identify", path, "--elements", "Ru", "--primary-ion", "Bi", "--json")
    assert code == 0 and not any("primary ion is unknown" in w for w in json.loads(out)["warnings"])


def test_calibrate_and_identify_say_what_their_options_did(cli):
    """A bare m/z as --reference is one usage line; a refit model that did not beat the file's own says so; a
    --primary-ion other than the file's tag is used, with a warning (Bi1, Bi+ and Bi1+ are one ion)."""
    path = shared_data("iontof_spectra", "P_Ru_Bi1_1.txt")
    code, _, err = cli("spectrum", "calibrate", path, "-r", "22.99")
    assert code == 2 and "--reference '22.99': not an ion formula" in err and "-r Na+" in err
    code, out, _ = cli("spectrum", "calibrate", path, "--model", "sqrt-quadratic")
    assert code == 0 and "kept (the sqrt-quadratic refit did not beat it)" in " ".join(out.split())
    code, _, err = cli("spectrum", "identify", path, "--elements", "Ru", "--primary-ion", "Bi3")
    said = " ".join(err.split())
    assert code == 0 and "--primary-ion Bi3 used, although the file's metadata or name says Bi+" in said
    code, _, err = cli("spectrum", "identify", path, "--elements", "Ru", "--primary-ion", "Bi1")
    assert code == 0 and "--primary-ion Bi1 used" not in err


@settings(max_examples=60, deadline=None)
@given(channel=st.lists(st.floats(allow_nan=True, allow_infinity=True, width=32), min_size=5, max_size=5),
       name=st.sampled_from(["channel", "channels", "tof", "TOF_ch", "chan"]))
def test_any_channel_array_gives_a_spectrum_or_one_clear_error(channel, name):
    import xarray as xr

    from ionscope.model.errors import ValidationError
    from ionscope.spectra.pipeline import _spectrum_of_arrays

    data = xr.Dataset({"mz": ("a", np.linspace(1.0, 5.0, 5)), "counts": ("b", np.arange(5.0)), name: ("c", channel)})
    try:
        spec, _ = _spectrum_of_arrays(data, Path("x.npz"))
    except ValidationError as e:
        assert "x.npz" in str(e)
    else:
        assert name != "chan" and np.all(np.diff(spec["channel"].values) > 0)


def test_the_wrong_polarity_warning_comes_before_the_results(cli, tmp_path, monkeypatch):
    """The warning puts every row below it in doubt, so a terminal shows it above the table, not after it."""
    import sys

    path, _ = _export(tmp_path)
    monkeypatch.setattr(sys, "stderr", sys.stdout)  # one stream, in the order a terminal shows them
    for command in (["identify", "--elements", "Na,K"], ["peaks"]):
        code, out, _ = cli("spectrum", *command, path, "--polarity", "negative", "--no-recalibrate")
        assert code == 0, out
        warning = out.index("the spectrum looks positive")
        assert warning < out.index("m/z" if command[0] != "identify" else "element"), (command, out)


def test_an_archive_with_its_shots_is_dead_time_corrected_and_one_without_says_what_it_assumes(cli, tmp_path):
    """Raw counts of 10⁵ shots lose a quarter of an intense Li⁺ peak to dead time; with a `shots` scalar in the
    archive they are corrected on reading, without it a note says they are taken as corrected."""
    from ionscope.spectra.pipeline import NO_SHOTS, identify_file
    from ionscope.synth.spectra import tof_spectrum

    ions = {"Li+": 3e5, "C2H3+": 5e4, "CH3+": 4e4, "Na+": 2e4, "C3H5+": 3e4, "H+": 3e4, "C+": 2e4, "C7H7+": 5e3,
            "K+": 2e4}
    spec, _ = tof_spectrum(ions, seed=0)  # 100 000 shots, dead time simulated
    arrays = {"mz": spec.mz.values, "counts": spec.values, "channel": spec.channel.values}
    np.savez(tmp_path / "P_raw.npz", **arrays, shots=spec.attrs["acquisition"]["shots_per_pixel"])
    np.savez(tmp_path / "P_bare.npz", **arrays)
    res = identify_file(tmp_path / "P_raw.npz", elements=["Li"])
    li = res["elements"][0]["intensity"]
    assert abs(li.value - 3e5) < 4 * li.uncertainty + 0.01 * 3e5, li  # Poisson σ; ~1 % for the capture
    assert any(w.startswith("dead time corrected from 100000") for w in res.warnings)
    res = identify_file(tmp_path / "P_bare.npz", elements=["Li"])
    assert NO_SHOTS in res.warnings and res["elements"][0]["intensity"].value < 0.85 * 3e5
    for bad in (-5, 1.5, np.nan, "abc", [1, 2]):
        np.savez(tmp_path / "P_bad.npz", **arrays, shots=bad)
        code, _, err = cli("spectrum", "identify", tmp_path / "P_bad.npz", "--elements", "Li")
        assert code == 2 and "P_bad.npz" in err and "shots" in err and "Traceback" not in err, err


def test_naming_an_element_of_the_molecular_ions_says_what_its_row_can_hold(tmp_path):
    from ionscope.spectra.pipeline import ORGANIC_NOTE, identify_file

    path, _ = _export(tmp_path)
    assert any(ORGANIC_NOTE in w and w.startswith("C, O named") for w in
               identify_file(path, elements=["Na", "C", "O"]).warnings)
    assert not any(ORGANIC_NOTE in w for w in identify_file(path, elements=["Na"]).warnings)


def test_each_peak_names_its_likeliest_ion(cli, tmp_path):
    """The peaks of the simulated positive export (Na⁺, K⁺, hydrocarbons …) name their ions within a few ppm of
    the recalibrated axis; the table shows them."""
    path, _ = _export(tmp_path)
    code, out, err = cli("spectrum", "peaks", path, "--json")
    assert code == 0, err
    ions = {p["ion"]["formula"]: p["ion"] for p in json.loads(out)["results"]["peaks"] if p["ion"]}
    for ion in ("Na+", "K+", "C2H3+", "C3H5+"):
        assert abs(ions[ion]["error"]["value"]) < 4 * ions[ion]["error"]["uncertainty"] + 5, ions[ion]
    code, out, _ = cli("spectrum", "peaks", path)
    assert "likeliest ion" in out and "Na⁺" in out


def test_a_reference_of_the_other_polarity_is_refused(cli, tmp_path):
    path, _ = _export(tmp_path)  # positive
    code, _, err = cli("spectrum", "calibrate", path, "-r", "Na-", "-r", "C3H5-")
    assert code == 2 and "Na-" in err and "other polarity" in err and "Traceback" not in err, err


def test_a_metal_isotope_peak_is_named_by_its_element_pattern(cli, tmp_path):
    """¹⁰⁶Pd⁺ lies 37 ppm from ⁹⁰Zr¹⁶O⁺ and shares its mass number with ¹⁰⁶Cd⁺: the Pd isotopes beside it decide."""
    from ionscope.synth.spectra import tof_spectrum

    spec, _ = tof_spectrum({"H+": 3e4, "C+": 2e4, "CH3+": 4e4, "Na+": 6e4, "C2H3+": 5e4, "C3H5+": 3e4, "K+": 2e4,
                            "C7H7+": 5e3, "Pd+": 5e4}, shots=None, seed=1)
    path = tmp_path / "P_pd.npz"
    np.savez(path, mz=spec.mz.values, counts=spec.values, channel=spec.channel.values)
    code, out, err = cli("spectrum", "peaks", path, "--json")
    assert code == 0, err
    named = {round(p["mz"]["value"]): p["ion"]["formula"] for p in json.loads(out)["results"]["peaks"] if p["ion"]}
    assert named[106] == "^106Pd+" and named[105] == "^105Pd+" and named[108] == "^108Pd+"


def test_a_molecular_ion_names_a_peak_a_marker_does_not_fit(cli, tmp_path):
    """CH₄N⁺ (30.0338) beside no lithium: on a calibrated spectrum the peak is not Li₂O⁺ (30.0266, 240 ppm off);
    where Li₂O⁺ is there it is named; and a mass error is measured − exact (the calibration's sign)."""
    from ionscope.synth.spectra import tof_spectrum

    base = {"H+": 3e4, "C+": 2e4, "CH3+": 4e4, "Na+": 6e4, "C2H3+": 5e4, "C2H5+": 3e4, "C3H5+": 3e4, "K+": 2e4,
            "C3H7+": 2e4, "C4H7+": 1e4, "C7H7+": 5e3}
    for extra, expected in (({"CH4N+": 2e4}, "CH4N+"), ({"Li+": 1e5, "Li2O+": 2e4}, "Li2O+")):
        spec, _ = tof_spectrum({**base, **extra}, resolving_power=5000, shots=None, seed=2)
        path = tmp_path / f"P_{expected}.npz"
        np.savez(path, mz=spec.mz.values, counts=spec.values, channel=spec.channel.values)
        code, out, err = cli("spectrum", "peaks", path, "--json")
        assert code == 0, err
        peaks = json.loads(out)["results"]["peaks"]
        at30 = next(p for p in peaks if abs(p["mz"]["value"] - 30.03) < 0.02)
        assert at30["ion"]["formula"] == expected, at30["ion"]
        assert abs(at30["ion"]["error"]["value"]) < 4 * at30["ion"]["error"]["uncertainty"] + 5, at30["ion"]


def test_an_ion_of_two_named_elements_is_one_form_and_bounds_a_limit(tmp_path):
    """Li₂F⁺ of 15 000 counts with Li and F named: one record in each row (it was listed twice where F was not
    detected), and a row not detected whose form was fitted above its limit says so (fluorine read "< 14 F⁺"
    and nothing else)."""
    from ionscope.spectra.pipeline import identify_file
    from ionscope.synth.spectra import tof_spectrum

    ions = {"H+": 3e4, "C+": 2e4, "CH3+": 4e4, "C2H3+": 5e4, "C2H5+": 3e4, "C3H5+": 3e4, "C2H3O+": 2e4,
            "Li+": 2e5, "Li2F+": 1.5e4, "Li2O+": 1e4, "Li2OH+": 5e3, "Ni+": 2e4, "Na+": 2e4}
    spec, _ = tof_spectrum(ions, n_channels=300_000, resolving_power=2000, shots=None, seed=1)
    path = tmp_path / "P_cathode.npz"
    np.savez(path, mz=spec.mz.values, counts=spec.values, channel=spec.channel.values)
    for named in (["Li", "F"], ["Li", "Ni", "F", "O"]):
        res = identify_file(path, elements=named)
        rows = {r["element"]: r for r in res["elements"]}
        for el, row in rows.items():
            formulas = [f["formula"] for f in row["forms"]]
            assert len(formulas) == len(set(formulas)), (el, formulas)
            if row["detected"] is False and row["upper_limit"] is not None:
                above = [f for f in row["forms"] if f["intensity"].value > row["upper_limit"].value]
                assert not above or any(w.startswith(f"{el} not detected") for w in res.warnings), (el, above)
        assert "Li2F+" in [f["formula"] for f in rows["F"]["forms"]]
        if not rows["F"]["detected"]:
            assert any(w.startswith("F not detected") and "Li₂F⁺ was fitted with" in w for w in res.warnings)


def test_an_ion_of_an_absent_alkali_is_no_evidence_of_fluorine(tmp_path):
    """An organic ion at m/z 103 (C₃H₃O₄⁻, 0.028 u from Na₂F₃⁻) on a negative LiPF₆-derived interphase without
    sodium: Na₂F₃⁻ is fitted (it takes those counts from no one) but does not count as fluorine; PF₆⁻ does, with
    fluorine named alone too (phosphorus, never screened, is taken on the ion's own evidence)."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    from bench_spectra_battery import NEGATIVE_SEI, NEGATIVE_SURFACE
    from ionscope.spectra.pipeline import identify_file
    from ionscope.synth.spectra import tof_spectrum

    spec, _ = tof_spectrum({**NEGATIVE_SURFACE, **NEGATIVE_SEI, "C3H3O4-": 300.0}, n_channels=300_000,
                           resolving_power=2000, shots=None, seed=0)
    path = tmp_path / "N_sei.npz"
    np.savez(path, mz=spec.mz.values, counts=spec.values, channel=spec.channel.values)
    for named in (["Li", "F", "P"], ["F"]):
        f_row = next(r for r in identify_file(path, elements=named)["elements"] if r["element"] == "F")
        assert "Na2F3-" not in f_row["evidence"] and "PF6-" in f_row["evidence"], (named, f_row["evidence"])


def test_an_isotope_peak_is_named_as_the_isotopologue_of_its_ion(cli, tmp_path):
    """The ¹³C peak of C₂H₃O⁺ (m/z 44.021, 2.2 % of it) is ¹³CCH₃O⁺, not one of the molecular formulas of that
    mass (H₂N₃⁺ at 44.022); ⁶Li⁷LiO⁺ beside Li₂O⁺ likewise."""
    from ionscope.synth.spectra import tof_spectrum

    ions = {"H+": 3e4, "C+": 2e4, "CH3+": 4e4, "Na+": 6e4, "C2H3+": 5e4, "C2H3O+": 5e4, "C3H5+": 3e4,
            "Li+": 1e5, "Li2O+": 2e4}
    spec, _ = tof_spectrum(ions, resolving_power=10000, n_channels=400_000, shots=None, seed=3)
    path = tmp_path / "P_iso.npz"
    np.savez(path, mz=spec.mz.values, counts=spec.values, channel=spec.channel.values)
    code, out, err = cli("spectrum", "peaks", path, "--json")
    assert code == 0, err
    named = {round(p["mz"]["value"], 2): p["ion"]["formula"] for p in json.loads(out)["results"]["peaks"] if p["ion"]}
    assert named[44.02] == "^13CCH3O+" and named[43.02] == "C2H3O+", named
    assert named[29.03] == "^6LiLiO+", named
