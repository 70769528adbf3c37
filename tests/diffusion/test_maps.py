"""Per-pixel D maps: recovery and uncertainty calibration on a synthetic cube with a D gradient."""

import numpy as np
import pytest

from ionscope.diffusion.maps import diffusion_map
from ionscope.model.errors import ValidationError
from ionscope.synth.diffusion import isotope_map_cube


def test_map_recovers_D_with_calibrated_errors():
    cube, truth = isotope_map_cube((120, 24, 24), seed=0)
    ds = diffusion_map(cube["tracer"], cube["other"], cube["depth_nm"], 3600.0, block_pixels=200)
    D = truth.truth["D"]
    z = (ds["D"].values - D) / ds["D_err"].values
    # 400 counts per point: each pixel's D is known to a few %; |z| < 2 for ≈ 95 % of pixels
    assert np.mean(np.abs(z) < 2) > 0.9
    assert np.median(np.abs(ds["D"].values / D - 1)) < 0.05
    assert ds["D"].attrs["units"] == "cm^2/s" and ds.x.attrs["units"] == "µm"


@pytest.mark.slow
def test_map_surface_exchange_noise_free():
    from ionscope.diffusion.models import scaled_profile, surface_exchange_profile

    depth = np.arange(150) * 4.0
    D, k, t = 1e-14, 3e-10, 3600.0
    frac = scaled_profile(surface_exchange_profile(depth * 1e-7, D, k, t), 0.95, 0.0759)
    total = 1e9
    a = np.broadcast_to((total * frac)[:, None, None], (150, 3, 4))
    b = np.broadcast_to((total * (1 - frac))[:, None, None], (150, 3, 4))
    ds = diffusion_map(a, b, depth, t, model="surface-exchange")
    np.testing.assert_allclose(ds["D"].values, D, rtol=1e-3)
    np.testing.assert_allclose(ds["k"].values, k, rtol=1e-3)


def test_map_bad_input():
    a = np.ones((5, 2, 2))
    with pytest.raises(ValidationError, match="increasing"):
        diffusion_map(a, a, [0, 1, 1, 2, 3], 10.0)
    with pytest.raises(ValidationError, match="same shape"):
        diffusion_map(a, np.ones((5, 2, 3)), np.arange(5), 10.0)


def test_erfcx_table_matches_scipy():
    from scipy.special import erfcx

    from ionscope.diffusion._lm_kernel import erfcx_nb, erfcx_table

    g, dg = erfcx_table()
    z = np.concatenate([np.linspace(0, 10, 20001), np.logspace(1, 8, 2001)])
    # cubic Hermite error ∝ h⁴ with h = 1/4096: far below 1e-9 relative
    assert np.max(np.abs(erfcx_nb(z, g, dg) / erfcx(z) - 1)) < 1e-9


def test_map_agrees_with_curve_fit():
    """Same minimum as a per-pixel scipy curve_fit of the same model and weights (both models)."""
    from scipy.optimize import curve_fit
    from scipy.special import erfc, erfcx

    from ionscope.diffusion.fraction import isotope_fraction

    cube, truth = isotope_map_cube((120, 2, 3), seed=3, k_range=(2e-9, 6e-9), total_counts=1e4)
    t = 3600.0
    x = cube["depth_nm"] * 1e-7
    ds = diffusion_map(cube["tracer"], cube["other"], cube["depth_nm"], t, model="surface-exchange")

    def model(xx, logD, logk, cs, c0):
        D, k = 10.0 ** logD, 10.0 ** logk
        u = xx / (2 * np.sqrt(D * t))
        return c0 + (cs - c0) * np.exp(-u * u) * (erfcx(u) - erfcx(u + k * np.sqrt(t / D)))

    def semi(xx, logD, cs, c0):
        return c0 + (cs - c0) * erfc(xx / (2 * np.sqrt(10.0 ** logD * t)))

    ds3 = diffusion_map(cube["tracer"], cube["other"], cube["depth_nm"], t)
    for iy, ix in [(0, 0), (1, 2)]:
        iso = isotope_fraction(cube["tracer"][:, iy, ix], cube["other"][:, iy, ix])
        f, s = iso.fraction, iso.uncertainty
        p0 = (np.log10(truth.truth["D"][iy, ix]), np.log10(truth.truth["k"][iy, ix]), 0.9, 0.1)
        popt, pcov = curve_fit(model, x, f, p0=p0, sigma=s, absolute_sigma=True)
        assert abs(ds["D"].values[iy, ix] / 10 ** popt[0] - 1) < 2e-3
        assert abs(ds["k"].values[iy, ix] / 10 ** popt[1] - 1) < 5e-3
        D_err = 10 ** popt[0] * np.log(10) * np.sqrt(pcov[0, 0])
        assert abs(ds["D_err"].values[iy, ix] / D_err - 1) < 0.02
        p3, _ = curve_fit(semi, x, f, p0=(p0[0], 0.9, 0.1), sigma=s, absolute_sigma=True)
        assert abs(ds3["D"].values[iy, ix] / 10 ** p3[0] - 1) < 2e-3


