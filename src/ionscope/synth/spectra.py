"""Virtual TOF-SIMS spectra from known species: isotope patterns, peak shape, resolution,
calibration offsets, Poisson counting and detector dead time.

Flight time is measured in channels ``c``; the true calibration is ``m = ((c − t0)/k)²``. An ion of
m/z ``m`` arrives at ``t = t0 + k√m`` with a Gaussian time spread whose FWHM is ``(t − t0)/(2R)``
(``m/Δm = R`` since ``Δm/m = 2Δt/(t − t0)``). Expected counts per channel are integrated exactly
(normal CDF differences), a flat background is added, and counts are drawn with dead time
(:func:`ionscope.synth.core.dead_time_counts`, binomial per shot) or plain Poisson when ``shots`` is
``None``. The m/z axis attached to the spectrum is computed with a *wrong* calibration
(``t0 + t0_offset``, ``k·(1 + k_rel_offset)``), as an instrument export that needs recalibration.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from scipy.special import ndtr

from ionscope.library.patterns import isotope_pattern
from ionscope.model.arrays import make_spectrum
from ionscope.synth.core import GroundTruth, SeedLike, dead_time_counts, make_rng, poisson_counts

#: Typical species of a lithium-metal SEI in positive polarity (counts over the acquisition).
DEFAULT_POSITIVE = {"H+": 3e4, "^6Li+": 2.2e4, "Li+": 2.7e5, "C+": 2e4, "CH3+": 4e4, "Na+": 6e4,
                    "C2H3+": 5e4, "C2H5+": 3e4, "K+": 2e4, "C3H5+": 3e4, "Li2F+": 1.5e4, "Li2O+": 1e4,
                    "C4H7+": 1e4, "Ni+": 8e3, "Co+": 5e3, "C7H7+": 5e3, "Ru+": 2e4, "Pt+": 8e3}


def tof_spectrum(species: Mapping[str, float] | None = None, *, n_channels: int = 200_000, t0: float = 120.0,
                 k: float | None = None, resolving_power: float = 4000.0,
                 background: float = 0.5, shots: int | None = 100_000, t0_offset: float = 6.0,
                 k_rel_offset: float = 2e-4, polarity: str = "positive", prune: float = 1e-4,
                 seed: SeedLike = None):
    """Simulate a TOF-SIMS spectrum of known species.

    Parameters
    ----------
    species
        Ion formula → total counts of all its isotopologues (default :data:`DEFAULT_POSITIVE`).
    n_channels
        Number of TOF channels (time bins).
    t0, k
        True calibration ``m = ((c − t0)/k)²`` (channels, channels per √(m/z)); default ``k`` puts
        m/z 500 at the last channel.
    resolving_power
        m/Δm (FWHM) of every peak.
    background
        Flat background (expected counts per channel).
    shots
        Primary-ion shots for the dead-time model; ``None`` for plain Poisson counts.
    t0_offset, k_rel_offset
        Error of the calibration used for the exported m/z axis.
    polarity
        Written to the acquisition metadata.

    Returns
    -------
    (spectrum, GroundTruth)
        ``spectrum`` over the (mis-calibrated) m/z axis with a ``channel`` coordinate; the truth holds
        ``t0``, ``k``, the expected counts per species and the isotopologue list.
    """
    rng = make_rng(seed)
    species = dict(DEFAULT_POSITIVE if species is None else species)
    if k is None:
        k = (n_channels - 1 - t0) / np.sqrt(500.0)
    c = np.arange(n_channels, dtype=float)
    edges = np.arange(n_channels + 1, dtype=float) - 0.5
    expected = np.full(n_channels, float(background))
    lines = []
    for formula, total in species.items():
        p = isotope_pattern(formula, resolution="fine", prune=prune, merge_u=1e-4)
        for m, a in zip(p.mz, p.abundance):
            t = t0 + k * np.sqrt(m)
            sigma = (t - t0) / (2 * resolving_power) / 2.354820045
            lo = max(0, int(np.floor(t - 8 * sigma)))
            hi = min(n_channels, int(np.ceil(t + 8 * sigma)) + 1)
            if hi <= lo:
                continue
            cdf = ndtr((edges[lo: hi + 1] - t) / sigma)
            expected[lo:hi] += total * a * np.diff(cdf)
            lines.append((formula, float(m), float(total * a)))
    counts = poisson_counts(expected, rng) if shots is None else dead_time_counts(expected, shots, rng)
    t0_exp, k_exp = t0 + t0_offset, k * (1 + k_rel_offset)
    keep = c > t0_exp
    mz = ((c[keep] - t0_exp) / k_exp) ** 2
    acq = {"technique": "TOF-SIMS", "instrument": "ionscope.synth", "polarity": polarity,
           "dead_time_corrected": False}
    if shots is not None:
        acq["shots_per_pixel"] = int(shots)
    spec = make_spectrum(counts[keep].astype(float), mz, channel=c[keep], acquisition=acq,
                         attrs={"source": "ionscope.synth.spectra.tof_spectrum"})
    truth = GroundTruth(
        "ionscope.synth.spectra.tof_spectrum",
        {"n_channels": n_channels, "t0": t0, "k": k, "resolving_power": resolving_power,
         "background": background, "shots": shots, "t0_offset": t0_offset, "k_rel_offset": k_rel_offset,
         "polarity": polarity, "seed": seed if isinstance(seed, int) else None},
        {"t0": t0, "k": k, "species": dict(species), "isotopologues": lines, "expected": expected[keep]},
    )
    return spec, truth
