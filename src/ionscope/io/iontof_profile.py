"""IONTOF SurfaceLab depth-profile text export (tab separated, four ``#`` header rows).

Layout of the export (SurfaceLab 7, "Export profile as text")::

    # Profile Smoothing is Disabled
    #<TAB><TAB><TAB><TAB>total<TAB>Ag_3+<TAB>…<TAB>           species labels
    #<TAB><TAB><TAB><TAB>N/A<TAB>320.7077<TAB>…<TAB>          species masses (N/A for sums/ratios)
    #Data Point #<TAB>Sputter Time (s)<TAB>Dose (ions)<TAB>Fluence (ions/cm^2)<TAB>Intensity<TAB>…
    1<TAB>0<TAB>2.49e+06<TAB>9.98e+10<TAB>2.45e+06<TAB>…<TAB>

Rows end with a tab; line ends are CRLF. The leading columns are the axis columns (``Data Point #``
always; ``Sputter Time (s)``, ``Dose (ions)``, ``Fluence (ions/cm^2)`` when exported); every other
column is an intensity of the species named in row 2 (labels are kept exactly as written, including
isotope labels ``^119Sn+``, sums ``a, b`` and ratios ``A / ( B )``). The numbers are parsed by
pandas' C parser.
"""

from __future__ import annotations

import io
import warnings
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from ionscope.io.checks import TruncatedWarning, checked_nbytes, decimal_mark, require_file
from ionscope.io.registry import FormatPlugin, ReaderOptions
from ionscope.model.arrays import make_depth_profile
from ionscope.model.errors import AbsurdSizeError, FormatError

#: Axis columns the export may hold, title → coordinate name.
AXIS_COLUMNS = {
    "Data Point #": "data_point",
    "Sputter Time (s)": "sputter_time",
    "Dose (ions)": "dose",
    "Fluence (ions/cm^2)": "fluence",
}
#: Longest header row accepted (bytes); SurfaceLab writes a few kB for ~150 species.
MAX_HEADER_LINE = 1 << 20
#: Most species a profile export may list.
MAX_SPECIES = 20_000


class ProfileOptions(ReaderOptions):
    """Reader options of SurfaceLab depth-profile exports."""

    salvage: bool = False


def _sniff(path: Path, head: bytes) -> bool:
    text = head[:200].lstrip(b"\xef\xbb\xbf")
    return text.startswith(b"# Profile Smoothing") or (
        text.startswith(b"#") and b"#Data Point #\tSputter Time (s)" in head)


def _header_lines(path: Path) -> tuple[list[str], int]:
    """The four header rows (without line ends) and the byte offset of the first data row."""
    lines, offset = [], 0
    with open(path, "rb") as fh:
        for i in range(4):
            raw = fh.readline(MAX_HEADER_LINE + 1)
            if len(raw) > MAX_HEADER_LINE:
                raise AbsurdSizeError(f"header row {i + 1} is longer than {MAX_HEADER_LINE} bytes", path)
            if not raw:
                raise FormatError(f"ends after {i} of the 4 '#' header rows (truncated)", path)
            offset += len(raw)
            if i == 0:
                raw = raw.removeprefix(b"\xef\xbb\xbf")  # a UTF-8 byte order mark, as some editors save
            try:
                line = raw.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError:
                line = raw.decode("latin-1").rstrip("\r\n")
            if not line.startswith("#"):
                raise FormatError(
                    f"header row {i + 1} does not start with '#': a SurfaceLab profile export has 4 header "
                    f"rows (smoothing note, species, masses, column titles); got {line[:60]!r}", path)
            lines.append(line)
    return lines, offset


def _fields(line: str) -> list[str]:
    parts = line[1:].split("\t")
    if parts and parts[-1].strip() == "":
        parts = parts[:-1]
    return parts


