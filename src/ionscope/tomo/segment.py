"""Segmentation: multi-Otsu thresholds, white top-hat, marker watershed, random-forest pixel classifier.

Thresholds are computed from a bounded random sample of voxels and applied lazily. The random
forest (scikit-learn) learns from sparse labels on multiscale features — Gaussian smoothing,
gradient magnitude and Laplacian of Gaussian at σ = 1, 2, 4 px — computed with Dask
``map_overlap`` so that prediction runs block by block.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from os import PathLike
from pathlib import Path
from typing import Any

import dask.array as dsa
import numpy as np
import xarray as xr
from scipy import ndimage
from skimage.filters import threshold_multiotsu

from ionscope.micro.phases import label_volume
from ionscope.model.errors import ValidationError
from ionscope.model.provenance import make_provenance
from ionscope.model.result import Result

FEATURE_SIGMAS = (1.0, 2.0, 4.0)


def _dask(vol: xr.DataArray, chunk: int = 32) -> dsa.Array:
    arr = vol.data if isinstance(vol.data, dsa.Array) else dsa.from_array(vol.data, chunks=(chunk, -1, -1))
    return arr.astype(np.float32)


def _sample(arr, n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    nz = arr.shape[0]
    ks = np.unique(rng.integers(0, nz, min(nz, 32)))
    vals = np.concatenate([np.asarray(arr[k]).ravel() for k in ks])
    return vals if vals.size <= n else rng.choice(vals, n, replace=False)


def _result(vol: xr.DataArray, labels, phases: Mapping[str, int], op: str, params: dict) -> xr.DataArray:
    sp = tuple(vol.attrs.get("spacing_um") or (1.0, 1.0, 1.0))
    prov = make_provenance(op, parameters=params,
                           parents=[vol.attrs["provenance"]] if "provenance" in vol.attrs else [])
    lab = labels if isinstance(labels, dsa.Array) else np.asarray(labels)
    if isinstance(lab, dsa.Array):
        from ionscope.model.arrays import make_volume

        return make_volume(lab, sp, units="label", phases=dict(phases), provenance=prov)
    return label_volume(lab, phases, sp, provenance=prov)


def multi_otsu_segment(vol: xr.DataArray, phase_names: Sequence[str], *, sample: int = 2_000_000) -> xr.DataArray:
    """Label n = len(phase_names) grey-level classes (darkest first) by multi-Otsu thresholds."""
    n = len(phase_names)
    if n < 2:
        raise ValidationError("multi-Otsu needs at least two phase names")
    arr = _dask(vol)
    th = threshold_multiotsu(_sample(arr, sample), classes=n)
    labels = dsa.map_blocks(lambda b: np.digitize(b, th).astype(np.uint8), arr, dtype=np.uint8)
    out = _result(vol, labels, {p: i for i, p in enumerate(phase_names)}, "ionscope.tomo.multi_otsu_segment",
                  {"thresholds": th.tolist(), "phases": list(phase_names)})
    out.attrs["thresholds"] = th.tolist()
    return out


def white_tophat(vol: xr.DataArray, radius_px: int) -> xr.DataArray:
    """Bright features smaller than a ball of ``radius_px`` (grey opening subtracted), map_overlap."""
    from skimage.morphology import ball

    fp = ball(int(radius_px)).astype(bool)
    arr = _dask(vol)
    out = arr.map_overlap(lambda b: ndimage.white_tophat(b, footprint=fp), depth=int(radius_px) + 1,
                          boundary="nearest", dtype=np.float32)
    res = vol.copy(data=out)
    res.attrs["provenance"] = make_provenance("ionscope.tomo.white_tophat", parameters={"radius_px": radius_px})
    return res


def watershed_particles(mask: np.ndarray, spacing: tuple[float, float, float] = (1.0, 1.0, 1.0), *,
                        min_distance_um: float | None = None, h: float | None = None) -> np.ndarray:
    """Split touching particles: markers at the h-maxima of the distance map, watershed of −distance.

    ``h`` (same unit as spacing) suppresses shallow maxima; default half the finest voxel size ×2.
    Runs in memory on the particle mask (int32 labels).
    """
    from skimage.morphology import h_maxima
    from skimage.segmentation import watershed

    mask = np.asarray(mask, bool)
    dist = ndimage.distance_transform_edt(mask, sampling=spacing)
    hh = float(h if h is not None else 2 * min(spacing))
    peaks = h_maxima(dist, hh)
    markers, _ = ndimage.label(peaks)
    return watershed(-dist, markers, mask=mask).astype(np.int32)


def _feature_fns() -> list[Callable[[np.ndarray], np.ndarray]]:
    fns: list[Callable[[np.ndarray], np.ndarray]] = [lambda b: b]
    for s in FEATURE_SIGMAS:
        fns += [functools.partial(ndimage.gaussian_filter, sigma=s),
                functools.partial(ndimage.gaussian_gradient_magnitude, sigma=s),
                functools.partial(ndimage.gaussian_laplace, sigma=s)]
    return fns


def pixel_features(arr: dsa.Array) -> dsa.Array:
    """Multiscale features (z, y, x, f), each computed block-wise with a 4σ halo (map_overlap)."""
    depth = int(4 * max(FEATURE_SIGMAS)) + 1
    depth_t = tuple(min(depth, n - 1) for n in arr.shape)
    feats = [arr.map_overlap(fn, depth=depth_t, boundary="reflect", dtype=np.float32) for fn in _feature_fns()]
    return dsa.stack(feats, axis=-1).rechunk(arr.chunks + (len(feats),))


class RandomForestSegmenter:
    """Trainable pixel classifier (scikit-learn random forest) on multiscale features.

    ``fit(vol, scribbles, phases)``: ``scribbles`` has the volume's shape and holds phase label
    values where a user marked voxels, −1 elsewhere (sparse labels).
    """

    def __init__(self, n_estimators: int = 50, max_depth: int | None = 12, seed: int = 0) -> None:
        from sklearn.ensemble import RandomForestClassifier

        self.params = {"n_estimators": n_estimators, "max_depth": max_depth, "seed": seed,
                       "feature_sigmas_px": list(FEATURE_SIGMAS)}
        self.model = RandomForestClassifier(n_estimators=n_estimators, max_depth=max_depth, random_state=seed,
                                            n_jobs=1)
        self.phases: dict[str, int] = {}

    def fit(self, vol: xr.DataArray, scribbles: np.ndarray, phases: Mapping[str, int]) -> RandomForestSegmenter:
        scrib = np.asarray(scribbles)
        if scrib.shape != vol.shape:
            raise ValidationError(f"scribbles shape {scrib.shape} differs from the stack {vol.shape}")
        lab = scrib >= 0
        if not lab.any():
            raise ValidationError("no labelled voxels in the scribbles (−1 = unlabelled)")
        unknown = set(np.unique(scrib[lab]).tolist()) - set(phases.values())
        if unknown:
            raise ValidationError(f"scribble labels {sorted(unknown)} are not in the phase map {dict(phases)}")
        feats = pixel_features(_dask(vol))
        zs = np.unique(np.nonzero(lab)[0])
        X = np.concatenate([np.asarray(feats[k])[lab[k]] for k in zs])
        y = np.concatenate([scrib[k][lab[k]] for k in zs])
        self.model.fit(X, y)
        self.phases = dict(phases)
        return self

    def predict(self, vol: xr.DataArray) -> xr.DataArray:
        if not self.phases:
            raise ValidationError("the random-forest segmenter has not been trained (call fit first)")
        feats = pixel_features(_dask(vol))
        model = self.model

        def _pred(f: np.ndarray) -> np.ndarray:
            return model.predict(f.reshape(-1, f.shape[-1])).reshape(f.shape[:-1]).astype(np.uint8)

        labels = dsa.map_blocks(_pred, feats, drop_axis=3, dtype=np.uint8)
        return _result(vol, labels, self.phases, "ionscope.tomo.RandomForestSegmenter", self.params)


def segment_by_model(model_path: str | PathLike[str], vol: xr.DataArray, write: Callable[[xr.DataArray], Path], *,
                     chunk_z: int = 16, probabilities: Path | None = None, allow_pixel_size_mismatch: bool = False,
                     force: bool = False, path: str | PathLike[str] | None = None,
                     stage: Callable[[str], AbstractContextManager[Any]] | None = None) -> Result:
    """Segment a volume with a trained model file and write the label volume.

    Each voxel gets the class of highest predicted probability; its uncertainty is the normalised
    Shannon entropy of the class probabilities (Shannon 1948, doi:10.1002/j.1538-7305.1948.tb01338.x),
    0 for a certain voxel and 1 for equal probabilities (:func:`ionscope.tomo.train.entropy_uncertainty`).

    Parameters
    ----------
    model_path : str or PathLike
        Model file written by :func:`ionscope.tomo.train.save_model`.
    vol : xarray.DataArray
        Grey volume (z, y, x) with its voxel size in µm.
    write : callable
        Writes the label volume and returns the path written.
    chunk_z : int
        Slices per chunk of inference (at least 1).
    probabilities : Path, optional
        Also write the per-class probabilities and the uncertainty map here (.zarr).
    allow_pixel_size_mismatch : bool
        Apply a model trained at another voxel size (with a warning) instead of refusing.
    force : bool
        Overwrite ``probabilities``.
    path : str or PathLike, optional
        The grey volume's file, named in errors and recorded in the result.
    stage : callable, optional
        ``stage(name)`` returns a context manager shown around the inference (a progress bar).

    Returns
    -------
    Result
        ``kind="tomo.segment"``: ``output``, ``phases``, ``learner``, ``volume_fraction`` (phase → 1),
        ``mean_uncertainty`` (1), ``probabilities``, ``model`` (path, sha256, training inputs) and
        ``input`` (the grey volume described, when ``path`` is given).
    """
    import contextlib

    import dask

    from ionscope.io.atomic import check_writable
    from ionscope.micro.fractions import counted_fractions
    from ionscope.model.provenance import describe_input
    from ionscope.model.result import Quantity
    from ionscope.tomo.train import check_pixel_size, load_model, segment_with_model

    if chunk_z < 1:
        raise ValidationError(f"--chunk must be at least 1, got {chunk_z}")
    if probabilities is not None:
        check_writable(probabilities, force)
        if probabilities.suffix != ".zarr":
            raise ValidationError(f"--probabilities must end in .zarr, got {probabilities.name}")
    m = load_model(model_path)
    warnings = check_pixel_size(m, vol, allow_pixel_size_mismatch, path=path)
    ds = segment_with_model(m, vol, chunk_z=chunk_z)
    show = stage or (lambda _name: contextlib.nullcontext())
    with show(f"segmenting with the {m.learner} ({chunk_z} slices per chunk)"):
        if probabilities is not None:
            from ionscope.io.zarr_store import load, save

            save(ds, probabilities, force=force)
            loaded = load(probabilities)
            assert isinstance(loaded, xr.Dataset)  # the store save() just wrote from a Dataset
            ds = loaded
        labels, unc = dask.compute(ds["labels"].data, ds["uncertainty"].data.mean())
    labels, unc = np.asarray(labels), float(unc)
    lab = label_volume(labels, m.phases, tuple(ds.attrs["spacing_um"]), provenance=ds.attrs["provenance"])
    out = write(lab)
    values: dict[str, Any] = {
        "output": str(out), "phases": m.phases, "learner": m.learner,
        "volume_fraction": dict(counted_fractions(labels, m.phases).values),
        "mean_uncertainty": Quantity(unc, None, "1", why_no_uncertainty=(
            "a mean of normalised entropies; the sampling error of the mean is negligible")),
        "probabilities": str(probabilities) if probabilities is not None else None,
        "model": {"path": str(model_path), "sha256": describe_input(model_path)["sha256"],
                  "training_inputs": m.meta.get("training_inputs", [])}}
    if path is not None:
        values["input"] = describe_input(path)
    return Result("tomo.segment", values, tuple(warnings), ds.attrs["provenance"])
