"""Label transfer: partial-volume weights and per-phase means against the simulated truth."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from ionscope.correlate.grid import channels_of, grid_of, registration_plane
from ionscope.correlate.register import affine_transform, curvature_tre, register_planes
from ionscope.correlate.transfer import partial_volume_weights, resample_to_fixed, transfer_labels, unmix
from ionscope.synth.correlative import PHASES, correlative_pair


def test_weights_match_the_simulated_area_fractions():
    """With the true transform, the weights from the SEM phase map equal the simulated footprint
    fractions up to the SEM's own pixelation (a boundary moves by ≤ half an SEM pixel: 1/8 of a SIMS
    pixel side at 4×, so a boundary pixel's fraction errs by at most ~0.15)."""
    sem, sims, truth = correlative_pair((192, 192), seed=5, rotation_deg=11.0)
    fg, mg = grid_of(sem, "fixed"), grid_of(sims, "moving")
    tx = affine_transform(truth.truth["matrix"], mg.centre_xy)
    w, cover = partial_volume_weights(truth.truth["phase"], fg, mg, tx, list(PHASES.values()))
    full = cover >= 0.999
    frac = truth.truth["fractions"].reshape(-1, 3)
    assert full.sum() > 0.5 * len(full)
    assert np.allclose(w[full].sum(axis=1), 1.0)
    assert np.abs(w[full] - frac[full]).max() < 0.2
    assert np.abs(w[full] - frac[full]).mean() < 0.02


def test_unmix_is_exact_without_noise():
    rng = np.random.default_rng(1)
    w = rng.dirichlet([1, 1, 1], size=400)
    mu = np.array([[40.0, 5.0], [12.0, 45.0], [6.0, 50.0]])
    mean, sig = unmix(w, w @ mu)
    assert np.allclose(mean, mu)
    assert np.all(sig > 0)


@pytest.mark.parametrize("seed", [11, 12, 13])
@pytest.mark.slow
def test_transferred_phase_means_lie_within_their_uncertainty(seed):
    """After registration, the per-phase means of all species agree with the simulated yields: the
    sum of squared z-scores of the 9 (phase, species) means stays below the 99.9 % point of χ²(9)."""
    sem, sims, truth = correlative_pair((256, 256), seed=seed, rotation_deg=-10.0 + seed % 3 * 8,
                                        shift_um=(2.0, -3.0))
    fg, mg = grid_of(sem, "fixed"), grid_of(sims, "moving")
    reg = register_planes(sem.values, fg, registration_plane(sims, None, True), mg)
    tre = curvature_tre(reg, mg, fg)["tre"]
    ch = channels_of(sims)
    chans, names = ch["channels"], ch["names"]
    tr = transfer_labels(truth.truth["phase"], fg, chans, mg, reg.transform, tre_um=tre)
    expected = np.array([[truth.truth["expected"][p][s] for s in names] for p in PHASES])
    z = (tr.mean - expected) / tr.sigma
    assert np.sum(z ** 2) < stats.chi2.ppf(0.999, z.size)


def test_resampling_puts_the_ion_image_on_the_sem_grid():
    sem, sims, truth = correlative_pair((128, 128), seed=2, rotation_deg=5.0)
    fg, mg = grid_of(sem, "fixed"), grid_of(sims, "moving")
    tx = affine_transform(truth.truth["matrix"], mg.centre_xy)
    chans = channels_of(sims)["channels"]
    out = resample_to_fixed(chans, mg, fg, tx)
    assert out.shape == (128, 128, 3)
    ok = np.isfinite(out[..., 1])
    ph = truth.truth["phase"]
    # Ni is ~9× richer in the cathode than elsewhere: the resampled image follows the SEM phases
    assert out[..., 1][ok & (ph == 1)].mean() > 3 * out[..., 1][ok & (ph == 0)].mean()


@pytest.mark.slow
def test_depth_profiles_per_phase_from_a_cube(tmp_path):
    """A SIMS cube (scan, y, x, peak) whose yields change with depth: the cube registers through its
    depth-integrated image and each phase gets a depth profile per species within its uncertainty
    (χ² over phases × scans × species below its 99.9 % point)."""
    from ionscope.correlate.pipeline import register_images, transfer
    from ionscope.model.arrays import coord, labelled
    from ionscope.synth.core import poisson_counts

    sem, sims, truth = correlative_pair((256, 256), seed=21, rotation_deg=7.0, shift_um=(1.0, 2.0))
    depth_factor = np.array([1.0, 0.6, 0.3])  # yields fall with depth
    fr = truth.truth["fractions"]
    names = [str(p) for p in sims["peak"].values]
    y = np.array([[truth.truth["expected"][p][s] for s in names] for p in PHASES])
    lam = depth_factor[:, None, None, None] * (fr @ y)[None]
    counts = poisson_counts(lam, np.random.default_rng(5)).astype(np.uint32)
    cube = labelled(counts, "cube3d", units="counts",
                    coords={"scan": coord("scan", np.arange(3), "index"), "y": sims["y"].variable,
                            "x": sims["x"].variable, "peak": sims["peak"].variable,
                            "sputter_time": coord("scan", [10.0, 20.0, 30.0], "s")})
    ct = register_images(sem, cube)["transform"]
    res = transfer(truth.truth["phase"], cube, ct)["summary"]
    z2 = []
    for pi, pname in enumerate(PHASES):
        entry = res["labels"][f"label {PHASES[pname]}"]
        assert entry["axis"] == "scan"
        for si, sname in enumerate(names):
            q = entry["profiles"][sname]
            z2 += list(((np.asarray(q.value) - depth_factor * y[pi, si]) / np.asarray(q.uncertainty)) ** 2)
    assert np.sum(z2) < stats.chi2.ppf(0.999, len(z2))
