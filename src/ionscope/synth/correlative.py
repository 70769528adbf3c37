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

        ct = register_images(read_image(paths["sem"]), read_image(paths["sims"]),
                             fixed_id=(sha256_of(paths["sem"]), str(paths["sem"])),
                             moving_id=(sha256_of(paths["sims"]), str(paths["sims"])))["transform"]
        paths["transform"] = ct.save(out / "transform.json")
    return {**paths, "truth": truth}


# ----------------------------------------------------------------------------------------------
# 3-D: a FIB-SEM volume and a depth-calibrated TOF-SIMS cube


def _spheres(rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray, density: float,
             radius: tuple[float, float]) -> np.ndarray:
    """(n, 4) spheres (x, y, z, r) µm, Poisson-many (``density`` per µm³) spread over the box ``[lo, hi]``."""
    n = int(rng.poisson(density * float(np.prod(hi - lo))))
    xyz = rng.uniform(lo, hi, size=(n, 3))
    return np.hstack([xyz, rng.uniform(*radius, size=(n, 1))])


def raster_ellipsoids(bodies: list[tuple[np.ndarray, int]], shape: tuple[int, ...],
                      step: tuple[float, ...], origin: tuple[float, ...]) -> np.ndarray:
    """Phase code at the voxel centres of a (z, y, x) grid (``step`` µm, first centre ``origin`` µm, both
    (z, y, x)); ``bodies`` are (array (n, 6) of axis-aligned ellipsoids (x, y, z, rx, ry, rz), code),
    later ones drawn over earlier ones. Each ellipsoid is drawn in its bounding box only."""
    out = np.zeros(shape, dtype=np.int8)
    dz, dy, dx = step
    z0, y0, x0 = origin
    for ell, code in bodies:
        for x, y, z, rx, ry, rz in ell:
            k0, k1 = max(0, int(np.floor((z - rz - z0) / dz))), min(shape[0], int(np.ceil((z + rz - z0) / dz)) + 1)
            i0, i1 = max(0, int(np.floor((y - ry - y0) / dy))), min(shape[1], int(np.ceil((y + ry - y0) / dy)) + 1)
            j0, j1 = max(0, int(np.floor((x - rx - x0) / dx))), min(shape[2], int(np.ceil((x + rx - x0) / dx)) + 1)
            if k0 >= k1 or i0 >= i1 or j0 >= j1:
                continue
            zz = ((z0 + np.arange(k0, k1) * dz - z) / rz) ** 2
            yy = ((y0 + np.arange(i0, i1) * dy - y) / ry) ** 2
            xx = ((x0 + np.arange(j0, j1) * dx - x) / rx) ** 2
            inside = zz[:, None, None] + yy[None, :, None] + xx[None, None, :] <= 1.0
            out[k0:k1, i0:i1, j0:j1][inside] = code
    return out


def true_matrix_3d(rotation_deg: float, scale: float, depth_scale: float, shift_um: tuple[float, float, float],
                   fixed_centre: np.ndarray, moving_centre: np.ndarray) -> np.ndarray:
    """4×4 matrix mapping moving (x, y, z, 1) µm to fixed µm: rotation about z and xy scale, depth scale
    along z, about the moving centre, which lands at ``fixed_centre + shift_um`` (all (x, y, z))."""
    th = np.deg2rad(rotation_deg)
    a = np.diag([scale, scale, depth_scale]).astype(float)
    a[:2, :2] = scale * np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]])
    m = np.eye(4)
    m[:3, :3] = a
    m[:3, 3] = np.asarray(fixed_centre, float) + np.asarray(shift_um, float) - a @ np.asarray(moving_centre, float)
    return m


