"""The viewer's catalogue: the only datasets a running viewer may open.

Datasets are named on the command line (files, Zarr stores, or folders whose readable entries are
listed). The browser refers to them by catalogue id (``d0``, ``d1``…) only; no path that comes from
a request is ever opened, and no absolute path is ever sent: datasets are named relative to the
folders the viewer was started with (see :class:`ionscope.viewer.wire.PathScrubber`). A dataset that
fails to load stays in the catalogue with its error message, so the browser can show which file
failed and why.

Two readers return sparse data rather than a labelled array; the catalogue densifies them so they
show like any other image:

* a *processed* imzML file (an m/z array per pixel) becomes a ``hyperspectral`` cube binned on
  nominal masses (1 u wide bins centred on integer m/z), the unit-mass binning of TOF-SIMS survey
  images (Vickerman & Briggs, *ToF-SIMS: Materials Analysis by Mass Spectrometry*, 2nd ed., 2013,
  ch. 1; the ULVAC-PHI TRIFT cubes of Lorenz et al.'s ``tofsimsData`` are stored this way);
* a raw event file (GRD), which carries no mass calibration, becomes its total-ion ``image``: events
  counted per raster pixel (the raster is the file's declared geometry, else the largest x and y
  recorded). Mass-resolved images need ``ionscope image bin-events`` with a calibration.

A flat TRIFT / ION-TOF image converted to ``.npz`` (a pixels × channels count matrix with its channel
masses ``mz`` and image size ``xy``) is shown as the same ``hyperspectral`` cube, reshaped by the reader
that ``ionscope image extract`` and ``ionscope mva`` use (:func:`ionscope.io.variables.flat_image_cube`):
its total-ion image (the sum over every channel), images of m/z windows, and its spectrum.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from ionscope.model.errors import FormatError, InputNotFoundError, IonscopeError, ValidationError
from ionscope.model.stores import is_dataset_folder
from ionscope.viewer.wire import PathScrubber

#: Coordinates longer than this are described by their range only.
MAX_COORD_VALUES = 5000
#: A stored (lazy) dataset up to this size is read into memory once, at start-up: every slice, ROI
#: and spectrum is then computed without decompressing chunks again (a whole 256² × 100-peak cube
#: of uint16 counts is 13 MB and sits in one 32 MB chunk).
RESIDENT_BYTES = 64 * 1024**2
#: Most memory (bytes) the datasets kept resident by one viewer may take together.
RESIDENT_TOTAL = 1024**3


@dataclass
class Entry:
    """One catalogue dataset: where it came from, and either the lazy data or why it failed."""

    id: str
    path: Path
    rel: str = ""
    data: xr.DataArray | None = None
    kind: str | None = None
    labels: xr.DataArray | None = None
    error: str | None = None
    variables: list[str] = field(default_factory=list)
    scrub: Any = field(default=str, repr=False)
    #: The whole store when the reader returned a Dataset (map stores: every map variable).
    dataset: xr.Dataset | None = field(default=None, repr=False)
    #: Why it failed, as the error raised (unscrubbed paths: for the command line, never sent to a client).
    failure: IonscopeError | None = field(default=None, repr=False)
    #: The map variables the Maps view shows (:func:`ionscope.viewer.maps.map_variables`).
    maps: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None

    def loaded(self) -> tuple[xr.DataArray, str]:
        """The data and its kind, of an entry that opened (``ok``; the routes check that first)."""
        if self.error is not None or self.data is None or self.kind is None:
            raise ValidationError(f"{self.path.name} did not open" + (f": {self.error}" if self.error else ""))
        return self.data, self.kind

    def summary(self) -> dict[str, Any]:
        """Short JSON description for the catalogue list."""
        out: dict[str, Any] = {"id": self.id, "name": self.path.name, "path": self.rel or self.path.name,
                               "status": "ok" if self.ok else "error"}
        if not self.ok:
            out["error"] = self.error
            return out
        da, kind = self.loaded()
        out.update(kind=kind, dims=list(da.dims), shape=[int(n) for n in da.shape],
                   has_labels=self.labels is not None, maps=len(self.maps))
        return out

    def describe(self) -> dict[str, Any]:
        """Everything the views need to lay themselves out: coordinates with units, peaks, phases."""
        from ionscope.viewer.slicing import pixel_size_um

        out = self.summary()
        if not self.ok:
            return out
        da, kind = self.loaded()
        coords: dict[str, Any] = {}
        for name, c in da.coords.items():
            info: dict[str, Any] = {"dims": list(c.dims), "unit": c.attrs.get("units")}
            if c.ndim == 1 and c.dtype.kind in "fiu":
                vals = np.asarray(c.values, dtype=float)
                known = vals[np.isfinite(vals)]
                info["range"] = [float(known.min()), float(known.max())] if known.size else None
                if vals.size <= MAX_COORD_VALUES:
                    info["values"] = vals.tolist()
            elif c.ndim == 1:
                info["values"] = [str(v) for v in c.values][:MAX_COORD_VALUES]
            coords[str(name)] = info
        out["coords"] = coords
        out["units"] = str(da.attrs.get("units", ""))
        out["variables"] = self.variables
        if self.maps:
            out["map_variables"] = self.maps
        if "peak" in da.dims:
            out["peaks"] = [str(p) for p in da.coords["peak"].values]
        if kind == "volume":
            out["spacing_um"] = pixel_size_um(da, ("z", "y", "x"))
            if self.labels is not None:
                out["phases"] = dict(self.labels.attrs.get("phases") or {})
                if not out["phases"]:
                    values = np.unique(np.asarray(self.labels.isel(z=self.labels.sizes["z"] // 2).values))
                    out["phases"] = {f"label {int(v)}": int(v) for v in values}
        elif "y" in da.dims and "x" in da.dims:
            out["pixel_um"] = pixel_size_um(da, ("y", "x"))
        for key in ("sample", "acquisition"):
            if isinstance(da.attrs.get(key), dict):
                out[key] = {k: self.scrub(v) if isinstance(v, str) else v
                            for k, v in da.attrs[key].items() if isinstance(v, (str, int, float, bool))}
        return out


#: An integer volume with at most this many distinct values (in its middle slice) is shown as a segmentation.
MAX_SEGMENT_VALUES = 8


def _is_label_volume(var: xr.DataArray) -> bool:
    """Phase labels: declared (``phases`` attr or unit ``label``), or an integer volume of a few values."""
    if "phases" in var.attrs or (var.dtype.kind in "iub" and str(var.attrs.get("units", "")) in ("label", "labels")):
        return True
    if var.dtype.kind in "iub" and set(var.dims) == {"z", "y", "x"}:
        middle = np.asarray(var.isel(z=var.sizes["z"] // 2).values)
        return np.unique(middle).size <= MAX_SEGMENT_VALUES
    return False


def _has_kind(var: xr.DataArray) -> bool:
    """Whether a variable is one of the data kinds the views show (side views and tables are not)."""
    from ionscope.model.arrays import kind_of

    try:
        return bool(var.attrs.get("kind") or kind_of(var))
    except ValidationError:
        return False


def _choose(obj: Any, path: Path) -> tuple[xr.DataArray, str, xr.DataArray | None, list[str]]:
    """Main array, kind, optional label volume and variable names of what a reader returned."""
    from ionscope.model.arrays import kind_of

    if isinstance(obj, xr.DataArray):
        kind = obj.attrs.get("kind") or kind_of(obj)
        if kind == "volume" and _is_label_volume(obj):
            return obj, kind, obj, [str(obj.name)]
        return obj, kind, None, [str(obj.name)]
    if isinstance(obj, xr.Dataset):
        names = [str(n) for n in obj.data_vars]
        if not names:
            raise IonscopeError("the dataset holds no data variable", path)
        labels = next((obj[n] for n in names if _is_label_volume(obj[n])), None)
        candidates = [n for n in names if labels is None or n != labels.name]
        # by name, not store order: a directory store lists its variables in file-system order
        ordered = sorted(candidates)
        main_name = next((n for n in ordered if _has_kind(obj[n])), ordered[0] if ordered else names[0])
        main = obj[main_name]
        kind = main.attrs.get("kind") or kind_of(main)
        if labels is not None and (kind != "volume" or labels.dims != main.dims):
            labels = None
        return main, kind, labels, names
    raise IonscopeError(f"the viewer shows labelled arrays, not a {type(obj).__name__}", path)


class Catalogue:
    """The datasets of one viewer session, by id."""

    def __init__(self) -> None:
        self._entries: dict[str, Entry] = {}
        self._lock = threading.Lock()
        self.scrub = PathScrubber()
        self.resident_bytes = 0

    def __len__(self) -> int:
        return len(self._entries)

    def entries(self) -> list[Entry]:
        return list(self._entries.values())

    def get(self, dataset_id: str) -> Entry | None:
        return self._entries.get(dataset_id)

    def add(self, path: str | PathLike[str], *, depth: int = 3, _nested: bool = False) -> list[Entry]:
        """Add a file or store, or every readable entry of a plain folder (and its sub-folders down to
        ``depth`` levels, e.g. ``demo-output/data/*.zarr``, ``data/profiles/stack/*.txt``); return the new entries."""
        p = Path(path).expanduser().resolve()
        folder = p.is_dir() and not is_dataset_folder(p)
        if not _nested:  # a command-line argument: the base its entries are named from
            given = Path(path).expanduser().absolute()
            self.scrub.add_base(p if folder else p.parent)
            self.scrub.add_base(given if folder else given.parent)
        if folder:
            added: list[Entry] = []
            for c in sorted(p.iterdir()):
                if c.name.startswith("."):
                    continue
                if _looks_readable(c):
                    added.append(self._add_one(c))
                elif c.is_dir() and depth > 1:
                    added.extend(self.add(c, depth=depth - 1, _nested=True))
            return added
        return [self._add_one(p)]

    def _add_one(self, path: Path) -> Entry:
        import ionscope

        with self._lock:
            entry = Entry(id=f"d{len(self._entries)}", path=path, rel=self.scrub.relative(path), scrub=self.scrub)
            self._entries[entry.id] = entry
        try:
            obj = _densify(ionscope.read(path), path)
            entry.data, entry.kind, entry.labels, entry.variables = _choose(obj, path)
            if isinstance(obj, xr.Dataset):
                from ionscope.viewer.maps import map_variables

                entry.maps = map_variables(obj)
                small = entry.maps and obj.nbytes <= RESIDENT_BYTES
                entry.dataset = (obj.load() if small else obj) if entry.maps else None
            same = entry.labels is entry.data  # a segmentation shown as its own grey image
            entry.data = self._resident(entry.data)
            entry.labels = entry.data if same else self._resident(entry.labels)
        except IonscopeError as exc:
            entry.error = self.scrub(str(exc) if exc.path else f"{path}: {exc}")
            entry.failure = exc if exc.path else FormatError(exc.problem, path)
        except Exception as exc:  # a reader bug must not stop the other datasets from showing
            entry.error = self.scrub(f"{path}: cannot be read ({type(exc).__name__}: {exc})")
            entry.failure = FormatError(f"cannot be read ({type(exc).__name__}: {exc})", path)
        return entry

    def require(self, given: dict[Path, list[Entry]]) -> None:
        """Raise, for the command line, the error of a dataset given by name that could not be loaded, or
        an error naming the first path when none of the given paths loaded anything.

        A folder's entries that fail are not errors (they are listed as not loaded) as long as something
        loaded.

        Parameters
        ----------
        given
            Each path as given → the entries :meth:`add` made of it.
        """
        for path, entries in given.items():
            folder = Path(path).is_dir() and not is_dataset_folder(path)
            if not folder:
                failed = next((e.failure for e in entries if e.failure is not None), None)
                if failed is not None:
                    raise failed
        if given and not any(e.ok for entries in given.values() for e in entries):
            first = next(iter(given))
            failed = next((e.failure for e in given[first] if e.failure is not None), None)
            raise failed or InputNotFoundError("holds no dataset the viewer shows (run `ionscope formats` for the "
                                               "readable formats)", first)

    def _resident(self, da: xr.DataArray | None) -> xr.DataArray | None:
        """``da`` read into memory if it is lazy and small enough (see :data:`RESIDENT_BYTES`)."""
        if da is None or da.chunks is None or da.nbytes > RESIDENT_BYTES:
            return da
        with self._lock:
            if self.resident_bytes + da.nbytes > RESIDENT_TOTAL:
                return da
            self.resident_bytes += da.nbytes
        return da.load()


#: Largest nominal-mass cube (bytes, float64) a processed imzML file is densified into.
MAX_DENSE_BYTES = 512 * 1024**2
#: Largest raster (pixels) a raw event file is counted onto for its total-ion image.
MAX_EVENT_RASTER = 8192 * 8192


def _densify(obj: Any, path: Path) -> Any:
    """A labelled array for the sparse objects some readers return (see the module docstring)."""
    from ionscope.io.imzml import ImzMLData
    from ionscope.model.events import EventTable

    if isinstance(obj, ImzMLData):
        lo, hi = obj.mz_range()
        edges = np.arange(np.floor(lo + 0.5) - 0.5, np.floor(hi + 0.5) + 1.0, 1.0)
        ny, nx = obj.shape
        nbytes = ny * nx * (edges.size - 1) * 8
        if nbytes > MAX_DENSE_BYTES:
            raise ValidationError(
                f"{ny} × {nx} pixels over m/z {lo:.0f}–{hi:.0f} would need {nbytes / 1e9:.2g} GB binned on nominal "
                f"masses, more than the viewer's {MAX_DENSE_BYTES / 1e9:.2g} GB; make ion images of the peaks of "
                "interest with `ionscope image extract` and view those", path)
        return obj.binned(edges)
    if isinstance(obj, EventTable):
        return _total_ion_image(obj, path)
    if isinstance(obj, xr.Dataset) and not any(_has_kind(obj[n]) for n in obj.data_vars):
        from ionscope.io.variables import flat_image_cube

        cube = flat_image_cube(obj, path)
        if cube is not None:
            return cube
    return obj


def _total_ion_image(events: Any, path: Path) -> xr.DataArray:
    """Events counted per raster pixel (uint32 ``image``), streamed in chunks."""
    from ionscope.model.arrays import coord, labelled, pixel_axis

    x, y = events.column("x"), events.column("y")
    if len(events) == 0:
        raise ValidationError("the event file holds no event", path)
    geo = events.geometry
    if geo is not None:
        ny, nx, step = geo.ny, geo.nx, geo.pixel_size_um
    else:
        ny, nx, step = int(y.max()) + 1, int(x.max()) + 1, 1.0
    if ny * nx > MAX_EVENT_RASTER:
        raise ValidationError(f"events span a {ny} × {nx} raster, larger than the viewer's "
                              f"{MAX_EVENT_RASTER} pixels; give the geometry with `ionscope image bin-events`", path)
    counts = np.zeros(ny * nx, dtype=np.int64)
    for _, rec in events.iter_chunks(prefetch=False):
        ry, rx = rec[:, 3].astype(np.int64), rec[:, 2].astype(np.int64)
        inside = (ry < ny) & (rx < nx)
        counts += np.bincount(ry[inside] * nx + rx[inside], minlength=ny * nx)
    coords = {"y": coord("y", pixel_axis(ny, step), "µm"), "x": coord("x", pixel_axis(nx, step), "µm")}
    image = labelled(counts.reshape(ny, nx).astype(np.uint32), "image", coords=coords, name="total_ions")
    return image


def _looks_readable(p: Path) -> bool:
    """Whether a folder entry has an extension some registered reader claims (and, where only readers of a
    generic layout claim it, ``FormatPlugin.generic``, content their sniff accepts)."""
    import ionscope

    name = p.name.lower()
    if p.is_dir():
        return is_dataset_folder(p)
    claimers = [pl for pl in ionscope.plugins().values() if pl.read and any(name.endswith(e) for e in pl.extensions)]
    if not claimers or not all(pl.generic for pl in claimers):
        return bool(claimers)
    from ionscope.io.registry import SNIFF_BYTES

    with open(p, "rb") as fh:
        head = fh.read(SNIFF_BYTES)
    return any(pl.sniff is None or pl.sniff(p, head) for pl in claimers)
