"""Le Claire analysis (eq. 9) regime checks and flux continuity across a boundary (eq. 10)."""

import numpy as np
import pytest

from ionscope.diffusion.grain_boundary import boundary_flux_continuity, le_claire
from ionscope.model.errors import ValidationError


def _le_claire_tail(x_nm, m6, bulk_L_nm):
    from scipy.special import erfc

    x = x_nm * 1e-7
    return 0.5 * erfc(x_nm / (2 * bulk_L_nm)) + 0.02 * np.exp(-m6 * x ** 1.2)


def test_le_claire_on_exact_tail_returns_its_slope_and_selects_the_tail():
    Db, t = 1e-14, 1e4  # √(Db t) = 100 nm
    m6 = 2.8e4
    x = np.linspace(5, 15000, 300)
    res = le_claire(x, _le_claire_tail(x, m6, 100.0), t, Db)
    expected = 1.322 * np.sqrt(Db / t) * m6 ** (-5 / 3)
    assert res["delta_Dgb_cm3_s"] == pytest.approx(expected, rel=1e-3)
    assert res["tail_start_nm"] >= 300  # the erfc bulk part is excluded
    assert res["beta"] == pytest.approx(res["delta_Dgb_cm3_s"] / (2 * Db * 1e-5))  # √(Db t) = 1e-5 cm


def test_le_claire_warns_outside_type_B():
    Db, t = 1e-12, 1e4  # √(Db t) = 1 µm; a shallow tail → small β
    m6 = 3e4
    x = np.linspace(5, 40000, 400)
    res = le_claire(x, _le_claire_tail(x, m6, 1000.0), t, Db)
    assert res["beta"] < 10 and res["regime"] == "not B"
    assert any("type-B" in w for w in res.warnings)


def test_le_claire_needs_a_tail():
    x = np.linspace(0, 100, 20)
    with pytest.raises(ValidationError, match="tail"):
        le_claire(x, np.exp(-x / 30), 1e4, 1e-12)


def test_flux_continuity_recovers_D_gb():
    # bulk gradient g on both sides and a jump ΔC at the boundary: D_gb = D_bulk g δ / ΔC
    D_bulk, delta_nm = 1e-9, 1.0
    g_per_um, dC = 0.02, 0.15
    x = np.linspace(0, 10, 101)
    C = 0.6 - g_per_um * x - np.where(x > 5.0, dC, 0.0)
    res = boundary_flux_continuity(x, C, D_bulk=D_bulk, delta_nm=delta_nm)
    expected = D_bulk * (g_per_um / 1e-4) * delta_nm * 1e-7 / dC
    assert res["D_gb_cm2_s"] == pytest.approx(expected, rel=1e-6)
    assert res["boundary_um"] == pytest.approx(5.0, abs=0.1)
