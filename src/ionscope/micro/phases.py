"""Label volumes with a phase-name map: validation, spacing, masks."""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import xarray as xr

from ionscope.model.arrays import make_volume, spacing_of
from ionscope.model.deprecation import renamed_parameters
from ionscope.model.errors import ValidationError
from ionscope.model.result import Result
from ionscope.model.units import convert, lengths_um, parse_quantity


def parse_phases(text: str) -> dict[str, int]:
    """``"pore=0,nmc=85,cbd=170"`` → ``{"pore": 0, "nmc": 85, "cbd": 170}``."""
    out: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, val = part.partition("=")
        if not sep or not name.strip() or not re.fullmatch(r"-?\d+", val.strip()):
            raise ValidationError(f"phase map entry {part!r} is not NAME=INTEGER (e.g. pore=0,nmc=85)")
        out[name.strip()] = int(val)
    if not out:
        raise ValidationError("the phase map is empty; give e.g. --phases pore=0,nmc=85,cbd=170")
    if len(set(out.values())) != len(out):
        raise ValidationError(f"two phases share a label value in {text!r}")
    names = [p.partition("=")[0].strip() for p in text.split(",") if p.strip()]
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise ValidationError(f"phase name(s) {', '.join(dup)} given twice in {text!r}")
    return out


VOXEL_RANGE_UM = (1e-4, 1e3)
"""Accepted voxel sizes (µm): below 0.1 nm a voxel is smaller than an atom; above 1 mm it is
larger than a whole battery cell's thickness — either way the number is a unit mistake."""

ACCEPTED_LENGTHS = "a number with a length unit, e.g. 0.39um, 390nm, 0.39 µm or 3.9e-7m"


def check_voxel_size(value_um: float, what: str = "voxel size") -> float:
    """``value_um`` if it is a plausible voxel size (see :data:`VOXEL_RANGE_UM`), else an error."""
    lo, hi = VOXEL_RANGE_UM
    if not (math.isfinite(value_um) and value_um > 0):
        raise ValidationError(f"{what} must be a positive length, got {value_um!r} µm")
    if not lo <= value_um <= hi:
        raise ValidationError(f"{what} {value_um:g} µm is outside {lo:g}–{hi:g} µm: check the unit")
    return value_um


def parse_length_um(text: str | float) -> float:
    """A length such as ``"0.39um"`` or ``"390 nm"`` in µm (a bare number is µm only when passed
    as a number, never as text); must be a plausible voxel size."""
    if isinstance(text, (int, float)):
        value = float(text)
    else:
        try:
            number, unit = parse_quantity(str(text).strip())
            value = float(convert(number, unit, "µm"))
        except ValidationError as exc:
            raise ValidationError(f"voxel size {text!r} needs {ACCEPTED_LENGTHS}") from exc
    return check_voxel_size(value)


@renamed_parameters(spacing_um="spacing")
def label_volume(labels: Any, phases: Mapping[str, int], spacing: Any, **kwargs: Any) -> xr.DataArray:
    """A segmented (z, y, x) volume with its phase map in ``attrs["phases"]``; checks every label is named.

    ``spacing`` is one voxel length or (z, y, x) lengths: numbers in µm, texts with a unit (``"20 nm"``)
    or quantities (formerly ``spacing_um``).
    """
    arr = np.asarray(labels) if not hasattr(labels, "dask") else labels
    sp = lengths_um(spacing, 3)
    for s in sp:
        check_voxel_size(float(s))
    if np.ndim(arr) == 2:
        arr = np.asarray(arr)[None]
    if np.ndim(arr) != 3:
        raise ValidationError(f"a label image must be 2-D or 3-D, got {np.ndim(arr)} dimensions")
    return make_volume(arr, sp, units="label", phases=dict(phases), **kwargs)


