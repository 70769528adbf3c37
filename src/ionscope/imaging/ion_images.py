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

import numba
import numpy as np
import xarray as xr

from ionscope.io.imzml import ImzMLData
from ionscope.model.arrays import make_ion_image, spacing_of
from ionscope.model.errors import UnsupportedError, ValidationError
from ionscope.model.events import EventTable
from ionscope.model.provenance import make_provenance


def peak_positions(peaks: Sequence[float | str]) -> tuple[np.ndarray, list[str]]:
    """m/z and label of each peak, given as an m/z value or as a named ion.

    Names are ion formulas in any notation :func:`ionscope.library.parse_formula` reads (``"^7Li+"``,
    ``"Li2F+"``, ``"PO3-"``, ``"C_6H_5+"``); their exact m/z (electron mass included) is the
    window centre and the name labels the image. Numbers are labelled by their m/z.
    """
    from ionscope.library import parse_formula

    mz, labels = [], []
    for p in np.atleast_1d(np.asarray(peaks, dtype=object)):
        try:
            value = float(p)
        except (TypeError, ValueError):
            name = str(p).strip()
            value = parse_formula(name).mz
            labels.append(name)
        else:
            labels.append(f"{value:.4f}")
        mz.append(value)
    return np.asarray(mz, dtype=float), labels


