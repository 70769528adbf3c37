"""Shared checks of depth-profile inputs: the x-axis, species selection, robust smoothing."""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence

import numpy as np
import xarray as xr
from scipy.ndimage import median_filter
from scipy.signal import savgol_filter

from ionscope.model.arrays import kind_of
from ionscope.model.errors import ValidationError

#: x-axes a depth profile can be analysed on, with their units.
AXES = {"sputter_time": "s", "dose": "ions", "fluence": "ions/cm^2", "depth": "nm", "scan": "index"}


def require_profile(profile: xr.DataArray) -> xr.DataArray:
    """Raise unless ``profile`` is a (scan, peak) depth profile."""
    if not isinstance(profile, xr.DataArray) or kind_of(profile) != "depth_profile":
        attrs = getattr(profile, "attrs", {})
        what = attrs.get("kind") or (kind_of(profile) if isinstance(profile, xr.DataArray) else type(profile).__name__)
        raise ValidationError(f"expected a depth profile with dims (scan, peak), got a {what}",
                              attrs.get("source_file"))
    return profile.transpose("scan", "peak")


def axis_values(profile: xr.DataArray, axis: str = "sputter_time") -> tuple[np.ndarray, str]:
    """Values and unit of ``axis``; raise if absent or not strictly increasing.

    Raises
    ------
    ValidationError
        Unknown axis, axis missing from the profile (e.g. an export without the dose column), or a
        time/dose/fluence axis that does not increase strictly.
    """
    if axis not in AXES:
        raise ValidationError(f"unknown depth-profile axis {axis!r}; choose one of {sorted(AXES)}")
    if axis not in profile.coords:
        src = profile.attrs.get("source_file", "the profile")
        hint = {"dose": "the 'Dose (ions)' column", "fluence": "the 'Fluence (ions/cm^2)' column",
                "depth": "a depth scale (give sputter rates: --rates on the command line, "
                         "ionscope.depth.to_depth in Python)"}.get(axis, axis)
        raise ValidationError(f"{src} has no {axis!r} axis: the data lacks {hint}")
    x = np.asarray(profile.coords[axis].values, dtype=float)
    if not np.all(np.isfinite(x)):
        raise ValidationError(f"the {axis} axis has non-finite values")
    if x.size > 1 and np.any(np.diff(x) <= 0):
        i = int(np.nonzero(np.diff(x) <= 0)[0][0])
        raise ValidationError(
            f"the {axis} axis is not monotonic: scan {i + 1} ({x[i + 1]:g}) does not exceed scan {i} ({x[i]:g})")
    return x, profile.coords[axis].attrs.get("units", AXES[axis])


def peak_labels(profile: xr.DataArray) -> list[str]:
    return [str(p) for p in profile.coords["peak"].values]


def species_index(profile: xr.DataArray, name: str) -> int:
    """Column of species ``name`` (first occurrence of an exact label); a clear error otherwise."""
    labels = peak_labels(profile)
    if name in labels:
        return labels.index(name)
    stripped = [lab.strip() for lab in labels]
    if name.strip() in stripped:
        return stripped.index(name.strip())
    close = difflib.get_close_matches(name, labels, n=4, cutoff=0.5)
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    raise ValidationError(f"species {name!r} is not among the {len(labels)} columns of the profile{hint}")


def species_counts(profile: xr.DataArray, names: Sequence[str]) -> np.ndarray:
    """Counts (n_scan, n_species) of ``names``; raise for unknown or all-zero species."""
    prof = require_profile(profile)
    if not names:
        raise ValidationError("no species given")
    cols = [species_index(prof, n) for n in names]
    data = np.asarray(prof.values, dtype=float)[:, cols]
    for j, n in enumerate(names):
        if not np.any(data[:, j] > 0):
            raise ValidationError(f"species {n!r} is zero in every scan: nothing to locate")
        if not np.all(np.isfinite(data[:, j])):
            raise ValidationError(f"species {n!r} has non-finite intensities")
    return data


def robust_smooth(y: np.ndarray, window: int) -> np.ndarray:
    """Median filter (kills single-scan spikes) then Savitzky–Golay (keeps peak positions), along axis 0."""
    y = np.asarray(y, dtype=float)
    n = y.shape[0]
    if window < 3 or n < 5:
        return y.copy()
    win = min(window | 1, n - (1 - n % 2))
    med = median_filter(y, size=(min(5, win),) + (1,) * (y.ndim - 1), mode="nearest")
    return savgol_filter(med, win, 2, axis=0, mode="interp") if win > 3 else med


def default_window(n_scans: int) -> int:
    """Smoothing window (scans): about 2 % of the profile, odd, between 3 and 15."""
    return int(np.clip(round(n_scans / 50) | 1, 3, 15))


#: An IONTOF column that sums several species names them one after another ("^118SnI_3-SnI_3-",
#: "^206PbI_3-, ^207PbI_3-PbI_3-"); a ratio column has " / ". A new name starts after a charge sign.
_SUM_SPLIT = re.compile(r"(?<=[+-])(?:,\s*)?(?=[\^\[A-Z])|,\s+")


def summed_species(label: str) -> list[str]:
    """The species a summed IONTOF column adds up (``[label]`` for a single species or a ratio).

    >>> summed_species("^118SnI_3-SnI_3-")
    ['^118SnI_3-', 'SnI_3-']
    >>> summed_species("PbI_3-")
    ['PbI_3-']
    """
    text = label.strip()
    if " / " in text:
        return [text]
    return [p.strip() for p in _SUM_SPLIT.split(text) if p.strip()]


def is_ratio_column(label: str) -> bool:
    """Whether a column is a ratio of intensities (``A / ( B )``): not counts, no Poisson statistics."""
    return " / " in label


def species_label(label: str) -> str:
    """The label of a column for text output: one ion as chemists write it (:func:`pretty_ion`), a summed
    column as ``sum of A + B``, a ratio as ``A / B``."""
    from ionscope.model.text import pretty_ion

    text = label.strip()
    if is_ratio_column(text):
        num, _, den = text.partition(" / ")
        return f"ratio {species_label(num)} / {species_label(den.strip().strip('()').strip())}"
    parts = summed_species(text)
    if len(parts) > 1:
        return "sum of " + " + ".join(pretty_ion(p) for p in parts)
    return pretty_ion(text)
