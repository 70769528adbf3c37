"""Small frozen result records: value, uncertainty, unit, provenance, warnings; the JSON envelope.

Analysis functions return a :class:`Quantity` for a single number or a :class:`Result` that groups
named quantities, tables and warnings. Both serialise with ``to_dict()``. The CLI's ``--json``
output wraps results in one envelope for every command (:func:`envelope`)::

    {"schema_version", "kind", "ionscope_version", "inputs": [{"path", "sha256", "bytes"}],
     "parameters", "results", "reliability", "warnings", "uncertainty_notes", "provenance"}

``uncertainty_notes`` maps the dotted path of every quantity printed without an uncertainty
(``species[0].mz``, ``screened.Au.upper_limit``) to ``{"kind", "reason"}``: the kind of reason
(:data:`NO_UNCERTAINTY_KINDS`) and the text of :attr:`Quantity.why_no_uncertainty`. ``warnings`` holds
only what needs the user's attention; a quantity without an uncertainty is in it only when no reason
was stated for it (kind ``"unstated"``).

Its JSON Schema per command is generated from :mod:`ionscope.model.contract`.
"""

from __future__ import annotations

import functools
import json
import math
import operator
import re
import reprlib
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from os import PathLike
from types import MappingProxyType
from typing import Any, ClassVar, Generic, TypeVar

from ionscope.model.errors import UnitError
from ionscope.model.flags import check_flags, note_result

#: Version of the envelope layout; bump the major part on any incompatible change. 2.0: the reasons why
#: quantities have no uncertainty moved from ``warnings`` into ``uncertainty_notes``.
SCHEMA_VERSION = "2.0"

#: The kinds of reason a quantity has no uncertainty: the ``kind`` of an ``uncertainty_notes`` entry.
NO_UNCERTAINTY_KINDS: Mapping[str, str] = MappingProxyType({
    "exact": "exact by definition, or tabulated far more precisely than it matters here (an isotopic mass, a "
             "requested setting, a count)",
    "bound": "a bound (a detection or upper limit at a stated confidence): the value is itself the statement of "
             "uncertainty",
    "input": "a value given by the user or recorded in the input file, used as given: its uncertainty is not known",
    "not_estimated": "computed, but the method gives no error estimate for it; the reason says why",
    "unstated": "no reason was stated; the envelope also warns about it",
})

#: The reason shown for a quantity without uncertainty whose code states none.
UNSTATED_REASON = "the method gives no error estimate for it"


class NoUncertainty(str):
    """Why a quantity has no uncertainty (the text) and which kind of reason it is (:attr:`kind`).

    A ``str``, so it is a :attr:`Quantity.why_no_uncertainty` anywhere a text is, and passes through
    unit conversion and arithmetic with its kind. A plain text reason is of kind ``"not_estimated"``.

    Parameters
    ----------
    reason
        Why the quantity has no uncertainty, for the user.
    kind
        One of :data:`NO_UNCERTAINTY_KINDS` except ``"unstated"``.

    Examples
    --------
    >>> why = NoUncertainty.bound("one-sided 3σ upper limit")
    >>> why.kind, why == "one-sided 3σ upper limit"
    ('bound', True)
    """

    kind: str

    def __new__(cls, reason: str, kind: str = "not_estimated") -> NoUncertainty:
        if kind not in NO_UNCERTAINTY_KINDS or kind == "unstated":
            raise ValueError(f"unknown kind of reason {kind!r}: use one of "
                             f"{', '.join(k for k in NO_UNCERTAINTY_KINDS if k != 'unstated')}")
        if not reason:
            raise ValueError("a reason for a missing uncertainty must say something")
        self = super().__new__(cls, reason)
        self.kind = kind
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        return type(self), (str(self), self.kind)

    @classmethod
    def exact(cls, reason: str) -> NoUncertainty:
        """A reason of kind ``"exact"``: the value is exact or tabulated (an isotopic mass)."""
        return cls(reason, "exact")

    @classmethod
    def bound(cls, reason: str) -> NoUncertainty:
        """A reason of kind ``"bound"``: the value is a limit, itself the uncertainty statement."""
        return cls(reason, "bound")

    @classmethod
    def given(cls, reason: str) -> NoUncertainty:
        """A reason of kind ``"input"``: the value was given or recorded in the file and is used as given."""
        return cls(reason, "input")


