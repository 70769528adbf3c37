"""Normalisation, ratios, smoothing, MRI kernel, artefact flags, bad input and 3D cubes."""

from __future__ import annotations

import numpy as np
import pytest

from ionscope.depth import (
    check_artefacts,
    find_layers,
    interface_depth_map,
    isotope_fraction,
    layer_maps,
    mri_kernel,
    mri_profile,
    normalise,
    ratio,
    roi_profile,
    side_view,
    smooth,
)
from ionscope.model.arrays import make_depth_profile
from ionscope.model.errors import ValidationError
from ionscope.synth.depth import layered_cube, layered_stack


def _profile(data, peaks, t=None, **kw):
    data = np.asarray(data, dtype=float)
    t = np.arange(data.shape[0], dtype=float) if t is None else t
    return make_depth_profile(data, peaks, sputter_time_s=t, **kw)


def test_normalisations():
    data = np.array([[10.0, 2.0, 8.0], [20.0, 5.0, 15.0], [40.0, 10.0, 30.0], [40.0, 20.0, 20.0]])
    p = _profile(data, ["total", "A+", "B+"])
    np.testing.assert_allclose(normalise(p, "total").values[:, 1], data[:, 1] / data[:, 0])
    np.testing.assert_allclose(normalise(p, "reference", reference="B+").values[:, 1], data[:, 1] / data[:, 2])
    np.testing.assert_allclose(normalise(p, "max").values[:, 1], data[:, 1] / 20.0)  # scan 0 not the reference
    np.testing.assert_allclose(normalise(p, "plateau", plateau=(2, 3)).values[:, 2], data[:, 2] / 25.0)
    with pytest.raises(ValidationError, match="unknown normalisation"):
        normalise(p, "median")


def test_isotope_fraction_removes_natural_abundance():
    n = 200
    rng = np.random.default_rng(1)
    # 18O tracer excess of 0.10 over natural 0.2 %: measured fraction 0.002 + 0.998·0.10.
    f_true = 0.002 + 0.998 * 0.10
    total = 5000
    minor = rng.binomial(total, f_true, n)
    p = _profile(np.stack([minor, total - minor], 1), ["^18O-", "O-"])
    fr = isotope_fraction(p, "^18O-", "O-", natural_fraction=0.002)
    f, u = fr.fraction, fr["uncertainty"]
    # Mean of 200 scans: standard error ≈ u/√200 ≈ 3e-4; allow 4 standard errors.
    assert abs(f.mean() - 0.10) < 4 * u.mean() / np.sqrt(n)
    rr = ratio(p, "^18O-", "O-")
    r, ur = rr.ratio, rr.uncertainty
    assert np.all(ur > 0) and np.allclose(r, minor / (total - minor))


def test_smoothing_keeps_peak_position():
    x = np.arange(200.0)
    peak = 1000 * np.exp(-0.5 * ((x - 83.3) / 6) ** 2) + 10
    counts = np.random.default_rng(0).poisson(peak)
    p = _profile(np.stack([counts, counts], 1), ["A-", "B-"])
    s = smooth(p, 11).values[:, 0]
    # Savitzky–Golay keeps the peak within one scan of the true centre (Poisson noise of ~30 counts at the top).
    assert abs(int(np.argmax(s)) - 83.3) <= 1.0
    with pytest.raises(ValidationError):
        smooth(p, 4)


def test_mri_kernel_is_normalised_and_asymmetric():
    kernel = mri_kernel(0.1, 3.0, 1.0, 1.0)
    u, g = kernel.offsets, kernel["g"]
    assert g.sum() == pytest.approx(1.0)
    # Mean offset of the resolution function: mixing contributes 0 (−w + w), information depth −λ.
    assert float((u * g).sum()) == pytest.approx(-1.0, abs=0.05)
    z = np.arange(0, 100, 0.1)
    step = (z >= 50).astype(float)
    m = mri_profile(z, step, 3.0, 1.0, 1.0)
    assert m[0] == pytest.approx(0, abs=1e-9) and m[-1] == pytest.approx(1, abs=1e-9)


