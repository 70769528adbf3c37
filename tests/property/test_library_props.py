"""Formula parser and isotope patterns: text round trips, mass additivity, patterns as convolutions.

Tolerances: masses add in float64, so sums agree to ~1e-12 relative. Patterns are pruned below
``prune`` × the largest isotopologue at every convolution step; with the default 1e-6 and the small
formulas drawn here (≤ 60 atoms, ≤ ~400 isotopologues kept or dropped) the lost probability is
< 400 · 1e-6 = 4e-4, the bound used for "sums to 1" and for comparing a pattern with a convolution.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ionscope.library.formula import parse_formula
from ionscope.library.patterns import isotope_pattern

from .strategies import FAST

ELEMENTS = ["H", "Li", "C", "N", "O", "F", "Na", "P", "S", "Cl", "Mn", "Co", "Ni"]
ISOTOPES = [("Li", 6), ("Li", 7), ("C", 13), ("O", 18), ("H", 2), ("N", 15)]
PRUNE_LOSS = 4e-4

counts = st.integers(min_value=1, max_value=6)
parts = st.lists(st.tuples(st.sampled_from(ELEMENTS), counts), min_size=1, max_size=4)
charges = st.sampled_from([-2, -1, 0, 1, 2])


def _text(elements: list[tuple[str, int]], isotopes: list[tuple[tuple[str, int], int]] = (), charge: int = 0) -> str:
    body = "".join(s + ("" if n == 1 else str(n)) for s, n in elements)
    body += "".join(f"^{a}{s}" + ("" if n == 1 else str(n)) for (s, a), n in isotopes)
    sign = "+" if charge > 0 else "-"
    return body + ("" if charge == 0 else sign if abs(charge) == 1 else f" {abs(charge)}{sign}")


def _summed(elements, isotopes=()) -> dict:
    out: dict = {}
    for s, n in elements:
        out[(s, None)] = out.get((s, None), 0) + n
    for key, n in isotopes:
        out[key] = out.get(key, 0) + n
    return out


@FAST
@given(parts, st.lists(st.tuples(st.sampled_from(ISOTOPES), counts), max_size=2), charges)
def test_parse_counts_atoms_and_str_reads_back(elements, isotopes, charge):
    f = parse_formula(_text(elements, isotopes, charge))
    assert f.elements == _summed(elements, isotopes) and f.charge == charge
    again = parse_formula(str(f))
    assert again.elements == f.elements and again.charge == f.charge
    assert again.mass == f.mass


@FAST
@given(parts, parts, st.integers(min_value=1, max_value=4))
def test_monoisotopic_mass_is_additive(a, b, k):
    fa, fb = parse_formula(_text(a)), parse_formula(_text(b))
    adduct = parse_formula(f"{_text(a)}.{k}{_text(b)}")
    assert adduct.mass == pytest.approx(fa.mass + k * fb.mass, rel=1e-12)
    assert adduct.nominal_mass == fa.nominal_mass + k * fb.nominal_mass
    group = parse_formula(f"({_text(b)}){k}")
    assert group.elements == parse_formula(f"{k}{_text(b)}").elements


@FAST
@given(parts, charges)
def test_pattern_sums_to_one_and_starts_at_the_lightest_isotopologue(elements, charge):
    f = parse_formula(_text(elements, charge=charge))
    p = isotope_pattern(f)
    assert 1 - PRUNE_LOSS <= p.abundance.sum() <= 1 + 1e-9
    assert np.all(np.diff(p.mz) > 0) and np.all(p.abundance > 0)
    unit = isotope_pattern(f, resolution="unit")
    assert unit.abundance.sum() == pytest.approx(p.abundance.sum(), abs=PRUNE_LOSS)


def _by_nominal(pattern) -> dict[int, float]:
    """Abundance per nominal mass; masses are scaled by nominal/exact mass of the formula first, so
    that a large mass defect (Co₆: 353.59 u, nominal 354) does not round to the wrong integer."""
    f = parse_formula(pattern.formula)
    scale = f.nominal_mass / f.mass
    return {int(round(m * scale)): float(a) for m, a in zip(pattern.mz, pattern.abundance, strict=True)}


@FAST
@given(parts, parts)
def test_pattern_of_a_sum_is_the_convolution_of_the_patterns(a, b):
    """Neutral A·B: abundance at nominal mass M is Σ p_A(m) p_B(M − m); mean masses add."""
    pa, pb = (isotope_pattern(_text(x), resolution="unit") for x in (a, b))
    pab = isotope_pattern(f"{_text(a)}.{_text(b)}", resolution="unit")
    expected: dict[int, float] = {}
    for ma, xa in _by_nominal(pa).items():
        for mb, xb in _by_nominal(pb).items():
            expected[ma + mb] = expected.get(ma + mb, 0.0) + xa * xb
    got = _by_nominal(pab)
    for m in set(expected) | set(got):
        assert got.get(m, 0.0) == pytest.approx(expected.get(m, 0.0), abs=2 * PRUNE_LOSS)
    mean = lambda p: float(np.sum(p.mz * p.abundance) / np.sum(p.abundance))  # noqa: E731
    assert mean(pab) == pytest.approx(mean(pa) + mean(pb), rel=1e-6)


@FAST
@given(st.sampled_from(ISOTOPES), counts)
def test_explicit_isotopes_give_a_single_line(isotope, n):
    text = _text([], [(isotope, n)])
    p = isotope_pattern(text)
    assert p.mz.size == 1 and p.abundance[0] == pytest.approx(1.0)
    assert p.mz[0] == pytest.approx(parse_formula(text).mass, rel=1e-12)
