"""`ionscope diffusion …` commands: JSON keys, inputs (CSV fractions, CSV counts, Zarr), errors."""

import json

import numpy as np
import pandas as pd
import pytest

import ionscope
from ionscope.diffusion.tables import parse_time
from ionscope.model.errors import UnitError, ValidationError
from ionscope.synth.diffusion import isotope_exchange_profile

D0, K0, T0 = 1e-13, 3e-9, 86400.0


@pytest.fixture
def profile():
    return isotope_exchange_profile("surface-exchange", D=D0, k=K0, time_s=T0, total_counts=1e5, seed=4)


def test_fit_csv_counts_json(cli, tmp_path, profile):
    da, _ = profile
    path = tmp_path / "p.csv"
    pd.DataFrame({"depth_nm": da.depth.values, "Li6": da.sel(peak="Li6").values,
                  "Li7": da.sel(peak="Li7").values}).to_csv(path, index=False)
    code, out, err = cli("diffusion", "fit", path, "--time", "24h", "--model", "surface-exchange",
                         "--isotopes", "Li6,Li7", "--json")
    assert code == 0, err
    res = json.loads(out)["results"]
    for key in ("model", "D", "k", "chi2_red"):
        assert key in res
    assert res["D"]["unit"] == "cm^2/s" and res["k"]["unit"] == "cm/s"
    assert abs(res["D"]["value"] - D0) < 3 * res["D"]["uncertainty"]
    assert abs(res["k"]["value"] - K0) < 3 * res["k"]["uncertainty"]
    assert json.loads(out)["inputs"][0]["sha256"]


def test_fit_zarr_depth_profile_and_fraction_csv(cli, tmp_path, profile):
    da, truth = profile
    store = ionscope.save(da, tmp_path / "p.zarr")
    code, out, err = cli("diffusion", "fit", store, "--time", "86400s", "--model", "couple", "--json")
    assert code == 0, err
    assert json.loads(out)["results"]["model"] == "couple"
    path = tmp_path / "f.csv"
    pd.DataFrame({"depth_um": da.depth.values / 1e3, "fraction": truth.truth["fraction"]}).to_csv(path, index=False)
    code, out, err = cli("diffusion", "fit", path, "--time", "24 h", "--model", "auto")
    assert code == 0, err
    assert "surface-exchange" in out


@pytest.mark.parametrize("columns,match", [
    ({"depth": [0, 1, 2], "fraction": [0.9, 0.5, 0.1]}, "no unit"),
    ({"depth_nm": [0, 1, 2], "fraction": [0.9, 1.5, 0.1]}, "within"),
    ({"depth_nm": [0, 2, 1], "fraction": [0.9, 0.5, 0.1]}, "increase strictly"),
    ({"depth_nm": [0], "fraction": [0.9]}, "at least 3"),
])
def test_fit_bad_tables(cli, tmp_path, columns, match):
    path = tmp_path / "bad.csv"
    pd.DataFrame(columns).to_csv(path, index=False)
    code, _, err = cli("diffusion", "fit", path, "--time", "1h")
    assert code == 2
    assert match in err and "bad.csv" in err


def test_fit_bad_time(cli, tmp_path):
    path = tmp_path / "p.csv"
    pd.DataFrame({"depth_nm": [0, 1, 2, 3], "fraction": [0.9, 0.5, 0.2, 0.1]}).to_csv(path, index=False)
    code, _, err = cli("diffusion", "fit", path, "--time", "0s")
    assert code == 2 and "positive" in err
    code, _, err = cli("diffusion", "fit", path, "--time", "24")  # 24 s or 24 h? D would change 3600-fold
    assert code == 2 and "unit" in err
    code, _, err = cli("diffusion", "fit", path, "--time", "3 parsecs")
    assert code == 2


def test_parse_time():
    assert parse_time("24h") == 86400
    assert parse_time("59 h") == 59 * 3600
    assert parse_time("90") == 90
    with pytest.raises(ValidationError):
        parse_time("-1 h")
    with pytest.raises(UnitError):
        parse_time("5 nm")


