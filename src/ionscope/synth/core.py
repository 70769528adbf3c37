"""Shared machinery of the virtual instrument: seeded generators, counting, ground truth.

Every simulator in :mod:`ionscope.synth` takes a ``seed`` (or a NumPy ``Generator``), returns
measured data in the ionscope data model, and a :class:`GroundTruth` with the parameters that a
perfect analysis would recover.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

from ionscope.model.result import to_plain

SeedLike = int | np.random.Generator | None


def make_rng(seed: SeedLike = None) -> np.random.Generator:
    """A NumPy ``Generator`` from a seed (PCG64), or ``seed`` itself if it already is one."""
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def poisson_counts(expected: np.ndarray, rng: SeedLike = None) -> np.ndarray:
    """Counts drawn from Poisson distributions with means ``expected`` (counts ≥ 0).

    Negative or non-finite expectations are a bug in the forward model and raise ``ValueError``.
    """
    lam = np.asarray(expected, dtype=float)
    if not np.all(np.isfinite(lam)) or np.any(lam < 0):
        raise ValueError("expected counts must be finite and non-negative")
    return make_rng(rng).poisson(lam)


def dead_time_counts(expected: np.ndarray, shots: int, rng: SeedLike = None) -> np.ndarray:
    """Counts recorded by a TOF detector with one count per channel per shot (dead time).

    With ``λ`` ions expected over ``shots`` primary pulses, each shot registers at most one ion with
    probability ``1 − exp(−λ/shots)``; recorded counts are binomial. The Poisson correction
    ``I = −N ln(1 − I′/N)`` inverts the mean exactly (Stephan, Zehnpfenning & Benninghoven 1994, J. Vac. Sci.
    Technol. A 12, 405, doi:10.1116/1.579255).
    """
    lam = np.asarray(expected, dtype=float)
    if shots <= 0:
        raise ValueError("shots must be positive")
    p = -np.expm1(-lam / shots)
    return make_rng(rng).binomial(shots, p)


@dataclass(frozen=True)
class GroundTruth:
    """The known parameters behind a simulated measurement.

    Attributes
    ----------
    simulator
        Dotted name of the simulator.
    parameters
        Everything that was put in (seed included), by name, with units in the names.
    truth
        Quantities an analysis should recover (arrays allowed: label images, trajectories…).
    """

    simulator: str
    parameters: dict[str, Any]
    truth: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "parameters", MappingProxyType(dict(self.parameters)))
        object.__setattr__(self, "truth", MappingProxyType(dict(self.truth)))

    def to_dict(self) -> dict[str, Any]:
        return {"simulator": self.simulator, "parameters": to_plain(dict(self.parameters)),
                "truth": to_plain({k: v for k, v in self.truth.items() if np.size(v) <= 10_000})}

    def as_input(self) -> dict[str, Any]:
        """The description of this simulation for a provenance ``inputs`` list."""
        return {"synth": self.simulator, "parameters": to_plain(dict(self.parameters))}
