"""All microstructure metrics of a segmented volume in one Result (what ``ionscope micro metrics`` prints)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr

from ionscope.micro.fractions import percolation, pore_connectivity, volume_fractions
from ionscope.micro.local_thickness import local_thickness, size_distribution
from ionscope.micro.phases import check_phases, volume_spacing
from ionscope.micro.surface import surface_metrics
from ionscope.micro.tortuosity import solve_diffusion
from ionscope.model.errors import ValidationError
from ionscope.model.provenance import make_provenance
from ionscope.model.result import Quantity, Result

_AXES = {"z": 0, "y": 1, "x": 2}


def tortuosity(vol: xr.DataArray, phase: str, directions: Sequence[str] = ("x", "y", "z"),
               phases: Mapping[str, int] | None = None) -> Result:
    """Tortuosity factor of ``phase`` along each direction (TauFactor definition, see
    :mod:`ionscope.micro.tortuosity`); non-percolating directions give ``percolating: False`` and no τ."""
    ph = check_phases(vol, phases)
    if phase not in ph:
        raise ValidationError(f"phase {phase!r} is not in the phase map {ph}")
    sp = volume_spacing(vol)
    mask = np.asarray(vol.values) == ph[phase]
    values: dict[str, Any] = {"phase": phase, "volume_fraction": float(mask.mean())}
    warnings = []
    for d in directions:
        if d not in _AXES:
            raise ValidationError(f"direction must be x, y or z, got {d!r}")
        sol = solve_diffusion(mask, _AXES[d], sp)
        entry: dict[str, Any] = {"percolating": sol.percolating,
                                 "percolating_fraction": sol.percolating_fraction}
        if sol.percolating:
            # the flux mismatch between inlet and outlet bounds the solver error on τ
            entry["tortuosity"] = Quantity(sol.tortuosity, sol.tortuosity * sol.flux_mismatch, "1")
            entry["relative_diffusivity"] = sol.relative_diffusivity
            entry["iterations"] = sol.iterations
        else:
            warnings.append(f"phase {phase!r} does not percolate along {d}: no tortuosity")
        values[d] = entry
    prov = make_provenance("ionscope.micro.tortuosity", parameters={"phase": phase, "directions": list(directions),
                                                                      "spacing_um": sp})
    return Result("micro.tortuosity", values, warnings, prov)


def microstructure_metrics(vol: xr.DataArray, phases: Mapping[str, int] | None = None, *,
                           tortuosity_phases: Sequence[str] | None = None,
                           directions: Sequence[str] = ("x", "y", "z"), pore_phase: str | None = None,
                           sizes: bool = True, inputs: Sequence[Any] = ()) -> Result:
    """Volume fractions, percolation, surfaces, TPB density, τ per phase and direction and, with
    ``sizes``, each phase's continuous size distribution (local thickness, µm).

    ``tortuosity_phases`` defaults to every phase; ``pore_phase`` (default: a phase named 'pore')
    adds porosity, relative density and open/closed pores.
    """
    ph = check_phases(vol, phases)
    sp = volume_spacing(vol)
    labels = np.asarray(vol.values)
    fr = volume_fractions(labels, ph)
    surf = surface_metrics(labels, ph, sp)
    per_phase: dict[str, Any] = {}
    warnings: list[str] = []
    for name, val in ph.items():
        mask = labels == val
        perc = percolation(mask)
        entry: dict[str, Any] = {"label": val, "volume_fraction": fr[name],
                                 "specific_surface_area_per_um": surf["specific_surface_area_per_um"][name],
                                 "percolating": {d: perc[d]["percolating"] for d in "xyz"},
                                 "percolating_fraction": {d: perc[d]["percolating_fraction"] for d in "xyz"}}
        if tortuosity_phases is None or name in tortuosity_phases:
            taus: dict[str, Any] = {}
            for d in directions:
                if not perc[d]["percolating"]:
                    taus[d] = None
                    warnings.append(f"phase {name!r} does not percolate along {d}: tortuosity not defined")
                    continue
                sol = solve_diffusion(mask, _AXES[d], sp)
                taus[d] = sol.tortuosity
                entry.setdefault("relative_diffusivity", {})[d] = sol.relative_diffusivity
                entry.setdefault("tortuosity_solver_rel_error", {})[d] = sol.flux_mismatch
            entry["tortuosity"] = taus
        if sizes and mask.any() and not mask.all():
            entry["local_thickness_um"] = size_distribution(local_thickness(mask, sp), mask)
        per_phase[name] = entry
    values: dict[str, Any] = {"spacing_um": list(sp), "shape": list(labels.shape), "phases": per_phase,
                              "interfacial_area_per_um": surf["interfacial_area_per_um"],
                              "surface_definition": "voxel-face count × 2/3 (Crofton correction), per total volume"}
    if "tpb_density_per_um2" in surf:
        values["tpb_density_per_um2"] = surf["tpb_density_per_um2"]
    pore = pore_phase or ("pore" if "pore" in ph else None)
    if pore is not None:
        if pore not in ph:
            raise ValidationError(f"pore phase {pore!r} is not in the phase map {ph}")
        conn = pore_connectivity(labels == ph[pore])
        values["porosity"] = fr[pore]
        values["relative_density"] = 1.0 - fr[pore]
        values.update(conn)
    prov = make_provenance("ionscope.micro.microstructure_metrics", inputs=inputs,
                           parameters={"phases": ph, "spacing_um": sp, "directions": list(directions),
                                       "tortuosity_phases": list(tortuosity_phases or ph), "sizes": sizes})
    return Result("micro.metrics", values, warnings, prov)
