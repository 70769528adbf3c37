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
