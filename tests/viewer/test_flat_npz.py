"""A flat TRIFT / ION-TOF image converted to ``.npz`` (pixels × channels counts, ``mz``, ``xy``) in the viewer.

It opens as a ``hyperspectral`` cube through the reader that ``image extract`` and ``mva`` use
(:mod:`ionscope.io.variables`): the total-ion image, any m/z window's image and the spectrum; a file of
this layout whose sizes do not fit is an error entry naming the file and the misfit, never a 500.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import ionscope
from ionscope.viewer.server import decode_image

from ..conftest import shared_data
from .conftest import Client

NY, NX = 5, 7  # not square, so a transposed image cannot pass


def _flat_npz(path: Path, *, xy: tuple[int, int] = (NX, NY), n_masses: int | None = None,
              shuffle: bool = False) -> tuple[Path, np.ndarray, np.ndarray]:
    """A (y, x, channel) count cube stored as TRIFT exports are converted: one row per pixel (x fastest),
    one column per unit-mass channel, ``mz`` the channel centres, ``xy`` = (x size, y size). Every channel
    and pixel differs, so any mix-up of axes, channels or pixels changes the numbers."""
    rng = np.random.default_rng(7)
    masses = np.arange(1.0, 31.0) + 0.003 * np.arange(30)  # unit-mass channels with a small mass defect
    cube = rng.poisson(np.linspace(1.0, 40.0, masses.size), size=(NY, NX, masses.size)).astype(np.uint16)
    cube[:, :, 12] += (10 * np.arange(NY)[:, None] + np.arange(NX)[None, :]).astype(np.uint16)
    stored_masses, stored = masses, cube.reshape(NY * NX, masses.size)
    if shuffle:  # channels stored out of m/z order
        order = rng.permutation(masses.size)
        stored_masses, stored = masses[order], stored[:, order]
    if n_masses is not None:
        stored_masses = stored_masses[:n_masses]
    np.savez(path, counts_pixels_by_mz=stored, mz=stored_masses, xy=np.array(xy))
    return path, cube, masses


def _serve(*paths: Path):
    from ionscope.viewer import make_server, serve_in_thread

    srv = make_server(list(paths))
    serve_in_thread(srv)
    return srv


def _close(srv) -> None:
    srv.shutdown()
    srv.server_close()


def _get_image(c: Client, dataset_id: str, query: str = "") -> tuple[np.ndarray, dict]:
    status, headers, body = c.request(f"/api/datasets/{dataset_id}/image?{query}")
    assert status == 200, body[:300]
    assert headers["Content-Type"] == "application/octet-stream"
    return decode_image(body)


@pytest.mark.parametrize("shuffle", [False, True])
def test_a_flat_npz_opens_with_its_total_ion_image_channels_and_spectrum(tmp_path, shuffle):
    path, cube, masses = _flat_npz(tmp_path / "flat.npz", shuffle=shuffle)
    srv = _serve(path)
    try:
        c = Client(srv)
        status, body = c.json("/api/datasets")
        (d,) = body["datasets"]
        assert status == 200 and d["status"] == "ok", d
        assert d["kind"] == "hyperspectral" and d["shape"] == [NY, NX, masses.size]
        status, meta = c.json(f"/api/datasets/{d['id']}")
        assert status == 200 and meta["units"] == "counts" and meta["variables"] == ["counts_pixels_by_mz"]
        np.testing.assert_allclose(meta["coords"]["mz"]["values"], masses)  # sorted by m/z
        assert meta["pixel_um"] == [None, None]  # the export stores no pixel size: no scale bar

        # no window: the total-ion image, every channel summed, in (y, x) orientation
        total, head = _get_image(c, d["id"])
        assert head["full_shape"] == [NY, NX]
        np.testing.assert_array_equal(total, cube.sum(axis=2, dtype=np.int64).astype(np.float32))
        # a window around one channel's m/z: that channel's image only
        img, head = _get_image(c, d["id"], f"lo={masses[12] - 0.3}&hi={masses[12] + 0.3}")
        np.testing.assert_array_equal(img, cube[:, :, 12].astype(np.float32))
        assert head["selection"] == {"lo": pytest.approx(masses[12] - 0.3), "hi": pytest.approx(masses[12] + 0.3)}

        status, spec = c.json(f"/api/datasets/{d['id']}/spectrum")
        assert status == 200 and spec["mode"] == "line"
        np.testing.assert_allclose(spec["mz"], masses)
        np.testing.assert_array_equal(spec["counts"], cube.sum(axis=(0, 1), dtype=np.int64))

        roi = {"type": "rect", "x0": 1, "y0": 2, "x1": 4, "y1": 4}  # pixels x 1…3, y 2…3
        status, r = c.json(f"/api/datasets/{d['id']}/roi", method="POST",
                           body=json.dumps({"roi": roi, "what": "spectrum"}).encode(),
                           headers={"Content-Type": "application/json"})
        assert status == 200 and r["pixels"] == 6
        np.testing.assert_allclose(r["counts"], cube[2:4, 1:4].reshape(6, -1).mean(axis=0))
    finally:
        _close(srv)


def test_the_viewer_and_the_analyses_read_the_same_image(tmp_path):
    """One reader: the viewer's cube holds exactly the (y, x, peak) images `image extract` and `mva` get."""
    from ionscope.io.variables import select_array
    from ionscope.viewer.catalogue import Catalogue

    path, cube, _ = _flat_npz(tmp_path / "flat.npz")
    (entry,) = Catalogue().add(path)
    assert entry.ok, entry.error
    analysed = select_array(ionscope.read(path), path, need="peak")
    np.testing.assert_array_equal(entry.data.values, analysed.values)
    np.testing.assert_array_equal(entry.data.values, cube)


