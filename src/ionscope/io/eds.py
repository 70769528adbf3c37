"""EDS element maps: a folder of TIFFs or one multi-page TIFF, one map per element, as ``(y, x, element)``.

AZtec (Oxford Instruments) and Esprit (Bruker) export element maps as one grey-level TIFF per element,
named after the element and line (``Fe Ka.tif``, ``O_K.tiff``, ``Map Ni La1.tif``), or as one
multi-page TIFF whose pages carry the element in their ``PageName`` or ``ImageDescription`` tag. The
element is the last token of the name that is a chemical symbol, the X-ray line (K, L, M family) is
kept as given. Pixel sizes come from the TIFF tags as for any TIFF, or from ``pixel_size_um``.

Bruker ``.bcf`` files are read through RosettaSciIO (GPL-3.0: an optional extra,
``pip install ionscope[eds]``, never a core dependency): the spectrum image becomes
``(y, x, energy)`` counts with the energy axis in eV. Oxford ``.h5oina`` files are read by
:mod:`ionscope.io.h5oina` (h5py, the same optional extra).
"""

from __future__ import annotations

import re
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import tifffile
import xarray as xr

from ionscope.io.registry import FormatPlugin, PositiveFloat, ReaderOptions
from ionscope.model.arrays import coord, pixel_axis
from ionscope.model.errors import FormatError, UnsupportedError

_TIFF = (".tif", ".tiff")
_SYMBOLS = set(
    "H He Li Be B C N O F Ne Na Mg Al Si P S Cl Ar K Ca Sc Ti V Cr Mn Fe Co Ni Cu Zn Ga Ge As Se Br Kr Rb Sr Y "
    "Zr Nb Mo Tc Ru Rh Pd Ag Cd In Sn Sb Te I Xe Cs Ba La Ce Pr Nd Pm Sm Eu Gd Tb Dy Ho Er Tm Yb Lu Hf Ta W Re "
    "Os Ir Pt Au Hg Tl Pb Bi Po At Rn Fr Ra Ac Th Pa U Np Pu".split())
_LINE = re.compile(r"^(K|L|M)(a|b|α|β)?\d*$", re.I)
#: Most element maps one reader assembles (a folder of thousands of TIFFs is not an EDS export).
MAX_MAPS = 120


class EdsOptions(ReaderOptions):
    """Reader options of EDS element maps."""

    pixel_size_um: PositiveFloat | None = None


def element_of(name: str) -> str | None:
    """``"Fe Ka"`` from ``"Map Fe Ka1.tif"``-like names; None when no chemical symbol is found."""
    stem = re.sub(r"\.(tif|tiff)$", "", name, flags=re.I)
    tokens = [t for t in re.split(r"[\s_\-,;()]+", stem) if t]
    for i in range(len(tokens) - 1, -1, -1):
        tok = tokens[i]
        if _LINE.match(tok) and i > 0 and tokens[i - 1] in _SYMBOLS:  # "O K": oxygen K line, not potassium
            return f"{tokens[i - 1]} {tok}"
        if tok in _SYMBOLS:
            line = tokens[i + 1] if i + 1 < len(tokens) and _LINE.match(tokens[i + 1]) else ""
            return f"{tok} {line}".strip()
        m = re.match(r"^([A-Z][a-z]?)(K|L|M)(a|b|α|β)?\d*$", tok)
        if m and m.group(1) in _SYMBOLS:
            return f"{m.group(1)} {tok[len(m.group(1)):]}"
    return None


def _pixel_size(tif: tifffile.TiffFile) -> float | None:
    from ionscope.io.tiff import pixel_size_from_tags

    h, w, _ = pixel_size_from_tags(tif)
    return None if w is None else float(w)


