"""All microstructure metrics of a segmented volume in one Result (what ``ionscope micro metrics`` prints).

Work is shared between stages: each phase is labelled into face-connected clusters once, and the
labels serve percolation, open/closed pores and the percolating cluster of every τ direction.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr

from ionscope.micro.fractions import pore_connectivity
from ionscope.micro.local_thickness import local_thickness, size_distribution
from ionscope.micro.phases import analysis_phases, volume_spacing
from ionscope.micro.representativity import additive_uncertainty
from ionscope.micro.surface import AREA_CONVENTION, surface_metrics
from ionscope.micro.tortuosity import DEFAULT_TOL, label_phase, solve_diffusion
from ionscope.model.errors import ValidationError
from ionscope.model.provenance import make_provenance
from ionscope.model.result import NoUncertainty, Quantity, Result
from ionscope.model.stages import Stage, silent_stage

#: Why the voxel size is printed without an uncertainty.
SPACING_WHY = NoUncertainty.given("the voxel size as given or as recorded in the file; its uncertainty is not known")
#: Why the face-count areas have no uncertainty.
FACE_COUNT_WHY = ("the voxel-face count (TauFactor's convention, Cooper et al. 2016, "
                  "doi:10.1016/j.softx.2016.09.002) is given for comparison; the representativity 1σ is estimated "
                  "for the marching-cubes area only")
#: Why the areas between two phases have no uncertainty.
INTERFACE_WHY = "the representativity 1σ is estimated for the surface area of each phase, not per pair of phases"
#: Why the TPB densities have no uncertainty.
TPB_WHY = "no representativity 1σ is estimated for the triple-phase-boundary density"
#: Why surface areas have no uncertainty when the representativity is not asked for.
NO_REPRESENTATIVITY_WHY = "representativity not asked for (representativity=False): no 1σ is estimated"
#: Why a fraction or area has no representativity 1σ although it was asked for.
TOO_FEW_BLOCKS_WHY = "the volume holds fewer than 8 subvolume blocks: the representativity 1σ cannot be fitted"


def _representativity_why(representativity: bool, unc: float | None) -> str | None:
    """Why a volume fraction or surface area has no representativity 1σ ``unc`` (``None`` when it has one)."""
    if unc is not None:
        return None
    return TOO_FEW_BLOCKS_WHY if representativity else NO_REPRESENTATIVITY_WHY

_AXES = {"z": 0, "y": 1, "x": 2}
METRICS = ("fractions", "surfaces", "tpb", "percolation", "tortuosity", "sizes")
"""Names accepted by ``only``/``skip`` (``--only``/``--skip`` on the command line)."""





def select_metrics(only: Iterable[str] | None = None, skip: Iterable[str] | None = None) -> list[str]:
    """The metrics to compute from ``only``/``skip`` name lists; unknown names are refused."""
    only = [s.strip() for s in only or () if s.strip()]
    skip = [s.strip() for s in skip or () if s.strip()]
    bad = sorted(set(only + skip) - set(METRICS))
    if bad:
        raise ValidationError(f"unknown metric(s) {', '.join(bad)}; choose from {', '.join(METRICS)}")
    chosen = [m for m in METRICS if (not only or m in only) and m not in skip]
    if not chosen:
        raise ValidationError("--only/--skip leave no metric to compute")
    return chosen


def default_directions(two_d: bool) -> list[str]:
    """The directions of the data: x, y for a 2-D image (a single z plane), x, y, z for a volume."""
    return ["x", "y"] if two_d else ["x", "y", "z"]


def _directions(directions: Sequence[str] | None, two_d: bool) -> list[str]:
    """``directions`` checked against the data's dimensionality; ``None``: :func:`default_directions`."""
    if directions is None:
        return default_directions(two_d)
    out = []
    for d in directions:
        if d not in _AXES:
            raise ValidationError(f"direction must be x, y or z, got {d!r}")
        if d in out:
            raise ValidationError(f"direction {d!r} given twice")
        out.append(d)
    if two_d and "z" in out:
        raise ValidationError("a 2-D image has no z direction: give directions among x, y")
    return out


def _percolation(lab: np.ndarray, n: int, total: int, axes: Sequence[str]) -> dict[str, dict[str, Any]]:
    sizes = np.bincount(lab.ravel(), minlength=n + 1)
    out: dict[str, dict[str, Any]] = {}
    for name in axes:
        ax = _AXES[name]
        a = np.unique(np.take(lab, 0, axis=ax))
        b = np.unique(np.take(lab, -1, axis=ax))
        keep = np.intersect1d(a[a > 0], b[b > 0])
        out[name] = {"percolating": bool(keep.size), "percolating_fraction": float(sizes[keep].sum()) / max(total, 1)}
    return out