def _parse_mass(text: str, path: Path, label: str) -> float:
    text = text.strip()
    if text in ("N/A", ""):
        return float("nan")
    try:
        value = float(text.replace(",", "."))  # a decimal comma (German or French locale) is read as such
    except ValueError:
        raise FormatError(f"mass {text!r} of species {label!r} is not a number or N/A", path) from None
    if not (0 < value < 1e5):
        raise FormatError(f"mass {value} of species {label!r} is not a plausible m/z", path)
    return value


def unique_labels(labels: list[str], mz: np.ndarray) -> tuple[list[str], dict[str, str]]:
    """Make repeated species labels unique; return the labels and a map new label → original.

    SurfaceLab lets a user define two peaks with one name (e.g. ``SnO+`` at m/z 135.8979 and
    135.9143). Every member of such a group gets its m/z appended (``SnO+ (135.8979)``), or its
    rank (``SnO+ #2``) where the masses do not tell them apart (equal or ``N/A``).
    """
    counts: dict[str, int] = {}
    for lab in labels:
        counts[lab] = counts.get(lab, 0) + 1
    out, renamed = list(labels), {}
    taken = set(labels)
    for lab, n in counts.items():
        if n < 2:
            continue
        idx = [i for i, v in enumerate(labels) if v == lab]
        masses = [mz[i] for i in idx]
        by_mass = all(np.isfinite(masses)) and len({f"{m:.4f}" for m in masses}) == n
        for rank, i in enumerate(idx, start=1):
            new = f"{lab} ({mz[i]:.4f})" if by_mass else f"{lab} #{rank}"
            while new in taken:
                new += "'"
            taken.add(new)
            out[i] = new
            renamed[new] = lab
    return out, renamed


def _polarity(labels: list[str]) -> str | None:
    """'positive'/'negative' from the charge signs that end the species labels (majority)."""
    plus = sum(lab.rstrip().endswith("+") for lab in labels)
    minus = sum(lab.rstrip().endswith("-") for lab in labels)
    if plus == minus:
        return None
    return "positive" if plus > minus else "negative"


def read_iontof_profile(path: str | PathLike[str], *, salvage: bool = False) -> xr.DataArray:
    """Read a SurfaceLab depth-profile text export into a ``depth_profile`` (scan, peak).

    Rows may or may not end with a tab (SurfaceLab writes one; other tools and hand edits do not).
    Repeated species labels are made unique (:func:`unique_labels`); the labels as exported are
    kept in ``attrs["original_labels"]`` and the renamings in ``attrs["renamed_labels"]``. With
    ``salvage``, a last row cut short (an export interrupted mid-write) is dropped with a
    :class:`~ionscope.io.checks.TruncatedWarning` instead of refused.

    Returns
    -------
    xarray.DataArray
        Intensities (counts per scan) with coordinates ``sputter_time`` (s), ``dose`` (ions) and
        ``fluence`` (ions/cm²) when exported, ``data_point`` (the export's 1-based index), ``peak``
        labels exactly as written and ``mz`` (m/z; NaN where the export says N/A). ``attrs`` hold the
        smoothing note and the polarity inferred from the labels.

    Raises
    ------
    FormatError
        Missing or malformed header rows, a header/column count mismatch, a ragged or non-numeric
        row, a non-increasing sputter time, or negative/non-finite values; naming the file.
    AbsurdSizeError
        Header rows or species counts no export produces.
    """
    p = require_file(path)
    header, data_offset = _header_lines(p)
    note = header[0][1:].strip()
    titles = [t.strip() for t in _fields(header[3])]
    n_axis = _axis_count(titles, p)
    species, mz = _species(header, titles, n_axis, p)
    n_cols = n_axis + len(species)
    lines = _data_lines(p, data_offset, n_cols, salvage)
    values = _numbers(lines, n_cols, p)
    axes = {AXIS_COLUMNS[t]: values[:, i] for i, t in enumerate(titles[:n_axis])}
    counts = values[:, n_axis:]
    _check_values(values, counts, axes, species, n_axis, p)
    t = axes["sputter_time"]
    polarity = _polarity(species)
    labels_out, renamed = unique_labels(species, mz)
    extra = {"original_labels": list(species), "renamed_labels": renamed} if renamed else {}
    profile = make_depth_profile(
        counts, labels_out, sputter_time_s=t, dose_ions=axes.get("dose"),
        fluence_ions_cm2=axes.get("fluence"), mz=mz,
        attrs={"source_file": p.name, "smoothing": note, "format": "iontof-profile",
               "axis_columns": [AXIS_COLUMNS[t] for t in titles[:n_axis]], **extra},
        acquisition={"instrument": "IONTOF (SurfaceLab export)", "technique": "TOF-SIMS",
                     "polarity": polarity},
    )
    profile = profile.assign_coords(data_point=("scan", axes["data_point"].astype(np.int64)))
    profile.coords["data_point"].attrs["units"] = "index"
    return profile