def no_uncertainty_kind(why: str | None) -> str:
    """The kind (:data:`NO_UNCERTAINTY_KINDS`) of a :attr:`Quantity.why_no_uncertainty`."""
    if not why:
        return "unstated"
    return why.kind if isinstance(why, NoUncertainty) else "not_estimated"


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
    says why — a text, or a :class:`NoUncertainty` that also names the kind of reason (an exact
    tabulated value, a bound, a value given by the user) — and the JSON envelope lists it under
    ``uncertainty_notes`` (it is not part of ``to_dict()``); one without a reason is also warned about.

    Arithmetic (``+ - * / **``, unary ``-``, ``abs``) works with numbers and other quantities and
    propagates the uncertainty to first order for independent errors (JCGM 100:2008, *Guide to the
    expression of uncertainty in measurement*, eq. 10):

    .. math:: u^2(f) = \\sum_i \\left(\\frac{\\partial f}{\\partial x_i}\\right)^2 u^2(x_i)

    Plain numbers are exact. Units go through pint (:mod:`ionscope.model.units`): a sum converts the
    right operand into the left one's unit (``1 µm + 500 nm`` → ``1.5 µm``), a product or quotient
    multiplies units (``cm^2/s · s`` → ``cm^2``) and a dimensionless result is reduced to ``1``.
    ``<``, ``<=``, ``>``, ``>=`` compare values after unit conversion; ``==`` compares the records
    (value, uncertainty and unit), as before. ``float(q)`` is the value in ``q.unit``; :meth:`to`
    converts.

    Why not the ``uncertainties`` package: it tracks correlations (``a - a`` is exactly 0), but its
    numbers are objects that neither serialise to the ``{"value", "uncertainty", "unit"}`` layout nor
    hold the array quantities stored here, and the correlations would be lost at the first JSON
    round trip anyway. Operands are therefore taken as independent: ``a - a`` gives ``√2·u(a)``,
    not 0 — write such expressions so that each measured input appears once.

    Examples
    --------
    >>> d = Quantity(1.234e-12, 4.5e-14, "cm^2/s")
    >>> d
    Quantity(1.234e-12 ± 4.5e-14 cm^2/s)
    >>> Quantity(3.0, 0.3, "µm") * Quantity(2.0, 0.4, "µm")
    Quantity(6.0 ± 1.3 µm^2)
    """

    value: float
    uncertainty: float | None
    unit: str
    why_no_uncertainty: str | None = field(default=None, compare=False, repr=False)

    #: NumPy scalars and arrays defer to the operators below instead of making object arrays.
    __array_ufunc__ = None

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
        if not spec:
            return str(self)
        if isinstance(self.value, list):
            return str(self)
        unit_text = "" if self.unit in ("", "1") else f" {self.unit}"
        if self.uncertainty is None:
            return f"{self.value:{spec}}{unit_text}"
        return f"({self.value:{spec}} ± {self.uncertainty:{spec}}){unit_text}"

    def __str__(self) -> str:
        """``1.234e-12 ± 4.5e-14 cm^2/s``: the uncertainty to two significant digits, the value to the same
        decimal; :func:`ionscope.model.units.parse_measurement` reads it back."""
        return _measurement_text(self.value, self.uncertainty, self.unit)

    def __repr__(self) -> str:
        why = f"; no uncertainty: {self.why_no_uncertainty}" if self.why_no_uncertainty and self.uncertainty is None \
            else ""
        return f"Quantity({self}{why})"

    def __float__(self) -> float:
        if isinstance(self.value, list):
            raise TypeError(f"{self!r} is an array quantity; it has no single float value")
        return float(self.value)

    def to(self, unit: str) -> Quantity:
        """The same quantity in ``unit`` (value and uncertainty converted; °C ↔ K with the offset).

        Raises
        ------
        UnitError
            If ``unit`` is unknown or measures something else.
        """
        from ionscope.model.units import canonical_unit, convert

        target, source = canonical_unit(unit), canonical_unit(self.unit)
        if target == source or {target, source} <= {"", "1", "fraction"}:
            return Quantity(self.value, self.uncertainty, target, self.why_no_uncertainty)
        value = convert(_numeric(self.value), self.unit, target)
        sigma = None
        if self.uncertainty is not None:
            zero = convert(0.0, self.unit, target)
            sigma = abs(convert(_numeric(self.uncertainty), self.unit, target) - zero)
        return Quantity(value, sigma, target, self.why_no_uncertainty)

    # arithmetic: each operator states f and its partial derivatives; _combine propagates them

    def __add__(self, other: Any) -> Quantity:
        return _sum(self, other, 1.0)

    def __radd__(self, other: Any) -> Quantity:
        return _sum(self, other, 1.0)  # addition commutes; the result keeps this quantity's unit

    def __sub__(self, other: Any) -> Quantity:
        return _sum(self, other, -1.0)

    def __rsub__(self, other: Any) -> Quantity:
        return _sum(-self, other, 1.0)

    def __mul__(self, other: Any) -> Quantity:
        return _product(self, other, 1.0)

    def __rmul__(self, other: Any) -> Quantity:
        return _product(self, other, 1.0)

    def __truediv__(self, other: Any) -> Quantity:
        return _product(self, other, -1.0)

    def __rtruediv__(self, other: Any) -> Quantity:
        right = _operand(other)
        if right is None:
            return NotImplemented
        return _product(Quantity(right[0], right[1], right[2], right[3]), self, -1.0)

    def __pow__(self, other: Any) -> Quantity:
        return _power(self, other)

    def __rpow__(self, other: Any) -> Quantity:
        base = _operand(other)
        if base is None:
            return NotImplemented
        return _power(Quantity(base[0], base[1], base[2], base[3]), self)

    def __neg__(self) -> Quantity:
        return Quantity(-_numeric(self.value), self.uncertainty, self.unit, self.why_no_uncertainty)

    def __pos__(self) -> Quantity:
        return self

    def __abs__(self) -> Quantity:
        return Quantity(abs(_numeric(self.value)), self.uncertainty, self.unit, self.why_no_uncertainty)

    def __lt__(self, other: Any) -> bool:
        return _compare(self, other, operator.lt)

    def __le__(self, other: Any) -> bool:
        return _compare(self, other, operator.le)

    def __gt__(self, other: Any) -> bool:
        return _compare(self, other, operator.gt)

    def __ge__(self, other: Any) -> bool:
        return _compare(self, other, operator.ge)


_Operand = tuple[Any, Any, str, "str | None"]


def _numeric(value: Any) -> Any:
    """A float, or a float NumPy array for a list-valued quantity."""
    if isinstance(value, list):
        import numpy as np

        return np.asarray(value, dtype=float)
    return value


def _operand(x: Any) -> _Operand | None:
    """``(value, uncertainty, unit, why_no_uncertainty)`` of a quantity or an exact number; ``None`` otherwise."""
    if isinstance(x, Quantity):
        return _parts(x)
    if isinstance(x, bool) or not (isinstance(x, (int, float)) or _is_number_or_array(x)):
        return None
    value = _numeric(x) if isinstance(x, list) else x
    return value, 0.0 * value, "1", None


def _parts(q: Quantity) -> _Operand:
    return _numeric(q.value), None if q.uncertainty is None else _numeric(q.uncertainty), q.unit, q.why_no_uncertainty


def _is_zero(x: Any) -> bool:
    """Whether ``x`` is the plain number 0, which adds to (and compares with) a quantity of any unit."""
    return (not isinstance(x, (Quantity, list, tuple, bool)) and getattr(x, "ndim", 0) == 0
            and _operand(x) is not None and x == 0)


def _combine(value: Any, unit: str, terms: Iterable[tuple[Any, Any]], whys: Iterable[str | None],
             missing: bool) -> Quantity:
    """A quantity with ``u = sqrt(Σ (∂f/∂x · u(x))²)`` over ``terms`` of ``(∂f/∂x, u(x))``."""
    if missing:
        why = next((w for w in whys if w), None) or "an operand has no uncertainty"
        return Quantity(value, None, unit, why_no_uncertainty=why)
    parts = [d * u for d, u in terms if getattr(u, "ndim", 0) or u != 0]
    if any(getattr(p, "ndim", 0) for p in parts):
        import numpy as np

        return Quantity(value, functools.reduce(np.hypot, parts, 0.0 * value), unit)
    return Quantity(value, math.hypot(*parts), unit)  # hypot: no overflow or underflow of the squares


def _sum(left: Quantity, other: Any, sign: float) -> Any:
    """``left + sign · other``; ``other`` is converted into ``left``'s unit."""
    from ionscope.model.units import canonical_unit, conversion_factor, is_dimensionless

    right = _operand(other)
    if right is None:
        return NotImplemented
    a, ua, unit, why_a = _parts(left)
    b, ub, unit_b, why_b = right
    if _is_zero(other):
        return left
    if not isinstance(other, Quantity) and not is_dimensionless(unit):
        raise UnitError(f"cannot add the number {other!r} to {left!r}: give it a unit")
    same = not isinstance(other, Quantity) or canonical_unit(unit_b) == canonical_unit(unit) \
        or {canonical_unit(unit_b), canonical_unit(unit)} <= {"", "1", "fraction"}
    k = 1.0 if same else conversion_factor(unit_b, unit)
    return _combine(a + sign * k * b, unit, [(1.0, ua), (sign * k, ub)], [why_a, why_b],
                    ua is None or ub is None)


