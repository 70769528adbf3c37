"""CLI: tomo align/destripe/segment and micro metrics (JSON contract, errors)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tifffile

from ionscope.synth.fibsem import image_stack, three_phase_electrode


@pytest.mark.slow
def test_tomo_and_micro_cli(cli, tmp_path):
    vol, truth = three_phase_electrode((12, 48, 48), seed=8)
    stack, _ = image_stack(vol.values, seed=9)
    src = tmp_path / "stack.tif"
    tifffile.imwrite(src, stack.values.astype(np.float32))
    code, out, err = cli("tomo", "align", src, "--out", tmp_path / "a.tif", "--pixel-size", "100nm", "--json")
    assert code == 0, err
    drift = json.loads(out)["results"]["drift"]
    assert len(drift["value"]) == 12 and drift["unit"] == "µm"
    code, out, err = cli("tomo", "align", src, "--out", tmp_path / "r.zarr", "--transform", "rigid",
                         "--reference", "first", "--fiducial", "0:24,0:48", "--json")
    assert code == 0, err
    rig = json.loads(out)["results"]
    assert rig["transform"] == "rigid" and len(rig["rotation"]["value"]) == 12 and len(rig["matrices"]) == 12
    assert len(rig["rotation"]["uncertainty"]) == 12
    assert json.loads(out)["provenance"]["parameters"]["fiducial"] == [[0, 24], [0, 48]]
    code, err, _ = cli("tomo", "align", src, "--out", tmp_path / "p.zarr", "--transform", "projective", "--json")
    assert code == 2 and "transform must be one of" in err
    code, err, _ = cli("tomo", "align", src, "--out", tmp_path / "p.zarr", "--fiducial", "0:24", "--json")
    assert code == 2 and "--fiducial" in err
    code, err, _ = cli("tomo", "align", src, "--out", tmp_path / "p.zarr", "--fiducial", "0:24,40:90", "--json")
    assert code == 2 and "not inside the slice" in err
    code, out, err = cli("tomo", "destripe", tmp_path / "a.tif", "--out", tmp_path / "d.zarr", "--json")
    assert code == 0, err
    code, out, _ = cli("tomo", "segment", tmp_path / "d.zarr", "--out", tmp_path / "s.tif",
                       "--phases", "pore,cbd,nmc", "--json")
    assert code == 0
    seg = json.loads(out)["results"]
    assert set(seg["volume_fraction"]) == {"pore", "cbd", "nmc"}
    code, err, _ = cli("tomo", "segment", tmp_path / "d.zarr", "--out", tmp_path / "s.tif", "--json")
    assert code != 0 and "exists" in err

    lab = tmp_path / "labels.tif"
    tifffile.imwrite(lab, (truth.truth["labels"] * 85).astype(np.uint8))
    code, out, err = cli("micro", "metrics", lab, "--phases", "pore=0,nmc=85,cbd=170", "--spacing", "0.1um",
                         "--tortuosity", "pore", "--json")
    assert code == 0, err
    res = json.loads(out)["results"]
    assert res["phases"]["pore"]["volume_fraction"]["value"] == truth.truth["volume_fraction"]["pore"]
    assert set(res["phases"]["pore"]["tortuosity"]) == {"x", "y", "z"}
    assert "tpb_density_per_um2" in res and "nmc-cbd" in res["interfacial_area_per_um"]
    assert res["phases"]["nmc"]["specific_surface_area_per_um"]["value"] > 0
    lt = res["phases"]["nmc"]["local_thickness_um"]
    assert 0 < lt["d10"] <= lt["d50"] <= lt["d90"]

    code, out, err = cli("micro", "metrics", lab, "--phases", "pore=0,nmc=85,cbd=170", "--spacing", "0.1um",
                         "--tortuosity", "pore")
    assert code == 0, err
    assert "local thickness d10/d50/d90" in out

    # only the phase of interest: the other labels are listed as unnamed
    code, out, err = cli("micro", "metrics", lab, "--phases", "pore=0", "--spacing", "0.1um", "--only",
                         "fractions,percolation", "--json")
    assert code == 0, err
    assert json.loads(out)["results"]["unnamed_labels"] == [85, 170]
    for args, message in ((["--phases", "pore=0,nmc=99"], "do not occur"),
                          (["--phases", "pore=0,pore=85"], "given twice"),
                          (["--tortuosity", "bogus"], "not among the analysed phases"),
                          (["--only", "bogus"], "unknown metric"),
                          (["--spacing", "0.39"], "needs a number with a length unit"),
                          (["--spacing", "0um"], "positive"),
                          (["--spacing", "3cm"], "check the unit")):
        extra = [] if "--spacing" in args else ["--spacing", "0.1um"]
        code, out, err = cli("micro", "metrics", lab, *args, *extra)
        assert code == 2 and message in err and len(err.strip().splitlines()) == 1, (args, err)
