"""Units: parsing, canonical spelling and conversion, backed by pint.

Units live in ``attrs["units"]`` of every coordinate and data variable and in every
``Quantity``. They are written in one vocabulary (``docs/glossary.md``): ``µm``, ``nm``, ``s``,
``h``, ``nm/s``, ``pA``, ``ions/cm^2``, ``cm^2/s``, ``cm/s``, ``counts``, ``m/z``, ``K``, ``eV``,
``µm^-1``, ``1`` …. Spellings from other tools (``um``, ``micron``, ``cm2/s``, ``hr``) are
canonicalised so they compare equal.

Parsing and conversion go through `pint <https://pint.readthedocs.io>`_; its registry is built on
first use only, so importing this module stays cheap.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from ionscope.model.errors import UnitError

if TYPE_CHECKING:  # pragma: no cover
    import pint

    from ionscope.model.result import Quantity

#: Canonical spelling of aliases pint does not read the way ionscope means them, or that ionscope
#: writes differently from pint's short form.
_ALIASES: dict[str, str] = {
    "um": "µm", "μm": "µm", "micron": "µm", "microns": "µm", "micrometer": "µm", "micrometre": "µm",
    "nanometer": "nm", "nanometre": "nm", "millimeter": "mm", "meter": "m", "metre": "m",
    "angstrom": "Å", "Angstrom": "Å", "A": "Å",
    "sec": "s", "second": "s", "seconds": "s", "minute": "min", "minutes": "min", "mins": "min",
    "hour": "h", "hours": "h", "hr": "h", "hrs": "h", "day": "d", "days": "d",
    "Th": "m/z", "Da": "m/z", "u": "m/z",
    "ions/cm2": "ions/cm^2", "ions cm-2": "ions/cm^2", "ions/cm²": "ions/cm^2", "ion/cm^2": "ions/cm^2",
    "cm2/s": "cm^2/s", "cm²/s": "cm^2/s", "m2/s": "m^2/s", "m²/s": "m^2/s",
    "degC": "°C", "C": "°C", "celsius": "°C",
    "count": "counts", "cts": "counts",
    "um^-1": "µm^-1", "1/um": "µm^-1", "1/µm": "µm^-1", "µm-1": "µm^-1", "um-1": "µm^-1",
    "um^-2": "µm^-2", "1/um^2": "µm^-2", "1/µm^2": "µm^-2", "µm-2": "µm^-2",
    "um^2": "µm^2", "um2": "µm^2", "µm2": "µm^2", "um^3": "µm^3", "µm3": "µm^3",
    "uA": "µA", "μA": "µA", "uAh": "µAh", "μAh": "µAh",
    "dimensionless": "1", "": "1",
}

#: Labels that are not physical units: valid on data as they are, never converted.
DIMENSIONLESS = {"", "1", "counts", "counts/s", "fraction", "ions", "m/z", "channel", "index", "label"}

#: The vocabulary of ``docs/glossary.md``: already canonical, recognised without loading pint.
VOCABULARY = frozenset({
    "µm", "nm", "Å", "mm", "cm", "m", "s", "ms", "min", "h", "d", "nm/s", "µm/h", "pA", "nA", "µA", "µAh", "mAh",
    "V", "ions/cm^2", "cm^2/s", "cm^3/s", "cm/s", "S/cm", "cm^-3", "K", "°C", "eV", "µm^-1", "µm^-2", "µm^2",
    "µm^3", "counts", "m/z", "px", "deg", "ppm", "fraction", "1"})

#: pint's spelling → ionscope's, for units pint formats differently.
_FROM_PINT: dict[str, str] = {"count": "counts", "ion": "ions", "1/µm": "µm^-1", "1/µm^2": "µm^-2",
                              "ion/cm^2": "ions/cm^2", "1/nm": "nm^-1", "dimensionless": "1", "": "1"}

_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_QUANTITY = re.compile(
    rf"^\s*\(?\s*(?P<value>{_NUMBER})\s*(?:(?:±|\+/-|\+-)\s*(?P<unc>{_NUMBER}))?\s*\)?\s*(?P<unit>(?:1/)?[^\d\s(].*?)?\s*$")

_NON_FINITE = re.compile(r"(?:^|±|\+-|\+/-|\()\s*[-+]?(?:nan|inf(?:inity)?)\b", re.IGNORECASE)

#: The forms shown in parse errors.
ACCEPTED_FORMS = "'0.39um', '390 nm', '0.8nm/s', '0.8±0.05 nm/s', '1.2pA', '24h'"


@lru_cache(maxsize=1)
def registry() -> pint.UnitRegistry:
    """The shared pint registry, with the counting units ionscope uses (``ions``, ``counts``)."""
    import pint

    ureg: pint.UnitRegistry = pint.UnitRegistry(autoconvert_offset_to_baseunit=True)
    ureg.define("ion = count = ions")
    return ureg


def canonical_unit(unit: str) -> str:
    """Return the canonical spelling of ``unit`` (``"um"`` → ``"µm"``, ``"cm2/s"`` → ``"cm^2/s"``).

    Units pint does not know (labels such as ``m/z`` or ``channel``) are returned stripped.
    """
    unit = unit.strip()
    if unit in _ALIASES:
        return _ALIASES[unit]
    if unit in VOCABULARY or unit in DIMENSIONLESS or unit in _FROM_PINT.values():
        return unit
    try:
        parsed = _pint_unit(unit)
    except UnitError:
        return unit
    return _format(parsed)


def _pint_unit(unit: str) -> pint.Unit:
    """The pint unit of a canonical or alias spelling; raises :class:`UnitError` if unknown."""
    import pint

    name = _ALIASES.get(unit.strip(), unit.strip())
    if name in ("m/z", "channel", "index", "label", "fraction"):
        raise UnitError(f"{unit!r} is a label, not a physical unit")
    text = name.replace("°C", "degC").replace("Å", "angstrom")
    text = "dimensionless" if text == "1" else text
    try:
        return registry().Unit(text)
    except (pint.errors.PintError, ValueError, TypeError, AttributeError, AssertionError, SyntaxError):
        raise UnitError(f"unknown unit {unit!r}") from None


def _format(unit: Any) -> str:
    text = format(unit, "~C").replace("**", "^").replace("degree_Celsius", "°C").replace("Δ", "")
    text = re.sub(r"\bion\b", "ions", re.sub(r"\bcount\b", "counts", text))
    per = re.fullmatch(r"1/([^/*^\s]+)(?:\^(\d+))?", text)  # 1/cm^3 → cm^-3, as the glossary writes it
    if per:
        text = f"{per.group(1)}^-{per.group(2) or 1}"
    return _FROM_PINT.get(text, text)


def dimensionality(unit: str) -> str:
    """pint's dimensionality of ``unit`` as text, e.g. ``"[length]"`` or ``"[length] / [time]"``."""
    return str(_pint_unit(unit).dimensionality)


