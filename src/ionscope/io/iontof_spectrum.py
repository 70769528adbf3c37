"""IONTOF SurfaceLab spectrum text export (``# Binning: …``, ``Channel  m/z  Intensity`` rows).

Layout (tab separated; checked against the Laurent et al. 2024 exports in ``../shared/data``)::

    # Binning: 200 channels
    # Deadtime Correction: on
    Channel	m/z	Intensity
    100	0.000202	2
    …

Header lines (``# key: value``) become metadata (``binning``, ``dead_time_corrected``). Rows become a
``spectrum`` over ``mz`` with the TOF ``channel`` as a second coordinate. An export of ``m/z  Intensity``
alone is read too (no channel coordinate; the spectrum commands rebuild the channels from its m/z to
recalibrate it), and rows may end with a tab, as SurfaceLab's depth-profile exports do. The rows are parsed with
pandas' C parser (10⁶ rows in well under a second).

m/z ordering: the exported m/z comes from ``m = ((t − t0)/k)²``; channels before ``t0`` fold back,
so m/z can *decrease* over the first rows before it increases. Such a leading fold (m/z strictly
decreasing from the first row down to its minimum, all below 1 m/z) is removed — with a warning, and
the number of removed rows and their channel range recorded in ``attrs["dropped_leading_rows"]`` —
unless ``fold="error"``. Rows whose printed m/z ties at the print precision (fine binning at the lowest
masses) get their m/z from the export's own channel law (:func:`_untie_printed_mz`). Any other
non-increasing m/z raises :class:`NonMonotonicError` naming the
line. No other row is ever dropped: ragged, non-numeric, non-finite, truncated or negative rows raise
:class:`~ionscope.model.FormatError` with the line number. A column header with columns titled otherwise
(``m/z (u)``, ``Mass``, ``Counts``), extra or misplaced, or not separated by tabs, is read by the names of its
columns as a delimited table with the header's metadata (:func:`_read_by_column_names`), and refused with what it
holds where that fails too (:func:`_column_problem`); a binning the channels contradict is replaced by theirs,
with a warning (:func:`checked_binning`); a UTF-8 byte
order mark before the first line is read as if absent, and numbers written with a decimal comma (an export
made under a German or French Windows locale) are read as such (:func:`_read_header`).

Polarity is not in the export. ``polarity="positive"|"negative"`` sets it; ``polarity="from-name"``
uses IONTOF's file-name convention (``P_…`` positive, ``N_…`` negative) and fails if the name does
not follow it; by default a name that follows it sets the polarity (so every command and the viewer
see it) and any other name leaves it unset.
"""

from __future__ import annotations

import re
import warnings
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ionscope.io.checks import MAX_IN_MEMORY_BYTES, checked_nbytes, decimal_mark, require_file
from ionscope.io.registry import FormatPlugin, looks_binary
from ionscope.model.arrays import make_spectrum
from ionscope.model.errors import AbsurdSizeError, FormatError, ValidationError

_COLUMNS = ("channel", "m/z", "intensity")
#: The column titles as SurfaceLab writes them.
_TITLES = ("Channel", "m/z", "Intensity")
#: No SurfaceLab binning is coarser than this many channels per bin.
MAX_BINNING = 1_000_000
_HEADER_LIMIT = 200
UNREADABLE = "unreadable rows"


class NonMonotonicError(FormatError):
    """The m/z column of a spectrum is not increasing (outside the allowed leading fold)."""


class ColumnLayoutError(FormatError):
    """The column header of an IONTOF export is not ``Channel<TAB>m/z<TAB>Intensity`` (another separator, a
    column missing, extra or out of order); :func:`read_iontof_spectrum` then reads the columns by their names
    where it can (:func:`~ionscope.io.spectrum_table.read_spectrum_table`)."""


class BinningWarning(UserWarning):
    """The binning the header states is not the step of the export's channels; the channels' is used."""


class SpectrumFoldWarning(UserWarning):
    """Leading rows before the TOF zero (folded m/z) were removed; see ``attrs['dropped_leading_rows']``."""


def _is_column_header(line: str) -> bool:
    return _layout(line) is not None


def _layout(line: str) -> tuple[str, ...] | None:
    """The columns a column-header line names, if it is one of the two layouts read: ``Channel  m/z
    Intensity``, or ``m/z  Intensity`` (an export without the TOF channel)."""
    parts = tuple(p.strip().lower() for p in line.strip().split("\t"))
    return parts if parts in (_COLUMNS, _COLUMNS[1:]) else None


