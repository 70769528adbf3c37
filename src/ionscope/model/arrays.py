"""Labelled arrays with conventional dimensions and units on every coordinate (xarray: Hoyer & Hamman
2017, J. Open Res. Softw. 5, 10, doi:10.5334/jors.148).

Each *kind* of TOF-SIMS or microscopy data has a canonical dimension order:

==============  ================================  =========================================
kind            dims                              typical coordinates (unit)
==============  ================================  =========================================
spectrum        (mz,) or (channel,)               mz (m/z), channel, tof (s)
image           (y, x)                            y, x (µm)
ion_image       (y, x, peak)                      y, x (µm); peak labels, mz (m/z)
hyperspectral   (y, x, mz)                        y, x (µm); mz (m/z)
depth_profile   (scan, peak)                      sputter_time (s), dose (ions), fluence (ions/cm^2)
cube3d          (scan, y, x, peak)                as above plus y, x
operando        (state, y, x, peak)               time (s), voltage (V), charge (µAh)
volume          (z, y, x)                         z, y, x (µm), anisotropic spacing
element_map     (y, x, element)                   y, x (µm); element labels (EDS maps)
eds_spectrum…   (y, x, energy)                    y, x (µm); energy (eV)
==============  ================================  =========================================

The constructors here put the dimensions in canonical order, attach units, and validate.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr

from ionscope.model.deprecation import renamed_parameters
from ionscope.model.errors import ValidationError
from ionscope.model.metadata import set_metadata
from ionscope.model.units import lengths_um

KIND_DIMS: dict[str, tuple[str, ...]] = {
    "spectrum": ("mz",),
    "tof_spectrum": ("channel",),
    "image": ("y", "x"),
    "ion_image": ("y", "x", "peak"),
    "hyperspectral": ("y", "x", "mz"),
    "depth_profile": ("scan", "peak"),
    "cube3d": ("scan", "y", "x", "peak"),
    "operando": ("state", "y", "x", "peak"),
    "volume": ("z", "y", "x"),
    "element_map": ("y", "x", "element"),
    "eds_spectrum_image": ("y", "x", "energy"),
}

#: Unit every coordinate of a given name must be convertible to (``None``: free).
COORD_UNITS: dict[str, str | None] = {
    "mz": "m/z", "channel": "channel", "x": "µm", "y": "µm", "z": "µm",
    "sputter_time": "s", "dose": "ions", "fluence": "ions/cm^2", "depth": "nm",
    "time": "s", "voltage": "V", "charge": "µAh", "energy": "eV",
}


def kind_of(obj: xr.DataArray | xr.Dataset) -> str:
    """Name the data kind of ``obj`` from its dimensions (order-independent).

    Raises
    ------
    ValidationError
        If the dimensions match no known kind.
    """
    dims = set(obj.dims)
    for kind, kdims in KIND_DIMS.items():
        if dims == set(kdims):
            return kind
    raise ValidationError(
        f"dimensions {tuple(obj.dims)} match no ionscope data kind; expected one of "
        + ", ".join(f"{k}{v}" for k, v in KIND_DIMS.items())
    )


def validate(obj: xr.DataArray | xr.Dataset) -> xr.DataArray | xr.Dataset:
    """Check that ``obj`` follows the data model: known kind, units on numeric coordinates.

    Returns ``obj`` unchanged so it can be used inline.
    """
    kind_of(obj)
    for name, coord in obj.coords.items():
        if coord.dtype.kind in "fiuc" and "units" not in coord.attrs:
            raise ValidationError(f"coordinate {name!r} has no 'units' attribute")
        for dim in coord.dims:
            if obj.sizes[dim] < 0:  # pragma: no cover - xarray forbids it
                raise ValidationError(f"negative size on {dim!r}")
    return obj


def coord(dim: str | Sequence[str], values: Any, unit: str, **attrs: Any) -> xr.Variable:
    """A coordinate variable with its unit in ``attrs["units"]``."""
    return xr.Variable(dim, np.asarray(values) if not hasattr(values, "dask") else values,
                       attrs={"units": unit, **attrs})


def pixel_axis(n: int, step_um: float, origin_um: float = 0.0) -> np.ndarray:
    """Pixel-centre positions in µm of ``n`` pixels of size ``step_um``."""
    if not (np.isfinite(step_um) and step_um > 0):
        raise ValidationError(f"pixel size must be a positive number of µm, got {step_um!r}")
    return origin_um + (np.arange(n) + 0.5) * step_um


def labelled(
    data: Any,
    kind: str,
    *,
    coords: Mapping[str, xr.Variable] | None = None,
    units: str = "counts",
    name: str | None = None,
    attrs: Mapping[str, Any] | None = None,
    acquisition: Mapping[str, Any] | None = None,
    sample: Mapping[str, Any] | None = None,
    provenance: Mapping[str, Any] | None = None,
    dims: Sequence[str] | None = None,
) -> xr.DataArray:
    """Wrap ``data`` (NumPy or Dask) as a validated ionscope array of ``kind``.

    ``dims`` gives the order of ``data``'s axes if it is not already the canonical one; the result
    is always transposed to :data:`KIND_DIMS` order.
    """
    if kind not in KIND_DIMS:
        raise ValidationError(f"unknown data kind {kind!r}; expected one of {sorted(KIND_DIMS)}")
    canonical = KIND_DIMS[kind]
    dims = tuple(dims) if dims is not None else canonical
    if set(dims) != set(canonical):
        raise ValidationError(f"a {kind} has dims {canonical}, got {dims}")
    if getattr(data, "ndim", None) != len(dims):
        raise ValidationError(f"a {kind} needs a {len(dims)}-D array, got shape {getattr(data, 'shape', None)}")
    da = xr.DataArray(data, dims=dims, coords=dict(coords or {}), name=name,
                      attrs={"units": units, "kind": kind, **dict(attrs or {})})
    da = da.transpose(*canonical)
    records: dict[str, Any] = {k: v for k, v in (("acquisition", acquisition), ("sample", sample)) if v is not None}
    set_metadata(da, **records)
    if provenance is not None:
        da.attrs["provenance"] = dict(provenance)
    validate(da)
    return da


def make_spectrum(counts: Any, mz: Any, *, channel: Any | None = None, units: str = "counts",
                  **kwargs: Any) -> xr.DataArray:
    """A mass spectrum over ``mz`` (m/z) with an optional TOF ``channel`` coordinate."""
    coords = {"mz": coord("mz", mz, "m/z")}
    if channel is not None:
        coords["channel"] = coord("mz", channel, "channel")
    mzv = np.asarray(mz)
    if mzv.size > 1 and np.any(np.diff(mzv) <= 0):
        raise ValidationError("m/z values of a spectrum must increase strictly")
    return labelled(counts, "spectrum", coords=coords, units=units, **kwargs)


def make_ion_image(data: Any, peaks: Sequence[str], *, pixel_size_um: Any,
                   mz: Any = None, dims: Sequence[str] = ("y", "x", "peak"),
                   **kwargs: Any) -> xr.DataArray:
    """Ion images with dims (y, x, peak); coordinates in µm, peaks labelled, optional m/z per peak."""
    sizes = dict(zip(dims, np.shape(data)))
    scalar = isinstance(pixel_size_um, (int, float, np.number))
    py, px = (float(pixel_size_um),) * 2 if scalar else map(float, pixel_size_um)
    coords = {
        "y": coord("y", pixel_axis(sizes["y"], py), "µm"),
        "x": coord("x", pixel_axis(sizes["x"], px), "µm"),
        "peak": xr.Variable("peak", np.asarray(list(peaks), dtype=str)),
    }
    if mz is not None:
        coords["mz"] = coord("peak", np.asarray(mz, dtype=float), "m/z")
    return labelled(data, "ion_image", coords=coords, dims=dims, **kwargs)


def make_depth_profile(data: Any, peaks: Sequence[str], *, sputter_time_s: Any,
                       dose_ions: Any | None = None, fluence_ions_cm2: Any | None = None,
                       mz: Sequence[float] | np.ndarray | None = None, **kwargs: Any) -> xr.DataArray:
    """A depth profile (scan, peak) with sputter time (s), and dose/fluence when known."""
    coords = {
        "scan": coord("scan", np.arange(np.shape(data)[0]), "index"),
        "sputter_time": coord("scan", sputter_time_s, "s"),
        "peak": xr.Variable("peak", np.asarray(list(peaks), dtype=str)),
    }
    if dose_ions is not None:
        coords["dose"] = coord("scan", dose_ions, "ions")
    if fluence_ions_cm2 is not None:
        coords["fluence"] = coord("scan", fluence_ions_cm2, "ions/cm^2")
    if mz is not None:
        coords["mz"] = coord("peak", np.asarray(mz, dtype=float), "m/z")
    return labelled(data, "depth_profile", coords=coords, **kwargs)


@renamed_parameters(spacing_um="spacing")
def make_volume(data: Any, spacing: Any, *, units: str = "grey", phases: Mapping[str, int] | None = None,
                **kwargs: Any) -> xr.DataArray:
    """A (z, y, x) volume with physical, possibly anisotropic, spacing.

    Parameters
    ----------
    data
        The (z, y, x) values.
    spacing
        Voxel size: one length or (z, y, x) lengths, each a number in µm, a text with a unit
        (``"20 nm"``) or a :class:`~ionscope.model.result.Quantity`. (Formerly ``spacing_um``.)
    units
        Unit or label of the values (``"grey"``, ``"label"``).
    phases
        Phase names → label values for segmented volumes (stored in attrs).
    """
    spacing = lengths_um(spacing, 3)
    if len(spacing) != 3:
        raise ValidationError(f"volume spacing needs 3 values (z, y, x), got {spacing}")
    shape = np.shape(data)
    coords = {d: coord(d, pixel_axis(n, s), "µm") for d, n, s in zip("zyx", shape, spacing)}
    attrs = dict(kwargs.pop("attrs", {}) or {})
    attrs["spacing_um"] = [float(s) for s in spacing]
    if phases is not None:
        attrs["phases"] = {str(k): int(v) for k, v in phases.items()}
    return labelled(data, "volume", coords=coords, units=units, attrs=attrs, **kwargs)


def spacing_of(obj: xr.DataArray, dims: Sequence[str] = ("z", "y", "x"), unit: str = "µm") -> tuple[float, ...]:
    """Physical step along each of ``dims`` (in ``unit``), from the coordinates.

    A one-pixel axis falls back to ``attrs["spacing_um"]``, else to twice its pixel centre (the
    convention of :func:`pixel_axis` with origin 0).
    """
    from ionscope.model.units import convert

    out = []
    for d in dims:
        c = obj.coords.get(d)
        if c is None or c.size < 2:
            fallback = obj.attrs.get("spacing_um")
            if fallback is not None:
                out.append(float(convert(fallback[list("zyx").index(d)], "µm", unit)))
            elif c is not None and c.size == 1 and float(c[0]) > 0:
                out.append(float(convert(2 * float(c[0]), c.attrs.get("units", "µm"), unit)))
            else:
                raise ValidationError(f"cannot tell the spacing along {d!r}: no coordinate with ≥ 2 values")
            continue
        out.append(abs(float(convert(float(c[1] - c[0]), c.attrs.get("units", "µm"), unit))))
    return tuple(out)