def conversion_factor(from_unit: str, to_unit: str) -> float:
    """Multiplicative factor taking a value in ``from_unit`` to ``to_unit``.

    Raises
    ------
    UnitError
        If either unit is unknown, they measure different things, or the conversion has an offset
        (°C ↔ K: use :func:`convert`).
    """
    a, b = canonical_unit(from_unit), canonical_unit(to_unit)
    if a == b:
        return 1.0
    if "°C" in (a, b):
        raise UnitError(f"{from_unit!r} → {to_unit!r} has an offset, not a factor")
    return float(convert(1.0, a, b))


def convert(value: Any, from_unit: str, to_unit: str) -> Any:
    """Convert ``value`` (scalar or array) from ``from_unit`` to ``to_unit``.

    Raises
    ------
    UnitError
        If either unit is unknown or they measure different things.
    """
    import pint

    a, b = canonical_unit(from_unit), canonical_unit(to_unit)
    if a == b:
        return value
    ua, ub = _pint_unit(a), _pint_unit(b)
    try:
        return registry().Quantity(value, ua).to(ub).magnitude
    except pint.errors.DimensionalityError:
        raise UnitError(f"cannot convert {from_unit!r} ({ua.dimensionality}) to {to_unit!r} "
                        f"({ub.dimensionality})") from None


