"""Reading the tables diffusion analyses take: depth-profile CSVs, depth-profile files, Arrhenius CSVs.

Profile CSV: a depth column ``depth_nm`` or ``depth_um`` and either a ``fraction`` column (optional
``fraction_err``) or two isotope count columns named by the caller (``--isotopes Li6,Li7``).
Arrhenius CSV: ``T_K`` or ``T_C``, ``D_cm2_s`` and optional ``D_err_cm2_s``. Columns without a unit
in their name (``depth``, ``T``, ``D``) are refused: a unit guessed wrong changes D by orders of
magnitude. These functions only read and convert units; :mod:`ionscope.diffusion.tables` turns the
columns into a profile ready to fit.
"""

from __future__ import annotations

from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np

from ionscope.io.checks import require_file
from ionscope.io.registry import read
from ionscope.model.arrays import kind_of
from ionscope.model.errors import FormatError, UnitError, ValidationError
from ionscope.model.units import convert

_UNITLESS = {"depth": "depth_nm or depth_um", "x": "depth_nm or depth_um", "t": "T_K or T_C",
             "temperature": "T_K or T_C", "d": "D_cm2_s", "diffusivity": "D_cm2_s"}
_ISOTOPE_PAIRS = (("Li6", "Li7"), ("O18", "O16"), ("6Li", "7Li"), ("18O", "16O"))


def read_csv_table(path: Path) -> Any:
    """A CSV file as a pandas DataFrame with stripped column names (``#`` starts a comment)."""
    import pandas as pd

    require_file(path)
    try:
        df = pd.read_csv(path, comment="#", skipinitialspace=True)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise FormatError(f"not a readable CSV table: {exc}", path) from None
    df.columns = [str(c).strip() for c in df.columns]
    return df


def numeric_column(df: Any, col: str, path: Path) -> np.ndarray:
    """Column ``col`` as float64; a non-numeric or missing value is a :class:`FormatError` naming its row."""
    import pandas as pd

    vals = pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=float)
    if np.any(~np.isfinite(vals)):
        row = int(np.argmax(~np.isfinite(vals)))
        raise FormatError(f"column {col!r} has a non-numeric or missing value in data row {row + 1}", path)
    return vals


def refuse_unitless(columns: list[str], path: Path, needed: str) -> None:
    """Raise: a :class:`UnitError` for a column that lacks only its unit, else a :class:`FormatError`."""
    for c in columns:
        if c.lower() in _UNITLESS:
            raise UnitError(f"column {c!r} has no unit; name it {_UNITLESS[c.lower()]}", path)
    raise FormatError(f"no {needed} column; found {', '.join(columns) or 'none'}", path)


def read_profile_columns(path: str | PathLike[str], isotopes: tuple[str, str] | None = None) -> dict[str, Any]:
    """The columns of a depth-profile CSV: ``depth_nm`` and ``counts`` (two arrays) or ``fraction``/``sigma``."""
    p = Path(path)
    df = read_csv_table(p)
    cols = list(df.columns)
    if "depth_nm" in cols:
        depth = numeric_column(df, "depth_nm", p)
    elif "depth_um" in cols or "depth_µm" in cols:
        depth = numeric_column(df, "depth_um" if "depth_um" in cols else "depth_µm", p) * 1e3
    else:
        refuse_unitless(cols, p, "depth_nm or depth_um")
    if isotopes is not None:
        missing = [i for i in isotopes if i not in cols]
        if missing:
            raise FormatError(f"isotope column(s) {', '.join(missing)} not found; columns are {', '.join(cols)}", p)
        a, b = numeric_column(df, isotopes[0], p), numeric_column(df, isotopes[1], p)
        if np.any(a < 0) or np.any(b < 0):
            raise ValidationError("isotope counts must be non-negative", p)
        return {"depth_nm": depth, "counts": (a, b)}
    if "fraction" in cols:
        sigma = numeric_column(df, "fraction_err", p) if "fraction_err" in cols else None
        return {"depth_nm": depth, "fraction": numeric_column(df, "fraction", p), "sigma": sigma}
    raise FormatError("no 'fraction' column; give one, or name the two isotope count columns with "
                      f"--isotopes (columns are {', '.join(cols)})", p)