def _product(left: Quantity, other: Any, exponent: float) -> Any:
    """``left · other`` (``exponent`` 1) or ``left / other`` (``exponent`` −1)."""
    from ionscope.model.units import product_unit

    right = _operand(other)
    if right is None:
        return NotImplemented
    a, ua, unit_a, why_a = _parts(left)
    b, ub, unit_b, why_b = right
    unit, factor = product_unit(unit_a, unit_b, exponent)
    if exponent > 0:
        value, da, db = a * b, b, a
    else:
        value, da, db = a / b, 1.0 / b, -a / b ** 2
    return _combine(factor * value, unit, [(factor * da, ua), (factor * db, ub)], [why_a, why_b],
                    ua is None or ub is None)


def _power(base: Quantity, exponent: Any) -> Any:
    """``base ** exponent``; an exponent with an uncertainty needs a dimensionless base and exponent."""
    import numpy as np

    from ionscope.model.units import power_unit

    if _operand(exponent) is None:
        return NotImplemented
    why_p = None
    if isinstance(exponent, Quantity):
        exponent = exponent.to("1")  # UnitError unless dimensionless
        p, up, why_p = float(exponent), exponent.uncertainty, exponent.why_no_uncertainty
    else:
        p, up = exponent, 0.0
    if np.ndim(p):
        raise TypeError(f"{base!r} ** an array: the exponent must be a single number")
    if up != 0:
        base = base.to("1")  # the unit of a^p would depend on the uncertain p
    a, ua, unit_a, why_a = _parts(base)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = a ** p
        d_base = p * a ** (p - 1) if p != 0 else 0.0 * a
        d_exp = value * np.log(a) if up else 0.0
    return _combine(value, power_unit(unit_a, float(p)), [(d_base, ua), (d_exp, up)], [why_a, why_p],
                    ua is None or up is None)


