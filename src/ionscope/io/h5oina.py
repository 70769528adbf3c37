"""Oxford Instruments AZtec ``.h5oina`` files: EDS element maps as ``(y, x, element)`` counts.

The layout is the published H5OINA specification (Oxford Instruments NanoAnalysis, versions 1–8,
github.com/oinanoanalysis/h5oina; after the H5EBSD format of Jackson et al. 2014, Integr. Mater.
Manuf. Innov. 3, 4, doi:10.1186/2193-9772-3-4): an HDF5 file whose root ``Index`` lists the slices
(acquisitions, ``"1"`` for a single map); each slice group holds technique groups ``EDS`` (or
``EDS1``, ``EDS2``… for several detectors) with ``Data`` and ``Header``. ``Header`` gives the map
size (``X Cells``, ``Y Cells``) and step (``X Step``, ``Y Step``, µm) and the energy axis
(``Start Channel``, ``Channel Width`` in eV, ``Number Channels``). ``Data/Window Integral`` holds one
dataset per element and X-ray line (``"Fe Ka1"``) of ``width × height`` rows, row by row from the
top-left corner: the integral of the raw counts over the line's energy window **divided by the live
time** (counts per second); ``Data/Live Time`` (s per pixel) turns them back into counts, which is
what the ionscope model (and Poisson statistics) expects. Pixels outside an irregular acquisition
area are NaN and stay NaN. ``Data/Spectrum`` (counts, ``(pixels, channels)``, version ≥ 7) is read
with ``spectrum=True`` as a ``(y, x, energy)`` spectrum image.

HDF5 is read with h5py (BSD licence), an optional extra: ``pip install 'ionscope[eds]'``.
"""

from __future__ import annotations

from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from ionscope.io.registry import FormatPlugin, PositiveFloat, ReaderOptions
from ionscope.model.arrays import coord, pixel_axis
from ionscope.model.errors import FormatError, IonscopeError, UnsupportedError

_MAGIC = b"\x89HDF\r\n\x1a\n"
#: Largest map (pixels × maps) read: 2·10⁹ values (8 GB of float32) is beyond any EDS map export.
MAX_VALUES = 2_000_000_000
#: Most element maps read from one file.
MAX_MAPS = 120


class H5oinaOptions(ReaderOptions):
    """Reader options of ``.h5oina`` files."""

    pixel_size_um: PositiveFloat | None = None
    spectrum: bool = False


def _h5py() -> Any:
    try:
        import h5py
    except ImportError:
        raise UnsupportedError("reading Oxford .h5oina files needs h5py (BSD, optional): "
                               "pip install 'ionscope[eds]'") from None
    return h5py


def _scalar(group: Any, name: str, p: Path, kind: type = float) -> Any:
    """One value of a header dataset (stored as (1, 1), (1,) or a scalar); None when absent."""
    if name not in group:
        return None
    try:
        v = np.asarray(group[name][()]).ravel()
    except (OSError, TypeError, ValueError) as exc:
        raise FormatError(f"header {name!r} is unreadable: {exc}", p) from None
    if v.size != 1:
        raise FormatError(f"header {name!r} holds {v.size} values, one expected", p)
    x = v[0]
    if isinstance(x, bytes):
        x = x.decode("utf-8", "replace")
    try:
        return kind(x)
    except (TypeError, ValueError):
        raise FormatError(f"header {name!r} is not a number: {x!r}", p) from None


def _eds_group(f: Any, p: Path) -> tuple[Any, str]:
    """The EDS technique group of the first slice, and its path."""
    slices = []
    if "Index" in f:
        try:
            slices = [s.decode("utf-8", "replace") if isinstance(s, bytes) else str(s)
                      for s in np.asarray(f["Index"][()]).ravel()]
        except (OSError, TypeError, ValueError):
            slices = []
    slices = [s for s in slices if s in f] or [k for k in f if _is_group(f[k])]
    for s in slices:
        group = f[s]
        for tech in sorted(k for k in group if k == "EDS" or (k.startswith("EDS") and k[3:].isdigit())):
            if _is_group(group[tech]) and "Data" in group[tech] and "Header" in group[tech]:
                return group[tech], f"{s}/{tech}"
    raise FormatError("no EDS acquisition (slice group with EDS/Data and EDS/Header) in the file", p)