def _split(text: str, what: str) -> tuple[float, float | None, str | None]:
    if _NON_FINITE.search(str(text)):
        raise UnitError(f"{what}{text!r} is not a finite number")
    m = _QUANTITY.match(str(text))
    if not m:
        raise UnitError(f"{what}{text!r} is not a number with a unit; accepted forms: {ACCEPTED_FORMS}")
    value = float(m.group("value"))
    unc = None if m.group("unc") is None else float(m.group("unc"))
    for v in (value, unc):
        if v is not None and not math.isfinite(v):
            raise UnitError(f"{what}{text!r} is not a finite number")
    if unc is not None and unc < 0:
        raise UnitError(f"{what}{text!r} has a negative uncertainty")
    return value, unc, (m.group("unit") or None)


def parse_quantity(text: str, default_unit: str | None = None, *, require_unit: bool = False,
                   to_unit: str | None = None, what: str = "") -> tuple[float, str]:
    """Parse ``"0.39um"``, ``"24 h"`` or ``"5e-3"`` into ``(value, canonical unit)``.

    Parameters
    ----------
    text
        A number with an optional unit; ``±`` uncertainties are accepted and dropped here (use
        :func:`parse_measurement` to keep them).
    default_unit
        Unit of a bare number. ``None`` (or ``require_unit=True``) makes a bare number an error.
    require_unit
        Refuse bare numbers even when ``default_unit`` is given (lengths and voxel sizes, where a
        wrong guess changes every result by orders of magnitude).
    to_unit
        Convert the value to this unit (also checks the dimension).
    what
        Name of the option or field, put in front of error messages (e.g. ``"--spacing"``).

    Raises
    ------
    UnitError
        If the text is not a finite number followed by a known unit, no unit is given and none may be
        assumed, or the unit cannot be converted to ``to_unit``.
    """
    q = parse_measurement(text, default_unit, require_unit=require_unit, to_unit=to_unit, what=what)
    return q.value, q.unit


def parse_measurement(text: str | float, default_unit: str | None = None, *, require_unit: bool = False,
                      to_unit: str | None = None, what: str = "") -> Quantity:
    """Parse ``"0.8±0.05 nm/s"``, ``"(0.8 +- 0.05) nm/s"`` or ``"390nm"`` into a :class:`Quantity`.

    Same rules as :func:`parse_quantity`; the uncertainty (1σ, same unit as the value) is kept and
    converted with the value, ``None`` when none is given.
    """
    from ionscope.model.result import Quantity

    prefix = f"{what}: " if what else ""
    value, unc, unit = _split(str(text), prefix)
    if unit is None:
        if require_unit or default_unit is None:
            raise UnitError(f"{prefix}{text!r} has no unit; write it with one, e.g. {ACCEPTED_FORMS}")
        unit = default_unit
    unit = canonical_unit(unit)
    if unit not in DIMENSIONLESS and to_unit is None:
        _pint_unit(unit)
    if to_unit is not None:
        target = canonical_unit(to_unit)
        try:
            value = float(convert(value, unit, target))
            if unc is not None:
                unc = abs(float(convert(unc, unit, target)) - (float(convert(0.0, unit, target))
                                                                 if "°C" in (unit, target) else 0.0))
        except UnitError as exc:
            raise UnitError(f"{prefix}{text!r}: {exc}; expected a unit like {target!r}") from None
        unit = target
    if not math.isfinite(value) or (unc is not None and not math.isfinite(unc)):
        raise UnitError(f"{prefix}{text!r} is out of range")
    return Quantity(value, unc, unit)


