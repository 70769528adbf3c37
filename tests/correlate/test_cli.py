"""The ``correlate`` commands end to end, the transform file, and each bad input (one line, exit 2)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ionscope.correlate.transform import load_transform


def test_register_writes_the_transform_with_its_convention(registered):
    doc = json.loads(registered["transform"].read_text())
    assert "MOVING physical coordinates (µm) to FIXED" in doc["convention"]
    assert doc["fixed"]["shape"] == [256, 256] and doc["moving"]["shape"] == [51, 51]
    assert len(doc["fixed"]["sha256"]) == 64 and len(doc["moving"]["sha256"]) == 64
    ct = load_transform(registered["transform"])
    m = registered["truth"].truth["matrix"]
    pts = ct.moving.grid.centres()[::37]
    err = ct.map(pts) - (pts @ m[:2, :2].T + m[:2, 2])
    assert np.sqrt(np.mean(np.sum(err ** 2, axis=1))) < 0.5 * ct.moving.grid.pixel_um[0]
    assert 0 < doc["tre_um"] < 0.5 * ct.moving.grid.pixel_um[0]


def test_register_json_and_itk_export(pair, cli, tmp_path):
    import SimpleITK as sitk

    out, tfm = tmp_path / "t.json", tmp_path / "t.tfm"
    code, text, err = cli("correlate", "register", pair["sem"], pair["sims"], "--out", out, "--export-itk", tfm,
                          "--model", "affine", "--json")
    assert code == 0, err
    doc = json.loads(text)
    assert doc["kind"] == "correlate.register" and doc["results"]["tre"]["unit"] == "µm"
    itk = sitk.ReadTransform(str(tfm))
    ct = load_transform(out)
    p = ct.moving.grid.centre_xy + 3.0
    assert np.allclose(itk.TransformPoint(p.tolist()), ct.map(p[None])[0], atol=1e-6)


def test_transfer_csv_and_resampled(registered, cli, tmp_path):
    csv, res = tmp_path / "t.csv", tmp_path / "res.zarr"
    code, text, err = cli("correlate", "transfer", registered["phase"], registered["sims"], "--transform",
                          registered["transform"], "--phases", "electrolyte=0,cathode=1,cbd=2", "--csv", csv,
                          "--resampled", res, "--json")
    assert code == 0, err
    doc = json.loads(text)
    li = doc["results"]["labels"]["electrolyte"]["species"]["^7Li+"]["mean_per_pixel"]
    assert abs(li["value"] - 40.0) < 4 * li["uncertainty"] + 0.5  # 0.5: pixelation of the SEM phase map
    import pandas as pd

    import ionscope

    table = pd.read_csv(csv)
    assert set(table["label"]) == {"electrolyte", "cathode", "cbd"} and len(table) == 9
    assert ionscope.read(res).shape == (256, 256, 3)
    code, text, err = cli("correlate", "transfer", registered["phase"], registered["sims"], "--transform",
                          registered["transform"], "--csv", csv, "--force")
    assert code == 0 and f"wrote {csv}" in " ".join(text.split()), err  # says what it wrote, as the other commands


@pytest.mark.slow
def test_overlay_writes_a_figure(registered, cli, tmp_path):
    out = tmp_path / "ov.png"
    code, _, err = cli("correlate", "overlay", registered["sem"], registered["sims"], "--transform",
                       registered["transform"], "--out", out, "--species", "^7Li+,^58Ni+", "--alpha", "0.6")
    assert code == 0, err
    assert out.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.slow
def test_bootstrap_reports_a_spread(pair, cli, tmp_path):
    code, text, err = cli("correlate", "register", pair["sem"], pair["sims"], "--out", tmp_path / "t.json",
                          "--bootstrap", "3", "--json")
    assert code == 0, err
    res = json.loads(text)["results"]
    # replicates scatter by the noise-limited error (≈ 0.1–0.3 SIMS pixel here), well under one pixel (0.4 µm)
    assert res["bootstrap"] == 3 and 0 < res["tre_bootstrap"]["value"] < 0.4


def test_landmarks_only(pair, cli, tmp_path):
    m = pair["truth"].truth["matrix"]
    rng = np.random.default_rng(3)
    mov = rng.uniform(2, 18, size=(6, 2))
    fix = mov @ m[:2, :2].T + m[:2, 2] + rng.normal(0, 0.05, size=mov.shape)
    csv = tmp_path / "lm.csv"
    csv.write_text("fixed_x_um,fixed_y_um,moving_x_um,moving_y_um\n"
                   + "".join(f"{a},{b},{c},{d}\n" for (a, b), (c, d) in zip(fix, mov)))
    code, text, err = cli("correlate", "register", pair["sem"], pair["sims"], "--out", tmp_path / "t.json",
                          "--landmarks", csv, "--landmarks-only", "--json")
    assert code == 0, err
    res = json.loads(text)["results"]
    assert res["tre_method"].startswith("landmarks") and 0 < res["tre"]["value"] < 0.3


def _one_line_error(code, out, err, *words):
    assert code == 2
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err
    for w in words:
        assert w in err, err


def test_bad_input_pixel_size_missing(pair, cli, tmp_path):
    code, out, err = cli("correlate", "register", pair["sem_nopx"], pair["sims"], "--out", tmp_path / "t.json")
    _one_line_error(code, out, err, "sem_nopx.tif", "no pixel size", "--fixed-pixel-size")
    code, out, err = cli("correlate", "register", pair["sem_nopx"], pair["sims"], "--out", tmp_path / "t.json",
                         "--fixed-pixel-size", "100nm")
    assert code == 0, err


def test_bad_input_no_overlap(pair, cli, tmp_path):
    csv = tmp_path / "far.csv"
    csv.write_text("fixed_x_um,fixed_y_um,moving_x_um,moving_y_um\n500,500,0,0\n520,500,20,0\n500,520,0,20\n")
    code, out, err = cli("correlate", "register", pair["sem"], pair["sims"], "--out", tmp_path / "t.json",
                         "--landmarks", csv)
    _one_line_error(code, out, err, "do not overlap")


def test_bad_input_labels_of_another_shape(registered, cli, tmp_path):
    import tifffile

    small = tmp_path / "small_labels.tif"
    tifffile.imwrite(small, np.zeros((100, 120), np.uint8))
    code, out, err = cli("correlate", "transfer", small, registered["sims"], "--transform", registered["transform"])
    _one_line_error(code, out, err, "small_labels.tif", "shape")


def test_bad_input_transform_from_another_pair(registered, cli, tmp_path):
    from .conftest import write_pair

    other = write_pair(tmp_path / "other", seed=7)
    code, out, err = cli("correlate", "transfer", other["phase"], other["sims"], "--transform",
                         registered["transform"])
    _one_line_error(code, out, err, "sims.zarr", "another moving image", "--force-pair")
    code, out, err = cli("correlate", "overlay", other["sem"], other["sims"], "--transform",
                         registered["transform"], "--out", tmp_path / "o.png")
    _one_line_error(code, out, err, "another fixed image")
    code, _, err = cli("correlate", "transfer", other["phase"], other["sims"], "--transform",
                       registered["transform"], "--force-pair")
    assert code == 0, err


@pytest.mark.parametrize("text", ['{"format": "something else"}', "not json", '{"format": '
                                  '"ionscope.correlate.transform", "matrix": [[1, 0], [0, 1]]}'])
def test_bad_input_unreadable_transform(registered, cli, tmp_path, text):
    t = tmp_path / "bad.json"
    t.write_text(text)
    code, out, err = cli("correlate", "transfer", registered["phase"], registered["sims"], "--transform", t)
    _one_line_error(code, out, err, "bad.json")


@pytest.mark.slow
def test_written_pair_runs_the_readme_commands(tmp_path, cli, monkeypatch):
    """The README's correlate lines, on the files ``write_correlative_pair`` leaves for the demo."""
    from ionscope.synth import write_correlative_pair

    d = tmp_path / "correlative"
    files = write_correlative_pair(d)
    monkeypatch.chdir(tmp_path)
    code, _, err = cli("correlate", "register", d / "sem.tif", d / "sims.zarr", "--out", "transform.json",
                       "--export-itk", "transform.tfm")
    assert code == 0, err
    code, out, err = cli("correlate", "transfer", d / "phase.tif", d / "sims.zarr", "--transform", files["transform"],
                         "--phases", "electrolyte=0,cathode=1,cbd=2", "--csv", "phases.csv")
    assert code == 0, err
    assert "cathode" in out and (tmp_path / "phases.csv").exists()