def _is_group(obj: Any) -> bool:
    return hasattr(obj, "keys") and not hasattr(obj, "shape")


def _flat(ds: Any, size: int, what: str, p: Path) -> np.ndarray:
    """A per-pixel dataset of ``size`` rows ((size,) or (size, 1)) as float64."""
    shape = tuple(getattr(ds, "shape", ()) or ())
    if not shape or shape[0] != size or int(np.prod(shape)) != size:
        raise FormatError(f"{what} has shape {shape}; the header's X Cells × Y Cells = {size} pixels", p)
    try:
        return np.asarray(ds[()], dtype=float).reshape(size)
    except (OSError, TypeError, ValueError) as exc:
        raise FormatError(f"{what} is unreadable: {exc}", p) from None


def read_h5oina(path: str | PathLike[str], *, pixel_size_um: float | None = None,
                spectrum: bool = False) -> xr.DataArray:
    """Read the EDS maps of an Oxford ``.h5oina`` file into an ``element_map`` (y, x, element) of counts.

    Parameters
    ----------
    path
        The ``.h5oina`` file.
    pixel_size_um
        Pixel size (µm); overrides the header's ``X Step``/``Y Step``.
    spectrum
        Read the per-pixel spectra (``Data/Spectrum``) as an ``eds_spectrum_image`` (y, x, energy)
        with the energy axis in eV instead of the element maps.

    Raises
    ------
    UnsupportedError
        h5py is not installed (optional extra ``eds``).
    FormatError
        Not an HDF5 file, no EDS acquisition, inconsistent sizes.
    """
    from ionscope.io.checks import require_file

    p = require_file(path)
    h5py = _h5py()
    try:
        f = h5py.File(p, "r")
    except (OSError, ValueError) as exc:
        raise FormatError(f"not a readable HDF5 file: {str(exc)[:120]}", p) from None
    try:
        with f:
            out = _read_open(f, p, pixel_size_um, spectrum)
    except IonscopeError:
        raise
    except (OSError, RuntimeError, KeyError, ValueError, TypeError, AttributeError) as exc:
        raise FormatError(f"corrupt HDF5 structure: {type(exc).__name__}: {str(exc)[:120]}", p) from None
    if isinstance(out, xr.DataArray):
        return out
    maps, names, live, shape, step, attrs = out
    ny, nx = shape
    step_y, step_x = step
    stack = np.stack(maps, axis=-1).reshape(ny, nx, len(names))
    if live is not None:
        stack = stack * live.reshape(ny, nx, 1)
        units = "counts"
        attrs["note"] = "window integrals (counts/s) × live time per pixel"
    else:
        units = "counts/s"
        attrs["note"] = "window integrals in counts per second (no Live Time dataset)"
    from ionscope.io.eds import element_of
    from ionscope.model.arrays import labelled

    labels = [element_of(n) or n for n in names]
    coords = {"y": coord("y", pixel_axis(ny, step_y), "µm"), "x": coord("x", pixel_axis(nx, step_x), "µm"),
              "element": xr.Variable("element", np.asarray(labels, dtype=str))}
    return labelled(stack.astype(np.float32), "element_map", coords=coords, units=units, attrs=attrs,
                    acquisition={"technique": "EDS", "instrument": "Oxford Instruments AZtec"})


def _read_open(f: Any, p: Path, pixel_size_um: float | None, spectrum: bool) -> Any:
    """The spectrum image, or (maps, names, live time, shape, step, attrs) of the element maps."""
    eds, where = _eds_group(f, p)
    header, data = eds["Header"], eds["Data"]
    nx, ny = _scalar(header, "X Cells", p, int), _scalar(header, "Y Cells", p, int)
    if nx is None or ny is None or nx < 1 or ny < 1:
        raise FormatError(f"{where}/Header lacks positive X Cells / Y Cells", p)
    step_x, step_y = _scalar(header, "X Step", p), _scalar(header, "Y Step", p)
    energy = _energy_axis(header, p)
    attrs: dict[str, Any] = {"source_file": p.name, "h5oina_group": where}
    if pixel_size_um is not None:
        step_x = step_y = float(pixel_size_um)
        attrs["pixel_size_source"] = "declared"
    elif step_x and step_y and 0 < step_x < 1e6 and 0 < step_y < 1e6:
        attrs["pixel_size_source"] = "h5oina header"
    else:
        step_x = step_y = 1.0
        attrs["pixel_size_source"] = "unknown: 1 µm assumed; declare pixel_size_um"
    if energy is not None:
        attrs["energy_axis_ev"] = {"start": energy[0], "width": energy[1], "channels": energy[2]}
    size = nx * ny
    if spectrum:
        return _spectrum(data, size, (ny, nx), (step_y, step_x), energy, attrs, p)
    maps, names, live = _window_integrals(data, size, p)
    return maps, names, live, (ny, nx), (step_y, step_x), attrs


