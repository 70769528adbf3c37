"""The operando kind: ion images per electrochemical state, (state, y, x, peak), with acquisition windows.

An operando series is a DataArray of kind ``operando`` with dims ``(state, y, x, peak)`` and the
acquisition window of every frame as coordinates along ``state``: ``time_start``, ``time_end`` (s),
start and end of the frame's integration on the clock of the cycling log, and ``time`` (s), the
window centre. Its analysis (alignment to the cycling log, tracking) is :mod:`ionscope.operando`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import numpy as np
import xarray as xr

from ionscope.model.arrays import coord, labelled, pixel_axis, spacing_of
from ionscope.model.errors import ValidationError


def make_operando_series(data: Any, peaks: Sequence[str], *, pixel_size_um: float | Sequence[float],
                         time_start_s: Sequence[float] | np.ndarray, time_end_s: Sequence[float] | np.ndarray,
                         mz: Sequence[float] | None = None, units: str = "counts", name: str | None = "counts",
                         **kwargs: Any) -> xr.DataArray:
    """Build an operando series (state, y, x, peak) with acquisition windows in s.

    Parameters
    ----------
    data
        Array (state, y, x, peak), NumPy or Dask.
    peaks
        Species labels.
    pixel_size_um
        Pixel size (µm), scalar or (y, x).
    time_start_s, time_end_s
        Acquisition window of each frame on the cycling log's clock.
    **kwargs
        Passed to :func:`ionscope.model.arrays.labelled` (``acquisition``, ``sample``, ``attrs``…).
    """
    shape = np.shape(data)
    if len(shape) != 4:
        raise ValidationError(f"an operando series needs a 4-D array (state, y, x, peak), got shape {shape}")
    n, ny, nx, npk = shape
    if len(peaks) != npk:
        raise ValidationError(f"{len(peaks)} species labels for {npk} peak images")
    start, end = np.asarray(time_start_s, dtype=float), np.asarray(time_end_s, dtype=float)
    if start.shape != (n,) or end.shape != (n,):
        raise ValidationError(f"need one start and end time per frame ({n}), got {start.shape} and {end.shape}")
    if np.ndim(pixel_size_um) == 0:
        py = px = float(cast(float, pixel_size_um))
    else:
        py, px = (float(v) for v in cast(Sequence[float], pixel_size_um))
    coords = {
        "state": coord("state", np.arange(n), "index"),
        "time_start": coord("state", start, "s"),
        "time_end": coord("state", end, "s"),
        "time": coord("state", 0.5 * (start + end), "s"),
        "y": coord("y", pixel_axis(ny, py), "µm"),
        "x": coord("x", pixel_axis(nx, px), "µm"),
        "peak": xr.Variable("peak", np.asarray(list(peaks), dtype=str)),
    }
    if mz is not None:
        coords["mz"] = coord("peak", np.asarray(mz, dtype=float), "m/z")
    return check_series(labelled(data, "operando", coords=coords, units=units, name=name, **kwargs))


def check_series(series: xr.DataArray) -> xr.DataArray:
    """Raise :class:`ValidationError` unless ``series`` is a usable operando series.

    Checks the dims, one acquisition window per frame with ``time_start < time_end`` and starts in
    increasing order, and unique species labels.
    """
    if not isinstance(series, xr.DataArray):
        raise ValidationError(f"an operando series must be an xarray DataArray, got {type(series).__name__}")
    if set(series.dims) != {"state", "y", "x", "peak"}:
        raise ValidationError(f"an operando series has dims (state, y, x, peak), got {tuple(series.dims)}")
    start, end = frame_windows(series)
    if np.any(end <= start):
        bad = int(np.flatnonzero(end <= start)[0])
        raise ValidationError(f"frame {bad}: acquisition ends ({end[bad]} s) before it starts ({start[bad]} s)")
    if np.any(np.diff(start) <= 0):
        raise ValidationError("frames must be in acquisition order (time_start strictly increasing)")
    peaks = [str(p) for p in series.coords["peak"].values]
    if len(set(peaks)) != len(peaks):
        raise ValidationError(f"duplicate species labels in the series: {peaks}")
    return series.transpose("state", "y", "x", "peak")


def frame_windows(series: xr.DataArray) -> tuple[np.ndarray, np.ndarray]:
    """(start, end) of each frame's acquisition in s.

    From ``time_start``/``time_end``; or from ``time`` (window centre) and ``attrs["integration_s"]``.
    """
    c = series.coords
    if "time_start" in c and "time_end" in c:
        return _seconds(c["time_start"]), _seconds(c["time_end"])
    if "time" in c and "integration_s" in series.attrs:
        mid, half = _seconds(c["time"]), 0.5 * float(series.attrs["integration_s"])
        return mid - half, mid + half
    raise ValidationError("the series has no acquisition windows: need coords time_start and time_end (s) "
                          "along 'state', or 'time' plus attrs['integration_s']")


def _seconds(c: xr.DataArray) -> np.ndarray:
    from ionscope.model.units import convert

    return np.asarray(convert(np.asarray(c.values, dtype=float), c.attrs.get("units", "s"), "s"), dtype=float)


def stack_frames(images: Sequence[xr.DataArray], time_start_s: Sequence[float], time_end_s: Sequence[float],
                 **kwargs: Any) -> xr.DataArray:
    """Stack per-state ion images (y, x, peak), e.g. one reader output per state, into a series.

    Raises
    ------
    ValidationError
        If the frames differ in shape, pixel size or species (nothing is cropped or dropped).
    """
    if not images:
        raise ValidationError("no frames to stack")
    first = images[0]
    peaks = [str(p) for p in first.coords["peak"].values]
    shape = (first.sizes["y"], first.sizes["x"])
    step = spacing_of(first, ("y", "x"))
    for k, im in enumerate(images[1:], start=1):
        if set(im.dims) != {"y", "x", "peak"}:
            raise ValidationError(f"frame {k} is not an ion image (y, x, peak): dims {tuple(im.dims)}")
        if (im.sizes["y"], im.sizes["x"]) != shape:
            raise ValidationError(f"frame {k} has {im.sizes['y']}×{im.sizes['x']} pixels, frame 0 has "
                                  f"{shape[0]}×{shape[1]}")
        other = [str(p) for p in im.coords["peak"].values]
        if sorted(other) != sorted(peaks):
            raise ValidationError(f"frame {k} has species {other}, frame 0 has {peaks}")
        frame_step = spacing_of(im, ("y", "x"))
        if not np.allclose(frame_step, step, rtol=1e-6):
            raise ValidationError(f"frame {k} has pixel size {frame_step} µm, frame 0 has {step} µm")
    data = np.stack([np.asarray(im.transpose("y", "x", "peak").sel(peak=peaks).values) for im in images])
    mz = first.coords["mz"].values if "mz" in first.coords else None
    kwargs.setdefault("acquisition", first.attrs.get("acquisition"))
    kwargs.setdefault("sample", first.attrs.get("sample"))
    return make_operando_series(data, peaks, pixel_size_um=step, time_start_s=time_start_s, time_end_s=time_end_s,
                                mz=mz, units=first.attrs.get("units", "counts"), **kwargs)


__all__ = ["check_series", "frame_windows", "make_operando_series", "stack_frames"]
