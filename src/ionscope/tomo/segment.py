"""Segmentation: multi-Otsu thresholds, white top-hat, marker watershed, random-forest pixel classifier.

Thresholds are computed from a bounded random sample of voxels and applied lazily. The random
forest (scikit-learn) learns from sparse labels on multiscale features — Gaussian smoothing,
gradient magnitude and Laplacian of Gaussian at σ = 1, 2, 4 px — computed with Dask
``map_overlap`` so that prediction runs block by block.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence

import dask.array as dsa
import numpy as np
import xarray as xr
from scipy import ndimage
from skimage.filters import threshold_multiotsu

from ionscope.micro.phases import label_volume
from ionscope.model.errors import ValidationError
from ionscope.model.provenance import make_provenance

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
