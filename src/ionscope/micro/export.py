"""From a segmented electrode volume to a cell-model parameter set (BPX or PyBaMM).

The microstructure determines, for one electrode:

* porosity ε (pore volume fraction);
* transport efficiency ε/τ along the through-thickness axis (BPX "Transport efficiency"; the
  Bruggeman-equivalent exponent b = 1 + ln τ / ln(1/ε) from D_eff/D = ε/τ = ε^b for PyBaMM);
* active material volume fraction;
* particle radius: half the volume-weighted median local thickness of the active phase
  (Hildebrand & Rüegsegger, *J. Microsc.* 185, 67, 1997);
* surface area per unit volume: the marching-cubes area between the active phase and the pore
  (the electrolyte-wetted area) per electrode volume.

Everything else (open-circuit potentials, kinetics, diffusivities, electrolyte, the other
electrode, the cell) comes from a base parameter set: a BPX file (Korotkin et al., "BPX: Battery
Parameter eXchange", 2023, validated with the ``bpx`` package) or a PyBaMM parameter set by name
(Sulzer et al., *J. Open Res. Softw.* 9, 14, 2021). The output says which value came from where.
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Mapping
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np

from ionscope.io.atomic import write_text
from ionscope.micro.local_thickness import local_thickness, size_distribution
from ionscope.micro.surface import surface_metrics
from ionscope.micro.tortuosity import DEFAULT_TOL, solve_diffusion
from ionscope.model.errors import FormatError, InputNotFoundError, UnsupportedError, ValidationError
from ionscope.model.result import Result

_AXES = {"z": 0, "y": 1, "x": 2}


def microstructure_parameters(labels: np.ndarray, phases: Mapping[str, int], spacing: tuple[float, float, float], *,
                              pore: str = "pore", active: str, axis: str = "z", tol: float = DEFAULT_TOL) -> Result:
    """The parameters the microstructure determines (SI units), each with its uncertainty estimate.

    Returns
    -------
    Result
        ``kind="micro.export.parameters"`` with plain numbers: ``porosity``, ``tortuosity`` and its
        solver ``tortuosity_relative_error``, ``transport_efficiency`` (ε/τ), ``active_fraction``,
        ``bruggeman`` (the exponent b with ε^b = ε/τ), ``particle_radius_m`` (m),
        ``surface_area_per_volume_per_m`` (m⁻¹) and ``axis``; read by item (``p["porosity"]``) or
        attribute.
    """
    for name in (pore, active):
        if name not in phases:
            raise ValidationError(f"phase {name!r} is not among {list(phases)}")
    if axis not in _AXES:
        raise ValidationError(f"axis must be x, y or z, got {axis!r}")
    labels = np.asarray(labels)
    if labels.ndim != 3 or min(labels.shape) < 2:
        raise ValidationError(f"a cell-model export needs a 3-D volume, got shape {labels.shape}")
    pmask = labels == phases[pore]
    amask = labels == phases[active]
    eps = float(pmask.mean())
    sol = solve_diffusion(pmask, axis, spacing, tol=tol)
    if not sol.percolating:
        raise ValidationError(f"the pore phase does not connect the faces normal to {axis}: no transport efficiency")
    surf = surface_metrics(labels, phases, spacing, tpb=False)
    key = f"{pore}-{active}" if f"{pore}-{active}" in surf["interfacial_area_per_um"] else f"{active}-{pore}"
    area_per_um = surf["interfacial_area_per_um"][key]
    d50_um = size_distribution(local_thickness(amask, spacing), amask)["d50"]
    return Result("micro.export.parameters", {
        "porosity": eps, "tortuosity": sol.tortuosity, "tortuosity_relative_error": sol.relative_error,
        "transport_efficiency": sol.relative_diffusivity, "active_fraction": float(amask.mean()),
        "bruggeman": 1.0 + math.log(sol.tortuosity) / math.log(1.0 / eps) if 0 < eps < 1 else math.nan,
        "particle_radius_m": 0.5 * d50_um * 1e-6, "surface_area_per_volume_per_m": area_per_um * 1e6,
        "axis": axis})


def to_bpx(params: Mapping[str, Any] | Result, base: str | PathLike[str], electrode: str) -> Result:
    """The base BPX document with this electrode's microstructure fields replaced, and the source of
    each field. Validated with the ``bpx`` package (``pip install 'ionscope[bpx]'``).

    Parameters
    ----------
    params
        The microstructure parameters (:func:`microstructure_parameters`).
    base
        The base BPX file.
    electrode
        ``"positive"`` or ``"negative"``.

    Returns
    -------
    Result
        ``kind="micro.export.bpx"``: ``document`` (the BPX document, BPX's own layout) and ``sources``
        (field → where its value came from).
    """
    try:
        import bpx
    except ImportError as exc:
        raise UnsupportedError("BPX export needs the bpx package: pip install 'ionscope[bpx]'") from exc
    path = Path(base)
    if not path.is_file():
        raise InputNotFoundError(f"base BPX file {path} not found", path=path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        bpx.parse_bpx_obj(copy.deepcopy(doc))
    except (ValueError, TypeError) as exc:
        raise FormatError(f"{path.name} is not a valid BPX file: {str(exc).splitlines()[0]}", path=path) from exc
    section = f"{electrode.capitalize()} electrode"
    el = doc["Parameterisation"][section]
    fields = {"Porosity": params["porosity"], "Transport efficiency": params["transport_efficiency"],
              "Particle radius [m]": params["particle_radius_m"],
              "Surface area per unit volume [m-1]": params["surface_area_per_volume_per_m"]}
    el.update(fields)
    try:
        bpx.parse_bpx_obj(copy.deepcopy(doc))
    except (ValueError, TypeError) as exc:
        raise ValidationError(f"the microstructure values make {path.name} invalid BPX: "
                              f"{str(exc).splitlines()[0]}") from exc
    sources = {f"{section}/{k}": "microstructure" for k in fields}
    sources["everything else"] = f"base BPX file {path.name}"
    return Result("micro.export.bpx", {"document": doc, "sources": sources})


def to_pybamm(params: Mapping[str, Any] | Result, base: str, electrode: str) -> Result:
    """PyBaMM parameter updates for the named base set (``pybamm.ParameterValues(base)``); needs
    the ``pybamm`` extra. The file holds the base name and the values to ``update`` it with.

    Parameters
    ----------
    params
        The microstructure parameters (:func:`microstructure_parameters`).
    base
        Name of a PyBaMM parameter set (e.g. ``"Chen2020"``).
    electrode
        ``"positive"`` or ``"negative"``.

    Returns
    -------
    Result
        ``kind="micro.export.pybamm"``: ``document`` (``{"base", "update"}``, the file's content) and
        ``sources`` (parameter → where its value came from).
    """
    try:
        import pybamm
    except ImportError as exc:
        raise UnsupportedError("PyBaMM export needs the pybamm extra: pip install 'ionscope[pybamm]'") from exc
    try:
        pybamm.ParameterValues(base)
    except Exception as exc:  # PyBaMM raises several types for an unknown set
        raise ValidationError(f"{base!r} is not a PyBaMM parameter set") from exc
    e = electrode.capitalize()
    short = "Positive" if e == "Positive" else "Negative"
    updates = {f"{e} electrode porosity": params["porosity"],
               f"{e} electrode active material volume fraction": params["active_fraction"],
               f"{short} particle radius [m]": params["particle_radius_m"],
               f"{e} electrode Bruggeman coefficient (electrolyte)": params["bruggeman"]}
    sources = {k: "microstructure" for k in updates}
    sources["everything else"] = f"PyBaMM parameter set {base}"
    return Result("micro.export.pybamm", {"document": {"base": base, "update": updates}, "sources": sources})


def write_export(doc: Mapping[str, Any], path: str | PathLike[str], *, force: bool = False) -> Path:
    """Write the exported document as JSON atomically."""
    return write_text(path, json.dumps(doc, indent=2), force=force)


def _microstructure_quantities(params: Mapping[str, Any] | Result) -> dict[str, Any]:
    """The microstructure parameters of an export as quantities (τ's solver error carried to ε/τ)."""
    from ionscope.model.result import Quantity

    err = params["tortuosity_relative_error"]
    counted = "counted from the voxels of this volume; its sampling uncertainty is not estimated here"
    size = "from the marching-cubes surface and local thickness at this voxel size; no uncertainty is estimated"
    tau, eff = params["tortuosity"], params["transport_efficiency"]
    return {"porosity": Quantity(params["porosity"], None, "1", why_no_uncertainty=counted),
            "tortuosity": Quantity(tau, tau * err, "1"),
            "transport_efficiency": Quantity(eff, eff * err, "1"),
            "active_fraction": Quantity(params["active_fraction"], None, "1", why_no_uncertainty=counted),
            "bruggeman": Quantity(params["bruggeman"], None, "1",
                                  why_no_uncertainty="derived from porosity and τ; not propagated"),
            "particle_radius": Quantity(params["particle_radius_m"], None, "m", why_no_uncertainty=size),
            "surface_area_per_volume": Quantity(params["surface_area_per_volume_per_m"], None, "m^-1",
                                                why_no_uncertainty=size),
            "axis": params["axis"]}


def export_summary(params: Mapping[str, Any] | Result, exported: Result, output: str | PathLike[str], *,
                   to: str, base: str, electrode: str, volume: str | PathLike[str], active: str, pore: str,
                   axis: str) -> Result:
    """What an export wrote and the microstructure numbers in it, with their uncertainties.

    Parameters
    ----------
    params : mapping or Result
        :func:`microstructure_parameters` of the volume.
    exported : Result
        :func:`to_bpx` or :func:`to_pybamm` of those parameters (its ``sources`` name where each
        exported value came from).
    output : str or PathLike
        The file :func:`write_export` wrote.
    to : str
        ``"bpx"`` or ``"pybamm"``.
    base : str
        The base BPX file or PyBaMM parameter-set name.
    electrode : str
        ``"positive"`` or ``"negative"``.
    volume : str or PathLike
        The label volume analysed (recorded in the provenance).
    active, pore : str
        Active-material and pore phase names.
    axis : str
        Through-thickness axis of the volume.

    Returns
    -------
    Result
        ``kind="micro.export"``: ``output``, ``format``, ``base``, ``electrode``, ``microstructure``
        (porosity, tortuosity and transport efficiency ε/τ with τ's relative solver error carried to
        both, active fraction, Bruggeman exponent, particle radius in m, surface area per volume in m⁻¹,
        axis) and ``sources``.
    """
    from ionscope.model.provenance import make_provenance

    inputs = [Path(volume), *([Path(base)] if to == "bpx" else [])]
    return Result("micro.export", {"output": str(output), "format": to, "base": base, "electrode": electrode,
                                   "microstructure": _microstructure_quantities(params),
                                   "sources": exported["sources"]}, (),
                  make_provenance("ionscope.micro.export", inputs=inputs,
                                  parameters={"electrode": electrode, "base": base, "to": to, "active": active,
                                              "pore": pore, "axis": axis}))
