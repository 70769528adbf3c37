"""Spectra as delimited text tables: m/z and counts in columns (CSV, TSV, whitespace), as other instruments'
software, spreadsheets and ionscope's own CSV/TSV writer (:mod:`ionscope.io.table_text`) leave them.

Layout: optional ``#`` comment lines (ionscope's ``# units: "counts"`` is read), an optional header row, then
one row per bin; fields may be quoted (spreadsheet CSV) and, where the columns are not comma-separated, use a
decimal comma. With a header, the columns are found by name: m/z (``m/z``, ``mz``, ``mass`` …), counts
(``intensity``, ``counts``, ``signal`` …) and optionally ``channel``. Without one, two columns are m/z and counts,
and three columns are channel, m/z and counts when the first holds increasing whole numbers (the layout of an
IONTOF export without its header); SurfaceLab's ``# Binning:`` and ``# Deadtime Correction:`` lines become its
acquisition metadata, as in :mod:`ionscope.io.iontof_spectrum`. The m/z must not decrease and the counts be
finite and non-negative; each problem is reported with the line it was found on.
"""

from __future__ import annotations

import json
import re
import warnings
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np

from ionscope.io.iontof_spectrum import _is_export_header, _is_number, export_acquisition
from ionscope.io.registry import FormatPlugin
from ionscope.model.errors import FormatError

#: Header names of the m/z column, the counts column and the channel column (case-insensitive, units in
#: brackets ignored).
MZ_NAMES = re.compile(r"^(m/?z|mz|mass(/charge)?|masse|m|da|u)$")
COUNT_NAMES = re.compile(r"^(intensity|intensities|counts?|signal|abundance|ions?|total|y)$")
CHANNEL_NAMES = re.compile(r"^(channel|ch|bin|tof|time|flight time)$")
#: Lines read to decide whether a file is a numeric table (the sniff).
SNIFF_LINES = 12


class LayoutWarning(UserWarning):
    """A table without a header row: its columns were read by their number and contents."""


class RepeatedMassWarning(UserWarning):
    """Rows of one m/z (adjacent bins an export's digits do not tell apart) were merged."""


def _text_lines(head: bytes) -> list[str] | None:
    try:
        text = head.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    return [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]


def _delimiter(line: str) -> str | None:
    """``","``, ``"\\t"`` or ``";"`` when the line holds one, None for whitespace."""
    return next((d for d in ("\t", ",", ";") if d in line), None)


_DECIMAL_COMMA = re.compile(r"^[+-]?\d+,\d+([eE][+-]?\d+)?$")


def _fields(line: str, delimiter: str | None) -> list[str]:
    """The fields of a row: spaces and surrounding quotes (spreadsheet CSV) removed, a decimal comma read as a
    point where the columns are not comma-separated (``22,99;150``)."""
    fields = [f.strip().strip('"').strip() for f in (line.split(delimiter) if delimiter else line.split())]
    if delimiter != ",":
        fields = [f.replace(",", ".") if _DECIMAL_COMMA.match(f) else f for f in fields]
    return fields



def _name(title: str) -> str:
    """A column title as compared with the name patterns: lower case, units in brackets dropped."""
    return re.sub(r"\s*[\(\[].*?[\)\]]\s*", "", title).strip().lower()


def sniff(path: Path, head: bytes) -> bool:
    """A text whose first rows (after ``#`` comments and at most one header row naming an m/z column) hold 2 or 3
    numbers each, and which the IONTOF readers do not claim (their exports keep their metadata there)."""
    from ionscope.io import iontof_profile, iontof_spectrum

    if iontof_spectrum._sniff(path, head) or iontof_profile._sniff(path, head):
        return False
    lines = _text_lines(head)
    if not lines:
        return False
    delimiter = _delimiter(lines[0])
    rows = [_fields(ln, delimiter) for ln in lines[:SNIFF_LINES]]
    if rows and not all(_is_number(f) for f in rows[0] if f):
        if not any(MZ_NAMES.match(_name(f)) for f in rows[0]):
            return False
        rows = rows[1:]
    full = rows[:-1] if len(rows) > 2 else rows  # the sniffed head may cut its last row short
    return len(full) >= 2 and all(len([f for f in r if f]) in (2, 3) and all(_is_number(f) for f in r if f)
                                  for r in full)