def correlative_volume_pair(
    fixed_shape: tuple[int, int, int] = (64, 160, 160),
    *,
    fixed_voxel_um: tuple[float, float, float] = (0.04, 0.05, 0.05),
    moving_pixel_um: float = 0.2,
    moving_depth_step_um: float = 0.03,
    moving_shape: tuple[int, int, int] | None = None,
    rotation_deg: float = 8.0,
    scale: float = 1.0,
    depth_scale: float = 1.15,
    shift_um: tuple[float, float, float] = (0.5, -0.4, 0.25),
    count_scale: float = 1.0,
    particles_per_um3: float = 0.22,
    binder_per_um3: float = 2.3,
    sem_noise: float = 0.04,
    supersample: tuple[int, int] = (4, 2),
    seed: SeedLike = 0,
):
    """Simulate a FIB-SEM volume (fixed) and a depth-calibrated TOF-SIMS cube (moving) of one region.

    The sample is analytic: cathode spheres (radius 0.5–1 µm) and binder spheres (0.12–0.3 µm) in
    solid electrolyte, so the phase at any point is known. The FIB-SEM volume samples it at the voxel
    centres (grey level per phase, smooth texture, detector noise). The SIMS cube sees the same
    region through a raster rotated about the depth axis, scaled in-plane, shifted, and with a
    *depth scale* ≠ 1: its nominal depth axis (``moving_depth_step_um`` per scan, as a sputter-rate
    calibration gives it) is off by the factor ``depth_scale`` (true depth step = ``depth_scale ×``
    nominal step). Expected counts per SIMS voxel are the volume-weighted phase yields
    (:data:`YIELDS`, integrated on ``supersample`` (xy, z) sub-samples per voxel side), counts Poisson.

    Parameters
    ----------
    fixed_shape, fixed_voxel_um
        FIB-SEM voxels (z, y, x) and voxel size (z, y, x) in µm.
    moving_pixel_um, moving_depth_step_um
        SIMS pixel size (µm) and nominal depth per scan (µm).
    moving_shape
        SIMS (scan, y, x); default: 75 % of the FIB-SEM field and 55 % of its depth.
    rotation_deg, scale, depth_scale
        Rotation about z (degrees), in-plane scale and depth scale of the SIMS frame (the true transform).
    shift_um
        Shift (x, y, z) µm of the SIMS centre from the FIB-SEM centre.
    count_scale
        Multiplies every yield.
    particles_per_um3, binder_per_um3
        Number densities of cathode and binder spheres (≈ 35 % and 10 % by volume at the defaults).
    sem_noise
        Standard deviation of the FIB-SEM detector noise (grey levels 0–1).
    supersample
        Sub-samples per SIMS voxel side in x/y and in z.
    seed
        Seed of the random generator.

    Returns
    -------
    fib, sims, truth
        The FIB-SEM ``volume`` (z, y, x), the ``cube3d`` (scan, y, x, peak) of counts with a nominal
        ``depth`` coordinate (nm), and a :class:`GroundTruth` with ``matrix`` (4×4, moving (x, y, z) µm
        → fixed µm), ``depth_scale``, ``phase`` (FIB-SEM grid), ``fractions`` ((scan, y, x, phase)),
        ``expected`` and ``phases``.
    """
    import xarray as xr

    from ionscope.model.arrays import make_volume

    rng = make_rng(seed)
    fz, fy, fx = fixed_shape
    vz, vy, vx = (float(v) for v in fixed_voxel_um)
    extent = np.array([fx * vx, fy * vy, fz * vz])  # (x, y, z) µm
    if moving_shape is None:
        moving_shape = (max(4, int(0.55 * extent[2] / (moving_depth_step_um * depth_scale))),
                        int(0.75 * extent[1] / moving_pixel_um), int(0.75 * extent[0] / moving_pixel_um))
    mz, my, mx = moving_shape
    margin = 1.2
    lo, hi = -margin * np.ones(3), extent + margin
    cathode = _spheres(rng, lo, hi, particles_per_um3, (0.5, 1.0))
    cbd = _spheres(rng, lo, hi, binder_per_um3, (0.12, 0.3))

    def ell(s: np.ndarray) -> np.ndarray:
        return np.column_stack([s[:, :3], s[:, 3], s[:, 3], s[:, 3]])

    phase = raster_ellipsoids([(ell(cathode), 1), (ell(cbd), 2)], (fz, fy, fx), (vz, vy, vx), (vz / 2, vy / 2, vx / 2))
    grey_of = np.array([GREY[n] for n in PHASES])
    texture = ndimage.gaussian_filter(rng.normal(size=phase.shape), 2.0)
    fib = grey_of[phase] + 0.05 * texture / max(texture.std(), 1e-12) + rng.normal(0, sem_noise, size=phase.shape)

    fixed_centre = extent / 2
    mstep = np.array([moving_pixel_um, moving_pixel_um, moving_depth_step_um])  # (x, y, z)
    moving_centre = np.array([mx, my, mz]) * mstep / 2
    matrix = true_matrix_3d(rotation_deg, scale, depth_scale, shift_um, fixed_centre, moving_centre)
    inv = np.linalg.inv(matrix)

    def to_moving(s: np.ndarray) -> np.ndarray:
        xyz = s[:, :3] @ inv[:3, :3].T + inv[:3, 3]
        r = s[:, 3]
        return np.column_stack([xyz, r / scale, r / scale, r / depth_scale])

    kxy, kz = supersample
    sub_step = (moving_depth_step_um / kz, moving_pixel_um / kxy, moving_pixel_um / kxy)
    sub = raster_ellipsoids([(to_moving(cathode), 1), (to_moving(cbd), 2)], (mz * kz, my * kxy, mx * kxy), sub_step,
                            tuple(s / 2 for s in sub_step))
    fractions = np.stack([(sub == c).reshape(mz, kz, my, kxy, mx, kxy).mean(axis=(1, 3, 5))
                          for c in PHASES.values()], axis=-1)
    species = list(next(iter(YIELDS.values())))
    y = np.array([[YIELDS[p][s] * count_scale for s in species] for p in PHASES])
    expected = fractions @ y
    counts = poisson_counts(expected, rng).astype(np.float32)

    params = {"fixed_shape": list(fixed_shape), "fixed_voxel_um": [vz, vy, vx], "moving_pixel_um": moving_pixel_um,
              "moving_depth_step_um": moving_depth_step_um, "moving_shape": list(moving_shape),
              "rotation_deg": rotation_deg, "scale": scale, "depth_scale": depth_scale, "shift_um": list(shift_um),
              "count_scale": count_scale, "particles_per_um3": particles_per_um3, "binder_per_um3": binder_per_um3,
              "sem_noise": sem_noise, "seed": seed if isinstance(seed, int) else None}
    truth = GroundTruth("ionscope.synth.correlative_volume_pair", params,
                        {"matrix": matrix, "depth_scale": depth_scale, "phase": phase, "fractions": fractions,
                         "phases": dict(PHASES),
                         "expected": {p: {s: YIELDS[p][s] * count_scale for s in species} for p in PHASES}})
    prov = make_provenance("ionscope.synth.correlative_volume_pair", inputs=[truth.as_input()])
    vol = make_volume(fib.astype(np.float32), (vz, vy, vx), name="fib",
                      attrs={"pixel_size_source": "simulated", "slice_thickness_source": "simulated"},
                      acquisition={"instrument": "ionscope virtual FIB-SEM", "technique": "FIB-SEM"},
                      provenance=prov)
    depth_nm = 1000.0 * moving_depth_step_um * (np.arange(mz) + 0.5)
    coords = {"scan": coord("scan", np.arange(mz), "index"),
              "sputter_time": coord("scan", np.arange(mz, dtype=float) + 0.5, "s"),
              "depth": coord("scan", depth_nm, "nm"),
              "y": coord("y", pixel_axis(my, moving_pixel_um), "µm"),
              "x": coord("x", pixel_axis(mx, moving_pixel_um), "µm"),
              "peak": xr.Variable("peak", np.asarray(species, dtype=str)),
              "mz": coord("peak", np.asarray([SPECIES_MZ[s] for s in species]), "m/z")}
    cube = labelled(counts, "cube3d", coords=coords, units="counts", name="counts",
                    attrs={"source_file": "synthetic",
                           "depth_scale": {"rates_nm_s": [[1000.0 * moving_depth_step_um, 0.0]], "interfaces_s": []}},
                    acquisition={"instrument": "ionscope virtual TOF-SIMS", "technique": "TOF-SIMS",
                                 "polarity": "positive", "pixel_size_um": moving_pixel_um},
                    provenance=prov)
    return vol, cube, truth