def _page_names(tif: tifffile.TiffFile) -> list[str | None]:
    names = []
    for frame in tif.pages:
        page = frame.aspage()  # a TiffFrame (pages read with useframes) carries no tags of its own
        tag = page.tags.get("PageName") or page.tags.get("ImageDescription")
        value = str(tag.value) if tag is not None else ""
        names.append(element_of(value) if value and len(value) < 200 else None)
    return names


def looks_like_eds(path: str | PathLike[str]) -> bool:
    """Whether ``path`` is a folder of element-named TIFFs or a multi-page TIFF with element page names."""
    p = Path(path)
    try:
        if p.is_dir():
            tiffs = [f for f in p.iterdir() if f.suffix.lower() in _TIFF]
            return bool(tiffs) and all(element_of(f.name) for f in tiffs)
        if p.suffix.lower() in _TIFF and p.is_file():
            with tifffile.TiffFile(p) as tif:
                names = _page_names(tif)
            return len(names) > 1 and all(names)
    except (OSError, tifffile.TiffFileError, ValueError):
        return False
    return False


def _sniff_dir(path: Path, head: bytes) -> bool:
    return path.is_dir() and looks_like_eds(path)


def _read_planes(p: Path) -> tuple[list[np.ndarray], list[str], float | None]:
    planes, names, sizes = [], [], []
    if p.is_dir():
        files = sorted(f for f in p.iterdir() if f.suffix.lower() in _TIFF)
        if not files:
            raise FormatError("folder holds no TIFF element maps", p)
        if len(files) > MAX_MAPS:
            raise FormatError(f"folder holds {len(files)} TIFFs; an EDS export has at most {MAX_MAPS} maps", p)
        for f in files:
            name = element_of(f.name)
            if name is None:
                raise FormatError(f"{f.name}: no element symbol in the file name (expected e.g. 'Fe Ka.tif')", p)
            try:
                with tifffile.TiffFile(f) as tif:
                    if len(tif.pages) != 1:
                        raise FormatError(f"{f.name} holds {len(tif.pages)} pages; one map per file expected", p)
                    planes.append(tif.pages.first.asarray())
                    sizes.append(_pixel_size(tif))
            except (tifffile.TiffFileError, ValueError, OSError) as exc:
                raise FormatError(f"{f.name}: not a readable TIFF ({exc})", p) from None
            names.append(name)
    else:
        try:
            with tifffile.TiffFile(p) as tif:
                found = _page_names(tif)
                if len(found) > MAX_MAPS:
                    raise FormatError(f"TIFF holds {len(found)} pages; an EDS export has at most {MAX_MAPS} maps", p)
                if not all(found):
                    raise FormatError("not every page of the TIFF names an element (PageName/ImageDescription)", p)
                planes = [page.asarray() for page in tif.pages]
                sizes.append(_pixel_size(tif))
                names = [str(n) for n in found]
        except (tifffile.TiffFileError, ValueError, OSError) as exc:
            raise FormatError(f"not a readable TIFF ({exc})", p) from None
    shapes = {pl.shape for pl in planes}
    if len(shapes) != 1 or planes[0].ndim != 2:
        raise FormatError(f"element maps differ in shape or are not 2-D: {sorted(shapes)}", p)
    if len(set(names)) != len(names):
        raise FormatError(f"an element appears twice: {names}", p)
    known = {s for s in sizes if s is not None}
    if len(known) > 1:
        raise FormatError(f"element maps declare different pixel sizes: {sorted(known)} µm", p)
    return planes, names, (known.pop() if known else None)


