"""Slice alignment: translation, rigid or affine transforms per slice, drift curves, aligned stacks.

:func:`slice_transforms` pulls slices one at a time and registers each with
:func:`ionscope.imaging.rigid.estimate_transform` (translation: the shared phase-correlation
estimator :func:`ionscope.imaging.registration.estimate_shifts`; rigid/affine: log-polar rotation
start and inverse-compositional Lucas–Kanade refinement). Transforms are 3×3 matrices in (row, col)
pixels mapping a point of the slice-0 frame to where it is recorded in slice k (the convention of
:mod:`ionscope.imaging.rigid`); for 'previous' the per-pair matrices are composed,
``M_k = P_k · M_(k−1)``.
"""

from __future__ import annotations

from typing import Any

import dask.array as dsa
import numpy as np
import xarray as xr

from ionscope.imaging.registration import warp_image
from ionscope.imaging.rigid import (
    PARAMETERS,
    centre_displacement,
    estimate_transform,
    rotation_angle_deg,
    translation_matrix,
)
from ionscope.model.arrays import spacing_of
from ionscope.model.errors import ValidationError
from ionscope.model.provenance import make_provenance
from ionscope.model.result import Result

REFERENCES = ("previous", "median", "first")
TRANSFORMS = ("translation", "rigid", "affine")


def fiducial_region(fiducial: tuple[slice, slice] | None, shape: tuple[int, int]) -> tuple[slice, slice]:
    """Check a (y, x) region of slices against the slice ``shape``; the whole slice if ``None``."""
    if fiducial is None:
        return slice(0, shape[0]), slice(0, shape[1])
    if len(fiducial) != 2 or not all(isinstance(s, slice) for s in fiducial):
        raise ValidationError(f"fiducial must be a (y, x) pair of slices, got {fiducial!r}")
    out = []
    for s, n, ax in zip(fiducial, shape, "yx", strict=True):
        start = 0 if s.start is None else s.start
        stop = n if s.stop is None else s.stop
        if s.step not in (None, 1) or not 0 <= start < stop <= n:
            raise ValidationError(f"fiducial {ax} range {start}:{stop} is not inside the slice (0:{n})")
        if stop - start < 16:
            raise ValidationError(f"fiducial {ax} range {start}:{stop} is shorter than 16 px: too small to register")
        out.append(slice(start, stop))
    return out[0], out[1]


def _angle_variance(model: str, cov: np.ndarray) -> float:
    if model == "rigid":
        return float(cov[2, 2])
    # affine: θ ≈ (a_cr − a_rc)/2 near the identity
    g = np.zeros(len(PARAMETERS["affine"]))
    g[PARAMETERS["affine"].index("a_rc")], g[PARAMETERS["affine"].index("a_cr")] = -0.5, 0.5
    return float(g @ cov @ g)


