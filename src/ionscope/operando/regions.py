"""Regions (particles, electrode areas) as label images on the SIMS grid.

A region set is an ``int32`` label image of the series' (y, x) shape: 0 = background, 1…k =
regions. It can be imported (TIFF/NumPy/Zarr, drawn elsewhere), segmented from a SIMS channel or
a registered SEM image (threshold + distance-transform watershed, the classic particle splitting
of Liu et al. 2025, Chem. Rev., doi:10.1021/acs.chemrev.4c00831), or drawn as polygons in µm.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr
from scipy import ndimage

from ionscope.model.errors import ValidationError


def check_labels(labels: Any, shape: tuple[int, int]) -> np.ndarray:
    """Return ``labels`` as an int32 array, or raise if its shape or values do not fit the series.

    Raises
    ------
    ValidationError
        If the label image is not 2-D of ``shape``, is not integral, has negative labels or no region.
    """
    lab = np.asarray(labels.values if isinstance(labels, xr.DataArray) else labels)
    if lab.ndim != 2 or lab.shape != tuple(shape):
        raise ValidationError(f"label image has shape {lab.shape}, the series frames are {tuple(shape)}; "
                              "resample it onto the SIMS grid first (e.g. labels_from_registered)")
    if lab.dtype.kind == "f":
        if not np.all(np.isfinite(lab)) or np.any(lab != np.round(lab)):
            raise ValidationError("label image holds non-integer values")
    elif lab.dtype.kind not in "iub":
        raise ValidationError(f"label image holds {lab.dtype} values; region labels must be whole numbers")
    if lab.size and lab.min() < 0:
        raise ValidationError("label image has negative labels")
    lab = lab.astype(np.int32)
    if lab.max() == 0:
        raise ValidationError("label image has no region (all zero)")
    return lab


def relabel_sequential(labels: np.ndarray) -> np.ndarray:
    """Labels renumbered 1…k in order of first appearance of their value (0 stays 0)."""
    vals = np.unique(labels)
    vals = vals[vals > 0]
    lut = np.zeros(int(labels.max()) + 1, dtype=np.int32)
    lut[vals] = np.arange(1, vals.size + 1, dtype=np.int32)
    return lut[labels]


def segment_particles(image: Any, *, threshold: float | str = "otsu", smooth_px: float = 1.0,
                      min_distance_px: int = 4, min_area_px: int = 12, watershed: bool = True) -> np.ndarray:
    """Particles of a 2-D image by threshold and distance-transform watershed.

    Parameters
    ----------
    image
        A SIMS channel (e.g. ⁵⁸Ni⁺ of the pristine frame) or a registered SEM image.
    threshold
        Intensity threshold, or ``"otsu"``.
    smooth_px
        Gaussian smoothing before thresholding (counts are noisy).
    min_distance_px
        Smallest distance between two particle centres (watershed markers).
    min_area_px
        Smaller objects are dropped (noise), and say so by their absence from the labels.
    watershed
        Split touching particles; without it, connected components.

    Returns
    -------
    int32 label image, particles numbered 1…k.
    """
    from skimage.feature import peak_local_max
    from skimage.filters import threshold_otsu
    from skimage.segmentation import watershed as ws

    img = np.asarray(image, dtype=float)
    if img.ndim != 2:
        raise ValidationError(f"segmentation needs a 2-D image, got shape {img.shape}")
    img = np.where(np.isfinite(img), img, np.nanmin(img) if np.isfinite(img).any() else 0.0)
    sm = ndimage.gaussian_filter(img, smooth_px) if smooth_px > 0 else img
    if isinstance(threshold, str):
        if threshold != "otsu":
            raise ValidationError(f"threshold must be a number or 'otsu', got {threshold!r}")
        if np.ptp(sm) == 0:
            raise ValidationError("the image is flat: nothing to segment")
        thr = threshold_otsu(sm)
    else:
        thr = float(threshold)
    mask = ndimage.binary_opening(sm > thr, iterations=1)
    mask = ndimage.binary_fill_holes(mask)
    if watershed:
        dist = ndimage.distance_transform_edt(mask)
        comp, _ = ndimage.label(mask)
        peaks = peak_local_max(dist, min_distance=min_distance_px, labels=comp, exclude_border=False)
        markers = np.zeros(mask.shape, dtype=np.int32)
        markers[tuple(peaks.T)] = np.arange(1, len(peaks) + 1)
        labels = ws(-dist, markers, mask=mask).astype(np.int32)
    else:
        labels = ndimage.label(mask)[0].astype(np.int32)
    sizes = np.bincount(labels.ravel())
    small = np.flatnonzero(sizes < min_area_px)
    labels[np.isin(labels, small[small > 0])] = 0
    return relabel_sequential(labels)


def labels_from_polygons(polygons_um: Mapping[int, Sequence[Sequence[float]]] | Sequence[Sequence[Sequence[float]]],
                         y_um: Any, x_um: Any) -> np.ndarray:
    """Label image from polygons given as (y, x) vertices in µm on the grid of pixel centres.

    ``polygons_um`` is a list (labels 1…k in order) or a mapping label → vertices. A pixel belongs
    to a polygon when its centre lies inside; later polygons win where they overlap.
    """
    from skimage.draw import polygon as draw_polygon

    y = np.asarray(y_um, dtype=float)
    x = np.asarray(x_um, dtype=float)
    if y.size < 2 or x.size < 2:
        raise ValidationError("need pixel-centre coordinates with at least two values per axis")
    dy, dx = y[1] - y[0], x[1] - x[0]
    items = polygons_um.items() if isinstance(polygons_um, Mapping) else enumerate(polygons_um, start=1)
    labels = np.zeros((y.size, x.size), dtype=np.int32)
    for lab, verts in items:
        v = np.asarray(verts, dtype=float)
        if v.ndim != 2 or v.shape[1] != 2 or len(v) < 3:
            raise ValidationError(f"polygon {lab} needs ≥ 3 (y, x) vertices in µm, got shape {v.shape}")
        rr, cc = draw_polygon((v[:, 0] - y[0]) / dy, (v[:, 1] - x[0]) / dx, shape=labels.shape)
        if int(lab) <= 0:
            raise ValidationError(f"polygon labels must be positive, got {lab}")
        labels[rr, cc] = int(lab)
    if labels.max() == 0:
        raise ValidationError("no polygon covers any pixel centre of the image")
    return labels


def labels_from_registered(labels_moving: Any, matrix: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Bring a label image of a registered external image (SEM) onto the SIMS grid (nearest neighbour).

    ``matrix`` maps SIMS (fixed) pixel coordinates to the external image's, as returned by
    :func:`ionscope.imaging.registration.register_intensity` or ``affine_from_landmarks``.
    """
    from ionscope.imaging.registration import warp_image

    return warp_image(np.asarray(labels_moving, dtype=np.int32), matrix, shape, order=0).astype(np.int32)


def region_areas_um2(labels: np.ndarray, pixel_area_um2: float) -> np.ndarray:
    """Area (µm²) of regions 1…k (index 0 of the result is region 1)."""
    counts = np.bincount(labels.ravel(), minlength=int(labels.max()) + 1)[1:]
    return counts * float(pixel_area_um2)


def erode_labels(labels: np.ndarray, px: int = 1) -> np.ndarray:
    """Keep only pixels whose whole (2·px+1)² neighbourhood has the same label.

    Region sums of interior pixels do not depend on sub-pixel registration errors at the region
    edge (where the intensity jumps to the neighbouring phase); regions smaller than the
    neighbourhood keep their original pixels rather than vanish.
    """
    if px <= 0:
        return labels
    size = 2 * int(px) + 1
    lo = ndimage.minimum_filter(labels, size=size, mode="nearest")
    hi = ndimage.maximum_filter(labels, size=size, mode="nearest")
    out = np.where((lo == labels) & (hi == labels), labels, 0).astype(np.int32)
    lost = np.setdiff1d(np.unique(labels[labels > 0]), np.unique(out[out > 0]))
    for lab in lost:
        out[labels == lab] = lab
    return out
