"""Label volumes with a phase-name map: validation, spacing, masks."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import xarray as xr

from ionscope.model.arrays import make_volume, spacing_of
from ionscope.model.errors import ValidationError
from ionscope.model.units import convert, parse_quantity


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
    return out


def parse_length_um(text: str | float) -> float:
    """A length such as ``"0.39um"``, ``"390 nm"`` or ``0.39`` (µm) in µm; must be positive."""
    if isinstance(text, (int, float)):
        value = float(text)
    else:
        number, unit = parse_quantity(str(text), default_unit="µm")
        value = float(convert(number, unit, "µm"))
    if not (math.isfinite(value) and value > 0):
        raise ValidationError(f"voxel spacing must be a positive length, got {text!r}")
    return value


def label_volume(labels: Any, phases: Mapping[str, int], spacing_um: float | tuple[float, float, float],
                 **kwargs: Any) -> xr.DataArray:
    """A segmented (z, y, x) volume with its phase map in ``attrs["phases"]``; checks every label is named."""
    arr = np.asarray(labels) if not hasattr(labels, "dask") else labels
    sp = (spacing_um,) * 3 if np.isscalar(spacing_um) else tuple(spacing_um)
    for s in sp:
        if not (math.isfinite(float(s)) and float(s) > 0):
            raise ValidationError(f"voxel spacing must be positive, got {spacing_um}")
    vol = make_volume(arr, sp, units="label", phases=dict(phases), **kwargs)
    check_phases(vol)
    return vol


def check_phases(vol: xr.DataArray, phases: Mapping[str, int] | None = None) -> dict[str, int]:
    """The phase map of ``vol`` (or ``phases``); raises if the volume holds a label with no name."""
    ph = dict(phases if phases is not None else vol.attrs.get("phases") or {})
    if not ph:
        raise ValidationError("the label volume has no phase map; give phases such as pore=0,nmc=85")
    present = np.unique(np.asarray(vol.data if not hasattr(vol, "values") else vol.values))
    unknown = sorted(set(present.tolist()) - set(ph.values()))
    if unknown:
        raise ValidationError(f"label values {unknown[:10]} in the volume are not in the phase map {ph}")
    missing = [k for k, v in ph.items() if v not in set(present.tolist())]
    if len(missing) == len(ph):
        raise ValidationError(f"none of the phases {ph} occurs in the volume")
    return ph


def volume_spacing(vol: xr.DataArray) -> tuple[float, float, float]:
    """(dz, dy, dx) in µm, each positive."""
    sp = spacing_of(vol)
    for s in sp:
        if not (math.isfinite(s) and s > 0):
            raise ValidationError(f"voxel spacing must be positive, got {sp}")
    return sp  # type: ignore[return-value]
