"""Reliability tiers: how far a result can be trusted, from its sample history and artefact flags.

Tiers, best first: **A** (preparation preserves the interface, nothing flagged), **B** (usable with a
stated caveat), **C** (the number may be an artefact of preparation or beam), **D** (the preparation
itself creates what is measured), and **unknown** (no sample history: never a silent A). Each rule
cites its paper; the rules are listed in ``docs/reliability-tiers.md``.
"""

from ionscope.reliability.rules import RULES, TIERS, assess, combine

__all__ = ["RULES", "TIERS", "assess", "combine"]