def peak_windows(peaks: Sequence[float | str], *, tolerance_ppm: float | None = None,
                 tolerance_da: float | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(centres, low edges, high edges) in m/z of the windows around ``peaks`` (m/z values or ion names).

    Exactly one of ``tolerance_ppm`` (parts per million of each m/z) and ``tolerance_da`` (absolute,
    m/z units) must be given.
    """
    mz = peak_positions(peaks)[0]
    if mz.ndim != 1 or mz.size == 0 or not np.all(np.isfinite(mz)) or np.any(mz <= 0):
        raise ValidationError(f"peaks must be positive m/z values, got {peaks!r}")
    if (tolerance_ppm is None) == (tolerance_da is None):
        raise ValidationError("give exactly one window half-width: --tol-ppm or --tol-da "
                              "(tolerance_ppm or tolerance_da in Python)")
    half = mz * float(tolerance_ppm) * 1e-6 if tolerance_ppm is not None else np.full_like(mz, float(tolerance_da))
    if np.any(half < 0) or not np.all(np.isfinite(half)):
        raise ValidationError("the m/z tolerance must be a non-negative number")
    return mz, mz - half, mz + half


@numba.njit(cache=True, nogil=True)
def _window_sums(mzv, mz_start, mz_len, intv, int_start, lo, hi, out):  # pragma: no cover - compiled
    """Sum intensities per spectrum and window; windows sorted by ``lo``.

    Short spectra (fewer than 500 values per window) are merged with the windows in one sequential
    pass — cache-friendly, the m/z array is read once in order; long profile spectra with few
    windows use a binary search per window instead.
    """
    k = lo.size
    for i in range(mz_start.size):
        m0 = mz_start[i]
        n = mz_len[i]
        i0 = int_start[i]
        if n == 0:
            continue
        linear = n < 500 * k
        j = 0
        for p in range(k):
            low = lo[p]
            if linear:
                while j < n and mzv[m0 + j] < low:
                    j += 1
            else:
                a = j
                b = n
                while a < b:
                    c = (a + b) >> 1
                    if mzv[m0 + c] < low:
                        a = c + 1
                    else:
                        b = c
                j = a
            s = 0.0
            high = hi[p]
            q = j
            while q < n and mzv[m0 + q] <= high:
                s += intv[i0 + q]
                q += 1
            out[i, p] = s


@numba.njit(cache=True, nogil=True)
def _bin_sums(mzv, mz_start, mz_len, intv, int_start, edges, out):  # pragma: no cover - compiled
    nb = edges.size - 1
    for i in range(mz_start.size):
        m0 = mz_start[i]
        i0 = int_start[i]
        for j in range(mz_len[i]):
            k = np.searchsorted(edges, mzv[m0 + j], side="right") - 1
            if 0 <= k < nb:
                out[i, k] += intv[i0 + j]


def _groups(src: ImzMLData) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, int, int]]:
    """Spectra grouped by the byte residue of their m/z and intensity offsets (usually one group)."""
    ix = src.index
    mi, ii = ix.mz_dtype.itemsize, ix.int_dtype.itemsize
    rm, ri = ix.mz_offset % mi, ix.int_offset % ii
    key = rm * 16 + ri
    out = []
    for k in np.unique(key):
        sel = np.flatnonzero(key == k)
        r_mz, r_int = int(k // 16), int(k % 16)
        out.append((sel, (ix.mz_offset[sel] - r_mz) // mi, (ix.int_offset[sel] - r_int) // ii, r_mz, r_int))
    return out


def window_sums(src: ImzMLData, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """(n_spectra, n_windows) sums of intensities with lo ≤ m/z ≤ hi, in file order (float64)."""
    ix = src.index
    out = np.zeros((ix.n_spectra, lo.size), dtype=np.float64)
    order = np.argsort(lo, kind="stable")
    slo = np.ascontiguousarray(np.asarray(lo, dtype=np.float64)[order])
    shi = np.ascontiguousarray(np.asarray(hi, dtype=np.float64)[order])
    length = np.minimum(ix.mz_length, ix.int_length)
    for sel, ms, is_, r_mz, r_int in _groups(src):
        part = np.zeros((sel.size, lo.size), dtype=np.float64)
        _window_sums(src.typed_view("mz", r_mz), ms, length[sel], src.typed_view("int", r_int), is_, slo, shi, part)
        out[np.ix_(sel, order)] = part
    return out


def sum_into_bins(src: ImzMLData, edges: np.ndarray) -> np.ndarray:
    """(n_spectra, n_bins) intensities summed into m/z bins ``edges[k] ≤ m/z < edges[k+1]``."""
    ix = src.index
    out = np.zeros((ix.n_spectra, edges.size - 1), dtype=np.float64)
    length = np.minimum(ix.mz_length, ix.int_length)
    e = np.ascontiguousarray(edges, dtype=np.float64)
    for sel, ms, is_, r_mz, r_int in _groups(src):
        part = np.zeros((sel.size, e.size - 1), dtype=np.float64)
        _bin_sums(src.typed_view("mz", r_mz), ms, length[sel], src.typed_view("int", r_int), is_, e, part)
        out[sel] = part
    return out


def ion_images(data: Any, peaks: Sequence[float | str], *, tolerance_ppm: float | None = None,
               tolerance_da: float | None = None, **options: Any) -> xr.DataArray:
    """Ion images (y, x, peak): intensity summed in an m/z window around each of ``peaks``.

    Parameters
    ----------
    data
        A processed or continuous imzML (:class:`~ionscope.io.imzml.ImzMLData`, a path, or the
        ``hyperspectral`` array of a continuous file), a BIF6 ``ion_image`` (peaks are matched to the
        exported intervals), a binned ``(y, x, mz)`` event cube, or an
        :class:`~ionscope.model.events.EventTable` with calibration and geometry (binned on the fly,
        ``options`` go to :func:`~ionscope.imaging.events.bin_events`).
    peaks
        Peak centres: m/z values, or ion names (``"^7Li+"``, ``"Li2F+"``) whose exact m/z is used
        and which label the images.
    tolerance_ppm, tolerance_da
        Half-width of each window, relative (ppm) or absolute (m/z); exactly one.

    Returns
    -------
    xarray.DataArray
        ``ion_image`` with ``mz`` (window centre), ``mz_low``/``mz_high`` per peak; counts summed
        (float64 for imzML intensities). Pixels without a spectrum are 0.
    """
    if isinstance(data, (str, PathLike)):
        import ionscope

        data = ionscope.read(data, **options)
        options = {}
    if isinstance(data, EventTable):
        from ionscope.imaging.events import bin_events

        return bin_events(data, peaks=peaks, tolerance_ppm=tolerance_ppm, tolerance_da=tolerance_da, **options)
    if options:
        raise ValidationError(f"unexpected options {sorted(options)} for {type(data).__name__} input")
    if isinstance(data, xr.DataArray) and set(data.dims) == {"y", "x", "peak"}:
        return _from_peak_images(data, peaks, tolerance_ppm, tolerance_da)
    mz, lo, hi = peak_windows(peaks, tolerance_ppm=tolerance_ppm, tolerance_da=tolerance_da)
    params = {"peaks_mz": mz.tolist(), "tolerance_ppm": tolerance_ppm, "tolerance_da": tolerance_da}
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


def _from_peak_images(images: xr.DataArray, peaks: Sequence[float], tolerance_ppm: float | None,
                      tolerance_da: float | None) -> xr.DataArray:
    """Select the exported intervals (BIF6, binned events) that match ``peaks``.

    A peak matches an interval whose [mz_low, mz_high] contains it, else whose centre lies within
    the tolerance (if one is given); no match raises. The total-ion image (label ``total``) never matches.
    """
    if "mz" not in images.coords:
        raise ValidationError("these ion images carry no m/z per peak; select them by label instead")
    mz = np.atleast_1d(np.asarray(peaks, dtype=float))
    centre = np.asarray(images["mz"].values, dtype=float)
    low = np.asarray(images["mz_low"].values, dtype=float) if "mz_low" in images.coords else centre
    high = np.asarray(images["mz_high"].values, dtype=float) if "mz_high" in images.coords else centre
    total = np.asarray([str(p) == "total" for p in images["peak"].values])
    centre, low, high = (np.where(total, np.nan, a) for a in (centre, low, high))
    picks = []
    for m in mz:
        inside = np.flatnonzero((low <= m) & (m <= high))
        if inside.size:
            picks.append(int(inside[np.argmin(np.abs(centre[inside] - m))]))
            continue
        tol = m * tolerance_ppm * 1e-6 if tolerance_ppm is not None else tolerance_da
        k = int(np.nanargmin(np.abs(centre - m)))
        if tol is None or abs(centre[k] - m) > tol:
            raise ValidationError(f"no exported interval contains m/z {m:g} (nearest centre {centre[k]:g})")
        picks.append(k)
    return images.isel(peak=picks)


__all__ = ["ion_images", "peak_windows", "sum_into_bins", "window_sums"]
