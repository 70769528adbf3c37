"""Every real file in ../shared/data and every file `ionscope demo` writes opens in the viewer, and each
dataset's description and data answer 200 with strict JSON (no NaN or infinity) and no absolute path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ..conftest import shared_data

#: What the views request for each kind of dataset (GET routes; ROIs are POSTed separately).
ROUTES = {"spectrum": ["spectrum"], "hyperspectral": ["image", "spectrum"], "ion_image": ["image", "spectrum"],
          "cube3d": ["image", "spectrum", "profile"], "depth_profile": ["profile"],
          "operando": ["operando", "image", "spectrum"], "volume": ["image"], "image": ["image"]}
ROI_WHAT = {"hyperspectral": "spectrum", "ion_image": "spectrum", "cube3d": "profile", "operando": "trajectory",
            "image": None}


def _strict(body: bytes) -> object:
    def refuse(name: str) -> object:
        raise ValueError(f"non-standard JSON constant {name}")
    return json.loads(body, parse_constant=refuse)


def _claimed(root: Path) -> set[str]:
    """Files and stores below ``root`` that a registered reader claims (by extension)."""
    from ionscope.viewer.catalogue import _looks_readable

    found = set()
    for p in root.rglob("*"):
        if any(part.startswith(".") for part in p.relative_to(root).parts):
            continue
        if any(part.lower().endswith(".zarr") for part in p.relative_to(root).parts[:-1]):
            continue  # inside a store
        if _looks_readable(p):
            found.add(p.relative_to(root).as_posix())
    return found


def _map_routes(dataset_id: str, meta: dict) -> list[str]:
    """The Maps view's requests: every map variable and a hover value on it; a cube's two side views."""
    out = []
    for v in meta.get("map_variables", []):
        out += [f"/api/datasets/{dataset_id}/map?var={v['name']}",
                f"/api/datasets/{dataset_id}/value?var={v['name']}&row=0&col=0"]
    if meta["kind"] == "cube3d":
        for plane in ("xz", "yz"):
            out += [f"/api/datasets/{dataset_id}/side?plane={plane}",
                    f"/api/datasets/{dataset_id}/value?plane={plane}&row=0&col=0"]
    return out


def _flat_image_npz(path: Path) -> bool:
    """A converted TRIFT / ION-TOF image (pixel matrix, channel masses ``mz``, image size ``xy``): shown as a cube."""
    import numpy as np

    if path.suffix != ".npz":
        return False
    with np.load(path) as z:
        return {"mz", "xy"} <= set(z.files)


def _open_everything(root: Path) -> list[str]:
    """Serve ``root``; check every claimed file is listed and loaded, and request all its data."""
    from ionscope.viewer import make_server, serve_in_thread
    from tests.viewer.conftest import Client

    srv = make_server([root])
    serve_in_thread(srv)
    seen = []
    try:
        c = Client(srv)
        status, _, body = c.request("/api/datasets")
        assert status == 200
        listing = _strict(body)["datasets"]
        assert str(root) not in body.decode()
        assert {d["path"] for d in listing} == _claimed(root)
        for d in listing:
            if d["path"].endswith((".npy", ".npz")) and not _flat_image_npz(root / d["path"]):
                # plain NumPy arrays carry no dimension names: listed with the reason, never a 500
                assert d["status"] == "error" and "match no ionscope data kind" in json.dumps(d), d
                continue
            assert d["status"] == "ok", d
            status, _, body = c.request(f"/api/datasets/{d['id']}")
            assert status == 200, (d["path"], body[:300])
            meta = _strict(body)
            assert str(root) not in body.decode()
            for route in ROUTES[meta["kind"]] + (["labels"] if meta.get("has_labels") else []):
                status, headers, body = c.request(f"/api/datasets/{d['id']}/{route}")
                assert status == 200, (d["path"], route, body[:300])
                if headers["Content-Type"] == "application/json":
                    _strict(body)
            for path in _map_routes(d["id"], meta):
                status, _, body = c.request(path)
                assert status == 200, (d["path"], path, body[:300])
                if path.split("?")[0].endswith("/value"):
                    value = _strict(body)["value"]
                    assert "unit" in value and "uncertainty" in value, (d["path"], path, value)
            what = ROI_WHAT.get(meta["kind"])
            if what:
                roi = {"type": "rect", "x0": 0, "y0": 0, "x1": 2, "y1": 2}
                status, _, body = c.request(f"/api/datasets/{d['id']}/roi", method="POST",
                                            body=json.dumps({"roi": roi, "what": what}).encode(),
                                            headers={"Content-Type": "application/json"})
                assert status == 200, (d["path"], body[:300])
                _strict(body)
            seen.append(f"{meta['kind']}:{d['path']}")
    finally:
        srv.shutdown()
        srv.server_close()
    return seen


@pytest.mark.slow
@pytest.mark.realdata
def test_every_shared_real_file_opens_with_strict_json():
    """The 20 IONTOF depth profiles (whose summed `total` column has no m/z), 19 spectra, both imzML
    storage modes, the TIFF volumes and images and the flat TRIFT image (.npz, shown as a cube)."""
    seen = _open_everything(shared_data())
    kinds = [s.split(":")[0] for s in seen]
    assert kinds.count("depth_profile") >= 20 and "hyperspectral" in kinds and "volume" in kinds
    assert "hyperspectral:phi_trift_image/poplar_wood_image.npz" in seen


@pytest.mark.slow
def test_every_file_the_demo_writes_opens_with_strict_json(demo_output):
    """Includes the raw event file (GRD, shown as its total-ion image) and the processed imzML
    (shown binned on nominal masses)."""
    seen = _open_everything(demo_output)
    assert any(s.endswith(".grd") for s in seen) and any(s.lower().endswith(".imzml") for s in seen)
