"""The layer table of a depth profile: marker species, interfaces, layers, artefact flags and depths.

What ``ionscope depth layers`` reports, as one :class:`~ionscope.model.result.Result`: the marker
species (given, or chosen by :func:`~ionscope.depth.choose_marker_species`), the interfaces and
layers on the chosen axis (:func:`~ionscope.depth.find_layers`: 50 % points and 16–84 % widths),
the artefact flags (:func:`~ionscope.depth.check_artefacts`) and, when sputter rates are given,
every interface and layer converted to depth (nm) with the rates' uncertainty propagated.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr

from ionscope.depth.artefacts import check_artefacts
from ionscope.depth.axes import layer_thickness, to_depth
from ionscope.depth.interfaces import choose_marker_species, find_layers
from ionscope.model.result import Quantity, Result

#: Why a 50 % crossing of one species carries no uncertainty of its own.
_CROSSING_NOTE = ("the 50 % crossing of one species' smoothed profile; the interface position carries the "
                  "uncertainty")


def layer_table(profile: xr.DataArray, species: Sequence[str] | None = None, *, axis: str = "sputter_time",
                rates: Sequence[tuple[float, float]] | None = None) -> Result:
    """Interfaces and layers of ``profile``, with artefact flags and, given ``rates``, depths in nm.

    Parameters
    ----------
    profile
        Depth profile ``(scan, peak)``.
    species
        Marker species, one per layer from the top; ``None`` chooses them
        (:func:`~ionscope.depth.choose_marker_species`, recorded under ``species_chosen``).
    axis
        ``sputter_time``, ``dose``, ``fluence`` or ``scan``.
    rates
        Sputter rates as ``(value, 1σ)`` in nm/s, one for all layers or one per layer.

    Returns
    -------
    Result
        ``depth.layers``: ``interfaces``, ``layers``, ``artefacts`` (flag codes), ``species_chosen``
        when chosen, and with ``rates`` ``depth_interfaces``/``depth_layers`` in nm. Every position is a
        :class:`~ionscope.model.result.Quantity` in the axis' unit.
    """
    chosen = None
    if species is None:
        chosen = choose_marker_species(profile, axis=axis)
        species = list(chosen["species"])
    result = find_layers(profile, list(species), axis=axis)
    flags = check_artefacts(profile)
    values = dict(result.values)
    warnings = list(result.warnings) + list(flags.warnings)
    if rates is not None:
        time_layers = result if axis == "sputter_time" else find_layers(profile, list(species), axis="sputter_time")
        values.update(_in_depth(profile, time_layers, list(rates), warnings))
    values["artefacts"] = flags["codes"]
    if chosen is not None:
        values["species_chosen"] = dict(chosen.values)
    return Result("depth.layers", _positions_as_quantities(values), warnings=tuple(warnings),
                  provenance=result.provenance)


def _in_depth(profile: xr.DataArray, time_layers: Result, rates: list[tuple[float, float]],
              warnings: list[str]) -> dict[str, Any]:
    """Interfaces and layers (found on sputter time) converted to depth (nm) with the rates' 1σ."""
    switch = [i["position"] for i in time_layers["interfaces"]] if len(rates) > 1 else []
    converted = to_depth(profile, rates, interfaces_s=switch,
                         layer_species=[lay["dominant_species"] for lay in time_layers["layers"]])
    in_depth = converted.profile
    warnings += converted.warnings
    t = np.asarray(in_depth.sputter_time.values, float)
    z, uz = np.asarray(in_depth.depth.values, float), np.asarray(in_depth.depth_uncertainty.values, float)

    def at(q: Quantity) -> Quantity:
        zz = float(np.interp(q.value, t, z))
        dz = float(np.interp(q.value + (q.uncertainty or 0.0), t, z)) - zz
        return Quantity(zz, float(np.hypot(dz, np.interp(q.value, t, uz))), "nm")

    interfaces = [{"upper": i["upper"], "lower": i["lower"], "position": at(i["position"])}
                  for i in time_layers["interfaces"]]
    layers = [{"dominant_species": lay["dominant_species"], "species": lay["species"],
               "start": at(lay["start"]), "end": at(lay["end"]),
               "thickness": layer_thickness(lay["start"], lay["end"], rates, switch)}
              for lay in time_layers["layers"]]
    return {"depth_interfaces": interfaces, "depth_layers": layers}


def _positions_as_quantities(values: dict[str, Any]) -> dict[str, Any]:
    """Every axis position a quantity in the axis' unit, so no separate ``unit`` key is left."""
    unit = str(values.get("unit"))

    def fix(item: Any) -> Any:
        if isinstance(item, dict):
            return {k: (Quantity(v, None, unit, why_no_uncertainty=_CROSSING_NOTE)
                        if k in ("upper_fall_50", "lower_rise_50") and isinstance(v, float) else fix(v))
                    for k, v in item.items() if k != "unit"}
        return [fix(v) for v in item] if isinstance(item, list) else item

    return fix(values)


__all__ = ["layer_table"]
