"""Operando TOF-SIMS of a solid-state cell cross-section, after Xing et al. 2026, ACS Energy Lett. 11, 1889,
doi:10.1021/acsenergylett.5c03610.

The cell: NCA composite cathode (top), Li₂OHCl/LLTO composite electrolyte (middle) with one LLTO
grain touching the anode, LTO composite anode (bottom). It is cycled twice at 0.2 C
(0.03 mA cm⁻² on 0.2 cm² = 6 µA) with a 1 h CV hold after every CC step; capacities are exactly
29/25 µAh (cycle 1, 14 % irreversible) and 25/22 µAh (cycle 2). Ion images are integrated over long
windows (1600 s) while the cell runs.

Signals (matrix effects, eq. 1 of Xing et al. 2026: yield ∝ ionisation probability, which tracks the local
state of charge ``s``):

* ⁵⁸Ni⁺ in NCA particle p: ``Y = Y₀ (1 + g s_p)``. Particles are *reversible* (``s_p`` follows the
  cell's reversible SOC), *sluggish* (``s_p = a_p ·`` reversible SOC, a_p ≈ 0.3–0.45: shallower
  state of charge, reversible) or *irreversible* (charge, then stay charged: isolated particles).
* ⁴⁸Ti⁺ in LTO: ``Y = Y₀ (1 − g_Ti s)`` (falls on charge, recovers on discharge). In the LLTO grain
  next to the anode it falls with the irreversible charge and never recovers (reduction).
* ⁶Li⁺ rises mildly with SOC in NCA and drifts with the cumulative primary-ion dose everywhere
  (beam-induced redistribution), which a tracking analysis must not mistake for electrochemistry.
* ⁷Li⁺ (strong, dead-time saturated) and La⁺ (LLTO marker) are stable.

The reversible SOC splits the charge of every charge step into a reversible part (returned on
discharge) and an irreversible part (side reactions: LLTO reduction, isolated NCA), so it returns
to 0 at the end of each discharge; it is referenced to the first discharge capacity.

The sample drifts between frames (a random walk in pixels); geometry is rendered analytically at
each drifted position (anti-aliased edges, a band-limited texture shifted in Fourier space), so
the drift is exact and sub-pixel. Counts are binomial over the shots per pixel (dead time).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ionscope.model.provenance import make_provenance
from ionscope.synth.core import GroundTruth, SeedLike, dead_time_counts, make_rng
from ionscope.synth.particles import disc_labels

SPECIES = ("^6Li+", "^7Li+", "^48Ti+", "^58Ni+", "La+")
SPECIES_MZ = {"^6Li+": 6.01457, "^7Li+": 7.01545, "^48Ti+": 47.94740, "^58Ni+": 57.93479, "La+": 138.90581}
#: Mean counts per pixel per frame before dead time, by phase and species.
YIELDS: dict[str, dict[str, float]] = {
    "nca": {"^6Li+": 6.0, "^7Li+": 60.0, "^48Ti+": 0.5, "^58Ni+": 50.0, "La+": 0.3},
    "electrolyte": {"^6Li+": 9.0, "^7Li+": 100.0, "^48Ti+": 4.0, "^58Ni+": 1.0, "La+": 3.0},
    "llto": {"^6Li+": 4.0, "^7Li+": 45.0, "^48Ti+": 50.0, "^58Ni+": 0.5, "La+": 35.0},
    "lto": {"^6Li+": 7.0, "^7Li+": 80.0, "^48Ti+": 45.0, "^58Ni+": 0.5, "La+": 1.0},
}
NI_GAIN = 0.8          # ⁵⁸Ni⁺ yield rises by 80 % at full local SOC
TI_GAIN_LTO = 0.45     # ⁴⁸Ti⁺ in LTO falls by 45 % at full SOC
TI_LOSS_LLTO = 0.6     # ⁴⁸Ti⁺ in reduced LLTO falls by 60 % once the first cycle's irreversible charge has passed
LI6_SOC_GAIN = 0.3     # ⁶Li⁺ in NCA rises by 30 % at full local SOC
LI6_DOSE_GAIN = {"electrolyte": 0.25, "nca": -0.10, "llto": 0.15, "lto": 0.10}  # per unit of final dose
PHASES = ("electrolyte", "nca", "llto", "lto")
CLASSES = ("reversible", "sluggish", "irreversible")


@dataclass(frozen=True)
class CellDesign:
    """Cycling protocol of the synthetic cell (defaults: Xing et al. 2026)."""

    area_cm2: float = 0.2
    current_density_mA_cm2: float = 0.03
    capacities_uAh: tuple[tuple[float, float], ...] = ((29.0, 25.0), (25.0, 22.0))
    cv_hold_s: float = 3600.0
    cv_tau_s: float = 900.0
    rest_s: float = 600.0
    initial_rest_s: float = 3600.0
    dt_s: float = 10.0
    ocv_low_V: float = 1.9
    ocv_high_V: float = 2.55
    resistance_ohm: float = 8000.0


def _ocv(soc: np.ndarray, d: CellDesign) -> np.ndarray:
    s = np.clip(soc, 0, 1.2)
    return d.ocv_low_V + (d.ocv_high_V - d.ocv_low_V) * (0.75 * s + 0.25 * np.tanh(4 * (s - 0.5)) / np.tanh(2))


def synthetic_cycling_log(design: CellDesign | None = None) -> tuple[pd.DataFrame, GroundTruth]:
    """A noise-free cycling log: rest, then per cycle CC charge, CV hold, rest, CC discharge, CV hold, rest.

    The current is linear between samples (as the analysis integrates it); the CC duration of each
    step is solved so that the trapezoid integral of the step, CV tail included, equals the design
    capacity exactly.

    Returns
    -------
    log, truth
        Canonical cycling-log DataFrame and a :class:`GroundTruth` with the capacities (µAh),
        Coulombic efficiencies, irreversible fractions, the reversible SOC and the cumulative
        irreversible charge at every row.
    """
    d = design or CellDesign()
    i0 = d.current_density_mA_cm2 * 1e-3 * d.area_cm2
    q_ref = d.capacities_uAh[0][0] * 1e-6 * 3600  # A·s, SOC reference = first charge
    times: list[np.ndarray] = [np.arange(0.0, d.initial_rest_s, d.dt_s)]
    currents: list[np.ndarray] = [np.zeros(times[0].size)]
    kinds: list[np.ndarray] = [np.full(times[0].size, 0)]
    t = d.initial_rest_s
    n_cv = int(round(d.cv_hold_s / d.dt_s))
    cv_shape = np.exp(-np.arange(n_cv) * d.dt_s / d.cv_tau_s)
    q_cv = i0 * (d.dt_s * (cv_shape[:-1] + cv_shape[1:]).sum() / 2 + 0.5 * cv_shape[-1] * d.dt_s)
    cycle_rows: list[np.ndarray] = [np.ones(times[0].size, dtype=np.int64)]
    for c, caps in enumerate(d.capacities_uAh, start=1):
        for sign, cap in ((1.0, caps[0]), (-1.0, caps[1])):
            q_cc = cap * 1e-6 * 3600 - q_cv - 0.5 * i0 * d.dt_s  # the ramp interval into CC holds i0·dt/2
            t_cc = q_cc / i0
            if t_cc <= d.dt_s:
                raise ValueError("design capacity too small for the CV hold")
            tc = t + np.arange(0.0, t_cc, d.dt_s)
            tv = t + t_cc + np.arange(n_cv) * d.dt_s
            tr = tv[-1] + d.dt_s + np.arange(0.0, d.rest_s, d.dt_s)
            times += [tc, tv, tr]
            currents += [np.full(tc.size, sign * i0), sign * i0 * cv_shape, np.zeros(tr.size)]
            kinds += [np.full(tc.size, 1), np.full(tv.size, 2), np.full(tr.size, 0)]
            cycle_rows += [np.full(tc.size + tv.size + tr.size, c, dtype=np.int64)]
            t = tr[-1] + d.dt_s
    time = np.concatenate(times)
    cur = np.concatenate(currents)
    kind = np.concatenate(kinds)
    cycle = np.concatenate(cycle_rows)
    q = np.r_[0.0, np.cumsum(0.5 * (cur[1:] + cur[:-1]) * np.diff(time))]
    volt = _ocv(q / q_ref, d) + cur * d.resistance_ohm
    # CV holds sit at the voltage where CC ended
    step = np.cumsum(np.r_[True, (kind[1:] != kind[:-1]) | (np.sign(cur[1:]) != np.sign(cur[:-1]))])
    for s in np.unique(step[kind == 2]):
        rows = np.flatnonzero(step == s)
        volt[rows] = volt[rows[0] - 1]
    # reversible / irreversible split of the charge
    frac_irr = {c: (a - b) / a for c, (a, b) in enumerate(d.capacities_uAh, start=1)}
    dq = 0.5 * (cur[1:] + cur[:-1]) * np.diff(time)
    charging = (cur[1:] + cur[:-1]) > 0
    irr_part = np.where(charging, dq * np.array([frac_irr[c] for c in cycle[1:]]), 0.0)
    q_irr = np.r_[0.0, np.cumsum(irr_part)]
    q_rev = q - q_irr
    log = pd.DataFrame({"time_s": time, "voltage_V": volt, "current_A": cur, "capacity_Ah": q / 3600,
                        "cycle": cycle, "step": step.astype(np.int64)})
    log.attrs.update({"kind": "cycling_log", "source": "ionscope.synth.operando",
                      "units": {"time_s": "s", "voltage_V": "V", "current_A": "A", "capacity_Ah": "Ah",
                                "cycle": "", "step": ""}})
    truth = {
        "charge_uAh": [c[0] for c in d.capacities_uAh],
        "discharge_uAh": [c[1] for c in d.capacities_uAh],
        "coulombic_efficiency": [c[1] / c[0] for c in d.capacities_uAh],
        "irreversible_fraction": [(c[0] - c[1]) / c[0] for c in d.capacities_uAh],
        "soc_reversible": q_rev / (d.capacities_uAh[0][1] * 1e-6 * 3600),
        "irreversible_charge_uAh": q_irr / 3600 * 1e6,
        "cc_current_uA": i0 * 1e6,
    }
    params = {k: getattr(d, k) for k in d.__dataclass_fields__}
    return log, GroundTruth("ionscope.synth.operando.synthetic_cycling_log", params, truth)


def _soft_disc(yy: np.ndarray, xx: np.ndarray, cy: float, cx: float, r: float) -> np.ndarray:
    """Area fraction of each pixel inside a disc (linear edge ramp of one pixel)."""
    return np.clip(r - np.hypot(yy - cy, xx - cx) + 0.5, 0.0, 1.0)


def _soft_step(yy: np.ndarray, y0: float) -> np.ndarray:
    """Fraction of each pixel row below the boundary ``y0``."""
    return np.clip(yy - y0 + 0.5, 0.0, 1.0)


def _texture(shape: tuple[int, int], pad: int, rng: np.random.Generator, sigma_px: float = 2.5) -> np.ndarray:
    """Spectrum of a band-limited random texture (mean 0, sd ≈ 1) on a padded canvas."""
    ny, nx = shape[0] + 2 * pad, shape[1] + 2 * pad
    ky, kx = np.fft.fftfreq(ny)[:, None], np.fft.fftfreq(nx)[None, :]
    spec = np.fft.fft2(rng.standard_normal((ny, nx))) * np.exp(-2 * (np.pi * sigma_px) ** 2 * (ky**2 + kx**2))
    sd = np.fft.ifft2(spec).real.std()
    return spec / sd


def _shifted_texture(spec: np.ndarray, dy: float, dx: float, pad: int, shape: tuple[int, int]) -> np.ndarray:
    ny, nx = spec.shape
    ky, kx = np.fft.fftfreq(ny)[:, None], np.fft.fftfreq(nx)[None, :]
    img = np.fft.ifft2(spec * np.exp(-2j * np.pi * (ky * dy + kx * dx))).real
    return img[pad:pad + shape[0], pad:pad + shape[1]]


def _window_means(t: np.ndarray, f: np.ndarray, start: np.ndarray, end: np.ndarray, n_sub: int = 64) -> np.ndarray:
    grid = start[:, None] + (end - start)[:, None] * (np.arange(n_sub) + 0.5)[None, :] / n_sub
    return np.interp(grid, t, f).mean(axis=1)


def operando_cell(
    shape: tuple[int, int] = (96, 128),
    *,
    pixel_size_um: float = 0.5,
    n_particles: int = 9,
    radius_um: tuple[float, float] = (2.5, 4.5),
    classes: tuple[str, ...] | None = None,
    integration_s: float = 1600.0,
    frame_interval_s: float = 1800.0,
    shots_per_pixel: int = 600,
    primary_current_pA: float = 0.37,
    drift_step_px: float = 0.35,
    drift_trend_px: tuple[float, float] = (0.04, -0.03),
    texture: float = 0.12,
    design: CellDesign | None = None,
    seed: SeedLike = 0,
) -> tuple[tuple[Any, pd.DataFrame], GroundTruth]:
    """Simulate an operando TOF-SIMS series of a solid-state cell and its cycling log.

    Parameters
    ----------
    shape, pixel_size_um
        Field of view in pixels and pixel size (µm).
    n_particles, radius_um
        NCA particles in the cathode band (top 45 % of the field).
    classes
        Class of each particle (``reversible``/``sluggish``/``irreversible``); default cycles through
        reversible, reversible, sluggish, irreversible.
    integration_s, frame_interval_s
        Integration window of every frame and the time between frame starts (s).
    shots_per_pixel
        Primary-ion shots per pixel per frame (dead time; also the dose bookkeeping).
    primary_current_pA
        Mean (pulsed) primary-ion current, for the dose.
    drift_step_px, drift_trend_px
        Random-walk step (sd, px) and linear trend (px/frame, y and x) of the stage drift.
    texture
        Relative amplitude of the static sample texture.
    seed
        Random seed.

    Returns
    -------
    (series, log), truth
        The operando series (state, y, x, peak) of raw counts with acquisition windows, the cycling
        log, and a :class:`GroundTruth` with ``labels`` (particles 1…k), ``classes``, per-particle
        SOC trajectories per frame (``particle_soc``), the drift (``drift_px``: where the sample
        sits in each frame; the registration shift is its negative), ``phase`` map of frame 0,
        the LLTO/LTO masks and the capacities.
    """
    from ionscope.model.operando import make_operando_series

    rng = make_rng(seed)
    d = design or CellDesign()
    log, log_truth = synthetic_cycling_log(d)
    t_log = log["time_s"].to_numpy()
    t_end = t_log[-1]
    n_frames = int((t_end - integration_s) // frame_interval_s) + 1
    start = np.arange(n_frames) * frame_interval_s
    end = start + integration_s
    soc_rev_t = np.asarray(log_truth.truth["soc_reversible"])
    q_irr_t = np.asarray(log_truth.truth["irreversible_charge_uAh"])
    cap1 = d.capacities_uAh[0]
    llto_reduction_t = np.clip(q_irr_t / (cap1[0] - cap1[1]), 0, 1)

    ny, nx = shape
    cath_h = int(0.45 * ny)
    labels_cath, discs = disc_labels((cath_h, nx), n_particles,
                                     (radius_um[0] / pixel_size_um, radius_um[1] / pixel_size_um), seed=rng,
                                     gap_px=3.0)
    classes = _particle_classes(classes, len(discs))
    amplitude = np.array([rng.uniform(0.3, 0.45) if c == "sluggish" else 1.0 for c in classes])
    s_particles = _particle_soc(classes, amplitude, soc_rev_t)
    frames = _FrameSignals(
        particle_soc=np.array([_window_means(t_log, s, start, end) for s in s_particles]),  # (k, n)
        cell_soc=_window_means(t_log, soc_rev_t, start, end),
        llto_reduction=_window_means(t_log, llto_reduction_t, start, end),
        dose_fraction=np.arange(1, n_frames + 1) / n_frames - 0.5 / n_frames,  # mid-frame cumulative dose / final
    )

    steps = rng.normal(0.0, drift_step_px, size=(n_frames, 2)) + np.asarray(drift_trend_px)
    steps[0] = 0.0
    drift = np.cumsum(steps, axis=0)
    cell = _CellGeometry(shape, discs, _texture(shape, 16, rng))
    counts = np.empty((n_frames, ny, nx, len(SPECIES)), dtype=np.uint32)
    for f in range(n_frames):
        expected = _expected_frame(cell, drift[f], frames, f, texture)
        counts[f] = dead_time_counts(expected, shots_per_pixel, rng)

    labels = np.zeros(shape, dtype=np.int32)
    labels[:cath_h] = labels_cath
    yy, xx = cell.grid
    llto_mask = _soft_disc(yy, xx, *cell.llto_centre, cell.llto_radius) * (1 - _soft_step(yy, cell.y_anode)) >= 0.5
    lto_mask = _soft_step(yy, cell.y_anode) >= 0.5
    field_cm2 = (ny * pixel_size_um * 1e-4) * (nx * pixel_size_um * 1e-4)
    dose_per_frame = primary_current_pA * 1e-12 * integration_s / 1.602176634e-19 / field_cm2
    acquisition = {"instrument": "ionscope virtual TOF-SIMS", "technique": "TOF-SIMS", "polarity": "positive",
                   "primary_ion": "Bi3+", "primary_energy_keV": 30.0, "primary_current_pA": primary_current_pA,
                   "pixel_size_um": pixel_size_um, "raster_size_um": pixel_size_um * nx,
                   "shots_per_pixel": shots_per_pixel, "dead_time_corrected": False}
    params = {"shape": list(shape), "pixel_size_um": pixel_size_um, "n_particles": n_particles,
              "radius_um": list(radius_um), "integration_s": integration_s, "frame_interval_s": frame_interval_s,
              "shots_per_pixel": shots_per_pixel, "primary_current_pA": primary_current_pA,
              "drift_step_px": drift_step_px, "drift_trend_px": list(drift_trend_px), "texture": texture,
              "seed": seed if isinstance(seed, int) else None, "design": dict(log_truth.parameters)}
    truth = GroundTruth("ionscope.synth.operando.operando_cell", params, {
        **dict(log_truth.truth),
        "labels": labels, "discs_px": discs, "classes": list(classes), "amplitude": amplitude,
        "particle_soc": frames.particle_soc, "cell_soc_reversible": frames.cell_soc,
        "llto_reduction": frames.llto_reduction,
        "drift_px": drift, "shifts_px": -drift, "llto_mask": llto_mask, "lto_mask": lto_mask,
        "dose_per_frame_ions_cm2": dose_per_frame, "ni_gain": NI_GAIN,
    })
    series = make_operando_series(
        counts, SPECIES, pixel_size_um=pixel_size_um, time_start_s=start, time_end_s=end,
        mz=[SPECIES_MZ[s] for s in SPECIES], acquisition=acquisition,
        sample={"name": "synthetic NCA | Li2OHCl-LLTO | LTO solid-state cell", "preparation": "fib",
                "air_free_transfer": True, "measurement_mode": "operando"},
        attrs={"integration_s": integration_s},
        provenance=make_provenance("ionscope.synth.operando.operando_cell", inputs=[truth.as_input()]),
    )
    return (series, log), truth


def _particle_classes(classes: tuple[str, ...] | None, k: int) -> tuple[str, ...]:
    """The class of each of the ``k`` particles: as given (checked) or cycling through reversible,
    reversible, sluggish, irreversible."""
    if classes is None:
        cycle = ("reversible", "reversible", "sluggish", "irreversible")
        classes = tuple(cycle[i % 4] for i in range(k))
    if len(classes) != k:
        raise ValueError(f"{len(classes)} classes for {k} particles")
    bad = set(classes) - set(CLASSES)
    if bad:
        raise ValueError(f"unknown particle classes {bad}; use {CLASSES}")
    return classes


def _particle_soc(classes: tuple[str, ...], amplitude: np.ndarray, soc_rev_t: np.ndarray) -> list[np.ndarray]:
    """Local SOC of each particle on the log's clock: the reversible SOC scaled by the particle's
    amplitude, or (irreversible particles) charged with the cell and then kept near the peak."""
    peak_rev = np.maximum.accumulate(soc_rev_t)
    s_particles = []
    for c, a in zip(classes, amplitude):
        if c == "irreversible":
            s_particles.append(np.where(soc_rev_t >= peak_rev, soc_rev_t, peak_rev - 0.1 * (peak_rev - soc_rev_t)))
        else:
            s_particles.append(a * soc_rev_t)
    return s_particles


@dataclass(frozen=True)
class _FrameSignals:
    """Per-frame means over each integration window of what drives the yields."""

    particle_soc: np.ndarray    # (particle, frame) local SOC
    cell_soc: np.ndarray        # (frame,) reversible SOC of the cell
    llto_reduction: np.ndarray  # (frame,) fraction of the first cycle's irreversible charge passed
    dose_fraction: np.ndarray   # (frame,) mid-frame cumulative dose / final dose


class _CellGeometry:
    """Where the phases of the cross-section sit on the undrifted frame (pixels) and its texture."""

    pad = 16

    def __init__(self, shape: tuple[int, int], discs: Any, texture_spectrum: np.ndarray) -> None:
        ny, nx = shape
        self.shape = shape
        self.discs = discs
        self.texture_spectrum = texture_spectrum
        self.grid = np.mgrid[:ny, :nx].astype(float)
        self.y_anode = 0.75 * ny
        self.llto_centre = (0.68 * ny, 0.55 * nx)
        self.llto_radius = 0.09 * ny

    def covers(self, dy: float, dx: float) -> tuple[list[np.ndarray], np.ndarray, np.ndarray, np.ndarray]:
        """Area fraction per pixel of each NCA particle, of LLTO, LTO and the electrolyte, with the
        sample drifted by (dy, dx) px."""
        yy, xx = self.grid
        nca = np.zeros(self.shape)
        per_particle = []
        for cy, cx, r in self.discs:
            cov = _soft_disc(yy, xx, cy + dy, cx + dx, r)
            per_particle.append(cov)
            nca += cov
        nca = np.clip(nca, 0, 1)
        lto = _soft_step(yy, self.y_anode + dy)
        llto = _soft_disc(yy, xx, self.llto_centre[0] + dy, self.llto_centre[1] + dx, self.llto_radius) * (1 - lto)
        elec = np.clip(1 - nca - lto - llto, 0, 1)
        return per_particle, llto, lto, elec


def _expected_frame(cell: _CellGeometry, drift: np.ndarray, frames: _FrameSignals, f: int,
                    texture: float) -> np.ndarray:
    """Mean counts per pixel and species of frame ``f`` before dead time (matrix-effect yields of
    each phase, times the static texture), the sample drifted by ``drift`` px."""
    dy, dx = drift
    per_particle, llto, lto, elec = cell.covers(dy, dx)
    tex = 1 + texture * _shifted_texture(cell.texture_spectrum, dy, dx, cell.pad, cell.shape)
    dose = frames.dose_fraction[f]
    expected = np.empty((*cell.shape, len(SPECIES)))
    for j, sp in enumerate(SPECIES):
        e = (elec * YIELDS["electrolyte"][sp] + llto * YIELDS["llto"][sp] + lto * YIELDS["lto"][sp])
        if sp == "^48Ti+":
            e = e - llto * YIELDS["llto"][sp] * TI_LOSS_LLTO * frames.llto_reduction[f]
            e = e - lto * YIELDS["lto"][sp] * TI_GAIN_LTO * frames.cell_soc[f]
        if sp == "^6Li+":
            e = (elec * YIELDS["electrolyte"][sp] * (1 + LI6_DOSE_GAIN["electrolyte"] * dose)
                 + llto * YIELDS["llto"][sp] * (1 + LI6_DOSE_GAIN["llto"] * dose)
                 + lto * YIELDS["lto"][sp] * (1 + LI6_DOSE_GAIN["lto"] * dose))
        for p, cov in enumerate(per_particle):
            y0 = YIELDS["nca"][sp]
            if sp == "^58Ni+":
                y0 = y0 * (1 + NI_GAIN * frames.particle_soc[p, f])
            elif sp == "^6Li+":
                y0 = y0 * (1 + LI6_SOC_GAIN * frames.particle_soc[p, f]) * (1 + LI6_DOSE_GAIN["nca"] * dose)
            e = e + cov * y0
        expected[..., j] = np.clip(e, 0, None) * tex
    return expected


def expected_recovery(truth: GroundTruth, states: dict[str, int]) -> np.ndarray:
    """True recovery fraction of each particle's local SOC between the given key states."""
    s = np.asarray(truth.truth["particle_soc"])
    p, c, dch = states["pristine"], states["charged"], states["discharged"]
    return (s[:, c] - s[:, dch]) / (s[:, c] - s[:, p])
