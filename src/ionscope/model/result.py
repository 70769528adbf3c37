"""Small frozen result records: value, uncertainty, unit, provenance, warnings; the JSON envelope.

Analysis functions return a :class:`Quantity` for a single number or a :class:`Result` that groups
named quantities, tables and warnings. Both serialise with ``to_dict()``. The CLI's ``--json``
output wraps results in one envelope for every command (:func:`envelope`)::

    {"schema_version", "kind", "ionscope_version", "inputs": [{"path", "sha256", "bytes"}],
     "parameters", "results", "reliability", "warnings", "provenance"}

Its JSON Schema per command is generated from :mod:`ionscope.model.contract`.
"""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from os import PathLike
from types import MappingProxyType
from typing import Any

from ionscope.model.flags import check_flags, note_result

#: Version of the envelope layout; bump the major part on any incompatible change.
SCHEMA_VERSION = "1.0"


def to_plain(value: Any) -> Any:
    """Convert results, NumPy scalars/arrays, paths and nested containers into JSON-compatible values.

    Non-finite floats become ``None`` (JSON has no NaN); unknown objects become their ``repr``.
    """
    if hasattr(value, "to_dict") and callable(value.to_dict) and not isinstance(value, type):
        return to_plain(value.to_dict())
    if isinstance(value, Mapping):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [to_plain(v) for v in value]
    np = sys.modules.get("numpy")  # a NumPy value exists only if NumPy was imported: no import here
    if np is not None and isinstance(value, np.ndarray):
        return to_plain(value.tolist())
    if np is not None and isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, (PathLike, datetime)):
        return str(value)
    return repr(value)


def _number_or_array(value: Any) -> Any:
    """A float, or (for an array quantity such as a drift curve) nested lists of floats."""
    if isinstance(value, (list, tuple)) or hasattr(value, "tolist") and getattr(value, "ndim", 0) > 0:
        return to_plain(value.tolist() if hasattr(value, "tolist") else [_number_or_array(v) for v in value])
    return float(value)


@dataclass(frozen=True)
class Quantity:
    """A measured or derived number with its standard uncertainty (1σ) and unit.

    ``value`` is a float, or an array (nested lists) for a curve of one physical quantity (e.g. the
    drift of every slice); ``uncertainty`` then has the same shape or is ``None``.

    ``uncertainty`` is ``None`` only where no honest estimate exists; ``why_no_uncertainty`` then
    says why, and the JSON envelope turns it into a warning (it is not part of ``to_dict()``).
    """

    value: float
    uncertainty: float | None
    unit: str
    why_no_uncertainty: str | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "value", _number_or_array(self.value))
        if self.uncertainty is not None:
            object.__setattr__(self, "uncertainty", _number_or_array(self.uncertainty))

    @property
    def relative_uncertainty(self) -> float | None:
        """Uncertainty divided by |value| (``None`` when unknown or value is zero)."""
        if self.uncertainty is None or self.value == 0:
            return None
        return self.uncertainty / abs(self.value)

    def to_dict(self) -> dict[str, Any]:
        return {"value": to_plain(self.value), "uncertainty": to_plain(self.uncertainty), "unit": self.unit}

    def __format__(self, spec: str) -> str:
        spec = spec or ".4g"
        if self.uncertainty is None:
            return f"{self.value:{spec}} {self.unit}"
        return f"({self.value:{spec}} ± {self.uncertainty:{spec}}) {self.unit}"


@dataclass(frozen=True)
class Result:
    """The outcome of an analysis: named quantities and values, warnings and provenance.

    Parameters
    ----------
    kind
        What was computed, e.g. ``"diffusion.fit"``.
    values
        Name → :class:`Quantity`, number, string, list or nested mapping.
    warnings
        Validity concerns a user must see (regime checks, parameters at bounds, …).
    provenance
        From :func:`ionscope.model.provenance.make_provenance`.
    flags
        Artefact flags (codes of :data:`ionscope.model.flags.FLAGS`) the analysis detected; they lower
        the result's reliability tier (:mod:`ionscope.reliability`).
    """

    kind: str
    values: Mapping[str, Any]
    warnings: tuple[str, ...] = ()
    provenance: Mapping[str, Any] = field(default_factory=dict)
    flags: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "values", MappingProxyType(dict(self.values)))
        object.__setattr__(self, "warnings", tuple(self.warnings))
        object.__setattr__(self, "provenance", MappingProxyType(dict(self.provenance)))
        object.__setattr__(self, "flags", check_flags(self.flags))
        note_result(self)

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            **to_plain(dict(self.values)),
            "warnings": list(self.warnings),
            "provenance": to_plain(dict(self.provenance)),
        }

    def to_json(self, **kwargs: Any) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, **kwargs)


