"""What an ion-image extraction or event binning produced, as one :class:`~ionscope.model.result.Result`."""

from __future__ import annotations

from os import PathLike
from typing import Any

import numpy as np
import xarray as xr

from ionscope.io.tof_check import check_quantities
from ionscope.model.result import NoUncertainty, Quantity, Result


def ion_image_summary(images: xr.DataArray, out: str | PathLike[str] | None, kind: str) -> Result:
    """Per peak: window centre (m/z), total counts and the brightest pixel, with Poisson 1σ (√N).

    Parameters
    ----------
    images
        Ion images (y, x, peak) or a cube, as :func:`~ionscope.imaging.ion_images` or
        :func:`~ionscope.imaging.bin_events` return them.
    out
        Where the images were written, if anywhere (recorded in the result).
    kind
        The result's kind (``imaging.ion_images``, ``imaging.bin_events``).
    """
    labels: list[Any] = list(images["peak"].values) if "peak" in images.dims else []
    stats = [_plane_stats(np.asarray(images.isel(peak=k).values, dtype=float)) for k in range(len(labels))]
    unit, counted = _intensity_unit(images, all(integral for _, _, integral in stats))
    warnings = list(images.attrs.get("warnings") or ())
    if not counted:
        warnings.append(f"the intensities are not integer counts (unit {unit!r}: normalised or rescaled by the "
                        "acquisition software), so no Poisson uncertainty (√N) is given for the totals")
    per_peak = {}
    for k, (label, (total, peak, _)) in enumerate(zip(labels, stats)):
        why = None if counted else "the intensities are not counts"
        per_peak[str(label)] = {
            "mz": Quantity(float(images["mz"].values[k]), None, "m/z",
                           why_no_uncertainty=NoUncertainty.given(
                               images.attrs.get("mz_meaning", "the window centre as requested"))),
            # Poisson counting: σ = √N, for counts only
            "total_counts": Quantity(total, total ** 0.5 if counted else None, unit, why_no_uncertainty=why),
            "max_per_pixel": Quantity(peak, peak ** 0.5 if counted else None, unit, why_no_uncertainty=why)}
    return Result(kind, {"output": None if out is None else str(out), "dims": list(images.dims),
                         "shape": [int(n) for n in images.shape], "peaks": per_peak, "intensity_unit": unit,
                         **{k: images.attrs[k] for k in ("events_counted", "events_drifted_out", "events_total")
                            if k in images.attrs},
                         **({"calibration_check": check_quantities(images.attrs["calibration_check"])}
                            if "calibration_check" in images.attrs else {})},
                  warnings=tuple(warnings), provenance=images.attrs.get("provenance", {}))


def _plane_stats(im: np.ndarray) -> tuple[float, float, bool]:
    """Total and largest value of one ion image, and whether every finite value is a whole number."""
    finite = im[np.isfinite(im)]
    return float(im.sum()), float(im.max()), bool(np.all(finite == np.round(finite)))


def _intensity_unit(images: xr.DataArray, integral: bool) -> tuple[str, bool]:
    """The unit of the images' intensities and whether they are counts (so that σ = √N applies).

    Counts are integers: a reader that says ``counts`` for non-integer values (an imzML file declaring
    "number of detector counts" for normalised intensities, TIC-normalised exports) gives intensities in
    the dimensionless unit ``"1"``; a reader's own non-count unit is kept as it is. ``integral``: every
    image holds whole numbers only.
    """
    unit = str(images.attrs.get("units") or "counts")
    if unit != "counts":
        return unit, False
    return ("counts", True) if integral or np.issubdtype(images.dtype, np.integer) else ("1", False)


__all__ = ["ion_image_summary"]