def test_arrhenius_cli(cli, tmp_path):
    from ionscope.diffusion.transport import K_B_EV

    T_C = np.array([25.0, 50, 75, 100, 125])
    D = 6e-13 * np.exp(-0.58 / K_B_EV * (1 / (T_C + 273.15) - 1 / 298.15))
    path = tmp_path / "a.csv"
    pd.DataFrame({"T_C": T_C, "D_cm2_s": D, "D_err_cm2_s": 0.05 * D}).to_csv(path, index=False)
    code, out, err = cli("diffusion", "arrhenius", path, "--json")
    assert code == 0, err
    res = json.loads(out)["results"]
    assert res["Ea"]["value"] == pytest.approx(0.58, rel=1e-9) and res["Ea"]["unit"] == "eV"
    assert res["D0"]["unit"] == "cm^2/s" and res["D0"]["uncertainty"] > 0
    assert res["chi2_red_limit"] == pytest.approx(1 + 3 * np.sqrt(2 / 3)) and res["birge_ratio"] == 1.0
    code, text, err = cli("diffusion", "arrhenius", path)
    assert code == 0 and "χ²_red" in text and "poor fit" not in text and not err.strip()
    bad = tmp_path / "k.csv"
    pd.DataFrame({"T_K": T_C, "D_cm2_s": D}).to_csv(bad, index=False)
    code, _, err = cli("diffusion", "arrhenius", bad)
    assert code == 2 and "°C" in err
    nounit = tmp_path / "n.csv"
    pd.DataFrame({"T": T_C, "D_cm2_s": D}).to_csv(nounit, index=False)
    code, _, err = cli("diffusion", "arrhenius", nounit)
    assert code == 2 and "no unit" in err


def test_arrhenius_cli_poor_fit(cli, tmp_path):
    """Five points off one line by ±30 % with 5 % errors: χ²_red far above 1 + 3√(2/3), so the text
    says poor fit with the inflation factor, the warning goes to stderr and the JSON carries both."""
    from ionscope.diffusion.transport import K_B_EV

    T_K = np.array([300.0, 330, 360, 390, 420])
    D = 1e-3 * np.exp(-0.6 / (K_B_EV * T_K)) * np.array([1.3, 0.7, 1.3, 0.7, 1.3])
    path = tmp_path / "scatter.csv"
    pd.DataFrame({"T_K": T_K, "D_cm2_s": D, "D_err_cm2_s": 0.05 * D}).to_csv(path, index=False)
    code, out, err = cli("diffusion", "arrhenius", path, "--json")
    assert code == 0, err
    env = json.loads(out)
    res = env["results"]
    assert res["chi2_red"] > res["chi2_red_limit"] and res["birge_ratio"] == pytest.approx(np.sqrt(res["chi2_red"]))
    assert any("poor Arrhenius fit" in w for w in env["warnings"])
    code, text, err = cli("diffusion", "arrhenius", path)
    assert code == 0 and "poor fit, uncertainties ×" in text and "poor Arrhenius fit" in err
    assert "poor Arrhenius fit" not in text


def test_haven_cli(cli):
    code, out, err = cli("diffusion", "haven", "--dstar", "6e-13", "--sigma", "3e-7", "--n", "2.4e22", "--T", "298.15",
                         "--json")
    assert code == 0, err
    res = json.loads(out)["results"]
    Ds = 1.380649e-23 * 298.15 * 3e-7 / (2.4e22 * 1.602176634e-19 ** 2)
    assert res["D_sigma"]["value"] == pytest.approx(Ds)
    assert res["haven_ratio"] == pytest.approx(6e-13 / Ds)
    code, _, err = cli("diffusion", "haven", "--dstar", "6e-13", "--sigma", "3e-7", "--n", "2.4e22", "--T", "25")
    assert code == 2 and "°C" in err


def test_leclaire_cli(cli, tmp_path):
    from scipy.special import erfc

    x = np.linspace(5, 15000, 300)
    c = 0.5 * erfc(x / 200.0) + 0.02 * np.exp(-2.8e4 * (x * 1e-7) ** 1.2)
    path = tmp_path / "gb.csv"
    pd.DataFrame({"depth_nm": x, "fraction": c}).to_csv(path, index=False)
    code, out, err = cli("diffusion", "leclaire", path, "--time", "1e4s", "--d-bulk", "1e-14", "--json")
    assert code == 0, err
    res = json.loads(out)["results"]
    assert res["delta_Dgb"]["value"] == pytest.approx(1.322 * 1e-9 * 2.8e4 ** (-5 / 3), rel=1e-3)
    assert res["beta"] > 10 and res["regime"] == "B"


@pytest.mark.slow
def test_map_command_writes_store_figure_and_json(cli, tmp_path):
    from ionscope.synth.diffusion import isotope_exchange_cube

    cube, truth = isotope_exchange_cube((80, 4, 5), seed=6, k_range=(2e-9, 6e-9), total_counts=1e4)
    src = ionscope.save(cube, tmp_path / "cube.zarr")
    out, fig = tmp_path / "D.zarr", tmp_path / "D.png"
    code, text, err = cli("diffusion", "map", src, "--isotopes", "^18O-,^16O-", "--time", "1h", "--out", out,
                          "--figure", fig, "--json")
    assert code == 0, err
    doc = json.loads(text)
    assert doc["kind"] == "diffusion.map" and doc["results"]["pixels_fitted"] == 20
    maps = ionscope.read(out)
    for var in ("D", "D_uncertainty", "k", "k_uncertainty", "chi2_red"):
        assert maps[var].shape == (4, 5)
    assert maps["D"].attrs["units"] == "cm^2/s" and fig.stat().st_size > 0
    assert np.median(np.abs(maps["D"].values / truth.truth["D"] - 1)) < 0.1


