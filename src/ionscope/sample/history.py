"""Find, read and validate sample-history files (YAML or JSON) for data files."""

from __future__ import annotations

import difflib
import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ionscope.model.errors import FormatError, InputNotFoundError, ValidationError
from ionscope.model.metadata import PREPARATIONS, SampleHistory
from ionscope.model.stores import is_dataset_folder

#: File names of a folder-wide history, in order of preference.
FOLDER_FILES = ("sample.yaml", "sample.yml", "sample.json")
#: Suffixes of a per-file history (``NAME.sample.yaml`` beside ``NAME.ext`` or ``NAME.ext.sample.yaml``).
FILE_SUFFIXES = (".sample.yaml", ".sample.yml", ".sample.json")
#: A history is a few hundred bytes; anything larger is not one (checked before reading).
MAX_BYTES = 1_000_000


def load_history(path: Path) -> dict[str, Any]:
    """Read one history file and validate it strictly (unknown keys are refused, with a suggestion).

    Parameters
    ----------
    path
        A ``.yaml``/``.yml`` or ``.json`` file.

    Returns
    -------
    dict
        The fields that are set (JSON-compatible values).

    Raises
    ------
    InputNotFoundError, FormatError, ValidationError
        Naming ``path`` and the problem.
    """
    path = Path(path)
    if path.is_dir():
        raise InputNotFoundError("is a folder, not a sample history file (.yaml, .yml or .json)", path=str(path))
    if not path.is_file():
        raise InputNotFoundError("sample history file not found", path=str(path))
    if path.stat().st_size > MAX_BYTES:
        raise FormatError(f"{path.stat().st_size} bytes is not a sample history (limit {MAX_BYTES})",
                          path=str(path))
    text = path.read_text(encoding="utf-8", errors="replace")
    try:
        if path.suffix.lower() == ".json":
            raw = json.loads(text)
        else:
            import yaml

            raw = yaml.safe_load(text)
    except Exception as exc:
        raise FormatError(f"not valid {'JSON' if path.suffix.lower() == '.json' else 'YAML'}: "
                          f"{str(exc).splitlines()[0]}", path=str(path)) from None
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise FormatError(f"a sample history is a mapping of fields, got {type(raw).__name__}",
                          path=str(path))
    return validate_history(raw, path)


def validate_history(raw: Mapping[str, Any], path: Path | str = "sample history") -> dict[str, Any]:
    """Check ``raw`` against :class:`SampleHistory`, refusing unknown fields; return the set fields."""
    fields = SampleHistory.model_fields
    for key in raw:
        if key not in fields:
            close = difflib.get_close_matches(str(key), list(fields), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else f"; fields: {', '.join(fields)}"
            raise ValidationError(f"unknown field {key!r}{hint}", path=str(path))
    if raw.get("preparation") is not None and raw["preparation"] not in PREPARATIONS:
        raise ValidationError(f"preparation {raw['preparation']!r} is not one of {', '.join(PREPARATIONS)}",
                              path=str(path))
    from pydantic import ValidationError as PydanticValidationError

    try:
        return SampleHistory.model_validate(dict(raw)).to_dict()
    except PydanticValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise ValidationError(f"{field}: {first['msg']}", path=str(path)) from None


def _first_existing(candidates: Iterable[Path]) -> Path | None:
    return next((c for c in candidates if c.is_file()), None)


def history_folder(data_path: Path) -> Path:
    """The folder whose ``sample.yaml`` describes ``data_path``: the folder itself for a folder of data
    files (a batch), the enclosing folder for a file or a Zarr store (one dataset)."""
    data_path = Path(data_path)
    return data_path if data_path.is_dir() and not is_dataset_folder(data_path) else data_path.parent


def history_sources(data_path: Path, override: Path | None = None) -> list[Path]:
    """History files that apply to ``data_path``, lowest precedence first (folder, beside, override)."""
    data_path = Path(os.path.abspath(data_path))  # "." and ".." have no name to put a history beside
    found: list[Path] = []
    folder = _first_existing(history_folder(data_path) / n for n in FOLDER_FILES)
    if folder is not None and folder.resolve() != data_path.resolve():
        found.append(folder)
    beside = _first_existing([data_path.with_name(data_path.stem + s) for s in FILE_SUFFIXES]
                             + [data_path.with_name(data_path.name + s) for s in FILE_SUFFIXES])
    if beside is not None and beside.resolve() != data_path.resolve():
        found.append(beside)
    if override is not None:
        found.append(Path(override))
    return found


def history_for(data_path: Path | None, override: Path | None = None) -> tuple[SampleHistory | None, list[str]]:
    """The merged sample history of ``data_path`` (``None`` if no file applies) and the files it came from.

    Later files override earlier ones field by field: folder ``sample.yaml`` < ``NAME.sample.yaml`` <
    ``override``. ``data_path=None`` uses ``override`` alone.
    """
    sources = ([Path(override)] if override is not None else []) if data_path is None else \
        history_sources(data_path, override)
    if not sources:
        return None, []
    merged: dict[str, Any] = {}
    for src in sources:
        merged.update(load_history(src))
    return SampleHistory.model_validate(merged), [str(s) for s in sources]


def template() -> str:
    """A commented YAML sample history to fill in (every value left empty is recorded as unknown)."""
    preps = ", ".join(PREPARATIONS)
    return f"""\
# ionscope sample history. Put it beside the data as sample.yaml (whole folder) or NAME.sample.yaml (one file),
# or pass it with --sample FILE. Fields left empty (null) are unknown and lower the reliability tier to
# "unknown" or cap it: the preparation route decides what a buried-interface measurement can be trusted for
# (López et al. 2021, J. Mater. Chem. A 9, 25341, doi:10.1039/D1TA04532F).
name: null                      # sample identifier
material: null                  # e.g. "Li | Li6PS5Cl | NMC622"
preparation: null               # one of: {preps}
preparation_temperature_K: null # e.g. 123 for cryo preparation
temperature_K: null             # sample temperature during the measurement
air_free_transfer: null         # true: transfer vessel / glovebox-to-instrument without air
holder: null                    # e.g. "vacuum transfer vessel"
holder_intact: null             # true if the holder kept its seal up to the instrument
air_exposure_s: null            # total seconds the analysed surface saw air (0 if never)
measurement_mode: null          # ex-situ, in-situ or operando
cell_pressure_MPa: null         # stack pressure during in-situ / operando measurement
primary_ion: null               # analysis beam, e.g. Bi3+
primary_energy_keV: null
primary_current_pA: null
sputter_ion: null               # e.g. Cs+, O2+, Ar+, Ar1500+ (null: no sputtering)
sputter_energy_keV: null
primary_dose_ions_per_cm2: null # cumulative primary-ion dose density
charge_compensation: null       # e.g. "electron flood gun"
roi_rationale: null             # why this region was analysed
notes: null
"""
