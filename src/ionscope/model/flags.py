"""Artefact flags: the small vocabulary an analysis uses to say "this number may be an artefact".

An analysis that detects a condition under which its own result may be distorted by the measurement
sets the flag's code in :attr:`ionscope.model.Result.flags`. The reliability rules
(:mod:`ionscope.reliability`) turn the flags, together with the sample history, into a tier. Each
flag names the paper that describes the artefact.

Flags raised while a block runs can be collected like Python warnings (:func:`recording`): the command
line uses it so that flags raised by any analysis a command calls reach the command's reliability
tier, even when the command builds its own result from several analyses.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

LOPEZ_2021 = ("López, Morey, Ledeuil, Madec, Martinez 2021, J. Mater. Chem. A 9, 25341–25368, "
              "doi:10.1039/D1TA04532F")
SHARMA_2025 = ("Sharma, Hasegawa, Xing, Kuwata 2025, Sci. Technol. Adv. Mater. 26, 2580917, "
               "doi:10.1080/14686996.2025.2580917")
XING_2026 = "Xing et al. 2026, ACS Energy Lett. 11, 1889–1896, doi:10.1021/acsenergylett.5c03610"
LIU_2025 = "Liu et al. 2025, Chem. Rev., doi:10.1021/acs.chemrev.4c00831"


@dataclass(frozen=True)
class FlagInfo:
    """What an artefact flag means, how far it limits trust (worst tier it allows) and its source."""

    code: str
    meaning: str
    tier: str
    reference: str


#: The vocabulary. ``tier`` is the best tier a result carrying the flag can still have.
FLAGS: dict[str, FlagInfo] = {f.code: f for f in (
    FlagInfo("static_limit_exceeded",
             "the cumulative primary-ion dose passed the static limit (~1e13 ions/cm^2): later frames probe a "
             "surface the beam has altered", "C", SHARMA_2025),
    FlagInfo("beam_induced_li_migration",
             "Li signals were recorded under a dose at which the beam redistributes Li", "C", XING_2026),
    FlagInfo("ga_implantation",
             "the surface was milled or imaged with Ga+ at room temperature: Ga implantation, amorphisation and "
             "Ga-Li alloying change the near-surface chemistry", "C", LIU_2025),
    FlagInfo("preferential_sputtering",
             "a monatomic ion beam sputters the components of a compound at different rates (Li salts and "
             "carbonates are reduced under Ar+)", "C", LOPEZ_2021),
    FlagInfo("beam_induced_stratigraphy",
             "the depth profile's layering (organic outer, inorganic inner) is what ion etching itself produces "
             "from one phase: it may be a damage gradient, not two layers", "C", LOPEZ_2021),
    FlagInfo("surface_transient",
             "the first scans are a pre-equilibrium surface transient (contamination, oxide, charging)",
             "B", LOPEZ_2021),
    FlagInfo("total_ion_drift",
             "the total secondary-ion yield drifts during the profile (matrix change, charging or beam drift)",
             "B", SHARMA_2025),
    FlagInfo("frames_not_seconds",
             "the time axis counts frames, not seconds: rates and depths from it are not comparable",
             "B", SHARMA_2025),
)}


def check_flags(codes: Iterable[str]) -> tuple[str, ...]:
    """``codes`` as a tuple without repeats; an unknown code is a programming error (``ValueError``)."""
    out = tuple(dict.fromkeys(str(c) for c in codes))
    unknown = [c for c in out if c not in FLAGS]
    if unknown:
        raise ValueError(f"unknown artefact flag(s) {unknown}; known: {sorted(FLAGS)}")
    return out


@dataclass
class FlagRecord:
    """What :func:`recording` collected: flag codes and the results built while it was active."""

    flags: list[str] = field(default_factory=list)
    results: list[Any] = field(default_factory=list)

    def add(self, result: Any) -> None:
        self.results.append(result)
        for code in getattr(result, "flags", ()):
            if code not in self.flags:
                self.flags.append(code)


_active: list[FlagRecord] = []


@contextlib.contextmanager
def recording() -> Iterator[FlagRecord]:
    """Collect the flags (and results) of every :class:`~ionscope.model.Result` built inside the block."""
    rec = FlagRecord()
    _active.append(rec)
    try:
        yield rec
    finally:
        _active.remove(rec)


def note_result(result: Any) -> None:
    """Called by :class:`~ionscope.model.Result` on creation: tell every active :func:`recording`."""
    for rec in _active:
        rec.add(result)