@pytest.mark.parametrize("args, message", [
    (["--isotopes", "^17O-,^16O-", "--time", "1h"], "'^17O-' is not in the data"),
    (["--isotopes", "^18O-,^16O-", "--time", "3600"], "has no unit"),
    (["--isotopes", "^18O-", "--time", "1h"], "two names"),
])
def test_map_command_bad_input(cli, tmp_path, args, message):
    from ionscope.synth.diffusion import isotope_exchange_cube

    src = ionscope.save(isotope_exchange_cube((10, 2, 2), seed=1)[0], tmp_path / "cube.zarr")
    code, _, err = cli("diffusion", "map", src, *args, "--out", tmp_path / "D.zarr")
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_fraction_command_background_and_normalised(cli, tmp_path, profile):
    da, _ = profile
    path = ionscope.save(da, tmp_path / "p.zarr")
    code, out, err = cli("diffusion", "fraction", path, "--isotopes", "^6Li+,^7Li+", "--json")
    assert code == 0, err
    res = json.loads(out)["results"]
    assert res["isotopes"] == ["Li6", "Li7"] and res["background"]["value"] == pytest.approx(0.0759)
    f = np.array(res["fraction"]["value"])
    a, b = da.sel(peak="Li6").values, da.sel(peak="Li7").values
    np.testing.assert_allclose(f, a / (a + b))
    np.testing.assert_allclose(res["normalised_fraction"]["value"], (f - 0.0759) / (1 - 0.0759))
    # the profile reaches natural abundance at depth: the deep fraction agrees with it within 3σ
    deep = res["deep_fraction"]
    assert abs(deep["value"] - 0.0759) < 3 * deep["uncertainty"]


def test_fraction_command_dead_time_lowers_the_tracer_fraction(cli, tmp_path):
    # with dead time the abundant isotope saturates more: the corrected tracer fraction is lower
    path = tmp_path / "c.csv"
    pd.DataFrame({"depth_nm": [0.0, 10.0, 20.0], "Li6": [100.0, 80.0, 60.0],
                  "Li7": [900.0, 920.0, 940.0]}).to_csv(path, index=False)
    code, out, err = cli("diffusion", "fraction", path, "--isotopes", "Li6,Li7", "--shots", "2000", "--json")
    assert code == 0, err
    f = np.array(json.loads(out)["results"]["fraction"]["value"])
    assert np.all(f < np.array([0.1, 0.08, 0.06]))


@pytest.fixture(scope="module")
def gb_csv(tmp_path_factory):
    from ionscope.synth.diffusion import grain_boundary_profile

    da, _ = grain_boundary_profile(D_bulk=1e-14, D_gb=1e-9, time_s=1e4, max_depth_nm=12000, n_points=60, seed=1)
    path = tmp_path_factory.mktemp("gb") / "gb.csv"
    pd.DataFrame({"depth_nm": da.depth.values, "Li6": da.sel(peak="Li6").values,
                  "Li7": da.sel(peak="Li7").values}).to_csv(path, index=False)
    return path


@pytest.mark.slow
def test_gb_command_2d_beside_le_claire(cli, gb_csv):
    code, out, err = cli("diffusion", "gb", gb_csv, "--time", "1e4 s", "--dbulk", "1e-14", "--grain-size", "4um",
                         "--isotopes", "Li6,Li7", "--json")
    assert code == 0, err
    res = json.loads(out)["results"]
    # δ = 0.5 nm, D_gb = 1e-9 cm²/s: δD_gb = 5e-17 cm³/s; 1e7 counts per point make the fit ≈ 1 % precise
    assert res["delta_Dgb"]["value"] == pytest.approx(5e-17, rel=0.1)
    assert res["delta_Dgb"]["unit"] == "cm^3/s" and res["regime"] == "B" and res["le_claire_holds"]
    assert res["le_claire"]["delta_Dgb"]["value"] == pytest.approx(5e-17, rel=0.2)


def test_gb_command_grain_size_needs_unit(cli, gb_csv):
    code, _, err = cli("diffusion", "gb", gb_csv, "--time", "1e4s", "--dbulk", "1e-14", "--grain-size", "4",
                       "--isotopes", "Li6,Li7")
    assert code == 2 and "--grain-size" in err