def _tau_stage(stage: Stage, phase: str, d: str, mask: np.ndarray, sp: tuple[float, float, float],
               labels: tuple[np.ndarray, int], tol: float) -> Any:
    with stage(f"τ {phase} {d}", 100.0) as task:
        def report(it: int, tau: float, err: float) -> None:
            done = 100.0 * min(1.0, max(0.0, math.log(max(err, 1e-30)) / math.log(tol))) if math.isfinite(err) else 0
            task.update(completed=done, description=f"τ {phase} {d}: iteration {it}, τ ≈ {tau:.4g}, error {err:.1e}")

        return solve_diffusion(mask, d, sp, tol=tol, labels=labels, callback=report)


def _tau_entry(sol: Any) -> dict[str, Any]:
    # the solver's error estimate (flux mismatch, last change) bounds its error on τ and D_eff/D
    return {"tortuosity": Quantity(sol.tortuosity, sol.tortuosity * sol.relative_error, "1"),
            "relative_diffusivity": Quantity(sol.relative_diffusivity, sol.relative_diffusivity * sol.relative_error,
                                             "1"),
            "iterations": sol.iterations, "solver_relative_error": sol.relative_error}


def tortuosity(vol: xr.DataArray, phase: str, directions: Sequence[str] | None = None,
               phases: Mapping[str, int] | None = None, *, tol: float = DEFAULT_TOL) -> Result:
    """Tortuosity factor of ``phase`` along each direction (TauFactor definition, see
    :mod:`ionscope.micro.tortuosity`); non-percolating directions give ``percolating: False`` and no τ.
    ``directions`` default to those of the data (x, y for a 2-D image, x, y, z for a volume)."""
    ph = analysis_phases(vol, phases).phases
    if phase not in ph:
        raise ValidationError(f"phase {phase!r} is not in the phase map {ph}")
    sp = volume_spacing(vol).zyx
    mask = np.asarray(vol.values) == ph[phase]
    labels = label_phase(mask)
    values: dict[str, Any] = {"phase": phase, "volume_fraction": float(mask.mean()), "tolerance": tol}
    warnings = []
    directions = _directions(directions, mask.shape[0] == 1)
    for d in directions:
        sol = solve_diffusion(mask, d, sp, tol=tol, labels=labels)
        entry: dict[str, Any] = {"percolating": sol.percolating, "percolating_fraction": sol.percolating_fraction}
        if sol.percolating:
            entry.update(_tau_entry(sol))
        else:
            warnings.append(f"phase {phase!r} does not percolate along {d}: no tortuosity")
        values[d] = entry
    prov = make_provenance("ionscope.micro.tortuosity", parameters={"phase": phase, "directions": list(directions),
                                                                      "spacing_um": sp, "tolerance": tol})
    return Result("micro.tortuosity", values, tuple(warnings), prov)


