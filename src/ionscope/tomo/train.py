"""Trainable segmentation of FIB-SEM stacks from sparse labels, and its model files.

Two learners share one file format and one inference path:

* ``random-forest`` — a random forest (Breiman 2001, doi:10.1023/A:1010933404324) on the multiscale
  filter features of :func:`ionscope.tomo.segment.pixel_features` (Gaussian, gradient magnitude and
  Laplacian of Gaussian at σ = 1, 2, 4 px), the approach of ilastik (Berg et al. 2019,
  doi:10.1038/s41592-019-0582-9) and Trainable Weka Segmentation (Arganda-Carreras et al. 2017,
  doi:10.1093/bioinformatics/btx180). Always available (scikit-learn).
* ``unet`` — a small 2-D U-Net (Ronneberger et al. 2015, doi:10.1007/978-3-319-24574-4_28) trained
  slice by slice with flips, 90° rotations and grey-level jitter as augmentation (PyTorch, ``ml``
  extra; see :mod:`ionscope.tomo.train_unet`).

Labels are sparse: a label volume of the stack's shape with 0 for "not labelled" and 1…n for the
n classes (scribbles or a few fully labelled slices). Grey levels are standardised by the median
and inter-quartile range of the training stack, recorded in the model, so that a model applies to
stacks of another brightness and contrast.

Model file (``.ionseg``): a NumPy ``.npz`` archive read with ``allow_pickle=False`` — a JSON header
(format name and version, learner, classes, pixel size, grey normalisation, provenance with the
SHA-256 of every training file) stored as UTF-8 bytes, plus plain numeric arrays (the trees' node
tables, or the U-Net's weights). Nothing in it is executed on load, unlike a pickle (scikit-learn's
own persistence warns that unpickling runs arbitrary code), and it does not depend on the
scikit-learn version that trained it: prediction walks the node tables here. It is written through
:func:`ionscope.io.atomic.atomic_path`, so an interrupted training leaves no file behind.

Probabilities: the forest's mean leaf class frequencies, or the U-Net's softmax. The uncertainty map
is the normalised Shannon entropy ``H = −Σ p_k ln p_k / ln n`` (0: one class certain, 1: all
classes equally likely; Shannon 1948, doi:10.1002/j.1538-7305.1948.tb01338.x).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any

import dask.array as dsa
import numpy as np
import xarray as xr

from ionscope.model.errors import FormatError, ValidationError
from ionscope.model.result import Result

MODEL_FORMAT = "ionscope-segmentation-model"
MODEL_FORMAT_VERSION = 1
LEARNERS = ("random-forest", "unet")
#: Relative difference of pixel sizes accepted as "the same" (rounding of the values stored in TIFF tags).
PIXEL_SIZE_RTOL = 0.01

Progress = Callable[[int, int, float], None]
"""Called after every epoch (or batch of trees) as ``progress(done, total, loss)``."""


@dataclass
class SegmentationModel:
    """A trained pixel classifier: header (classes, pixel size, provenance) and numeric arrays."""

    learner: str
    classes: list[str]
    pixel_size_um: list[float] | None
    normalisation: tuple[float, float]
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def phases(self) -> dict[str, int]:
        """Class name → label value in the segmented volume (0…n−1, in the order of the label file)."""
        return {c: i for i, c in enumerate(self.classes)}

    def header(self) -> dict[str, Any]:
        """The JSON header written at the front of the model file."""
        return {"format": MODEL_FORMAT, "format_version": MODEL_FORMAT_VERSION, "learner": self.learner,
                "classes": self.classes, "pixel_size_um": self.pixel_size_um,
                "normalisation": list(self.normalisation), **self.meta}


# --------------------------------------------------------------------------- labels and checks


def parse_classes(text: str) -> list[str]:
    """``"pore,nmc,cbd"`` → class names for label values 1, 2, 3 (0 = not labelled)."""
    names = [t.strip() for t in text.split(",") if t.strip()]
    if len(names) < 2:
        raise ValidationError(f"--classes needs at least two names (label values 1, 2, …), got {text!r}")
    if len(set(names)) != len(names):
        raise ValidationError(f"a class name is given twice in {text!r}")
    return names


def check_labels(stack_shape: Sequence[int], labels: np.ndarray, classes: Sequence[str],
                 path: str | PathLike[str] | None = None) -> np.ndarray:
    """Validate a sparse label volume (0 unlabelled, 1…n classes) against the stack; return it as int16.

    Every class must have labelled voxels (a class without examples cannot be learnt) and no label
    value may lie outside 0…n.
    """
    lab = np.asarray(labels)
    if lab.ndim == 2:
        lab = lab[None]
    if tuple(lab.shape) != tuple(stack_shape):
        raise ValidationError(f"label volume shape {tuple(lab.shape)} differs from the stack {tuple(stack_shape)}",
                              path=path)
    if not np.issubdtype(lab.dtype, np.integer):
        if not np.all(np.mod(lab, 1) == 0):
            raise ValidationError("labels must be whole numbers (0 = not labelled, 1…n = classes)", path=path)
    lab = lab.astype(np.int16)
    counts = np.bincount(lab.ravel().clip(0), minlength=len(classes) + 1)
    extra = sorted(int(v) for v in np.unique(lab) if v < 0 or v > len(classes))
    if extra:
        raise ValidationError(f"label values {extra} have no class: --classes names {len(classes)} classes "
                              f"for values 1…{len(classes)} (0 = not labelled)", path=path)
    absent = [f"{c} ({i + 1})" for i, c in enumerate(classes) if counts[i + 1] == 0]
    if absent:
        raise ValidationError(f"class {', '.join(absent)} has no labelled voxel: label some or drop it from "
                              f"--classes", path=path)
    return lab


def grey_normalisation(vol: xr.DataArray, n: int = 500_000, seed: int = 0) -> Result:
    """Median and inter-quartile range of a bounded random sample of the stack's grey levels.

    Returns
    -------
    Result
        ``kind="tomo.grey_normalisation"``: ``median`` and ``iqr`` (grey levels; the standard deviation,
        else 1, where the inter-quartile range is zero). A model stores them as its ``(median, iqr)``.
    """
    from ionscope.tomo.segment import _dask, _sample

    vals = _sample(_dask(vol), n, seed)
    q1, med, q3 = np.percentile(vals, [25, 50, 75])
    iqr = float(q3 - q1)
    if not np.isfinite(iqr) or iqr <= 0:
        iqr = float(np.std(vals)) or 1.0
    return Result("tomo.grey_normalisation", {"median": float(med), "iqr": iqr})


def check_pixel_size(model: SegmentationModel, vol: xr.DataArray, allow_mismatch: bool,
                     path: str | PathLike[str] | None = None) -> list[str]:
    """Refuse a stack whose voxel size differs from the training stack's (unless allowed); return warnings.

    Filter scales are in pixels, so features of another pixel size describe other physical
    structures and the model's decisions no longer apply.
    """
    sp = vol.attrs.get("spacing_um")
    trained = model.pixel_size_um
    if trained is None or sp is None:
        return ["the model or the stack records no voxel size; it could not be checked"]
    diff = [abs(a - b) / max(abs(b), 1e-12) for a, b in zip(sp, trained, strict=True)]
    if max(diff) <= PIXEL_SIZE_RTOL:
        return []
    text = (f"voxel size {', '.join(f'{s:.4g}' for s in sp)} µm differs from the training stack's "
            f"{', '.join(f'{s:.4g}' for s in trained)} µm")
    if not allow_mismatch:
        raise ValidationError(text + ": resample the stack, retrain, or add --allow-pixel-size-mismatch", path=path)
    return [text + "; applied anyway (--allow-pixel-size-mismatch)"]


# --------------------------------------------------------------------------- random forest


def _forest_arrays(forest: Any, n_classes: int) -> dict[str, np.ndarray]:
    """The trees of a fitted scikit-learn forest as padded node tables (tree, node)."""
    trees = [est.tree_ for est in forest.estimators_]
    n = max(t.node_count for t in trees)
    t_count = len(trees)
    left = np.full((t_count, n), -1, np.int32)
    right = np.full((t_count, n), -1, np.int32)
    feat = np.full((t_count, n), -1, np.int32)
    thr = np.zeros((t_count, n), np.float32)
    value = np.zeros((t_count, n, n_classes), np.float32)
    cls = np.asarray(forest.classes_, int)
    for i, t in enumerate(trees):
        m = t.node_count
        left[i, :m], right[i, :m] = t.children_left, t.children_right
        feat[i, :m], thr[i, :m] = t.feature, t.threshold
        v = t.value[:, 0, :]
        v = v / np.maximum(v.sum(axis=1, keepdims=True), 1e-12)
        value[i, :m][:, cls] = v
    return {"rf_left": left, "rf_right": right, "rf_feature": feat, "rf_threshold": thr, "rf_value": value}


def forest_proba(arrays: Mapping[str, np.ndarray], X: np.ndarray) -> np.ndarray:
    """Class probabilities (n, classes) of feature rows ``X`` (n, f): mean leaf frequency over trees."""
    from ionscope.tomo._forest_kernel import forest_proba_kernel

    out = np.zeros((X.shape[0], arrays["rf_value"].shape[2]), np.float32)
    forest_proba_kernel(np.ascontiguousarray(X, np.float32), arrays["rf_left"], arrays["rf_right"],
                        arrays["rf_feature"], arrays["rf_threshold"].astype(np.float32),
                        arrays["rf_value"].astype(np.float32), out)
    return out


def _feature_rows(vol: xr.DataArray, norm: tuple[float, float], lab: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from ionscope.tomo.segment import _dask, pixel_features

    arr = (_dask(vol) - norm[0]) / norm[1]
    feats = pixel_features(arr)
    zs = np.unique(np.nonzero(lab > 0)[0])
    f = np.asarray(feats[zs].compute())
    X = np.concatenate([f[i][lab[k] > 0] for i, k in enumerate(zs)])
    y = np.concatenate([lab[k][lab[k] > 0] for k in zs]) - 1
    return X.astype(np.float32), y.astype(np.int64)


def train_random_forest(vol: xr.DataArray, labels: np.ndarray, classes: Sequence[str], *,
                        n_estimators: int = 60, max_depth: int = 14, max_samples: int = 200_000,
                        seed: int = 0, progress: Progress | None = None) -> SegmentationModel:
    """Fit a random forest on the labelled voxels' multiscale features, ten trees per step.

    The reported loss is the out-of-bag-free hold-out error on 20 % of the labelled voxels (each
    step's forest is scored on voxels it never saw). At most ``max_samples`` labelled voxels are
    used, drawn at random in equal numbers per class where possible (scribbles are usually
    unbalanced, and the forest's majority vote would otherwise favour the most scribbled class).
    """
    from sklearn.ensemble import RandomForestClassifier

    from ionscope.tomo.segment import FEATURE_SIGMAS

    grey = grey_normalisation(vol)
    norm = (grey.median, grey.iqr)
    X, y = _feature_rows(vol, norm, labels)
    rng = np.random.default_rng(seed)
    idx = _balanced(y, len(classes), max_samples, rng)
    X, y = X[idx], y[idx]
    hold = rng.random(y.size) < 0.2
    if hold.all() or not hold.any():
        hold[:] = False
    rf = RandomForestClassifier(n_estimators=0, max_depth=max_depth, random_state=seed, n_jobs=1, warm_start=True)
    losses = []
    steps = math.ceil(n_estimators / 10)
    for k in range(steps):
        rf.n_estimators = min(n_estimators, (k + 1) * 10)
        rf.fit(X[~hold], y[~hold])
        loss = float(np.mean(rf.predict(X[hold]) != y[hold])) if hold.any() else float("nan")
        losses.append(loss)
        if progress:
            progress(k + 1, steps, loss)
    arrays = _forest_arrays(rf, len(classes))
    share = np.bincount(y[hold], minlength=len(classes)) / max(int(hold.sum()), 1)
    params = {"n_estimators": n_estimators, "max_depth": max_depth, "seed": seed,
              "feature_sigmas_px": list(FEATURE_SIGMAS), "training_voxels": int(y.size),
              "holdout_error": losses[-1] if losses else None,
              "majority_guess_error": float(1 - share.max()) if hold.any() else None}
    return SegmentationModel("random-forest", list(classes), _spacing(vol), norm, arrays,
                             {"parameters": params, "loss_history": losses})


def label_mismatch_warning(params: Mapping[str, Any]) -> str | None:
    """A warning when the hold-out error is large for what the classes' proportions allow, else None.

    The reference is the error of always guessing the hold-out set's majority class,
    ``e₀ = 1 − max_c p_c`` (``p_c``: share of class ``c`` among the held-out voxels; 2/3 for three
    balanced classes). A classifier whose hold-out error ``e`` exceeds ``e₀ / 2`` removes less than
    half of the errors of that trivial rule — for phases with distinct grey levels this points to
    labels drawn on a different geometry than the stack (e.g. an unaligned stack with labels of the
    aligned one), not to a hard problem. The factor 1/2 is a conservative rule of thumb, not a
    statistical test: a warning, not an error.
    """
    err, base = params.get("holdout_error"), params.get("majority_guess_error")
    if err is None or base is None or not np.isfinite(err) or base <= 0 or err <= base / 2:
        return None
    return (f"hold-out error {err:.3g} is more than half the error of always guessing the majority class "
            f"({base:.3g}): the labels may not line up with the stack (labels drawn on an aligned or "
            "differently cropped stack?)")


def _balanced(y: np.ndarray, n_classes: int, cap: int, rng: np.random.Generator) -> np.ndarray:
    per = max(cap // n_classes, 1)
    out = []
    for c in range(n_classes):
        ids = np.flatnonzero(y == c)
        out.append(ids if ids.size <= per else rng.choice(ids, per, replace=False))
    return np.sort(np.concatenate(out))


def _spacing(vol: xr.DataArray) -> list[float] | None:
    sp = vol.attrs.get("spacing_um")
    return [float(s) for s in sp] if sp else None


# --------------------------------------------------------------------------- file format


def save_model(model: SegmentationModel, path: str | PathLike[str], *, force: bool = False) -> Path:
    """Write the model atomically (temporary file beside the target, then one rename)."""
    from ionscope.io.atomic import atomic_path

    header = np.frombuffer(json.dumps(model.header(), default=_json_default).encode(), np.uint8)
    with atomic_path(path, force=force) as tmp, open(tmp, "wb") as fh:
        arrays: dict[str, Any] = {"__header__": header, **model.arrays}
        np.savez_compressed(fh, **arrays)
    return Path(path)


def _json_default(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(type(o))


def load_model(path: str | PathLike[str]) -> SegmentationModel:
    """Read a model file; refuse other formats and other format versions."""
    import zipfile

    p = Path(path)
    if not p.is_file():
        from ionscope.model.errors import InputNotFoundError

        raise InputNotFoundError("no such model file", path=p)
    try:
        with np.load(p, allow_pickle=False) as z:
            header = json.loads(bytes(z["__header__"]).decode())
            arrays = {k: z[k] for k in z.files if k != "__header__"}
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise FormatError(f"not an ionscope segmentation model ({exc})", path=p) from exc
    if header.get("format") != MODEL_FORMAT:
        raise FormatError("not an ionscope segmentation model", path=p)
    ver = header.get("format_version")
    if ver != MODEL_FORMAT_VERSION:
        raise FormatError(f"model format version {ver} is not the version {MODEL_FORMAT_VERSION} this ionscope "
                          f"reads: retrain the model with this version", path=p)
    if header.get("learner") not in LEARNERS:
        raise FormatError(f"unknown learner {header.get('learner')!r}", path=p)
    meta = {k: v for k, v in header.items()
            if k not in ("format", "format_version", "learner", "classes", "pixel_size_um", "normalisation")}
    return SegmentationModel(header["learner"], list(header["classes"]), header.get("pixel_size_um"),
                             tuple(header["normalisation"]), arrays, meta)


# --------------------------------------------------------------------------- inference


def predict_proba(model: SegmentationModel, vol: xr.DataArray, *, chunk_z: int = 16) -> dsa.Array:
    """Lazy per-class probabilities (z, y, x, class), computed chunk by chunk along z."""
    from ionscope.tomo.segment import _dask, pixel_features

    arr = (_dask(vol, chunk_z) - model.normalisation[0]) / model.normalisation[1]
    n = len(model.classes)
    if model.learner == "random-forest":
        feats = pixel_features(arr)
        arrays = model.arrays

        def _block(f: np.ndarray) -> np.ndarray:
            return forest_proba(arrays, f.reshape(-1, f.shape[-1])).reshape(f.shape[:-1] + (n,))

        return dsa.map_blocks(_block, feats, chunks=feats.chunks[:3] + ((n,),), dtype=np.float32)
    from ionscope.tomo.train_unet import unet_proba_block

    net = _unet_from(model)
    return arr.map_blocks(lambda b: unet_proba_block(net, b), new_axis=3, chunks=arr.chunks + ((n,),),
                          dtype=np.float32)


def _unet_from(model: SegmentationModel) -> Any:
    from ionscope.tomo.train_unet import unet_from_arrays

    return unet_from_arrays(model.arrays, model.meta["parameters"], len(model.classes))


def entropy_uncertainty(proba: np.ndarray | dsa.Array) -> np.ndarray | dsa.Array:
    """Normalised Shannon entropy of the class probabilities along the last axis, in [0, 1].

    NumPy or Dask (lazy) as ``proba`` is; the shape of ``proba`` without its last axis.
    """
    n = proba.shape[-1]
    p = proba.clip(1e-12, 1.0)
    return -(p * np.log(p)).sum(axis=-1) / math.log(n)


def segment_with_model(model: SegmentationModel, vol: xr.DataArray, *, chunk_z: int = 16) -> xr.Dataset:
    """Labels, per-class probabilities and the entropy uncertainty of a stack, lazily (Dask).

    Returns a dataset with ``labels`` (uint8, class index), ``probability_<class>`` (float32) and
    ``uncertainty`` (float32), all (z, y, x) with the stack's coordinates.
    """
    from ionscope.model.provenance import make_provenance

    proba = predict_proba(model, vol, chunk_z=chunk_z)
    labels = proba.argmax(axis=-1).astype(np.uint8)
    unc = entropy_uncertainty(proba).astype(np.float32)
    coords = {d: vol.coords[d] for d in ("z", "y", "x") if d in vol.coords}
    data = {"labels": (("z", "y", "x"), labels), "uncertainty": (("z", "y", "x"), unc)}
    for i, c in enumerate(model.classes):
        data[f"probability_{c}"] = (("z", "y", "x"), proba[..., i])
    ds = xr.Dataset(data, coords=coords)
    prov = make_provenance(f"ionscope.tomo.segment_with_model.{model.learner}",
                           parameters={"classes": model.classes, "model": model.header()},
                           parents=[vol.attrs["provenance"]] if "provenance" in vol.attrs else [])
    ds.attrs.update({"spacing_um": list(vol.attrs.get("spacing_um") or [1.0, 1.0, 1.0]),
                     "phases": model.phases, "provenance": prov})
    return ds


def train(vol: xr.DataArray, labels: np.ndarray, classes: Sequence[str], *, learner: str = "random-forest",
          inputs: Sequence[Mapping[str, Any]] = (), progress: Progress | None = None,
          **kwargs: Any) -> SegmentationModel:
    """Train ``learner`` on a stack and its sparse labels; the model records ``inputs`` (name, SHA-256)."""
    if learner not in LEARNERS:
        raise ValidationError(f"--learner must be one of {', '.join(LEARNERS)}, got {learner!r}")
    lab = check_labels(vol.shape, labels, classes)
    t0 = time.perf_counter()
    if learner == "random-forest":
        model = train_random_forest(vol, lab, classes, progress=progress, **kwargs)
    else:
        from ionscope.tomo.train_unet import train_unet

        model = train_unet(vol, lab, classes, progress=progress, **kwargs)
    import ionscope

    model.meta.update({"training_inputs": [dict(i) for i in inputs], "training_seconds": time.perf_counter() - t0,
                       "ionscope_version": ionscope.__version__,
                       "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                       "labelled_voxels": {c: int((lab == i + 1).sum()) for i, c in enumerate(classes)}})
    return model


def iou_per_class(pred: np.ndarray, truth: np.ndarray, n: int) -> np.ndarray:
    """Intersection over union of each class value 0…n−1 (Jaccard 1912, doi:10.1111/j.1469-8137.1912.tb05611.x).

    Returns
    -------
    numpy.ndarray
        (n,) IoU of each class, NaN for a class in neither image.
    """
    out = []
    for c in range(n):
        a, b = pred == c, truth == c
        union = np.logical_or(a, b).sum()
        out.append(float(np.logical_and(a, b).sum() / union) if union else float("nan"))
    return np.array(out)