def format_quantity(value: float, unit: str, uncertainty: float | None = None) -> str:
    """Text that :func:`parse_measurement` reads back: ``"0.8±0.05 nm/s"`` or ``"390 nm"``."""
    core = repr(float(value)) if uncertainty is None else f"{float(value)!r}±{float(uncertainty)!r}"
    return core if unit in ("", "1") else f"{core} {unit}"


#: Dimensionless spellings that leave the other factor's unit unchanged in a product.
_IDENTITY = frozenset({"", "1", "fraction"})
#: Labels that are not physical units: they survive a product with a number and cancel with themselves.
_LABELS = frozenset({"m/z", "channel", "index", "label"})


def product_unit(unit: str, other: str, exponent: float = 1.0) -> tuple[str, float]:
    """Unit of ``unit · other^exponent`` and the factor that brings the magnitude into it.

    ``exponent`` is ``1`` for a product and ``-1`` for a quotient. A dimensionless result is
    reduced to ``"1"`` with its factor (``µm / nm`` → ``("1", 1000.0)``); otherwise the factor is 1
    and the unit is pint's product in ionscope's spelling (``cm^2/s · s`` → ``cm^2``).

    Raises
    ------
    UnitError
        If a unit is unknown, or a label (``m/z``, ``channel``) would be multiplied by a physical unit.
    """
    a, b = canonical_unit(unit), canonical_unit(other)
    if b in _IDENTITY or exponent == 0:
        return a, 1.0
    if a in _IDENTITY and exponent == 1:
        return b, 1.0
    if a in _LABELS or b in _LABELS:
        if a == b and exponent == -1:
            return "1", 1.0
        raise UnitError(f"cannot combine the label {a if a in _LABELS else b!r} with {b if a in _LABELS else a!r}")
    pa = registry().Unit("dimensionless") if a in _IDENTITY else _pint_unit(a)
    combined = pa * _pint_unit(b) ** exponent
    if combined.dimensionless:
        return "1", float(registry().Quantity(1.0, combined).to("dimensionless").magnitude)
    return _format(combined), 1.0


def power_unit(unit: str, exponent: float) -> str:
    """Unit of a quantity in ``unit`` raised to ``exponent`` (``µm``, 2 → ``µm^2``).

    Raises
    ------
    UnitError
        If the unit is unknown or is a label (``m/z``) and ``exponent`` is not 1.
    """
    a = canonical_unit(unit)
    if a in _IDENTITY or exponent == 1:
        return a
    if exponent == 0:
        return "1"
    if a in _LABELS:
        raise UnitError(f"cannot raise the label {a!r} to a power")
    return _format(_pint_unit(a) ** exponent)


def is_dimensionless(unit: str) -> bool:
    """Whether ``unit`` is a pure number (``1``, ``fraction``, ``ppm``, ``µm/nm``) — labels are not."""
    a = canonical_unit(unit)
    if a in _IDENTITY:
        return True
    if a in _LABELS:
        return False
    return bool(_pint_unit(a).dimensionless)


def length_um(value: Any, what: str = "length") -> float:
    """A length in µm from a number (already µm), a text with a unit (``"390 nm"``) or a Quantity.

    Raises
    ------
    UnitError
        If a text has no unit or a quantity is not a length.
    """
    from ionscope.model.result import Quantity

    if isinstance(value, Quantity):
        return float(value.to("µm"))
    if isinstance(value, str):
        return parse_quantity(value, require_unit=True, to_unit="µm", what=what)[0]
    return float(value)


def lengths_um(value: Any, n: int, what: str = "spacing") -> tuple[float, ...]:
    """``n`` lengths in µm from one length (repeated) or ``n`` of them, each as in :func:`length_um`."""
    from ionscope.model.result import Quantity

    single = isinstance(value, (str, Quantity, int, float)) or getattr(value, "ndim", None) == 0
    items = (value,) * n if single else tuple(value)
    return tuple(length_um(v, what) for v in items)
