"""`ionscope depth cube`: interface-depth maps with per-pixel uncertainty, roughness, layer maps, side views."""

import json

import numpy as np
import pytest

import ionscope
from ionscope.depth.cube_maps import cube_maps
from ionscope.synth.depth import layered_cube


def test_interface_maps_recovered_within_their_uncertainty():
    """Tilted, wavy interface of known depth per pixel.

    The delta-method 1σ leaves out the noise of the per-pixel normalisation (5th/95th percentiles)
    and the correlation the 5-scan smoothing introduces, so the coverage is somewhat below the
    nominal 95 %: at least 80 % of the pixels within 2σ, and no bias beyond 1.5 × the median σ.
    """
    cube, truth = layered_cube((24, 24), seed=3)
    res = cube_maps(cube, interfaces=[("Li2O-", True), ("PS3-", False)])
    ds = res.maps
    t = truth.truth["interface_scan"]  # sputter_time is 1 s per scan from 0
    for sp in ("Li2O-", "PS3-"):
        p, s = ds[f"interface_{sp}"].values, ds[f"interface_{sp}_uncertainty"].values
        assert np.mean(np.abs(p - t) < 2 * s) >= 0.8
        assert np.median(np.abs(p - t)) <= 1.5 * np.median(s)
    # roughness: the rms of the true map, within 3σ of the reported value
    rough = res["interfaces"][0]["roughness_rms"]
    assert abs(rough.value - np.std(t, ddof=1)) < 3 * rough.uncertainty + 0.1


def test_cube_command_outputs_and_bad_input(cli, tmp_path):
    cube, _ = layered_cube((8, 8), seed=1)
    src = ionscope.save(cube, tmp_path / "c.zarr")
    out = tmp_path / "maps.zarr"
    code, text, err = cli("depth", "cube", src, "--out", out, "--interface", "Li2O-:falling", "--layers", "0:20",
                          "--side-view", "yz", "--json")
    assert code == 0, err
    res = json.loads(text)["results"]
    assert res["interfaces"][0]["roughness_rms"]["unit"] == "s"
    maps = ionscope.read(out)
    assert maps["interface_Li2O-"].shape == (8, 8) and maps["layer_0_20"].shape == (8, 8, 2)
    assert "side_yz_Li2O-" in maps
    for args, message in ((["--interface", "Li+:falling"], "'Li+' is not in the cube"),
                          (["--interface", "Li2O-"], "SPECIES:falling"),
                          (["--axis", "depth", "--interface", "Li2O-:falling"], "no depth axis")):
        code, _, err = cli("depth", "cube", src, "--out", tmp_path / "x.zarr", *args)
        assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err


def _range(r):
    """The ``[start, stop)`` scan range of a :func:`layer_scans` Result as a pair."""
    assert r.kind == "depth.scan_range"
    return r.start, r.stop


def test_layers_in_sputter_time_and_depth(tmp_path):
    """A layer given in s or nm holds the scans whose axis value lies in [start, stop)."""
    from ionscope.depth.cube_maps import layer_scans

    cube, _ = layered_cube((4, 4), seed=2)  # sputter_time 0, 1, 2 … s
    assert _range(layer_scans(cube, 0, 20, None)) == (0, 20)
    assert _range(layer_scans(cube, 0.0, 10.0, "s")) == (0, 10)
    assert _range(layer_scans(cube, 2.5, 5.0, "s")) == (3, 5)
    assert _range(layer_scans(cube, 0.0, 0.05, "min")) == (0, 3)  # 3 s
    assert _range(layer_scans(cube, 0.0, 5.0, "nm", rate_nm_s=0.5)) == (0, 10)  # 0.5 nm per 1-s scan
    with_depth = cube.assign_coords(depth=("scan", np.arange(cube.sizes["scan"]) * 2.0, {"units": "nm"}))
    assert _range(layer_scans(with_depth, 0.0, 0.01, "µm")) == (0, 5)
    res = cube_maps(with_depth, layers=[(0.0, 10.0, "nm"), (0, 20)])
    ds = res.maps
    assert [lay["scans"] for lay in res["layers"]] == [[0, 5], [0, 20]]
    assert res["layers"][0]["request"] == "0nm:10nm"
    assert np.allclose(ds["layer_0_5"].values, cube.isel(scan=slice(0, 5)).mean("scan").values)