def _columns(header: list[str] | None, n: int, first: np.ndarray, path: Path) -> tuple[int | None, int, int]:
    """(channel, m/z, counts) column indices."""
    if header is not None:
        names = [_name(t) for t in header]
        mz = next((i for i, t in enumerate(names) if MZ_NAMES.match(t)), None)
        counts = next((i for i, t in enumerate(names) if COUNT_NAMES.match(t)), None)
        channel = next((i for i, t in enumerate(names) if CHANNEL_NAMES.match(t)), None)
        if mz is None:
            raise FormatError(f"no m/z column among {header} (a column titled m/z, mz or mass)", path)
        if counts is None:
            rest = [i for i in range(n) if i not in (mz, channel)]
            if len(rest) != 1:
                raise FormatError(f"no counts column among {header} (a column titled intensity or counts)", path)
            counts = rest[0]
        return channel, mz, counts
    if n == 2:
        warnings.warn("no header: the two columns are read as m/z and counts", LayoutWarning, stacklevel=3)
        return None, 0, 1
    whole = np.all(first == np.round(first)) and np.all(np.diff(first) > 0)
    if n == 3 and whole:
        warnings.warn("no header: the three columns are read as channel, m/z and counts (the first holds "
                      "increasing whole numbers)", LayoutWarning, stacklevel=3)
        return 0, 1, 2
    raise FormatError(f"{n} columns without a header naming them: give a header row (m/z, counts)", path)


def _parsed_rows(lines: list[str], numbers: list[int], width: int, delimiter: str | None,
                 path: Path) -> np.ndarray:
    """The data rows parsed one by one (quoted fields, decimal commas), or the first that is not ``width``
    numbers named by its line."""
    out = np.empty((len(lines), width))
    for k, (row, number) in enumerate(zip(lines, numbers)):
        fields = _fields(row, delimiter)
        if len(fields) != width or not all(_is_number(f) for f in fields):
            raise FormatError(f"line {number}: expected {width} numbers, got {row.strip()[:80]!r}", path)
        out[k] = [float(f) for f in fields]
    return out


def _preamble(lines: list[str]) -> tuple[int, list[str] | None, str | None, str]:
    """(index of the first data line, header fields or None, delimiter, units) of a table's lines."""
    units, header, delimiter = "counts", None, None
    for k, line in enumerate(lines):
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            m = re.match(r"#\s*units:\s*(.+)$", stripped)
            if m:
                units = str(json.loads(m.group(1))) if m.group(1).startswith('"') else m.group(1).strip()
            continue
        if delimiter is None and header is None:
            delimiter = _delimiter(stripped)
        fields = _fields(stripped, delimiter)
        if header is None and not all(_is_number(f) for f in fields if f):
            header = fields
            continue
        return k, header, delimiter, units
    return len(lines), header, delimiter, units


#: Characters of a table searched for its comments and header before the rest is handed to the CSV parser.
PREAMBLE_CHARS = 65536


def _table(text: str, path: Path) -> tuple[np.ndarray, list[int] | None, list[str] | None, str]:
    """(data rows, their line numbers when parsed one by one, header, units) of a table's text: read at once by
    :func:`pandas.read_csv`, row by row where that fails (quoted fields, decimal commas, a bad row)."""
    import io

    import pandas as pd

    lines = text[:PREAMBLE_CHARS].splitlines()[:-1] or text.splitlines()  # the last may be cut short
    start, header, delimiter, units = _preamble(lines)
    if start == len(lines):
        lines = text.splitlines()
        start, header, delimiter, units = _preamble(lines)
        if start == len(lines):
            raise FormatError("no data rows", path)
    width = len(header) if header is not None else len(_fields(lines[start], delimiter))
    try:
        frame = pd.read_csv(io.StringIO(text), skiprows=start, sep=delimiter or r"\s+", header=None, comment="#",
                            dtype=float, skip_blank_lines=True, engine="c")
        if frame.shape[1] == width:
            return frame.to_numpy(), None, header, units
    except (ValueError, pd.errors.ParserError):
        pass
    lines = text.splitlines()
    numbers = _data_line_numbers(lines, start)
    return _parsed_rows([lines[n - 1] for n in numbers], numbers, width, delimiter, path), numbers, header, units