#: Keys of the ``# key: value`` lines SurfaceLab writes at the top of a spectrum export.
_HEADER_KEYS = ("binning", "deadtime correction")


def _is_export_header(line: str) -> bool:
    """Whether ``line`` is one of SurfaceLab's own ``# key: value`` header lines (``# Binning: 200 channels``)."""
    key, colon, _ = line.lstrip("#").partition(":")
    return line.startswith("#") and bool(colon) and key.strip().lower() in _HEADER_KEYS


def _column_names(line: str) -> tuple[str | None, list[str]]:
    """The separator of a column-header line (tab, ``;``, ``,`` or ``None`` for spaces) and its names."""
    text = line.strip()
    sep = next((s for s in ("\t", ";", ",") if s in text), None)
    return sep, [n.strip() for n in (text.split(sep) if sep else text.split())]


def _names_columns(line: str) -> bool:
    """Whether ``line`` is a column header naming at least two of Channel, m/z, Intensity (in any layout)."""
    return len({n.lower() for n in _column_names(line)[1]} & set(_COLUMNS)) >= 2


def _column_problem(line: str) -> str | None:
    """What is wrong with ``line`` as the column header ``Channel<TAB>m/z<TAB>Intensity``: its separator, a
    missing, unexpected or misplaced column; ``None`` for a line of numbers (a data row, not a header)."""
    sep, names = _column_names(line)
    keys = [n.lower() for n in names]
    if all(_is_number(n) for n in names):
        return None
    found = ", ".join(repr(n) for n in names)
    if sep != "\t" and set(keys) & set(_COLUMNS):
        how = {None: "spaces", ";": "';'", ",": "','"}[sep]
        return f"the column header {line.strip()[:60]!r} is separated by {how}, not by tabs"
    missing = [title for title, key in zip(_TITLES, _COLUMNS) if key not in keys]
    if missing:
        listed = missing[0] if len(missing) == 1 else ", ".join(missing[:-1]) + " or " + missing[-1]
        return f"the column header names {found} but has no {listed} column"
    extra = [n for n, k in zip(names, keys) if k not in _COLUMNS]
    if extra:
        return f"the column header names {found}: unexpected column {extra[0]!r}"
    return f"the column header names {found}: the columns must come in the order {', '.join(_TITLES)}"


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _head_lines(head: bytes) -> list[str]:
    """The lines of a file's first bytes, a UTF-8 byte order mark removed."""
    return head.decode("utf-8", errors="replace").removeprefix("\ufeff").splitlines()


def _sniff(path: Path, head: bytes) -> bool:
    """An IONTOF spectrum export: its column header, first or after ``#`` lines (other than a depth profile's).

    A ``.txt`` file that is recognisably such an export with the wrong columns (its first line is a
    SurfaceLab ``# Binning:`` line, or its column header names two of Channel, m/z, Intensity) is claimed too,
    so that the reader says what is wrong with its columns.
    """
    lines = _head_lines(head)
    if lines and _is_column_header(lines[0]):  # an export whose '# …' header lines were cut off
        return True
    if not lines or lines[0].lower().startswith("# profile"):
        return False
    if lines[0].startswith("#") and any(_is_column_header(ln) for ln in lines[:_HEADER_LIMIT]):
        return True
    first = next((ln for ln in lines[:_HEADER_LIMIT] if not ln.startswith("#")), "")
    return path.suffix.lower() == ".txt" and (_is_export_header(lines[0]) or _names_columns(first))


def _read_header(path: Path) -> tuple[dict[str, str], int, str, tuple[str, ...], bool]:
    """The ``# key: value`` header, the number of lines up to the column header, the decimal mark of the first
    data row (:func:`~ionscope.io.checks.decimal_mark`), the columns (:func:`_layout`) and whether the rows end
    with a tab (as SurfaceLab's profile exports do)."""
    header: dict[str, str] = {}
    with open(path, encoding="utf-8-sig", errors="replace") as fh:  # -sig: a byte order mark is skipped
        for i, line in enumerate(fh):
            if i >= _HEADER_LIMIT:
                break
            columns = _layout(line)
            if columns is not None:
                first = next((row for row in fh if row.strip()), "").rstrip("\r\n")
                trailing = first.endswith("\t") and first.count("\t") == len(columns)
                return header, i + 1, decimal_mark(first.strip().split("\t")), columns, trailing
            if looks_binary(line.encode("utf-8", errors="replace")):
                raise FormatError(f"line {i + 1} is binary data, not text: not an IONTOF spectrum export", path)
            if not line.startswith("#"):
                problem = _column_problem(line)
                if problem is not None:
                    raise ColumnLayoutError(f"line {i + 1}: {problem}; an IONTOF spectrum export has the three "
                                      f"tab-separated columns {', '.join(_TITLES)}", path)
                raise ColumnLayoutError(f"line {i + 1}: expected a '# key: value' header or the column header "
                                        "'Channel<TAB>m/z<TAB>Intensity', got " + repr(line[:60]), path)
            key, _, value = line[1:].partition(":")
            header[key.strip().lower()] = value.strip()
    raise FormatError("no 'Channel<TAB>m/z<TAB>Intensity' column header: not an IONTOF spectrum export", path)