def test_roi_profiles_from_mask_and_rectangle():
    """Each region's profile is the mean over its pixels of the (scan, peak) counts."""
    from ionscope.depth.cube_maps import rect_mask, roi_masks_from_labels

    cube, _ = layered_cube((6, 8), seed=4, pixel_size_um=0.5)  # pixel centres 0.25, 0.75 … µm
    labels = np.zeros((6, 8), np.uint8)
    labels[:3] = 1
    labels[3:, :2] = 2
    rois = roi_masks_from_labels(labels, (6, 8))
    assert [n for n, _ in rois] == ["label_1", "label_2"]
    rect = rect_mask(cube, 0.0, 0.0, 1.0, 1.5)  # x centres 0.25, 0.75; y centres 0.25, 0.75, 1.25
    assert rect.sum() == 6 and rect[:3, :2].all()
    res = cube_maps(cube, rois=rois, rects=[(0.0, 0.0, 1.0, 1.5)])
    ds = res.maps
    prof = ds["roi_profiles"]
    assert list(prof.roi.values) == ["label_1", "label_2", "rect"] and prof.dims == ("roi", "scan", "peak")
    assert np.allclose(prof.sel(roi="label_2").values, cube.values[:, 3:, :2].mean(axis=(1, 2)))
    assert np.allclose(prof.sel(roi="rect").values, cube.values[:, :3, :2].mean(axis=(1, 2)))
    assert [r["pixels"] for r in res["rois"]] == [24, 6, 6]
    total = res["rois"][1]["total_counts"]["Li2O-"]
    assert total == pytest.approx(cube.sel(peak="Li2O-").values[:, 3:, :2].sum(), rel=1e-6)
    assert roi_masks_from_labels(labels > 0, (6, 8))[0][0] == "mask"


@pytest.mark.slow
def test_cube_command_layers_rois_and_bad_input(cli, tmp_path):
    import tifffile

    cube, _ = layered_cube((8, 8), seed=1)
    src = ionscope.save(cube, tmp_path / "c.zarr")
    mask = tmp_path / "mask.tif"
    m = np.zeros((8, 8), np.uint8)
    m[:4] = 1
    tifffile.imwrite(mask, m)
    bad_mask = tmp_path / "bad.tif"
    tifffile.imwrite(bad_mask, np.ones((5, 8), np.uint8))
    out = tmp_path / "maps.zarr"
    code, text, err = cli("depth", "cube", src, "--out", out, "--layers", "0s:10s,20:40", "--roi", mask,
                          "--rect", "0um,0um,2um,2um", "--json")
    assert code == 0, err
    res = json.loads(text)["results"]
    assert [lay["scans"] for lay in res["layers"]] == [[0, 10], [20, 40]]
    assert [(r["name"], r["pixels"]) for r in res["rois"]] == [("mask", 32), ("rect", 16)]
    maps = ionscope.read(out)
    assert maps["roi_profiles"].shape == (2, 120, 2) and "layer_0_10" in maps
    code, _, err = cli("depth", "cube", src, "--out", tmp_path / "d.zarr", "--layers", "0nm:50nm", "--rate", "0.5nm/s",
                       "--json")
    assert code == 0, err
    for args, message in ((["--layers", "0nm:50nm"], "no depth axis"),
                          (["--layers", "0nm:50s"], "same kind"),
                          (["--layers", "500s:600s"], "holds no scan"),
                          (["--roi", bad_mask], "ROI mask is 5×8 pixels but the cube is 8×8"),
                          (["--rect", "0,0,1,1"], "has no unit"),
                          (["--rect", "0um,0um,1um"], "x0,y0,x1,y1"),
                          (["--rect", "10um,10um,20um,20um"], "holds no pixel centre")):
        code, _, err = cli("depth", "cube", src, "--out", tmp_path / "x.zarr", *args)
        assert code == 2 and message in err and len(err.strip().splitlines()) == 1, (args, err)


def test_cube_without_interface_refuses_and_lists_species(cli, tmp_path):
    """Nothing asked for: one line naming --interface and the cube's species, exit 2, nothing written;
    positions printed rounded to their uncertainty like other outputs."""
    cube, _ = layered_cube((8, 8), seed=1)
    src = ionscope.save(cube, tmp_path / "c.zarr")
    out = tmp_path / "maps.zarr"
    code, _, err = cli("depth", "cube", src, "--out", out)
    assert code == 2 and "--interface SPECIES:rising|falling" in err
    for sp in cube.coords["peak"].values:
        assert str(sp) in err
    assert not out.exists()
    code, text, err = cli("depth", "cube", src, "--out", out, "--interface", "Li2O-:falling")
    assert code == 0, err
    line = next(ln for ln in text.splitlines() if "Li₂O⁻" in ln and "±" in ln)
    # rounded to the uncertainty (2 significant digits at most), not 4 significant digits of each
    import re

    unc = re.search(r"± ([0-9.]+)", line).group(1)
    assert len(unc.replace(".", "").lstrip("0")) <= 2
