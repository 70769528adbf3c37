"""Dead-time correction of a whole spectrum before it is calibrated, searched for peaks or identified.

A TOF detector registers at most one ion per channel per primary-ion shot, so intense peaks are
under-counted and flattened at their top (Stephan, Zehnpfenning & Benninghoven, *J. Vac. Sci. Technol.
A* 12, 405, 1994, doi:10.1116/1.579255). Left uncorrected, this biases every number taken from peak
shapes: the resolving power measured on the strongest peaks comes out low, and the isotope-window
capture fractions built from it then credit weak peaks with too many counts (+7 % on Ru⁺ of a simulated
spectrum at 10⁵ shots).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ionscope.kernels.deadtime import correct_dead_time
from ionscope.model.errors import ValidationError

if TYPE_CHECKING:
    import xarray as xr

#: What a spectrum whose counts are not dead-time corrected, with no number of shots to correct them,
#: is told.
UNCORRECTED = ("the counts are not dead-time corrected and the number of primary-ion shots is unknown: intense "
               "peaks are under-counted and flattened (Stephan, Zehnpfenning & Benninghoven 1994, "
               "doi:10.1116/1.579255), which biases the resolving power and the intensities; export the "
               "spectrum with the dead-time correction on")


def mostly_below_one_count(values: np.ndarray) -> bool:
    """Whether most non-zero ``values`` lie between 0 and 1, which no count can, dead-time corrected or not: the
    correction only raises the whole counts of a channel, ``−N·ln(1 − n/N) ≥ n`` (Stephan, Zehnpfenning &
    Benninghoven 1994, doi:10.1116/1.579255), so a channel with a count holds at least 1. Intensities per second
    or normalised to a total are such."""
    positive = np.asarray(values, dtype=float)
    positive = positive[positive > 0]
    return bool(positive.size and np.median(positive) < 1)


def dead_time_corrected(spectrum: xr.DataArray) -> tuple[xr.DataArray, list[str]]:
    """``spectrum`` with Poisson dead-time corrected counts, and what was done, as warnings.

    Only a spectrum whose acquisition metadata say ``dead_time_corrected: False`` is changed: with the
    number of primary-ion shots (``shots``, or ``shots_per_pixel`` of a single spectrum) every channel
    becomes ``I = −N ln(1 − I′/N)`` (:func:`ionscope.kernels.deadtime.correct_dead_time`) and the metadata
    say so; without it the counts are left and a warning says why they should not be. The corrected counts
    stand in for their own variance downstream, as Poisson counts would: the binomial variance
    ``N p/(1 − p)`` exceeds ``I`` by the factor ``1 + p/2`` to first order in ``p = I′/N`` (5 % at a
    correction of ×1.1), which the window fits leave out.

    Raises
    ------
    ValidationError
        A channel recorded a count on every shot (saturated): it has no finite correction.
    """
    acq = dict(spectrum.attrs.get("acquisition") or {})
    if acq.get("dead_time_corrected") is not False:
        return spectrum, []
    shots = acq.get("shots") or acq.get("shots_per_pixel")
    if not shots:
        return spectrum, [UNCORRECTED]
    recorded = np.asarray(spectrum.values, dtype=float)
    if np.any(recorded >= shots):
        n = int(np.sum(recorded >= shots))
        raise ValidationError(f"{n} channel(s) recorded a count on every one of the {shots} shots (saturated): "
                              "their dead-time correction is infinite")
    corrected = np.asarray(correct_dead_time(recorded, shots, warn_factor=np.inf))
    out = spectrum.copy(data=corrected)
    out.attrs["acquisition"] = {**acq, "dead_time_corrected": True}
    factor = float(np.max(corrected[recorded > 0] / recorded[recorded > 0])) if np.any(recorded > 0) else 1.0
    return out, [f"dead time corrected from {shots} primary-ion shots (Stephan et al. 1994): largest correction "
                 f"×{factor:.3f}"]
