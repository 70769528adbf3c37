"""`depth cube` and `diffusion map` stores open in `ionscope view` and answer every route with strict JSON."""

import ionscope


def test_cube_maps_and_diffusion_map_open_in_the_viewer(cli, tmp_path):
    """The maps store also holds side views (scan, x) and ROI profiles (roi, scan, peak), which are no
    viewer kind: the viewer must show one of the maps instead of refusing the store."""
    from ionscope.synth.depth import layered_cube
    from ionscope.synth.diffusion import isotope_exchange_cube
    from tests.viewer.test_every_file import _open_everything

    src = ionscope.save(layered_cube((8, 8), seed=1)[0], tmp_path / "cube.zarr")
    iso = ionscope.save(isotope_exchange_cube((60, 6, 6), seed=2, total_counts=1e4)[0], tmp_path / "iso.zarr")
    root = tmp_path / "out"
    root.mkdir()
    code, _, err = cli("depth", "cube", src, "--out", root / "maps.zarr", "--interface", "Li2O-:falling",
                       "--layers", "0:20", "--side-view", "xz", "--rect", "0um,0um,2um,2um", "--json")
    assert code == 0, err
    code, _, err = cli("diffusion", "map", iso, "--isotopes", "^18O-,^16O-", "--time", "1h", "--out",
                       root / "D.zarr", "--json")
    assert code == 0, err
    assert sorted(_open_everything(root)) == ["image:D.zarr", "image:maps.zarr"]


def test_viewer_skips_variables_of_no_kind_whatever_their_order(tmp_path):
    """A side view listed first must not make the store unreadable in the viewer."""
    import numpy as np
    import xarray as xr

    from ionscope.viewer.catalogue import _choose

    ds = xr.Dataset({"side_xz_A": (("scan", "x"), np.ones((5, 4))), "interface_A": (("y", "x"), np.ones((3, 4)))})
    main, kind, _, names = _choose(ds, tmp_path / "maps.zarr")
    assert main.name == "interface_A" and kind == "image" and names[0] == "side_xz_A"
