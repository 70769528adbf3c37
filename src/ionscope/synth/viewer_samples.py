"""Small synthetic datasets of every kind the browser viewer shows, with known ground truth.

Each generator returns ``(data, GroundTruth)`` in the ionscope data model; :func:`write_viewer_samples`
stores the whole set (plus :func:`ionscope.synth.images.composite_cross_section`) as Zarr stores so
the viewer's end-to-end tests and screenshots do not depend on any reader.

The species share the masses of :data:`ionscope.synth.images.SPECIES_MZ` so a peak clicked in the
spectrum finds its ion image in the cross-section.
"""

from __future__ import annotations

from os import PathLike
from pathlib import Path

import numpy as np
import xarray as xr
from scipy.special import erf

from ionscope.model.arrays import coord, labelled, make_depth_profile, make_spectrum, make_volume, pixel_axis
from ionscope.synth.core import GroundTruth, SeedLike, make_rng, poisson_counts
from ionscope.synth.images import SPECIES_MZ, composite_cross_section
from ionscope.synth.particles import disc_labels

SPECIES = ["^7Li+", "^48Ti+", "^58Ni+", "^59Co+", "La+"]
#: Peak heights (counts at the maximum) of the synthetic spectrum.
SPECTRUM_HEIGHTS = {"^7Li+": 4000.0, "^48Ti+": 900.0, "^58Ni+": 2500.0, "^59Co+": 700.0, "La+": 1200.0}


def spectrum_sample(*, mz_range: tuple[float, float] = (1.0, 160.0), step: float = 0.005,
                    resolution: float = 4000.0, background: float = 2.0, seed: SeedLike = 0):
    """A positive-ion spectrum with Gaussian peaks at the species masses on a flat background.

    Parameters
    ----------
    mz_range, step
        m/z axis (m/z).
    resolution
        Mass resolving power m/Δm (FWHM).
    background
        Expected background counts per bin.

    Returns
    -------
    spectrum, truth
        Counts over ``mz``; truth holds ``peaks`` {species: m/z}.
    """
    rng = make_rng(seed)
    mz = np.arange(mz_range[0], mz_range[1], step)
    lam = np.full(mz.shape, background)
    for sp, h in SPECTRUM_HEIGHTS.items():
        m = SPECIES_MZ[sp]
        sigma = m / resolution / 2.3548
        lam += h * np.exp(-0.5 * ((mz - m) / sigma) ** 2)
    counts = poisson_counts(lam, rng).astype(np.float32)
    truth = GroundTruth("ionscope.synth.viewer_samples.spectrum_sample",
                        {"mz_range": list(mz_range), "step": step, "resolution": resolution, "seed": _seed(seed)},
                        {"peaks": {sp: SPECIES_MZ[sp] for sp in SPECTRUM_HEIGHTS}})
    acquisition = {"instrument": "ionscope virtual TOF-SIMS", "technique": "TOF-SIMS", "polarity": "positive"}
    return make_spectrum(counts, mz, name="counts", acquisition=acquisition), truth


#: Layers of the synthetic thin-film stack: name, thickness (nm), relative yield per species.
STACK = [
    ("LLTO electrolyte", 120.0, {"^7Li+": 1.0, "^48Ti+": 1.0, "^58Ni+": 0.01, "^59Co+": 0.01, "La+": 1.0}),
    ("NCA cathode", 200.0, {"^7Li+": 0.6, "^48Ti+": 0.01, "^58Ni+": 1.0, "^59Co+": 1.0, "La+": 0.01}),
    ("Pt current collector", 1e9, {"^7Li+": 0.01, "^48Ti+": 0.01, "^58Ni+": 0.02, "^59Co+": 0.01, "La+": 0.01}),
]
BASE_RATE = {"^7Li+": 3000.0, "^48Ti+": 800.0, "^58Ni+": 2000.0, "^59Co+": 500.0, "La+": 600.0}


