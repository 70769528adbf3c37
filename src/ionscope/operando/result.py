"""An operando analysis as one :class:`~ionscope.model.result.Result` with quantities everywhere.

The analysis keeps numbers with a unit suffix (``charge_uAh``, ``area_um2``); the published result
turns each into a quantity and states, for those that carry no uncertainty, why.
"""

from __future__ import annotations

from typing import Any

from ionscope.model.result import NoUncertainty, Result, suffixed_to_quantities

_DOSE = "primary current × time / raster area; the current has no stated uncertainty"
#: Why each quantity without uncertainty has none.
WHY_NO_UNCERTAINTY = {
    "time_start": NoUncertainty.given("frame times are read from the series, taken as exact"),
    "time_end": NoUncertainty.given("frame times are read from the series, taken as exact"),
    "voltage": NoUncertainty.given("the cycling log's voltage at the frame, taken as exact"),
    "charge": "charge passed up to the frame, integrated from the log",
    "shift": "phase correlation gives no error estimate; its resolution is 1/upsample pixel",
    "max_shift": NoUncertainty.given("the largest shift the registration searches, a setting"),
    "duration": NoUncertainty.given("from the time stamps of the cycling log, taken as exact"),
    "area": NoUncertainty.exact("pixel count of the region mask times the pixel area, exact for the mask"),
    "tracked_area": NoUncertainty.exact("pixel count of the eroded region mask times the pixel area, exact for the "
                                        "mask"),
    "total": _DOSE,
    "mean_per_frame": _DOSE,
    "cumulative": _DOSE,
}


def operando_result(analysis: Any) -> Result:
    """The ``operando.analyze`` result of an analysis (:func:`~ionscope.operando.analyze_operando`) with quantities."""
    r = analysis.result
    return Result(r.kind, suffixed_to_quantities(r.values, WHY_NO_UNCERTAINTY), r.warnings, r.provenance)


__all__ = ["operando_result"]
