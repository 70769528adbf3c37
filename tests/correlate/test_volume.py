"""3-D correlative registration (FIB-SEM volume ↔ depth-calibrated SIMS cube) and label-volume transfer."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import stats

from ionscope.correlate.pipeline3d import register_volume_pair
from ionscope.correlate.transfer3d import transfer_volume
from ionscope.correlate.transform import load_transform
from ionscope.correlate.volume import (
    Grid3,
    NoOverlapError,
    cube_grid,
    map_xyz,
    matrix_from_params,
    params_from_matrix,
    register_volumes,
    sims_voxel_in_fixed,
    volume_grid,
)
from ionscope.model.errors import ValidationError
from ionscope.synth.correlative import PHASES, correlative_volume_pair, volume_labels

VOXEL = (0.04, 0.05, 0.05)


def true_error_voxels(matrix: np.ndarray, truth_matrix: np.ndarray, mgrid: Grid3, fgrid: Grid3) -> float:
    """RMS error of the mapped SIMS voxel centres that fall in the volume, per axis in SIMS voxels (as
    seen in the FIB-SEM frame)."""
    pts = mgrid.centres()
    true = map_xyz(truth_matrix, pts)
    ok = fgrid.inside(true)
    err = map_xyz(matrix, pts[ok]) - true[ok]
    vox = sims_voxel_in_fixed(params_from_matrix(truth_matrix, mgrid.centre_xyz), mgrid)
    return float(np.sqrt(np.mean(np.sum((err / vox) ** 2, axis=1))))


def test_parameters_and_matrix_round_trip():
    centre = np.array([3.0, 2.0, 0.6])
    p = np.array([0.2, 1.03, 0.98, 1.2, 0.4, -0.3, 0.1])
    m = matrix_from_params(p, centre)
    assert np.allclose(params_from_matrix(m, centre), p)
    assert np.allclose(map_xyz(m, centre[None]), centre + p[4:])  # the centre moves by the shifts
    assert m[2, 2] == pytest.approx(1.2) and np.allclose(m[2, :2], 0) and np.allclose(m[:2, 2], 0)


def test_grids_refuse_missing_voxel_sizes():
    from ionscope.model.arrays import make_volume

    vol = make_volume(np.zeros((4, 5, 6), np.float32), 1.0, attrs={"pixel_size_source": "unknown: 1 µm assumed",
                                                                     "slice_thickness_source": "assumed equal"})
    with pytest.raises(ValidationError, match="--fixed-pixel-size"):
        volume_grid(vol, "fixed")
    with pytest.raises(ValidationError, match="--fixed-slice-thickness"):
        volume_grid(vol, "fixed", pixel_size_um=0.01)
    g = volume_grid(vol, "fixed", pixel_size_um=0.01, slice_thickness_um=0.02)
    assert g.voxel_um == (0.02, 0.01, 0.01) and g.shape == (4, 5, 6)
    _, cube, _ = correlative_volume_pair((16, 40, 40), moving_shape=(6, 8, 8), seed=0)
    no_depth = cube.drop_vars("depth")
    with pytest.raises(ValidationError, match="--rate"):
        cube_grid(no_depth)
    assert cube_grid(no_depth, rate_nm_s=20.0).voxel_um[0] == pytest.approx(0.02)
    uneven = cube.assign_coords(depth=("scan", np.cumsum(np.arange(1, 7.0)) * 10))
    with pytest.raises(ValidationError, match="not uniform"):
        cube_grid(uneven)


def test_mismatched_dimensions_are_refused():
    from ionscope.correlate.pipeline3d import is_volume_pair

    vol, cube, _ = correlative_volume_pair((16, 40, 40), moving_shape=(6, 8, 8), seed=0)
    image = cube.sum("scan")
    with pytest.raises(ValidationError, match="MOVING is 2-D"):
        is_volume_pair(vol, image)
    with pytest.raises(ValidationError, match="MOVING is a volume"):
        is_volume_pair(vol, vol)
    assert is_volume_pair(vol, cube) and not is_volume_pair(image.isel(peak=0), cube)


def test_a_start_off_the_volume_is_no_overlap():
    vol, cube, truth = correlative_volume_pair((16, 40, 40), moving_shape=(6, 8, 8), seed=0)
    fg, mg = volume_grid(vol, "fixed"), cube_grid(cube)
    far = truth.truth["matrix"].copy()
    far[:3, 3] += [50.0, 0.0, 0.0]
    with pytest.raises(NoOverlapError, match="do not overlap"):
        register_volumes(vol.values, fg, cube.sum("peak").values, mg, initial=far)


def test_per_scan_unmixing_is_unbiased_with_exact_fractions():
    """With the simulated (exact) phase fractions as weights, every scan's per-phase means agree with
    the yields within their Poisson errors: χ² of the (phase, scan, species) z-scores below its
    99.9 % point."""
    from ionscope.correlate.transfer3d import _solve

    _, cube, truth = correlative_volume_pair(seed=4)
    data = cube.transpose("scan", "y", "x", "peak").values
    names = [str(p) for p in cube.peak.values]
    expected = np.array([[truth.truth["expected"][p][s] for s in names] for p in PHASES])
    fr = truth.truth["fractions"]
    z = np.array([(lambda m, s: (m - expected) / s)(*_solve(fr[i].reshape(-1, 3), data[i].reshape(-1, 3), 3))
                  for i in range(data.shape[0])])
    assert np.all(np.isfinite(z))
    assert np.sum(z ** 2) < stats.chi2.ppf(0.999, z.size)


def test_transfer_with_the_true_transform_gives_the_yields():
    """With the exact transform and the voxelised phase volume, the depth-integrated per-phase means
    agree with the yields within 4σ plus the voxelisation bias: label boundaries are known to half a
    FIB-SEM voxel (1/8 of a SIMS pixel), which moves a phase's weight by ~1 % and so its mean by ~1 %
    of the largest yield contrast (50 counts → 0.5 counts)."""
    vol, cube, truth = correlative_volume_pair(seed=4)
    fg, mg = volume_grid(vol, "fixed"), cube_grid(cube)
    data = cube.transpose("scan", "y", "x", "peak").values
    tr = transfer_volume(truth.truth["phase"], fg, data, mg, truth.truth["matrix"])
    names = [str(p) for p in cube.peak.values]
    expected = np.array([[truth.truth["expected"][p][s] for s in names] for p in PHASES])
    assert np.all(np.abs(tr.mean - expected) < 4 * tr.sigma + 0.01 * expected.max())
    assert np.isfinite(tr.mean_z).mean() > 0.9
    # depth of each scan in the FIB-SEM frame: the true depth scale × nominal step
    assert np.allclose(np.diff(tr.depth_um), truth.parameters["depth_scale"] * mg.voxel_um[0])


@pytest.fixture(scope="module")
def registered3d():
    vol, cube, truth = correlative_volume_pair(seed=1)
    reg = register_volume_pair(vol, cube)
    ct, result = reg["transform"], reg["summary"]
    return vol, cube, truth, ct, result


@pytest.mark.slow
def test_registration_recovers_the_transform_and_the_depth_scale(registered3d):
    """TRE ≤ 0.5 SIMS voxel against the exact transform; the depth scale within 3 σ of the truth (σ from
    the metric's curvature, the Cramér–Rao bound of the maximum-likelihood reading of mutual
    information: 3σ is the 99.7 % range of a Gaussian estimator) and σ itself a few per cent at most
    (≈ 40 scans × 900 pixels of 5–50 counts)."""
    vol, cube, truth, ct, result = registered3d
    fg, mg = ct.fixed.grid, ct.moving.grid
    assert true_error_voxels(ct.matrix, truth.truth["matrix"], mg, fg) <= 0.5
    dz = result.values["depth_scale"]
    assert 0 < dz.uncertainty < 0.03
    assert abs(dz.value - truth.truth["depth_scale"]) <= 3 * dz.uncertainty
    assert result.values["tre_voxels"].value < 0.5
    assert any("sputter-rate calibration is off" in w for w in result.warnings)


@pytest.mark.slow
def test_transfer_after_registration_and_the_transform_file(registered3d, tmp_path):
    vol, cube, truth, ct, _ = registered3d
    path = ct.save(tmp_path / "t3.json")
    doc = json.loads(path.read_text())
    assert doc["ndim"] == 3 and np.shape(doc["matrix"]) == (4, 4) and doc["model"] == "depth-scaled"
    assert doc["fixed"]["voxel_size_um"] == pytest.approx(list(VOXEL))
    assert doc["depth_scale"]["uncertainty"] > 0 and "z_f" in doc["convention"]
    back = load_transform(path)
    assert back.ndim == 3 and np.allclose(back.matrix, ct.matrix)
    from ionscope.correlate.pipeline import transfer

    labels = volume_labels(truth.truth["phase"], VOXEL)
    outcome = transfer(labels, cube, back, draws=4)
    res, table = outcome["summary"], outcome["table"]
    names = [str(p) for p in cube.peak.values]
    for phase in PHASES:
        for s in names:
            q = res.values["labels"][phase]["species"][s]["mean_per_voxel"]
            # Poisson + registration σ, plus the voxelised labels' bias (1 % of 50 counts: see above)
            assert abs(q.value - truth.truth["expected"][phase][s]) < 4 * q.uncertainty + 0.5
    assert len(table["rows"]) == len(PHASES) * len(names) * cube.sizes["scan"]
    for phase in PHASES:  # the CSV's per-scan label volumes add up to the label's volume
        scans = [r["volume_um3"] for r in table["rows"] if r["label"] == phase and r["channel"] == names[0]]
        assert sum(scans) == pytest.approx(res.values["labels"][phase]["volume"].value, rel=1e-9)
    assert res.values["depth"].uncertainty[0] > 0


@pytest.mark.slow
def test_cli_3d_register_transfer_and_bad_input(cli, tmp_path):
    import tifffile

    import ionscope

    vol, cube, truth = correlative_volume_pair(seed=2)
    ionscope.save(vol, tmp_path / "fib.zarr", force=True)
    ionscope.save(cube, tmp_path / "cube.zarr", force=True)
    ionscope.save(volume_labels(truth.truth["phase"], VOXEL), tmp_path / "labels.zarr", force=True)
    tifffile.imwrite(tmp_path / "fib.tif", vol.values)
    out = tmp_path / "t.json"
    code, text, err = cli("correlate", "register", tmp_path / "fib.zarr", tmp_path / "cube.zarr", "--out", out,
                          "--json")
    assert code == 0, err
    res = json.loads(text)["results"]
    assert res["model"] == "depth-scaled" and abs(res["depth_scale"]["value"] - 1.15) < 0.05
    code, text, err = cli("correlate", "transfer", tmp_path / "labels.zarr", tmp_path / "cube.zarr", "--transform",
                          out, "--csv", tmp_path / "t.csv", "--json")
    assert code == 0, err
    assert set(json.loads(text)["results"]["labels"]) == set(PHASES)
    for args, words in (
        ((tmp_path / "fib.tif", tmp_path / "cube.zarr"), ("fib.tif", "--fixed-pixel-size")),
        ((tmp_path / "fib.tif", tmp_path / "cube.zarr", "--fixed-pixel-size", "50nm"), ("--fixed-slice-thickness",)),
        ((tmp_path / "fib.zarr", tmp_path / "labels.zarr"), ("MOVING is a volume",)),
        ((tmp_path / "fib.zarr", tmp_path / "cube.zarr", "--rate", "20000nm/s"), ("do not overlap",)),
    ):
        code, _, err = cli("correlate", "register", *args, "--out", tmp_path / "bad.json")
        assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
        assert all(w in err for w in words), err
    code, _, err = cli("correlate", "transfer", tmp_path / "fib.zarr", tmp_path / "cube.zarr", "--transform", out,
                       "--force-pair")
    assert code == 2 and len(err.strip().splitlines()) == 1, err


def test_correlation_volume_of_smoothed_white_noise_is_the_kernel_volume():
    """White noise smoothed by a Gaussian of σ voxels has the integral correlation volume (4πσ²)^{3/2}; the
    estimate from one 40×30×30 field agrees within 10 % (its relative standard error is a few per cent)."""
    from scipy import ndimage

    from ionscope.correlate.volume import correlation_volume

    rng = np.random.default_rng(0)
    for sigma in (0.7, 1.2):
        field = ndimage.gaussian_filter(rng.normal(size=(40, 30, 30)), sigma)
        v = correlation_volume(np.ma.MaskedArray(field, np.zeros(field.shape, bool)))
        assert v == pytest.approx((4 * np.pi * sigma ** 2) ** 1.5, rel=0.1)
    white = rng.normal(size=(20, 20, 20))
    assert correlation_volume(np.ma.MaskedArray(white, np.zeros(white.shape, bool))) < 1.5


#: Seeds of the coverage check: rotation, depth scale and shift drawn per seed (see below).
COVERAGE_SEEDS = range(10)


def _coverage_case(seed: int) -> dict:
    rng = np.random.default_rng(100 + seed)
    return {"rotation_deg": float(rng.uniform(-15, 15)), "depth_scale": float(rng.uniform(0.8, 1.3)),
            "shift_um": tuple(float(v) for v in rng.uniform([-0.8, -0.8, -0.2], [0.8, 0.8, 0.3]))}


@pytest.mark.slow
def test_reported_uncertainty_covers_the_true_error_over_seeds():
    """Honest uncertainty over 10 simulated pairs (rotation ±15°, depth scale 0.8–1.3, shifts up to
    0.8 µm in-plane): for a Gaussian estimator with the reported covariance, the true TRE exceeds twice
    the reported (rms) TRE and |z| of the depth scale exceeds 3 each with probability below 1 %, and the
    rms of the z-scores is 1 (estimated robustly as 1.4826 × median |z|, whose 10-sample estimate lies
    in about 0.4–1.8 with 95 % probability). One seed
    in ten may fail the first two (mutual information has a data-dependent bias of the depth scale that
    no curvature estimate sees), which is also why the rms is estimated robustly.
    """
    ratios, zs = [], []
    for seed in COVERAGE_SEEDS:
        vol, cube, truth = correlative_volume_pair(seed=seed, **_coverage_case(seed))
        reg = register_volume_pair(vol, cube)
        ct, result = reg["transform"], reg["summary"]
        err = true_error_voxels(ct.matrix, truth.truth["matrix"], ct.moving.grid, ct.fixed.grid)
        ratios.append(err / result.values["tre_voxels"].value)
        dz = result.values["depth_scale"]
        zs.append((dz.value - truth.truth["depth_scale"]) / dz.uncertainty)
    ratios, zs = np.array(ratios), np.array(zs)
    assert np.sum(ratios > 2) <= 1, ratios
    assert np.sum(np.abs(zs) > 3) <= 1, zs
    assert 0.4 <= 1.4826 * np.median(np.abs(zs)) <= 1.8, zs
    assert np.median(ratios) > 0.4, ratios  # not grossly over-stated either


def test_resampled_cube_on_the_fibsem_grid():
    """A cube of constant counts resampled with the exact transform: 7 counts wherever the FIB-SEM voxel
    maps into the cube, NaN elsewhere, with one scan per FIB-SEM slice and its z as depth."""
    from ionscope.correlate.pipeline3d import MODEL_3D, resample_cube
    from ionscope.correlate.transform import CorrelativeTransform, ImageRecord

    vol, cube, truth = correlative_volume_pair((16, 40, 40), moving_shape=(6, 8, 8), seed=0)
    flat = cube.copy(data=np.full(cube.shape, 7.0, np.float32))
    fg, mg = volume_grid(vol, "fixed"), cube_grid(cube)
    ct = CorrelativeTransform(truth.truth["matrix"], MODEL_3D, ImageRecord(fg, None, None), ImageRecord(mg, None, None),
                              None, None, "")
    out = resample_cube(flat, ct)
    assert out.dims == ("scan", "y", "x", "peak") and out.shape == (16, 40, 40, 3)
    assert np.allclose(out["depth"].values, 1000 * (fg.origin_um[0] + np.arange(16) * fg.voxel_um[0]))
    inside = mg.inside(map_xyz(np.linalg.inv(truth.truth["matrix"]), fg.centres()))
    finite = np.isfinite(out.values[..., 0]).ravel()
    assert finite.sum() > 0 and np.allclose(out.values[..., 0].ravel()[finite], 7.0, atol=1e-4)
    assert abs(finite.mean() - inside.mean()) < 0.05  # trilinear support: within half a SIMS voxel of the edge
    with pytest.raises(ValidationError, match="2-D"):
        resample_cube(flat, CorrelativeTransform(np.eye(3), "similarity", ImageRecord(fg.plane, None, None),
                                                 ImageRecord(mg.plane, None, None), None, None, ""))


def test_3d_landmark_csv_and_fit(tmp_path):
    """Landmarks with z columns read as (n, 3) pairs; the seven parameters fitted to exact pairs are the
    true ones (a least-squares fit of a model that holds exactly)."""
    import pandas as pd

    from ionscope.correlate.pipeline import read_landmarks
    from ionscope.correlate.volume import fit_landmarks3

    centre = np.array([3.0, 3.0, 0.6])
    p = np.array([0.1, 1.02, 0.99, 1.15, 0.3, -0.2, 0.1])
    mv = np.random.default_rng(0).uniform([0, 0, 0], [6, 6, 1.2], (6, 3))
    fx = map_xyz(matrix_from_params(p, centre), mv)
    cols = ["fixed_x_um", "fixed_y_um", "fixed_z_um", "moving_x_um", "moving_y_um", "moving_z_um"]
    pd.DataFrame(np.hstack([fx, mv]), columns=cols).to_csv(tmp_path / "lm.csv", index=False)
    pairs = read_landmarks(tmp_path / "lm.csv")
    m_read, f_read = pairs["moving"], pairs["fixed"]
    assert m_read.shape == (6, 3) and np.allclose(f_read, fx)
    lm_fit = fit_landmarks3(m_read, f_read, centre)
    fit, rms = lm_fit["params"], lm_fit["rms"]
    assert np.allclose(fit, p, atol=1e-6) and rms < 1e-6
    with pytest.raises(ValidationError, match="at least 4"):
        fit_landmarks3(mv[:3], fx[:3], centre)


@pytest.mark.slow
def test_bootstrap_and_landmark_start_in_3d():
    """``bootstrap`` re-registers Poisson-resampled cubes: a positive bootstrap TRE below a SIMS voxel and
    a depth-scale spread; landmarks near the truth (10 nm noise) start the refinement, which then
    reaches the truth within half a SIMS voxel."""
    vol, cube, truth = correlative_volume_pair((40, 100, 100), seed=3)
    reg = register_volume_pair(vol, cube, bootstrap=4)
    ct, res = reg["transform"], reg["summary"]
    assert 0 < res.values["tre_bootstrap_voxels"].value < 1
    assert res.values["depth_scale_sigma_bootstrap"].value > 0 and ct.extra["bootstrap"] == 4
    mg = cube_grid(cube)
    rng = np.random.default_rng(0)
    pts = mg.centres(4)
    mv = pts[rng.choice(len(pts), 6, replace=False)]
    fx = map_xyz(truth.truth["matrix"], mv) + rng.normal(0, 0.01, (6, 3))
    reg2 = register_volume_pair(vol, cube, landmarks=(mv, fx))
    ct2, res2 = reg2["transform"], reg2["summary"]
    assert res2.values["landmark_residual"].value < 0.05
    assert true_error_voxels(ct2.matrix, truth.truth["matrix"], ct2.moving.grid, ct2.fixed.grid) <= 0.5