def _layer_fractions(depth_nm: np.ndarray, width_nm: float) -> np.ndarray:
    """Fraction of each :data:`STACK` layer seen at ``depth_nm`` with erf-broadened interfaces."""
    bounds = np.cumsum([t for _, t, _ in STACK])[:-1]
    edge = [0.5 * (1 + erf((depth_nm - b) / (np.sqrt(2) * width_nm))) for b in bounds]
    fr = [1 - edge[0]]
    for i in range(1, len(bounds)):
        fr.append(edge[i - 1] - edge[i])
    fr.append(edge[-1])
    return np.stack(fr, axis=-1)


def depth_profile_sample(*, n_scans: int = 400, sputter_rate_nm_s: float = 0.5, interface_width_nm: float = 8.0,
                         dt_s: float = 2.0, current_pA: float = 5000.0, area_cm2: float = (300e-4) ** 2,
                         seed: SeedLike = 0):
    """A depth profile through electrolyte | cathode | current collector (Poisson counts).

    The interfaces lie at ``thickness / sputter_rate`` seconds (constant sputter rate), broadened by
    an error function of 1σ width ``interface_width_nm``. Dose = current × time / e; fluence =
    dose / area.

    Returns
    -------
    profile, truth
        Counts (scan, peak) with sputter_time (s), dose (ions), fluence (ions/cm²) and depth (nm);
        truth holds ``interfaces_s`` (the 50 % crossings) and ``layers``.
    """
    rng = make_rng(seed)
    t = (np.arange(n_scans) + 0.5) * dt_s
    depth = t * sputter_rate_nm_s
    frac = _layer_fractions(depth, interface_width_nm)
    lam = np.stack([BASE_RATE[sp] * sum(frac[:, i] * STACK[i][2][sp] for i in range(len(STACK)))
                    for sp in SPECIES], axis=-1)
    counts = poisson_counts(lam, rng).astype(np.float32)
    dose = current_pA * 1e-12 * t / 1.602176634e-19
    prof = make_depth_profile(counts, SPECIES, sputter_time_s=t, dose_ions=dose, fluence_ions_cm2=dose / area_cm2,
                              mz=[SPECIES_MZ[s] for s in SPECIES], name="counts")
    prof = prof.assign_coords(depth=coord("scan", depth, "nm"))
    bounds = np.cumsum([th for _, th, _ in STACK])[:-1]
    truth = GroundTruth("ionscope.synth.viewer_samples.depth_profile_sample",
                        {"n_scans": n_scans, "sputter_rate_nm_s": sputter_rate_nm_s,
                         "interface_width_nm": interface_width_nm, "dt_s": dt_s, "seed": _seed(seed)},
                        {"interfaces_s": list(bounds / sputter_rate_nm_s), "layers": [n for n, _, _ in STACK]})
    return prof, truth


