"""``diffusion gb``: Harrison regime, Le Claire's validity, poor-fit inflation and disagreement warnings.

Regimes: Harrison 1961 (doi:10.1039/TF9615701191); Le Claire's 6/5 law needs type B and β ≳ 10
(Le Claire 1963, doi:10.1088/0508-3443/14/6/317). A poor fit has χ²_red beyond 1 + 3√(2/ν) and its
uncertainty is inflated by the Birge ratio √χ²_red (Birge 1932, doi:10.1103/PhysRev.40.207).
"""

import json

import numpy as np
import pandas as pd
import pytest
from scipy.special import erfc
from scipy.stats import chi2

from ionscope.diffusion import gb2d
from ionscope.diffusion.gb2d import harrison_regime, le_claire_reasons, poor_fit_limit
from ionscope.model.result import Quantity, Result


@pytest.mark.parametrize("dof", [10, 76, 147, 1000])
def test_poor_fit_limit_is_rare_for_a_correct_model(dof):
    """A correct model exceeds the limit with probability well below 1 % (χ² distribution, not normal)."""
    p = chi2.sf(poor_fit_limit(dof) * dof, dof)
    assert 1e-4 < p < 0.01


def test_harrison_regimes():
    assert harrison_regime(1e-14, 1e4, 0.5, 4.0)[0] == "B"  # √(Dt) = 0.1 µm, α = 2.5e-3
    assert harrison_regime(1e-12, 1e4, 0.5, 0.5)[0] == "A"  # √(Dt) = 1 µm ≥ 0.5 µm grains
    assert harrison_regime(1e-20, 1e4, 0.5, 4.0)[0] == "C"  # √(Dt) = 1e-8 cm = 0.1 nm < δ


def test_le_claire_needs_every_beta_above_the_limit():
    """The tail's own β = 3.25 below 10 rules Le Claire out even when the 2-D β = 65.5 is above it."""
    regime, alpha, Lb = harrison_regime(1e-14, 1e4, 0.5, 4.0)
    reasons = le_claire_reasons(regime, alpha, Lb, 4.0, {"the 2-D fit": 65.5, "Le Claire's own tail": 3.25}, 10.0)
    assert len(reasons) == 1 and "3.25 < 10" in reasons[0] and "tail" in reasons[0]
    assert not le_claire_reasons(regime, alpha, Lb, 4.0, {"the 2-D fit": 65.5, "tail": 40.0}, 10.0)


def _erfc_profile(tmp_path):
    """A plain bulk erfc profile (no grain-boundary tail), 150 points to 2.4 µm, 1σ = 0.0026 (demo-like)."""
    rng = np.random.default_rng(3)
    x = np.linspace(0.0, 2400.0, 150)
    sigma = np.full_like(x, 0.0026)
    frac = 0.0759 + 0.65 * erfc(x * 1e-7 / (2 * np.sqrt(1e-13 * 1500))) + rng.normal(0, 0.0026, x.size)
    path = tmp_path / "erfc.csv"
    pd.DataFrame({"depth_nm": x, "fraction": frac, "fraction_err": sigma}).to_csv(path, index=False)
    return path


def test_gb_on_a_plain_erfc_warns_poor_fit_and_inflates(cli, tmp_path, monkeypatch):
    path = _erfc_profile(tmp_path)
    args = ("diffusion", "gb", path, "--time", "1e4s", "--d-bulk", "1e-14", "--grain-size", "4um")
    code, out, err = cli(*args, "--json")
    assert code == 0, err
    env = json.loads(out)
    res = env["results"]
    assert res["chi2_red"] > res["chi2_red_limit"] == pytest.approx(1 + 3 * np.sqrt(2 / 147))
    assert res["birge_ratio"] == pytest.approx(np.sqrt(res["chi2_red"]))
    assert any("poor 2-D fit" in w and "inflated" in w for w in env["warnings"])
    betas = [res["beta"]] + ([res["le_claire"]["beta"]] if "beta" in res["le_claire"] else [])
    assert res["le_claire_holds"] == (res["regime"] == "B" and min(betas) >= 10)
    # the reported uncertainty is the covariance one times √χ²_red
    monkeypatch.setattr(gb2d, "poor_fit_limit", lambda dof: np.inf)
    plain = gb2d.fit_grain_boundary(*_columns(path)[:2], 1e4, D_bulk=1e-14, grain_size_um=4.0,
                                    **_columns(path)[2])
    monkeypatch.undo()
    assert plain["birge_ratio"] == 1.0
    assert res["D_gb"]["uncertainty"] == pytest.approx(plain["D_gb_err_cm2_s"] * res["birge_ratio"], rel=1e-6)
    code, text, err = cli(*args)
    assert code == 0
    holds_line = "6/5 law holds here" in text
    assert holds_line == res["le_claire_holds"]
    assert ("does not hold here" in text) != holds_line
    assert "poor fit, uncertainties ×" in text and "poor 2-D fit" in err


def _columns(path):
    df = pd.read_csv(path)
    return df["depth_nm"].to_numpy(), df["fraction"].to_numpy(), {"sigma": df["fraction_err"].to_numpy()}


def test_disagreeing_estimates_are_warned(monkeypatch):
    """A well-fitted 2-D estimate and a tail estimate 2× larger, both to a few %, are many σ apart."""
    from ionscope.diffusion import grain_boundary
    from ionscope.diffusion.fraction import isotope_fraction
    from ionscope.synth.diffusion import grain_boundary_profile

    da, _ = grain_boundary_profile(D_bulk=1e-14, D_gb=1e-9, time_s=1e4, max_depth_nm=12000, n_points=60, seed=5)
    iso = isotope_fraction(da.sel(peak="Li6").values, da.sel(peak="Li7").values)

    def fake_le_claire(*args, delta_nm=0.5, **kw):
        d = 2 * 1e-9 * delta_nm * 1e-7
        return Result("diffusion.le_claire", {"delta_Dgb": Quantity(d, 0.02 * d, "cm^3/s"),
                                              "D_gb": Quantity(2e-9, 4e-11, "cm^2/s"), "beta": 500.0,
                                              "regime": "B", "tail_start": 1.0, "tail_end": 2.0})

    monkeypatch.setattr(grain_boundary, "le_claire", fake_le_claire)
    res = gb2d.grain_boundary_analysis(da.depth.values, iso.fraction, 1e4, D_bulk=1e-14, grain_size_um=4.0,
                                       sigma=iso.uncertainty, solver_options={"ny_max": 30})
    assert res["birge_ratio"] == 1.0  # the 2-D model describes the profile within its counting errors
    assert res["z_le_claire_vs_2d"] > 3
    assert any("disagree" in w for w in res.warnings)
