"""Canonical parameters and the deduplication key of a result document.

Two runs of the same operation on the same input bytes with the same parameters are the same result.
Parameters are compared in a canonical form: keys sorted, quantities converted to SI base units
(pint), floats rounded to 12 significant digits (well above the 7 digits a CLI user types and far
below float64's 15.9, so the same number written as ``0.8 nm/s`` or ``8e-10 m/s`` compares equal),
and input paths left out (inputs are identified by their SHA-256).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import Any

#: Parameters that only choose how output is shown or stored; they never change a result.
PRESENTATION = frozenset({"json", "quiet", "catalog", "catalog_db", "sample", "out", "dst", "output", "force"})
SIGNIFICANT = 12


def round_sig(x: float, digits: int = SIGNIFICANT) -> float | None:
    """``x`` rounded to ``digits`` significant digits (``None`` for NaN/∞, as JSON has none)."""
    if not math.isfinite(x):
        return None
    return float(f"{x:.{digits}g}")


def is_quantity(v: Any) -> bool:
    """Whether ``v`` is a serialised quantity ``{"value", "uncertainty", "unit"}``."""
    return isinstance(v, Mapping) and "value" in v and "unit" in v and set(v) <= {"value", "uncertainty", "unit"}


@lru_cache(maxsize=512)
def si_linear(unit: str) -> tuple[float, float, str] | None:
    """``(a, b, si_unit)`` with ``x_SI = a·x + b`` for ``unit`` (``b ≠ 0`` only for °C); ``None`` for labels."""
    from ionscope.model.errors import UnitError
    from ionscope.model.units import _pint_unit, canonical_unit, registry

    try:
        u = _pint_unit(canonical_unit(unit))
    except UnitError:
        return None
    reg = registry()
    base = reg.Quantity(1.0, u).to_base_units().units
    zero = float(reg.Quantity(0.0, u).to(base).magnitude)
    one = float(reg.Quantity(1.0, u).to(base).magnitude)
    return one - zero, zero, format(base, "~C").replace("**", "^") or "1"


def to_si(value: Any, unit: str) -> tuple[Any, str]:
    """``value`` (number or nested lists) in SI base units, and that unit; labels pass unchanged."""
    lin = si_linear(str(unit))
    if lin is None:
        return value, unit
    a, b, base = lin

    def scale(v: Any) -> Any:
        if isinstance(v, list):
            return [scale(x) for x in v]
        return None if v is None else a * float(v) + b
    return scale(value), base


def _si_uncertainty(value: Any, unit: str) -> Any:
    """An uncertainty scales with the unit but takes no offset."""
    lin = si_linear(str(unit))
    if lin is None:
        return value

    def scale(v: Any) -> Any:
        if isinstance(v, list):
            return [scale(x) for x in v]
        return None if v is None else lin[0] * float(v)
    return scale(value)


def _canon(v: Any, drop: frozenset[str]) -> Any:
    if is_quantity(v):
        value, unit = to_si(v.get("value"), str(v.get("unit")))
        unc = _si_uncertainty(v.get("uncertainty"), str(v.get("unit")))
        return {"value": _canon(value, drop), "uncertainty": _canon(unc, drop), "unit": unit}
    if isinstance(v, Mapping):
        return {str(k): _canon(v[k], drop) for k in sorted(v, key=str) if str(k) not in PRESENTATION}
    if isinstance(v, (list, tuple)):
        return [_canon(x, drop) for x in v]
    if isinstance(v, bool) or v is None:
        return v
    if isinstance(v, (int, float)):
        return round_sig(float(v))
    if isinstance(v, str) and v in drop:
        return None
    return v


def canonical_parameters(parameters: Mapping[str, Any], input_paths: frozenset[str] = frozenset()) -> str:
    """The canonical JSON text of ``parameters`` (see the module docstring); input paths become null."""
    canon = _canon(dict(parameters or {}), input_paths)
    canon = {k: v for k, v in canon.items() if v is not None}
    return json.dumps(canon, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def dedup_key(doc: Mapping[str, Any], canonical: str | None = None) -> str:
    """SHA-256 (hex) of input SHA-256s (sorted) + kind + canonical parameters of an envelope.

    ``canonical`` is :func:`canonical_parameters` of the document when already computed.
    """
    inputs = doc.get("inputs") or []
    shas = sorted(str(i.get("sha256")) for i in inputs)
    if canonical is None:
        canonical = canonical_parameters(doc.get("parameters") or {}, frozenset(str(i.get("path")) for i in inputs))
    text = json.dumps({"inputs": shas, "kind": doc.get("kind"), "parameters": canonical},
                      sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def quantities(results: Any, prefix: str = "") -> Iterator[tuple[str, str, float, float | None, str]]:
    """``(path, leaf, value, uncertainty, unit)`` of every scalar quantity in a result body.

    ``path`` is dotted (``interfaces.0.position``); ``leaf`` is the last name that is not a list index.
    """
    if is_quantity(results):
        v = results.get("value")
        if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v):
            u = results.get("uncertainty")
            unc = float(u) if isinstance(u, (int, float)) and not isinstance(u, bool) else None
            parts = [p for p in prefix.split(".") if p and not p.isdigit()]
            yield prefix, parts[-1] if parts else prefix, float(v), unc, str(results.get("unit"))
        return
    if isinstance(results, Mapping):
        for k, v in results.items():
            yield from quantities(v, f"{prefix}.{k}" if prefix else str(k))
    elif isinstance(results, list):
        for i, v in enumerate(results):
            yield from quantities(v, f"{prefix}.{i}" if prefix else str(i))