def _binning(header: dict[str, str], path: Path) -> int | None:
    raw = header.get("binning")
    if raw is None:
        return None
    m = re.match(r"\s*(-?\d+)", raw)
    if not m:
        raise FormatError(f"unreadable binning {raw!r} in the header", path)
    b = int(m.group(1))
    if not 0 < b <= MAX_BINNING:
        raise AbsurdSizeError(f"header declares a binning of {b} channels (expected 1…{MAX_BINNING})", path)
    return b


def checked_binning(binning: int | None, channel: np.ndarray | None, path: Path) -> int | None:
    """The binning of an export: the header's, unless no two rows are that many channels apart and most step by
    another whole number of channels, which is then used, with a :class:`BinningWarning` (a header edited or
    copied from another export)."""
    if channel is None or channel.size < 3:
        return binning
    steps, counts = np.unique(np.diff(channel), return_counts=True)
    step = float(steps[np.argmax(counts)])
    if binning is None or binning in steps or step != round(step) or step < 1:
        return binning
    warnings.warn(f"{path.name}: the header states a binning of {binning} channels, but the rows step by "
                  f"{step:g} channels: {step:g} used", BinningWarning, stacklevel=3)
    return int(step)


def export_acquisition(header: dict[str, str], path: Path, channel: np.ndarray | None = None,
                       polarity: str | None = None) -> dict[str, Any]:
    """The acquisition metadata of an IONTOF export: instrument, binning (:func:`checked_binning`), dead-time
    correction from its ``# key: value`` ``header``, and the polarity (:func:`_polarity`)."""
    acq: dict[str, Any] = {"instrument": "IONTOF", "technique": "TOF-SIMS"}
    binning = checked_binning(_binning(header, path), channel, path)
    if binning is not None:
        acq["binning"] = binning
    dt = _dead_time(header)
    if dt is not None:
        acq["dead_time_corrected"] = dt
    pol = _polarity(path, polarity)
    if pol is not None:
        acq["polarity"] = pol
    return acq


def _dead_time(header: dict[str, str]) -> bool | None:
    raw = header.get("deadtime correction")
    return None if raw is None else raw.strip().lower() in ("on", "yes", "true", "1")


def _locate_bad_row(path: Path, skip: int, decimal: str = ".", n_columns: int = 3, trailing: bool = False) -> str:
    """The first data row that is not ``n_columns`` finite numbers (each followed by a tab with ``trailing``),
    as ``line N …`` for the error message."""
    with open(path, encoding="utf-8", errors="replace") as fh:
        for i, line in enumerate(fh):
            if i < skip or not line.strip():
                continue
            text = line.rstrip("\r\n")
            fields = (text[:-1] if trailing and text.endswith("\t") else text).split("\t")
            if len(fields) != n_columns:
                return f"line {i + 1} has {len(fields)} fields instead of {n_columns} (ragged or truncated row)"
            try:
                numbers = [float(f.replace(decimal, ".")) for f in fields]
            except ValueError:
                return f"line {i + 1} is not numeric: {line.strip()[:60]!r}"
            if not all(np.isfinite(numbers)):
                return f"line {i + 1} holds a non-finite value: {line.strip()[:60]!r}"
    return UNREADABLE