def analysis_phases(vol: xr.DataArray, phases: Mapping[str, int] | None = None) -> Result:
    """The phases to analyse and the label values left unnamed.

    Without a phase map (neither ``phases`` nor ``attrs["phases"]``) every label value present is
    a phase named ``label_<value>``. A named value absent from the volume and a volume holding a
    single label value are refused.

    Returns
    -------
    Result
        ``kind="micro.phases"``: ``phases`` (phase name → label value) and ``unnamed`` (the sorted label
        values present in the volume but not in the phase map).
    """
    present = [int(v) for v in np.unique(np.asarray(vol.values))]
    ph = dict(phases if phases is not None else vol.attrs.get("phases") or {})
    if len(present) < 2:
        raise ValidationError(f"the volume holds a single label value ({present[0] if present else 'none'}): "
                              "there is no microstructure to analyse")
    if not ph:
        return Result("micro.phases", {"phases": {f"label_{v}": v for v in present}, "unnamed": []})
    absent = {k: v for k, v in ph.items() if v not in present}
    if absent:
        raise ValidationError(f"phase value(s) {absent} do not occur in the volume, whose labels are {present[:20]}")
    return Result("micro.phases", {"phases": ph, "unnamed": sorted(set(present) - set(ph.values()))})


def check_phases(vol: xr.DataArray, phases: Mapping[str, int] | None = None) -> dict[str, int]:
    """The phase map of ``vol`` (or ``phases``); raises if none of its phases occurs."""
    ph = dict(phases if phases is not None else vol.attrs.get("phases") or {})
    if not ph:
        raise ValidationError("the label volume has no phase map; give phases such as pore=0,nmc=85")
    present = np.unique(np.asarray(vol.data if not hasattr(vol, "values") else vol.values))
    missing = [k for k, v in ph.items() if v not in set(present.tolist())]
    if len(missing) == len(ph):
        raise ValidationError(f"none of the phases {ph} occurs in the volume")
    return ph


def volume_spacing(vol: xr.DataArray) -> Result:
    """The voxel size of a (z, y, x) volume, from its coordinates; each step checked positive.

    Returns
    -------
    Result
        ``kind="micro.spacing"``: ``dz``, ``dy``, ``dx`` (µm) and ``zyx``, the tuple ``(dz, dy, dx)`` (µm)
        that the transport and geometry kernels take as their ``spacing``.
    """
    sp = tuple(float(s) for s in spacing_of(vol))
    for s in sp:
        check_voxel_size(s)
    return Result("micro.spacing", {"dz": sp[0], "dy": sp[1], "dx": sp[2], "zyx": sp})


#: Axis index of each direction name in a (z, y, x) volume.
AXES = {"z": 0, "y": 1, "x": 2}


def volume_axis(axis: str | int, what: str = "axis") -> int:
    """Index (0, 1, 2) of the dimension named ``axis`` (``"z"``, ``"y"`` or ``"x"``) of a (z, y, x) volume.

    Dimensions are addressed by name; an int index (0 = z, 1 = y, 2 = x) is still accepted with a
    ``DeprecationWarning`` pointing at the caller of the function that received it.

    Raises
    ------
    ValidationError
        If ``axis`` is neither a dimension name nor an index 0–2.
    """
    if isinstance(axis, str):
        return axis_index(axis, what)
    if isinstance(axis, (int, np.integer)) and not isinstance(axis, bool) and 0 <= int(axis) <= 2:
        warnings.warn(f"{what}: give the dimension by name ({'zyx'[int(axis)]!r}), not the index {int(axis)}; "
                      "indices will be refused in a later version", DeprecationWarning, stacklevel=3)
        return int(axis)
    raise ValidationError(f"{what} must be x, y or z, got {axis!r}")


def axis_index(name: str, what: str = "direction") -> int:
    """Index (0, 1, 2) of the direction ``name`` (``z``, ``y`` or ``x``) in a (z, y, x) volume."""
    if name not in AXES:
        raise ValidationError(f"{what} must be x, y or z, got {name!r}")
    return AXES[name]


def phase_mask(vol: xr.DataArray, phase: str) -> np.ndarray:
    """Boolean (z, y, x) mask of the phase named ``phase`` in a labelled volume."""
    phases = analysis_phases(vol).phases
    if phase not in phases:
        raise ValidationError(f"phase {phase!r} is not among {', '.join(phases)}")
    return np.asarray(vol.values) == phases[phase]

