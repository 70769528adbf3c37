"""Scribble labels: rasterising strokes, validating the POST, the label file, and `tomo train` reading it."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ionscope.model.errors import OutputExistsError, ValidationError
from ionscope.viewer import scribble as sc

CLASSES = [{"name": "pore", "colour": "#1f77b4"}, {"name": "nmc", "colour": "#d62728"},
           {"name": "cbd", "colour": "#2ca02c"}]


def _brute(shape, pts, r):
    """Pixels whose centre is within r of the polyline, by distance to every segment over the whole plane."""
    yy, xx = np.mgrid[: shape[0], : shape[1]] + 0.5
    best = np.full(shape, np.inf)
    pts = np.asarray(pts, float)
    if len(pts) == 1:
        pts = np.vstack([pts, pts])
    for a, b in zip(pts[:-1], pts[1:]):
        d = b - a
        t = np.clip(((xx - a[0]) * d[0] + (yy - a[1]) * d[1]) / max(d @ d, 1e-300), 0, 1) if d @ d > 0 else 0
        best = np.minimum(best, np.hypot(xx - a[0] - t * d[0], yy - a[1] - t * d[1]))
    return best <= r


def _stroke(axis, index, code, radius, pts):
    return sc.Stroke(axis, index, code, radius, np.asarray(pts, float))


# --------------------------------------------------------------------------- rasterising


def test_dot_of_half_a_voxel_labels_exactly_the_voxel_under_it():
    lab = np.zeros((2, 5, 6), np.uint8)
    sc.paint(lab, [_stroke("z", 1, 3, 0.5, [[2.5, 3.5]])])
    assert lab.sum() == 3 and lab[1, 3, 2] == 3


@pytest.mark.parametrize("radius", [0.5, 1.0, 2.6, 7.0])
def test_polyline_equals_the_swept_disc(radius):
    """Long segments are cut into pieces on the server; the union must still be exactly the swept disc."""
    pts = [[3.2, 4.1], [40.7, 9.3], [41.0, 30.5], [5.5, 28.0], [5.6, 28.1]]
    lab = np.zeros((1, 36, 48), np.uint8)
    sc.paint(lab, [_stroke("z", 0, 1, radius, pts)])
    np.testing.assert_array_equal(lab[0] == 1, _brute((36, 48), pts, radius))


def test_orientations_and_erasing_follow_the_stroke_order():
    lab = np.zeros((6, 7, 8), np.uint8)
    sc.paint(lab, [_stroke("y", 2, 1, 0.5, [[0.5, 0.5], [7.5, 0.5]]),   # row z=0 of the y=2 plane, all x
                   _stroke("x", 4, 2, 0.5, [[0.5, 5.5], [6.5, 5.5]]),   # z=5 of the x=4 plane, all y
                   _stroke("x", 4, 0, 0.5, [[2.5, 5.5]])])              # erase y=2 there again
    expect = np.zeros_like(lab)
    expect[0, 2, :] = 1
    expect[5, :, 4] = 2
    expect[5, 2, 4] = 0
    np.testing.assert_array_equal(lab, expect)


def test_label_path_stays_beside_the_stack(tmp_path):
    assert sc.label_path(tmp_path / "fib.tif") == tmp_path / "fib.labels.zarr"
    assert sc.label_path(tmp_path / "run.zarr") == tmp_path / "run.labels.zarr"
    assert sc.label_path(tmp_path / "big.tif.zip") == tmp_path / "big.labels.zarr"


# --------------------------------------------------------------------------- validation


def _body(strokes=None, **kw):
    s = [{"axis": "z", "index": 1, "class": 1, "radius": 2, "points": [3, 4, 5, 6]}] if strokes is None else strokes
    return {"classes": CLASSES, "strokes": s, **kw}


@pytest.mark.parametrize(("change", "message"), [
    ({"class": 4}, "class must be 0 (erase) or a class code 1…3"),
    ({"class": -1}, "class code 1…3"),
    ({"class": True}, "class must be"),
    ({"index": 10}, "index must be an integer slice number 0…9 along z"),
    ({"index": 1.5}, "index must be an integer"),
    ({"axis": "t"}, "axis must be z, y or x"),
    ({"radius": 0.1}, "radius must be 0.5…256"),
    ({"radius": 1e9}, "radius must be"),
    ({"points": [3, 4, 5]}, "flat list"),
    ({"points": []}, "flat list"),
    ({"points": [3, "a"]}, "must be finite numbers"),
    ({"points": [3, 10**400]}, "must be finite numbers"),
    ({"radius": 10**400}, "radius must be"),
    ({"points": [41, 4]}, "x in 0…40 and y in 0…30"),
    ({"points": [-0.5, 4]}, "must lie in the z slice"),
    ({"axis": "x", "points": [31, 4]}, "x in 0…30 and y in 0…10"),
])
def test_bad_strokes_are_named(change, message):
    stroke = {"axis": "z", "index": 1, "class": 1, "radius": 2, "points": [3, 4, 5, 6], **change}
    with pytest.raises(ValidationError, match="stroke 2: .*" + message.replace("(", r"\(").replace(")", r"\)")):
        sc.parse_request(_body([_body()["strokes"][0], stroke]), (10, 30, 40))


@pytest.mark.parametrize(("body", "message"), [
    ([], "must be an object"),
    ({"classes": CLASSES, "strokes": [], "path": "/etc/x"}, "unknown field"),
    ({"classes": [], "strokes": []}, "list of 1…255 classes"),
    ({"classes": [{"name": "a,b"}], "strokes": []}, "without commas"),
    ({"classes": [{"name": "pore"}, {"name": "pore"}], "strokes": []}, "given twice"),
    ({"classes": [{"name": "unlabelled"}], "strokes": []}, "label value 0"),
    ({"classes": [{"name": "pore", "colour": "red"}], "strokes": []}, "#rrggbb"),
    ({"classes": CLASSES, "strokes": []}, "nothing to save"),
    ({"classes": CLASSES, "strokes": {}}, "'strokes' must be a list"),
    ({"classes": CLASSES, "strokes": [], "base": "/tmp"}, "'base' must be"),
    ({"classes": CLASSES, "strokes": [], "overwrite": "yes"}, "'overwrite' must be"),
])
def test_bad_bodies_are_named(body, message):
    with pytest.raises(ValidationError, match=message):
        sc.parse_request(body, (10, 30, 40))


def test_size_limits_come_before_any_allocation(monkeypatch):
    # a stack far larger than memory: refused from its shape alone
    with pytest.raises(ValidationError, match="at most 1073741824 voxels"):
        sc.parse_request(_body(), (100_000, 100_000, 100_000))
    monkeypatch.setattr(sc, "MAX_POINTS", 3)
    with pytest.raises(ValidationError, match="4 points, more than the 3"):
        sc.parse_request(_body([_body()["strokes"][0]] * 2), (10, 30, 40))
    monkeypatch.setattr(sc, "MAX_POINTS", 1000)
    monkeypatch.setattr(sc, "MAX_PAINT_WORK", 1000)
    with pytest.raises(ValidationError, match="voxel evaluations"):
        sc.parse_request(_body([{"axis": "z", "index": 0, "class": 1, "radius": 20, "points": [0, 0, 40, 30]}]),
                         (10, 30, 40))


_json = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8)
                     | st.sampled_from(["z", "y", "x", "none", "file", "#00ff00"]),
                     lambda inner: st.lists(inner, max_size=5) | st.dictionaries(
                         st.sampled_from(["classes", "strokes", "base", "overwrite", "axis", "index", "class",
                                          "radius", "points", "name", "colour"]), inner, max_size=6),
                     max_leaves=30)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=_json, extra=st.lists(st.integers(-(10**30), 10**30) | st.floats(), max_size=6))
def test_any_body_is_accepted_or_refused_with_a_validation_error(body, extra):
    """Arbitrary JSON — and strokes with arbitrary numbers — never raise anything but ValidationError."""
    stroke = {"axis": "z", "index": 1, "class": 1, "radius": 2, "points": extra}
    for b in (body, {"classes": CLASSES, "strokes": [stroke]}, {"classes": CLASSES, "strokes": [body]}):
        try:
            req = sc.parse_request(b, (4, 30, 40))
        except ValidationError:
            continue
        sc.paint(np.zeros((4, 30, 40), np.uint8), req.strokes)


# --------------------------------------------------------------------------- over HTTP


@pytest.fixture(scope="module")
def stack_dir(tmp_path_factory):
    """A small simulated FIB-SEM stack (TIFF with its voxel size) and its truth, in a folder of its own."""
    from ionscope.io.tiff import write_tiff
    from ionscope.synth.fibsem import image_stack, three_phase_electrode

    vol, _ = three_phase_electrode((10, 40, 40), seed=3)
    truth = np.asarray(vol.values)
    img, _ = image_stack(truth, drift_step_px=0.0, seed=4)
    d = tmp_path_factory.mktemp("scribble") / "data"
    d.mkdir()
    write_tiff(img.astype(np.float32), d / "fib.tif")
    write_tiff(img.isel(z=0).astype(np.float32), d / "slice.tif")  # an image, not a volume
    return d, truth


@pytest.fixture(scope="module")
def srv(stack_dir):
    from ionscope.viewer import make_server, serve_in_thread

    server = make_server([stack_dir[0]])
    serve_in_thread(server)
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def http(srv, stack_dir):
    from .conftest import Client

    out = stack_dir[0] / "fib.labels.zarr"
    shutil.rmtree(out, ignore_errors=True)
    c = Client(srv)
    c.fib = c.ids["fib.tif"]
    c.out = out

    def post(body, *, raw=None, headers=None, dataset=None):
        data = raw if raw is not None else json.dumps(body).encode()
        return c.json(f"/api/datasets/{dataset or c.fib}/scribbles", method="POST", body=data,
                      headers=headers or {"Content-Type": "application/json"})
    c.post = post
    return c


def _dots(truth, rng, per_class=40, slices=(2, 6)):
    """One-voxel strokes (radius 0.5) on voxels inside each phase, and the label volume they must give."""
    from scipy import ndimage

    strokes, expect = [], np.zeros(truth.shape, np.uint8)
    for k in slices:
        for code in (1, 2, 3):
            inside = truth[k] == code - 1
            core = ndimage.binary_erosion(inside) if ndimage.binary_erosion(inside).sum() >= per_class else inside
            rows, cols = np.nonzero(core)
            pick = rng.choice(rows.size, min(per_class, rows.size), replace=False)
            for r, c in zip(rows[pick], cols[pick]):
                strokes.append({"axis": "z", "index": int(k), "class": code, "radius": 0.5,
                                "points": [float(c) + 0.5, float(r) + 0.5]})
                expect[k, r, c] = code
    return strokes, expect


def test_info_slice_and_refusals(http, srv):
    status, info = http.json(f"/api/datasets/{http.fib}/scribbles")
    assert status == 200 and info["path"] == "fib.labels.zarr" and info["exists"] is False
    assert info["shape"] == [10, 40, 40] and info["limits"]["max_radius"] == sc.MAX_RADIUS
    assert http.request(f"/api/datasets/{http.fib}/scribbles-slice?axis=z&index=0")[0] == 404
    status, err = http.json(f"/api/datasets/{http.fib}/scribbles-slice?axis=q&index=0")
    assert status == 422 and "axis" in err["error"]["message"]
    # not a volume
    status, err = http.post(_body(), dataset=http.ids["slice.tif"])
    assert status == 422 and "drawn on volumes" in err["error"]["message"]
    # JSON only, same origin only, bounded body, valid JSON
    assert http.post(None, raw=b"{}", headers={"Content-Type": "text/plain"})[0] == 415
    assert http.post(None, raw=b"{}", headers={"Content-Type": "application/json",
                                               "Origin": "http://evil.example"})[0] == 403
    status, err = http.post(None, raw=b"{not json")
    assert status == 422 and err["error"]["type"] == "ValidationError" and "not valid JSON" in err["error"]["message"]
    status, err = http.post(_body([{"axis": "z", "index": 99, "class": 1, "radius": 1, "points": [1, 1]}]))
    assert status == 422 and "stroke 1: index" in err["error"]["message"]
    assert http.request(f"/api/datasets/{http.fib}/scribbles-slice", method="POST", body=b"{}",
                        headers={"Content-Type": "application/json"})[0] == 405
    assert not http.out.exists()


def test_save_is_exact_and_never_overwrites_unasked(http, stack_dir):
    from ionscope.io.zarr_store import load
    from ionscope.model.provenance import sha256_of

    d, truth = stack_dir
    strokes, expect = _dots(truth, np.random.default_rng(0), per_class=5)
    status, res = http.post(_body(strokes))
    assert status == 200, res
    assert res["path"] == "fib.labels.zarr" and res["strokes"] == len(strokes)
    assert res["voxels"] == {"pore": int((expect == 1).sum()), "nmc": int((expect == 2).sum()),
                             "cbd": int((expect == 3).sum())}
    saved = load(http.out)
    np.testing.assert_array_equal(saved.values, expect)
    assert saved.dtype == np.uint8
    assert saved.attrs["classes"] == ["pore", "nmc", "cbd"]
    assert saved.attrs["class_colours"] == ["#1f77b4", "#d62728", "#2ca02c"]
    assert saved.attrs["phases"] == {"unlabelled": 0, "pore": 1, "nmc": 2, "cbd": 3}
    assert saved.attrs["stack"]["sha256"] == sha256_of(d / "fib.tif")
    assert saved.attrs["stack"]["shape"] == [10, 40, 40]
    np.testing.assert_allclose(saved.attrs["spacing_um"], saved.attrs["stack"]["spacing_um"])
    np.testing.assert_allclose(saved.attrs["spacing_um"], [0.1, 0.1, 0.1], rtol=1e-6)
    # a second save without consent: 409, the file untouched
    before = sha256_of(http.out)
    status, err = http.post(_body([{"axis": "z", "index": 0, "class": 1, "radius": 3, "points": [5, 5]}]))
    assert status == 409 and err["error"]["type"] == "OutputExistsError"
    assert "fib.labels.zarr" in err["error"]["message"] and sha256_of(http.out) == before
    # continue from the file: its classes first, a new class appended, an erase stroke
    k, r, c = (int(v[0]) for v in np.nonzero(expect == 2))
    more = [{"axis": "y", "index": 20, "class": 4, "radius": 0.5, "points": [10.5, 9.5]},
            {"axis": "z", "index": k, "class": 0, "radius": 0.5, "points": [c + 0.5, r + 0.5]}]
    status, err = http.post(_body(more, base="file", overwrite=True,
                                  classes=[CLASSES[1], CLASSES[0], CLASSES[2], {"name": "crack", "colour": "#000000"}]))
    assert status == 422 and "must begin with them" in err["error"]["message"]
    status, res = http.post(_body(more, base="file", overwrite=True,
                                  classes=[*CLASSES, {"name": "crack", "colour": "#000000"}]))
    assert status == 200, res
    expect[9, 20, 10] = 4
    expect[k, r, c] = 0
    np.testing.assert_array_equal(load(http.out).values, expect)
    # the saved labels come back slice by slice for the overlay, and with their classes
    from ionscope.viewer import decode_image

    status, _, raw = http.request(f"/api/datasets/{http.fib}/scribbles-slice?axis=z&index=2")
    values, header = decode_image(raw)
    assert status == 200 and header["selection"] == {"axis": "z", "index": 2}
    np.testing.assert_array_equal(values, expect[2])
    status, info = http.json(f"/api/datasets/{http.fib}/scribbles")
    assert info["exists"] and info["classes"] == ["pore", "nmc", "cbd", "crack"] and info["error"] is None


def test_a_label_file_of_another_shape_is_named(http):
    from ionscope.io.zarr_store import save
    from ionscope.model.arrays import make_volume

    save(make_volume(np.zeros((3, 4, 5), np.uint8), 0.1, units="label"), http.out)
    status, info = http.json(f"/api/datasets/{http.fib}/scribbles")
    assert status == 200 and info["exists"] and "shape (3, 4, 5) differs from the stack's (10, 40, 40)" in info["error"]
    status, err = http.post(_body(base="file", overwrite=True))
    assert status == 422 and "differs from the stack's" in err["error"]["message"]
    assert err["error"]["path"] == "fib.labels.zarr"


def test_unwritable_folder_is_a_clear_error(http, stack_dir, monkeypatch):
    import ionscope.io.zarr_store as zs

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(zs, "save", denied)
    status, err = http.post(_body())
    assert status == 422 and "cannot write the label file: Permission denied" in err["error"]["message"]
    assert str(stack_dir[0]) not in json.dumps(err)


def test_save_labels_refuses_overwrite_in_python(tmp_path, stack_dir):
    import ionscope

    shutil.copy(stack_dir[0] / "fib.tif", tmp_path / "fib.tif")
    data = ionscope.read(tmp_path / "fib.tif")
    req = sc.parse_request(_body(), sc.volume_shape(data))
    res = sc.save_labels(data, tmp_path / "fib.tif", req)
    assert res["path"] == tmp_path / "fib.labels.zarr" and "pore" not in res["warnings"][0]
    assert "nmc, cbd has no labelled voxel" in res["warnings"][0]
    with pytest.raises(OutputExistsError):
        sc.save_labels(data, tmp_path / "fib.tif", req)


@pytest.mark.slow
def test_saved_scribbles_train_a_model_end_to_end(http, stack_dir, cli, tmp_path):
    """Strokes POSTed to the viewer → label file → `tomo train` without --classes → a model that segments.

    The stack has 3 phases at grey levels 40, 200, 120 with noise σ = 12 (no pore-back, no charging),
    so a forest trained on 40 interior voxels per class and slice must label pore and NMC far better
    than the 1/3 IoU of guessing: IoU > 0.6 (test_train asks the same of labels on random voxels).
    """
    from ionscope.tomo import train as tr

    d, truth = stack_dir
    strokes, expect = _dots(truth, np.random.default_rng(1))
    status, res = http.post(_body(strokes))
    assert status == 200, res
    model = tmp_path / "m.ionseg"
    code, out, err = cli("tomo", "train", d / "fib.tif", "--labels", http.out, "--out", model, "--trees", "20",
                         "--json")
    assert code == 0, err
    values = json.loads(out)["results"]
    assert values["classes"] == ["pore", "nmc", "cbd"]
    assert values["labelled_voxels"] == {"pore": int((expect == 1).sum()), "nmc": int((expect == 2).sum()),
                                         "cbd": int((expect == 3).sum())}
    m = tr.load_model(model)
    np.testing.assert_allclose(m.pixel_size_um[-1], 0.1, rtol=1e-6)
    from ionscope.cli.tomo import open_stack

    pred = tr.segment_with_model(m, open_stack(d / "fib.tif"), chunk_z=5).compute()["labels"].values
    iou = tr.iou_per_class(pred, truth, 3)
    assert iou[0] > 0.6 and iou[1] > 0.6, iou
    # a label file without class names still needs --classes
    import tifffile

    tifffile.imwrite(tmp_path / "plain.tif", expect)
    code, out, _ = cli("tomo", "train", d / "fib.tif", "--labels", tmp_path / "plain.tif", "--out",
                       tmp_path / "n.ionseg", "--json")  # with --json the error goes to stdout, as JSON
    assert code == 2 and "give them with --classes" in out