def cube_sample(shape: tuple[int, int, int] = (60, 64, 64), *, pixel_size_um: float = 0.5,
                sputter_rate_nm_s: float = 2.0, dt_s: float = 4.0, scale: float = 0.02, seed: SeedLike = 0):
    """A 3D TOF-SIMS cube (scan, y, x, peak): cathode particles embedded in the electrolyte layer.

    Particles (discs) start below the electrolyte surface at 100 nm; below 400 nm lies the current
    collector. Counts per voxel are Poisson with ``scale`` × the profile rates of :data:`BASE_RATE`.

    Returns
    -------
    cube, truth
        Counts with sputter_time (s), y, x (µm), peak and mz; truth holds the particle ``labels``.
    """
    rng = make_rng(seed)
    ns, ny, nx = shape
    labels, _ = disc_labels((ny, nx), 6, (5.0, 10.0), seed=rng)
    t = (np.arange(ns) + 0.5) * dt_s
    depth = t * sputter_rate_nm_s
    below = 0.5 * (1 + erf((depth - 400.0) / (np.sqrt(2) * 10.0)))  # collector
    inside = 0.5 * (1 + erf((depth - 100.0) / (np.sqrt(2) * 10.0))) * (1 - below)  # particle depth range
    part = (labels > 0).astype(float)
    lam = np.empty((ns, ny, nx, len(SPECIES)))
    elec, cath, coll = (s[2] for s in STACK)
    for k, sp in enumerate(SPECIES):
        in_p = inside[:, None, None] * part[None]
        lam[..., k] = scale * BASE_RATE[sp] * (
            (1 - below[:, None, None] - in_p) * elec[sp] + in_p * cath[sp] + below[:, None, None] * coll[sp])
    counts = poisson_counts(lam, rng).astype(np.uint16)
    coords = {
        "scan": coord("scan", np.arange(ns), "index"),
        "sputter_time": coord("scan", t, "s"),
        "depth": coord("scan", depth, "nm"),
        "y": coord("y", pixel_axis(ny, pixel_size_um), "µm"),
        "x": coord("x", pixel_axis(nx, pixel_size_um), "µm"),
        "peak": xr.Variable("peak", np.asarray(SPECIES, dtype=str)),
        "mz": coord("peak", [SPECIES_MZ[s] for s in SPECIES], "m/z"),
    }
    cube = labelled(counts, "cube3d", coords=coords, name="counts")
    truth = GroundTruth("ionscope.synth.viewer_samples.cube_sample",
                        {"shape": list(shape), "pixel_size_um": pixel_size_um, "seed": _seed(seed)},
                        {"labels": labels, "interfaces_nm": [100.0, 400.0]})
    return cube, truth


def operando_sample(n_states: int = 24, shape: tuple[int, int] = (48, 48), *, pixel_size_um: float = 0.5,
                    capacity_uAh: float = 50.0, current_uA: float = 25.0, seed: SeedLike = 0):
    """An operando series (state, y, x, peak): Li leaves the cathode particles during a constant-current charge.

    The state of charge runs 0 → 1 over ``n_states`` frames at ``current_uA``; the cell voltage
    follows a smooth NCA-like curve 3.4 → 4.3 V; the Li⁺ yield inside particles falls as 1 − 0.8·SOC.

    Returns
    -------
    series, truth
        Counts with state coordinates time (s), voltage (V), charge (µAh); truth holds ``soc`` and
        the particle ``labels``.
    """
    rng = make_rng(seed)
    ny, nx = shape
    labels, _ = disc_labels(shape, 5, (4.0, 8.0), seed=rng)
    part = labels > 0
    soc = np.linspace(0.0, 1.0, n_states)
    charge = soc * capacity_uAh
    time = charge / current_uA * 3600.0
    voltage = 3.4 + 0.75 * soc + 0.15 * np.tanh((soc - 0.85) * 8) - 0.12 * np.exp(-soc * 20)
    rates = {"^7Li+": (60.0, 20.0), "^58Ni+": (3.0, 40.0), "^48Ti+": (25.0, 0.5)}
    sp = list(rates)
    lam = np.empty((n_states, ny, nx, len(sp)))
    for k, name in enumerate(sp):
        bg, pr = rates[name]
        pr_s = pr * (1 - 0.8 * soc) if name == "^7Li+" else np.full(n_states, pr)
        lam[..., k] = np.where(part[None], pr_s[:, None, None], bg)
    counts = poisson_counts(lam, rng).astype(np.uint16)
    coords = {
        "state": coord("state", np.arange(n_states), "index"),
        "time": coord("state", time, "s"),
        "voltage": coord("state", voltage, "V"),
        "charge": coord("state", charge, "µAh"),
        "y": coord("y", pixel_axis(ny, pixel_size_um), "µm"),
        "x": coord("x", pixel_axis(nx, pixel_size_um), "µm"),
        "peak": xr.Variable("peak", np.asarray(sp, dtype=str)),
        "mz": coord("peak", [SPECIES_MZ[s] for s in sp], "m/z"),
    }
    series = labelled(counts, "operando", coords=coords, name="counts",
                      sample={"name": "synthetic NCA cathode, operando charge", "measurement_mode": "operando"})
    truth = GroundTruth("ionscope.synth.viewer_samples.operando_sample",
                        {"n_states": n_states, "shape": list(shape), "seed": _seed(seed)},
                        {"soc": soc, "labels": labels, "li_particle_rate": rates["^7Li+"][1] * (1 - 0.8 * soc)})
    return series, truth