def _energy_axis(header: Any, p: Path) -> tuple[float, float, int | None] | None:
    start, width = _scalar(header, "Start Channel", p), _scalar(header, "Channel Width", p)
    n = _scalar(header, "Number Channels", p, int)
    if start is None or width is None or not np.isfinite(start) or not width > 0:
        return None
    return float(start), float(width), n


def _window_integrals(data: Any, size: int, p: Path) -> tuple[list[np.ndarray], list[str], np.ndarray | None]:
    if "Window Integral" not in data or not _is_group(data["Window Integral"]):
        raise FormatError("the EDS data hold no Window Integral maps (export the element maps from AZtec)", p)
    wi = data["Window Integral"]
    names = sorted(k for k in wi if hasattr(wi[k], "shape"))
    if not names:
        raise FormatError("the Window Integral group holds no element maps", p)
    if len(names) > MAX_MAPS or size * len(names) > MAX_VALUES:
        raise FormatError(f"{len(names)} maps of {size} pixels exceed what an EDS export holds", p)
    maps = [_flat(wi[n], size, f"map {n!r}", p) for n in names]
    live = _flat(data["Live Time"], size, "Live Time", p) if "Live Time" in data else None
    if live is not None and np.any(live[np.isfinite(live)] < 0):
        raise FormatError("Live Time holds negative values", p)
    return maps, names, live


def _spectrum(data: Any, size: int, shape: tuple[int, int], step: tuple[float, float],
              energy: tuple[float, float, int | None] | None, attrs: dict[str, Any], p: Path) -> xr.DataArray:
    from ionscope.model.arrays import labelled

    if "Spectrum" not in data:
        raise FormatError("the EDS data hold no Spectrum dataset (exported by AZtec 6.2 and later)", p)
    ds = data["Spectrum"]
    shp = tuple(getattr(ds, "shape", ()) or ())
    if len(shp) != 2 or shp[0] != size or shp[1] < 1:
        raise FormatError(f"Spectrum has shape {shp}; expected ({size} pixels, channels)", p)
    if size * shp[1] > MAX_VALUES:
        raise FormatError(f"a spectrum image of {size} × {shp[1]} values exceeds what an EDS export holds", p)
    if energy is None:
        raise FormatError("the header lacks Start Channel / Channel Width: no energy axis for the spectra", p)
    try:
        cube = np.asarray(ds[()]).reshape(shape + (shp[1],))
    except (OSError, TypeError, ValueError) as exc:
        raise FormatError(f"Spectrum is unreadable: {str(exc)[:120]}", p) from None
    ev = energy[0] + energy[1] * np.arange(shp[1])
    coords = {"y": coord("y", pixel_axis(shape[0], step[0]), "µm"),
              "x": coord("x", pixel_axis(shape[1], step[1]), "µm"), "energy": coord("energy", ev, "eV")}
    return labelled(cube, "eds_spectrum_image", coords=coords, units="counts", attrs=attrs,
                    acquisition={"technique": "EDS", "instrument": "Oxford Instruments AZtec"})


def _sniff(path: Path, head: bytes) -> bool:
    return head.startswith(_MAGIC) and path.suffix.lower() == ".h5oina"


PLUGINS = [
    FormatPlugin(
        name="h5oina",
        extensions=(".h5oina",),
        kinds=("element_map", "eds_spectrum_image"),
        description="Oxford Instruments AZtec .h5oina EDS maps (optional: h5py)",
        read=read_h5oina,
        sniff=_sniff,
        options_model=H5oinaOptions,
        options={"pixel_size_um": "pixel size of the maps", "spectrum": "read the per-pixel spectra instead"},
    ),
]

__all__ = ["read_h5oina"]
