"""Units as plain strings, with the few conversions ionscope needs.

Units live in ``attrs["units"]`` of every coordinate and data variable. Spellings are
canonicalised (``um`` → ``µm``), so files written by other tools compare equal.
"""

from __future__ import annotations

import re

from ionscope.model.errors import UnitError

#: Canonical spelling of each accepted alias.
_ALIASES: dict[str, str] = {
    "um": "µm", "μm": "µm", "micron": "µm", "microns": "µm", "micrometer": "µm",
    "nanometer": "nm", "millimeter": "mm", "meter": "m", "angstrom": "Å", "A": "Å",
    "sec": "s", "second": "s", "seconds": "s", "min": "min", "minute": "min",
    "hour": "h", "hours": "h", "hr": "h", "day": "d",
    "Th": "m/z", "Da": "m/z", "u": "m/z",
    "ions/cm2": "ions/cm^2", "ions cm-2": "ions/cm^2", "ions/cm²": "ions/cm^2",
    "cm2/s": "cm^2/s", "cm²/s": "cm^2/s", "degC": "°C", "C": "°C", "K": "K",
}

#: Factor to the SI base of each dimension family.
_SCALE: dict[str, tuple[str, float]] = {
    "m": ("length", 1.0), "mm": ("length", 1e-3), "µm": ("length", 1e-6), "nm": ("length", 1e-9),
    "Å": ("length", 1e-10), "cm": ("length", 1e-2),
    "s": ("time", 1.0), "ms": ("time", 1e-3), "min": ("time", 60.0), "h": ("time", 3600.0),
    "d": ("time", 86400.0),
    "cm^2/s": ("diffusivity", 1e-4), "m^2/s": ("diffusivity", 1.0),
    "ions/cm^2": ("fluence", 1e4), "ions/m^2": ("fluence", 1.0),
}

#: Units that are dimensionless or counts, valid on data without conversion.
DIMENSIONLESS = {"", "1", "counts", "counts/s", "fraction", "ions", "m/z", "channel", "index"}

_QUANTITY = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([^\d\s].*)?\s*$")


def canonical_unit(unit: str) -> str:
    """Return the canonical spelling of ``unit`` (``"um"`` → ``"µm"``)."""
    unit = unit.strip()
    return _ALIASES.get(unit, unit)


def conversion_factor(from_unit: str, to_unit: str) -> float:
    """Multiplicative factor taking a value in ``from_unit`` to ``to_unit``.

    Raises
    ------
    UnitError
        If either unit is unknown or they measure different things.
    """
    a, b = canonical_unit(from_unit), canonical_unit(to_unit)
    if a == b:
        return 1.0
    try:
        (fam_a, sa), (fam_b, sb) = _SCALE[a], _SCALE[b]
    except KeyError as exc:
        raise UnitError(f"cannot convert {from_unit!r} to {to_unit!r}: unknown unit {exc.args[0]!r}") from None
    if fam_a != fam_b:
        raise UnitError(f"cannot convert {from_unit!r} ({fam_a}) to {to_unit!r} ({fam_b})")
    return sa / sb


def convert(value, from_unit: str, to_unit: str):
    """Convert ``value`` (scalar or array) from ``from_unit`` to ``to_unit``."""
    a, b = canonical_unit(from_unit), canonical_unit(to_unit)
    if {a, b} <= {"K", "°C"} and a != b:
        return value + 273.15 if a == "°C" else value - 273.15
    return value * conversion_factor(a, b)


def parse_quantity(text: str, default_unit: str | None = None) -> tuple[float, str]:
    """Parse ``"0.39um"``, ``"24 h"`` or ``"5e-3"`` into ``(value, canonical unit)``.

    Raises
    ------
    UnitError
        If the text is not a number followed by an optional unit, or no unit is given and no
        ``default_unit`` applies.
    """
    m = _QUANTITY.match(str(text))
    if not m:
        raise UnitError(f"{text!r} is not a number with an optional unit (e.g. '0.39um', '24h')")
    unit = m.group(2) or default_unit
    if unit is None:
        raise UnitError(f"{text!r} has no unit and none can be assumed")
    return float(m.group(1)), canonical_unit(unit)