def slice_transforms(stack: Any, *, transform: str = "translation", reference: str = "previous", window: int = 5,
                     upsample: int = 20, fiducial: tuple[slice, slice] | None = None
                     ) -> Result:
    """Transform of every slice relative to slice 0 (the recorded drift), and its statistical error.

    Parameters
    ----------
    stack
        (z, y, x) array (NumPy or Dask; slices are pulled one at a time, bounded memory).
    transform
        ``"translation"``, ``"rigid"`` (translation + rotation) or ``"affine"``.
    reference
        ``"previous"`` (consecutive pairs, matrices composed), ``"median"`` (running median of the
        last ``window`` already-aligned slices) or ``"first"``.
    upsample
        Phase-correlation precision ``1/upsample`` px.
    fiducial
        (y, x) region (e.g. a milled mark) to which registration is restricted; the matrices are
        returned in whole-slice coordinates.

    Returns
    -------
    Result
        ``tomo.slice_transforms``: ``matrices`` (z, 3, 3) slice-0 frame → slice k; ``sigma`` (z, 3)
        standard errors (dy px, dx px at the registration region's centre, rotation rad) from the
        Gauss–Newton covariance, variances summed along the chain for 'previous'; NaN for
        ``translation`` (phase correlation gives none).
    """
    if transform not in TRANSFORMS:
        raise ValidationError(f"transform must be one of {TRANSFORMS}, got {transform!r}")
    if reference not in REFERENCES:
        raise ValidationError(f"reference must be one of {REFERENCES}, got {reference!r}")
    if getattr(stack, "ndim", None) != 3:
        raise ValidationError(f"alignment needs a (z, y, x) stack, got shape {getattr(stack, 'shape', None)}")
    if window < 1:
        raise ValidationError(f"median window must be ≥ 1 slice, got {window}")
    nz = stack.shape[0]
    roi = fiducial_region(fiducial, stack.shape[1:])
    to_full = translation_matrix(roi[0].start, roi[1].start)
    from_full = np.linalg.inv(to_full)

    def get(k: int) -> np.ndarray:
        return np.asarray(stack[k], dtype=np.float32)[roi]

    def register(ref: np.ndarray, mov: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        r = estimate_transform(ref, mov, transform, upsample=upsample, smooth_px=1.0)
        if transform == "translation":
            return r["matrix"], np.full(3, np.nan)
        cov = r["covariance"]
        return r["matrix"], np.array([cov[0, 0], cov[1, 1], _angle_variance(transform, cov)])

    mats = np.tile(np.eye(3), (nz, 1, 1))
    var = np.zeros((nz, 3))
    prev = first = get(0)
    recent = [prev]
    for k in range(1, nz):
        cur = get(k)
        if reference == "previous":
            pair, v = register(prev, cur)
            mats[k] = to_full @ pair @ from_full @ mats[k - 1]
            var[k] = var[k - 1] + v
        else:
            ref = first if reference == "first" else np.median(np.stack(recent[-window:]), axis=0)
            m_roi, var[k] = register(ref, cur)
            mats[k] = to_full @ m_roi @ from_full
            if reference == "median":
                recent.append(warp_image(cur, m_roi, cur.shape, mode="nearest").astype(np.float32))
        prev = cur
    return Result("tomo.slice_transforms", {"matrices": mats, "sigma": np.sqrt(var)})


def slice_shifts(stack: Any, *, reference: str = "previous", window: int = 5, upsample: int = 20,
                 fiducial: tuple[slice, slice] | None = None) -> np.ndarray:
    """Shift (dy, dx) in pixels of every slice relative to slice 0 (translation-only drift).

    :func:`slice_transforms` with ``transform="translation"``: each pair is registered by
    :func:`ionscope.imaging.registration.estimate_shifts` (tapered, gradient-based phase
    correlation with upsampled-DFT refinement).
    """
    mats = slice_transforms(stack, transform="translation", reference=reference, window=window,
                            upsample=upsample, fiducial=fiducial).matrices
    return mats[:, :2, 2].copy()


def apply_transforms(stack: Any, matrices: Any, order: int = 1) -> dsa.Array:
    """Resample every slice k onto the slice-0 frame, ``out_k(p) = slice_k(M_k p)``; lazy, one chunk per slice.

    Interpolation of ``order`` (1: bilinear); pixels mapped from outside the slice take the nearest
    edge value.
    """
    arr = stack if isinstance(stack, dsa.Array) else dsa.from_array(np.asarray(stack), chunks=(1, -1, -1))
    mats = np.asarray(matrices, float)
    if arr.ndim != 3 or mats.shape != (arr.shape[0], 3, 3):
        raise ValidationError(f"need a (z, y, x) stack and (z, 3, 3) matrices, got {arr.shape} and {mats.shape}")
    arr = arr.rechunk((1, -1, -1)).astype(np.float32)

    def _warp(block: np.ndarray, block_info=None) -> np.ndarray:
        k = block_info[0]["array-location"][0][0]
        out = warp_image(block[0], mats[k], block.shape[1:], order=order, mode="nearest")
        return out[None].astype(np.float32)

    return arr.map_blocks(_warp, dtype=np.float32)


def apply_shifts(stack: Any, shifts: np.ndarray, order: int = 1) -> dsa.Array:
    """Undo a drift: each slice shifted by −shift (linear interpolation); lazy, one chunk per slice."""
    sh = np.asarray(shifts, float)
    mats = np.tile(np.eye(3), (len(sh), 1, 1))
    mats[:, :2, 2] = sh
    return apply_transforms(stack, mats, order=order)


def align_stack(vol: xr.DataArray, *, transform: str = "translation", reference: str = "previous", window: int = 5,
                upsample: int = 20, fiducial: tuple[slice, slice] | None = None) -> Result:
    """Align the slices of ``vol``: the aligned (lazy) volume and the drift curves.

    The Result holds ``aligned``, the aligned volume (labelled like ``vol``), and, per slice relative
    to slice 0: ``drift_px`` / ``drift_um`` (displacement
    (dy, dx) of the slice centre, px and µm), ``rotation_deg`` (degrees, positive = counter-clockwise
    as displayed, :func:`ionscope.imaging.rigid.rotation_angle_deg`) and, for rigid/affine,
    ``matrices`` (3×3, slice-0 frame → slice k, px) with statistical standard errors
    ``drift_sigma_px`` and ``rotation_sigma_deg`` (see :func:`slice_transforms`).
    """
    if vol.ndim != 3:
        raise ValidationError(f"alignment needs a (z, y, x) stack, got dims {vol.dims}")
    fit = slice_transforms(vol.data, transform=transform, reference=reference, window=window,
                           upsample=upsample, fiducial=fiducial)
    mats, sigma = fit.matrices, fit.sigma
    shape_yx = (int(vol.shape[1]), int(vol.shape[2]))
    aligned = apply_transforms(vol.data, mats)
    params = {"transform": transform, "reference": reference, "window": window, "upsample": upsample,
              "interpolation_order": 1,
              "fiducial": None if fiducial is None else [[s.start, s.stop]
                                                         for s in fiducial_region(fiducial, shape_yx)]}
    prov = make_provenance("ionscope.tomo.align_stack", parameters=params,
                           parents=[vol.attrs["provenance"]] if "provenance" in vol.attrs else [])
    out = vol.copy(data=aligned)
    out.attrs["provenance"] = prov
    dy, dx = spacing_of(vol, ("y", "x"))
    drift = np.stack([centre_displacement(m, shape_yx) for m in mats])
    angles = np.array([rotation_angle_deg(m) for m in mats])
    values: dict[str, Any] = {
        "aligned": out, "transform": transform, "slices": int(vol.shape[0]),
        "drift_px": drift.tolist(), "drift_um": (drift * [dy, dx]).tolist(),
        "max_drift_um": float(np.abs(drift * [dy, dx]).max()),
        "rotation_deg": angles.tolist(), "max_rotation_deg": float(np.abs(angles).max())}
    if transform != "translation":
        values |= {"matrices": mats.tolist(), "drift_sigma_px": sigma[:, :2].tolist(),
                   "rotation_sigma_deg": np.degrees(sigma[:, 2]).tolist()}
    return Result("tomo.align", values, (), prov)
