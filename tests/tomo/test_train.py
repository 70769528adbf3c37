"""Trainable segmentation: model files (atomic, safe, versioned), probabilities, CLI and bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tifffile

from ionscope.model.errors import FormatError, ValidationError
from ionscope.synth.fibsem import image_stack, three_phase_electrode
from ionscope.tomo import train as tr

CLASSES = ["pore", "nmc", "cbd"]


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    """A small simulated stack with pore-back and charging, sparse labels on two slices, and truth."""
    vol, _ = three_phase_electrode((12, 40, 40), seed=3)
    truth = vol.values
    img, _ = image_stack(truth, drift_step_px=0.0, pore_back_px=1.5, charging=30.0, seed=4)
    rng = np.random.default_rng(0)
    labels = np.zeros(truth.shape, np.uint8)
    for k in (3, 8):
        pick = rng.random(truth.shape[1:]) < 0.15
        labels[k][pick] = truth[k][pick] + 1
    d = tmp_path_factory.mktemp("train")
    tifffile.imwrite(d / "stack.tif", img.values.astype(np.float32))
    tifffile.imwrite(d / "labels.tif", labels)
    return img, labels, truth, d


def test_forest_beats_chance_and_roundtrips(sample, tmp_path):
    img, labels, truth, _ = sample
    model = tr.train(img, labels, CLASSES, n_estimators=20)
    path = tr.save_model(model, tmp_path / "m.ionseg")
    back = tr.load_model(path)
    assert back.classes == CLASSES and back.learner == "random-forest"
    ds = tr.segment_with_model(back, img, chunk_z=4).compute()
    pred = ds["labels"].values
    # pore and NMC are large phases: a classifier on 3 % labelled voxels must separate them far better
    # than the 1/3 IoU of random guessing
    iou = tr.iou_per_class(pred, truth, 3)
    assert iou[0] > 0.6 and iou[1] > 0.7
    p = np.stack([ds[f"probability_{c}"].values for c in CLASSES], -1)
    np.testing.assert_allclose(p.sum(-1), 1.0, atol=1e-5)
    u = ds["uncertainty"].values
    assert 0 <= u.min() and u.max() <= 1
    # where the forest is sure (max p > 0.9) it is right more often than where it hesitates
    sure = p.max(-1) > 0.9
    assert (pred[sure] == truth[sure]).mean() > (pred[~sure] == truth[~sure]).mean()


def test_forest_prediction_equals_sklearn():
    from sklearn.ensemble import RandomForestClassifier

    rng = np.random.default_rng(1)
    X = rng.normal(size=(400, 5)).astype(np.float32)
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int) + (X[:, 2] > 1)
    rf = RandomForestClassifier(n_estimators=7, max_depth=6, random_state=0).fit(X, y)
    arrays = tr._forest_arrays(rf, 3)
    np.testing.assert_allclose(tr.forest_proba(arrays, X), rf.predict_proba(X), atol=1e-5)


def test_model_file_refusals(sample, tmp_path):
    img, labels, _, _ = sample
    model = tr.train(img, labels, CLASSES, n_estimators=10)
    path = tr.save_model(model, tmp_path / "m.ionseg")
    other = img.copy()
    other.attrs["spacing_um"] = [0.2, 0.2, 0.2]
    with pytest.raises(ValidationError, match="allow-pixel-size-mismatch"):
        tr.check_pixel_size(tr.load_model(path), other, False)
    assert tr.check_pixel_size(tr.load_model(path), other, True)
    model.meta["x"] = 1
    hdr = model.header()
    hdr["format_version"] = tr.MODEL_FORMAT_VERSION + 1
    bad = tmp_path / "v2.ionseg"
    with open(bad, "wb") as fh:
        np.savez(fh, __header__=np.frombuffer(json.dumps(hdr).encode(), np.uint8))
    with pytest.raises(FormatError, match="format version"):
        tr.load_model(bad)
    (tmp_path / "junk.ionseg").write_bytes(b"not a zip")
    with pytest.raises(FormatError, match="not an ionscope segmentation model"):
        tr.load_model(tmp_path / "junk.ionseg")


def test_label_checks(sample):
    img, labels, _, _ = sample
    no_cbd = np.where(labels == 3, 0, labels)
    with pytest.raises(ValidationError, match=r"class cbd \(3\) has no labelled voxel"):
        tr.check_labels(img.shape, no_cbd, CLASSES)
    with pytest.raises(ValidationError, match=r"label values \[3\] have no class"):
        tr.check_labels(img.shape, labels, CLASSES[:2])
    with pytest.raises(ValidationError, match="shape"):
        tr.check_labels((1, 2, 3), labels, CLASSES)


def test_interrupted_training_leaves_no_file(sample, tmp_path, cli, monkeypatch):
    _, _, _, d = sample
    calls = []

    def interrupt(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return orig(self, *args, **kwargs)

    from sklearn.ensemble import RandomForestClassifier

    orig = RandomForestClassifier.fit
    monkeypatch.setattr(RandomForestClassifier, "fit", interrupt)
    with pytest.raises(KeyboardInterrupt):
        tr.save_model(tr.train(tr_open(d / "stack.tif"), tifffile.imread(d / "labels.tif"), CLASSES,
                               n_estimators=30), tmp_path / "m.ionseg")
    assert list(tmp_path.iterdir()) == []


def test_interrupt_during_write_leaves_no_file(sample, tmp_path, monkeypatch):
    img, labels, _, _ = sample
    model = tr.train(img, labels, CLASSES, n_estimators=10)

    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez_compressed", boom)
    with pytest.raises(KeyboardInterrupt):
        tr.save_model(model, tmp_path / "m.ionseg")
    assert list(tmp_path.iterdir()) == []


def tr_open(path):
    from ionscope.cli.tomo import open_stack

    return open_stack(path, "100nm", "100nm")


@pytest.mark.slow
def test_cli_train_and_segment(sample, tmp_path, cli):
    _, _, truth, d = sample
    model = tmp_path / "m.ionseg"
    code, out, err = cli("tomo", "train", d / "stack.tif", "--labels", d / "labels.tif", "--classes",
                         "pore,nmc,cbd", "--out", model, "--trees", "20", "--pixel-size", "100nm",
                         "--slice-thickness", "100nm", "--json")
    assert code == 0, err
    res = json.loads(out)["results"]
    assert res["classes"] == CLASSES and res["labelled_voxels"]["pore"] > 0
    code, out, err = cli("tomo", "segment", d / "stack.tif", "--model", model, "--out", tmp_path / "seg.tif",
                         "--probabilities", tmp_path / "p.zarr", "--chunk", "5", "--pixel-size", "100nm",
                         "--slice-thickness", "100nm", "--json")
    assert code == 0, err
    env = json.loads(out)
    seg = env["results"]
    assert seg["phases"] == {"pore": 0, "nmc": 1, "cbd": 2} and 0 < seg["mean_uncertainty"]["value"] < 1
    assert abs(sum(f["value"] for f in seg["volume_fraction"].values()) - 1) < 1e-9
    from ionscope.io.zarr_store import load

    ds = load(tmp_path / "p.zarr")
    assert set(ds.data_vars) >= {"labels", "uncertainty", "probability_pore"}
    # another pixel size: refused, or applied with a warning when allowed
    code, err, _ = cli("tomo", "segment", d / "stack.tif", "--model", model, "--out", tmp_path / "s2.tif",
                       "--pixel-size", "50nm", "--slice-thickness", "100nm", "--json")
    assert code == 2 and "allow-pixel-size-mismatch" in err
    code, out, _ = cli("tomo", "segment", d / "stack.tif", "--model", model, "--out", tmp_path / "s2.tif",
                       "--pixel-size", "50nm", "--slice-thickness", "100nm", "--allow-pixel-size-mismatch",
                       "--json")
    assert code == 0 and "differs from the training" in json.loads(out)["warnings"][0]
    # classes absent from the labels
    code, err, _ = cli("tomo", "train", d / "stack.tif", "--labels", d / "labels.tif", "--classes",
                       "pore,nmc,cbd,carbon", "--out", tmp_path / "x.ionseg", "--pixel-size", "100nm", "--json")
    assert code == 2 and "carbon (4) has no labelled voxel" in err
    assert not (tmp_path / "x.ionseg").exists()


@pytest.mark.slow
def test_unet_learns_and_roundtrips(sample, tmp_path):
    pytest.importorskip("torch")
    img, labels, truth, _ = sample
    model = tr.train(img, labels, CLASSES, learner="unet", epochs=12, steps_per_epoch=4, batch=4, patch=32)
    hist = model.meta["loss_history"]
    assert hist[-1] < hist[0]
    back = tr.load_model(tr.save_model(model, tmp_path / "u.ionseg"))
    pred = tr.segment_with_model(back, img, chunk_z=6)["labels"].values
    iou = tr.iou_per_class(pred, truth, 3)
    assert iou[1] > 0.5


def test_segment_by_model_writes_labels_and_reports_fractions(sample, tmp_path):
    from ionscope.tomo.segment import segment_by_model

    img, labels, truth, d = sample
    path = tr.save_model(tr.train(img, labels, CLASSES, n_estimators=10), tmp_path / "m.ionseg")
    written = []

    def write(lab):
        written.append(lab)
        return tmp_path / "labels.zarr"

    stages = []

    class Stage:
        def __init__(self, name):
            stages.append(name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    res = segment_by_model(path, img, write, chunk_z=4, probabilities=tmp_path / "p.zarr", path=d / "stack.tif",
                           stage=Stage)
    (lab,) = written
    assert res.kind == "tomo.segment" and res["output"] == str(tmp_path / "labels.zarr") and len(stages) == 1
    assert res["learner"] == "random-forest" and set(res["volume_fraction"]) == set(CLASSES)
    for c in CLASSES:  # the fractions are those of the label volume handed to ``write``
        assert float(res["volume_fraction"][c]) == pytest.approx(float((lab.values == lab.attrs["phases"][c]).mean()))
    assert 0 <= res["mean_uncertainty"].value <= 1 and (tmp_path / "p.zarr").exists()
    assert res["model"]["path"] == str(path) and len(res["model"]["sha256"]) == 64 and "input" in res.values
    with pytest.raises(ValidationError, match="--chunk"):
        segment_by_model(path, img, write, chunk_z=0)
    with pytest.raises(ValidationError, match=".zarr"):
        segment_by_model(path, img, write, probabilities=tmp_path / "p.h5")


def test_misaligned_labels_warn(sample, tmp_path, cli):
    """Labels shifted against the stack (as labels of an aligned stack on a drifted one) give a hold-out
    error above half the majority-guess error, and training warns; aligned labels do not."""
    img, labels, _, d = sample
    model = tr.train(img, labels, CLASSES, n_estimators=20)
    p = model.meta["parameters"]
    assert 0 < p["majority_guess_error"] < 2 / 3 + 1e-9
    assert tr.label_mismatch_warning(p) is None
    assert tr.label_mismatch_warning({"holdout_error": 0.385, "majority_guess_error": 2 / 3}) is not None
    shifted = np.roll(labels, (7, 9), axis=(1, 2))  # further than the particles' size
    tifffile.imwrite(tmp_path / "shifted.tif", shifted)
    code, out, err = cli("tomo", "train", d / "stack.tif", "--labels", tmp_path / "shifted.tif", "--classes",
                         "pore,nmc,cbd", "--out", tmp_path / "m.ionseg", "--trees", "20", "--pixel-size",
                         "100nm", "--slice-thickness", "100nm", "--json")
    assert code == 0, err
    assert any("may not line up" in w for w in json.loads(out)["warnings"])