#: Key suffixes that name a unit (``D_cm2_s``, ``width_nm``, ``ssa_per_um``) in legacy flat results.
UNIT_SUFFIXES: dict[str, str] = {
    "nm": "nm", "um": "µm", "mm": "mm", "cm": "cm", "um2": "µm^2", "um3": "µm^3", "cm2": "cm^2", "s": "s",
    "h": "h", "K": "K", "C": "°C", "eV": "eV", "cm2_s": "cm^2/s", "cm_s": "cm/s", "cm3_s": "cm^3/s",
    "nm_s": "nm/s", "per_um": "µm^-1", "per_um2": "µm^-2", "per_um3": "µm^-3", "uAh": "µAh", "mAh": "mAh",
    "pA": "pA", "nA": "nA", "V": "V", "deg": "deg", "px": "px", "ppm": "ppm", "ions_per_cm2": "ions/cm^2",
}
_SUFFIXED = re.compile(r"^(?P<name>.+?)_(?P<suffix>" +
                       "|".join(sorted(map(re.escape, UNIT_SUFFIXES), key=len, reverse=True)) + r")$")
_ERROR_PART = re.compile(r"_(?:err|sigma|unc|uncertainty)$")


def _repeats_a_quantity(key: str, values: Mapping[str, Any]) -> bool:
    """Whether ``key`` is ``<q>_<unit>`` or ``<q>_err_<unit>`` for a :class:`Quantity` ``<q>`` in ``values``."""
    m = _SUFFIXED.match(key)
    if not m:
        return False
    name = m.group("name")
    return isinstance(values.get(name), Quantity) or isinstance(values.get(_ERROR_PART.sub("", name)), Quantity)


