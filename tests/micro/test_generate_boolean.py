"""Boolean sphere model of a particle phase: exact S₂, fit of the radius distribution, simulation."""

from __future__ import annotations

import math

import numpy as np

from ionscope.micro import generate as gen
from ionscope.micro import generate_boolean as gb


def _mono(radius: float, p: float) -> np.ndarray:
    """One radius whose Poisson intensity gives the particle fraction ``p``: 1 − exp(−λV) = p."""
    return np.array([[radius], [-math.log(1 - p) / (4 / 3 * math.pi * radius**3)]])


def _fraction_sigma(mix: np.ndarray, p: float, n_pixels: int, dim: int) -> float:
    """1σ of a d-dimensional window's particle fraction: √(∫(S₂(r) − p²) dᵈr / window), from the exact S₂."""
    r = np.arange(0.0, 4 * mix[0].max() + 2, 0.25)
    c = gb.predicted_two_point(mix, p, r) - p * p
    shell = 2 * math.pi * r if dim == 2 else 4 * math.pi * r * r
    return math.sqrt(max(float(np.trapezoid(c * shell, r)), 0.0) / n_pixels)


def _union_of_cuts(seed: int, n: int = 256, k: int = 16, p: float = 0.4) -> np.ndarray:
    """Union of k independent level cuts of smooth Gaussian fields, each at fraction 1 − (1 − p)^(1/k)."""
    from scipy import ndimage

    rng = np.random.default_rng(seed)
    q = 1 - (1 - p) ** (1 / k)
    m = np.zeros((n, n), bool)
    for _ in range(k):
        a = ndimage.gaussian_filter(rng.standard_normal((n, n)), 2.5, mode="wrap")
        m |= a > np.quantile(a, 1 - q)
    return m


def test_exact_two_point_limits():
    mix = _mono(5.0, 0.3)
    s2 = gb.predicted_two_point(mix, 0.3, np.arange(0.0, 15.0))
    assert abs(s2[0] - 0.3) < 1e-9  # S₂(0) = p
    assert abs(s2[-1] - 0.09) < 1e-9  # beyond a diameter, independent: p²
    assert np.all(np.diff(s2[:11]) < 0)


def test_fit_recovers_radius_and_fraction_from_exact_two_point():
    """From the exact S₂ of one radius the fit returns that radius to within the grid step of its
    log-spaced radii (1 → 15.5 px in 40 steps: 7 %) and the fraction to 10⁻³ (the weighted r = 0 row)."""
    p, radius = 0.35, 6.0
    s2 = gb.predicted_two_point(_mono(radius, p), p, np.arange(32.0))
    mix = gb.fit_sphere_radii(s2, p)
    volume = mix[1] * mix[0] ** 3
    mean_radius = float(np.sum(mix[0] * volume) / np.sum(volume))
    assert abs(mean_radius / radius - 1) < 0.075
    q = 1 - math.exp(-float(np.sum(mix[1] * 4 / 3 * math.pi * mix[0] ** 3)))
    assert abs(q - p) < 1e-3


def test_simulated_volume_and_section_match_the_model():
    """A 3-D realisation and a 2-D section (disks of the sliced spheres) have the model's fraction
    within 4σ of the window's own fluctuation (σ from the exact S₂), and the section's S₂ at one radius
    within 4σ-scale noise of the exact one."""
    p = 0.3
    mix = _mono(4.0, p)
    vol = gb.sphere_particles(mix, (64, 64, 64), np.random.default_rng(1))
    assert abs(vol.mean() - p) < 4 * _fraction_sigma(mix, p, vol.size, 3)
    sec = gb.sphere_particles(mix, (384, 384), np.random.default_rng(2))
    sigma = _fraction_sigma(mix, p, sec.size, 2)
    assert abs(sec.mean() - p) < 4 * sigma
    s2 = gen.radial_two_point(sec, 12)
    exact = gb.predicted_two_point(mix, p, np.arange(13.0))
    # lattice discretisation of the disks' edges adds ~1 px of surface noise; the S₂ error is dominated by
    # the fraction's own fluctuation (S₂ ~ p² varies by ~2pσ at large r)
    assert np.max(np.abs(s2 - exact)) < 4 * 2 * p * sigma + 0.01


def test_particle_score_ranks_particles_first():
    mix = _mono(3.0, 0.25)
    m = gb.sphere_particles(mix, (40, 40, 40), np.random.default_rng(3))
    z = gb.particle_score(m)
    assert abs(float(z.mean())) < 0.01 and abs(float(z.std()) - 1) < 0.02  # Gaussianised by rank
    k = int(m.sum())
    th = np.partition(z.ravel(), k - 1)[k - 1]
    np.testing.assert_array_equal(z <= th, m)


def test_sphere_model_chosen_only_where_its_two_point_function_fits_better():
    """Among the particle models, spheres are tried for a section of spheres (their exact S₂ fits it
    better than any union of level cuts) and not for a union of 16 level cuts (which that union fits
    to its sampling noise); the unions are tried in both cases."""
    mix = _mono(7.0, 0.35)
    img = gb.sphere_particles(mix, (256, 256), np.random.default_rng(4))
    p = float(img.mean())
    modes = gen._particle_modes(gen.radial_two_point(img, 40), p, gen.FIRST_MODES)
    assert "spheres" in modes and "union-16" in modes and "single" not in modes
    grains = _union_of_cuts(0)
    modes = gen._particle_modes(gen.radial_two_point(grains, 40), float(grains.mean()), gen.FIRST_MODES)
    assert "spheres" not in modes and "union-16" in modes


def test_sphere_fit_recovers_radius_from_a_section():
    """Fitted to a 256² section of a Boolean model of 7 px spheres (~100 particle sections), the model
    recovers the radius to within 15 % (S₂ sampling noise shifts the fitted radius by several per cent)
    and the generated volume has the section's fraction exactly (set by the score's quantile)."""
    mix = _mono(7.0, 0.35)
    img = gb.sphere_particles(mix, (256, 256), np.random.default_rng(4)).astype(np.uint8)
    fit = gen.fit_pluri_gaussian(img, [1, 0], 40, modes=("spheres",))
    assert fit["first_mode"] == "spheres" and fit["order"][0] == 1
    got = fit["rhos"][0]
    volume = got[1] * got[0] ** 3
    assert abs(float(np.sum(got[0] * volume) / np.sum(volume)) / 7.0 - 1) < 0.15
    vol = gen.grf_volume(fit, (48, 48, 48), 0)
    assert abs(float(np.mean(vol == 1)) - float(np.mean(img == 1))) < 1e-3
