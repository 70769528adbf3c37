"""Ion images: summed intensity in m/z windows, per pixel, from any ionscope image source.

A window is [m − Δ, m + Δ] (both ends included, like pyimzML's ``getionimage``), with
Δ = m · tolerance_ppm · 10⁻⁶ or Δ = tolerance_da. Processed imzML is reduced by one compiled pass
over the memory-mapped ``.ibd``: per spectrum, a binary search finds each window's first value and
the intensities are summed until the window ends (no Python loop per pixel, nothing densified).
"""

from __future__ import annotations

from collections.abc import Sequence
from os import PathLike
from typing import Any

import numpy as np
import xarray as xr

from ionscope.io.imzml import ImzMLData
from ionscope.io.imzml_sums import window_sums
from ionscope.library.windows import peak_positions, peak_windows
from ionscope.model.arrays import make_ion_image, spacing_of
from ionscope.model.errors import UnsupportedError, ValidationError
from ionscope.model.events import EventTable
from ionscope.model.provenance import make_provenance


def ion_images(data: Any, peaks: Sequence[float | str], *, tolerance_ppm: float | None = None,
               tolerance_da: float | None = None, variable: str | None = None, dims: Sequence[str] | None = None,
               **options: Any) -> xr.DataArray:
    """Ion images (y, x, peak): intensity summed in an m/z window around each of ``peaks``.

    Parameters
    ----------
    data
        A processed or continuous imzML (:class:`~ionscope.io.imzml.ImzMLData`, a path, or the
        ``hyperspectral`` array of a continuous file), a BIF6 ``ion_image`` (peaks are matched to the
        exported intervals), a binned ``(y, x, mz)`` event cube, or an
        :class:`~ionscope.model.events.EventTable` with calibration and geometry (binned on the fly,
        ``options`` go to :func:`~ionscope.io.events.bin_events`), or a Dataset of arrays (``.npz``,
        Zarr group) whose image array is chosen and shaped by :func:`ionscope.io.variables.select_array`:
        a flat pixels × channels matrix stored with its channel masses (``mz``) and image size (``xy``),
        as converted TRIFT / ION-TOF exports are, becomes (y, x, channel) images whose channels are
        matched to ``peaks`` like exported intervals.
    peaks
        Peak centres: m/z values, or ion names (``"^7Li+"``, ``"Li2F+"``) whose exact m/z is used
        and which label the images.
    tolerance_ppm, tolerance_da
        Half-width of each window, relative (ppm) or absolute (m/z); exactly one.
    variable, dims
        For a Dataset: the array to use and names of its dimensions (``peak`` for the channel axis), as
        in :func:`~ionscope.io.variables.select_array`; not needed for a flat image with ``mz`` and ``xy``.

    Returns
    -------
    xarray.DataArray
        ``ion_image`` with ``mz`` (window centre), ``mz_low``/``mz_high`` per peak; counts summed
        (float64 for imzML intensities). Pixels without a spectrum are 0.
    """
    path = data if isinstance(data, (str, PathLike)) else None
    if path is not None:
        import ionscope

        data = ionscope.read(path, **options)
        options = {}
    if isinstance(data, xr.Dataset):
        from ionscope.io.variables import select_array

        data = select_array(data, path, need="peak", variable=variable, dims=dims)
    elif variable is not None or dims is not None:
        raise ValidationError("--variable and --dims apply only to a file holding several arrays (.npz, Zarr "
                              "group)", path)
    if isinstance(data, EventTable):
        from ionscope.io.events import bin_events

        return bin_events(data, peaks=peaks, tolerance_ppm=tolerance_ppm, tolerance_da=tolerance_da, **options)
    if options:
        raise ValidationError(f"unexpected options {sorted(options)} for {type(data).__name__} input")
    if isinstance(data, xr.DataArray) and set(data.dims) == {"y", "x", "peak"}:
        return _from_peak_images(data, peaks, tolerance_ppm, tolerance_da)
    mz, lo, hi = peak_windows(peaks, tolerance_ppm=tolerance_ppm, tolerance_da=tolerance_da)
    params = {"peaks_mz": mz.tolist(), "tolerance_ppm": tolerance_ppm, "tolerance_da": tolerance_da}
    pixel: tuple[float, ...]  # (y, x) in µm
    if isinstance(data, ImzMLData):
        grid = data.to_grid(window_sums(data, lo, hi))
        pixel = data.pixel_size_um
        source = {"name": data.index.path.name, "uuid": data.index.uuid}
        measured = data.mz_range()
    elif isinstance(data, xr.DataArray) and set(data.dims) == {"y", "x", "mz"}:
        cube = data.transpose("y", "x", "mz")
        axis = np.asarray(cube["mz"].values, dtype=float)
        measured = (float(axis.min()), float(axis.max())) if axis.size else (np.nan, np.nan)
        a = np.searchsorted(axis, lo, side="left")
        b = np.searchsorted(axis, hi, side="right")
        parts = [cube.isel(mz=slice(int(i), int(j))).sum("mz", dtype=np.float64) for i, j in zip(a, b)]
        grid = np.stack([np.asarray(p.values) for p in parts], axis=-1)
        pixel = spacing_of(cube, ("y", "x"))
        source = {"name": cube.attrs.get("source_file")}
    else:
        what = data.attrs.get("kind", type(data).__name__) if isinstance(data, xr.DataArray) else type(data).__name__
        raise UnsupportedError(f"cannot make ion images from a {what}: give an imzML, BIF6, binned event cube or "
                               "(y, x, mz) store", getattr(data, "attrs", {}).get("source_file"))
    prov = make_provenance("ionscope.imaging.ion_images", inputs=[{k: v for k, v in source.items() if v}],
                           parameters=params)
    outside = [f"{m:g}" for m, a, b in zip(mz, lo, hi) if not (b >= measured[0] and a <= measured[1])]
    warnings = [f"m/z {', '.join(outside)} lie outside the measured range {measured[0]:g}–{measured[1]:g}: "
                "their images are empty because nothing was measured there, not because nothing is there"
                ] if outside else []
    out = make_ion_image(grid, peak_positions(peaks)[1], pixel_size_um=pixel, mz=mz,
                         attrs={"tolerance_ppm": tolerance_ppm, "tolerance_da": tolerance_da,
                                "source_file": source.get("name"), "warnings": warnings}, provenance=prov)
    return out.assign_coords(mz_low=("peak", lo, {"units": "m/z"}), mz_high=("peak", hi, {"units": "m/z"}))


