"""Isotope patterns of ions: fine structure (pruned convolution) and unit resolution.

The pattern of ``n`` atoms of an element is the multinomial distribution of its isotopes, built by
repeated squaring of the single-atom pattern; patterns of elements are convolved. After every
convolution, isotopologues below ``prune`` × (largest) are dropped and peaks closer than ``merge_u``
are merged (abundance-weighted mass), which keeps the work ∝ (number of visible peaks)² instead of
exponential (the "pruned transition" approach of e.g. Łącki et al., Anal. Chem. 2017, 89, 3272, in a
simpler vectorised form). Unit-resolution patterns are convolved directly on the nominal-mass grid:
abundances ``p`` and abundance-weighted masses ``p·m`` convolve exactly (``(pm)_ab = pm_a * p_b + p_a * pm_b``),
so each nominal mass carries the exact total abundance and mean mass of its isotopologues.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ionscope.library.formula import Formula, ion_mz, parse_formula
from ionscope.library.isotopes import element
from ionscope.model.errors import ValidationError

#: Default relative pruning threshold (fraction of the largest isotopologue).
PRUNE = 1e-6
#: Default merge distance for fine structure (u); 1e-5 u ≈ 0.1 ppm at m/z 100.
MERGE_U = 1e-5


@dataclass(frozen=True)
class IsotopePattern:
    """Isotopologue m/z values (ascending) and abundances (fractions of all ions of the formula)."""

    formula: str
    charge: int
    mz: np.ndarray
    abundance: np.ndarray

    @property
    def relative(self) -> np.ndarray:
        """Abundances scaled so that the largest is 1."""
        return self.abundance / self.abundance.max()

    @property
    def base_mz(self) -> float:
        """m/z of the most abundant isotopologue."""
        return float(self.mz[int(np.argmax(self.abundance))])

    def to_dict(self) -> dict:
        return {"formula": self.formula, "charge": self.charge,
                "mz": self.mz.tolist(), "abundance": self.abundance.tolist()}


def _merge(m: np.ndarray, p: np.ndarray, prune: float, merge_u: float) -> tuple[np.ndarray, np.ndarray]:
    keep = p >= prune * p.max()
    m, p = m[keep], p[keep]
    order = np.argsort(m, kind="stable")
    m, p = m[order], p[order]
    if m.size > 1:
        starts = np.concatenate(([0], np.nonzero(np.diff(m) > merge_u)[0] + 1))
        if starts.size < m.size:
            ps = np.add.reduceat(p, starts)
            m = np.add.reduceat(m * p, starts) / ps
            p = ps
    return m, p


def _convolve(a, b, prune: float, merge_u: float):
    m = (a[0][:, None] + b[0][None, :]).ravel()
    p = (a[1][:, None] * b[1][None, :]).ravel()
    return _merge(m, p, prune, merge_u)


@lru_cache(maxsize=8192)
def _element_pattern(symbol: str, n: int, prune: float, merge_u: float,
                     override: tuple[tuple[int, float], ...] | None = None):
    el = element(symbol)
    ab = el.abundances.copy()
    if override is not None:
        ab = np.zeros_like(ab)
        for a, f in override:
            ab[el.mass_numbers == a] = f
    nz = ab > 0
    single = (el.masses[nz].copy(), ab[nz].copy())
    result = None
    power = single
    k = n
    while k:
        if k & 1:
            result = power if result is None else _convolve(result, power, prune, merge_u)
        k >>= 1
        if k:
            power = _convolve(power, power, prune, merge_u)
    return result


def _unit_convolve(a, b, prune: float):
    """Convolve two unit-resolution patterns (p, p·m) on a nominal-mass grid; exact for unit bins."""
    p = np.convolve(a[0], b[0])
    pm = np.convolve(a[1], b[0]) + np.convolve(a[0], b[1])
    keep = np.nonzero(p >= prune * p.max())[0]
    lo, hi = keep[0], keep[-1] + 1
    return p[lo:hi], pm[lo:hi], a[2] + b[2] + int(lo)


@lru_cache(maxsize=8192)
def _unit_element(symbol: str, n: int, prune: float, override: tuple[tuple[int, float], ...] | None = None):
    el = element(symbol)
    ab = el.abundances.copy()
    if override is not None:
        ab = np.zeros_like(ab)
        for a, f in override:
            ab[el.mass_numbers == a] = f
    a0 = int(el.mass_numbers.min())
    size = int(el.mass_numbers.max()) - a0 + 1
    p = np.zeros(size)
    pm = np.zeros(size)
    p[el.mass_numbers - a0] = ab
    pm[el.mass_numbers - a0] = ab * el.masses
    single = (p, pm, a0)
    result, power, k = None, single, n
    while k:
        if k & 1:
            result = power if result is None else _unit_convolve(result, power, prune)
        k >>= 1
        if k:
            power = _unit_convolve(power, power, prune)
    return result


def _unit_pattern(f: Formula, prune: float, abundances) -> tuple[np.ndarray, np.ndarray]:
    pat = (np.array([1.0]), np.array([0.0]), 0)
    for (sym, a), n in f.counts:
        if a is not None:
            part = (np.array([1.0]), np.array([n * element(sym).isotope_mass(a)]), n * a)
        else:
            override = _checked_override(sym, abundances[sym]) if abundances and sym in abundances else None
            part = _unit_element(sym, n, prune, override)
        pat = _unit_convolve(pat, part, prune)
    p, pm, _ = pat
    nz = p > 0
    return pm[nz] / p[nz], p[nz]


def isotope_pattern(formula: str | Formula, *, prune: float = PRUNE, merge_u: float = MERGE_U,
                    resolution: str = "fine", abundances: Mapping[str, Mapping[int, float]] | None = None
                    ) -> IsotopePattern:
    """Isotope pattern of an ion.

    Parameters
    ----------
    formula
        Ion formula (string or parsed); explicit isotopes (``^6Li``) contribute a single mass.
    prune
        Drop isotopologues below this fraction of the largest one (default 1e-6).
    merge_u
        Merge fine-structure peaks closer than this (u). Ignored for ``resolution="unit"``.
    resolution
        ``"fine"`` (isotopologue fine structure) or ``"unit"`` (summed per nominal mass; m/z is the
        abundance-weighted mean of the merged fine structure).
    abundances
        Optional isotope abundances replacing the natural ones, e.g. ``{"Li": {6: 0.95, 7: 0.05}}``
        for an enriched tracer (values must be ≥ 0 and sum to 1).

    Returns
    -------
    IsotopePattern
        m/z (with the electron mass) and abundances; abundances sum to 1 minus the pruned tail.
    """
    f = parse_formula(formula) if isinstance(formula, str) else formula
    if resolution not in ("fine", "unit"):
        raise ValidationError(f"resolution must be 'fine' or 'unit', got {resolution!r}")
    if resolution == "unit":
        m, p = _unit_pattern(f, prune, abundances)
        mz = ion_mz(m, f.charge) if f.charge else m.copy()
        return IsotopePattern(str(f), f.charge, np.asarray(mz, dtype=float), np.asarray(p, dtype=float))
    masses = np.array([0.0])
    probs = np.array([1.0])
    pat = (masses, probs)
    for (sym, a), n in f.counts:
        if a is not None:
            part = (np.array([n * element(sym).isotope_mass(a)]), np.array([1.0]))
        else:
            override = None
            if abundances and sym in abundances:
                override = _checked_override(sym, abundances[sym])
            part = _element_pattern(sym, n, prune, merge_u, override)
        pat = _convolve(pat, part, prune, merge_u)
    m, p = pat
    mz = ion_mz(m, f.charge) if f.charge else m.copy()
    return IsotopePattern(str(f), f.charge, np.asarray(mz, dtype=float), np.asarray(p, dtype=float))


def _checked_override(symbol: str, values: Mapping[int, float]) -> tuple[tuple[int, float], ...]:
    el = element(symbol)
    out = []
    for a, frac in values.items():
        el.isotope_mass(int(a))
        if not (np.isfinite(frac) and frac >= 0):
            raise ValidationError(f"abundance of {a}{symbol} must be ≥ 0, got {frac!r}")
        out.append((int(a), float(frac)))
    total = sum(f for _, f in out)
    if abs(total - 1) > 1e-3:
        raise ValidationError(f"abundances of {symbol} must sum to 1, got {total:.6g}")
    return tuple(sorted(out))
