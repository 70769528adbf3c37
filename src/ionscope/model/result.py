"""Small frozen result records: value, uncertainty, unit, provenance, warnings.

Analysis functions return a :class:`Quantity` for a single number or a :class:`Result` that groups
named quantities, tables and warnings. Both serialise with ``to_dict()``; the CLI's ``--json`` output
is exactly that dictionary.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from os import PathLike
from types import MappingProxyType
from typing import Any

import numpy as np


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
    if isinstance(value, np.ndarray):
        return to_plain(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, (PathLike, datetime)):
        return str(value)
    return repr(value)


@dataclass(frozen=True)
class Quantity:
    """A measured or derived number with its standard uncertainty (1σ) and unit.

    ``uncertainty`` is ``None`` only where no honest estimate exists; such results say so in the
    warnings of the enclosing :class:`Result`.
    """

    value: float
    uncertainty: float | None
    unit: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "value", float(self.value))
        if self.uncertainty is not None:
            object.__setattr__(self, "uncertainty", float(self.uncertainty))

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
    """

    kind: str
    values: Mapping[str, Any]
    warnings: tuple[str, ...] = ()
    provenance: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "values", MappingProxyType(dict(self.values)))
        object.__setattr__(self, "warnings", tuple(self.warnings))
        object.__setattr__(self, "provenance", MappingProxyType(dict(self.provenance)))

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
