"""Export a PyBaMM-style parameter set (JSON) from measured microstructure metrics.

Keys follow PyBaMM's parameter names for a positive electrode; the Bruggeman-free route is used:
PyBaMM's effective transport uses ``ε^b``; we report the measured tortuosity factor τ and the
equivalent Bruggeman exponent ``b = 1 + ln τ / ln(1/ε)`` (from D_eff/D = ε/τ = ε^b).
"""

from __future__ import annotations

import json
import math
from os import PathLike
from pathlib import Path
from typing import Any

from ionscope.io.atomic import write_text
from ionscope.model.errors import ValidationError


def pybamm_parameters(*, porosity: float, tortuosity: float, active_fraction: float, particle_radius_um: float,
                      thickness_um: float, electrode: str = "Positive") -> dict[str, Any]:
    """The parameter dictionary (SI units as PyBaMM expects: m)."""
    for name, v in (("porosity", porosity), ("active_fraction", active_fraction)):
        if not (0 < v < 1):
            raise ValidationError(f"{name} must lie in (0, 1), got {v}")
    if not (math.isfinite(tortuosity) and tortuosity >= 1):
        raise ValidationError(f"tortuosity factor must be finite and ≥ 1, got {tortuosity}")
    if not (particle_radius_um > 0 and thickness_um > 0):
        raise ValidationError("particle radius and thickness must be positive")
    e = electrode
    brugg = 1.0 + math.log(tortuosity) / math.log(1.0 / porosity)
    return {
        f"{e} electrode porosity": porosity,
        f"{e} electrode active material volume fraction": active_fraction,
        f"{e} particle radius [m]": particle_radius_um * 1e-6,
        f"{e} electrode thickness [m]": thickness_um * 1e-6,
        f"{e} electrode Bruggeman coefficient (electrolyte)": brugg,
        f"{e} electrode tortuosity factor (measured)": tortuosity,
    }


def write_pybamm_json(params: dict[str, Any], path: str | PathLike[str], *, force: bool = False) -> Path:
    """Write the parameter set as JSON atomically."""
    return write_text(path, json.dumps(params, indent=2), force=force)