def json_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` as the envelope prints them: bare numbers that only repeat a quantity are left out.

    Analysis results keep flat, unit-suffixed numbers for existing Python callers (``D_cm2_s``,
    ``D_err_cm2_s`` next to the quantity ``D``). Under ``--json`` a key ``<name>_<unit>`` or
    ``<name>_err_<unit>`` is dropped when the same mapping holds a :class:`Quantity` ``<name>``; the
    rule applies at every nesting level.
    """
    out: dict[str, Any] = {}
    for key, value in values.items():
        if _repeats_a_quantity(str(key), values):
            continue
        out[key] = _json_value(value)
    return out


def suffixed_to_quantities(values: Mapping[str, Any], why: str | Mapping[str, str] = "") -> dict[str, Any]:
    """Turn legacy ``<name>_<unit>`` numbers into quantities ``<name>``, at every nesting level.

    ``drift_um`` becomes ``drift: {value, uncertainty, unit: "µm"}``; its uncertainty comes from a
    sibling ``<name>_err_<unit>`` / ``<name>_sigma_<unit>`` (same unit), else it is ``None`` and
    ``why`` (one text, or one per name) says why. Existing quantities and other keys are kept.

    Parameters
    ----------
    values
        A result's values (or any mapping).
    why
        Reason a number has no uncertainty, for the warning of the JSON envelope.
    """
    out: dict[str, Any] = {}
    for key, value in values.items():
        m = _SUFFIXED.match(str(key))
        if isinstance(value, Mapping) and not isinstance(value, Quantity):
            out[key] = suffixed_to_quantities(value, why)
        elif isinstance(value, (list, tuple)) and value and all(isinstance(v, Mapping) for v in value):
            out[key] = [suffixed_to_quantities(v, why) for v in value]
        elif m and _is_number_or_array(value) and not _ERROR_PART.search(m.group("name")):
            name, suffix = m.group("name"), m.group("suffix")
            if isinstance(values.get(name), Quantity):
                continue
            sigma = next((values[f"{name}{e}_{suffix}"] for e in ("_err", "_sigma", "_unc")
                          if f"{name}{e}_{suffix}" in values), None)
            reason = why.get(name, "") if isinstance(why, Mapping) else why
            out[name] = Quantity(value, sigma, UNIT_SUFFIXES[suffix], why_no_uncertainty=reason or None)
        elif m and _ERROR_PART.search(m.group("name")) and _is_number_or_array(value):
            continue  # carried by the quantity above
        else:
            out[key] = value
    return out


def _is_number_or_array(value: Any) -> bool:
    if isinstance(value, bool) or value is None:
        return False
    if isinstance(value, (int, float)) or type(value).__module__ == "numpy" and getattr(value, "ndim", 1) == 0:
        return True
    return isinstance(value, (list, tuple)) and bool(value) and all(_is_number_or_array(v) for v in value) or (
        hasattr(value, "ndim") and hasattr(value, "tolist") and getattr(value, "dtype", None) is not None
        and value.dtype.kind in "fiu")


def _json_value(value: Any) -> Any:
    if isinstance(value, Result):
        return json_values(value.values)
    if isinstance(value, Mapping) and not isinstance(value, Quantity):
        return json_values(value)
    if isinstance(value, (list, tuple)):
        return [_json_value(v) for v in value]
    return value


def _no_uncertainty(values: Any, path: str = "") -> Iterable[tuple[str, str | None]]:
    """``(dotted path, reason)`` of every :class:`Quantity` without an uncertainty inside ``values``."""
    if isinstance(values, Quantity):
        if values.uncertainty is None and not (isinstance(values.value, float) and not math.isfinite(values.value)):
            yield path, values.why_no_uncertainty
        return
    if isinstance(values, Result):
        values = dict(values.values)
    if isinstance(values, Mapping):
        for k, v in values.items():
            yield from _no_uncertainty(v, f"{path}.{k}" if path else str(k))
    elif isinstance(values, (list, tuple)):
        for i, v in enumerate(values):
            yield from _no_uncertainty(v, f"{path}[{i}]")


def uncertainty_warnings(values: Any, *, limit: int = 4) -> list[str]:
    """One warning per distinct reason for the quantities in ``values`` that carry no uncertainty."""
    by_reason: dict[str, list[str]] = {}
    for path, why in _no_uncertainty(values):
        by_reason.setdefault(why or "the method gives no error estimate for it", []).append(path)
    out = []
    for why, paths in by_reason.items():
        shown = ", ".join(paths[:limit]) + (f" and {len(paths) - limit} more" if len(paths) > limit else "")
        out.append(f"no uncertainty for {shown}: {why}")
    return out


def _inputs_of(provenance: Mapping[str, Any]) -> list[dict[str, Any]]:
    """File inputs (with a SHA-256) recorded in a provenance dictionary and its parents."""
    found = [dict(i) for i in provenance.get("inputs", ()) if isinstance(i, Mapping) and i.get("sha256")]
    for parent in provenance.get("parents", ()):
        if isinstance(parent, Mapping):
            found += _inputs_of(parent)
    return found


def envelope(kind: str, results: Any, *, inputs: Iterable[Any] = (), parameters: Mapping[str, Any] | None = None,
             warnings: Iterable[str] = (), provenance: Mapping[str, Any] | None = None,
             reliability: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The one JSON envelope every command prints under ``--json``.

    Parameters
    ----------
    kind
        The command, dotted (``"depth.layers"``); names its JSON Schema in ``docs/schemas/``.
    results
        A :class:`Result`, a mapping, or a list of :class:`Result` (batch commands: one entry per input,
        each with its own ``inputs``, ``warnings`` and ``provenance``).
    inputs
        Input paths (hashed here) or described inputs (``{"path", "sha256", "bytes"}``); inputs recorded
        in the results' provenance are added.
    parameters
        The parameters as used, with units (quantities) where they have one.
    warnings
        Warnings besides those of ``results``.
    provenance
        Provenance of the whole; defaults to the result's own, else a new record for ``kind``.
    reliability
        Reliability tier, its reasons and the sample history it rests on
        (:func:`ionscope.reliability.assess`); ``{"tier": "unknown"}`` when nothing is known. The command
        line always passes the assessed tier (:func:`ionscope.cli.common.emit_json`).
    """
    from ionscope import __version__
    from ionscope.model.provenance import describe_input, make_provenance

    warn = list(warnings)
    if isinstance(results, (list, tuple)) and all(isinstance(r, Result) for r in results):
        body: Any = [_batch_entry(r) for r in results]
        prov = dict(provenance or make_provenance(f"ionscope.cli.{kind}", parameters=parameters))
        recorded = [i for r in results for i in _inputs_of(r.provenance)]
    elif isinstance(results, Result):
        body = to_plain(json_values(results.values))
        warn = list(results.warnings) + warn + uncertainty_warnings(results)
        prov = dict(provenance or results.provenance or make_provenance(results.kind, parameters=parameters))
        recorded = _inputs_of(results.provenance)
    else:
        body = to_plain(_json_value(results))
        warn += uncertainty_warnings(results)
        prov = dict(provenance or make_provenance(f"ionscope.cli.{kind}", parameters=parameters))
        recorded = []
    described: dict[str, dict[str, Any]] = {}
    for item in [*inputs, *recorded]:
        d = dict(item) if isinstance(item, Mapping) else describe_input(item)
        if d.get("sha256") and d.get("path"):
            described.setdefault(d["sha256"] + d["path"], {"path": str(d["path"]), "sha256": d["sha256"],
                                                           "bytes": int(d.get("bytes", 0))})
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": kind,
        "ionscope_version": __version__,
        "inputs": list(described.values()),
        "parameters": to_plain(dict(parameters or {})),
        "results": body,
        "reliability": to_plain(dict(reliability or {"tier": "unknown"})),
        "warnings": list(dict.fromkeys(str(w) for w in warn)),
        "provenance": to_plain(prov),
    }


def _batch_entry(result: Result) -> dict[str, Any]:
    return {"kind": result.kind, "inputs": [{"path": i["path"], "sha256": i["sha256"], "bytes": int(i["bytes"])}
                                            for i in _inputs_of(result.provenance)],
            "results": to_plain(json_values(result.values)),
            "warnings": list(result.warnings) + uncertainty_warnings(result),
            "provenance": to_plain(dict(result.provenance))}


def error_document(exc: BaseException) -> dict[str, Any]:
    """``{"error": {"type", "message", "path"}}`` for an error shown under ``--json``."""
    path = getattr(exc, "path", None)
    message = getattr(exc, "problem", None) or str(exc)
    if not isinstance(path, str):
        path = None
    return {"error": {"type": type(exc).__name__, "message": str(message), "path": path}}
