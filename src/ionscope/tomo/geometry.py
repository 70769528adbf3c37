"""Imaging geometry of FIB-SEM serial sectioning with the SEM column at θ (52°) to the milled face.

The cross-section face is seen at an angle: lengths along the image y axis are foreshortened by
sin θ, so the true y pixel size is ``p_y / sin θ``. Each new slice moves the face by the slice
thickness t along the ion beam; in the SEM image this appears as a vertical shift of
``t·cos θ / p_y`` pixels per slice (the 'shear' of the raw stack), removed here unless alignment
on a fiducial already did. Slice thicknesses measured from the apparent (image) advance of the
face are divided by sin θ (tilt correction of the apparent thickness); Z. Liu et al., "FIB-SEM:
Emerging Multimodal/Multiscale Characterization Techniques for Advanced Battery Development",
*Chem. Rev.* (2024).
"""

from __future__ import annotations

import math

import numpy as np
import xarray as xr

from ionscope.model.arrays import make_volume
from ionscope.model.errors import ValidationError
from ionscope.model.provenance import make_provenance
from ionscope.tomo.align import apply_shifts


def _check_angle(angle_deg: float) -> float:
    if not (0 < angle_deg <= 90):
        raise ValidationError(f"imaging angle must be in (0, 90] degrees, got {angle_deg}")
    return math.radians(angle_deg)


def true_slice_thickness(apparent_um: float, angle_deg: float = 52.0) -> float:
    """Slice thickness (µm) from the apparent face advance seen in the tilted SEM image: t = t_app / sin θ."""
    return float(apparent_um) / math.sin(_check_angle(angle_deg))


def correct_view_geometry(vol: xr.DataArray, *, angle_deg: float = 52.0, remove_shear: bool = True) -> xr.DataArray:
    """Rescale y by 1/sin θ and remove the per-slice vertical shift t·cos θ / p_y (lazy, per slice)."""
    th = _check_angle(angle_deg)
    dz, dy, dx = (float(v) for v in vol.attrs.get("spacing_um") or (1, 1, 1))
    per_slice = dz * math.cos(th) / dy
    data = vol.data
    if remove_shear:
        shifts = np.zeros((vol.shape[0], 2))
        shifts[:, 0] = -per_slice * np.arange(vol.shape[0])
        data = apply_shifts(data, shifts)
    prov = make_provenance("ionscope.tomo.correct_view_geometry",
                           parameters={"angle_deg": angle_deg, "remove_shear": remove_shear,
                                       "shear_px_per_slice": per_slice},
                           parents=[vol.attrs["provenance"]] if "provenance" in vol.attrs else [])
    attrs = {k: v for k, v in vol.attrs.items() if k not in ("spacing_um", "units", "kind", "provenance")}
    return make_volume(data, (dz, dy / math.sin(th), dx), attrs=attrs, provenance=prov)
