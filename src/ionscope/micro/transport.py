"""Electrode-scale transport: effective conductivity/diffusivity of phases and phase combinations,
MacMullin number, and the electrode tortuosity factor of a blocking electrode.

Effective coefficient
    Each voxel carries the intrinsic coefficient of its phase (e.g. electrolyte conductivity in
    the pores, or electronic conductivities of NMC and carbon-binder); the steady solve of
    :func:`ionscope.micro.tortuosity.solve_diffusion` (harmonic-mean face conductances, so layers
    in series are exact) gives ``k_eff``. With one conducting phase of bulk coefficient k₀,
    ``k_eff = k₀ ε / τ`` and the MacMullin number is ``N_M = k₀ / k_eff = τ / ε``.
Electrode tortuosity factor (blocking electrode)
    Nguyen et al., *npj Comput. Mater.* 6, 123 (2020), DOI 10.1038/s41524-020-00386-4: the
    impedance of a pore network filled with electrolyte, open to the separator at the first plane,
    blocked at the current collector (last plane), with double-layer charging on the pore/solid
    interface. At low frequency the charging current is spread uniformly over the interface area,
    and the real part of the impedance tends to ``R_ion/3`` (transmission line, de Levie 1963),
    ``R_ion = τ_e L / (ε k₀ A)``. Solving the steady problem ``∇·(k₀∇φ) = −s`` with the source s
    proportional to the interface area per voxel, φ = 0 at the separator face and no flux
    elsewhere, the dissipated power P = Σ g Δφ² for unit total current is that real part, so
    ``τ_e = 3 ε k₀ A P / L``. A uniform medium or straight channels give τ_e = 1 exactly.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ionscope.micro.phases import volume_axis
from ionscope.micro.tortuosity import (
    _F,
    DEFAULT_TOL,
    _axpy2,
    _build_levels,
    _dot,
    _level_apply,
    _update_p,
    _vcycle,
    _Work,
    label_phase,
    solve_diffusion,
)
from ionscope.model.errors import ValidationError
from ionscope.model.provenance import make_provenance
from ionscope.model.result import NoUncertainty, Quantity, Result
from ionscope.model.stages import Stage, silent_stage


def effective_coefficient(labels: np.ndarray, phases: Mapping[str, int], coefficients: Mapping[str, float],
                          axis: str | int, spacing: tuple[float, float, float], *, tol: float = DEFAULT_TOL) -> Result:
    """Effective transport coefficient along ``axis`` (``"z"``, ``"y"`` or ``"x"``) of the phases in
    ``coefficients`` (same unit as the coefficients); others insulate. Returns ``k_eff``, its solver
    error, the conducting fraction and, for one phase, τ and the MacMullin number.

    Returns
    -------
    Result
        ``micro.effective_coefficient``: ``conducting_fraction`` (1), ``percolating``, ``effective`` (unit
        of the coefficients; ``None`` with a ``reason`` when the phases do not percolate),
        ``relative_error``, ``iterations`` and, for one phase, ``tortuosity`` and ``macmullin`` (1).
    """
    axis = volume_axis(axis)
    bad = [n for n in coefficients if n not in phases]
    if bad:
        raise ValidationError(f"coefficients given for {bad}, not among the phases {list(phases)}")
    vals = [float(v) for v in coefficients.values()]
    if not all(math.isfinite(v) and v > 0 for v in vals):
        raise ValidationError(f"intrinsic coefficients must be positive and finite, got {dict(coefficients)}")
    labels = np.asarray(labels)
    kmax = max(vals)
    field = np.zeros(labels.shape, _F)
    for name, k in coefficients.items():
        field[labels == phases[name]] = k / kmax
    mask = field > 0
    sol = solve_diffusion(mask, "zyx"[axis], spacing, tol=tol, diffusivity=field)
    out: dict[str, Any] = {"conducting_fraction": sol.volume_fraction, "percolating": sol.percolating}
    if not sol.percolating:
        out.update({"effective": None, "reason": "the conducting phases do not connect the two faces"})
        return Result("micro.effective_coefficient", out)
    k_eff = sol.relative_diffusivity * kmax
    out.update({"effective": k_eff, "relative_error": sol.relative_error, "iterations": sol.iterations})
    if len(coefficients) == 1:
        out["tortuosity"] = sol.tortuosity
        out["macmullin"] = kmax / k_eff
    return Result("micro.effective_coefficient", out)


def interface_area_voxels(mask: np.ndarray, spacing: tuple[float, float, float]) -> np.ndarray:
    """Area (µm²) of the faces each voxel of ``mask`` shares with a voxel outside it."""
    m = np.asarray(mask, bool)
    area = np.zeros(m.shape, _F)
    faces = (spacing[1] * spacing[2], spacing[0] * spacing[2], spacing[0] * spacing[1])
    for ax in range(3):
        lo = [slice(None)] * 3
        hi = [slice(None)] * 3
        lo[ax], hi[ax] = slice(None, -1), slice(1, None)
        boundary = m[tuple(lo)] != m[tuple(hi)]
        area[tuple(lo)] += faces[ax] * (boundary & m[tuple(lo)])
        area[tuple(hi)] += faces[ax] * (boundary & m[tuple(hi)])
    return area


def electrode_tortuosity(mask: np.ndarray, axis: str | int, spacing: tuple[float, float, float] = (1.0, 1.0, 1.0), *,
                         tol: float = DEFAULT_TOL, rtol: float = 1e-7, max_iter: int = 2000) -> Result:
    """Electrode tortuosity factor τ_e of the pore ``mask`` (bool (z, y, x)) with the separator at
    the first plane normal to ``axis`` (``"z"``, ``"y"`` or ``"x"``) and a blocking current collector at
    the last (see module).

    Stops when four times the relative change of the dissipated power over the last iteration is
    below ``tol`` (reported as ``relative_error``) or the preconditioned residual fell by ``rtol``.

    Returns
    -------
    Result
        ``micro.electrode_tortuosity``: ``electrode_tortuosity`` (1; ``None`` with a ``reason`` when no
        open pore carries current), ``relative_error``, ``iterations``, ``volume_fraction`` and
        ``open_fraction`` (1).
    """
    mask = np.asarray(mask, bool)
    if mask.ndim != 3:
        raise ValidationError(f"the electrode tortuosity needs a 3-D pore mask, got shape {mask.shape}")
    axis = volume_axis(axis)
    sp = (float(spacing[0]), float(spacing[1]), float(spacing[2]))
    eps = float(mask.mean())
    lab, n = label_phase(mask)
    first = np.unique(np.take(lab, 0, axis=axis))
    keep = np.zeros(n + 1, bool)
    keep[first[first > 0]] = True
    cluster = keep[lab]
    del lab
    if not cluster.any():
        return Result("micro.electrode_tortuosity", {"electrode_tortuosity": None,
                                                     "reason": "no pore reaches the separator face"})
    area = interface_area_voxels(mask, sp) * cluster
    if area.sum() <= 0:
        return Result("micro.electrode_tortuosity", {"electrode_tortuosity": None,
                                                     "reason": "the open pores have no interface with the solid"})
    order = [a for a in range(3) if a != axis] + [axis]
    cl = np.ascontiguousarray(np.transpose(cluster, order))
    b = np.ascontiguousarray(np.transpose(area, order)) / _F(area.sum())
    s = [sp[a] for a in order]
    g = (s[1] * s[2] / s[0], s[0] * s[2] / s[1], s[0] * s[1] / s[2])
    levels = _build_levels(cl, g, 2.0 * g[2], gb_last=0.0)
    x = np.zeros_like(b)
    r = b.copy()
    work = _Work()
    z = _vcycle(levels, 0, r, work=work)
    p = z.copy()
    rz = rz0 = _dot(r, z)
    ap = np.empty_like(b)
    it, power, err = 0, 0.0, math.inf
    while rz > rtol**2 * rz0 and it < max_iter:
        it += 1
        _level_apply(levels[0], p, ap)
        pap = _dot(p, ap)
        if pap <= 0:
            break
        _axpy2(x, p, r, ap, _F(rz / pap))
        new = _dot(b, x)  # = Σ g Δφ² at the solution, for unit total current
        err = 4 * abs(new - power) / new if new > 0 else math.inf
        power = new
        if err <= tol:
            break
        z = _vcycle(levels, 0, r, work=work)  # overwrites the previous z, no longer needed
        rz_new = _dot(r, z)
        _update_p(p, z, _F(rz_new / rz))
        rz = rz_new
    length = cl.shape[2] * s[2]
    cross = cl.shape[0] * s[0] * cl.shape[1] * s[1]
    tau_e = 3.0 * eps * cross * power / length
    return Result("micro.electrode_tortuosity", {
        "electrode_tortuosity": float(tau_e), "relative_error": float(err if math.isfinite(err) else 0.0),
        "iterations": it, "volume_fraction": eps, "open_fraction": float(cluster.mean())})


_GIVEN = NoUncertainty.given("the intrinsic coefficient as given; its uncertainty is not known")


def transport_properties(volume: Any, coefficients: Mapping[str, float], *, unit: str = "1",
                         directions: Sequence[str] = ("x", "y", "z"), electrode_axis: str | None = None,
                         tol: float = 1e-2, source: Any = None,
                         stage: Stage | None = None) -> Result:
    """Effective coefficients, MacMullin numbers and the blocking-electrode tortuosity factor of a labelled volume.

    Parameters
    ----------
    volume
        Labelled phase volume (z, y, x) with spacing and phase names
        (:func:`~ionscope.micro.phases.label_volume`).
    coefficients
        Intrinsic coefficient of each conducting phase, in ``unit`` (e.g. ``{"pore": 1.0}``).
    unit
        Unit of the coefficients, kept on the effective ones (``S/m``, ``cm^2/s``; ``1`` for relative).
    directions
        Directions of the applied gradient, by name (``x``, ``y``, ``z``).
    electrode_axis
        Also the electrode tortuosity factor of the single conducting phase along this axis
        (Nguyen et al. 2020, *npj Comput. Mater.* 6, 123, doi:10.1038/s41524-020-00386-4).
    tol
        Relative accuracy asked of each solve; the solver's error estimate is the uncertainty.
    source
        The input file, recorded in the provenance.
    stage
        ``stage(name, total)``, the context of each stage (:mod:`ionscope.model.stages`; a progress bar).

    Returns
    -------
    Result
        ``micro.transport``: per direction ``effective`` (in ``unit``), ``tortuosity`` and
        ``macmullin`` (1) with the solver's error as uncertainty, or ``effective = None`` and a
        ``reason``; ``electrode_tortuosity`` when asked.
    """
    from ionscope.micro.phases import analysis_phases, axis_index, volume_spacing

    run = stage or silent_stage
    for d in [*directions, *([electrode_axis] if electrode_axis else [])]:
        axis_index(d)  # a wrong name fails here, before any solve
    if electrode_axis and len(coefficients) != 1:
        raise ValidationError("the electrode tortuosity factor needs exactly one conducting phase (the pore)")
    phases = analysis_phases(volume).phases
    spacing = volume_spacing(volume).zyx
    labels = np.asarray(volume.values)
    values: dict[str, Any] = {"coefficients": {k: Quantity(v, None, unit, why_no_uncertainty=_GIVEN)
                                               for k, v in coefficients.items()}}
    warnings: list[str] = []
    for d in directions:
        with run(f"effective coefficient {d}", None):
            r = effective_coefficient(labels, phases, coefficients, d, spacing, tol=tol)
        values[d] = _direction_entry(r, unit)
        if values[d]["effective"] is None:
            warnings.append(f"along {d}: {r['reason']}")
    if electrode_axis:
        name = next(iter(coefficients))
        with run(f"electrode tortuosity {electrode_axis}", None):
            e = electrode_tortuosity(labels == phases[name], electrode_axis, spacing, tol=tol)
        if e["electrode_tortuosity"] is None:
            values["electrode_tortuosity"] = {"value": None, "reason": e["reason"]}
            warnings.append(e["reason"])
        else:
            t = e["electrode_tortuosity"]
            values["electrode_tortuosity"] = Quantity(t, t * e["relative_error"], "1")
    parameters = {"coefficients": dict(coefficients), "unit": unit, "directions": list(directions),
                  "electrode_axis": electrode_axis, "tolerance": tol, "spacing_um": list(spacing)}
    return Result("micro.transport", values, tuple(warnings),
                  make_provenance("ionscope.micro.transport", inputs=[source] if source is not None else [],
                                  parameters=parameters))


def _direction_entry(r: Result, unit: str) -> dict[str, Any]:
    """One direction's effective coefficient (and τ, MacMullin number) as quantities with the solver's error."""
    if r["effective"] is None:
        return {"effective": None, "reason": r["reason"]}
    err = r["relative_error"]
    entry: dict[str, Any] = {"effective": Quantity(r["effective"], r["effective"] * err, unit)}
    if "macmullin" in r:
        entry["tortuosity"] = Quantity(r["tortuosity"], r["tortuosity"] * err, "1")
        entry["macmullin"] = Quantity(r["macmullin"], r["macmullin"] * err, "1")
    return entry

