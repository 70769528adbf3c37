"""`ionscope depth cube`: interface-depth maps with per-pixel uncertainty, roughness, layer maps, side views."""

import json

import numpy as np

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
    ds, res = cube_maps(cube, interfaces=[("Li2O-", True), ("PS3-", False)])
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