def _export_header(text: str) -> dict[str, str]:
    """SurfaceLab's ``# key: value`` lines (``# Binning: 200 channels``) before the first row of a table, by
    lower-case key."""
    header: dict[str, str] = {}
    for line in text[:PREAMBLE_CHARS].splitlines():
        if line.strip() and not line.startswith("#"):
            break
        if _is_export_header(line):
            key, _, value = line[1:].partition(":")
            header[key.strip().lower()] = value.strip()
    return header


def _data_line_numbers(lines: list[str], start: int | None = None) -> list[int]:
    """Line numbers (from 1) of the data rows from line index ``start`` (the first data line of the table when
    None): the lines that are neither blank nor ``#`` comments."""
    if start is None:
        start = _preamble(lines)[0]
    return [k + 1 for k, ln in enumerate(lines) if k >= start and ln.strip() and not ln.lstrip().startswith("#")]


def read_spectrum_table(path: str | PathLike[str]) -> Any:
    """Read a spectrum from a delimited text table (module docstring).

    Raises
    ------
    FormatError
        No m/z or counts column, a row that is not numbers, m/z decreasing, counts negative or not finite.

    Rows that repeat the m/z of the row before (an export's m/z rounded to too few digits, at low m/z) are added
    to it, with a :class:`RepeatedMassWarning`.
    """
    from ionscope.model.arrays import make_spectrum

    p = Path(path)
    try:
        text = p.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FormatError(f"not UTF-8 text (byte {exc.start})", p) from None
    data, numbers, header, units = _table(text, p)

    def line(row: int) -> int:
        return (numbers or _data_line_numbers(text.splitlines()))[row]

    channel, mz_col, count_col = _columns(header, data.shape[1], data[:, 0], p)
    mz, counts = data[:, mz_col], data[:, count_col]
    bad = np.flatnonzero(~np.isfinite(mz) | ~np.isfinite(counts) | (counts < 0))
    if bad.size:
        raise FormatError(f"line {line(bad[0])}: m/z and counts must be finite and the counts non-negative", p)
    falls = np.flatnonzero(np.diff(mz) < 0)
    if falls.size:
        raise FormatError(f"line {line(falls[0] + 1)}: m/z {mz[falls[0] + 1]:g} is below the m/z before it "
                          f"({mz[falls[0]]:g}); sort the rows by m/z", p)
    channels = None if channel is None else data[:, channel]
    repeated = np.flatnonzero(np.diff(mz) == 0) + 1
    if repeated.size:  # adjacent bins the export's m/z digits do not tell apart
        rows_say = "1 row repeats" if repeated.size == 1 else f"{repeated.size} rows repeat"
        warnings.warn(f"{rows_say} the m/z of the row before (the file's m/z have too few digits "
                      f"there, first at line {line(repeated[0])}, m/z {mz[repeated[0]]:g}): their counts are "
                      "added to it", RepeatedMassWarning, stacklevel=2)
        first = np.concatenate(([True], np.diff(mz) != 0))
        counts = np.bincount(np.cumsum(first) - 1, weights=counts)
        mz = mz[first]
        channels = None if channels is None else channels[first]
    export_header = _export_header(text)
    extra = {"acquisition": export_acquisition(export_header, p, channels)} if export_header else {}
    return make_spectrum(counts, mz, channel=channels, units=units, attrs={"source_file": p.name}, **extra)


PLUGIN = FormatPlugin(
    name="spectrum-table",
    extensions=(".csv", ".tsv", ".txt", ".dat"),
    kinds=("spectrum",),
    description="Spectrum as a delimited text table: m/z and counts columns (CSV, TSV, whitespace; reader)",
    read=read_spectrum_table,
    sniff=sniff,
    generic=True,
)

__all__ = ["LayoutWarning", "RepeatedMassWarning", "read_spectrum_table", "sniff"]
