"""imzML reader (continuous and processed) over a memory-mapped ``.ibd``.

* **continuous** files (one m/z axis shared by every pixel) become a ``hyperspectral`` array
  ``(y, x, mz)``; Dask-backed (row blocks read from the memory map on demand) above
  :data:`LAZY_THRESHOLD` bytes or with ``lazy=True``.
* **processed** files (an m/z array per pixel) become an :class:`ImzMLData`: the sparse
  pixel × (m/z, intensity) representation, backed by the memory map. It is densified only when
  asked — :meth:`ImzMLData.spectrum` for one pixel, :func:`ionscope.imaging.ion_images` for chosen
  peaks, :meth:`ImzMLData.binned` for an explicit m/z binning.

Pixels without a spectrum (sparse pixels) read as 0 and are counted in ``attrs["notes"]``.
"""

from __future__ import annotations

from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from ionscope.io.checks import MAX_IN_MEMORY_BYTES, checked_nbytes
from ionscope.io.imzml_index import ImzMLIndex, describe_index, parse_index, verify_ibd
from ionscope.io.registry import FormatPlugin, PositiveFloat, ReaderOptions
from ionscope.model.arrays import coord, labelled, pixel_axis
from ionscope.model.errors import ValidationError


class ImzMLOptions(ReaderOptions):
    """Reader options of imzML files."""

    lazy: bool | None = None
    as_spectra: bool = False
    checksum: bool = True
    mz_bin: PositiveFloat | None = None
    salvage: bool = False


#: Continuous images larger than this (bytes, dense) are returned Dask-backed unless ``lazy=False``.
LAZY_THRESHOLD = 1024**3


