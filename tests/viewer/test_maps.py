"""The viewer's map routes: D*/k and interface-depth maps in physical units, hover values ± 1σ, cube side views."""

from __future__ import annotations

import json

import numpy as np
import pytest

import ionscope
from ionscope.viewer.server import decode_image


def _strict(body: bytes) -> object:
    def refuse(name: str) -> object:
        raise ValueError(f"non-standard JSON constant {name}")
    return json.loads(body, parse_constant=refuse)


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    """A D*/k map store, a `depth cube` maps store (interface depth in nm) and the cube itself."""
    from ionscope.depth.cube_maps import cube_maps
    from ionscope.diffusion.maps import map_cube, write_map
    from ionscope.synth.depth import layered_cube
    from ionscope.synth.diffusion import isotope_exchange_cube

    root = tmp_path_factory.mktemp("map_stores")
    iso, _ = isotope_exchange_cube((60, 6, 8), seed=2, total_counts=1e4)
    ds = map_cube(iso, ("^18O-", "^16O-"), 3600.0).maps
    ds["D"].values[0, 0] = np.nan  # a pixel without a fit
    write_map(ds, root / "D.zarr")
    cube, _ = layered_cube((8, 10), seed=1)
    cube = cube.assign_coords(depth=("scan", np.arange(cube.sizes["scan"]) * 2.0, {"units": "nm"}))
    maps = cube_maps(cube, interfaces=[("Li2O-", True)], layers=[(0, 20)], side_views=[("Li2O-", "xz")],
                     axis="depth").maps
    ionscope.save(maps, root / "maps.zarr")
    ionscope.save(cube, root / "cube.zarr")
    return {"root": root, "D": ds, "maps": maps, "cube": cube}


@pytest.fixture(scope="module")
def mclient(stores):
    from ionscope.viewer import make_server, serve_in_thread
    from tests.viewer.conftest import Client

    srv = make_server([stores["root"]])
    serve_in_thread(srv)
    yield Client(srv)
    srv.shutdown()
    srv.server_close()


def _get(client, path: str) -> tuple[int, object]:
    status, _, body = client.request(path)
    return status, _strict(body)


def test_map_stores_list_their_variables_with_units_scale_and_uncertainty(mclient):
    status, listing = _get(mclient, "/api/datasets")
    counts = {d["name"]: d["maps"] for d in listing["datasets"]}
    assert counts["D.zarr"] >= 3 and counts["maps.zarr"] == 3 and counts["cube.zarr"] == 0
    _, meta = _get(mclient, f"/api/datasets/{mclient.ids['D']}")
    by_name = {v["name"]: v for v in meta["map_variables"]}
    assert meta["map_variables"][0]["name"] == "D"  # D* first: what the view opens on
    assert by_name["D"] == {"name": "D", "label": "D*", "dims": ["y", "x"], "unit": "cm^2/s", "scale": "log",
                            "uncertainty": "D_uncertainty"}
    assert by_name["k"]["unit"] == "cm/s" and by_name["k"]["scale"] == "log"
    assert by_name["chi2_red"]["scale"] == "linear" and by_name["chi2_red"]["uncertainty"] is None
    assert "D_uncertainty" not in by_name  # shown through the hover, not as a map of its own
    _, meta = _get(mclient, f"/api/datasets/{mclient.ids['maps']}")
    by_name = {v["name"]: v for v in meta["map_variables"]}
    assert by_name["interface_Li2O-"]["uncertainty"] == "interface_Li2O-_uncertainty"
    assert by_name["side_xz_Li2O-"]["dims"] == ["scan", "x"] and by_name["layer_0_20"]["peaks"] == ["Li2O-", "PS3-"]


def test_d_map_image_in_cm2_per_s_on_a_log_scale(mclient, stores):
    status, headers, body = mclient.request(f"/api/datasets/{mclient.ids['D']}/map?var=D")
    assert status == 200 and headers["Content-Type"] == "application/octet-stream"
    values, h = decode_image(body)
    D = stores["D"]["D"].values
    np.testing.assert_allclose(values, D.astype(np.float32), rtol=1e-6)  # no downsampling at 6 × 8
    assert h["unit"] == "cm^2/s" and h["scale"] == "log"
    assert h["min"] == pytest.approx(np.nanmin(D)) and h["max"] == pytest.approx(np.nanmax(D))
    assert [a["name"] for a in h["axes"]] == ["y", "x"] and h["axes"][1]["unit"] == "µm"


def test_hover_value_carries_its_uncertainty_and_unit(mclient, stores):
    D = stores["D"]
    status, v = _get(mclient, f"/api/datasets/{mclient.ids['D']}/value?var=D&row=2&col=5")
    assert status == 200
    assert v["value"] == {"value": pytest.approx(float(D["D"][2, 5])),
                          "uncertainty": pytest.approx(float(D["D_uncertainty"][2, 5])), "unit": "cm^2/s"}
    assert v["position"]["x"] == {"index": 5, "axis": "x", "value": pytest.approx(float(D.x[5])), "unit": "µm"}
    status, k = _get(mclient, f"/api/datasets/{mclient.ids['D']}/value?var=k&row=0&col=0")
    assert k["value"]["unit"] == "cm/s" and k["value"]["uncertainty"] == pytest.approx(float(D["k_uncertainty"][0, 0]))
    status, body = _get(mclient, f"/api/datasets/{mclient.ids['D']}/value?var=D&row=0&col=0")
    assert status == 200 and body["value"]["value"] is None  # the unfitted pixel: null, never NaN
    status, chi = _get(mclient, f"/api/datasets/{mclient.ids['D']}/value?var=chi2_red&row=1&col=1")
    assert chi["value"]["uncertainty"] is None and chi["value"]["why_no_uncertainty"]


