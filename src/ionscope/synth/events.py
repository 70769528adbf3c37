"""Virtual raw-event acquisitions (GRD files) and processed imzML with known ion rates.

:func:`raw_events` draws, for every scan and pixel, Poisson numbers of ions of each species (mean
``rate[species, y, x]`` per scan) plus a flat background over the TOF range, gives each ion a TOF
channel from the calibration with a Gaussian peak width, optionally moves whole scans by an integer
drift, and streams the records to a GRD file scan by scan. :func:`processed_imzml_spectra`
yields centroided spectra of ~2,000 peaks per pixel for imzML tests and benchmarks.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from ionscope.io.atomic import atomic_path
from ionscope.model.events import Calibration, EventTable, Geometry
from ionscope.synth.core import GroundTruth, SeedLike, make_rng

DEFAULT_CALIBRATION = Calibration(k0=2000.0, sf=20000.0, binning=1.0)


def disc_rate_maps(ny: int, nx: int, peaks_mz: Sequence[float] | np.ndarray, *, peak_rate: float = 2.0,
                   seed: SeedLike = 0) -> np.ndarray:
    """(n_species, ny, nx) mean ions per pixel per scan: each species a bright disc on a dim floor."""
    rng = make_rng(seed)
    yy, xx = np.mgrid[0:ny, 0:nx]
    maps = []
    for _ in peaks_mz:
        cy, cx = rng.uniform(0.25, 0.75) * ny, rng.uniform(0.25, 0.75) * nx
        r = rng.uniform(0.15, 0.3) * min(nx, ny)
        maps.append(np.where((yy - cy) ** 2 + (xx - cx) ** 2 <= r * r, peak_rate, 0.1 * peak_rate))
    return np.asarray(maps)


def raw_events(path: str | Path, *, nx: int = 64, ny: int = 64, n_scans: int = 4,
               peaks_mz: Sequence[float] = (6.015, 7.016, 22.990, 58.93),
               rates: np.ndarray | None = None, background_per_pixel: float = 0.5,
               peak_width_channels: float = 2.0, shots_per_pixel: int = 100,
               drift_px: np.ndarray | None = None, calibration: Calibration = DEFAULT_CALIBRATION,
               pixel_size_um: float = 1.0, mz_range: tuple[float, float] = (1.0, 100.0),
               seed: SeedLike = 0, force: bool = False) -> tuple[EventTable, GroundTruth]:
    """Simulate a raw-event acquisition and write it as a GRD file at ``path``.

    Parameters
    ----------
    rates
        (n_species, ny, nx) expected ions per pixel per scan; default :func:`disc_rate_maps`.
    background_per_pixel
        Expected background ions per pixel per scan, uniform in TOF channel over ``mz_range``.
    peak_width_channels
        Gaussian σ of each peak in TOF channels (events are rounded to whole channels).
    drift_px
        (n_scans, 2) integer (dy, dx) drift of each scan: an ion from true pixel (y, x) is recorded at
        (y + dy, x + dx); ions drifted outside the field are lost (as on the instrument).

    Returns
    -------
    (EventTable, GroundTruth)
        The table (calibration and geometry attached) and the truth: ``rates``,
        ``expected_counts`` (summed over scans, in the true frame), ``drift_px`` and the fraction of
        each peak inside ±3σ.
    """
    rng = make_rng(seed)
    mz = np.asarray(peaks_mz, dtype=float)
    if rates is None:
        rates = disc_rate_maps(ny, nx, mz, seed=rng)
    rates = np.asarray(rates, dtype=float)
    if rates.shape != (mz.size, ny, nx):
        raise ValueError(f"rates must have shape {(mz.size, ny, nx)}, got {rates.shape}")
    drift = np.zeros((n_scans, 2), dtype=np.int64) if drift_px is None else np.asarray(drift_px, dtype=np.int64)
    ch_lo, ch_hi = calibration.channel(mz_range[0]), calibration.channel(mz_range[1])
    centre_ch = calibration.channel(mz)
    yy, xx = np.mgrid[0:ny, 0:nx]
    with atomic_path(path, force=force) as tmp, open(tmp, "wb") as fh:
        for s in range(n_scans):
            lam = np.concatenate([rates, np.full((1, ny, nx), background_per_pixel)])
            counts = rng.poisson(lam)  # (species + 1, ny, nx)
            species = np.repeat(np.repeat(np.arange(lam.shape[0]), ny * nx), counts.ravel())
            pix = np.repeat(np.tile(np.arange(ny * nx), lam.shape[0]), counts.ravel())
            n = species.size
            tof = np.empty(n)
            is_bg = species == mz.size
            tof[is_bg] = rng.uniform(ch_lo, ch_hi, is_bg.sum())
            sig = ~is_bg
            tof[sig] = rng.normal(centre_ch[species[sig]], peak_width_channels)
            y = yy.ravel()[pix] + drift[s, 0]
            x = xx.ravel()[pix] + drift[s, 1]
            keep = (y >= 0) & (y < ny) & (x >= 0) & (x < nx)
            order = np.argsort(pix[keep], kind="stable")  # acquisition order: pixel raster within a scan
            rec = np.empty((int(keep.sum()), 5), dtype="<u4")
            rec[:, 0] = s
            rec[:, 1] = rng.integers(0, shots_per_pixel, rec.shape[0])
            rec[:, 2] = x[keep][order]
            rec[:, 3] = y[keep][order]
            rec[:, 4] = np.rint(tof[keep][order])
            fh.write(rec.tobytes())
    table = EventTable(Path(path), calibration=calibration, geometry=Geometry(nx, ny, pixel_size_um, n_scans))
    from math import erf, sqrt

    truth = GroundTruth(
        "ionscope.synth.events.raw_events",
        {"nx": nx, "ny": ny, "n_scans": n_scans, "peaks_mz": mz.tolist(),
         "background_per_pixel": background_per_pixel, "peak_width_channels": peak_width_channels,
         "calibration": vars(calibration), "pixel_size_um": pixel_size_um, "seed": seed if isinstance(seed, int)
         else None},
        {"rates": rates, "expected_counts": rates * n_scans, "drift_px": drift,
         "fraction_within_3sigma": erf(3 / sqrt(2))},
    )
    return table, truth


def processed_imzml_spectra(ny: int, nx: int, *, peaks_per_spectrum: int = 2000, mz_range: tuple[float, float] = (
        1.0, 1000.0), seed: SeedLike = 0) -> Iterator[tuple[int, int, np.ndarray, np.ndarray]]:
    """Yield ``(x, y, mz, counts)`` centroided spectra for a processed imzML, pixel by pixel.

    Every pixel has its own sorted m/z list (``peaks_per_spectrum`` values, float64) and whole-number
    counts (Poisson, mean 5), as a processed TOF-SIMS export would. Deterministic for a given seed.
    """
    rng = make_rng(seed)
    lo, hi = mz_range
    for y in range(ny):
        for x in range(nx):
            mz = np.sort(rng.uniform(lo, hi, peaks_per_spectrum))
            counts = rng.poisson(5.0, peaks_per_spectrum).astype(np.float32)
            yield x, y, mz, counts


__all__ = ["DEFAULT_CALIBRATION", "disc_rate_maps", "processed_imzml_spectra", "raw_events"]