@dataclass
class ImzMLData:
    """An opened imzML file: its :class:`~ionscope.io.imzml_index.ImzMLIndex` and the mapped ``.ibd``."""

    index: ImzMLIndex
    ibd: np.memmap

    @property
    def mode(self) -> str:
        return self.index.mode

    @property
    def shape(self) -> tuple[int, int]:
        """(ny, nx) of the pixel grid."""
        return self.index.ny, self.index.nx

    @property
    def n_spectra(self) -> int:
        return self.index.n_spectra

    @property
    def pixel_size_um(self) -> tuple[float, float]:
        """(y, x) pixel size in µm; 1 µm each when the file does not say (recorded in notes)."""
        return self.index.pixel_size_um or (1.0, 1.0)

    def typed_view(self, role: str, residue: int) -> np.ndarray:
        """The ``.ibd`` as a 1-D array of the m/z (``role="mz"``) or intensity number type, starting at byte
        ``residue`` (0 ≤ residue < itemsize), so that value ``k`` of an array at byte ``off`` is element
        ``(off - residue) // itemsize``."""
        dt = self.index.mz_dtype if role == "mz" else self.index.int_dtype
        n = (self.ibd.size - residue) // dt.itemsize
        return np.ndarray((n,), dtype=dt, buffer=self.ibd, offset=residue)

    def spectrum(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """(m/z, intensity) of spectrum ``i`` (file order), copied out of the memory map."""
        ix = self.index
        if not 0 <= i < ix.n_spectra:
            raise ValidationError(f"spectrum index {i} outside 0…{ix.n_spectra - 1}")
        mz = np.frombuffer(self.ibd, ix.mz_dtype, int(ix.mz_length[i]), int(ix.mz_offset[i]))
        it = np.frombuffer(self.ibd, ix.int_dtype, int(ix.int_length[i]), int(ix.int_offset[i]))
        return mz.copy(), it.copy()

    def spectrum_at(self, y: int, x: int) -> tuple[np.ndarray, np.ndarray]:
        """(m/z, intensity) of the pixel at 0-based row ``y``, column ``x`` (empty if none)."""
        hit = np.flatnonzero((self.index.y == y + 1) & (self.index.x == x + 1))
        if hit.size == 0:
            return np.empty(0, self.index.mz_dtype), np.empty(0, self.index.int_dtype)
        return self.spectrum(int(hit[0]))

    def to_grid(self, per_spectrum: np.ndarray, fill: float = 0) -> np.ndarray:
        """Place a (n_spectra, k) array on the (ny, nx, k) pixel grid; pixels without a spectrum get ``fill``.

        When several spectra share a pixel (3-D imzML, z > 1) the last one wins.
        """
        out = np.full((self.index.ny, self.index.nx) + per_spectrum.shape[1:], fill, dtype=per_spectrum.dtype)
        out[self.index.y - 1, self.index.x - 1] = per_spectrum
        return out

    def mz_range(self) -> tuple[float, float]:
        """Smallest and largest m/z of any spectrum (from the first and last value of each sorted array)."""
        ix = self.index
        full = ix.mz_length > 0
        if not full.any():
            raise ValidationError("every spectrum is empty", ix.path)
        dt = np.dtype(ix.mz_dtype)
        raw = np.frombuffer(self.ibd, np.uint8)
        off = np.unique(np.stack([ix.mz_offset[full], ix.mz_length[full]]).astype(np.int64), axis=1)

        def values_at(byte_offsets: np.ndarray) -> np.ndarray:  # one value per offset, gathered at once
            return np.ascontiguousarray(raw[byte_offsets[:, None] + np.arange(dt.itemsize)]).view(dt).ravel()

        firsts = values_at(off[0])
        lasts = values_at(off[0] + (off[1] - 1) * dt.itemsize)
        return float(firsts.min()), float(lasts.max())

    def binned(self, mz_edges: np.ndarray, *, max_bytes: int = MAX_IN_MEMORY_BYTES) -> xr.DataArray:
        """Densify onto explicit m/z bins: a ``hyperspectral`` (y, x, mz) array of summed intensities.

        ``mz_edges`` are the n+1 increasing bin edges (m/z); a value ``m`` falls in bin ``k`` when
        ``edges[k] ≤ m < edges[k+1]``. The size is checked against ``max_bytes`` before allocation.
        """
        from ionscope.io.imzml_sums import sum_into_bins

        edges = np.asarray(mz_edges, dtype=float)
        if edges.ndim != 1 or edges.size < 2 or np.any(np.diff(edges) <= 0):
            raise ValidationError("mz_edges must be at least two strictly increasing m/z values")
        checked_nbytes(self.index.path, (self.index.ny, self.index.nx, edges.size - 1), np.float64,
                       what="binned image", limit=max_bytes,
                       limit_reason="allowed in memory")
        per = sum_into_bins(self, edges)
        centres = 0.5 * (edges[:-1] + edges[1:])
        return hyperspectral_array(self.to_grid(per), centres, self, extra={"mz_edges": edges.tolist()})

    def to_dataset(self, *, block_bytes: int = 32 * 1024**2) -> xr.Dataset:
        """The sparse spectra as an :class:`xarray.Dataset` (lossless; what the Zarr store holds).

        Variables ``mz`` and ``intensity`` concatenate every spectrum's values along ``value``;
        spectrum ``i`` is ``value[start[i] : start[i] + length[i]]``, at 0-based pixel
        (``pixel_y[i]``, ``pixel_x[i]``). The values stay Dask-backed (blocks of about
        ``block_bytes`` gathered from the memory map), so a large file is streamed, not loaded.
        """
        import dask
        import dask.array as dsa

        ix = self.index
        lengths = np.minimum(ix.mz_length, ix.int_length).astype(np.int64)
        start = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
        per_value = ix.mz_dtype.itemsize + ix.int_dtype.itemsize
        arrays: dict[str, list[Any]] = {"mz": [], "intensity": []}
        i0 = 0
        while i0 < ix.n_spectra:
            i1, acc = i0, 0
            while i1 < ix.n_spectra and (i1 == i0 or acc + lengths[i1] * per_value <= block_bytes):
                acc += int(lengths[i1]) * per_value
                i1 += 1
            n = int(lengths[i0:i1].sum())
            for role, dt in (("mz", ix.mz_dtype), ("intensity", ix.int_dtype)):
                arrays[role].append(dsa.from_delayed(dask.delayed(_gather)(self, role, i0, i1, lengths), (n,), dt))
            i0 = i1
        py, px = self.pixel_size_um
        attrs = {"kind": "imzml_spectra", "imzml_mode": ix.mode, "grid": [ix.ny, ix.nx],
                 "pixel_size_um": [py, px], "source_file": ix.path.name, "uuid": ix.uuid,
                 "polarity": ix.polarity, "notes": list(ix.notes),
                 "pixel_size_source": "imzML scanSettings" if ix.pixel_size_um else "unknown: 1 µm assumed"}
        empty = {"mz": np.empty(0, ix.mz_dtype), "intensity": np.empty(0, ix.int_dtype)}
        data = {k: (("value",), dsa.concatenate(v) if v else empty[k]) for k, v in arrays.items()}
        ds = xr.Dataset(data, coords={"pixel_y": ("spectrum", ix.y - 1), "pixel_x": ("spectrum", ix.x - 1),
                                      "start": ("spectrum", start), "length": ("spectrum", lengths)},
                        attrs=attrs)
        ds["mz"].attrs["units"] = "m/z"
        ds["intensity"].attrs["units"] = "counts"
        for name in ("pixel_y", "pixel_x", "start", "length"):
            ds.coords[name].attrs["units"] = "index"
        return ds

    def describe(self) -> dict[str, Any]:
        """Summary for ``ionscope info``."""
        d = describe_index(self.index)
        py, px = self.pixel_size_um
        ranges = {"y": [py / 2, py * (self.index.ny - 0.5)], "x": [px / 2, px * (self.index.nx - 0.5)]}
        if (self.index.mz_length > 0).any():
            ranges["mz"] = list(self.mz_range())
        # a processed file has one m/z array per pixel: the third size is the longest spectrum's peak count
        return {"kind": "imzml_spectra", "name": self.index.path.name, "dims": ["y", "x", "peak"],
                "shape": [self.index.ny, self.index.nx, int(self.index.int_length.max(initial=0))],
                "lazy": True, "coords": {"y": "µm", "x": "µm", "mz": "m/z"}, "coord_ranges": ranges,
                "attrs": d}


def _gather(src: ImzMLData, role: str, i0: int, i1: int, lengths: np.ndarray) -> np.ndarray:
    """Values of spectra ``i0 ≤ i < i1`` of one role (m/z or intensity), concatenated."""
    ix = src.index
    off, dt = (ix.mz_offset, ix.mz_dtype) if role == "mz" else (ix.int_offset, ix.int_dtype)
    parts = [np.frombuffer(src.ibd, dt, int(lengths[i]), int(off[i])) for i in range(i0, i1)]
    return np.concatenate(parts) if parts else np.empty(0, dt)


def open_imzml(path: str | PathLike[str], *, checksum: bool = True, salvage: bool = False) -> ImzMLData:
    """Parse the index of ``path``, check the ``.ibd`` (UUID, SHA-1/MD5, extents) and map it read-only.

    ``salvage``: spectra beyond the end of a truncated ``.ibd`` are left out with a warning.
    """
    idx = parse_index(path, salvage=salvage)
    verify_ibd(idx, checksum=checksum, salvage=salvage)
    return ImzMLData(idx, np.memmap(idx.ibd_path, dtype=np.uint8, mode="r"))


def hyperspectral_array(data: Any, mz: np.ndarray, src: ImzMLData, extra: dict[str, Any] | None = None
                        ) -> xr.DataArray:
    """Wrap a (y, x, mz) array read from ``src`` in the data model."""
    py, px = src.pixel_size_um
    ix = src.index
    coords = {"y": coord("y", pixel_axis(ix.ny, py), "µm"), "x": coord("x", pixel_axis(ix.nx, px), "µm"),
              "mz": coord("mz", np.asarray(mz, dtype=float), "m/z")}
    attrs = {"source_file": ix.path.name, "imzml_mode": ix.mode, "uuid": ix.uuid, "polarity": ix.polarity,
             "pixel_size_source": "imzML scanSettings" if ix.pixel_size_um else "unknown: 1 µm assumed",
             "notes": list(ix.notes), **(extra or {})}
    return labelled(data, "hyperspectral", coords=coords, units="counts", attrs=attrs)


def continuous_cube(src: ImzMLData, *, lazy: bool | None = None) -> xr.DataArray:
    """The (y, x, mz) array of a continuous imzML; Dask-backed when large or ``lazy``."""
    ix = src.index
    nmz = int(ix.mz_length.max())
    first = int(np.argmax(ix.mz_length))
    mz = np.frombuffer(src.ibd, ix.mz_dtype, nmz, int(ix.mz_offset[first])).astype(float)
    nbytes = checked_nbytes(ix.path, (ix.ny, ix.nx, nmz), ix.int_dtype, what="continuous image")
    use_lazy = nbytes > LAZY_THRESHOLD if lazy is None else lazy
    if not use_lazy:
        return hyperspectral_array(_rows(src, 0, ix.ny, nmz), mz, src)
    import dask
    import dask.array as dsa

    rows_per_block = max(1, int(64 * 1024**2 // max(1, ix.nx * nmz * ix.int_dtype.itemsize)))
    blocks = []
    for y0 in range(0, ix.ny, rows_per_block):
        y1 = min(ix.ny, y0 + rows_per_block)
        blocks.append(dsa.from_delayed(dask.delayed(_rows)(src, y0, y1, nmz), (y1 - y0, ix.nx, nmz), ix.int_dtype))
    return hyperspectral_array(dsa.concatenate(blocks, axis=0), mz, src)


def _rows(src: ImzMLData, y0: int, y1: int, nmz: int) -> np.ndarray:
    """Dense rows ``y0 ≤ y < y1`` (0-based) of a continuous image, gathered from the memory map."""
    ix = src.index
    out = np.zeros((y1 - y0, ix.nx, nmz), dtype=ix.int_dtype)
    sel = np.flatnonzero((ix.y > y0) & (ix.y <= y1) & (ix.int_length > 0))
    if sel.size == 0:
        return out
    item = ix.int_dtype.itemsize
    offs = ix.int_offset[sel]
    residue = int(offs[0] % item)
    if np.all(offs % item == residue):
        view = src.typed_view("int", residue)
        starts = (offs - residue) // item
        idx = starts[:, None] + np.arange(nmz)[None, :]
        out[ix.y[sel] - 1 - y0, ix.x[sel] - 1] = view[idx]
    else:  # arrays not aligned to a common residue: copy one by one
        for i in sel:
            out[ix.y[i] - 1 - y0, ix.x[i] - 1] = np.frombuffer(src.ibd, ix.int_dtype, nmz, int(ix.int_offset[i]))
    return out


def read_imzml(path: str | PathLike[str], *, lazy: bool | None = None, as_spectra: bool = False,
               checksum: bool = True, mz_bin: float | None = None, salvage: bool = False
               ) -> xr.DataArray | ImzMLData:
    """Read an imzML file (``.imzML`` + ``.ibd``).

    Parameters
    ----------
    lazy
        Continuous files: return a Dask-backed array (default: only above 1 GB).
    as_spectra
        Return the sparse :class:`ImzMLData` even for continuous files.
    checksum
        Verify the SHA-1 (or MD5) the XML declares for the ``.ibd`` (reads the whole ``.ibd`` once).
    mz_bin
        Processed files: densify onto m/z bins of this width (m/z units) spanning the data, giving a
        ``hyperspectral`` array (e.g. for ``ionscope convert x.imzML x.zarr -o mz_bin=0.01``).
    salvage
        A truncated ``.ibd``: read the spectra that lie inside it (the others' pixels read as 0), with
        a :class:`~ionscope.io.checks.TruncatedWarning`.
    """
    src = open_imzml(path, checksum=checksum, salvage=salvage)
    if mz_bin is not None and src.mode == "processed":
        lo, hi = src.mz_range()
        width = float(mz_bin)
        if not width > 0:
            raise ValidationError(f"mz_bin must be a positive m/z width, got {mz_bin!r}")
        n = int(np.ceil((hi - lo) / width)) + 1
        checked_nbytes(src.index.path, (src.index.ny, src.index.nx, n), np.float64, what="binned image",
                       limit=MAX_IN_MEMORY_BYTES, limit_reason="allowed in memory (choose a wider mz_bin)")
        return src.binned(lo + width * np.arange(n + 1))
    if src.mode == "processed" or as_spectra:
        return src
    return continuous_cube(src, lazy=lazy)


def _sniff(path: Path, head: bytes) -> bool:
    text = head[:4096].decode("latin-1", errors="replace")
    return "<mzML" in text and ("IMS:" in text or "imagingMS" in text)


def _write(obj: Any, path: Path, *, force: bool = False, **options: Any) -> Path:
    from ionscope.io.imzml_write import write_imzml

    return write_imzml(obj, path, force=force, **options)


PLUGIN = FormatPlugin(
    name="imzml",
    extensions=(".imzml",),
    kinds=("hyperspectral", "imzml_spectra"),
    description="imzML 1.1 (continuous → y×x×mz; processed → sparse spectra), memory-mapped .ibd; writer too",
    read=read_imzml,
    sniff=_sniff,
    write=_write,
    options_model=ImzMLOptions,
    options={"lazy": "continuous: Dask-backed", "mz_bin": "processed: densify onto m/z bins of this width",
             "as_spectra": "sparse spectra even if continuous",
             "checksum": "verify the .ibd SHA-1/MD5",
             "salvage": "truncated .ibd: keep the spectra that lie inside it, with a warning"},
)

__all__ = ["ImzMLData", "continuous_cube", "open_imzml", "read_imzml"]
