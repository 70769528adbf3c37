"""Reading diffusion inputs: depth-profile CSV tables, any depth profile ionscope reads, Arrhenius tables.

Profile CSV: a depth column ``depth_nm`` or ``depth_um`` and either a ``fraction`` column (optional
``fraction_err``) or two isotope count columns named by the caller (``--isotopes Li6,Li7``).
Arrhenius CSV: ``T_K`` or ``T_C``, ``D_cm2_s`` and optional ``D_err_cm2_s``. Columns without a unit
in their name (``depth``, ``T``, ``D``) are refused: a unit guessed wrong changes D by orders of
magnitude.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path

import numpy as np

from ionscope.io.checks import require_file
from ionscope.model.errors import FormatError, UnitError, ValidationError
from ionscope.model.units import convert, parse_quantity

_UNITLESS = {"depth": "depth_nm or depth_um", "x": "depth_nm or depth_um", "t": "T_K or T_C",
             "temperature": "T_K or T_C", "d": "D_cm2_s", "diffusivity": "D_cm2_s"}


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


def _read_csv(path: Path):
    import pandas as pd

    require_file(path)
    try:
        df = pd.read_csv(path, comment="#", skipinitialspace=True)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise FormatError(f"not a readable CSV table: {exc}", path) from None
    df.columns = [str(c).strip() for c in df.columns]
    return df


def _numeric(df, col: str, path: Path) -> np.ndarray:
    import pandas as pd

    vals = pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=float)
    if np.any(~np.isfinite(vals)):
        row = int(np.argmax(~np.isfinite(vals)))
        raise FormatError(f"column {col!r} has a non-numeric or missing value in data row {row + 1}", path)
    return vals


def _refuse_unitless(columns, path: Path, needed: str) -> None:
    for c in columns:
        if c.lower() in _UNITLESS:
            raise UnitError(f"column {c!r} has no unit; name it {_UNITLESS[c.lower()]}", path)
    raise FormatError(f"no {needed} column; found {', '.join(columns) or 'none'}", path)


def read_profile_table(path: str | PathLike[str], isotopes: tuple[str, str] | None = None) -> ProfileTable:
    """Read a depth-profile CSV (see module docstring) into depth (nm), fraction and σ."""
    from ionscope.diffusion.fraction import isotope_fraction

    p = Path(path)
    df = _read_csv(p)
    cols = list(df.columns)
    if "depth_nm" in cols:
        depth = _numeric(df, "depth_nm", p)
    elif "depth_um" in cols or "depth_µm" in cols:
        depth = _numeric(df, "depth_um" if "depth_um" in cols else "depth_µm", p) * 1e3
    else:
        _refuse_unitless(cols, p, "depth_nm or depth_um")
    if isotopes is not None:
        missing = [i for i in isotopes if i not in cols]
        if missing:
            raise FormatError(f"isotope column(s) {', '.join(missing)} not found; columns are {', '.join(cols)}", p)
        a, b = _numeric(df, isotopes[0], p), _numeric(df, isotopes[1], p)
        if np.any(a < 0) or np.any(b < 0):
            raise ValidationError("isotope counts must be non-negative", p)
        frac, sig = isotope_fraction(a, b)
        if np.any(~np.isfinite(frac)):
            raise ValidationError("some rows have zero counts of both isotopes; remove them", p)
    elif "fraction" in cols:
        frac = _numeric(df, "fraction", p)
        sig = _numeric(df, "fraction_err", p) if "fraction_err" in cols else None
    else:
        raise FormatError("no 'fraction' column; give one, or name the two isotope count columns with "
                          f"--isotopes (columns are {', '.join(cols)})", p)
    _check_profile(depth, frac, p)
    return ProfileTable(depth, frac, sig, tuple(isotopes) if isotopes else None, str(p))


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
    import ionscope
    from ionscope.diffusion.fraction import isotope_fraction
    from ionscope.model.arrays import kind_of

    p = Path(path)
    if p.suffix.lower() in (".csv", ".tsv") and p.is_file():
        return read_profile_table(p, isotopes)
    data = ionscope.read(p)
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
        for pair in (("Li6", "Li7"), ("O18", "O16"), ("6Li", "7Li"), ("18O", "16O")):
            if all(q in peaks for q in pair):
                isotopes = pair
                break
        else:
            raise ValidationError(f"name the two isotope peaks with --isotopes (peaks: {', '.join(peaks)})", p)
    missing = [i for i in isotopes if i not in peaks]
    if missing:
        raise ValidationError(f"peak(s) {', '.join(missing)} not in the profile (peaks: {', '.join(peaks)})", p)
    a = np.asarray(data.sel(peak=isotopes[0]).values, float)
    b = np.asarray(data.sel(peak=isotopes[1]).values, float)
    frac, sig = isotope_fraction(a, b)
    keep = np.isfinite(frac)
    _check_profile(depth[keep], frac[keep], p)
    return ProfileTable(depth[keep], frac[keep], sig[keep], tuple(isotopes), str(p), dict(data.attrs))


def read_arrhenius_table(path: str | PathLike[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Read ``T_K``/``T_C``, ``D_cm2_s`` and optional ``D_err_cm2_s`` from a CSV; returns (T in K, D, σ_D)."""
    from ionscope.diffusion.transport import check_kelvin

    p = Path(path)
    df = _read_csv(p)
    cols = list(df.columns)
    if "T_K" in cols:
        T = _numeric(df, "T_K", p)
    elif "T_C" in cols:
        Tc = _numeric(df, "T_C", p)
        if np.any(Tc < -273.15):
            raise ValidationError(f"T_C value {Tc.min():g} °C is below absolute zero", p)
        if np.any(Tc > 2000):
            raise ValidationError(f"T_C value {Tc.max():g} °C is implausible: were kelvin given as °C?", p)
        T = Tc + 273.15
    else:
        _refuse_unitless(cols, p, "T_K or T_C")
    if "D_cm2_s" not in cols:
        _refuse_unitless([c for c in cols if c not in ("T_K", "T_C")], p, "D_cm2_s")
    D = _numeric(df, "D_cm2_s", p)
    err = _numeric(df, "D_err_cm2_s", p) if "D_err_cm2_s" in cols else None
    try:
        check_kelvin(T)
    except ValidationError as exc:
        raise ValidationError(exc.problem, p) from None
    return T, D, err