PHASES = {"pore": 0, "NMC": 1, "carbon-binder": 2}


def labelled_volume_sample(shape: tuple[int, int, int] = (40, 64, 64), *,
                           spacing_um: tuple[float, float, float] = (0.5, 0.39, 0.39), n_spheres: int = 18,
                           noise: float = 12.0, seed: SeedLike = 0) -> tuple[xr.Dataset, GroundTruth]:
    """A FIB-SEM-like volume: grey values and the phase labels they were drawn from.

    Spheres of NMC (label 1) with a carbon-binder shell (label 2) in pore (label 0); grey = 40/200/110
    per phase plus Gaussian noise of σ = ``noise``.

    Returns
    -------
    volume, truth
        A dataset with ``grey`` and ``labels`` (both kind volume, labels carry ``phases``); truth
        holds the volume fraction of every phase.
    """
    rng = make_rng(seed)
    nz, ny, nx = shape
    zz, yy, xx = np.mgrid[:nz, :ny, :nx]
    labels = np.zeros(shape, dtype=np.uint8)
    for _ in range(n_spheres):
        c = rng.uniform((0, 0, 0), shape)
        r = rng.uniform(5, 10)
        d2 = (zz - c[0]) ** 2 + (yy - c[1]) ** 2 + (xx - c[2]) ** 2
        labels[(d2 <= (r + 2) ** 2) & (labels == 0)] = 2
        labels[d2 <= r * r] = 1
    grey = np.choose(labels, [40.0, 200.0, 110.0]) + rng.normal(0, noise, shape)
    grey = np.clip(grey, 0, 255).astype(np.uint8)
    ds = xr.Dataset({"grey": make_volume(grey, spacing_um, units="grey"),
                     "labels": make_volume(labels, spacing_um, units="label", phases=PHASES)})
    fractions = {name: float(np.mean(labels == v)) for name, v in PHASES.items()}
    truth = GroundTruth("ionscope.synth.viewer_samples.labelled_volume_sample",
                        {"shape": list(shape), "spacing_um": list(spacing_um), "seed": _seed(seed)},
                        {"volume_fractions": fractions})
    return ds, truth


def write_viewer_samples(folder: str | PathLike[str], *, seed: int = 0, force: bool = True) -> dict[str, Path]:
    """Write one Zarr store of each kind into ``folder``; return {name: path}.

    Names: ``cross_section`` (ion_image), ``spectrum``, ``depth_profile``, ``cube`` (cube3d),
    ``operando``, ``volume`` (grey + labels).
    """
    from ionscope.io.zarr_store import save

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    made = {
        "cross_section": composite_cross_section(seed=seed)[0],
        "spectrum": spectrum_sample(seed=seed)[0],
        "depth_profile": depth_profile_sample(seed=seed)[0],
        "cube": cube_sample(seed=seed)[0],
        "operando": operando_sample(seed=seed)[0],
        "volume": labelled_volume_sample(seed=seed)[0],
    }
    return {name: save(obj, folder / f"{name}.zarr", force=force) for name, obj in made.items()}


def _seed(seed: SeedLike) -> int | None:
    return seed if isinstance(seed, int) else None


if __name__ == "__main__":  # python -m ionscope.synth.viewer_samples OUT_FOLDER
    import sys

    for name, path in write_viewer_samples(sys.argv[1] if len(sys.argv) > 1 else "viewer-samples").items():
        print(f"{name}: {path}")