def test_bad_profiles_give_specific_errors():
    data = np.abs(np.random.default_rng(0).normal(100, 10, (30, 3)))
    ok = _profile(data, ["A-", "B-", "C-"])
    with pytest.raises(ValidationError, match="not among the .* columns of the profile.*did you mean"):
        find_layers(ok, ["A-", "Bx-"])
    zero = data.copy()
    zero[:, 2] = 0
    with pytest.raises(ValidationError, match="zero in every scan"):
        find_layers(_profile(zero, ["A-", "B-", "C-"]), ["A-", "C-"])
    t = np.arange(30.0)
    t[10] = 5.0
    with pytest.raises(ValidationError, match="not monotonic"):
        find_layers(_profile(data, ["A-", "B-", "C-"], t=t), ["A-", "B-"])
    with pytest.raises(ValidationError, match="no 'dose' axis"):
        find_layers(ok, ["A-", "B-"], axis="dose")


def test_artefact_flags():
    profile, truth = layered_stack(transient=8.0, matrix_factors=(1, 4, 1, 0.2, 1), seed=3)
    codes = check_artefacts(profile)["codes"]
    assert "surface_transient" in codes and "total_ion_drift" in codes
    # LiTFSI-derived LiF under a monatomic Ar⁺ beam: product peaks below the precursor.
    x = np.arange(60.0)
    prec = 500 * np.exp(-0.5 * ((x - 10) / 4) ** 2) + 5
    prod = 500 * np.exp(-0.5 * ((x - 40) / 6) ** 2) + 5
    p = _profile(np.stack([prec, prod, prec + prod], 1), ["C_2F_6NO_4S_2-", "LiF_2-", "total"],
                 acquisition={"sputter_ion": "Ar+"})
    res = check_artefacts(p)
    (flag,) = [f for f in res["flags"] if f["code"] == "beam_induced_stratigraphy"]
    assert flag["detail"]["product_deeper_than_precursor"]
    p_cluster = _profile(np.stack([prec, prod, prec + prod], 1), ["C_2F_6NO_4S_2-", "LiF_2-", "total"],
                         acquisition={"sputter_ion": "Ar1500+"})
    assert "beam_induced_stratigraphy" not in check_artefacts(p_cluster)["codes"]
    frames = _profile(np.ones((20, 1)) * 50, ["A-"])
    frames = frames.assign_coords(data_point=("scan", np.arange(1, 21)))
    assert "frames_not_seconds" in check_artefacts(frames)["codes"]


def test_cube_interface_map_matches_truth():
    cube, truth = layered_cube((32, 32), 120, seed=1)
    fall = interface_depth_map(cube, "Li2O-", axis="scan", chunk_yx=16)
    rise = interface_depth_map(cube, "PS3-", falling=False, axis="scan", chunk_yx=16)
    true = truth.truth["interface_scan"]
    # Per pixel: ~100 counts at the 50 % point (σ ≈ 10 %), 5-scan smoothing, erf edge of σ = 4 scans
    # (slope ≈ 0.1 per scan) → σ_pos ≈ 0.45 scan; the 5th–95th percentile scaling adds < 0.3 scan bias.
    for m in (fall, rise):
        err = m.values - true
        assert np.isfinite(err).all()
        assert abs(err.mean()) < 0.4 and err.std() < 0.6
    lazy = cube.chunk({"scan": -1, "y": 8, "x": 8, "peak": 1})
    np.testing.assert_allclose(interface_depth_map(lazy, "Li2O-", axis="scan", chunk_yx=8).values, fall.values,
                               atol=1e-4)


def test_cube_views_and_roi():
    cube, _ = layered_cube((16, 20), 60, interface_scan=30, seed=2)
    xz = side_view(cube, "PS3-", plane="xz")
    assert xz.dims == ("scan", "x") and xz.shape == (60, 20)
    np.testing.assert_allclose(xz.values, cube.sel(peak="PS3-").sum("y").values)
    maps = layer_maps(cube, [(2, 15), (45, 60)]).maps
    assert maps[0].dims == ("y", "x", "peak")
    assert float(maps[0].sel(peak="Li2O-").mean()) > 5 * float(maps[1].sel(peak="Li2O-").mean())
    mask = np.zeros((16, 20), bool)
    mask[:4, :5] = True
    roi = roi_profile(cube, mask)
    np.testing.assert_allclose(roi.values, cube.values[:, :4, :5, :].sum(axis=(1, 2)))
    with pytest.raises(ValidationError):
        roi_profile(cube, np.zeros((16, 20), bool))
    with pytest.raises(ValidationError):
        layer_maps(cube, [(50, 70)])