def microstructure_metrics(vol: xr.DataArray, phases: Mapping[str, int] | None = None, *,
                           metrics: Sequence[str] | None = None, tortuosity_phases: Sequence[str] | None = None,
                           directions: Sequence[str] | None = None, pore_phase: str | None = None,
                           sizes: bool = True, tol: float = DEFAULT_TOL, representativity: bool = True,
                           inputs: Sequence[Any] = (), stage: Stage | None = None) -> Result:
    """Volume fractions, surfaces (two conventions), TPB density, percolation, τ per phase and
    direction and each phase's continuous size distribution (local thickness, µm).

    Parameters
    ----------
    metrics
        Subset of :data:`METRICS` (default all; ``sizes=False`` drops ``sizes``).
    tortuosity_phases
        Phases whose τ is solved (default every analysed phase); each must be analysed.
    directions
        Directions of τ and percolation among x, y, z; default: those of the data (x, y for a 2-D
        image, x, y, z for a volume).
    tol
        Relative accuracy asked of τ (see :func:`ionscope.micro.tortuosity.solve_diffusion`).
    representativity
        Attach to fractions and surface areas the 1σ spread expected between volumes of this size
        (integral-range fit over subvolumes, Kanit et al., *Int. J. Solids Struct.* 40, 3647, 2003;
        the question ImageRep answers, Dahari et al., arXiv:2410.19568, 2024).
    stage
        ``stage(name, total)`` returning a context manager whose value has ``advance``/``update``
        (e.g. ``ionscope.cli.common.progress``): one per stage, for progress bars.
    """
    stage = stage or silent_stage
    chosen = list(metrics or METRICS)
    if not sizes and "sizes" in chosen:
        chosen.remove("sizes")
    found = analysis_phases(vol, phases)
    ph, unnamed = found.phases, found.unnamed
    sp = volume_spacing(vol).zyx
    labels = np.asarray(vol.values)
    two_d = labels.shape[0] == 1
    dirs = _directions(directions, two_d)
    _check_tortuosity_phases(tortuosity_phases, ph)
    warnings = _input_warnings(unnamed, two_d)
    per_phase = _fractions(labels, ph, sp, representativity, stage)
    spacing_list: Any = list(sp)  # an array Quantity: its value is a list (the annotation says float)
    values: dict[str, Any] = {"spacing_um": list(sp),
                              "spacing": Quantity(spacing_list, None, "µm", why_no_uncertainty=SPACING_WHY),
                              "shape": list(labels.shape), "dimensions": 2 if two_d else 3,
                              "metrics": chosen, "phases": per_phase, "unnamed_labels": unnamed}
    if "surfaces" in chosen or "tpb" in chosen:
        warnings += _surfaces_and_tpb(values, labels, ph, sp, chosen, representativity, stage)
    tph = list(ph) if tortuosity_phases is None else list(tortuosity_phases)
    axes = [d for d in "xyz" if not (two_d and d == "z")]
    for name, val in ph.items():
        warnings += _phase_structure(per_phase[name], name, labels == val, sp, chosen, name in tph, axes, dirs,
                                     tol, stage)
    _add_porosity(values, labels, ph, pore_phase, chosen)
    if "tortuosity" in chosen:
        values["tortuosity_tolerance"] = tol
    prov = make_provenance("ionscope.micro.microstructure_metrics", inputs=inputs,
                           parameters={"phases": ph, "spacing_um": sp, "directions": dirs, "metrics": chosen,
                                       "tortuosity_phases": tph, "tolerance": tol})
    return Result("micro.metrics", values, tuple(warnings), prov)


def _check_tortuosity_phases(tortuosity_phases: Sequence[str] | None, ph: Mapping[str, int]) -> None:
    """Refuse τ phases that are not among the analysed phases."""
    if tortuosity_phases is not None:
        bad = [t for t in tortuosity_phases if t not in ph]
        if bad:
            raise ValidationError(f"--tortuosity names {', '.join(map(repr, bad))}, not among the analysed phases "
                                  f"{', '.join(ph)}")


def _input_warnings(unnamed: list[int], two_d: bool) -> list[str]:
    """Warnings about the input itself: unnamed label values, a 2-D image."""
    warnings: list[str] = []
    if unnamed:
        warnings.append(f"label values {unnamed[:10]} have no phase name: listed as unnamed, not analysed "
                        "(they count in the total volume)")
    if two_d:
        warnings.append("2-D image: surfaces are boundary lengths per area, percolation and τ are in-plane, "
                        "local thickness uses discs; no triple-phase boundary")
    return warnings


def _fractions(labels: np.ndarray, ph: Mapping[str, int], sp: tuple[float, float, float], representativity: bool,
               stage: Stage) -> dict[str, Any]:
    """Per phase: its label and its volume fraction (with the representativity 1σ when asked)."""
    n = labels.size
    per_phase: dict[str, Any] = {}
    with stage("fractions", len(ph)) as task:
        for name, val in ph.items():
            mask = labels == val
            eps = float(np.count_nonzero(mask)) / n
            unc = additive_uncertainty(mask, sp)["uncertainty"] if representativity else None
            per_phase[name] = {"label": val,
                               "volume_fraction": Quantity(eps, unc, "1", _representativity_why(representativity, unc))}
            task.advance(1)
    return per_phase


