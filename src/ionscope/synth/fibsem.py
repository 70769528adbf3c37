"""Synthetic FIB-SEM truth: a three-phase electrode, its serial-section images, and analytic solver cases.

``three_phase_electrode``: active-material spheres with log-normal radii (random sequential addition,
overlap allowed up to a fraction of the radius), carbon-binder domain (CBD) as a shell-like film
grown from the particle surfaces where a smooth random field is high, pore elsewhere.
``image_stack``: grey levels per phase, Gaussian noise, vertical curtaining stripes, a random-walk
slice drift (integer + sub-pixel shifts, known), optional per-slice rotation and shear jitter (known
3×3 transforms), a smooth multiplicative shading, and optionally the two artefacts that defeat grey
thresholds in FIB-SEM of porous electrodes (Prill et al. 2013, doi:10.1111/j.1365-2818.2012.03672.x;
Fager et al. 2020, doi:10.1017/S1431927620001592): the pore-back (shine-through) effect and charging.
``straight_channels`` / ``layered_medium``: exact tortuosity factors.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from ionscope.imaging.rigid import about_centre, rotation_matrix
from ionscope.micro.phases import label_volume
from ionscope.model.arrays import make_volume
from ionscope.synth.core import GroundTruth, SeedLike, make_rng

PHASES = {"pore": 0, "nmc": 1, "cbd": 2}
GREY = {"pore": 40.0, "nmc": 200.0, "cbd": 120.0}


def three_phase_electrode(shape: tuple[int, int, int] = (64, 96, 96), *, voxel_um: float = 0.1,
                          mean_radius_um: float = 0.8, sigma_log: float = 0.15, am_fraction: float = 0.40,
                          cbd_fraction: float = 0.12, seed: SeedLike = 0):
    """A labelled (z, y, x) volume (pore 0, NMC 1, CBD 2) and its truth (radii, fractions)."""
    rng = make_rng(seed)
    nz, ny, nx = shape
    zz, yy, xx = (np.arange(n, dtype=np.float32) for n in shape)
    nmc = np.zeros(shape, bool)
    centres: list[np.ndarray] = []
    radii: list[float] = []
    vol_box = nz * ny * nx * voxel_um**3
    mu = np.log(mean_radius_um) - sigma_log**2 / 2
    while nmc.mean() < am_fraction and len(radii) < 100000:
        r = float(rng.lognormal(mu, sigma_log))
        c = rng.uniform(0, 1, 3) * np.array(shape) * voxel_um
        if centres:
            d = np.linalg.norm(np.asarray(centres) - c, axis=1)
            if np.any(d < 0.9 * (np.asarray(radii) + r)):
                continue
        rv = r / voxel_um
        k0, k1 = int(max(c[0] / voxel_um - rv - 1, 0)), int(min(c[0] / voxel_um + rv + 2, nz))
        j0, j1 = int(max(c[1] / voxel_um - rv - 1, 0)), int(min(c[1] / voxel_um + rv + 2, ny))
        i0, i1 = int(max(c[2] / voxel_um - rv - 1, 0)), int(min(c[2] / voxel_um + rv + 2, nx))
        if k1 <= k0 or j1 <= j0 or i1 <= i0:
            continue
        d2 = (((zz[k0:k1, None, None] + 0.5) * voxel_um - c[0]) ** 2
              + ((yy[None, j0:j1, None] + 0.5) * voxel_um - c[1]) ** 2
              + ((xx[None, None, i0:i1] + 0.5) * voxel_um - c[2]) ** 2)
        nmc[k0:k1, j0:j1, i0:i1] |= d2 < r * r
        centres.append(c)
        radii.append(r)
    # CBD: pore voxels near particles where a smooth random field is high, filled to the target fraction
    dist = ndimage.distance_transform_edt(~nmc) * voxel_um
    field = ndimage.gaussian_filter(rng.standard_normal(shape).astype(np.float32), 2.0, mode="wrap")
    score = np.where(~nmc, dist - 0.15 * field / (field.std() + 1e-12), np.inf)
    n_cbd = int(round(cbd_fraction * nmc.size))
    thresh = np.partition(score.ravel(), n_cbd)[n_cbd] if n_cbd > 0 else -np.inf
    cbd = score < thresh
    labels = np.zeros(shape, np.uint8)
    labels[nmc] = PHASES["nmc"]
    labels[cbd] = PHASES["cbd"]
    vol = label_volume(labels, PHASES, voxel_um, attrs={"source": "ionscope.synth.fibsem.three_phase_electrode"})
    n_particles = len(radii)
    truth = GroundTruth(
        "ionscope.synth.fibsem.three_phase_electrode",
        {"shape": shape, "voxel_um": voxel_um, "mean_radius_um": mean_radius_um, "sigma_log": sigma_log,
         "am_fraction": am_fraction, "cbd_fraction": cbd_fraction,
         "seed": seed if not hasattr(seed, "bit_generator") else None},
        {"labels": labels, "volume_fraction": {k: float((labels == v).mean()) for k, v in PHASES.items()},
         "radii_um": np.asarray(radii), "centres_um": np.asarray(centres), "n_particles": n_particles,
         "box_volume_um3": vol_box},
    )
    return vol, truth


def image_stack(labels: np.ndarray, *, voxel_um: float = 0.1, noise_sigma: float = 12.0,
                stripe_amplitude: float = 25.0, drift_step_px: float = 0.6, shading: float = 0.25,
                blur_px: float = 0.7, fiducial_rows: int = 0, rotation_deg: float = 0.0, shear: float = 0.0,
                pore_back_px: float = 0.0, charging: float = 0.0, charging_length_px: float = 6.0,
                seed: SeedLike = 1):
    """Grey-level FIB-SEM slices of a label volume with noise, curtaining, drift and shading.

    Returns the (z, y, x) float32 stack and truth: per-slice drift (y, x) in pixels (slice 0 at 0;
    the recorded image of slice k is the true slice shifted by ``drift[k]``), stripe pattern, grey levels.
    ``rotation_deg`` / ``shear`` > 0 add independent per-slice jitter, uniform in ±``rotation_deg``
    degrees and ±``shear``, of the image about its centre ``c``: the true slice point ``p`` (row, col)
    is recorded at ``R(θ_k) S(γ_k) (p − c) + c + drift[k]`` with ``R`` as
    :func:`ionscope.imaging.rigid.rotation_matrix` (θ > 0 turns +row towards +col) and
    ``S = [[1, 0], [γ, 1]]`` (col += γ·row); truth ``transform`` holds these 3×3 matrices
    (slice-0 frame → recorded slice, the convention of :mod:`ionscope.imaging.rigid`), with
    ``rotation_deg`` and ``shear`` per slice (slice 0: identity).
    ``fiducial_rows`` > 0 replaces the top rows by a fixed milled mark (bright marks in the
    protective layer, a fixed random texture) that moves only with the drift, as used for fiducial alignment.
    """
    rng = make_rng(seed)
    nz, ny, nx = labels.shape
    grey = np.zeros(int(labels.max()) + 1, np.float32)
    for name, v in PHASES.items():
        if v < grey.size:
            grey[v] = GREY[name]
    img = grey[labels].astype(np.float32)
    art_rng = np.random.default_rng(rng.integers(2**63)) if (pore_back_px > 0 or charging > 0) else None
    if pore_back_px > 0:
        img = _pore_back(img, labels, grey, pore_back_px)
    if charging > 0 and art_rng is not None:
        img = img + _charging(labels == PHASES["nmc"], charging, charging_length_px, art_rng)
    if fiducial_rows > 0:
        mark = ndimage.gaussian_filter(rng.standard_normal((fiducial_rows, nx)), 1.5)
        img[:, :fiducial_rows] = np.where(mark > 0.1, 230.0, 60.0)[None]
    img = ndimage.gaussian_filter(img, (0, blur_px, blur_px))
    drift = np.cumsum(rng.normal(0, drift_step_px, (nz, 2)), axis=0)
    drift -= drift[0]
    angles = np.zeros(nz) if rotation_deg <= 0 else np.asarray(rng.uniform(-rotation_deg, rotation_deg, nz))
    gammas = np.zeros(nz) if shear <= 0 else np.asarray(rng.uniform(-shear, shear, nz))
    angles[0] = gammas[0] = 0.0
    centre = ((ny - 1) / 2, (nx - 1) / 2)
    transforms = np.stack([about_centre(rotation_matrix(np.radians(a)) @ [[1.0, 0.0], [g, 1.0]], centre)
                           for a, g in zip(angles, gammas, strict=True)])
    transforms[:, :2, 2] += drift
    # curtaining: vertical stripes (constant along y, random along x), varying slowly slice to slice
    base = ndimage.gaussian_filter1d(rng.standard_normal(nx), 0.8)
    stripes = stripe_amplitude * base / (np.abs(base).max() + 1e-12)
    yv, xv = np.mgrid[0:ny, 0:nx].astype(np.float32)
    shade = 1.0 + shading * (((xv / nx) - 0.3) ** 2 + 0.5 * ((yv / ny) - 0.6) ** 2) - shading * 0.2
    out = np.empty(labels.shape, np.float32)
    for k in range(nz):
        if angles[k] == 0 and gammas[k] == 0:
            sl = ndimage.shift(img[k], drift[k], order=3, mode="nearest")
        else:
            inv = np.linalg.inv(transforms[k])
            sl = ndimage.affine_transform(img[k], inv[:2, :2], offset=inv[:2, 2], order=3, mode="nearest")
        sl = sl * shade + stripes[None, :] * (1 + 0.2 * np.sin(k / 5))
        out[k] = sl + rng.normal(0, noise_sigma, (ny, nx))
    vol = make_volume(out, voxel_um, attrs={"source": "ionscope.synth.fibsem.image_stack"})
    truth = GroundTruth("ionscope.synth.fibsem.image_stack",
                        {"voxel_um": voxel_um, "noise_sigma": noise_sigma, "stripe_amplitude": stripe_amplitude,
                         "drift_step_px": drift_step_px, "shading": shading, "blur_px": blur_px,
                         "rotation_deg": rotation_deg, "shear": shear, "pore_back_px": pore_back_px,
                         "charging": charging, "charging_length_px": charging_length_px},
                        {"drift_px": drift, "transform": transforms, "rotation_deg": angles, "shear": gammas,
                         "stripes": stripes, "grey": {k: GREY[k] for k in PHASES},
                         "shading": shade})
    return vol, truth


def _pore_back(img: np.ndarray, labels: np.ndarray, grey: np.ndarray, lam: float) -> np.ndarray:
    """Pore voxels take the grey of the next solid voxel along +z, blended by exp(−depth/λ)."""
    pore = labels == PHASES["pore"]
    out = img.copy()
    behind = np.full(labels.shape, -1, np.int16)
    depth = np.zeros(labels.shape, np.float32)
    for d in range(1, min(int(np.ceil(4 * lam)), labels.shape[0] - 1) + 1):
        nxt = labels[d:]
        todo = pore[:-d] & (behind[:-d] < 0) & (nxt != PHASES["pore"])
        behind[:-d][todo] = nxt[todo]
        depth[:-d][todo] = d
    seen = pore & (behind >= 0)
    w = np.exp(-depth[seen] / lam)
    out[seen] = grey[PHASES["pore"]] + (grey[behind[seen]] - grey[PHASES["pore"]]) * w
    return out


def _charging(insulator: np.ndarray, amplitude: float, length: float, rng: np.random.Generator) -> np.ndarray:
    """Charge along each scan line (x): first-order lag of the insulator mask, random strength per line."""
    from scipy.signal import lfilter

    a = float(np.exp(-1.0 / length))
    charge = lfilter([1 - a], [1, -a], insulator.astype(np.float32), axis=2)
    line = rng.gamma(2.0, 0.5, insulator.shape[:2])[..., None]
    return (amplitude * charge * line).astype(np.float32)


def straight_channels(shape: tuple[int, int, int] = (20, 24, 24), *, axis: int = 2, width: int = 4,
                      pitch: int = 8, voxel_um: float | tuple[float, float, float] = 1.0):
    """Square channels running along ``axis`` through solid: τ = 1 along it, no percolation across."""
    labels = np.zeros(shape, np.uint8)
    other = [a for a in range(3) if a != axis]
    idx = np.indices(shape)
    ok = np.ones(shape, bool)
    for a in other:
        ok &= (idx[a] % pitch) < width
    labels[ok] = 1
    vol = label_volume(labels, {"solid": 0, "pore": 1}, voxel_um)
    return vol, GroundTruth("ionscope.synth.fibsem.straight_channels", {"shape": shape, "axis": axis},
                            {"tortuosity": 1.0, "volume_fraction": float(ok.mean())})


def layered_medium(diffusivities=(1.0, 0.5, 0.2, 0.1), *, layer_px: int = 6, lateral: int = 12):
    """A fully conducting (z, y, x) block of layers normal to x with relative diffusivities ``D_l``.

    Exact on the voxel grid (harmonic-mean face conductances): across the layers (x, in series)
    ``D_eff = 1 / mean(1/D_l)``; along them (z or y, in parallel) ``D_eff = mean(D_l)``; τ = ε/D_eff with ε = 1.
    """
    d = np.repeat(np.asarray(diffusivities, np.float32), layer_px)
    field = np.broadcast_to(d[None, None, :], (lateral, lateral, d.size)).copy()
    dl = np.asarray(diffusivities, float)
    return field, GroundTruth("ionscope.synth.fibsem.layered_medium",
                              {"diffusivities": dl.tolist(), "layer_px": layer_px, "lateral": lateral},
                              {"tau_x": float(np.mean(1.0 / dl)), "tau_z": float(1.0 / np.mean(dl)),
                               "tau_y": float(1.0 / np.mean(dl))})