def _axis_count(titles: list[str], p: Path) -> int:
    """Number of leading axis columns in the column-title row; it must hold 'Data Point #' and the time."""
    n_axis = 0
    while n_axis < len(titles) and titles[n_axis] in AXIS_COLUMNS:
        n_axis += 1
    if n_axis == 0 or titles[0] != "Data Point #":
        raise FormatError("column-title row does not start with 'Data Point #' (not a profile export?)", p)
    if "Sputter Time (s)" not in titles[:n_axis]:
        raise FormatError("the export has no 'Sputter Time (s)' column; re-export with the time axis", p)
    return n_axis


def _species(header: list[str], titles: list[str], n_axis: int, p: Path) -> tuple[list[str], np.ndarray]:
    """Species labels (header row 2) and their m/z (row 3, NaN for N/A), checked against the titles."""
    labels = [s.strip() for s in _fields(header[1])]
    masses = _fields(header[2])
    # Species rows are padded with one empty field per axis column.
    species = labels[n_axis:]
    if any(lab for lab in labels[:n_axis]):
        raise FormatError(f"species row should leave the first {n_axis} columns empty", p)
    mass_fields = masses[n_axis:]
    n_species = len(titles) - n_axis
    if n_species > MAX_SPECIES:
        raise AbsurdSizeError(f"header lists {n_species} species (more than {MAX_SPECIES})", p)
    if n_species == 0:
        raise FormatError("header lists no intensity columns", p)
    if len(species) != n_species or len(mass_fields) != n_species:
        raise FormatError(
            f"header rows disagree: {len(species)} species names, {len(mass_fields)} masses and "
            f"{n_species} intensity columns", p)
    if any(t != "Intensity" for t in titles[n_axis:]):
        bad = next(t for t in titles[n_axis:] if t != "Intensity")
        raise FormatError(f"unexpected column title {bad!r} among the intensity columns", p)
    if any(not s for s in species):
        raise FormatError("a species label is empty", p)
    return species, np.array([_parse_mass(m, p, s) for m, s in zip(mass_fields, species)])


def _data_lines(p: Path, data_offset: int, n_cols: int, salvage: bool) -> list[bytes]:
    """The non-blank data rows (line ends and trailing tab removed), each of ``n_cols`` values.

    With ``salvage`` a last row cut short is dropped with a :class:`TruncatedWarning`.
    """
    size = p.stat().st_size
    with open(p, "rb") as fh:
        fh.seek(data_offset)
        body = fh.read()
    n_rows = body.count(b"\n") + (0 if body.endswith(b"\n") or not body else 1)
    # Every number takes at least 2 bytes of text ("0\t"): a larger claim cannot be in the file.
    checked_nbytes(p, (n_rows, n_cols), np.float64, what="profile table", limit=4 * size + 4096)
    lines = [ln.rstrip(b"\r").rstrip(b"\t") for ln in body.split(b"\n")]
    lines = [ln for ln in lines if ln.strip()]
    if not lines:
        raise FormatError("has a header but no data rows (truncated)", p)
    counts_per_line = np.array([len(ln.split(b"\t")) for ln in lines])
    bad = np.nonzero(counts_per_line != n_cols)[0]
    if salvage and bad.size == 1 and bad[0] == len(lines) - 1 and counts_per_line[-1] < n_cols and len(lines) > 1:
        warnings.warn(f"{p}: the last data row is truncated ({counts_per_line[-1]} of {n_cols} values); "
                      f"reading the {len(lines) - 1} complete rows", TruncatedWarning, stacklevel=3)
        lines = lines[:-1]
        bad = bad[:0]
    if bad.size:
        row = int(bad[0])
        what = "truncated" if row == len(lines) - 1 and counts_per_line[row] < n_cols else "ragged"
        raise FormatError(f"data row {row + 1} has {counts_per_line[row]} values where the header declares "
                          f"{n_cols} ({what} row)", p)
    return lines


