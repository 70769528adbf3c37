"""CLI: micro representativity, micro profile, tomo correct, .tiff.zip and 2-D inputs, bad input."""

from __future__ import annotations

import json
import math
import zipfile

import numpy as np
import tifffile

from ionscope.synth.fibsem import three_phase_electrode


def _labels(tmp_path, shape=(24, 32, 32)):
    vol, truth = three_phase_electrode(shape, seed=4)
    path = tmp_path / "labels.tif"
    tifffile.imwrite(path, (truth.truth["labels"] * 85).astype(np.uint8))
    return path, truth


def test_representativity_and_profile_commands(cli, tmp_path):
    path, truth = _labels(tmp_path)
    code, out, err = cli("micro", "representativity", path, "--phase", "pore", "--phases", "pore=0",
                         "--spacing", "0.1um", "--tortuosity", "x", "--json")
    assert code == 0, err
    res = json.loads(out)["results"]
    eps = res["volume_fraction"]
    assert eps["value"] == truth.truth["volume_fraction"]["pore"] and 0 < eps["uncertainty"] < 0.1
    assert res["edge_for_target"]["unit"] == "µm" and res["edge_for_target"]["value"] > 0
    assert res["integral_range"]["unit"] == "µm^3" and res["subvolumes"][0]["edge"]["unit"] == "µm"
    tx = res["tortuosity_x"]
    octants = tx["octant_tortuosity"]["value"] if tx["octant_tortuosity"] else []
    assert len(octants) + tx["non_percolating_octants"] == 8
    assert tx["sigma"] is None or tx["sigma"]["value"] > 0
    code, out, err = cli("micro", "profile", path, "--phase", "pore", "--phases", "pore=0", "--spacing", "0.1um",
                         "--axis", "z", "--slabs", "2", "--json")
    assert code == 0, err
    prof = json.loads(out)["results"]
    assert len(prof["volume_fraction"]) == 24 and len(prof["slabs"]) == 2
    assert all(s["tortuosity"] is None or s["tortuosity"] >= 1 for s in prof["slabs"])
    assert prof["position"]["unit"] == "µm" and prof["slabs"][1]["from"]["unit"] == "µm"
    code, _, err = cli("micro", "profile", path, "--phase", "pore", "--phases", "pore=0", "--spacing", "0.1um",
                       "--slabs", "20")
    assert code == 2 and "too few" in err


def test_tiff_zip_and_two_d_image(cli, tmp_path):
    path, _ = _labels(tmp_path)
    zpath = tmp_path / "labels.tiff.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        zf.write(path, "labels.tif")
    code, out, err = cli("micro", "metrics", zpath, "--spacing", "0.1um", "--only", "fractions", "--json")
    assert code == 0, err
    assert set(json.loads(out)["results"]["phases"]) == {"label_0", "label_85", "label_170"}
    img = tmp_path / "slice.tif"
    tifffile.imwrite(img, tifffile.imread(path)[5])
    code, out, err = cli("micro", "metrics", img, "--phases", "pore=0,nmc=85,cbd=170", "--spacing", "0.1um",
                         "--directions", "x,y", "--skip", "sizes", "--json")
    assert code == 0, err
    res = json.loads(out)["results"]
    assert res["dimensions"] == 2 and "tpb_density_per_um2" not in res
    code, _, err = cli("micro", "metrics", img, "--spacing", "0.1um", "--directions", "z")
    assert code == 2 and "2-D image has no z" in err


def test_tomo_correct_tilt(cli, tmp_path):
    stack = np.random.default_rng(0).random((6, 20, 20)).astype(np.float32)
    src = tmp_path / "s.tif"
    tifffile.imwrite(src, stack)
    code, out, err = cli("tomo", "correct", src, "--out", tmp_path / "c.zarr", "--tilt", "52",
                         "--pixel-size", "10nm", "--slice-thickness", "20nm", "--json")
    assert code == 0, err
    res = json.loads(out)["results"]
    # y pixel size / sin 52°; shift t·cos 52° / p_y pixels per slice
    assert res["spacing"]["unit"] == "µm" and res["shear_per_slice"]["unit"] == "px"
    assert math.isclose(res["spacing"]["value"][1], 0.01 / math.sin(math.radians(52)), rel_tol=1e-9)
    assert math.isclose(res["shear_per_slice"]["value"], 0.02 * math.cos(math.radians(52)) / 0.01, rel_tol=1e-9)
    code, _, err = cli("tomo", "correct", src, "--out", tmp_path / "d.zarr", "--tilt", "120")
    assert code == 2 and "angle" in err


def test_two_d_image_defaults_to_its_directions_and_errors_name_the_file(cli, tmp_path):
    """A 2-D label image needs no --directions (x, y by default); every error names the file (text, --json,
    and tomo commands that need a stack)."""
    path, _ = _labels(tmp_path)
    img = tmp_path / "slice.tif"
    tifffile.imwrite(img, tifffile.imread(path)[5])
    code, out, err = cli("micro", "metrics", img, "--phases", "pore=0,nmc=85,cbd=170", "--spacing", "0.1um",
                         "--skip", "sizes", "--json")
    assert code == 0, err
    res = json.loads(out)["results"]
    assert set(res["phases"]["pore"]["tortuosity"]) == {"x", "y"}
    code, _, err = cli("micro", "metrics", img, "--spacing", "0.1um", "--directions", "z")
    assert code == 2 and "2-D image has no z" in err and "slice.tif" in err
    code, out, _ = cli("micro", "metrics", img, "--phases", "a=1,b=128", "--spacing", "0.1um", "--json")
    error = json.loads(out)["error"]
    assert code == 2 and error["path"] == str(img) and "do not occur" in error["message"]
    code, _, err = cli("micro", "metrics", img, "--phases", "pore=0")
    assert code == 2 and "slice.tif" in err and err.count("slice.tif") == 1 and "--spacing" in err
    code, _, err = cli("tomo", "align", img, "--out", tmp_path / "aligned.zarr")
    assert code == 2 and "slice.tif" in err and "(z, y, x)" in err


def test_a_file_that_is_not_a_stack_says_what_it_holds(cli, tmp_path):
    """micro/tomo commands sniff the content as every reader does: a spectrum export (even named .tif) is
    named as a spectrum, not reported as a TIFF parser's failure."""
    rows = "".join(f"{c}\t{((c + 400) / 33000) ** 2:.6f}\t{c % 7}\n" for c in range(100, 20_000, 200))
    for name in ("P_spectrum.txt", "P_spectrum.tif"):
        path = tmp_path / name
        path.write_text("# Binning: 200 channels\nChannel\tm/z\tIntensity\n" + rows)
        for args in (("micro", "metrics", path, "--spacing", "1um"), ("tomo", "align", path, "--out",
                                                                        tmp_path / "a.zarr")):
            code, _, err = cli(*args)
            assert code == 2 and name in err and "holds a spectrum" in err and "TiffFileError" not in err, err
