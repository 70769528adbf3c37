import numpy as np
import pytest

from ionscope.library import ELECTRON_MASS, FormulaError, element, isotope_table, parse_formula
from ionscope.model import ValidationError


def test_every_element_sums_to_one_and_masses_are_near_mass_numbers():
    table = isotope_table()
    assert len(table) >= 80
    for sym, el in table.items():
        assert el.abundances.sum() == pytest.approx(1.0, abs=2e-4), sym
        assert np.all(el.abundances > 0)
        assert np.all(np.abs(el.masses - el.mass_numbers) < 0.1), sym


@pytest.mark.parametrize(("sym", "a", "mass", "abundance"), [
    # AME / IUPAC reference values typed independently from the data file
    ("H", 1, 1.00782503, 0.999885), ("Li", 6, 6.0151228, 0.0759), ("Li", 7, 7.0160034, 0.9241),
    ("C", 12, 12.0, 0.9893), ("O", 16, 15.9949146, 0.99757), ("F", 19, 18.9984032, 1.0),
    ("Ru", 102, 101.904344, 0.3155), ("Pd", 106, 105.903483, 0.2733), ("Pt", 195, 194.964792, 0.3378),
    ("Ni", 58, 57.935343, 0.680769), ("Cl", 37, 36.965903, 0.2424),
])
def test_key_isotopes(sym, a, mass, abundance):
    el = element(sym)
    assert el.isotope_mass(a) == pytest.approx(mass, abs=2e-5)
    assert el.abundances[list(el.mass_numbers).index(a)] == pytest.approx(abundance, abs=1e-6)


def test_table_agrees_with_molmass_when_installed():
    elements = pytest.importorskip("molmass.elements").ELEMENTS
    for sym, el in isotope_table().items():
        for a, m, ab in zip(el.mass_numbers, el.masses, el.abundances):
            iso = elements[sym].isotopes[int(a)]
            # masses: AME2012 here vs AME2016+ in molmass differ by < 5e-5 u (< 0.5 ppm at m/z 100)
            assert m == pytest.approx(iso.mass, abs=5e-5), (sym, a)
            assert ab == pytest.approx(iso.abundance, abs=5e-6), (sym, a)  # last-digit rounding


@pytest.mark.parametrize(("text", "counts", "charge"), [
    ("Li2F+", {("Li", None): 2, ("F", None): 1}, 1),
    ("PO3-", {("P", None): 1, ("O", None): 3}, -1),
    ("^6Li+", {("Li", 6): 1}, 1),
    ("^13CC_25H_21N_2+", {("C", 13): 1, ("C", None): 25, ("H", None): 21, ("N", None): 2}, 1),
    ("C_6H_5+", {("C", None): 6, ("H", None): 5}, 1),
    ("[6Li]F2-", {("Li", 6): 1, ("F", None): 2}, -1),
    ("⁶Li⁺", {("Li", 6): 1}, 1),
    ("Li₂O⁺", {("Li", None): 2, ("O", None): 1}, 1),
    ("Li(OH)2+", {("Li", None): 1, ("O", None): 2, ("H", None): 2}, 1),
    ("(LiF)3Li+", {("Li", None): 4, ("F", None): 3}, 1),
    ("2LiF.Li+", {("Li", None): 3, ("F", None): 2}, 1),
    ("Fe 2+", {("Fe", None): 1}, 2),
    ("C2F6NO4S2−", {("C", None): 2, ("F", None): 6, ("N", None): 1, ("O", None): 4, ("S", None): 2}, -1),
])
def test_parser(text, counts, charge):
    f = parse_formula(text)
    assert f.elements == counts and f.charge == charge


def test_ion_mz_includes_the_electron_mass():
    h = element("H").isotope_mass(1)
    assert parse_formula("H+").mz == pytest.approx(h - ELECTRON_MASS, abs=1e-12)
    assert parse_formula("H-").mz == pytest.approx(h + ELECTRON_MASS, abs=1e-12)
    assert parse_formula("^7Li+").mz == pytest.approx(7.0154556, abs=2e-6)  # 7.0160034 − mₑ
    assert parse_formula("Fe 2+").mz == pytest.approx((55.9349375 - 2 * ELECTRON_MASS) / 2, abs=1e-9)
    assert parse_formula("C2H-").mz == pytest.approx(25.0083, abs=1e-4)


@pytest.mark.parametrize("bad", ["", "   ", "Xx2+", "Li2F)+", "(LiF+", "li+", "^5Li+", "Li0+", "3+", "+-",
                                  "Li$+"])
def test_bad_formulas_raise_formula_error(bad):
    with pytest.raises(FormulaError):
        parse_formula(bad)


def test_unknown_element_error_names_it():
    with pytest.raises(ValidationError, match="Xx"):
        parse_formula("Xx+")
    with pytest.raises(ValidationError, match="unknown element"):
        element("Zz")