def read_profile_counts(path: str | PathLike[str], isotopes: tuple[str, str] | None = None) -> dict[str, Any]:
    """Depth (nm) and the counts of two isotope peaks from any depth-profile file ionscope reads.

    The profile ``(scan, peak)`` needs a ``depth`` coordinate (any length unit); ``isotopes``
    defaults to Li6/Li7 or O18/O16 when those peaks are present.
    """
    p = Path(path)
    data = read(p)
    if hasattr(data, "data_vars"):
        data = data[next(iter(data.data_vars))]
    if kind_of(data) != "depth_profile":
        raise ValidationError(f"expected a depth profile (scan, peak), got a {kind_of(data)}", p)
    if "depth" not in data.coords:
        raise ValidationError("the depth profile has no depth coordinate; calibrate the depth scale first "
                              "(sputter time alone does not give D)", p)
    unit = data.coords["depth"].attrs.get("units")
    if not unit:
        raise UnitError("the depth coordinate has no unit", p)
    depth = np.asarray(convert(np.asarray(data.coords["depth"].values, float), unit, "nm"))
    peaks = [str(v) for v in data.coords["peak"].values]
    if isotopes is None:
        isotopes = next((pair for pair in _ISOTOPE_PAIRS if all(q in peaks for q in pair)), None)
        if isotopes is None:
            raise ValidationError(f"name the two isotope peaks with --isotopes (peaks: {', '.join(peaks)})", p)
    missing = [i for i in isotopes if i not in peaks]
    if missing:
        raise ValidationError(f"peak(s) {', '.join(missing)} not in the profile (peaks: {', '.join(peaks)})", p)
    counts = tuple(np.asarray(data.sel(peak=i).values, float) for i in isotopes)
    return {"depth_nm": depth, "counts": counts, "isotopes": tuple(isotopes), "attrs": dict(data.attrs)}


#: Spellings of the 1σ column of D in an Arrhenius table (case-insensitive), each bare (the unit of
#: ``D_cm2_s``) or with a unit suffix from :data:`_SIGMA_UNITS`.
ARRHENIUS_SIGMA_NAMES = ("D_err", "D_error", "D_sigma", "sigma_D", "dD", "D_uncertainty", "D_unc", "D_std")
_SIGMA_UNITS = {"": 1.0, "_cm2_s": 1.0, "_m2_s": 1e4}


def _sigma_columns(cols: list[str]) -> dict[str, float]:
    """Columns that spell a 1σ of D, with the factor to cm²/s."""
    found = {}
    for c in cols:
        for name in ARRHENIUS_SIGMA_NAMES:
            for suffix, factor in _SIGMA_UNITS.items():
                if c.lower() == (name + suffix).lower():
                    found[c] = factor
    return found


def read_arrhenius_columns(path: str | PathLike[str]) -> dict[str, Any]:
    """``T_K``/``T_C``, ``D_cm2_s`` and an optional 1σ of D from a CSV.

    The 1σ column may be spelled as in :data:`ARRHENIUS_SIGMA_NAMES` (``D_err``, ``D_sigma``, ``dD``,
    ``D_uncertainty``, …), bare (then in the unit of ``D_cm2_s``) or with ``_cm2_s`` / ``_m2_s``.

    Returns
    -------
    dict
        ``T_K`` (K), ``D`` (cm²/s), ``D_uncertainty`` (cm²/s or ``None``), ``uncertainty_column``
        (its name or ``None``) and ``unused`` (every other column, in file order).
    """
    p = Path(path)
    df = read_csv_table(p)
    cols = list(df.columns)
    if "T_K" in cols:
        T = numeric_column(df, "T_K", p)
    elif "T_C" in cols:
        Tc = numeric_column(df, "T_C", p)
        if np.any(Tc < -273.15):
            raise ValidationError(f"T_C value {Tc.min():g} °C is below absolute zero", p)
        if np.any(Tc > 2000):
            raise ValidationError(f"T_C value {Tc.max():g} °C is implausible: were kelvin given as °C?", p)
        T = Tc + 273.15
    else:
        refuse_unitless(cols, p, "T_K or T_C")
    if "D_cm2_s" not in cols:
        refuse_unitless([c for c in cols if c not in ("T_K", "T_C")], p, "D_cm2_s")
    D = numeric_column(df, "D_cm2_s", p)
    sig = _sigma_columns(cols)
    if len(sig) > 1:
        raise FormatError(f"several uncertainty columns for D ({', '.join(sig)}); keep one", p)
    err, name = None, None
    if sig:
        name, factor = next(iter(sig.items()))
        err = numeric_column(df, name, p) * factor
        if np.all(err >= D):
            raise ValidationError(f"column {name!r}: every uncertainty is at least D itself; were relative "
                                  "uncertainties or another unit given? (1σ in cm²/s expected)", p)
    used = {"T_K" if "T_K" in cols else "T_C", "D_cm2_s", *sig}
    return {"T_K": T, "D": D, "D_uncertainty": err, "uncertainty_column": name,
            "unused": [c for c in cols if c not in used]}


__all__ = ["ARRHENIUS_SIGMA_NAMES", "numeric_column", "read_arrhenius_columns", "read_csv_table",
           "read_profile_columns", "read_profile_counts", "refuse_unitless"]