def _parse_rows(path: Path, skip: int, decimal: str, columns: tuple[str, ...] = _COLUMNS,
                trailing: bool = False) -> np.ndarray:
    """The data rows as numbers, one column per name of ``columns``; with ``trailing``, each row ends with a tab
    (an empty last field, which must stay empty)."""
    names = [*columns, "_after_last_tab"] if trailing else list(columns)
    try:
        df = pd.read_csv(path, sep="\t", header=None, skiprows=skip, names=names, dtype=np.float64,
                         engine="c", skip_blank_lines=True, comment=None, decimal=decimal)
    except (ValueError, pd.errors.ParserError) as exc:
        where = _locate_bad_row(path, skip, decimal, len(columns), trailing)
        raise FormatError(where if where != UNREADABLE else f"{where}: {exc}", path) from None
    if trailing:
        if df["_after_last_tab"].notna().any():
            raise FormatError(_locate_bad_row(path, skip, decimal, len(columns), trailing), path)
        df = df.drop(columns="_after_last_tab")
    values = df.to_numpy()
    if not np.isfinite(values).all():  # NaN (also an empty field or 'nan') or ±inf: the line is looked up
        raise FormatError(_locate_bad_row(path, skip, decimal, len(columns), trailing), path)
    return values


def _leading_fold(mz: np.ndarray) -> int:
    """Number of leading rows whose m/z decreases down to the fold minimum, all of them below m/z 1 (0 if none:
    m/z decreasing from above 1 is no fold before the TOF zero but rows out of order)."""
    if mz.size < 2 or mz[1] >= mz[0]:
        return 0
    inc = np.nonzero(np.diff(mz) > 0)[0]
    n = int(inc[0]) if inc.size else mz.size - 1
    return n if mz[0] < 1.0 else 0


def _untie_printed_mz(channel: np.ndarray, mz: np.ndarray, attrs: dict[str, Any]) -> np.ndarray:
    """m/z of every row from the export's own law where the printed m/z ties between channels.

    SurfaceLab prints m/z to a fixed number of decimals. At fine binning the m/z step between channels
    at the lowest masses, ``2√m·Δt/k`` (from ``m = ((t − t0)/k)²``), is smaller than the last printed
    digit (10⁻⁶ u/e below m/z ~10⁻³ at one channel per bin), so neighbouring rows print the same m/z.
    The law ``t = t0 + k√m`` is then fitted to the rows above m/z 1 and, if it reproduces *every*
    printed value to within one printed digit (the smallest non-zero step of the column), its m/z
    replaces the printed column — identical to print precision, now strictly ordered; the fit is recorded
    in ``attrs["mz_from_channel_law"]``. Ties the law cannot reproduce are left for the monotonicity check.
    """
    step = np.diff(mz)
    high = mz >= 1.0
    if not np.any(step == 0) or not np.any(step > 0) or high.sum() < 3:
        return mz
    quantum = float(np.min(step[step > 0]))
    design = np.column_stack([np.ones(int(high.sum())), np.sqrt(mz[high])])
    (t0, k), *_ = np.linalg.lstsq(design, channel[high], rcond=None)
    law = ((channel - t0) / k) ** 2
    worst = float(np.max(np.abs(law - mz)))
    if worst > quantum:
        return mz
    attrs["mz_from_channel_law"] = {"t0": float(t0), "k": float(k), "max_deviation": worst,
                                    "print_step": quantum, "tied_rows": int(np.sum(step == 0))}
    return law