@pytest.mark.parametrize(("fault", "words"), [
    ({"xy": (NX, NY + 1)}, ["'xy' = (7, 6)", f"{NX * NY} pixel rows"]),
    ({"xy": (0, NY)}, ["'xy' = (0, 5)", "positive"]),
    ({"n_masses": 29}, ["'mz' holds 29 channel masses", f"{NX * NY} × 30"]),
])
def test_a_flat_npz_whose_sizes_do_not_fit_is_a_named_error_not_a_500(tmp_path, cli, monkeypatch, fault, words):
    from ionscope.viewer.server import ViewerServer

    path, _, _ = _flat_npz(tmp_path / "bad.npz", **fault)
    srv = _serve(path)
    try:
        c = Client(srv)
        (d,) = c.json("/api/datasets")[1]["datasets"]
        assert d["status"] == "error" and d["error"].startswith("bad.npz: ")
        assert "flat pixels × channels image" in d["error"] and all(w in d["error"] for w in words), d["error"]
        for route in ("image", "spectrum"):
            status, body = c.json(f"/api/datasets/{d['id']}/{route}")
            assert status == 409 and body["error"]["message"] == d["error"], body
    finally:
        _close(srv)
    served: list[object] = []
    monkeypatch.setattr(ViewerServer, "serve_forever", lambda self, poll_interval=0.5: served.append(self))
    code, out, err = cli("view", "--no-browser", path)
    assert code == 2 and served == [] and "token=" not in out
    assert err.startswith("error: ") and str(path) in err and len(err.strip().splitlines()) == 1, err
    assert all(w in err for w in words), err


def test_image_extract_names_the_misfit_of_a_flat_npz(tmp_path, cli):
    """The analyses (which can fall back on --dims) say the same thing beside the --dims advice."""
    path, _, _ = _flat_npz(tmp_path / "bad.npz", xy=(NX, NY + 1))
    code, text, _ = cli("image", "extract", path, "--peaks", "7", "--tolerance", "0.3", "--json")
    err = json.loads(text)["error"]
    assert code == 2 and err["path"] == str(path)
    assert "--dims" in err["message"] and "'xy' = (7, 6)" in err["message"], err


def test_npz_files_of_other_layouts_are_left_alone(tmp_path):
    """Masses without an image size (a spectrum, or an image the reader cannot shape) is not this layout."""
    from ionscope.viewer.catalogue import Catalogue

    np.savez(tmp_path / "spectrum.npz", counts=np.arange(5.0), mz=np.arange(1.0, 6.0))
    np.savez(tmp_path / "bare.npz", counts_pixels_by_mz=np.ones((6, 3), np.uint16), mz=np.arange(1.0, 4.0))
    for name in ("spectrum.npz", "bare.npz"):
        (entry,) = Catalogue().add(tmp_path / name)
        assert not entry.ok and "match no ionscope data kind" in entry.error and "flat" not in entry.error