def _surfaces_and_tpb(values: dict[str, Any], labels: np.ndarray, ph: Mapping[str, int],
                      sp: tuple[float, float, float], chosen: Sequence[str], representativity: bool,
                      stage: Stage) -> list[str]:
    """Add surface areas and the TPB densities (as chosen) to ``values``; return the warnings."""
    with stage("surfaces" + (" and TPB" if "tpb" in chosen else ""), None):
        surf = surface_metrics(labels, ph, sp, tpb="tpb" in chosen)
    if "surfaces" in chosen:
        _add_surfaces(values, surf, labels, ph, sp, representativity, stage)
    if "tpb" in chosen and "tpb_density_per_um2" in surf:
        values["tpb_density_per_um2"] = Quantity(surf["tpb_density_per_um2"], None, "µm^-2", TPB_WHY)
        values["tpb_edge_density_per_um2"] = Quantity(surf["tpb_edge_density_per_um2"], None, "µm^-2", TPB_WHY)
    elif "tpb" in chosen:
        return ["TPB density needs exactly three named phases filling a 3-D volume: not computed"]
    return []


def _phase_structure(entry: dict[str, Any], name: str, mask: np.ndarray, sp: tuple[float, float, float],
                     chosen: Sequence[str], solve_tau: bool, axes: Sequence[str], dirs: Sequence[str], tol: float,
                     stage: Stage) -> list[str]:
    """Add one phase's percolation, τ per direction and size distribution (as chosen) to its
    ``entry``; return the warnings. The face-connected labels are computed once and shared."""
    warnings: list[str] = []
    lab = None
    if "percolation" in chosen or "tortuosity" in chosen:
        with stage(f"percolation {name}", None):
            lab = label_phase(mask)
            perc = _percolation(lab[0], lab[1], int(np.count_nonzero(mask)), axes)
        if "percolation" in chosen:
            entry["percolating"] = {d: perc[d]["percolating"] for d in axes}
            entry["percolating_fraction"] = {d: perc[d]["percolating_fraction"] for d in axes}
    if "tortuosity" in chosen and solve_tau and lab is not None:  # lab is set whenever τ is chosen
        taus: dict[str, Any] = {}
        for d in dirs:
            if not perc[d]["percolating"]:
                taus[d] = {"tortuosity": None, "reason": f"{name} does not connect the two faces normal to {d}"}
                warnings.append(f"phase {name!r} does not percolate along {d}: tortuosity not defined")
                continue
            taus[d] = _tau_entry(_tau_stage(stage, name, d, mask, sp, lab, tol))
        entry["tortuosity"] = taus
    del lab
    if "sizes" in chosen and mask.any() and not mask.all():
        with stage(f"local thickness {name}", None):
            entry["local_thickness_um"] = size_distribution(local_thickness(mask, sp), mask)
    return warnings


def _add_porosity(values: dict[str, Any], labels: np.ndarray, ph: Mapping[str, int], pore_phase: str | None,
                  chosen: Sequence[str]) -> None:
    """Add porosity, relative density and (with percolation) open/closed pores of the pore phase."""
    pore = pore_phase or ("pore" if "pore" in ph else None)
    if pore is None:
        return
    if pore not in ph:
        raise ValidationError(f"pore phase {pore!r} is not in the phase map {ph}")
    values["porosity"] = values["phases"][pore]["volume_fraction"]
    eps = values["porosity"]
    values["relative_density"] = Quantity(1.0 - eps.value, eps.uncertainty, "1")
    if "percolation" in chosen:
        values.update(pore_connectivity(labels == ph[pore]).values)


def _add_surfaces(values: dict[str, Any], surf: Result, labels: np.ndarray, ph: Mapping[str, int],
                  sp: tuple[float, float, float], representativity: bool, stage: Stage) -> None:
    unc: dict[str, float | None] = dict.fromkeys(ph)
    if representativity:
        from ionscope.micro.surface import marching_cubes_density

        with stage("surface representativity", len(ph)) as task:
            for name, val in ph.items():
                dens = marching_cubes_density(labels == val, sp)
                unc[name] = additive_uncertainty(dens, sp)["uncertainty"]
                task.advance(1)
    for name in ph:
        entry = values["phases"][name]
        entry["specific_surface_area_per_um"] = Quantity(surf["specific_surface_area_per_um"][name], unc[name],
                                                         "µm^-1", _representativity_why(representativity, unc[name]))
        entry["face_count_area_per_um"] = Quantity(surf["face_count_area_per_um"][name], None, "µm^-1",
                                                   FACE_COUNT_WHY)
    values["interfacial_area_per_um"] = {k: Quantity(v, None, "µm^-1", INTERFACE_WHY)
                                         for k, v in surf["interfacial_area_per_um"].items()}
    values["face_count_interfacial_area_per_um"] = {k: Quantity(v, None, "µm^-1", FACE_COUNT_WHY)
                                                    for k, v in surf["face_count_interfacial_area_per_um"].items()}
    values["area_convention"] = AREA_CONVENTION