def _from_peak_images(images: xr.DataArray, peaks: Sequence[float | str], tolerance_ppm: float | None,
                      tolerance_da: float | None) -> xr.DataArray:
    """Select the exported intervals (BIF6, binned events) that match ``peaks``.

    A peak matches an interval whose [mz_low, mz_high] contains it, else whose centre lies within the
    tolerance (if one is given); no match raises. Channels given by their centre only are matched by
    the tolerance when one is given, else each stands for the m/z nearer to it than to any other
    (:func:`_channel_cells`). The total-ion image (label ``total``) never matches.
    """
    if "mz" not in images.coords:
        raise ValidationError("these ion images carry no m/z per peak; select them by label instead")
    mz = peak_positions(peaks)[0]  # ion names as well as m/z values
    centre = np.asarray(images["mz"].values, dtype=float)
    total = np.asarray([str(p) == "total" for p in images["peak"].values])
    centre = np.where(total, np.nan, centre)
    if "mz_low" in images.coords and "mz_high" in images.coords:
        low = np.where(total, np.nan, np.asarray(images["mz_low"].values, dtype=float))
        high = np.where(total, np.nan, np.asarray(images["mz_high"].values, dtype=float))
    elif tolerance_ppm is None and tolerance_da is None:
        low, high = _channel_cells(centre)
    else:
        low, high = centre, centre
    picks = []
    for m in mz:
        inside = np.flatnonzero((low <= m) & (m <= high))
        if inside.size:
            picks.append(int(inside[np.argmin(np.abs(centre[inside] - m))]))
            continue
        tol = m * tolerance_ppm * 1e-6 if tolerance_ppm is not None else tolerance_da
        k = int(np.nanargmin(np.abs(centre - m)))
        if tol is None and not np.nanmin(low) <= m <= np.nanmax(high):
            raise ValidationError(f"m/z {m:g} lies outside the exported intervals "
                                  f"({np.nanmin(low):g}–{np.nanmax(high):g} m/z): nothing was exported there")
        if tol is None or abs(centre[k] - m) > tol:
            raise ValidationError(f"no exported interval contains m/z {m:g} (nearest centre {centre[k]:g}, "
                                  f"{abs(centre[k] - m):.3g} away: a tolerance at least that wide picks it)")
        picks.append(k)
    return _without_repeats(images, mz, picks)


def _channel_cells(centre: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The m/z interval each channel of a binned export stands for, when the file gives centres only.

    Every m/z is given to the channel of the nearest centre: a channel spans from half way to its lower
    neighbour to half way to its upper one (the outer channels as far out as inward). Unit-mass channels
    (27.0, 28.0 …) thus hold 26.5–27.5, where the ions of nominal mass 27 fall.
    """
    low, high = centre.copy(), centre.copy()
    known = np.flatnonzero(np.isfinite(centre))
    if known.size < 2:
        return low, high
    order = known[np.argsort(centre[known])]
    c = centre[order]
    mid = (c[1:] + c[:-1]) / 2
    low[order] = np.concatenate(([2 * c[0] - mid[0]], mid))
    high[order] = np.concatenate((mid, [2 * c[-1] - mid[-1]]))
    return low, high


def _without_repeats(images: xr.DataArray, mz: np.ndarray, picks: list[int]) -> xr.DataArray:
    """The picked images, each once; a warning names the requested m/z that fell on an image already picked."""
    kept = list(dict.fromkeys(picks))
    out = images.isel(peak=kept)
    out.attrs = {**out.attrs, "mz_meaning": "the centre of the exported interval or channel picked"}
    repeats = [f"{m:g}" for i, (m, k) in enumerate(zip(mz, picks)) if k in picks[:i]]
    if repeats:
        label = images["peak"].values
        shared = ", ".join(f"m/z {m:g} → {label[k]}" for m, k in zip(mz, picks) if picks.count(k) > 1)
        out.attrs = {**out.attrs, "warnings": [*(out.attrs.get("warnings") or ()), (
            f"m/z {', '.join(repeats)} picked an image already picked for another requested m/z ({shared}): "
            "the channels or exported intervals do not resolve them, so each image is given once")]}
    return out


__all__ = ["ion_images"]