def _numbers(lines: list[bytes], n_cols: int, p: Path) -> np.ndarray:
    """The data rows parsed as float64 (pandas' C parser); a missing or non-numeric value is refused."""
    decimal = decimal_mark(lines[0].decode("utf-8", errors="replace").split("\t")) if lines else "."
    try:
        table = pd.read_csv(io.BytesIO(b"\n".join(lines)), sep="\t", header=None, engine="c", dtype=np.float64,
                            names=range(n_cols), skip_blank_lines=True, decimal=decimal)
    except (ValueError, pd.errors.ParserError) as exc:
        msg = str(exc).splitlines()[0]
        raise FormatError(f"non-numeric value in the data rows ({msg})", p) from None
    values = table.to_numpy(dtype=np.float64)
    if values.shape[0] == 0:
        raise FormatError("has a header but no data rows (truncated)", p)
    missing = np.isnan(values)
    if missing.any():
        row = int(np.nonzero(missing.any(axis=1))[0][0])
        raise FormatError(f"data row {row + 1} has an empty or non-numeric value", p)
    return values


def _check_values(values: np.ndarray, counts: np.ndarray, axes: dict[str, np.ndarray], species: list[str],
                  n_axis: int, p: Path) -> None:
    """Refuse infinities outside ratio columns, negative counts, doses or fluences and a time axis
    that is negative or does not increase."""
    # SurfaceLab writes "inf" where a ratio column ("A / ( B )") divides by zero; nowhere else.
    is_ratio = np.array(["/" in s for s in species])
    bad_inf = ~np.isfinite(counts) & ~is_ratio[None, :]
    if bad_inf.any() or not np.isfinite(values[:, :n_axis]).all():
        col = int(np.nonzero(bad_inf.any(axis=0))[0][0]) if bad_inf.any() else 0
        raise FormatError(f"infinite value outside a ratio column (species {species[col]!r})", p)
    if (counts < 0).any():
        raise FormatError("negative intensities: not a counts profile", p)
    t = axes["sputter_time"]
    if (t < 0).any():
        raise FormatError("negative sputter times", p)
    if t.size > 1 and (np.diff(t) <= 0).any():
        i = int(np.nonzero(np.diff(t) <= 0)[0][0])
        raise FormatError(
            f"sputter time does not increase (row {i + 2}: {t[i + 1]:g} s after {t[i]:g} s); "
            "a depth profile needs a monotonic time axis", p)
    for name in ("dose", "fluence"):
        if name in axes and (axes[name] < 0).any():
            raise FormatError(f"negative {name} values", p)


PLUGIN = FormatPlugin(
    name="iontof-profile",
    extensions=(".txt",),
    kinds=("depth_profile",),
    description="IONTOF SurfaceLab depth-profile text export (time, dose, fluence; species labels and masses)",
    read=read_iontof_profile,
    sniff=_sniff,
    options_model=ProfileOptions,
    options={"salvage": "a truncated last row is dropped, with a warning"},
)

__all__ = ["read_iontof_profile", "unique_labels"]