def _compare(left: Quantity, other: Any, op: Callable[[Any, Any], Any]) -> Any:
    """``op(left.value, other.value)`` after converting ``other`` into ``left``'s unit."""
    from ionscope.model.units import canonical_unit, conversion_factor, is_dimensionless

    right = _operand(other)
    if right is None:
        return NotImplemented
    b, _, unit_b, _ = right
    if isinstance(other, Quantity) and canonical_unit(unit_b) != canonical_unit(left.unit):
        b = b * conversion_factor(unit_b, left.unit)
    elif not isinstance(other, Quantity) and not _is_zero(other) and not is_dimensionless(left.unit):
        raise UnitError(f"cannot compare {left!r} with the number {other!r}: give it a unit")
    result = op(_numeric(left.value), b)
    return bool(result) if not hasattr(result, "all") else bool(result.all())


def _significant_text(x: float, digits: int = 6) -> str:
    return f"{x:.{digits}g}"


def _rounded_pair(value: float, sigma: float) -> tuple[str, str]:
    """``value`` and ``sigma`` as text: ``sigma`` to two significant digits, ``value`` to the same decimal."""
    last = math.floor(math.log10(sigma)) - 1  # power of ten of the last digit shown
    e_v = math.floor(math.log10(abs(value))) if value != 0 else last + 1
    magnitude = max(e_v, last + 1)
    if -3 <= magnitude < 5 and last >= -6:
        decimals = max(0, -last)
        return f"{round(value, -last):.{decimals}f}", f"{round(sigma, -last):.{decimals}f}"
    return f"{value:.{max(e_v - last, 0)}e}", f"{sigma:.1e}"


