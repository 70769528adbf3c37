"""Identified ions as calibration references at high m/z (lock masses).

The common reference ions of a recalibration (H⁺, CH₃⁺, C₇H₇⁺ … / H⁻, O⁻, C₆H⁻ …) all lie below
m/z ~100. There an error in the scale of the calibration is a fraction of a bin of a 200-channel export, as
small as the centroid scatter of the references themselves, yet at m/z 100–250 the same error moves the
metal ions out of their windows. Atomic and molecular ions also sit differently on a TOF mass scale (their
energy and angle spreads differ), so a calibration on hydrocarbon ions is off for metal ions, and worse
when extrapolated beyond its highest reference (Green, Gilmore & Seah, *J. Am. Soc. Mass Spectrom.* 17, 514
(2006), doi:10.1016/j.jasms.2005.12.005). Ions identified in the spectrum at high significance are of known
identity and exact mass too: used as further references (internal "lock masses") they constrain the scale
where the analysis needs it. The recalibration then decides, as for any set of references, whether its refit
beats the file's own calibration on held-out peaks.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import NamedTuple

import numpy as np

from ionscope.spectra.identification import SpeciesFit

#: Least significance (σ) of a species whose isotopologues serve as lock masses: the peak-finding level of
#: the reference ions (``recalibrate``'s ``min_snr``), so that a lock peak is as sure as a reference peak.
LOCK_SIGNIFICANCE = 5.0

#: Largest share of the counts at an isotopologue's nominal mass that other fitted isotopologues may hold.
#: A blend of share f pulls a centroid by at most f of the separation, itself within one matching tolerance
#: (one bin or one FWHM): 0.2 keeps that pull below the ~0.25-bin rms scatter of the reference centroids of a
#: binned export.
LOCK_BLEND = 0.2

#: Least abundance of an isotopologue used, relative to the species' largest, as in the pattern test.
LOCK_ABUNDANCE = 0.2


def lock_ions(fits: Sequence[SpeciesFit]) -> list[tuple[str, float]]:
    """The isotopologues of the species identified at ≥ :data:`LOCK_SIGNIFICANCE` σ that can serve as
    calibration references: ``(label, exact m/z)`` pairs, ascending m/z.

    An isotopologue qualifies when it holds ≥ :data:`LOCK_ABUNDANCE` of its species' largest and ≥ 1 −
    :data:`LOCK_BLEND` of the counts every fitted species predicts at its nominal mass.

    Parameters
    ----------
    fits : sequence of SpeciesFit
        The species fitted to the spectrum (present or not, interference species included: they count in the
        blend).

    Returns
    -------
    list of (str, float)
        Label (``"RuO2- m/z 133.896"``) and exact m/z (u/e) of each lock mass.
    """
    nominal: dict[int, float] = {}
    patterns = {}
    for f in fits:
        if f.intensity > 0:
            pat = patterns[f.formula] = _pattern(f.formula)
            for m, a in zip(np.rint(pat.mz).astype(int), pat.abundance):
                nominal[m] = nominal.get(m, 0.0) + f.intensity * a
    out = []
    for f in fits:
        if not f.present or f.interference or f.significance < LOCK_SIGNIFICANCE:
            continue
        pat = patterns[f.formula]
        for m, a in zip(pat.mz, pat.abundance):
            if a >= LOCK_ABUNDANCE * pat.abundance.max() and f.intensity * a >= (1 - LOCK_BLEND) * nominal[round(m)]:
                out.append((f"{f.formula} m/z {m:.3f}", float(m)))
    return sorted(set(out), key=lambda p: p[1])


class LockPeaksUsed(NamedTuple):
    """How many reference peaks of a recalibration are lock masses (``peaks``), and of how many ions (``ions``)."""

    peaks: int
    ions: int


def lock_peaks_used(used: Sequence[str], lock_masses: Sequence[str]) -> LockPeaksUsed:
    """How many of the reference peaks ``used`` by a recalibration are lock masses (labels of
    :func:`lock_ions`), and of how many ions."""
    locks = set(lock_masses)
    peaks = [u for u in used if u in locks]
    return LockPeaksUsed(len(peaks), len({u.split(" m/z ")[0] for u in peaks}))


@lru_cache(maxsize=4096)
def _pattern(formula: str):
    """The fine isotope pattern of an ion (:func:`ionscope.library.patterns.isotope_pattern`), kept per formula."""
    from ionscope.library.patterns import isotope_pattern

    return isotope_pattern(formula)
