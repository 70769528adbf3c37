"""What an ion-image extraction or event binning produced, as one :class:`~ionscope.model.result.Result`."""

from __future__ import annotations

from os import PathLike

import numpy as np
import xarray as xr

from ionscope.model.result import Quantity, Result


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
    per_peak = {}
    for k, label in enumerate(images["peak"].values if "peak" in images.dims else []):
        im = np.asarray(images.isel(peak=k).values, dtype=float)
        total, peak = float(im.sum()), float(im.max())
        per_peak[str(label)] = {
            "mz": Quantity(float(images["mz"].values[k]), None, "m/z",
                           why_no_uncertainty="the window centre as requested"),
            "total_counts": Quantity(total, total ** 0.5, "counts"),  # Poisson counting: σ = √N
            "max_per_pixel": Quantity(peak, peak ** 0.5, "counts")}
    return Result(kind, {"output": None if out is None else str(out), "dims": list(images.dims),
                         "shape": [int(n) for n in images.shape], "peaks": per_peak,
                         **{k: images.attrs[k] for k in ("events_counted", "events_drifted_out", "events_total")
                            if k in images.attrs}},
                  warnings=tuple(images.attrs.get("warnings") or ()), provenance=images.attrs.get("provenance", {}))


__all__ = ["ion_image_summary"]
