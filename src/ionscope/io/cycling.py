"""Cycling logs (electrochemistry): BioLogic EC-Lab/BT-Lab ``.mpt`` text exports and generic CSV/TSV.

Every log becomes a :class:`pandas.DataFrame` with the canonical columns

===============  ====  ==========================================================================
column           unit  meaning
===============  ====  ==========================================================================
``time_s``       s     time since the first row (strictly increasing)
``voltage_V``    V     cell voltage (BioLogic ``Ewe``/``Ecell``)
``current_A``    A     current, positive on charge (``current_sign=-1`` flips a log that differs)
``capacity_Ah``  Ah    net charge passed since the first row, ∫ I dt (trapezoid rule)
``cycle``        –     cycle number from the file, or counted from the current: a cycle starts
                       with each charge that follows a discharge (rows before the first charge
                       belong to cycle 1)
``step``         –     step index from the file (``Ns``, ``Step_Index``…), or a new step whenever the
                       current changes between rest / charge / discharge
===============  ====  ==========================================================================

and ``attrs`` ``{"kind": "cycling_log", "units": {...}, "source": ..., "columns": {...}}``. The
instrument's own capacity column, when present, is kept as ``capacity_reported_Ah`` (instruments
reset it per half cycle in different ways, so the bookkeeping never relies on it).

Only ``.mpt`` files are claimed by extension and content (first line ``EC-Lab ASCII FILE`` or
``BT-Lab ASCII FILE``); a generic CSV is read only when asked for with ``format="cycling"`` (or the
CLI's ``--cycling``), so other CSV exports are never mistaken for cycling logs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ionscope.io.checks import require_file
from ionscope.io.registry import FiniteFloat, FormatPlugin, ReaderOptions
from ionscope.model.errors import FormatError, UnitError

CANONICAL = ("time", "voltage", "current", "capacity", "cycle", "step")
OUTPUT_COLUMNS = {"time": "time_s", "voltage": "voltage_V", "current": "current_A", "capacity": "capacity_Ah",
                  "cycle": "cycle", "step": "step"}

#: Factor to the SI/output unit of each quantity, by accepted spelling.
UNIT_FACTORS: dict[str, dict[str, float]] = {
    "time": {"s": 1.0, "sec": 1.0, "ms": 1e-3, "min": 60.0, "h": 3600.0, "hr": 3600.0, "hour": 3600.0,
             "d": 86400.0},
    "voltage": {"v": 1.0, "mv": 1e-3},
    "current": {"a": 1.0, "ma": 1e-3, "µa": 1e-6, "ua": 1e-6, "μa": 1e-6, "na": 1e-9},
    "capacity": {"ah": 1.0, "a.h": 1.0, "a·h": 1.0, "mah": 1e-3, "ma.h": 1e-3, "ma·h": 1e-3,
                 "µah": 1e-6, "uah": 1e-6, "μah": 1e-6, "µa.h": 1e-6, "ua.h": 1e-6,
                 "c": 1 / 3600.0, "mc": 1e-3 / 3600.0},
}
#: Column-name candidates (lower case, unit stripped) for automatic mapping.
NAME_CANDIDATES: dict[str, tuple[str, ...]] = {
    "time": ("time", "test_time", "test time", "t", "elapsed time", "total time", "time_s", "relative time"),
    "voltage": ("ewe", "<ewe>", "ecell", "<ecell>", "voltage", "potential", "u", "e", "cell voltage",
                "voltage_v", "ewe-ece"),
    "current": ("i", "<i>", "current", "current_a", "cell current"),
    "capacity": ("(q-qo)", "capacity", "q", "charge", "capacity_ah"),
    "cycle": ("cycle number", "cycle", "cycle_index", "cycle index", "cycle no", "cycle_no"),
    "step": ("ns", "step", "step_index", "step index", "step no", "step_no"),
}
_MPT_MAGIC = (b"EC-Lab ASCII FILE", b"BT-Lab ASCII FILE")
_NB_HEADER = re.compile(r"Nb header lines\s*:\s*(\d+)", re.I)
_UNIT_IN_NAME = re.compile(r"^\s*(?P<name>.*?)\s*(?:[(\[](?P<u1>[^()\[\]]+)[)\]]|/(?P<u2>[^/]+))\s*$")
#: Relative current below which a row counts as rest when steps are derived.
REST_FRACTION = 1e-3


class CyclingOptions(ReaderOptions):
    """Reader options of cycling logs."""

    columns: dict[str, str] | None = None
    units: dict[str, str] | None = None
    sep: str | None = None
    decimal: str = "auto"
    comment: str | None = "#"
    current_sign: FiniteFloat = 1.0
    encoding: str | None = None


def _sniff(path: Path, head: bytes) -> bool:
    return head.lstrip(b"\xef\xbb\xbf").startswith(_MPT_MAGIC)


def split_name_unit(header: str) -> tuple[str, str | None]:
    """Split ``"I/mA"``, ``"Current (mA)"`` or ``"Test_Time(s)"`` into a lower-case name and a unit."""
    text = str(header).strip()
    m = _UNIT_IN_NAME.match(text)
    if m and m.group("name"):
        unit = (m.group("u1") or m.group("u2") or "").strip()
        return m.group("name").strip().lower(), unit or None
    return text.lower(), None


def unit_factor(quantity: str, unit: str, path: Any = None) -> float:
    """Factor taking ``quantity`` in ``unit`` to the output unit (s, V, A, Ah).

    Raises
    ------
    UnitError
        If the unit is not one ionscope knows for this quantity.
    """
    key = unit.strip().lower().replace(" ", "")
    try:
        return UNIT_FACTORS[quantity][key]
    except KeyError:
        known = ", ".join(UNIT_FACTORS[quantity])
        raise UnitError(f"unknown {quantity} unit {unit!r} (known: {known}); declare it with units=…", path) from None


def _map_columns(df: pd.DataFrame, columns: Mapping[str, str] | None, path: Path | None) -> dict[str, str]:
    columns = dict(columns or {})
    for key in columns:
        if key not in CANONICAL:
            raise FormatError(f"unknown column role {key!r}; expected one of {CANONICAL}", path)
        if columns[key] not in df.columns:
            raise FormatError(f"column {columns[key]!r} (for {key}) is not in the file; columns are "
                              f"{list(df.columns)}", path)
    used = set(columns.values())
    for role, names in NAME_CANDIDATES.items():
        if role in columns:
            continue
        for name in names:
            hits = [c for c in df.columns if c not in used and split_name_unit(c)[0] == name]
            if hits:
                columns[role] = hits[0]
                used.add(hits[0])
                break
    return columns


def _numeric(df: pd.DataFrame, col: str, role: str, path: Path | None) -> np.ndarray:
    raw = df[col]
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
    if role == "time" and np.isnan(values).all():
        stamps = pd.to_datetime(raw, errors="coerce")
        if stamps.notna().all():
            return (stamps - stamps.iloc[0]).dt.total_seconds().to_numpy()
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        i = int(bad[0])
        raise FormatError(f"row {i + 1} of the data: {role} column {col!r} holds {raw.iloc[i]!r}, not a number "
                          f"({bad.size} such row(s)); truncated or corrupt", path)
    return values


def derive_steps(current_A: np.ndarray, rest_fraction: float = REST_FRACTION) -> tuple[np.ndarray, np.ndarray]:
    """Steps and cycles counted from the current alone.

    A row is *rest* when ``|I| ≤ rest_fraction · max|I|``, else charge (I > 0) or discharge (I < 0);
    a new step starts whenever that state changes, and a new cycle with every charge step that
    follows a discharge step.

    Returns
    -------
    step, cycle
        Integer arrays (steps from 1, cycles from 1).
    """
    i = np.asarray(current_A, dtype=float)
    tol = rest_fraction * (np.max(np.abs(i)) if i.size else 0.0)
    state = np.where(i > tol, 1, np.where(i < -tol, -1, 0))
    change = np.r_[True, state[1:] != state[:-1]] if i.size else np.zeros(0, bool)
    step = np.cumsum(change)
    cycle = np.ones(i.size, dtype=np.int64)
    seen_discharge, current_cycle = False, 1
    starts = np.flatnonzero(change)
    ends = np.r_[starts[1:], i.size]
    for s, e in zip(starts, ends):
        if state[s] == 1 and seen_discharge:
            current_cycle += 1
            seen_discharge = False
        elif state[s] == -1:
            seen_discharge = True
        cycle[s:e] = current_cycle
    return step.astype(np.int64), cycle


def net_charge_Ah(time_s: np.ndarray, current_A: np.ndarray) -> np.ndarray:
    """Cumulative net charge ∫ I dt in Ah from the first row (trapezoid rule)."""
    t = np.asarray(time_s, dtype=float)
    i = np.asarray(current_A, dtype=float)
    if t.size < 2:
        return np.zeros(t.size)
    return np.r_[0.0, np.cumsum(0.5 * (i[1:] + i[:-1]) * np.diff(t))] / 3600.0


def cycling_frame(table: pd.DataFrame, *, columns: Mapping[str, str] | None = None,
                  units: Mapping[str, str] | None = None, current_sign: float = 1.0,
                  path: str | PathLike[str] | None = None, source: str = "table") -> pd.DataFrame:
    """Turn any table of a cycling log into the canonical cycling-log DataFrame.

    Parameters
    ----------
    table
        Raw columns as read from the file.
    columns
        Role → column name (roles ``time, voltage, current, capacity, cycle, step``); roles not given
        are found by name (``time``, ``Ewe``, ``I``, ``Current``…).
    units
        Role → unit, overriding the units written in the headers (``"time": "h"``, ``"current": "mA"``).
    current_sign
        ``-1`` for logs that record charge as negative current.
    """
    p = Path(path) if path is not None else None
    mapping = _map_columns(table, columns, p)
    for role in ("time", "voltage", "current"):
        if role not in mapping:
            raise FormatError(f"no {role} column found (columns: {list(table.columns)}); name it with --column "
                              f"{role}=NAME (columns={{'{role}': NAME}} in Python)", p)
    if len(table) < 2:
        raise FormatError(f"a cycling log needs at least two rows, got {len(table)}", p)
    units = dict(units or {})
    out: dict[str, np.ndarray] = {}
    used_units: dict[str, str] = {}
    for role in ("time", "voltage", "current", "capacity"):
        if role not in mapping:
            continue
        col = mapping[role]
        unit = units.get(role) or split_name_unit(col)[1]
        if unit is None and role == "time" and pd.to_numeric(table[col], errors="coerce").isna().all():
            unit = "s"  # time stamps: parsed to seconds by _numeric
        if unit is None:
            raise UnitError(f"the unit of the {role} column {col!r} is not in its header; declare it with "
                            f"units={{'{role}': '...'}}", p)
        factor = unit_factor(role, unit, p)
        used_units[role] = unit
        out[role] = _numeric(table, col, role, p) * factor
    t = out["time"]
    bad = np.flatnonzero(np.diff(t) <= 0)
    if bad.size:
        i = int(bad[0])
        raise FormatError(f"time is not strictly increasing: row {i + 2} has {t[i + 1]:.6g} s after {t[i]:.6g} s "
                          f"({bad.size} such row(s)); concatenated or re-sorted log?", p)
    current = out["current"] * float(current_sign)
    derived_step, derived_cycle = derive_steps(current)
    result = pd.DataFrame({
        "time_s": t - t[0],
        "voltage_V": out["voltage"],
        "current_A": current,
        "capacity_Ah": net_charge_Ah(t, current),
    })
    for role, derived in (("cycle", derived_cycle), ("step", derived_step)):
        if role in mapping:
            result[role] = _numeric(table, mapping[role], role, p).astype(np.int64)
        else:
            result[role] = derived
    if "capacity" in out:
        result["capacity_reported_Ah"] = out["capacity"]
    result.attrs.update({
        "kind": "cycling_log",
        "units": {"time_s": "s", "voltage_V": "V", "current_A": "A", "capacity_Ah": "Ah", "cycle": "",
                  "step": "", **({"capacity_reported_Ah": "Ah"} if "capacity" in out else {})},
        "source": source, "path": None if p is None else str(p),
        "columns": mapping, "declared_units": used_units, "current_sign": float(current_sign),
        "t0_offset_s": float(t[0]),
    })
    return result


def _read_text(p: Path, encoding: str | None) -> str:
    raw = p.read_bytes()
    for enc in ([encoding] if encoding else ["utf-8-sig", "cp1252", "latin-1"]):
        try:
            return raw.decode(enc)
        except UnicodeDecodeError:
            continue
    raise FormatError("cannot decode the text (tried UTF-8, cp1252, latin-1)", p)  # pragma: no cover


def _parse_table(text: str, sep: str | None, decimal: str, p: Path) -> pd.DataFrame:
    import io

    lines = text.splitlines()
    if not lines:
        raise FormatError("holds no lines", p)
    header = lines[0]
    if sep is None:
        sep = "\t" if "\t" in header else (";" if header.count(";") > header.count(",") else ",")
    if decimal == "auto":
        sample = "\n".join(lines[1:50])
        decimal = "," if sep != "," and re.search(r"\d,\d", sample) and not re.search(r"\d\.\d", sample) else "."
    n_fields = len(header.rstrip(sep).split(sep))
    for k, line in enumerate(lines[1:], start=2):
        if line.strip() and len(line.rstrip(sep).split(sep)) < n_fields:
            raise FormatError(f"line {k} of the table has {len(line.rstrip(sep).split(sep))} fields, the header "
                              f"has {n_fields}: truncated or corrupt", p)
    try:
        df = pd.read_csv(io.StringIO(text), sep=sep, decimal=decimal, skip_blank_lines=True, engine="c",
                         index_col=False)
    except (pd.errors.ParserError, ValueError) as exc:
        raise FormatError(f"cannot parse the table: {exc}", p) from None
    return df.loc[:, [c for c in df.columns if not (str(c).startswith("Unnamed:") and df[c].isna().all())]]


def read_mpt(path: str | PathLike[str], *, encoding: str | None = None, **options: Any) -> pd.DataFrame:
    """Read a BioLogic EC-Lab/BT-Lab ``.mpt`` text export.

    The second line ``Nb header lines : N`` counts the header lines including the column-name line;
    columns are tab separated with units after a slash (``time/s``, ``Ewe/V``, ``I/mA``,
    ``(Q-Qo)/mA.h``, ``cycle number``, ``Ns``); decimal commas of European locales are accepted.
    Other options go to :func:`cycling_frame`.
    """
    p = require_file(path)
    text = _read_text(p, encoding)
    lines = text.splitlines()
    if not lines or not lines[0].strip().encode("utf-8", "replace").startswith(_MPT_MAGIC):
        raise FormatError("not a BioLogic ASCII export: the first line is not 'EC-Lab ASCII FILE'", p)
    m = _NB_HEADER.search("\n".join(lines[1:3]))
    if m is None:
        raise FormatError("no 'Nb header lines : N' line after the first line", p)
    n_header = int(m.group(1))
    if n_header < 3 or n_header > len(lines):
        raise FormatError(f"header claims {n_header} lines but the file has {len(lines)}: truncated or corrupt", p)
    table = _parse_table("\n".join(lines[n_header - 1:]), "\t", options.pop("decimal", "auto"), p)
    return cycling_frame(table, path=p, source="biologic-mpt", **options)


def read_cycling(path: str | PathLike[str], *, columns: Mapping[str, str] | None = None,
                 units: Mapping[str, str] | None = None, sep: str | None = None, decimal: str = "auto",
                 comment: str | None = "#", current_sign: float = 1.0, encoding: str | None = None) -> pd.DataFrame:
    """Read a cycling log: a BioLogic ``.mpt`` (by content) or a generic CSV/TSV.

    Parameters
    ----------
    path
        The log file.
    columns, units, current_sign
        Column mapping, unit overrides and sign convention (see :func:`cycling_frame`); a header
        such as ``Current (mA)``, ``I/mA`` or ``Test_Time(s)`` declares its own unit.
    sep, decimal
        Field separator (detected: tab, ``;`` or ``,``) and decimal mark (``"auto"``: comma only
        for non-comma separated files whose numbers use it).
    comment
        Lines starting with this are skipped (instrument headers).
    """
    p = require_file(path)
    with open(p, "rb") as fh:
        head = fh.read(64)
    if _sniff(p, head):
        return read_mpt(p, encoding=encoding, columns=columns, units=units, current_sign=current_sign,
                        decimal=decimal)
    text = _read_text(p, encoding)
    if comment:
        text = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith(comment))
    table = _parse_table(text, sep, decimal, p)
    return cycling_frame(table, columns=columns, units=units, current_sign=current_sign, path=p,
                         source="csv")


def write_cycling_csv(log: pd.DataFrame, path: str | PathLike[str], *, force: bool = False) -> Path:
    """Write a canonical cycling log as CSV with units in the headers (``time_s`` → ``time (s)``), atomically."""
    from ionscope.io.atomic import write_text

    headers = {"time_s": "time (s)", "voltage_V": "voltage (V)", "current_A": "current (A)",
               "capacity_Ah": "capacity (Ah)", "cycle": "cycle", "step": "step"}
    table = log[list(headers)].rename(columns=headers)
    return write_text(path, table.to_csv(index=False, float_format="%.12g"), force=force)


PLUGIN = FormatPlugin(
    name="cycling",
    extensions=(".mpt",),
    kinds=("cycling_log",),
    description="cycling logs: BioLogic .mpt text exports (by content); generic CSV/TSV with format='cycling'",
    read=read_cycling,
    sniff=_sniff,
    options_model=CyclingOptions,
    options={"columns": "role→column mapping", "units": "role→unit", "current_sign": "-1 if charge is negative"},
)
