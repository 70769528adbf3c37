"""CSV / TSV writers for spectra and depth profiles (UTF-8, ``#`` comment header, one row per point).

* spectrum → columns ``m/z`` (and ``channel`` when present) and ``intensity (<unit>)``;
* depth profile → ``scan``, ``sputter_time (s)`` (and ``dose (ions)``, ``fluence (ions/cm^2)``
  when present), then one column per peak titled with its label exactly as stored.

Comment lines before the header give the kind, the source file and the peak masses; numbers are
written with 17 significant digits (``repr`` precision) so that reading back gives the same floats.
The separator follows the extension: ``.csv`` comma, ``.tsv`` tab.
"""

from __future__ import annotations

import csv
import io
import json
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from ionscope.io.atomic import write_text
from ionscope.io.registry import FormatPlugin
from ionscope.model.errors import ValidationError


def _fmt(v: Any) -> str:
    if isinstance(v, (float, np.floating)):
        return "nan" if not np.isfinite(v) else repr(float(v))
    if isinstance(v, (np.integer,)):
        return str(int(v))
    return str(v)


def table_text(obj: xr.DataArray, *, sep: str = ",") -> str:
    """The text of a spectrum or depth profile as a delimited table (see module docstring)."""
    if not isinstance(obj, xr.DataArray):
        raise ValidationError(f"CSV/TSV export takes a spectrum or depth profile, got {type(obj).__name__}")
    dims = set(obj.dims)
    unit = obj.attrs.get("units", "")
    comments = {"kind": None, "source_file": obj.attrs.get("source_file"), "units": unit}
    if dims in ({"mz"}, {"channel"}):
        comments["kind"] = "spectrum"
        dim = next(iter(obj.dims))
        cols: dict[str, np.ndarray] = {}
        if "mz" in obj.coords:
            cols["m/z"] = np.asarray(obj["mz"].values)
        if "channel" in obj.coords:
            cols["channel"] = np.asarray(obj["channel"].values)
        if not cols:
            cols[str(dim)] = np.arange(obj.sizes[dim])
        cols[f"intensity ({unit})" if unit else "intensity"] = np.asarray(obj.values)
    elif dims == {"scan", "peak"}:
        comments["kind"] = "depth_profile"
        prof = obj.transpose("scan", "peak")
        cols = {"scan": np.asarray(prof["scan"].values)}
        for name, label in (("sputter_time", "sputter_time (s)"), ("dose", "dose (ions)"),
                            ("fluence", "fluence (ions/cm^2)")):
            if name in prof.coords:
                cols[label] = np.asarray(prof[name].values)
        labels = [str(p) for p in prof["peak"].values]
        if len(set(labels)) != len(labels):
            raise ValidationError("peak labels must be unique to become column titles")
        if "mz" in prof.coords:
            comments["peak_mz"] = [None if not np.isfinite(m) else float(m) for m in prof["mz"].values]
        values = np.asarray(prof.values)
        for k, label in enumerate(labels):
            cols[label] = values[:, k]
    else:
        raise ValidationError(f"CSV/TSV export takes a spectrum (mz) or a depth profile (scan, peak), "
                              f"got dims {obj.dims}")
    buf = io.StringIO()
    for key, value in comments.items():
        if value is not None:
            buf.write(f"# {key}: {json.dumps(value, ensure_ascii=False)}\n")
    writer = csv.writer(buf, delimiter=sep, lineterminator="\n")
    writer.writerow(list(cols))
    arrays = list(cols.values())
    for i in range(len(arrays[0])):
        writer.writerow([_fmt(a[i]) for a in arrays])
    return buf.getvalue()


def write_table(obj: xr.DataArray, path: str | PathLike[str], *, force: bool = False, sep: str | None = None,
                **_: Any) -> Path:
    """Write ``obj`` as CSV (``.csv``) or TSV (``.tsv``/``.txt``) atomically."""
    p = Path(path)
    if sep is None:
        sep = "\t" if p.suffix.lower() in (".tsv", ".tab") else ","
    return write_text(p, table_text(obj, sep=sep), force=force)


PLUGIN = FormatPlugin(
    name="table-text",
    extensions=(".csv", ".tsv"),
    kinds=("spectrum", "depth_profile"),
    description="CSV/TSV table of a spectrum or depth profile (writer)",
    write=write_table,
)

__all__ = ["table_text", "write_table"]
