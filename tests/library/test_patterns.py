import numpy as np
import pytest

from ionscope.library import isotope_pattern
from ionscope.model import ValidationError

# IUPAC representative isotopic compositions (Meija et al. 2016), typed independently of the data file.
PUBLISHED = {
    "Ru": [0.0554, 0.0187, 0.1276, 0.1260, 0.1706, 0.3155, 0.1862],
    "Pd": [0.0102, 0.1114, 0.2233, 0.2733, 0.2646, 0.1172],
    "Pt": [0.00012, 0.00782, 0.3286, 0.3378, 0.2521, 0.07356],
    "Ni": [0.680769, 0.262231, 0.011399, 0.036345, 0.009256],
    "Li": [0.0759, 0.9241],
    "Ir": [0.373, 0.627],
}


@pytest.mark.parametrize("sym", sorted(PUBLISHED))
def test_single_atom_patterns_equal_published_abundances_to_4_decimals(sym):
    for res in ("fine", "unit"):
        p = isotope_pattern(f"{sym}+", resolution=res, prune=0)
        np.testing.assert_allclose(p.abundance, PUBLISHED[sym], atol=5e-5)


def test_cl2_binomial_pattern():
    a, b = 0.7576, 0.2424
    p = isotope_pattern("Cl2-", resolution="unit")
    np.testing.assert_allclose(p.abundance, [a * a, 2 * a * b, b * b], atol=1e-6)


def test_carbon_pattern_is_binomial_and_fine_structure_resolves_13c_vs_2h():
    p = isotope_pattern("C60+", resolution="unit")
    q = 0.0107
    expected = [(1 - q) ** 60, 60 * q * (1 - q) ** 59, 1770 * q * q * (1 - q) ** 58]
    np.testing.assert_allclose(p.abundance[:3], expected, rtol=1e-6)
    fine = isotope_pattern("CH4+", resolution="fine", prune=1e-9)
    m1 = fine.mz[(fine.mz > 16.5) & (fine.mz < 17.5)]
    assert m1.size == 2  # 13CH4 and 12CH3D differ by 2.9 mDa
    assert abs(np.diff(m1)[0] - (1.0033548 - 1.0062767)) < 1e-6 or abs(np.diff(m1)[0] - 0.0029219) < 1e-6


def test_pattern_sums_to_one_and_unit_equals_summed_fine():
    f = isotope_pattern("Ru3O6-", resolution="fine", prune=1e-9)
    u = isotope_pattern("Ru3O6-", resolution="unit", prune=1e-9)
    assert f.abundance.sum() == pytest.approx(1, abs=1e-6)
    assert u.abundance.sum() == pytest.approx(1, abs=1e-6)
    nominal = np.rint(f.mz - f.mz[0]).astype(int)
    np.testing.assert_allclose(np.bincount(nominal, weights=f.abundance)[np.bincount(nominal) > 0], u.abundance,
                               atol=1e-9)


def test_explicit_isotopes_and_enrichment():
    p = isotope_pattern("^6Li+")
    assert p.mz.size == 1 and p.abundance[0] == 1
    e = isotope_pattern("Li+", abundances={"Li": {6: 0.95, 7: 0.05}})
    np.testing.assert_allclose(e.abundance, [0.95, 0.05])
    with pytest.raises(ValidationError, match="≥ 0"):
        isotope_pattern("Li+", abundances={"Li": {6: -0.1, 7: 1.1}})
    with pytest.raises(ValidationError, match="sum to 1"):
        isotope_pattern("Li+", abundances={"Li": {6: 0.5, 7: 0.1}})
