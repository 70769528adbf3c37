"""Fixtures of the viewer tests: the synthetic sample stores, a broken store, and a running server."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from ionscope.model.arrays import coord, labelled, pixel_axis


def _hyperspectral() -> object:
    """A 20 × 30 pixel cube over 200 m/z channels: channel 50 holds y·100 + x counts, the rest 1."""
    ny, nx, nm = 20, 30, 200
    data = np.ones((ny, nx, nm), dtype=np.float32)
    data[:, :, 50] = np.arange(ny)[:, None] * 100 + np.arange(nx)[None, :]
    coords = {"y": coord("y", pixel_axis(ny, 1.0), "µm"), "x": coord("x", pixel_axis(nx, 1.0), "µm"),
              "mz": coord("mz", np.linspace(1, 100.5, nm), "m/z")}
    return labelled(data, "hyperspectral", coords=coords, name="counts")


@pytest.fixture(scope="session")
def samples(tmp_path_factory) -> dict[str, Path]:
    """Every viewer sample as a Zarr store, plus a hyperspectral cube and a broken store."""
    from ionscope.io.zarr_store import save
    from ionscope.synth.viewer_samples import write_viewer_samples

    root = tmp_path_factory.mktemp("viewer_samples")
    paths = write_viewer_samples(root / "stores", seed=1)
    paths["hyperspectral"] = save(_hyperspectral(), root / "stores" / "hyperspectral.zarr")
    broken = root / "broken.zarr"
    broken.mkdir()
    (broken / "zarr.json").write_text("{not json")
    paths["broken"] = broken
    return paths


@pytest.fixture(scope="session")
def server(samples):
    """A viewer serving the sample folder (its catalogue) and the broken store, on a free loopback port."""
    from ionscope.viewer import make_server, serve_in_thread

    srv = make_server([samples["cube"].parent, samples["broken"]])
    serve_in_thread(srv)
    yield srv
    srv.shutdown()
    srv.server_close()


class Client:
    """Tiny HTTP client: returns (status, headers, body bytes); the token is added unless told not to."""

    def __init__(self, server) -> None:
        host, port = server.server_address[:2]
        self.base = f"http://{host}:{port}"
        self.token = server.token
        self.ids = {e.path.name.removesuffix(".zarr"): e.id for e in server.catalogue.entries()}

    def request(self, path: str, *, method: str = "GET", body: bytes | None = None, token: bool | str = True,
                headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        url = self.base + path
        hdrs = dict(headers or {})
        if token is True:
            hdrs["X-Ionscope-Token"] = self.token
        elif isinstance(token, str):
            hdrs["X-Ionscope-Token"] = token
        req = urllib.request.Request(url, data=body, method=method, headers=hdrs)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    def json(self, path: str, **kw) -> tuple[int, object]:
        status, _, body = self.request(path, **kw)
        return status, json.loads(body)

    def roi(self, name: str, payload: object, raw: bytes | None = None) -> tuple[int, object]:
        body = raw if raw is not None else json.dumps(payload).encode()
        return self.json(f"/api/datasets/{self.ids[name]}/roi", method="POST", body=body,
                         headers={"Content-Type": "application/json"})


@pytest.fixture(scope="session")
def client(server) -> Client:
    return Client(server)
