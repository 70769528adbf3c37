"""`ionscope depth mri`: MRI parameters, per-layer composition, identifiability warnings, bad input."""

import json

import numpy as np
import pytest

import ionscope
from ionscope.depth.mri import mri_analysis
from ionscope.synth.depth import layered_stack

SPECIES = {"A+": 0, "B+": 1, "C+": 2}


def _stack(mri_nm, seed=3):
    return layered_stack(thicknesses_nm=(60.0, 120.0), rates_nm_s=(1, 1, 1), species=SPECIES, mri_nm=mri_nm, seed=seed)


def test_mri_analysis_recovers_parameters_and_composition():
    prof, truth = _stack((3.0, 4.0, 1.5))
    res = mri_analysis(prof, list(SPECIES))
    curves = res.curves
    # 1 nm/s everywhere: the sputter-time axis is depth in nm; each value within 4σ (5 values tested)
    for key, true in zip(("mixing_length", "roughness", "information_depth"), (3.0, 4.0, 1.5)):
        assert abs(res[key].value - true) <= 4 * res[key].uncertainty, (key, res[key])
    assert 0.7 < res["reduced_chi2"] < 1.4
    # a layer holds its marker (2000 counts/scan) over a background of 2 counts/scan of each other species;
    # weights 1/√counts (Neyman χ²) bias a 2-count background low by up to ≈ 1 count, i.e. 5e-4 here
    comp = res["layers"][1]["composition"]
    assert comp["B+"].value == pytest.approx(2000 / 2004, abs=5 * comp["B+"].uncertainty + 1e-3)
    assert comp["A+"].value < 2e-3 and comp["C+"].value < 2e-3
    assert curves["fitted"].shape == (3, prof.sizes["scan"])


def test_mri_analysis_warns_when_parameters_are_not_identifiable():
    # w and λ far below the scan spacing (2 nm): the profile cannot determine them
    prof, _ = _stack((0.1, 4.0, 0.1), seed=5)
    res = mri_analysis(prof, list(SPECIES))
    assert any("not determined" in w or "not separately identifiable" in w or "bound" in w for w in res.warnings)


def test_mri_command_json_and_figure(cli, tmp_path):
    prof, _ = _stack((3.0, 4.0, 1.5))
    src = ionscope.save(prof, tmp_path / "p.zarr")
    fig = tmp_path / "mri.png"
    code, out, err = cli("depth", "mri", src, "--species", "A+,B+,C+", "--figure", fig, "--json")
    assert code == 0, err
    res = json.loads(out)["results"]
    assert res["mixing_length"]["unit"] == "s" and len(res["layers"]) == 3 and fig.stat().st_size > 0
    assert np.isfinite(res["roughness"]["uncertainty"])


def test_mri_command_unknown_species(cli, tmp_path):
    prof, _ = _stack((3.0, 4.0, 1.5))
    src = ionscope.save(prof, tmp_path / "p.zarr")
    code, _, err = cli("depth", "mri", src, "--species", "A+,Z+")
    assert code == 2 and "Z+" in err and len(err.strip().splitlines()) == 1


def test_mri_poor_fit_rule_warns_and_inflates_by_the_birge_ratio(monkeypatch):
    """χ²_red above 1 + 3√(2/ν) warns and inflates every 1σ by √χ²_red (Birge 1932,
    doi:10.1103/PhysRev.40.207): counts scattered 10 % beyond Poisson noise fit poorly; the same fit
    with the limit removed gives the uninflated uncertainties."""
    from ionscope.depth import mri

    prof, _ = _stack((3.0, 4.0, 1.5))
    good = mri_analysis(prof, list(SPECIES))
    assert good["birge_ratio"] == 1.0 and good["reduced_chi2"] <= good["chi2_red_limit"] < 1.5
    assert not any("poor MRI fit" in w for w in good.warnings)
    rng = np.random.default_rng(1)
    noisy = prof.copy(data=prof.values * (1 + 0.1 * rng.standard_normal(prof.shape)))
    poor = mri_analysis(noisy, list(SPECIES))
    chi2 = poor["reduced_chi2"]
    assert chi2 > poor["chi2_red_limit"] and poor["birge_ratio"] == pytest.approx(np.sqrt(chi2))
    assert any("poor MRI fit" in w and "inflated" in w for w in poor.warnings)
    monkeypatch.setattr(mri, "poor_fit_limit", lambda dof: np.inf)
    plain = mri_analysis(noisy, list(SPECIES))
    assert plain["birge_ratio"] == 1.0 and not any("poor MRI fit" in w for w in plain.warnings)
    for key in ("mixing_length", "roughness", "information_depth"):
        assert poor[key].uncertainty == pytest.approx(plain[key].uncertainty * np.sqrt(chi2), rel=1e-6)
    b_poor, b_plain = poor["layers"][1]["composition"]["B+"], plain["layers"][1]["composition"]["B+"]
    assert b_poor.uncertainty == pytest.approx(b_plain.uncertainty * np.sqrt(chi2), rel=1e-6)
