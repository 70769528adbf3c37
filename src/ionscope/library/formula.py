"""Chemical formulas of secondary ions: parsing, exact masses and m/z.

Accepted notation (all may be mixed):

* element symbols with counts: ``Li2F+``, ``C2H3O2-``, ``C_6H_5+`` (IONTOF underscores);
* explicit isotopes: ``^6Li+``, ``^13CC_25H_21N_2+`` (IONTOF), ``[6Li]F2-``, ``⁶Li⁺`` (superscripts);
* groups and clusters: ``Li(OH)2+``, ``(LiF)3Li+``, ``Ru2O4-``; sums/adducts with ``.``/``·``/``*``
  and a leading multiplier per part: ``Li2O.LiF+``, ``2LiF.Li+``;
* the charge at the end: ``+``, ``-``, ``2+``, ``++``, ``−`` (Unicode minus), ``⁺``/``⁻``.

A bare leading number is a multiplier, not a mass number: write isotopes as ``^6Li`` or ``[6Li]``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, overload

from ionscope.library.isotopes import ELECTRON_MASS, element, isotope_table
from ionscope.model.errors import ValidationError

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

_SUP = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹", "0123456789")
_SUB = str.maketrans("₀₁₂₃₄₅₆₇₈₉", "0123456789")
_SUPERSCRIPT_ISOTOPE = re.compile(r"([⁰¹²³⁴⁵⁶⁷⁸⁹]+)(?=[A-Z])")
_TOKEN = re.compile(r"\^(\d+)([A-Z][a-z]?)|\[(\d+)([A-Z][a-z]?)\]|([A-Z][a-z]?)|(\()|(\))|_?(\d+)|(\s+)")
_CHARGE = re.compile(r"(\d*)([+-]+)(\d*)$")


class FormulaError(ValidationError):
    """A formula cannot be parsed or names an unknown element or isotope."""


Key = tuple[str, int | None]  # (element symbol, mass number or None for natural abundance)


@dataclass(frozen=True)
class Formula:
    """A parsed ion formula: atom counts per (element, mass number or None) and the charge.

    ``counts`` keeps the order of first appearance; ``None`` as mass number means natural isotopic
    composition, an integer an explicit (labelled) isotope.
    """

    counts: tuple[tuple[Key, int], ...]
    charge: int
    text: str = ""

    @property
    def elements(self) -> dict[Key, int]:
        return dict(self.counts)

    @property
    def nominal_mass(self) -> int:
        """Sum of the mass numbers of the most abundant (or the explicit) isotopes."""
        total = 0
        for (sym, a), n in self.counts:
            el = element(sym)
            total += n * (a if a is not None else int(el.mass_numbers[el.abundances.argmax()]))
        return total

    @property
    def mass(self) -> float:
        """Neutral exact mass (u) from the most abundant isotope of each element (or the explicit one)."""
        total = 0.0
        for (sym, a), n in self.counts:
            el = element(sym)
            total += n * (el.isotope_mass(a) if a is not None else el.monoisotopic_mass)
        return total

    @property
    def mz(self) -> float:
        """m/z of the ion: ``(M − z·mₑ)/|z|`` (electrons removed for cations, added for anions)."""
        return ion_mz(self.mass, self.charge)

    @property
    def polarity(self) -> str | None:
        return "positive" if self.charge > 0 else "negative" if self.charge < 0 else None

    def __str__(self) -> str:
        parts = []
        for (sym, a), n in self.counts:
            parts.append(("" if a is None else f"^{a}") + sym + ("" if n == 1 else str(n)))
        if self.charge:
            sign = "+" if self.charge > 0 else "-"
            parts.append(sign if abs(self.charge) == 1 else f" {abs(self.charge)}{sign}")
        return "".join(parts)


@overload
def ion_mz(neutral_mass: float, charge: int) -> float: ...


@overload
def ion_mz(neutral_mass: NDArray[np.float64], charge: int) -> NDArray[np.float64]: ...


def ion_mz(neutral_mass: float | NDArray[np.float64], charge: int) -> float | NDArray[np.float64]:
    """m/z of an ion of neutral mass ``neutral_mass`` (u) and ``charge``: (M − z·mₑ)/|z|."""
    if charge == 0:
        return float(neutral_mass)
    return (neutral_mass - charge * ELECTRON_MASS) / abs(charge)


def _split_charge(text: str) -> tuple[str, int]:
    t = text.replace("−", "-").replace("⁺", "+").replace("⁻", "-").rstrip()
    m = _CHARGE.search(t)
    if not m:
        return t, 0
    lead, signs, trail = m.groups()
    if len(set(signs)) > 1:
        raise FormulaError(f"formula {text!r} has a mixed charge {signs!r}")
    if (lead and trail) or ((lead or trail) and len(signs) > 1):
        raise FormulaError(f"formula {text!r} has an ambiguous charge {m.group(0)!r}")
    if lead and t[: m.start()] and t[m.start() - 1].isalpha() and "_" not in t and not trail:
        # ``Li2+`` reads as Li₂⁺ (one charge), the IONTOF/common convention; write ``Li2 2+`` for Li₂²⁺
        body, n = t[: m.start() + len(lead)], 1
    elif lead and t[: m.start()].endswith(" "):
        body, n = t[: m.start()], int(lead)
    else:
        body, n = t[: m.start()] + ("" if not lead else lead), int(trail or 1) if len(signs) == 1 else len(signs)
    return body.strip(), n if signs[0] == "+" else -n


def _leading_multiplier(part: str) -> tuple[int, str]:
    """Split a leading multiplier off one part of a formula.

    Parameters
    ----------
    part : str
        One ``.``/``·``-separated part, e.g. ``"2H2O"``.

    Returns
    -------
    mult : int
        The multiplier (1 when the part has none).
    rest : str
        The part without its multiplier.
    """
    m = re.match(r"(\d+)(?=[A-Z(\[^])", part)
    if not m:
        return 1, part
    return int(m.group(1)), part[m.end():]


def _element_key(symbol: str, mass_number: int | None, text: str) -> Key:
    """Check an element symbol (and isotope mass number) and return its key.

    Parameters
    ----------
    symbol : str
        Element symbol, e.g. ``"Li"``.
    mass_number : int or None
        Isotope mass number, or None for the natural element.
    text : str
        The whole formula, for the error message.

    Returns
    -------
    Key
        ``(symbol, mass_number)``.

    Raises
    ------
    FormulaError
        Unknown element, or an isotope that is not stable.
    """
    if symbol not in isotope_table():
        raise FormulaError(f"unknown element {symbol!r} in formula {text!r}")
    if mass_number is not None:
        try:
            element(symbol).isotope_mass(mass_number)
        except ValidationError:
            raise FormulaError(f"{mass_number}{symbol} in formula {text!r} is not a stable isotope") from None
    return (symbol, mass_number)


def _add_counts(target: dict[Key, int], counts: Mapping[Key, int], factor: int = 1) -> None:
    """Add ``factor`` times ``counts`` into ``target`` in place (atom counts, dimensionless)."""
    for k, v in counts.items():
        target[k] = target.get(k, 0) + factor * v


def _parse_part(part: str, text: str) -> dict[Key, int]:
    """Atom counts of one part of a formula (no charge, no ``.`` separators).

    Parameters
    ----------
    part : str
        One part, e.g. ``"2Li(OH)2"`` or ``"[6Li]F"``.
    text : str
        The whole formula, for error messages.

    Returns
    -------
    dict
        ``{(symbol, mass_number): count}``, counts multiplied by the leading multiplier.

    Raises
    ------
    FormulaError
        Unparseable tokens, unknown elements or isotopes, unbalanced brackets, zero or dangling counts.
    """
    mult, part = _leading_multiplier(part)
    stack: list[dict[Key, int]] = [{}]
    last: dict[Key, int] | None = None
    pos = 0
    while pos < len(part):
        tok = _TOKEN.match(part, pos)
        if not tok or tok.end() == pos:
            raise FormulaError(f"cannot parse formula {text!r} at {part[pos:]!r}")
        pos = tok.end()
        iso_a, iso_s, br_a, br_s, sym, open_, close, num, space = tok.groups()
        if space:
            continue
        if iso_s or br_s or sym:
            a = iso_a or br_a
            key = _element_key(iso_s or br_s or sym, int(a) if a else None, text)
            _add_counts(stack[-1], {key: 1})
            last = {key: 1}
        elif open_:
            stack.append({})
            last = None
        elif close:
            if len(stack) == 1:
                raise FormulaError(f"unbalanced ')' in formula {text!r}")
            last = stack.pop()
            _add_counts(stack[-1], last)
        elif num is not None:
            if last is None:
                raise FormulaError(f"count {num!r} without an element or group in formula {text!r}")
            if int(num) < 1:
                raise FormulaError(f"zero count in formula {text!r}")
            _add_counts(stack[-1], last, int(num) - 1)
            last = None
    if len(stack) != 1:
        raise FormulaError(f"unbalanced '(' in formula {text!r}")
    return {k: v * mult for k, v in stack[0].items()}


@lru_cache(maxsize=65536)
def parse_formula(text: str) -> Formula:
    """Parse an ion formula (see module docstring for the notation).

    Raises
    ------
    FormulaError
        Empty or unparseable text, unknown elements, isotopes that are not stable.
    """
    if not isinstance(text, str) or not text.strip():
        raise FormulaError(f"empty formula {text!r}")
    t = _SUPERSCRIPT_ISOTOPE.sub(lambda m: "^" + m.group(1).translate(_SUP), text.strip())
    body, charge = _split_charge(t.translate(_SUB))
    if not body:
        raise FormulaError(f"formula {text!r} has no atoms")
    counts: dict[Key, int] = {}
    for part in re.split(r"[.·*]", body):
        if not part.strip():
            raise FormulaError(f"empty part in formula {text!r}")
        for k, v in _parse_part(part.strip(), text).items():
            counts[k] = counts.get(k, 0) + v
    return Formula(tuple((k, v) for k, v in counts.items() if v > 0), charge, text)


def formula_from_counts(counts: Mapping[str, int], charge: int = 0) -> Formula:
    """Build a :class:`Formula` from ``{"Ru": 1, "O": 2}`` (natural isotopes)."""
    for s in counts:
        element(s)
    return Formula(tuple(((s, None), int(n)) for s, n in counts.items() if n > 0), int(charge))
