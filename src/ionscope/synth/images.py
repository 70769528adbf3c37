"""Ion images of a composite electrode cross-section (the foundation's virtual instrument).

A composite cathode (NCA particles in a Li-ion-conducting oxide electrolyte) is imaged by TOF-SIMS:
each phase has a mean secondary-ion yield per species (counts per pixel per frame); the detector
adds Poisson noise and, optionally, dead-time saturation. The ground truth holds the phase of every
pixel and the expected count rates, so a phase-wise mean recovers the yields within Poisson error.
"""

from __future__ import annotations

import numpy as np

from ionscope.model.arrays import make_ion_image
from ionscope.model.provenance import make_provenance
from ionscope.synth.core import GroundTruth, SeedLike, dead_time_counts, make_rng, poisson_counts
from ionscope.synth.particles import disc_labels

#: Expected counts per pixel (whole acquisition) of each species in each phase.
DEFAULT_YIELDS: dict[str, dict[str, float]] = {
    "electrolyte": {"^7Li+": 180.0, "^58Ni+": 2.0, "^59Co+": 0.5, "^48Ti+": 60.0, "La+": 40.0},
    "cathode": {"^7Li+": 90.0, "^58Ni+": 120.0, "^59Co+": 25.0, "^48Ti+": 1.0, "La+": 0.5},
}
SPECIES_MZ = {"^7Li+": 7.01545, "^58Ni+": 57.93479, "^59Co+": 58.93265, "^48Ti+": 47.94740, "La+": 138.90581}


def composite_cross_section(
    shape: tuple[int, int] = (128, 128),
    *,
    pixel_size_um: float = 0.2,
    n_particles: int = 14,
    radius_um: tuple[float, float] = (1.5, 3.0),
    yields: dict[str, dict[str, float]] | None = None,
    shots_per_pixel: int | None = None,
    seed: SeedLike = 0,
):
    """Simulate ion images (y, x, peak) of a composite-cathode cross-section.

    Parameters
    ----------
    shape
        Pixels (y, x).
    pixel_size_um
        Pixel size in µm.
    n_particles, radius_um
        Number and radius range (µm) of cathode particles.
    yields
        Expected counts per pixel by phase and species (default :data:`DEFAULT_YIELDS`).
    shots_per_pixel
        If given, counts saturate through detector dead time over this many shots.
    seed
        Seed of the random generator.

    Returns
    -------
    images, truth
        The ion images (counts) and a :class:`GroundTruth` with ``labels`` (particle ids),
        ``phase`` (0 electrolyte, 1 cathode) and ``expected`` counts per phase and species.
    """
    rng = make_rng(seed)
    yields = yields or DEFAULT_YIELDS
    species = list(next(iter(yields.values())))
    r_px = (radius_um[0] / pixel_size_um, radius_um[1] / pixel_size_um)
    labels, discs = disc_labels(shape, n_particles, r_px, seed=rng)
    phase = (labels > 0).astype(np.int8)
    phase_names = list(yields)
    expected = np.stack(
        [np.where(phase == 1, yields[phase_names[1]][s], yields[phase_names[0]][s]) for s in species], axis=-1)
    counts = (dead_time_counts(expected, shots_per_pixel, rng) if shots_per_pixel else poisson_counts(expected, rng))
    params = {"shape": list(shape), "pixel_size_um": pixel_size_um, "n_particles": n_particles,
              "radius_um": list(radius_um), "shots_per_pixel": shots_per_pixel,
              "seed": seed if isinstance(seed, int) else None, "yields": yields}
    truth = GroundTruth("ionscope.synth.composite_cross_section", params,
                        {"labels": labels, "phase": phase, "discs_px": discs, "expected": yields})
    images = make_ion_image(
        counts.astype(np.uint32), species, pixel_size_um=pixel_size_um, mz=[SPECIES_MZ.get(s, np.nan) for s in species],
        name="counts",
        acquisition={"instrument": "ionscope virtual TOF-SIMS", "technique": "TOF-SIMS", "polarity": "positive",
                     "primary_ion": "Bi3+", "primary_energy_keV": 30.0, "pixel_size_um": pixel_size_um,
                     "raster_size_um": pixel_size_um * shape[1], "shots_per_pixel": shots_per_pixel,
                     "dead_time_corrected": False},
        sample={"name": "synthetic NCA | oxide electrolyte composite", "preparation": "fib",
                "air_free_transfer": True, "measurement_mode": "ex-situ"},
        provenance=make_provenance("ionscope.synth.composite_cross_section", inputs=[truth.as_input()]),
    )
    return images, truth