def read_iontof_spectrum(path: str | PathLike[str], *, polarity: str | None = None, fold: str = "drop",
                         **_: Any):
    """Read an IONTOF SurfaceLab spectrum text export.

    Parameters
    ----------
    path
        The ``.txt`` export.
    polarity
        ``"positive"``, ``"negative"``, ``"from-name"`` (``P_``/``N_`` file-name prefix) or ``None``.
    fold
        ``"drop"`` (default): remove a leading fold of decreasing m/z below 1 (before the TOF zero),
        with a :class:`SpectrumFoldWarning` and a record in ``attrs``; ``"error"``: raise instead.

    Returns
    -------
    xarray.DataArray
        ``spectrum`` with dims ``(mz,)``, coordinate ``channel``, ``acquisition`` metadata.
    """
    p = require_file(path)
    size = p.stat().st_size
    checked_nbytes(p, (size // 6 + 1, 3), np.float64, what="spectrum rows", limit=MAX_IN_MEMORY_BYTES)
    try:
        header, skip, decimal, columns, trailing = _read_header(p)
    except ColumnLayoutError as exc:
        return _read_by_column_names(p, exc, polarity)
    _binning(header, p)  # an absurd binning is refused before the rows are read
    values = _parse_rows(p, skip, decimal, columns, trailing)
    if values.shape[0] == 0:
        raise FormatError("has a header but no data rows (truncated?)", p)
    mz, counts = values[:, -2], values[:, -1]
    channel = values[:, 0] if "channel" in columns else None
    if np.any(counts < 0):
        raise FormatError(f"line {skip + int(np.argmax(counts < 0)) + 1}: negative intensity", p)
    attrs: dict[str, Any] = {"source": p.name, "header": dict(header)}
    if channel is not None:
        if np.any(np.diff(channel) <= 0):
            order = "; the rows run backwards: sort them by channel" if np.mean(np.diff(channel) < 0) > 0.5 else ""
            raise FormatError(f"line {skip + int(np.argmax(np.diff(channel) <= 0)) + 2}: channels do not increase"
                              f"{order}", p)
        mz = _untie_printed_mz(channel, mz, attrs)
    n_fold = _leading_fold(mz)
    if n_fold:
        if fold == "error":
            raise NonMonotonicError(f"m/z decreases over the first {n_fold} rows (before the TOF zero)", p)
        where = (f"channels {channel[0]:g}–{channel[n_fold - 1]:g}" if channel is not None
                 else f"lines {skip + 1}–{skip + n_fold}")
        warnings.warn(f"{p.name}: removed {n_fold} leading row(s) of folded m/z ({where}, before the TOF zero)",
                      SpectrumFoldWarning, stacklevel=2)
        attrs["dropped_leading_rows"] = {"count": n_fold, "counts": float(counts[:n_fold].sum())}
        if channel is not None:
            attrs["dropped_leading_rows"]["channels"] = [float(channel[0]), float(channel[n_fold - 1])]
            channel = channel[n_fold:]
        mz, counts = mz[n_fold:], counts[n_fold:]
    step = np.diff(mz)
    if np.any(step <= 0):
        i = int(np.argmax(step <= 0)) + n_fold
        order = "; the rows run from high to low m/z: sort them by m/z" if np.mean(step < 0) > 0.5 else ""
        raise NonMonotonicError(f"line {skip + i + 2}: m/z {values[i + 1, -2]:g} does not exceed the previous "
                                f"{values[i, -2]:g} (non-monotonic m/z{order})", p)
    acq = export_acquisition(header, p, channel, polarity)
    return make_spectrum(counts, mz, channel=channel, name=p.stem, attrs=attrs, acquisition=acq)


def _read_by_column_names(path: Path, layout: ColumnLayoutError, polarity: str | None) -> Any:
    """An export whose column header is not SurfaceLab's read by the names of its columns, as a delimited table
    (``m/z (u)``, ``Counts``, ``;`` as separator …), with the metadata of its ``# key: value`` lines; ``layout``
    is raised where the table reader cannot read it either (no m/z column …)."""
    from ionscope.io.spectrum_table import read_spectrum_table

    try:
        spec = read_spectrum_table(path)
    except FormatError:
        raise layout from None
    if polarity is not None:
        spec.attrs["acquisition"] = {**spec.attrs.get("acquisition", {}), "polarity": _polarity(path, polarity)}
    return spec


def _polarity(path: Path, option: str | None) -> str | None:
    """The polarity given, or from the IONTOF ``P_``/``N_`` file-name prefix (``"from-name"`` requires one;
    without an option a name without it leaves the polarity unknown)."""
    m = re.match(r"^([PN])_", path.name)
    if option is None:
        return None if not m else ("positive" if m.group(1) == "P" else "negative")
    if option in ("positive", "negative"):
        return option
    if option == "from-name":
        if not m:
            raise ValidationError(f"cannot tell the polarity from the file name {path.name!r}: IONTOF names start "
                                  "with 'P_' (positive) or 'N_' (negative); pass polarity= explicitly", path)
        return "positive" if m.group(1) == "P" else "negative"
    raise ValidationError(f"polarity must be 'positive', 'negative' or 'from-name', got {option!r}", path)


PLUGIN = FormatPlugin(
    name="iontof-spectrum",
    extensions=(".txt",),
    kinds=("spectrum",),
    description="IONTOF SurfaceLab spectrum text export (Channel, m/z, Intensity)",
    read=read_iontof_spectrum,
    sniff=_sniff,
    options={"polarity": "positive | negative | from-name (P_/N_ prefix)",
             "fold": "drop (default) | error: leading rows of folded m/z before the TOF zero"},
)

__all__ = ["PLUGIN", "BinningWarning", "ColumnLayoutError", "NonMonotonicError", "SpectrumFoldWarning",
           "export_acquisition", "read_iontof_spectrum"]

