"""Slice alignment: sub-pixel translation by phase correlation, drift curves, shifted stacks.

:func:`slice_shifts` pulls slices one at a time and registers each with the shared estimator
:func:`ionscope.imaging.registration.estimate_shifts`. Rigid/affine alignment is not implemented
(see docs/architecture.md).
"""

from __future__ import annotations

from typing import Any

import dask.array as dsa
import numpy as np
import xarray as xr
from scipy import ndimage

from ionscope.imaging.registration import estimate_shifts
from ionscope.model.errors import ValidationError
from ionscope.model.provenance import make_provenance
from ionscope.model.result import Result

REFERENCES = ("previous", "median", "first")


def slice_shifts(stack: Any, *, reference: str = "previous", window: int = 5, upsample: int = 20,
                 fiducial: tuple[slice, slice] | None = None) -> np.ndarray:
    """Shift (dy, dx) in pixels of every slice relative to slice 0 (the recorded drift).

    ``reference``: 'previous' (consecutive pairs, accumulated), 'median' (running median of the
    last ``window`` already-aligned slices) or 'first'. ``fiducial`` restricts the correlation to a
    (y, x) region, e.g. a milled fiducial mark. Slices are pulled one at a time (bounded memory);
    each pair is registered by :func:`ionscope.imaging.registration.estimate_shifts` (tapered,
    gradient-based phase correlation with upsampled-DFT refinement).
    """
    if reference not in REFERENCES:
        raise ValidationError(f"reference must be one of {REFERENCES}, got {reference!r}")
    nz = stack.shape[0]
    roi = fiducial or (slice(None), slice(None))

    def get(k: int) -> np.ndarray:
        return np.asarray(stack[k], dtype=np.float32)[roi]

    def register(ref: np.ndarray, mov: np.ndarray) -> np.ndarray:
        return estimate_shifts(mov[None], ref, upsample=upsample, smooth_px=1.0)[0]

    shifts = np.zeros((nz, 2))
    prev = first = get(0)
    recent = [prev]
    for k in range(1, nz):
        cur = get(k)
        if reference == "previous":
            shifts[k] = shifts[k - 1] - register(prev, cur)
        else:
            ref = first if reference == "first" else np.median(np.stack(recent[-window:]), axis=0)
            s = register(ref, cur)
            shifts[k] = -s
            recent.append(ndimage.shift(cur, s, order=1, mode="nearest"))
        prev = cur
    return shifts


def apply_shifts(stack: Any, shifts: np.ndarray, order: int = 1) -> dsa.Array:
    """Undo a drift: each slice shifted by −shift (linear interpolation); lazy, one chunk per slice."""
    arr = stack if isinstance(stack, dsa.Array) else dsa.from_array(np.asarray(stack), chunks=(1, -1, -1))
    arr = arr.rechunk((1, -1, -1)).astype(np.float32)
    sh = np.asarray(shifts, float)

    def _shift(block: np.ndarray, block_info=None) -> np.ndarray:
        k = block_info[0]["array-location"][0][0]
        return ndimage.shift(block[0], -sh[k], order=order, mode="nearest")[None].astype(np.float32)

    return arr.map_blocks(_shift, dtype=np.float32)


def align_stack(vol: xr.DataArray, *, reference: str = "previous", window: int = 5, upsample: int = 20,
                fiducial: tuple[slice, slice] | None = None) -> tuple[xr.DataArray, Result]:
    """Align the slices of ``vol``; returns the aligned (lazy) volume and the drift curves (µm and px)."""
    if vol.ndim != 3:
        raise ValidationError(f"alignment needs a (z, y, x) stack, got dims {vol.dims}")
    shifts = slice_shifts(vol.data, reference=reference, window=window, upsample=upsample, fiducial=fiducial)
    aligned = apply_shifts(vol.data, shifts)
    params = {"reference": reference, "window": window, "upsample": upsample,
              "fiducial": None if fiducial is None else [[s.start, s.stop] for s in fiducial]}
    prov = make_provenance("ionscope.tomo.align_stack", parameters=params,
                           parents=[vol.attrs["provenance"]] if "provenance" in vol.attrs else [])
    out = vol.copy(data=aligned)
    out.attrs["provenance"] = prov
    dy, dx = float(vol.y[1] - vol.y[0]), float(vol.x[1] - vol.x[0])
    res = Result("tomo.align", {"drift_px": shifts.tolist(), "drift_um": (shifts * [dy, dx]).tolist(),
                                "max_drift_um": float(np.abs(shifts * [dy, dx]).max()), "slices": int(vol.shape[0])},
                 (), prov)
    return out, res