def _poplar() -> tuple:
    """The shared poplar-wood TRIFT image: its path, pixel × channel counts, channel m/z and (ny, nx)."""
    path = shared_data("phi_trift_image", "poplar_wood_image.npz")
    with np.load(path) as d:
        nx, ny = (int(v) for v in d["xy"])
        return path, d["counts_pixels_by_mz"], d["mz"], (ny, nx)


@pytest.mark.realdata
def test_the_real_trift_image_shows_its_total_ion_image_and_spectrum():
    """The PHI TRIFT-II poplar-wood image (Bioconductor tofsimsData, Lorenz et al.; GPL-3 data): 256 × 256
    pixels × 200 unit-mass channels. The total-ion image is the row sum of the pixel matrix, the spectrum its
    column sums, and the window around m/z 43 (C2H3O+, the acetyl fragment of wood's hemicellulose) the
    column of that channel."""
    path, counts, mz, (ny, nx) = _poplar()
    srv = _serve(path)
    try:
        c = Client(srv)
        (d,) = c.json("/api/datasets")[1]["datasets"]
        assert d["status"] == "ok" and d["kind"] == "hyperspectral" and d["shape"] == [ny, nx, 200], d
        total, head = _get_image(c, d["id"])
        assert head["full_shape"] == [ny, nx] and head["units"] == "counts"
        np.testing.assert_array_equal(total, counts.sum(axis=1, dtype=np.int64).reshape(ny, nx).astype(np.float32))
        k = int(np.argmin(np.abs(mz - 43.0)))
        img, _ = _get_image(c, d["id"], f"lo={mz[k] - 0.3}&hi={mz[k] + 0.3}")
        np.testing.assert_array_equal(img, counts[:, k].reshape(ny, nx).astype(np.float32))
        status, spec = c.json(f"/api/datasets/{d['id']}/spectrum")
        assert status == 200 and spec["mode"] == "line"
        np.testing.assert_allclose(spec["mz"], mz)
        np.testing.assert_array_equal(spec["counts"], counts.sum(axis=0, dtype=np.int64))
        assert any(abs(p["mz"] - 43.0) < 0.5 for p in spec["peaks"])  # found among the peaks
    finally:
        _close(srv)


@pytest.mark.realdata
def test_the_real_trift_image_peaks_sit_on_channels_and_claim_only_nominal_masses():
    """The poplar-wood TRIFT image (Lorenz et al., Bioconductor tofsimsData; GPL-3 data) has 200 unit-mass
    channels and no recorded polarity: every detected peak is one channel (the CH3+ peak stays on channel 15,
    not at 14.59 between the CH2+ and CH3+ channels), its label is that nominal mass (no ion name, so no
    mixture of positive and negative battery markers), the answer says the polarity is unknown, and the
    viewer's ±0.3 m/z window around each peak holds exactly that channel's image."""
    path, counts, mz, (ny, nx) = _poplar()
    srv = _serve(path)
    try:
        c = Client(srv)
        (d,) = c.json("/api/datasets")[1]["datasets"]
        status, spec = c.json(f"/api/datasets/{d['id']}/spectrum")
        assert status == 200 and len(spec["peaks"]) >= 10
        labelling = spec["labelling"]
        assert labelling["polarity"] is None and labelling["channel_binned"]
        assert labelling["channel_spacing"] == pytest.approx(1.0, abs=0.01)
        assert "polarity not recorded" in labelling["note"]
        for p in spec["peaks"]:
            k = int(np.argmin(np.abs(mz - p["mz"])))
            assert p["mz"] == pytest.approx(mz[k], abs=1e-9), p  # on a channel centre
            assert p["label"] == f"m/z {round(mz[k])}" and p["candidates"] == [], p
            assert np.count_nonzero(np.abs(mz - p["mz"]) <= 0.3) == 1  # its window holds its channel
        assert any(p["label"] == "m/z 15" for p in spec["peaks"])
        strongest = max(spec["peaks"], key=lambda p: p["height"])
        k = int(np.argmin(np.abs(mz - strongest["mz"])))
        img, _ = _get_image(c, d["id"], f"lo={strongest['mz'] - 0.3}&hi={strongest['mz'] + 0.3}")
        np.testing.assert_array_equal(img, counts[:, k].reshape(ny, nx).astype(np.float32))
    finally:
        _close(srv)