def _list_text(values: Any, limit: int = 4) -> str:
    """``[1.5, 2.25, 3, …]`` (first ``limit`` numbers, 4 significant digits) for an array quantity."""
    if not isinstance(values, list):
        return _significant_text(float(values), 4)
    items = [_list_text(v, limit) for v in values[:limit]]
    return "[" + ", ".join(items) + (", …" if len(values) > limit else "") + "]"


def _measurement_text(value: Any, sigma: Any, unit: str) -> str:
    unit_text = "" if unit in ("", "1") else f" {unit}"
    if isinstance(value, list):
        shown = _list_text(value)
        return f"{shown} ± {_list_text(sigma)}{unit_text}" if sigma is not None else f"{shown}{unit_text}"
    if sigma is None or not math.isfinite(value) or not math.isfinite(sigma) or sigma <= 0:
        exact = " ± 0" if sigma == 0 and math.isfinite(value) else ""
        return f"{_significant_text(value)}{exact}{unit_text}"
    v, s = _rounded_pair(value, sigma)
    return f"{v} ± {s}{unit_text}"


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

    Notes
    -----
    Values are read by item (``r["D"]``) or, where the name is an identifier that is not one of
    the fields or methods below, by attribute (``r.D``); ``"D" in r``, ``r.keys()`` and ``r.get``
    work as on a mapping. ``to_dict()`` is the JSON-compatible form; ``repr`` lists the values.

    Examples
    --------
    >>> r = Result("diffusion.fit", {"D": Quantity(1.2e-12, 4e-14, "cm^2/s"), "n_points": 40})
    >>> r.D
    Quantity(1.200e-12 ± 4.0e-14 cm^2/s)
    >>> r
    Result('diffusion.fit', D=1.200e-12 ± 4.0e-14 cm^2/s, n_points=40)
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

    def __getattr__(self, name: str) -> Any:
        values = self.__dict__.get("values")  # absent while unpickling or copying
        if values is None or name.startswith("__") or name not in values:
            raise AttributeError(f"{type(self).__name__} {self.__dict__.get('kind', '')!r} has no value {name!r}"
                                 + (f"; it has {', '.join(map(str, values))}" if values else ""))
        return values[name]

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | {k for k in self.values if str(k).isidentifier()})

    def __contains__(self, key: object) -> bool:
        return key in self.values

    def __reduce__(self) -> tuple[Any, ...]:  # the read-only mappings do not pickle: rebuild from dicts
        return type(self), (self.kind, dict(self.values), self.warnings, dict(self.provenance), self.flags)

    def keys(self) -> Any:
        """The names of the values."""
        return self.values.keys()

    def get(self, key: str, default: Any = None) -> Any:
        """The value ``key``, or ``default`` when there is none."""
        return self.values.get(key, default)

    def __repr__(self) -> str:
        shown = [f"{k}={_short(v)}" for k, v in self.values.items()]
        if self.warnings:
            shown.append(f"warnings={list(self.warnings)!r}")
        text = ", ".join([repr(self.kind), *shown])
        if len(text) > 100:
            text = ",\n    ".join([repr(self.kind), *shown])
            return f"Result(\n    {text})"
        return f"Result({text})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            **to_plain(dict(self.values)),
            "warnings": list(self.warnings),
            "provenance": to_plain(dict(self.provenance)),
        }

    def to_json(self, **kwargs: Any) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, **kwargs)


_Item = TypeVar("_Item")


class RecordSequence(Generic[_Item]):
    """Indexing, ``len`` and iteration of a record over its tuple field named :attr:`items_field`
    (a batch's per-file results, a series' per-scan calibrations, …)."""

    items_field: ClassVar[str]

    def _items(self) -> tuple[_Item, ...]:
        return getattr(self, self.items_field)

    def __getitem__(self, i: int) -> _Item:
        return self._items()[i]

    def __len__(self) -> int:
        return len(self._items())

    def __iter__(self) -> Iterator[_Item]:
        return iter(self._items())


