"""Histogram raw events into ion images or cubes, streaming the event file in bounded memory.

Every TOF channel is first mapped to an output bin by a lookup table built from the calibration
(m/z = ((channel · binning − k0)/sf)², the quadratic TOF calibration of Vickerman & Briggs,
*ToF-SIMS: Materials Analysis by Mass Spectrometry*, 2nd ed., IM Publications 2013, ch. 3): the peak
whose window [m − Δ, m + Δ]
contains the channel's m/z, or the m/z bin it falls in. One compiled pass per chunk then does, per
event, ``bin = lut[tof]`` and increments ``out[scan, y // b, x // b, bin]`` (after subtracting the
scan's drift). Memory: one reused chunk buffer plus the output array.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from os import PathLike
from pathlib import Path
from typing import Any

import numba
import numpy as np
import xarray as xr

from ionscope.io.atomic import atomic_path
from ionscope.io.checks import MAX_IN_MEMORY_BYTES, checked_nbytes
from ionscope.io.zarr_store import _DATAARRAY_KEY, COMPLETE_KEY
from ionscope.library.windows import peak_positions, peak_windows
from ionscope.model.arrays import coord, labelled, pixel_axis
from ionscope.model.errors import ValidationError
from ionscope.model.events import Calibration, EventTable, Geometry
from ionscope.model.provenance import make_provenance

#: Most TOF channels a channel → output lookup table may span (12 bytes each while built: 2 GiB).
LUT_MAX_CHANNELS = (2 * 1024**3) // 12
#: Events read per chunk (20 bytes each): 4 Mi events = 80 MiB.
CHUNK_EVENTS = 1 << 22

#: m/z bin edges (Da): any increasing 1-D sequence or array.
MzEdges = Sequence[float] | np.ndarray


@numba.njit(cache=True, nogil=True)
def _bin_chunk(rec, lut, keep, scan0, shift_y, shift_x, nx_in, ny_in, b, shape, out):  # pragma: no cover
    """Histogram one chunk into the flat C-ordered ``out`` of ``shape`` (scans, ny_out, nx_out, bins)."""
    nsc, nyo, nxo, npk = shape[0], shape[1], shape[2], shape[3]
    nlut = lut.size
    nshift = shift_y.size
    outside_grid = 0
    other_scans = 0
    drifted_out = 0
    counted = 0
    for i in range(rec.shape[0]):
        t = rec[i, 4]
        if t >= nlut:
            continue
        k = lut[t]
        if k < 0:
            continue
        x = np.int64(rec[i, 2])
        y = np.int64(rec[i, 3])
        if x >= nx_in or y >= ny_in:
            outside_grid += 1
            continue
        s = np.int64(rec[i, 0])
        if nshift > 0:
            if s < nshift:
                y -= shift_y[s]
                x -= shift_x[s]
            if x < 0 or y < 0 or x >= nx_in or y >= ny_in:
                drifted_out += 1
                continue
        if b != 1:
            y //= b
            x //= b
            if y >= nyo or x >= nxo:
                continue
        si = 0
        if keep:
            si = s - scan0
            if si < 0 or si >= nsc:
                other_scans += 1
                continue
        out[((si * nyo + y) * nxo + x) * npk + k] += 1
        counted += 1
    return outside_grid, drifted_out, counted, other_scans


def channel_lut(cal: Calibration, lo: np.ndarray, hi: np.ndarray, *, what: str = "peak") -> np.ndarray:
    """Output index per TOF channel (−1: none) for windows lo[k] ≤ m/z ≤ hi[k] (sorted, disjoint).

    Channels before time zero (channel · binning < k0) have no m/z and map to −1.
    """
    order = np.argsort(lo)
    if np.any(lo[order][1:] <= hi[order][:-1]):
        raise ValidationError(f"{what} windows overlap; an event can count towards only one output")
    top = float(cal.channel(hi.max()))
    # The table costs 12 bytes per channel while built (float64 m/z + int32 index); past 2 GiB the
    # calibration, not the data, is wrong (TOF analysers record ~10⁶–10⁷ channels per cycle).
    if not np.isfinite(top) or top > LUT_MAX_CHANNELS:
        raise ValidationError(f"the calibration puts m/z {hi.max():g} at TOF channel {top:.3g}, beyond the "
                              f"{LUT_MAX_CHANNELS:.3g} channels a lookup table may span; check k0, sf and binning")
    n = int(np.floor(top)) + 2
    mz = cal.mz(np.arange(n))
    valid = np.isfinite(mz)
    first = int(np.argmax(valid))
    m = mz[first:]
    a = np.searchsorted(m, lo, side="left") + first
    b = np.searchsorted(m, hi, side="right") + first
    lut = np.full(n, -1, dtype=np.int32)
    for k in range(lo.size):
        lut[a[k]:b[k]] = k
    return lut


def bin_events(events: EventTable, *, peaks: Sequence[float | str] | None = None, tolerance_ppm: float | None = None,
               tolerance_da: float | None = None, mz_edges: MzEdges | None = None,
               keep_scans: bool = False, scans: tuple[int, int] | None = None, spatial_bin: int = 1,
               shifts: np.ndarray | None = None, chunk_events: int = CHUNK_EVENTS,
               event_range: tuple[int, int] | None = None,
               max_bytes: int = MAX_IN_MEMORY_BYTES,
               on_chunk: Callable[[int], None] | None = None, check_calibration: bool = True) -> xr.DataArray:
    """Histogram the events of ``events`` into ion images or an m/z-binned cube.

    Parameters
    ----------
    events
        An :class:`~ionscope.model.events.EventTable` with calibration and geometry.
    peaks, tolerance_ppm, tolerance_da
        Peak m/z and window half-width → output ``peak`` axis (windows must not overlap).
    mz_edges
        Instead of peaks: n+1 increasing m/z edges → output ``mz`` axis (bin k: edges[k] ≤ m/z < edges[k+1]).
    keep_scans
        Keep the scan axis: ``cube3d`` (scan, y, x, peak); otherwise scans are summed.
    scans
        ``(first, stop)`` scan range to keep (with ``keep_scans``); default all declared scans.
    spatial_bin
        Sum ``b × b`` pixel blocks (incomplete edge blocks are dropped).
    shifts
        (n_scans, 2) integer drift (dy, dx) in pixels of each scan relative to the reference: an
        event recorded at (y, x) in scan s is counted at (y − dy_s, x − dx_s); events moved out of
        the field are dropped and counted in ``attrs["events_drifted_out"]``.
    chunk_events
        Events per streamed chunk (memory: 2 × 20 bytes each).
    event_range
        ``(start, stop)`` record indices to read (default all); used to bin scan blocks of
        scan-ordered files without reading the rest (:func:`bin_events_to_zarr`).
    on_chunk
        Called with the number of events of each finished chunk (progress bars).
    check_calibration
        Test the calibration on the first events read (:func:`ionscope.io.tof_check.check_tof_calibration`:
        do the strongest TOF peaks land on common ions, do the peak windows hold more than a flat
        distribution?); its outcome goes to ``attrs["calibration_check"]`` and, when the calibration
        looks wrong, a warning (with a suggested k0/sf when the peaks determine one) to ``attrs["warnings"]``.

    Returns
    -------
    xarray.DataArray
        uint32 counts: ``ion_image`` (y, x, peak), ``cube3d`` (scan, y, x, peak) or
        ``hyperspectral`` (y, x, mz).
    """
    cal, geo, b = _check_request(events, peaks, mz_edges, keep_scans, spatial_bin)
    mz, lo, hi, lut = _output_bins(cal, peaks, tolerance_ppm, tolerance_da, mz_edges)
    scans, scan0, nsc = _scan_range(events, geo, keep_scans, scans)
    nyo, nxo = geo.ny // b, geo.nx // b
    checked_nbytes(events.path, (nsc, nyo, nxo, mz.size), np.uint32, what="binned event cube", limit=max_bytes,
                   limit_reason="allowed in memory")
    sy, sx = _drift_columns(shifts)
    out = np.zeros((nsc, nyo, nxo, mz.size), dtype=np.uint32)
    start, stop = (0, len(events)) if event_range is None else (int(event_range[0]), int(event_range[1]))
    # Buffers no larger than the events to read: a small file does not get 160 MB of chunk buffers.
    chunk_events = max(1, min(int(chunk_events), stop - start))
    check = None
    if check_calibration:  # on the first events, before the pass, which then finds them in the page cache
        from ionscope.io.tof_check import check_tof_calibration

        check = check_tof_calibration(events, windows=None if peaks is None else (lo, hi), start=start)
    tallies = _histogram(events, (start, stop), chunk_events, lut, keep_scans, scan0, (sy, sx), (geo.nx, geo.ny), b,
                         out, on_chunk)
    outside, drifted, counted, other = tallies
    if outside:
        raise ValidationError(f"{outside} events lie outside the declared {geo.ny} × {geo.nx} pixel grid; "
                              "check nx and ny", events.path)
    params = {"peaks_mz": mz.tolist() if peaks is not None else None, "tolerance_ppm": tolerance_ppm,
              "tolerance_da": tolerance_da, "n_mz_bins": None if mz_edges is None else int(mz.size),
              "keep_scans": keep_scans, "scans": scans, "spatial_bin": b, "shift_corrected": shifts is not None,
              "calibration": vars(cal), "geometry": vars(geo)}
    prov = make_provenance("ionscope.imaging.bin_events", inputs=[{"name": events.path.name,
                                                                    "bytes": events.path.stat().st_size}],
                           parameters=params)
    attrs = {"source_file": events.path.name, "events_counted": int(counted), "events_drifted_out": int(drifted),
             "events_other_scans": int(other), "events_total": int(len(events))}
    if check is not None:
        attrs.update(calibration_check=check.to_dict(), warnings=list(check.warnings))
    coords: dict[str, Any] = {"y": coord("y", pixel_axis(nyo, geo.pixel_size_um * b), "µm"),
                              "x": coord("x", pixel_axis(nxo, geo.pixel_size_um * b), "µm")}
    if mz_edges is not None:
        coords["mz"] = coord("mz", mz, "m/z")
        return labelled(out[0], "hyperspectral", coords=coords, attrs=attrs, provenance=prov)
    labels = peak_positions(peaks)[1] if peaks is not None else [f"{m:.4f}" for m in mz]
    coords["peak"] = xr.Variable("peak", np.asarray(labels, dtype=str))
    coords["mz"] = coord("peak", mz, "m/z")
    coords["mz_low"] = coord("peak", lo, "m/z")
    coords["mz_high"] = coord("peak", hi, "m/z")
    if keep_scans:
        coords["scan"] = coord("scan", np.arange(scan0, scan0 + nsc), "index")
        return labelled(out, "cube3d", coords=coords, attrs=attrs, provenance=prov)
    return labelled(out[0], "ion_image", coords=coords, attrs=attrs, provenance=prov)


def _check_request(events: EventTable, peaks: Sequence[float | str] | None, mz_edges: MzEdges | None,
                   keep_scans: bool, spatial_bin: int) -> tuple[Calibration, Geometry, int]:
    """The event table's calibration and geometry and the spatial bin, after checking that the
    request is one :func:`bin_events` can serve."""
    if not isinstance(events, EventTable):
        raise ValidationError(f"bin_events needs an EventTable, got {type(events).__name__}")
    cal, geo = events.calibration, events.geometry
    if cal is None or geo is None:
        raise ValidationError("binning events needs a calibration (k0, sf) and a geometry (nx, ny)", events.path)
    if (peaks is None) == (mz_edges is None):
        raise ValidationError("give either peaks (with a tolerance) or mz_edges")
    if keep_scans and mz_edges is not None:
        raise ValidationError("keep_scans needs peaks: a (scan, y, x, mz) cube is not an ionscope data kind")
    b = int(spatial_bin)
    if b < 1 or b > min(geo.nx, geo.ny):
        raise ValidationError(f"spatial_bin must be between 1 and {min(geo.nx, geo.ny)}, got {spatial_bin}")
    return cal, geo, b


def _output_bins(cal: Calibration, peaks: Sequence[float | str] | None, tolerance_ppm: float | None,
                 tolerance_da: float | None,
                 mz_edges: MzEdges | None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Output m/z (peak centres or bin centres), window bounds lo/hi and the channel lookup table."""
    if peaks is not None:
        mz, lo, hi = peak_windows(peaks, tolerance_ppm=tolerance_ppm, tolerance_da=tolerance_da)
        return mz, lo, hi, channel_lut(cal, lo, hi)
    edges = np.asarray(mz_edges, dtype=float)
    if edges.ndim != 1 or edges.size < 2 or np.any(np.diff(edges) <= 0) or edges[0] <= 0:
        raise ValidationError("mz_edges must be at least two strictly increasing positive m/z values")
    lo, hi = edges[:-1], np.nextafter(edges[1:], -np.inf)
    mz = 0.5 * (edges[:-1] + edges[1:])
    return mz, lo, hi, channel_lut(cal, lo, hi, what="m/z bin")


