"""Through-thickness profiles: phase fraction ε(x) and tortuosity τ(x) in slabs along one axis."""

from __future__ import annotations

from typing import Any

import numpy as np

from ionscope.micro.phases import volume_axis
from ionscope.micro.tortuosity import solve_diffusion
from ionscope.model.result import Result
from ionscope.model.stages import Stage, silent_stage


def fraction_profile(mask: np.ndarray, axis: str | int, spacing: tuple[float, float, float]) -> Result:
    """ε at every plane normal to ``axis`` (``"z"``, ``"y"`` or ``"x"`` of a (z, y, x) mask); positions (µm)
    are plane centres.

    Returns
    -------
    Result
        ``micro.fraction_profile``: ``position_um`` (µm) and ``volume_fraction`` (1), one per plane.
    """
    axis = volume_axis(axis)
    other = tuple(a for a in range(3) if a != axis)
    eps = np.asarray(mask, bool).mean(axis=other)
    pos = (np.arange(mask.shape[axis]) + 0.5) * spacing[axis]
    return Result("micro.fraction_profile", {"position_um": pos.tolist(), "volume_fraction": eps.tolist()})


def tortuosity_profile(mask: np.ndarray, axis: str | int, spacing: tuple[float, float, float], *,
                       n_slabs: int = 4) -> Result:
    """τ through each of ``n_slabs`` consecutive slabs along ``axis`` (transport along ``axis``).

    Non-percolating slabs get τ = None and ``percolating: False``, never an infinite value.

    Returns
    -------
    Result
        ``micro.tortuosity_profile``: ``slabs``, one mapping per slab with ``from_um``, ``to_um`` (µm),
        ``volume_fraction``, ``percolating`` and ``tortuosity`` (1).
    """
    axis = volume_axis(axis)
    mask = np.asarray(mask, bool)
    n = mask.shape[axis]
    bounds = np.linspace(0, n, n_slabs + 1).astype(int)
    rows = []
    for a, b in zip(bounds[:-1], bounds[1:]):
        if b - a < 2:
            continue
        idx = [slice(None)] * 3
        idx[axis] = slice(a, b)
        sol = solve_diffusion(mask[tuple(idx)], "zyx"[axis], spacing)
        rows.append({"from_um": float(a * spacing[axis]), "to_um": float(b * spacing[axis]),
                     "volume_fraction": sol.volume_fraction, "percolating": sol.percolating,
                     "tortuosity": sol.tortuosity if sol.percolating else None})
    return Result("micro.tortuosity_profile", {"slabs": rows})


_POSITION_WHY = "position follows from the voxel size as given, whose uncertainty is not known"


def phase_profile(volume: Any, phase: str, *, axis: str = "z", slabs: int = 4, tortuosity: bool = True,
                  source: Any = None,
                  stage: Stage | None = None) -> Result:
    """Volume fraction of one phase at every plane along ``axis``, and τ through consecutive slabs.

    Parameters
    ----------
    volume
        Labelled phase volume (z, y, x) with spacing (:func:`~ionscope.micro.phases.label_volume`).
    phase
        Name of the phase.
    axis
        ``x``, ``y`` or ``z``; e.g. through the electrode thickness.
    slabs
        Number of slabs for τ(position); each needs at least two planes.
    tortuosity
        Also τ per slab (transport along ``axis``).
    source
        The input file, recorded in the provenance.
    stage
        ``stage(name, total)``, the context of each stage (:mod:`ionscope.model.stages`; a progress bar).

    Returns
    -------
    Result
        ``micro.profile``: positions (µm) and fractions per plane, and ``slabs`` with τ per slab.
    """
    from ionscope.micro.phases import axis_index, phase_mask, volume_spacing
    from ionscope.model.errors import ValidationError
    from ionscope.model.provenance import make_provenance
    from ionscope.model.result import suffixed_to_quantities

    run = stage or silent_stage
    index = axis_index(axis, "--axis")
    mask = phase_mask(volume, phase)
    if mask.shape[index] < 2 * max(slabs, 1):
        raise ValidationError(f"the volume has {mask.shape[index]} planes along {axis}: too few for "
                              f"{slabs} slabs of at least 2 planes")
    spacing = volume_spacing(volume).zyx
    values: dict[str, Any] = {"phase": phase, "axis": axis, **fraction_profile(mask, axis, spacing).values}
    if tortuosity:
        with run(f"τ in {slabs} slabs", None):
            values.update(tortuosity_profile(mask, axis, spacing, n_slabs=slabs).values)
    return Result("micro.profile", suffixed_to_quantities(values, _POSITION_WHY), (),
                  make_provenance("ionscope.micro.profile", inputs=[source] if source is not None else [],
                                  parameters={"phase": phase, "axis": axis, "slabs": slabs,
                                              "spacing_um": list(spacing)}))

