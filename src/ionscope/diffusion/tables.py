"""Diffusion inputs: a depth profile ready to fit from a CSV table or any depth-profile file, Arrhenius data.

The files are read by :mod:`ionscope.io.profile_tables`; here the two isotopes' counts become the
tracer fraction with its binomial 1σ (:func:`ionscope.diffusion.fraction.isotope_fraction`) and the
profile is checked before a fit sees it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path

import numpy as np

from ionscope.io.profile_tables import read_arrhenius_columns, read_profile_columns, read_profile_counts
from ionscope.model.errors import UnitError, ValidationError
from ionscope.model.result import Result
from ionscope.model.units import convert, parse_quantity


@dataclass
class ProfileTable:
    """A depth profile ready to fit: depth (nm), tracer fraction and optional 1σ."""

    depth_nm: np.ndarray
    fraction: np.ndarray
    sigma: np.ndarray | None
    isotopes: tuple[str, str] | None = None
    source: str = ""
    attrs: dict = field(default_factory=dict)


def parse_time(text: str | float) -> float:
    """Anneal time in seconds from ``"86400"``, ``"24h"``, ``"59 h"``, ``"30 min"``, ``"2d"``.

    Raises
    ------
    ValidationError
        If the time is not positive; :class:`UnitError` if it cannot be parsed.
    """
    value, unit = parse_quantity(str(text), default_unit="s")
    try:
        seconds = float(convert(value, unit, "s"))
    except UnitError:
        raise UnitError(f"{text!r} is not a time (use s, min, h or d, e.g. '24h')") from None
    if not (np.isfinite(seconds) and seconds > 0):
        raise ValidationError(f"anneal time must be positive, got {text!r}")
    return seconds


def read_profile_table(path: str | PathLike[str], isotopes: tuple[str, str] | None = None) -> ProfileTable:
    """Read a depth-profile CSV (see :mod:`ionscope.io.profile_tables`) into depth (nm), fraction and σ."""
    from ionscope.diffusion.fraction import isotope_fraction

    p = Path(path)
    columns = read_profile_columns(p, isotopes)
    depth = columns["depth_nm"]
    if "counts" in columns:
        iso = isotope_fraction(*columns["counts"])
        frac, sig = iso.fraction, iso.uncertainty
        if np.any(~np.isfinite(frac)):
            raise ValidationError("some rows have zero counts of both isotopes; remove them", p)
    else:
        frac, sig = columns["fraction"], columns["sigma"]
    _check_profile(depth, frac, p)
    return ProfileTable(depth, frac, sig, (isotopes[0], isotopes[1]) if isotopes else None, str(p))


def _check_profile(depth, frac, path) -> None:
    from ionscope.diffusion.fit import validate_profile

    try:
        validate_profile(depth, frac)
    except ValidationError as exc:
        raise ValidationError(exc.problem, path) from None


def read_profile(path: str | PathLike[str], isotopes: tuple[str, str] | None = None) -> ProfileTable:
    """Read a profile from a CSV table or from any depth-profile file ionscope reads.

    A depth profile ``(scan, peak)`` needs a ``depth`` coordinate (any length unit) and the two
    isotope peaks (``isotopes``; default Li6/Li7 or O18/O16 when present).
    """
    from ionscope.diffusion.fraction import isotope_fraction

    p = Path(path)
    if p.suffix.lower() in (".csv", ".tsv") and p.is_file():
        return read_profile_table(p, isotopes)
    found = read_profile_counts(p, isotopes)
    iso = isotope_fraction(*found["counts"])
    frac, sig = iso.fraction, iso.uncertainty
    keep = np.isfinite(frac)
    depth = found["depth_nm"]
    _check_profile(depth[keep], frac[keep], p)
    return ProfileTable(depth[keep], frac[keep], sig[keep], found["isotopes"], str(p), found["attrs"])


def read_arrhenius_table(path: str | PathLike[str]) -> Result:
    """Read ``T_K``/``T_C``, ``D_cm2_s`` and an optional 1σ of D from a CSV.

    The 1σ column is recognised under the common spellings (``D_err``, ``D_sigma``, ``dD``,
    ``D_uncertainty``, …; bare in the unit of ``D_cm2_s`` or with ``_cm2_s``/``_m2_s``, see
    :func:`ionscope.io.profile_tables.read_arrhenius_columns`). Every column the fit does not use is
    named in a warning, never dropped silently.

    Returns
    -------
    Result
        ``diffusion.arrhenius_table``: ``T_K`` (K), ``D`` and its 1σ ``D_uncertainty`` (cm²/s; ``None``
        without the column), ``uncertainty_column``, ``unused_columns``; warnings for unused columns
        and for a bare uncertainty column whose unit was taken from ``D_cm2_s``.
    """
    from ionscope.diffusion.transport import check_kelvin

    cols = read_arrhenius_columns(path)
    try:
        check_kelvin(cols["T_K"], advice="were °C given? name that column T_C, or give kelvin in T_K")
    except ValidationError as exc:
        raise ValidationError(exc.problem, Path(path)) from None
    warnings = []
    name = cols["uncertainty_column"]
    if name is not None and not name.lower().endswith("_s"):
        warnings.append(f"column {name!r} taken as the 1σ of D in cm²/s, the unit of D_cm2_s")
    for c in cols["unused"]:
        warnings.append(f"column {c!r} is not used (the Arrhenius fit reads T_K or T_C, D_cm2_s and one 1σ column "
                        "of D: D_err, D_sigma, dD or D_uncertainty, bare or with _cm2_s)")
    return Result("diffusion.arrhenius_table", {"T_K": cols["T_K"], "D": cols["D"],
                                                "D_uncertainty": cols["D_uncertainty"],
                                                "uncertainty_column": name, "unused_columns": cols["unused"]},
                  warnings=tuple(warnings))