def read_eds(path: str | PathLike[str], *, pixel_size_um: float | None = None) -> xr.DataArray:
    """Read EDS element maps into an ``element_map`` (y, x, element) in counts.

    Parameters
    ----------
    path
        A folder of TIFFs named by element, or one multi-page TIFF with element page names.
    pixel_size_um
        Pixel size (µm); overrides the tags.
    """
    from ionscope.model.arrays import labelled

    p = Path(path)
    if not p.exists():
        from ionscope.model.errors import InputNotFoundError

        raise InputNotFoundError("no such file or folder", p)
    planes, names, size = _read_planes(p)
    attrs = {"source_file": p.name, "pixel_size_source": "declared" if pixel_size_um else
             ("TIFF tags" if size else "unknown: 1 µm assumed; declare pixel_size_um")}
    step = float(pixel_size_um or size or 1.0)
    data = np.stack(planes, axis=-1)
    ny, nx = data.shape[:2]
    coords = {"y": coord("y", pixel_axis(ny, step), "µm"), "x": coord("x", pixel_axis(nx, step), "µm"),
              "element": xr.Variable("element", np.asarray(names, dtype=str))}
    return labelled(data, "element_map", coords=coords, units="counts", attrs=attrs,
                    acquisition={"technique": "EDS"})


def read_bcf(path: str | PathLike[str], *, pixel_size_um: float | None = None) -> xr.DataArray:
    """A Bruker ``.bcf`` spectrum image through RosettaSciIO (optional, GPL-3.0) as ``(y, x, energy)``
    counts, the energy axis in eV."""
    p = Path(path)
    try:
        from rsciio.bruker import file_reader
    except ImportError:
        raise UnsupportedError("reading Bruker .bcf files needs RosettaSciIO (GPL-3.0, optional): "
                               "pip install 'ionscope[eds]'", p) from None
    try:
        found = file_reader(str(p))
    except Exception as exc:  # the third-party reader's own failures
        raise FormatError(f"RosettaSciIO could not read the file: {type(exc).__name__}: {exc}", p) from None
    cubes = [d for d in found if np.ndim(d["data"]) == 3]
    if not cubes:
        raise FormatError("the file holds no spectrum image (y, x, energy)", p)
    d = cubes[0]
    axes = d["axes"]
    data = np.asarray(d["data"])
    to_ev = 1000.0 if axes[2].get("units") == "keV" else 1.0
    energy = to_ev * (float(axes[2].get("offset", 0.0)) + float(axes[2].get("scale", 1.0)) * np.arange(data.shape[2]))
    step = pixel_size_um or float(axes[1].get("scale", 1.0)) * (1e-3 if axes[1].get("units") == "nm" else 1.0)
    return _energy_cube(data, float(step), energy, p)


def _energy_cube(data: np.ndarray, step: float, energy_ev: np.ndarray, p: Path) -> Any:
    from ionscope.model.arrays import labelled

    ny, nx, _ = data.shape
    coords = {"y": coord("y", pixel_axis(ny, step), "µm"), "x": coord("x", pixel_axis(nx, step), "µm"),
              "energy": coord("energy", energy_ev, "eV")}
    return labelled(data, "eds_spectrum_image", coords=coords, units="counts", attrs={"source_file": p.name},
                    acquisition={"technique": "EDS"})


PLUGINS = [
    FormatPlugin(
        name="eds",
        extensions=(),
        kinds=("element_map",),
        description="EDS element maps: a folder of TIFFs named by element (AZtec, Esprit exports)",
        read=read_eds,
        sniff=_sniff_dir,
        is_directory=True,
        options_model=EdsOptions,
        options={"pixel_size_um": "pixel size of the maps"},
    ),
    FormatPlugin(
        name="eds-tiff",
        extensions=(),
        kinds=("element_map",),
        description="EDS element maps in one multi-page TIFF with element page names (choose with --format)",
        read=read_eds,
        options_model=EdsOptions,
        options={"pixel_size_um": "pixel size of the maps"},
    ),
    FormatPlugin(
        name="bcf",
        extensions=(".bcf",),
        kinds=("eds_spectrum_image",),
        description="Bruker .bcf EDS spectrum images (optional: RosettaSciIO, GPL-3.0)",
        read=read_bcf,
        options_model=EdsOptions,
        options={"pixel_size_um": "pixel size of the maps"},
    ),
]

__all__ = ["element_of", "looks_like_eds", "read_bcf", "read_eds"]