def _scan_range(events: EventTable, geo: Geometry, keep_scans: bool,
                scans: tuple[int, int] | None) -> tuple[tuple[int, int] | None, int, int]:
    """``(scans, first scan, number of scans)`` of the output: all declared (or recorded) scans by
    default when the scan axis is kept, one summed scan otherwise."""
    if not keep_scans:
        return scans, 0, 1
    if scans is None:
        n_scans = geo.n_scans
        if n_scans is None:
            n_scans = int(events.column("scan")[-1]) + 1 if len(events) else 1
        scans = (0, n_scans)
    scan0, nsc = int(scans[0]), int(scans[1]) - int(scans[0])
    if nsc < 1:
        raise ValidationError(f"empty scan range {scans}")
    return scans, scan0, nsc


def _drift_columns(shifts: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Per-scan whole-pixel drift (dy, dx) as two int64 columns (empty: no drift correction)."""
    if shifts is None:
        sy = sx = np.zeros(0, dtype=np.int64)
        return sy, sx
    sh = np.asarray(shifts)
    if sh.ndim != 2 or sh.shape[1] != 2 or np.any(sh != np.round(sh)):
        raise ValidationError("shifts must be an (n_scans, 2) array of whole-pixel (dy, dx) drifts")
    return np.ascontiguousarray(sh[:, 0], dtype=np.int64), np.ascontiguousarray(sh[:, 1], dtype=np.int64)


def _histogram(events: EventTable, bounds: tuple[int, int], chunk_events: int, lut: np.ndarray, keep_scans: bool,
               scan0: int, drift: tuple[np.ndarray, np.ndarray], grid: tuple[int, int], b: int, out: np.ndarray,
               on_chunk: Callable[[int], None] | None) -> tuple[int, int, int, int]:
    """Stream records ``bounds`` of ``events`` chunk by chunk into ``out``; return the events outside
    the ``grid`` (nx, ny), drifted out of the field, counted, and of scans outside the range."""
    flat = out.reshape(-1)
    shape = np.array(out.shape, dtype=np.int64)
    outside = drifted = counted = other = 0
    for _start, block in events.iter_chunks(chunk_events, *bounds):
        o, d, c, x = _bin_chunk(block, lut, keep_scans, scan0, drift[0], drift[1], grid[0], grid[1], b, shape, flat)
        outside, drifted, counted, other = outside + o, drifted + d, counted + c, other + x
        if on_chunk is not None:
            on_chunk(block.shape[0])
    return outside, drifted, counted, other


def bin_events_to_zarr(events: EventTable, path: str | PathLike[str], *, scans_per_block: int = 8,
                       force: bool = False, on_chunk: Callable[[int], None] | None = None,
                       **options: Any) -> Path:
    """Bin a scan-ordered event file into a ``cube3d`` (scan, y, x, peak) Zarr store, block by block.

    Only ``scans_per_block`` scans are held in memory at a time: the record range of each block is
    found by binary search on the memory-mapped scan column, binned with :func:`bin_events`
    (``keep_scans=True``) and appended to the store along ``scan``. The store is written to a
    temporary folder and renamed into place; read it with ``ionscope.read`` (lazy).

    Raises
    ------
    ValidationError
        If the events are not ordered by scan (an event of another scan appears inside a block).
    """
    if events.geometry is None:
        raise ValidationError("binning events needs a geometry (nx, ny)", events.path)
    scan_col = events.column("scan")
    n_scans = events.geometry.n_scans or (int(scan_col[-1]) + 1 if len(events) else 1)
    first = list(range(0, n_scans, max(1, int(scans_per_block)))) + [n_scans]
    bounds = np.searchsorted(scan_col, np.asarray(first, dtype=np.uint32), side="left")
    counted = drifted = 0
    checked: dict[str, Any] = {}
    check_first = options.pop("check_calibration", True)
    with atomic_path(path, force=force, directory=True) as tmp:
        for j in range(len(first) - 1):
            cube = bin_events(events, keep_scans=True, scans=(first[j], first[j + 1]),
                              event_range=(int(bounds[j]), int(bounds[j + 1])), on_chunk=on_chunk,
                              check_calibration=j == 0 and check_first, **options)
            checked = checked or {k: cube.attrs[k] for k in ("calibration_check", "warnings") if k in cube.attrs}
            if cube.attrs["events_other_scans"]:
                raise ValidationError("events are not ordered by scan; bin with bin_events(keep_scans=True) "
                                      "instead", events.path)
            counted += cube.attrs["events_counted"]
            drifted += cube.attrs["events_drifted_out"]
            ds = cube.to_dataset(name="data")
            ds.attrs = {_DATAARRAY_KEY: "data", COMPLETE_KEY: True}
            for c in ds.coords.values():
                if c.dtype.kind == "U":
                    ds.coords[c.name] = c.astype(object)
            ds["data"].attrs = {k: v for k, v in cube.attrs.items() if k not in ("events_counted",)}
            if j == 0:
                ds.to_zarr(tmp, mode="w", zarr_format=3, consolidated=False, write_empty_chunks=True)
            else:
                ds.drop_vars([c for c in ds.coords if "scan" not in ds[c].dims]).to_zarr(
                    tmp, append_dim="scan", consolidated=False, write_empty_chunks=True)
        import zarr

        group = zarr.open_group(tmp, mode="r+")
        attrs = dict(group["data"].attrs)
        attrs.update(events_counted=int(counted), events_drifted_out=int(drifted), **checked)
        group["data"].attrs.update(attrs)
    return Path(path)


__all__ = ["bin_events", "bin_events_to_zarr", "channel_lut"]