def test_interface_depth_map_in_nm_with_its_uncertainty(mclient, stores):
    m = stores["maps"]
    _, _, body = mclient.request(f"/api/datasets/{mclient.ids['maps']}/map?var=interface_Li2O-")
    values, h = decode_image(body)
    assert h["unit"] == "nm" and h["scale"] == "linear"  # depths of ~100 nm shown in nm
    np.testing.assert_allclose(values, m["interface_Li2O-"].values.astype(np.float32), rtol=1e-6, equal_nan=True)
    _, v = _get(mclient, f"/api/datasets/{mclient.ids['maps']}/value?var=interface_Li2O-&row=3&col=4")
    assert v["value"]["unit"] == "nm"
    assert v["value"]["value"] == pytest.approx(float(m["interface_Li2O-"][3, 4]))
    assert v["value"]["uncertainty"] == pytest.approx(float(m["interface_Li2O-_uncertainty"][3, 4]))
    _, lay = _get(mclient, f"/api/datasets/{mclient.ids['maps']}/value?var=layer_0_20&peak=1&row=3&col=4")
    assert lay["value"]["value"] == pytest.approx(float(m["layer_0_20"][3, 4, 1]))


def test_display_unit_switches_to_micrometres_from_one_micrometre():
    from ionscope.viewer.maps import display_unit

    assert display_unit("nm", np.array([200.0, 900.0])) == "nm"
    assert display_unit("nm", np.array([1500.0, 2500.0, np.nan])) == "µm"
    assert display_unit("µm", np.array([0.05, 0.2])) == "nm"
    assert display_unit("s", np.array([1.0])) == "s" and display_unit("cm^2/s", np.array([1e-14])) == "cm^2/s"


def test_cube_side_views_at_a_row_and_a_column(mclient, stores):
    cube = stores["cube"]
    cid = mclient.ids["cube"]
    _, _, body = mclient.request(f"/api/datasets/{cid}/side?plane=xz&index=3&peak=1")
    values, h = decode_image(body)
    np.testing.assert_allclose(values, cube.isel(y=3, peak=1).transpose("scan", "x").values)
    assert h["dims"] == ["scan", "x"] and h["axes"][0]["name"] == "depth" and h["axes"][0]["unit"] == "nm"
    _, _, body = mclient.request(f"/api/datasets/{cid}/side?plane=yz&index=7&peak=0")
    values, h = decode_image(body)
    np.testing.assert_allclose(values, cube.isel(x=7, peak=0).transpose("scan", "y").values)
    _, v = _get(mclient, f"/api/datasets/{cid}/value?plane=yz&index=7&peak=0&row=30&col=2")
    n = float(cube.isel(x=7, peak=0, scan=30, y=2))
    assert v["value"] == {"value": n, "uncertainty": pytest.approx(np.sqrt(n)), "unit": "counts"}  # Poisson √N
    assert v["position"]["scan"]["axis"] == "depth" and v["position"]["scan"]["value"] == 60.0


@pytest.mark.parametrize("path, message", [
    ("D/map?var=nope", "no map named 'nope'"),
    ("D/value?var=D&row=6&col=0", "'row' = 6 is outside 0…5"),
    ("D/value?var=D&row=a&col=0", "'row' must be an integer"),
    ("maps/map?var=layer_0_20&peak=5", "'peak' = 5 is outside"),
    ("cube/map", "holds no map"),
    ("cube/side?plane=zz", "'plane' must be xz or yz"),
    ("cube/side?plane=xz&index=8", "'index' = 8 is outside 0…7"),
    ("D/side?plane=xz", "side views are cut from 3-D cubes"),
])
def test_bad_map_requests_are_422_with_one_sentence(mclient, path, message):
    name, rest = path.split("/", 1)
    status, body = _get(mclient, f"/api/datasets/{mclient.ids[name]}/{rest}")
    assert status == 422 and message in body["error"]["message"], body
    assert body["error"]["path"] == f"{name}.zarr"


@pytest.mark.slow
def test_fuzzed_map_queries_never_500(mclient):
    """Hostile values for every parameter the map routes read: a JSON error or data, never a 500."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from tests.viewer.test_fuzz import _check, values

    keys = st.sampled_from(("var", "peak", "plane", "index", "row", "col", "x", ""))
    names = st.sampled_from(("D", "k", "chi2_red", "interface_Li2O-", "layer_0_20", "side_xz_Li2O-", "D_uncertainty"))
    query = st.lists(st.tuples(keys, st.one_of(values, names)), max_size=6)

    @settings(max_examples=60, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow])
    @given(dataset=st.sampled_from(("D", "maps", "cube")), route=st.sampled_from(("map", "side", "value")),
           q=query)
    def run(dataset, route, q):
        from urllib.parse import quote

        text = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in q)
        _check(*mclient.request(f"/api/datasets/{mclient.ids[dataset]}/{route}?{text}"))

    run()
