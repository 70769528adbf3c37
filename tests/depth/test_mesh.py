"""`depth cube --mesh`: the interface-depth map as a triangulated surface (legacy VTK or binary STL), in µm."""

import json

import numpy as np
import pytest

import ionscope
from ionscope.io.mesh import grid_surface, read_mesh, stl_bytes, vtk_bytes
from ionscope.model.errors import OutputExistsError
from ionscope.synth.depth import layered_cube


def test_grid_surface_counts_holes_and_winding():
    """A full n×m grid has n·m vertices and 2(n−1)(m−1) triangles; a NaN pixel inside removes its vertex
    and the 4 quads around it lose one corner each (one triangle left per quad: 8 → 4)."""
    x, y = np.arange(5) * 0.5, np.arange(4) * 0.5
    depth = 0.1 + 0.01 * x[None, :] + 0.02 * y[:, None]
    v, t = grid_surface(depth, x, y)
    assert v.shape == (20, 3) and t.shape == (24, 3)
    np.testing.assert_allclose(v[7], [x[2], y[1], depth[1, 2]])  # row-major pixel order, (x, y, depth)
    normals = np.cross(v[t[:, 1]] - v[t[:, 0]], v[t[:, 2]] - v[t[:, 0]])
    assert np.all(normals[:, 2] < 0)  # every triangle faces the sample surface (−z)
    holed = depth.copy()
    holed[1, 2] = np.nan
    v2, t2 = grid_surface(holed, x, y)
    assert v2.shape == (19, 3) and t2.shape == (24 - 4, 3)
    assert not np.isnan(v2).any() and t2.max() == 18


def test_stl_and_vtk_round_trip_through_an_independent_reader():
    trimesh = pytest.importorskip("trimesh")
    import io

    rng = np.random.default_rng(0)
    x, y = np.arange(6) * 0.25, np.arange(4) * 0.25
    depth = 0.05 + 0.01 * rng.random((4, 6))
    v, t = grid_surface(depth, x, y)
    stl = trimesh.load(io.BytesIO(stl_bytes(v, t, "test")), file_type="stl", process=True)
    assert len(stl.faces) == len(t) and len(stl.vertices) == len(v)  # trimesh merges the shared corners
    np.testing.assert_allclose(np.sort(stl.vertices, axis=0), np.sort(v, axis=0), atol=1e-7)
    text = vtk_bytes(v, t, "test").decode()
    assert text.startswith("# vtk DataFile Version 3.0\ntest\nASCII\nDATASET POLYDATA\nPOINTS 24 double\n")


@pytest.mark.slow
def test_cube_mesh_command_writes_the_interface_in_micrometres(cli, tmp_path):
    """The cube's interface depth map (nm, 2 nm per scan) comes back from the files in µm."""
    cube, _ = layered_cube((6, 7), seed=1, pixel_size_um=0.5)
    cube = cube.assign_coords(depth=("scan", np.arange(cube.sizes["scan"]) * 2.0, {"units": "nm"}))
    src = ionscope.save(cube, tmp_path / "c.zarr")
    code, text, err = cli("depth", "cube", src, "--out", tmp_path / "m.zarr", "--interface", "Li2O-:falling",
                          "--axis", "depth", "--mesh", tmp_path / "li2o.vtk", "--json")
    assert code == 0, err
    res = json.loads(text)["results"]
    maps = ionscope.read(tmp_path / "m.zarr")
    depth_nm = maps["interface_Li2O-"].values
    good = np.isfinite(depth_nm)
    assert res["meshes"][0]["vertices"] <= good.sum() and res["meshes"][0]["unit"] == "µm"
    v, t, title = read_mesh(tmp_path / "li2o.vtk")
    assert len(v) == res["meshes"][0]["vertices"] and len(t) == res["meshes"][0]["triangles"] > 0
    assert "um" in title
    iy = np.rint(v[:, 1] / 0.5 - 0.5).astype(int)  # pixel centres 0.25, 0.75 … µm
    ix = np.rint(v[:, 0] / 0.5 - 0.5).astype(int)
    np.testing.assert_allclose(v[:, 2], depth_nm[iy, ix] / 1000.0, rtol=1e-8)  # nm → µm
    code, _, err = cli("depth", "cube", src, "--out", tmp_path / "m2.zarr", "--interface", "Li2O-:falling",
                       "--interface", "PS3-:rising", "--axis", "depth", "--mesh", tmp_path / "s.stl")
    assert code == 0, err
    for name in ("s_Li2O-.stl", "s_PS3-.stl"):
        v, t, _ = read_mesh(tmp_path / name)
        assert len(t) > 0 and np.nanmax(v[:, 2]) < 1.0  # depths of ~0.1 µm, not nm
    code, _, err = cli("depth", "cube", src, "--out", tmp_path / "m3.zarr", "--interface", "PS3-:rising",
                       "--axis", "depth", "--mesh", tmp_path / "s_PS3-.stl")
    assert code == 2 and "already exists" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "m3.zarr").exists()  # refused before any work
    code, _, err = cli("depth", "cube", src, "--out", tmp_path / "m3.zarr", "--interface", "PS3-:rising",
                       "--axis", "depth", "--mesh", tmp_path / "s_PS3-.stl", "--force")
    assert code == 0, err


@pytest.mark.parametrize("args, message", [
    (["--interface", "Li2O-:falling", "--mesh", "x.obj", "--axis", "depth"], "must end in .vtk or .stl"),
    (["--mesh", "x.vtk", "--axis", "depth"], "at least one --interface"),
    (["--interface", "Li2O-:falling", "--mesh", "x.vtk"], "needs the interface in depth"),
])
def test_mesh_bad_input_one_line_exit_2(cli, tmp_path, args, message):
    cube, _ = layered_cube((4, 4), seed=1)
    src = ionscope.save(cube, tmp_path / "c.zarr")
    args = [str(tmp_path / a) if a.startswith("x.") else a for a in args]
    code, _, err = cli("depth", "cube", src, "--out", tmp_path / "m.zarr", *args)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err


def test_write_interface_meshes_adds_the_files_to_the_result(tmp_path):
    """The library step behind ``--mesh``: one file per species, counts equal to the file's, flags kept."""
    import xarray as xr

    from ionscope.depth.cube_maps import write_interface_meshes
    from ionscope.model.result import Result

    depth = np.array([[100.0, 110.0, np.nan], [105.0, 120.0, 130.0]])
    ds = xr.Dataset({"interface_A": (("y", "x"), depth, {"units": "nm"})},
                    coords={"y": ("y", [0.25, 0.75], {"units": "µm"}), "x": ("x", [0.25, 0.75, 1.25], {"units": "µm"})})
    before = Result("depth.cube", {"interfaces": []}, ("a warning",))
    res = write_interface_meshes(ds, before, [("A", tmp_path / "a.stl")], tmp_path / "cube.zarr")
    (entry,) = res["meshes"]
    v, t, _ = read_mesh(tmp_path / "a.stl")
    assert entry["path"] == str(tmp_path / "a.stl") and entry["unit"] == "µm" and entry["species"] == "A"
    assert entry["triangles"] == len(t) > 0 and res["interfaces"] == [] and res.warnings == ("a warning",)
    np.testing.assert_allclose(np.sort(np.unique(v[:, 2])), np.sort(depth[np.isfinite(depth)]) / 1000.0, rtol=1e-6)
    with pytest.raises(OutputExistsError):
        write_interface_meshes(ds, before, [("A", tmp_path / "a.stl")], tmp_path / "cube.zarr")
