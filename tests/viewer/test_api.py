"""The viewer's HTTP API, in-process: security, catalogue, images, spectra, profiles, ROIs, bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest

import ionscope
from ionscope.model.errors import IonscopeError
from ionscope.synth.viewer_samples import cube_sample, depth_profile_sample, operando_sample, spectrum_sample
from ionscope.viewer.server import decode_image

# --------------------------------------------------------------------------- security


@pytest.mark.parametrize("path", ["/", "/static/app.js", "/api/datasets", "/api/datasets/d0",
                                  "/api/datasets/d0/image", "/api/datasets/nope"])
def test_every_route_needs_the_token(client, path):
    for token in (False, "wrong-token"):
        status, _, body = client.request(path, token=token)
        assert status == 401
        err = json.loads(body)["error"]
        assert err["type"] == "Unauthorized" and "token" in err["message"] and err["path"] is None


def test_token_in_query_header_or_cookie(client):
    status, headers, body = client.request(f"/?token={client.token}", token=False)
    assert status == 200 and b"ionscope viewer" in body
    assert client.token in headers["Set-Cookie"] and "HttpOnly" in headers["Set-Cookie"]
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    cookie = {"Cookie": f"ionscope_token={client.token}"}
    assert client.request("/static/plot.js", token=False, headers=cookie)[0] == 200
    assert client.request("/api/datasets")[0] == 200


def test_read_only_and_no_paths_from_the_browser(client):
    assert client.request("/api/datasets", method="PUT", body=b"{}")[0] == 405
    assert client.request("/api/datasets/d0", method="DELETE")[0] == 405
    for path in ("/static/../server.py", "/static/%2e%2e/server.py", "/static/index.html", "/etc/passwd",
                 "/api/datasets/..%2F..%2Fetc%2Fpasswd", "/api/datasets/d0/../../../etc/passwd"):
        assert client.request(path)[0] == 404, path


def test_non_loopback_bind_needs_explicit_flag(cli):
    from ionscope.viewer import make_server

    with pytest.raises(IonscopeError, match="allow-remote"):
        make_server([], host="0.0.0.0")
    code, _, err = cli("view", "--host", "0.0.0.0", "--no-browser", ".")
    assert code == 2 and "allow-remote" in err


# --------------------------------------------------------------------------- catalogue and bad datasets


def test_catalogue_lists_every_kind_and_the_failure(client, samples):
    status, body = client.json("/api/datasets")
    assert status == 200
    kinds = {d["name"]: d.get("kind") for d in body["datasets"]}
    assert kinds["cross_section.zarr"] == "ion_image" and kinds["cube.zarr"] == "cube3d"
    assert kinds["operando.zarr"] == "operando" and kinds["volume.zarr"] == "volume"
    assert kinds["depth_profile.zarr"] == "depth_profile" and kinds["spectrum.zarr"] == "spectrum"
    assert kinds["hyperspectral.zarr"] == "hyperspectral"
    broken = next(d for d in body["datasets"] if d["name"] == "broken.zarr")
    assert broken["status"] == "error"
    assert broken["error"].startswith("broken.zarr") and "Zarr metadata" in broken["error"]
    assert str(samples["broken"].parent) not in json.dumps(body)  # no absolute path leaves the server
    assert broken["path"] == "broken.zarr"


def test_failed_dataset_answers_409_and_unknown_dataset_404(client):
    bid = client.ids["broken"]
    status, body = client.json(f"/api/datasets/{bid}")
    assert status == 200 and body["status"] == "error"
    status, body = client.json(f"/api/datasets/{bid}/image")
    assert status == 409 and "broken.zarr" in body["error"]["message"] and body["error"]["path"] == "broken.zarr"
    status, body = client.json("/api/datasets/d999/image")
    assert status == 404 and "d999" in body["error"]["message"] and body["error"]["type"] == "NotFound"
    assert client.request(f"/api/datasets/{client.ids['cube']}/nothing")[0] == 404


def test_small_stores_are_read_once_and_a_corrupt_one_is_an_error_entry(tmp_path, samples):
    import shutil

    from ionscope.viewer.catalogue import Catalogue

    cat = Catalogue()
    (ok,) = cat.add(samples["cross_section"])
    assert ok.data.chunks is None and cat.resident_bytes == ok.data.nbytes  # in memory, counted
    store = shutil.copytree(samples["cross_section"], tmp_path / "damaged.zarr")
    for chunk in (store / "counts" / "c").rglob("*"):
        if chunk.is_file():
            chunk.write_bytes(b"garbage")
    (bad,) = cat.add(store)
    assert not bad.ok and bad.error.startswith("damaged.zarr") and str(tmp_path) not in bad.error


def test_missing_file_becomes_an_error_entry(tmp_path):
    from ionscope.viewer import make_server

    srv = make_server([tmp_path / "absent.zarr"])
    try:
        (entry,) = srv.catalogue.entries()
        assert not entry.ok and "absent.zarr" in entry.error and "no such file" in entry.error
    finally:
        srv.server_close()


def test_describe_has_units_peaks_and_phases(client):
    _, m = client.json(f"/api/datasets/{client.ids['cross_section']}")
    assert m["peaks"][1] == "^58Ni+" and m["pixel_um"] == [pytest.approx(0.2), pytest.approx(0.2)]
    assert m["coords"]["x"]["unit"] == "µm" and m["coords"]["mz"]["unit"] == "m/z"
    _, v = client.json(f"/api/datasets/{client.ids['volume']}")
    assert v["phases"] == {"pore": 0, "NMC": 1, "carbon-binder": 2} and v["has_labels"]
    assert v["spacing_um"] == [pytest.approx(0.5), pytest.approx(0.39), pytest.approx(0.39)]


# --------------------------------------------------------------------------- images


def _image(client, name, **params):
    q = "&".join(f"{k}={v}" for k, v in params.items())
    status, headers, body = client.request(f"/api/datasets/{client.ids[name]}/image?{q}")
    assert status == 200, body
    assert headers["Content-Type"] == "application/octet-stream"
    return decode_image(body)


def test_ion_image_slice_is_exactly_the_stored_plane(client, samples):
    data = ionscope.read(samples["cross_section"])
    img, head = _image(client, "cross_section", peak=1)
    np.testing.assert_array_equal(img, data.isel(peak=1).values.astype(np.float32))
    assert head["max"] == float(data.isel(peak=1).max()) and head["pixel_um"] == pytest.approx([0.2, 0.2])


def test_cube_operando_volume_and_hyperspectral_slices(client, samples):
    cube = ionscope.read(samples["cube"])
    img, _ = _image(client, "cube", peak=2, scan=17)
    np.testing.assert_array_equal(img, cube.isel(scan=17, peak=2).values)
    img, head = _image(client, "cube", peak=0, scan="sum")
    np.testing.assert_array_equal(img, cube.isel(peak=0).sum("scan").values.astype(np.float32))
    assert head["selection"]["scan"] == "sum"
    op = ionscope.read(samples["operando"])
    img, _ = _image(client, "operando", peak=0, state=5)
    np.testing.assert_array_equal(img, op.isel(state=5, peak=0).values)
    vol = ionscope.read(samples["volume"])
    img, head = _image(client, "volume", axis="y", index=10)
    assert head["dims"] == ["z", "x"]
    np.testing.assert_array_equal(img, vol["grey"].isel(y=10).values)
    status, _, body = client.request(f"/api/datasets/{client.ids['volume']}/labels?axis=x&index=3")
    labels, lhead = decode_image(body)
    np.testing.assert_array_equal(labels, vol["labels"].isel(x=3).values)
    assert lhead["labels"] is True
    # hyperspectral: an m/z window around channel 50 (m/z ≈ 25.6) sums that channel only
    mz = ionscope.read(samples["hyperspectral"]).coords["mz"].values
    img, _ = _image(client, "hyperspectral", lo=mz[50] - 0.1, hi=mz[50] + 0.1)
    np.testing.assert_array_equal(img, np.arange(20)[:, None] * 100 + np.arange(30)[None, :])


def test_large_slices_are_block_averaged():
    from ionscope.viewer.slicing import downsample2d

    a = np.arange(1100 * 600, dtype=float).reshape(1100, 600)
    small, f = downsample2d(a, 512)
    assert f == 3 and small.shape == (366, 200)
    assert small[1, 2] == pytest.approx(a[3:6, 6:9].mean())


@pytest.mark.parametrize("params", ["peak=99", "peak=x", "peak=-1", "scan=1000&peak=0", "max=0"])
def test_bad_slice_parameters_are_422(client, params):
    status, body = client.json(f"/api/datasets/{client.ids['cube']}/image?{params}")
    assert status == 422 and body["error"]["type"] == "ValidationError" and body["error"]["path"] == "cube.zarr"


def test_corrupt_chunk_gives_422_and_the_server_keeps_serving(tmp_path, samples, monkeypatch):
    """A chunk damaged after start-up: that request fails with a message, every other one still works.

    (Stores are read lazily here, as large ones are; small ones are read into memory at start-up.)
    """
    import shutil

    monkeypatch.setattr("ionscope.viewer.catalogue.RESIDENT_BYTES", 0)

    from ionscope.viewer import make_server, serve_in_thread
    from tests.viewer.conftest import Client

    store = shutil.copytree(samples["cross_section"], tmp_path / "damaged.zarr")
    srv = make_server([store])
    serve_in_thread(srv)
    try:
        c = Client(srv)
        for chunk in (store / "counts" / "c").rglob("*"):
            if chunk.is_file():
                chunk.write_bytes(b"garbage")
        status, body = c.json(f"/api/datasets/{c.ids['damaged']}/image?peak=0")
        assert status == 422 and body["error"]["type"] == "FormatError" and "damaged" in body["error"]["message"]
        assert str(tmp_path) not in body["error"]["message"]
        assert c.json("/api/datasets")[0] == 200
    finally:
        srv.shutdown()
        srv.server_close()


# --------------------------------------------------------------------------- spectra, profiles, operando


def test_spectrum_peaks_are_found_and_labelled(client):
    _, truth = spectrum_sample(seed=1)
    _, sp = client.json(f"/api/datasets/{client.ids['spectrum']}/spectrum")
    found = sp["peaks"]
    assert len(found) == 5  # no noise peak: the threshold allows < 1 % false alarms per spectrum
    # bins are 0.005 m/z wide; the apex of a Poisson-noisy Gaussian (FWHM ≈ m/4000) lies within 2 bins
    for mz in truth.truth["peaks"].values():
        nearest = min(found, key=lambda p: abs(p["mz"] - mz))
        assert nearest["mz"] == pytest.approx(mz, abs=0.011)
        assert not nearest["label"].startswith("m/z")  # named from the marker library
    assert len(sp["mz"]) <= 4000
    _, zoom = client.json(f"/api/datasets/{client.ids['spectrum']}/spectrum?lo=57&hi=60")
    assert min(zoom["mz"]) >= 57 and max(zoom["mz"]) <= 60 and len(zoom["mz"]) == 600


def test_stick_spectrum_of_ion_images(client, samples):
    data = ionscope.read(samples["cross_section"])
    _, sp = client.json(f"/api/datasets/{client.ids['cross_section']}/spectrum")
    assert sp["mode"] == "sticks"
    assert sp["counts"] == pytest.approx(data.sum(("y", "x")).values.tolist())
    assert [p["label"] for p in sp["peaks"]] == list(data.coords["peak"].values)


def test_depth_profile_interfaces_against_truth(client):
    _, truth = depth_profile_sample(seed=1)
    _, prof = client.json(f"/api/datasets/{client.ids['depth_profile']}/profile")
    assert set(prof["axes"]) == {"sputter_time", "dose", "fluence", "depth"}
    found = [i["position"] for i in prof["annotations"]["sputter_time"]["interfaces"]]
    # interfaces are erf steps of σ = 16 s; the step midpoint between plateau medians (≥ 25 scans of
    # ≥ 500 counts, ≈ 1 % noise) moves by < 0.03·σ·√(2π) ≈ 1.2 s; 4 s leaves room for the 2 s scan grid.
    assert found == pytest.approx(truth.truth["interfaces_s"], abs=4.0)
    depth = [i["position"] for i in prof["annotations"]["depth"]["interfaces"]]
    assert depth == pytest.approx([120.0, 320.0], abs=2.5)
    layers = [lay["name"] for lay in prof["annotations"]["sputter_time"]["layers"]]
    # electrolyte layer marked by Ti or La (1 → 0.01), cathode by Ni or Co (0.01 → 1)
    assert layers[0] in ("^48Ti+", "La+") and layers[1] in ("^58Ni+", "^59Co+") and len(layers) == 3


def test_operando_curve_and_whole_field(client, samples):
    series = ionscope.read(samples["operando"])
    _, op = client.json(f"/api/datasets/{client.ids['operando']}/operando")
    assert op["voltage"] == pytest.approx(series.coords["voltage"].values.tolist())
    assert op["units"] == {"time": "s", "voltage": "V", "charge": "µAh"} and op["n_states"] == 24
    whole = np.asarray(op["whole_field"]["values"])
    assert whole == pytest.approx(series.mean(("y", "x")).transpose("peak", "state").values)


# --------------------------------------------------------------------------- ROIs


def _largest_disc(truth):
    labels = truth.truth["labels"]
    ids, counts = np.unique(labels[labels > 0], return_counts=True)
    ys, xs = np.nonzero(labels == ids[np.argmax(counts)])
    cy, cx = ys.mean(), xs.mean()
    return cy, cx


def test_roi_spectrum_recovers_phase_yields(client, samples):
    from ionscope.synth.images import DEFAULT_YIELDS, composite_cross_section

    _, truth = composite_cross_section(seed=1)
    cy, cx = _largest_disc(truth)
    rect = {"type": "rect", "x0": cx - 3, "y0": cy - 3, "x1": cx + 3, "y1": cy + 3}
    status, r = client.roi("cross_section", {"roi": rect, "what": "spectrum"})
    assert status == 200 and r["pixels"] == 36
    # 36 Poisson pixels: the mean is within 5 standard errors sqrt(λ/36) of the cathode yield
    for name, mean in zip(r["species"], r["counts"]):
        lam = DEFAULT_YIELDS["cathode"][name]
        assert abs(mean - lam) < 5 * np.sqrt(lam / 36) + 1e-9
    poly = {"type": "polygon", "points": [[cx - 3, cy - 3], [cx + 3, cy - 3], [cx + 3, cy + 3], [cx - 3, cy + 3]]}
    status, p = client.roi("cross_section", {"roi": poly, "what": "spectrum"})
    assert status == 200 and p["counts"] == pytest.approx(r["counts"]) and p["pixels"] == 36


def test_roi_depth_profile_and_trajectory(client):
    _, ctruth = cube_sample(seed=1)
    cy, cx = _largest_disc(ctruth)
    rect = {"type": "rect", "x0": cx - 2, "y0": cy - 2, "x1": cx + 2, "y1": cy + 2}
    status, prof = client.roi("cube", {"roi": rect, "what": "profile"})
    assert status == 200 and prof["pixels"] == 16
    depth = [i["position"] for i in prof["annotations"]["depth"]["interfaces"]]
    # particles span 100–400 nm (erf σ = 10 nm, 8 nm per scan): crossings within one scan of the truth
    assert depth == pytest.approx(ctruth.truth["interfaces_nm"], abs=8.0)
    _, otruth = operando_sample(seed=1)
    cy, cx = _largest_disc(otruth)
    rect = {"type": "rect", "x0": cx - 2, "y0": cy - 2, "x1": cx + 2, "y1": cy + 2}
    status, tr = client.roi("operando", {"roi": rect, "what": "trajectory"})
    assert status == 200 and tr["pixels"] == 16
    li = np.asarray(tr["values"][tr["species"].index("^7Li+")])
    expected = np.asarray(otruth.truth["li_particle_rate"])
    assert np.all(np.abs(li - expected) < 5 * np.sqrt(expected / 16))  # 5 standard errors of a 16-pixel mean


@pytest.mark.parametrize("payload,raw", [
    (None, b"not json"),
    (None, b"[1, 2]"),
    ({"roi": {"type": "rect", "x0": "a", "y0": 0, "x1": 3, "y1": 3}}, None),
    ({"roi": {"type": "rect", "x0": 0, "y0": 0}}, None),
    ({"roi": {"type": "rect", "x0": 500, "y0": 500, "x1": 600, "y1": 600}}, None),
    ({"roi": {"type": "polygon", "points": [[0, 0], [5, 5]]}}, None),
    ({"roi": {"type": "polygon", "points": "abc"}}, None),
    ({"roi": {"type": "circle"}}, None),
    ({"roi": {"type": "rect", "x0": 0, "y0": 0, "x1": 5, "y1": 5}, "what": "everything"}, None),
    ({"roi": {"type": "rect", "x0": 0, "y0": 0, "x1": 5, "y1": 5}, "what": "profile"}, None),
])
def test_malformed_roi_is_422_and_server_survives(client, payload, raw):
    status, body = client.roi("cross_section", payload, raw)
    assert status == 422 and body["error"]["message"]
    assert client.request("/api/datasets")[0] == 200


def test_roi_on_a_profile_is_422(client):
    status, body = client.roi("depth_profile", {"roi": {"type": "rect", "x0": 0, "y0": 0, "x1": 2, "y1": 2}})
    assert status == 422 and "depth_profile" in body["error"]["message"]


def test_roi_mask_geometry():
    from ionscope.viewer.slicing import roi_mask

    m = roi_mask((10, 10), {"type": "rect", "x0": 2, "y0": 3, "x1": 6, "y1": 5})
    assert m.sum() == 8 and m[3:5, 2:6].all()
    tri = roi_mask((100, 100), {"type": "polygon", "points": [[0, 0], [100, 0], [0, 100]]})
    assert tri.sum() == pytest.approx(5000, rel=0.02)


def test_folders_are_listed_recursively_and_hidden_entries_skipped(samples, tmp_path):
    import shutil

    from ionscope.viewer.catalogue import Catalogue

    root = tmp_path / "demo-output"
    shutil.copytree(samples["spectrum"], root / "data" / "spectrum.zarr")
    shutil.copytree(samples["volume"], root / "data" / ".hidden.zarr")
    (root / "report.html").write_text("<html></html>")
    cat = Catalogue()
    added = cat.add(root)
    assert [e.path.name for e in added] == ["spectrum.zarr"] and added[0].kind == "spectrum"


def test_hyperspectral_roi_spectrum_and_summed_spectrum(client):
    rect = {"type": "rect", "x0": 2, "y0": 4, "x1": 6, "y1": 6}  # pixels x 2…5, y 4…5
    status, r = client.roi("hyperspectral", {"roi": rect, "what": "spectrum"})
    assert status == 200 and r["mode"] == "line" and r["pixels"] == 8
    expected = np.mean([y * 100 + x for y in (4, 5) for x in range(2, 6)])
    assert r["counts"][50] == pytest.approx(expected) and r["counts"][0] == pytest.approx(1.0)
    _, sp = client.json(f"/api/datasets/{client.ids['hyperspectral']}/spectrum")
    assert sp["mode"] == "line" and sp["counts"][0] == pytest.approx(600.0)  # 20 × 30 pixels of 1 count


def test_sparse_readers_are_densified_within_bounds(tmp_path, monkeypatch):
    """A processed imzML becomes a nominal-mass cube (1 u bins centred on integers) unless that is too
    large, which is an error entry naming the file; a GRD event file becomes its total-ion image."""
    from ionscope.io.imzml_write import write_imzml
    from ionscope.synth.events import raw_events
    from ionscope.viewer.catalogue import Catalogue

    rng = np.random.default_rng(0)
    spectra = [(k % 3, k // 3, np.sort(rng.uniform(10.0, 30.0, 5)), rng.integers(1, 9, 5).astype(np.float32))
               for k in range(6)]
    path = write_imzml(spectra, tmp_path / "sparse.imzML", shape=(2, 3), mode="processed")
    cat = Catalogue()
    (entry,) = cat.add(path)
    assert entry.ok and entry.kind == "hyperspectral", entry.error
    mz = entry.data.coords["mz"].values
    assert np.all(np.diff(mz) == 1.0) and mz[0] <= 10.5 and mz[-1] >= 29.5
    assert float(entry.data.sum()) == pytest.approx(sum(float(i.sum()) for *_, i in spectra))
    monkeypatch.setattr("ionscope.viewer.catalogue.MAX_DENSE_BYTES", 100)
    (big,) = cat.add(path)
    assert not big.ok and big.error.startswith("sparse.imzML") and "ionscope image extract" in big.error

    table, _ = raw_events(tmp_path / "run.grd", nx=8, ny=5, n_scans=2, seed=0)
    (grd,) = cat.add(tmp_path / "run.grd")
    assert grd.ok and grd.kind == "image", grd.error
    assert int(grd.data.sum()) == len(table) and grd.data.shape[0] <= 5 and grd.data.shape[1] <= 8