def volume_labels(phase: np.ndarray, voxel_um: tuple[float, float, float]) -> object:
    """The FIB-SEM phase volume as a labelled ``volume`` with its phase names in ``attrs["phases"]``."""
    from ionscope.model.arrays import make_volume

    return make_volume(np.asarray(phase, dtype=np.uint8), tuple(voxel_um), units="label", phases=dict(PHASES),
                       attrs={"pixel_size_source": "simulated", "slice_thickness_source": "simulated"})


def write_correlative_volume_pair(folder, *, seed: int = 0, fixed_shape: tuple[int, int, int] = (40, 100, 100)
                                  ) -> dict:
    """Write a small simulated 3-D pair as files: ``fib.zarr`` (FIB-SEM volume, 40 × 50 × 50 nm voxels),
    ``cube.zarr`` (depth-calibrated SIMS cube, 200 nm pixels, depth scale 1.15) and ``labels.zarr``
    (the phase volume on the FIB-SEM grid), for ``ionscope correlate register``/``transfer`` in 3-D.

    Returns the paths by name and the :class:`GroundTruth` (``"truth"``).
    """
    from pathlib import Path

    import ionscope

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    fib, cube, truth = correlative_volume_pair(fixed_shape, seed=seed)
    paths = {"fib": out / "fib.zarr", "cube": out / "cube.zarr", "labels": out / "labels.zarr"}
    ionscope.save(fib, paths["fib"], force=True)
    ionscope.save(cube, paths["cube"], force=True)
    ionscope.save(volume_labels(truth.truth["phase"], tuple(truth.parameters["fixed_voxel_um"])), paths["labels"],
                  force=True)
    return {**paths, "truth": truth}