def test_map_cube_recovers_D_and_k_field():
    """Known per-pixel D*, k fields at 10⁴ counts per point.

    The Poisson σ of each fraction is √(f(1−f)/N) ≤ 0.005; the fit's own 1σ of D is then ≈ 2 % per pixel
    (checked below via z), so the median |ΔD|/D is expected near 0.67 × 2 % ≈ 1.4 %; 5 % leaves room
    for the spread of σ over the field without admitting a biased fit. k is determined to ≈ 20 %.
    """
    from ionscope.diffusion.maps import map_cube
    from ionscope.synth.diffusion import isotope_exchange_cube

    cube, truth = isotope_exchange_cube((120, 10, 10), seed=4, k_range=(1e-9, 1e-8), total_counts=1e4)
    res = map_cube(cube, ("18O-", "^16O-"), 3600.0)
    ds = res.maps
    D, k = truth.truth["D"], truth.truth["k"]
    assert np.median(np.abs(ds["D"].values / D - 1)) < 0.05
    zD = (ds["D"].values - D) / ds["D_uncertainty"].values
    zk = (ds["k"].values - k) / ds["k_uncertainty"].values
    assert np.mean(np.abs(zD) < 2) > 0.85 and np.mean(np.abs(zk) < 2) > 0.85
    assert res["D"].unit == "cm^2/s" and res["k"].unit == "cm/s" and res["pixels_fitted"] == 100
    assert res["D"].value == pytest.approx(np.median(ds["D"].values))


def test_map_cube_bad_input():
    from ionscope.diffusion.maps import map_cube
    from ionscope.synth.diffusion import isotope_exchange_cube

    cube, _ = isotope_exchange_cube((20, 3, 3), seed=1, depth_axis=False)
    with pytest.raises(ValidationError, match="no depth axis"):
        map_cube(cube, ("^18O-", "^16O-"), 3600.0)
    with pytest.raises(ValidationError, match="'Li6' is not in the data"):
        map_cube(cube, ("Li6", "^16O-"), 3600.0, rate_nm_s=0.5)
    with pytest.raises(ValidationError, match="3-D depth profile"):
        map_cube(cube.isel(scan=0), ("^18O-", "^16O-"), 3600.0)


def test_map_summary_drops_the_maps_and_adds_output_and_command_time(tmp_path):
    import xarray as xr

    from ionscope.diffusion.maps import map_summary
    from ionscope.model.result import Quantity, Result

    full = Result("diffusion.map", {"maps": xr.Dataset(), "D": Quantity(1e-12, 1e-13, "cm^2/s"), "pixels_fitted": 4},
                  ("w",), {"function": "f"})
    res = map_summary(full, tmp_path / "m.zarr", 2.5)
    assert set(res.values) == {"D", "pixels_fitted", "output", "command_time"}
    assert res["output"] == str(tmp_path / "m.zarr") and res["D"] is full["D"]
    assert res["command_time"].value == 2.5 and res["command_time"].unit == "s"
    assert res["command_time"].uncertainty is None and res.kind == full.kind and res.warnings == ("w",)
    assert res.provenance == full.provenance and "maps" in full.values  # the input is left as it was
