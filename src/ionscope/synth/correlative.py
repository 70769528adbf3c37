"""A correlative SEM / TOF-SIMS pair of one composite-electrode area, with the exact transform.

The sample is analytic: cathode particles and carbon–binder (CBD) blobs are discs in physical
coordinates (µm), the rest is solid electrolyte, so the phase at any point is known exactly. The
SEM image samples it on a fine grid (grey level per phase, a smooth texture and detector noise);
the SIMS image sees the same area through a coarser, rotated, scaled and shifted raster: the
expected counts of a SIMS pixel are the area-weighted phase yields over its footprint (integrated on
a sub-pixel grid), and the detector adds Poisson noise. The SIMS contrast is chosen not to be a
monotone function of the SEM grey level (Li is richest in the mid-grey electrolyte, the binder
fragment in the darkest phase), as in real pairs.

Coordinates follow the ionscope data model: (x, y) in µm with pixel ``(row i, col j)`` centred at
``((j + 0.5)·dx, (i + 0.5)·dy)``. The true transform maps SIMS (moving) µm to SEM (fixed) µm:
``p_fixed = A · p_moving + t`` with ``A = s·R(θ)``.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from ionscope.model.arrays import coord, labelled, make_ion_image, pixel_axis
from ionscope.model.provenance import make_provenance
from ionscope.synth.core import GroundTruth, SeedLike, make_rng, poisson_counts

PHASES = {"electrolyte": 0, "cathode": 1, "cbd": 2}
#: SEM grey level of each phase (0–1).
GREY = {"electrolyte": 0.45, "cathode": 0.80, "cbd": 0.15}
#: Expected counts per SIMS pixel of each species in each pure phase (5–50 counts/pixel).
YIELDS: dict[str, dict[str, float]] = {
    "electrolyte": {"^7Li+": 40.0, "^58Ni+": 5.0, "C2H3O+": 8.0},
    "cathode": {"^7Li+": 12.0, "^58Ni+": 45.0, "C2H3O+": 6.0},
    "cbd": {"^7Li+": 6.0, "^58Ni+": 5.0, "C2H3O+": 50.0},
}
SPECIES_MZ = {"^7Li+": 7.01545, "^58Ni+": 57.93479, "C2H3O+": 43.01784}


def _discs(rng: np.random.Generator, box: float, n: int, radius: tuple[float, float]) -> np.ndarray:
    """(n, 3) discs (x, y, r) in µm spread over ``[0, box]²``."""
    xy = rng.uniform(0, box, size=(n, 2))
    r = rng.uniform(*radius, size=(n, 1))
    return np.hstack([xy, r])


def raster_phase(cathode: np.ndarray, cbd: np.ndarray, ny: int, nx: int, step: float, k: int = 1) -> np.ndarray:
    """Phase code (:data:`PHASES`) at the ``k × k`` sub-samples of an (ny, nx) grid of pixel ``step`` µm
    (sub-sample ``(i, j)`` at ``((j + 0.5)/k·step, (i + 0.5)/k·step)``); binder lies over the particles.

    Each disc is drawn in its bounding box only, so large grids stay cheap.
    """
    h = step / k
    out = np.zeros((ny * k, nx * k), dtype=np.int8)
    for discs, code in ((cathode, 1), (cbd, 2)):
        for x, y, r in discs:
            i0, i1 = max(0, int((y - r) / h - 1)), min(ny * k, int((y + r) / h + 2))
            j0, j1 = max(0, int((x - r) / h - 1)), min(nx * k, int((x + r) / h + 2))
            if i0 >= i1 or j0 >= j1:
                continue
            yy = (np.arange(i0, i1) + 0.5) * h - y
            xx = (np.arange(j0, j1) + 0.5) * h - x
            inside = yy[:, None] ** 2 + xx[None, :] ** 2 <= r * r
            out[i0:i1, j0:j1][inside] = code
    return out


def true_matrix(rotation_deg: float, scale: float, shift_um: tuple[float, float],
                fixed_centre: np.ndarray, moving_centre: np.ndarray) -> np.ndarray:
    """3×3 matrix mapping moving (x, y, 1) µm to fixed µm: rotate/scale about the moving centre, then
    place that centre at ``fixed_centre + shift_um``."""
    th = np.deg2rad(rotation_deg)
    a = scale * np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]])
    m = np.eye(3)
    m[:2, :2] = a
    m[:2, 2] = fixed_centre + np.asarray(shift_um, dtype=float) - a @ moving_centre
    return m


def correlative_pair(
    fixed_shape: tuple[int, int] = (384, 384),
    *,
    fixed_pixel_um: float = 0.1,
    pixel_ratio: float = 4.0,
    moving_shape: tuple[int, int] | None = None,
    rotation_deg: float = 10.0,
    scale: float = 1.0,
    shift_um: tuple[float, float] = (2.0, -1.5),
    count_scale: float = 1.0,
    particles_per_100um2: float = 2.0,
    binder_per_100um2: float = 5.4,
    sem_noise: float = 0.04,
    supersample: int = 6,
    seed: SeedLike = 0,
):
    """Simulate an SEM image (fixed) and TOF-SIMS ion images (moving) of one area.

    Parameters
    ----------
    fixed_shape
        SEM pixels (y, x).
    fixed_pixel_um
        SEM pixel size (µm).
    pixel_ratio
        SIMS pixel size ÷ SEM pixel size.
    moving_shape
        SIMS pixels (y, x); default: 80 % of the SEM field of view.
    rotation_deg, scale, shift_um
        The SIMS raster's rotation (degrees, counter-clockwise in (x, y)), scale and the shift (µm,
        x then y) of its centre from the SEM centre.
    count_scale
        Multiplies every yield of :data:`YIELDS` (5–50 counts per pixel at 1).
    particles_per_100um2, binder_per_100um2
        Number density of cathode discs (radius 2–4 µm) and binder discs (0.5–1.2 µm) per 100 µm²
        (about 40 % cathode and 13 % binder by area).
    sem_noise
        Standard deviation of the SEM detector noise (grey levels 0–1).
    supersample
        Sub-samples per pixel side for the area integrals.
    seed
        Seed of the random generator.

    Returns
    -------
    sem, sims, truth
        The SEM ``image`` (y, x), the ``ion_image`` (y, x, peak) of counts, and a
        :class:`GroundTruth` with ``matrix`` (3×3, moving µm → fixed µm), ``phase`` (SEM grid),
        ``fractions`` (phase area fractions of each SIMS pixel, (y, x, phase)), ``expected``
        (counts per pixel per phase and species) and ``phases``.
    """
    rng = make_rng(seed)
    fy, fx = fixed_shape
    mpx = fixed_pixel_um * pixel_ratio
    if moving_shape is None:
        moving_shape = (int(0.8 * fy / pixel_ratio), int(0.8 * fx / pixel_ratio))
    my, mx = moving_shape
    box = max(fy, fx) * fixed_pixel_um
    margin = 0.25 * box
    area = (box + 2 * margin) ** 2 / 100.0  # the discs also cover a margin around the SEM field
    cathode = _discs(rng, box + 2 * margin, round(particles_per_100um2 * area), (2.0, 4.0))
    cbd = _discs(rng, box + 2 * margin, round(binder_per_100um2 * area), (0.5, 1.2))
    cathode[:, :2] -= margin
    cbd[:, :2] -= margin

    def block_mean(values: np.ndarray, ny: int, nx: int, k: int) -> np.ndarray:
        return values.reshape(ny, k, nx, k).mean(axis=(1, 3))

    k_sem = 2
    grey_of = np.array([GREY[n] for n in PHASES])
    sem = block_mean(grey_of[raster_phase(cathode, cbd, fy, fx, fixed_pixel_um, k_sem)], fy, fx, k_sem)
    texture = ndimage.gaussian_filter(rng.normal(size=(fy, fx)), 3.0)
    sem = sem + 0.05 * texture / max(texture.std(), 1e-12) + rng.normal(0, sem_noise, size=(fy, fx))
    phase = raster_phase(cathode, cbd, fy, fx, fixed_pixel_um)

    fixed_centre = np.array([fx, fy]) * fixed_pixel_um / 2
    moving_centre = np.array([mx, my]) * mpx / 2
    matrix = true_matrix(rotation_deg, scale, shift_um, fixed_centre, moving_centre)
    # the discs seen in the SIMS frame: centres mapped back, radii divided by the scale
    inv = np.linalg.inv(matrix)

    def to_moving(discs: np.ndarray) -> np.ndarray:
        xy = discs[:, :2] @ inv[:2, :2].T + inv[:2, 2]
        return np.column_stack([xy, discs[:, 2] / scale])

    sub_phase = raster_phase(to_moving(cathode), to_moving(cbd), my, mx, mpx, supersample)
    fractions = np.stack([block_mean((sub_phase == c).astype(float), my, mx, supersample)
                          for c in PHASES.values()], axis=-1)
    species = list(next(iter(YIELDS.values())))
    y = np.array([[YIELDS[p][s] * count_scale for s in species] for p in PHASES])  # (phase, species)
    expected = fractions @ y
    counts = poisson_counts(expected, rng).astype(np.uint32)

    params = {"fixed_shape": list(fixed_shape), "fixed_pixel_um": fixed_pixel_um, "pixel_ratio": pixel_ratio,
              "moving_shape": list(moving_shape), "rotation_deg": rotation_deg, "scale": scale,
              "shift_um": list(shift_um), "count_scale": count_scale,
              "particles_per_100um2": particles_per_100um2, "binder_per_100um2": binder_per_100um2,
              "sem_noise": sem_noise, "seed": seed if isinstance(seed, int) else None}
    truth = GroundTruth("ionscope.synth.correlative_pair", params,
                        {"matrix": matrix, "phase": phase, "fractions": fractions, "phases": dict(PHASES),
                         "expected": {p: {s: YIELDS[p][s] * count_scale for s in species} for p in PHASES}})
    prov = make_provenance("ionscope.synth.correlative_pair", inputs=[truth.as_input()])
    sem_da = labelled(sem.astype(np.float32), "image", units="grey", name="sem",
                      coords={"y": coord("y", pixel_axis(fy, fixed_pixel_um), "µm"),
                              "x": coord("x", pixel_axis(fx, fixed_pixel_um), "µm")},
                      attrs={"pixel_size_source": "simulated"},
                      acquisition={"instrument": "ionscope virtual SEM", "technique": "SEM",
                                   "pixel_size_um": fixed_pixel_um},
                      provenance=prov)
    sims = make_ion_image(counts, species, pixel_size_um=mpx, mz=[SPECIES_MZ[s] for s in species], name="counts",
                          acquisition={"instrument": "ionscope virtual TOF-SIMS", "technique": "TOF-SIMS",
                                       "polarity": "positive", "pixel_size_um": mpx},
                          provenance=prov)
    return sem_da, sims, truth


def phase_labels(phase: np.ndarray, fixed_pixel_um: float) -> object:
    """The SEM phase map as a labelled ``image`` with its phase names in ``attrs["phases"]``."""
    ny, nx = phase.shape
    return labelled(np.asarray(phase, dtype=np.uint8), "image", units="label", name="phase",
                    coords={"y": coord("y", pixel_axis(ny, fixed_pixel_um), "µm"),
                            "x": coord("x", pixel_axis(nx, fixed_pixel_um), "µm")},
                    attrs={"phases": dict(PHASES), "pixel_size_source": "simulated"})


def write_correlative_pair(folder, *, seed: int = 0, register: bool = True) -> dict:
    """Write a simulated pair as files: ``sem.tif`` (50 nm pixels in the TIFF tags), ``sims.zarr``,
    ``phase.tif`` (the SEM phase map) and, with ``register``, ``transform.json`` from registering them.

    Returns the paths by name and the :class:`GroundTruth` (``"truth"``).
    """
    from pathlib import Path

    import tifffile

    import ionscope

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    sem, sims, truth = correlative_pair((512, 512), fixed_pixel_um=0.05, rotation_deg=9.0, shift_um=(1.5, -1.0),
                                        seed=seed)
    paths = {"sem": out / "sem.tif", "sims": out / "sims.zarr", "phase": out / "phase.tif"}
    tifffile.imwrite(paths["sem"], sem.values, resolution=(20.0, 20.0), imagej=True, metadata={"unit": "um"})
    tifffile.imwrite(paths["phase"], truth.truth["phase"].astype(np.uint8))
    ionscope.save(sims, paths["sims"], force=True)
    if register:
        from ionscope.correlate.pipeline import read_image, register_images
        from ionscope.model.provenance import sha256_of

        ct, _ = register_images(read_image(paths["sem"]), read_image(paths["sims"]),
                                fixed_id=(sha256_of(paths["sem"]), str(paths["sem"])),
                                moving_id=(sha256_of(paths["sims"]), str(paths["sims"])))
        paths["transform"] = ct.save(out / "transform.json")
    return {**paths, "truth": truth}