def _short(value: Any, limit: int = 60) -> str:
    """One value of a :class:`Result` for its ``repr``: quantities as text, long things shortened."""
    text = str(value) if isinstance(value, Quantity) else reprlib.repr(value)
    if hasattr(value, "dims") and hasattr(value, "shape"):
        text = f"<{type(value).__name__} {dict(zip(value.dims, value.shape, strict=False))}>"
    return text if len(text) <= limit else text[: limit - 1] + "…"


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


def uncertainty_notes(values: Any) -> dict[str, dict[str, str]]:
    """``{dotted path: {"kind", "reason"}}`` for every quantity in ``values`` without an uncertainty.

    ``kind`` is one of :data:`NO_UNCERTAINTY_KINDS`; a quantity whose code states no reason is of kind
    ``"unstated"`` with :data:`UNSTATED_REASON` (and :func:`uncertainty_warnings` warns about it).
    A quantity whose value is not finite (printed as ``null``) has nothing to qualify and is left out.
    """
    return {path: {"kind": no_uncertainty_kind(why), "reason": str(why) if why else UNSTATED_REASON}
            for path, why in _no_uncertainty(values)}


def uncertainty_warnings(values: Any, *, limit: int = 4) -> list[str]:
    """One warning for the quantities in ``values`` that carry no uncertainty and no stated reason.

    Quantities with a stated reason (exact, bounds, inputs, estimates the method does not give) are
    not warnings: :func:`uncertainty_notes` lists them.
    """
    paths = [path for path, why in _no_uncertainty(values) if not why]
    if not paths:
        return []
    shown = ", ".join(paths[:limit]) + (f" and {len(paths) - limit} more" if len(paths) > limit else "")
    return [f"no uncertainty for {shown}: {UNSTATED_REASON}"]


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

    Notes
    -----
    ``uncertainty_notes`` (:func:`uncertainty_notes`) lists every quantity of ``results`` printed with
    ``"uncertainty": null``, by dotted path, with the kind of reason and the reason; only those without a
    stated reason are also in ``warnings`` (:func:`uncertainty_warnings`). A batch has an empty top-level
    ``uncertainty_notes``: each entry carries its own.
    """
    from ionscope import __version__
    from ionscope.model.provenance import describe_input, make_provenance

    warn = list(warnings)
    if isinstance(results, (list, tuple)) and all(isinstance(r, Result) for r in results):
        body: Any = [_batch_entry(r) for r in results]
        notes: dict[str, dict[str, str]] = {}
        recorded = [i for r in results for i in _inputs_of(r.provenance)]
        prov = dict(provenance or make_provenance(f"ionscope.cli.{kind}", inputs=recorded, parameters=parameters))
    elif isinstance(results, Result):
        body = to_plain(json_values(results.values))
        warn = list(results.warnings) + warn + uncertainty_warnings(results)
        notes = uncertainty_notes(results)
        prov = dict(provenance or results.provenance or make_provenance(results.kind, parameters=parameters))
        recorded = _inputs_of(results.provenance)
    else:
        body = to_plain(_json_value(results))
        warn += uncertainty_warnings(results)
        notes = uncertainty_notes(results)
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
        "uncertainty_notes": notes,
        "provenance": to_plain(prov),
    }


def _batch_entry(result: Result) -> dict[str, Any]:
    return {"kind": result.kind, "inputs": [{"path": i["path"], "sha256": i["sha256"], "bytes": int(i["bytes"])}
                                            for i in _inputs_of(result.provenance)],
            "results": to_plain(json_values(result.values)),
            "warnings": list(result.warnings) + uncertainty_warnings(result),
            "uncertainty_notes": uncertainty_notes(result),
            "provenance": to_plain(dict(result.provenance))}


def error_document(exc: BaseException, *, cli: bool = False) -> dict[str, Any]:
    """``{"error": {"type", "message", "path"}}`` for an error shown under ``--json``.

    With ``cli``, the message is the command line's (an ionscope error's Python-only advice left out; a usage
    error of the command-line parser with the option it is about, as its text form says it).
    """
    path = getattr(exc, "path", None)
    usage = getattr(exc, "format_message", None)  # click's usage errors: "Invalid value for '--polarity': …"
    message = (usage() if cli and callable(usage) else None) or getattr(
        exc, "cli_problem" if cli else "problem", None) or str(exc)
    if not isinstance(path, str):
        path = None
    return {"error": {"type": type(exc).__name__, "message": str(message), "path": path}}
