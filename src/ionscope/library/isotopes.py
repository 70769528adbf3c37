"""Isotope table: exact masses (u) and natural abundances of the stable isotopes.

Data: ``data/isotopes.csv`` (AME2012 masses via NIST; IUPAC representative isotopic compositions,
Berglund & Wieser 2011 / Meija et al. 2016). Loaded once, cached.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files

import numpy as np

from ionscope.model.errors import ValidationError

#: Electron rest mass in u (CODATA 2018: 5.48579909065e-4 u).
ELECTRON_MASS = 5.48579909065e-4


@dataclass(frozen=True)
class Element:
    """One element: symbol, atomic number and its isotopes (mass numbers, masses in u, abundances)."""

    symbol: str
    z: int
    mass_numbers: np.ndarray
    masses: np.ndarray
    abundances: np.ndarray

    @property
    def monoisotopic_mass(self) -> float:
        """Mass (u) of the most abundant isotope."""
        return float(self.masses[int(np.argmax(self.abundances))])

    @property
    def average_mass(self) -> float:
        """Abundance-weighted mean atomic mass (u)."""
        return float(np.dot(self.masses, self.abundances))

    def isotope_mass(self, mass_number: int) -> float:
        """Exact mass (u) of isotope ``mass_number``; raises if it is not a stable isotope."""
        hit = np.nonzero(self.mass_numbers == mass_number)[0]
        if hit.size == 0:
            raise ValidationError(
                f"{mass_number}{self.symbol} is not a stable isotope in the table "
                f"(known: {', '.join(str(a) for a in self.mass_numbers)})")
        return float(self.masses[hit[0]])

    @property
    def n_isotopes(self) -> int:
        return int(self.mass_numbers.size)


@lru_cache(maxsize=1)
def isotope_table() -> dict[str, Element]:
    """All elements of ``data/isotopes.csv`` by symbol."""
    text = files("ionscope.library").joinpath("data", "isotopes.csv").read_text(encoding="utf-8")
    rows: dict[str, list[tuple[int, int, float, float]]] = {}
    for line in text.splitlines():
        if not line or line.startswith("#") or line.startswith("symbol,"):
            continue
        sym, z, a, m, ab = line.split(",")
        rows.setdefault(sym, []).append((int(z), int(a), float(m), float(ab)))
    table = {}
    for sym, iso in rows.items():
        arr = np.array(iso, dtype=float)
        table[sym] = Element(sym, int(arr[0, 0]), arr[:, 1].astype(int), arr[:, 2], arr[:, 3])
    return table


def element(symbol: str) -> Element:
    """The :class:`Element` for ``symbol`` (case-sensitive, e.g. ``"Ru"``).

    Raises
    ------
    ValidationError
        For symbols that are not chemical elements with a stable isotope.
    """
    try:
        return isotope_table()[symbol]
    except KeyError:
        raise ValidationError(f"unknown element {symbol!r} (not in the stable-isotope table)") from None


def element_symbol(text: str) -> str:
    """The element symbol ``text`` stands for, its case corrected when that is unambiguous (``"ru"`` → ``"Ru"``).

    Written case-insensitively, one- and two-letter symbols are unambiguous except an all-capitals pair
    of two symbols (``"CO"``: cobalt, or carbon and oxygen?; ``"HF"``), which is refused with both
    readings; anything else unknown is refused with the closest symbols.

    Raises
    ------
    ValidationError
        For text that is not (unambiguously) the symbol of an element with a stable isotope.
    """
    import difflib

    table = isotope_table()
    text = text.strip()
    if text in table:
        return text
    by_lower = {s.lower(): s for s in table}
    match = by_lower.get(text.lower())
    if match is not None and not (len(text) == 2 and text.isupper() and all(c in table for c in text)):
        return match
    if match is not None:
        raise ValidationError(f"ambiguous element {text!r}: did you mean {match}, or {text[0]} and {text[1]} "
                              "(give them as two entries)? Element symbols are case-sensitive")
    close = difflib.get_close_matches(text.lower(), list(by_lower), n=3, cutoff=0.5)
    hint = f"; did you mean {' or '.join(by_lower[c] for c in close)}?" if close else ""
    raise ValidationError(f"unknown element {text!r} (not in the stable-isotope table){hint}")


def multi_isotope_elements(min_abundance: float = 0.01) -> list[str]:
    """Symbols of elements with at least two isotopes above ``min_abundance``."""
    return [s for s, e in isotope_table().items() if int(np.sum(e.abundances >= min_abundance)) >= 2]


def diagnostic_elements(min_abundance: float = 0.05, min_isotopes: int = 3) -> list[str]:
    """Elements whose isotope pattern identifies them: ≥ ``min_isotopes`` isotopes above ``min_abundance``.

    Two-isotope patterns (Li, B, Cl, Cu, Ga, Br, Ag, Ir, …) are matched by chance by organic
    fragments and oxides of other elements too often to be used without being asked for.
    """
    return [s for s, e in isotope_table().items() if int(np.sum(e.abundances >= min_abundance)) >= min_isotopes]
