"""Raw TOF-SIMS events: a columnar, memory-mapped table of (scan, shot, x, y, tof) records.

An IONTOF GRD export holds one little-endian record of five ``uint32`` per detected secondary ion:
scan (frame) number, primary-ion shot number within the pixel, pixel column x, pixel row y and
the TOF channel. A 2 GB file holds 10⁸ events; it is never loaded whole: columns are strided views
of a read-only :class:`numpy.memmap`, and :meth:`EventTable.iter_chunks` streams fixed-size blocks
through one reused buffer (bounded memory).

Mass calibration is the IONTOF convention (Sharma et al. 2025, doi:10.1080/14686996.2025.2580917):
m/z = ((channel · binning − k0) / sf)².
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ionscope.model.errors import ValidationError

#: One GRD record.
RECORD = np.dtype([("scan", "<u4"), ("shot", "<u4"), ("x", "<u4"), ("y", "<u4"), ("tof", "<u4")])
COLUMNS: tuple[str, ...] = tuple(RECORD.names or ())


@dataclass(frozen=True)
class Calibration:
    """TOF → m/z calibration m/z = ((channel · binning − k0) / sf)².

    ``k0`` is the time-zero offset (channels), ``sf`` the scale factor (channels per √(m/z)),
    ``binning`` the channel binning of the export (1 for raw GRD channels).
    """

    k0: float
    sf: float
    binning: float = 1.0

    def __post_init__(self) -> None:
        if not (np.isfinite(self.sf) and self.sf > 0 and np.isfinite(self.k0) and self.binning > 0):
            raise ValidationError(f"calibration needs a positive sf and binning and a finite k0, got {self}")

    def mz(self, channel: Any) -> np.ndarray:
        """m/z of TOF channel(s); channels before time zero give NaN."""
        t = np.asarray(channel, dtype=float) * self.binning - self.k0
        return np.where(t >= 0, (t / self.sf) ** 2, np.nan)

    def channel(self, mz: Any) -> np.ndarray:
        """Fractional TOF channel of m/z value(s) (inverse of :meth:`mz`)."""
        return (np.sqrt(np.asarray(mz, dtype=float)) * self.sf + self.k0) / self.binning


@dataclass(frozen=True)
class Geometry:
    """Raster geometry of an acquisition: pixels per row/column, pixel size (µm), optional scan count."""

    nx: int
    ny: int
    pixel_size_um: float = 1.0
    n_scans: int | None = None

    def __post_init__(self) -> None:
        if self.nx <= 0 or self.ny <= 0 or not self.pixel_size_um > 0:
            raise ValidationError(f"geometry needs positive nx, ny and pixel size, got {self}")


@dataclass
class EventTable:
    """Memory-mapped event records of one file, with the user's calibration and geometry."""

    path: Path
    calibration: Calibration | None = None
    geometry: Geometry | None = None
    header_bytes: int = 0
    attrs: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.path = Path(self.path)
        self._records: np.memmap | None = None

    @property
    def n_events(self) -> int:
        return (self.path.stat().st_size - self.header_bytes) // RECORD.itemsize

    @property
    def records(self) -> np.memmap:
        """All records as a read-only structured memory map (nothing is read until indexed)."""
        if self._records is None:
            self._records = np.memmap(self.path, dtype=RECORD, mode="r", offset=self.header_bytes,
                                      shape=(self.n_events,))
        return self._records

    def column(self, name: str) -> np.ndarray:
        """A strided, memory-mapped view of one column (``scan``, ``shot``, ``x``, ``y``, ``tof``)."""
        if name not in COLUMNS:
            raise ValidationError(f"no event column {name!r}; columns are {COLUMNS}")
        return self.records[name]

    def __len__(self) -> int:
        return self.n_events

    def iter_chunks(self, chunk_events: int = 1 << 22, start: int = 0, stop: int | None = None, *,
                    prefetch: bool = True) -> Iterator[tuple[int, np.ndarray]]:
        """Yield ``(first_event_index, records)`` blocks as (n, 5) ``uint32`` arrays.

        Two buffers of ``chunk_events`` × 20 bytes are reused: a yielded array is overwritten two
        steps later, so memory stays bounded whatever the file size. With ``prefetch`` the next block
        is read by a background thread while the caller works on the current one (reading releases
        the GIL, so I/O and computation overlap on two cores).
        """
        stop = self.n_events if stop is None else min(stop, self.n_events)
        bufs = [np.empty((chunk_events, 5), dtype="<u4") for _ in range(2 if prefetch else 1)]
        raws = [b.data.cast("B") for b in bufs]
        with open(self.path, "rb") as fh:
            fh.seek(self.header_bytes + start * RECORD.itemsize)

            def read(k: int, n: int) -> int:
                got = fh.readinto(raws[k][: n * RECORD.itemsize])
                return (got or 0) // RECORD.itemsize

            pos = start
            if not prefetch:
                while pos < stop:
                    n = read(0, min(chunk_events, stop - pos))
                    if n == 0:
                        break
                    yield pos, bufs[0][:n]
                    pos += n
                return
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(max_workers=1) as pool:
                k = 0
                pending = pool.submit(read, k, min(chunk_events, stop - pos)) if pos < stop else None
                while pending is not None:
                    n = pending.result()
                    if n == 0:
                        break
                    nxt = pos + n
                    pending = pool.submit(read, 1 - k, min(chunk_events, stop - nxt)) if nxt < stop else None
                    yield pos, bufs[k][:n]
                    pos, k = nxt, 1 - k

    def mz(self, channel: Any) -> np.ndarray:
        """m/z of TOF channels with this table's calibration."""
        if self.calibration is None:
            raise ValidationError("no mass calibration: pass k0 and sf (calibration=Calibration(k0, sf))", self.path)
        return self.calibration.mz(channel)

    def describe(self) -> dict[str, Any]:
        """Summary for ``ionscope info`` (reads only the first and last records)."""
        n = self.n_events
        rec = self.records
        first = {c: int(rec[0][c]) for c in COLUMNS} if n else None
        last = {c: int(rec[n - 1][c]) for c in COLUMNS} if n else None
        out: dict[str, Any] = {
            "kind": "events", "name": self.path.name, "dims": ["event"], "shape": [n], "dtype": "5 × uint32",
            "lazy": True, "coords": {c: ("channel" if c == "tof" else "index") for c in COLUMNS},
            "coord_ranges": {},
            "attrs": {"bytes": self.path.stat().st_size, "first_event": first, "last_event": last,
                      "calibration": None if self.calibration is None else vars(self.calibration),
                      "geometry": None if self.geometry is None else vars(self.geometry), **self.attrs},
        }
        return out


__all__ = ["COLUMNS", "RECORD", "Calibration", "EventTable", "Geometry"]
