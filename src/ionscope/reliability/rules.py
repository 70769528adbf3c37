"""The rule set that turns a sample history and artefact flags into a reliability tier.

Every rule is a :class:`Rule` with a code, the tier it caps a result at and the paper it rests on. A
result's tier is the worst cap of the rules that fire (A if none does). Without a sample history, or
without its preparation route, the tier is ``"unknown"`` unless the known rules already give D
(nothing can be worse); ``at_best`` then says the best tier still possible.

The static limit of 1e13 ions/cm² is the non-destructive dose density quoted by Sharma et al. 2025
(Sci. Technol. Adv. Mater. 26, 2580917, doi:10.1080/14686996.2025.2580917); the 200 K boundary of a
"cryo" preparation is the conventional working range of cryo stages (about 100–170 K), with margin,
below which Li metal and polymers keep their structure under the beam (López et al. 2021).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ionscope.model.flags import FLAGS, LIU_2025, LOPEZ_2021, SHARMA_2025, XING_2026
from ionscope.model.metadata import SampleHistory

#: Tiers from best to worst; "unknown" is outside the order.
TIERS = ("A", "B", "C", "D")
UNKNOWN = "unknown"
#: Non-destructive primary-ion dose density (Sharma et al. 2025).
STATIC_LIMIT_IONS_CM2 = 1e13
#: Below this preparation temperature a FIB / BIB / PFIB route counts as cryogenic.
CRYO_BELOW_K = 200.0

#: Routes whose analysed surface is created inside the instrument's vacuum (no transfer after exposure).
IN_VACUUM_ROUTES = frozenset({"fib", "cryo-fib", "xe-pfib", "in-chamber-deposition"})
_MONATOMIC = re.compile(r"^(Ar|Cs|O2?|Ga|Xe|Kr|Ne|He)\s*[+-]?$", re.I)


@dataclass(frozen=True)
class Rule:
    """One rule: ``code``, the tier it caps at, what it means and the paper it rests on."""

    code: str
    tier: str
    message: str
    reference: str

    def reason(self, **detail: Any) -> dict[str, Any]:
        return {"code": self.code, "tier": self.tier, "message": self.message.format(**detail),
                "reference": self.reference}


RULES: dict[str, Rule] = {r.code: r for r in (
    Rule("no_history", UNKNOWN, "no sample history{which}: put a sample.yaml beside the data or pass --sample "
         "({init})", LOPEZ_2021),
    Rule("preparation_unknown", UNKNOWN, "the sample history does not record the preparation route", LOPEZ_2021),
    Rule("manual_separation", "D", "manual separation destroys, partly or fully, the interphase it exposes: the "
         "probed material may not be the interphase", LOPEZ_2021),
    Rule("scalpel", "D", "scalpel etching of an interphase has not been validated by replication", LOPEZ_2021),
    Rule("mechanical_cut", "C", "a mechanically cut or polished cross-section smears soft phases and needs "
         "handling that can pollute the surface", LOPEZ_2021),
    Rule("cryo_microtomy", "B", "cryo-microtomy keeps soft phases but resolves composite-electrode "
         "microstructure poorly", LOPEZ_2021),
    Rule("room_temperature_fib", "B", "Ga+ FIB milling at room temperature heats the surface and degrades Li "
         "metal and polymers; cryo-FIB is preferred for temperature-sensitive materials", LOPEZ_2021),
    Rule("room_temperature_pfib", "B", "Xe plasma FIB at room temperature damages the surface less than Ga+ FIB "
         "but still heats it", LOPEZ_2021),
    Rule("room_temperature_bib", "B", "BIB polishing at room temperature leaves a thin heat-damaged surface layer; "
         "cryo-BIB avoids it", LOPEZ_2021),
    Rule("cryo_preparation", "A", "cryogenic ion-beam preparation ({route}) preserves Li and "
         "temperature-sensitive phases", LOPEZ_2021),
    Rule("in_vacuum_preparation", "A", "the analysed surface was created inside the instrument's vacuum "
         "({route})", LOPEZ_2021),
    Rule("perforated_collector", "A", "a perforated current collector exposes the interface without cutting it",
         LOPEZ_2021),
    Rule("as_received", "B", "an as-received surface is not a prepared buried interface", LOPEZ_2021),
    Rule("other_preparation", "B", "the preparation route is not one the rules can assess", LOPEZ_2021),
    Rule("air_exposure", "D", "the surface saw air for {seconds:g} s: Li compounds react with air and create "
         "surface layers that are then measured", LOPEZ_2021),
    Rule("not_air_free", "D", "transfer was not air-free: contact with air or glovebox atmosphere "
         "pollutes the exposed surface", LOPEZ_2021),
    Rule("holder_broken", "D", "the transfer holder lost its seal before the instrument", LOPEZ_2021),
    Rule("transfer_unknown", "B", "air-free transfer is not recorded for a surface prepared outside the "
         "instrument", LOPEZ_2021),
    Rule("air_free_transfer", "A", "air-free transfer{holder}", LOPEZ_2021),
    Rule("pressure_unknown", "B", "{mode} measurement without a recorded stack pressure: cells under a "
         "cross-section or perforated collector hold pressure less well", LOPEZ_2021),
    Rule("roi_unjustified", "B", "no rationale for the analysed region: it may not represent the interphase",
         LOPEZ_2021),
    Rule("cluster_sputtering", "B", "depth profiling with a cluster beam ({ion}) reduces, but does not remove, "
         "beam-induced chemistry", LOPEZ_2021),
    Rule("dose_above_static_limit", "C", "recorded primary-ion dose {dose:.3g} ions/cm^2 exceeds the static "
         "limit (1e13 ions/cm^2)", SHARMA_2025),
    Rule("operando_li_migration", "C", "operando measurement above the static limit: the beam redistributes "
         "Li during the series", XING_2026),
    Rule("ga_primary_beam", "C", "Ga+ analysis beam: Ga implantation and Ga-Li alloying", LIU_2025),
    Rule("monatomic_sputtering", "C", "depth profiling with a monatomic {ion} beam: preferential sputtering and "
         "beam-induced chemistry can turn one phase into apparent layers", LOPEZ_2021),
)}


def worst(tiers: Iterable[str]) -> str:
    """The worst of A–D tiers (A if none)."""
    known = [t for t in tiers if t in TIERS]
    return max(known, key=TIERS.index) if known else "A"


def _preparation_reasons(h: SampleHistory) -> list[dict[str, Any]]:
    route = h.preparation
    cold = h.preparation_temperature_K is not None and h.preparation_temperature_K < CRYO_BELOW_K
    simple = {"manual-separation": "manual_separation", "scalpel": "scalpel", "mechanical-cut": "mechanical_cut",
              "polished": "mechanical_cut", "cryo-microtomy": "cryo_microtomy",
              "perforated-collector": "perforated_collector", "as-received": "as_received",
              "other": "other_preparation"}
    if route in simple:
        return [RULES[simple[route]].reason()]
    if route in ("cryo-fib", "cryo-bib") or (route in ("fib", "bib", "xe-pfib") and cold):
        return [RULES["cryo_preparation"].reason(route=route)]
    warm = {"fib": "room_temperature_fib", "xe-pfib": "room_temperature_pfib", "bib": "room_temperature_bib"}
    if route in warm:
        return [RULES[warm[route]].reason()]
    return [RULES["in_vacuum_preparation"].reason(route=route)]


def _transfer_reasons(h: SampleHistory) -> list[dict[str, Any]]:
    out = []
    if h.air_exposure_s is not None and h.air_exposure_s > 0:
        out.append(RULES["air_exposure"].reason(seconds=h.air_exposure_s))
    if h.air_free_transfer is False:
        out.append(RULES["not_air_free"].reason())
    if h.holder_intact is False:
        out.append(RULES["holder_broken"].reason())
    if h.air_free_transfer is None and h.preparation not in IN_VACUUM_ROUTES and not out:
        out.append(RULES["transfer_unknown"].reason())
    if h.air_free_transfer and not out:
        out.append(RULES["air_free_transfer"].reason(holder=f" ({h.holder})" if h.holder else ""))
    return out


def _beam_reasons(h: SampleHistory) -> tuple[list[dict[str, Any]], list[str]]:
    """Reasons from the beam fields, and the artefact flags they imply."""
    out, flags = [], []
    dose = h.primary_dose_ions_per_cm2
    if dose is not None and dose > STATIC_LIMIT_IONS_CM2:
        out.append(RULES["dose_above_static_limit"].reason(dose=dose))
        flags.append("static_limit_exceeded")
        if h.measurement_mode == "operando":
            out.append(RULES["operando_li_migration"].reason())
            flags.append("beam_induced_li_migration")
    if h.primary_ion and h.primary_ion.strip().lower().startswith("ga"):
        out.append(RULES["ga_primary_beam"].reason())
        flags.append("ga_implantation")
    if h.sputter_ion:
        ion = h.sputter_ion.strip()
        if _MONATOMIC.match(ion):
            out.append(RULES["monatomic_sputtering"].reason(ion=ion))
            flags.append("preferential_sputtering")
        else:
            out.append(RULES["cluster_sputtering"].reason(ion=ion))
    return out, flags


def _history_reasons(h: SampleHistory) -> tuple[list[dict[str, Any]], list[str]]:
    if h.preparation is None:
        reasons = [RULES["preparation_unknown"].reason()]
    else:
        reasons = _preparation_reasons(h)
    reasons += _transfer_reasons(h)
    if h.measurement_mode in ("operando", "in-situ") and h.cell_pressure_MPa is None:
        reasons.append(RULES["pressure_unknown"].reason(mode=h.measurement_mode))
    if not h.roi_rationale:
        reasons.append(RULES["roi_unjustified"].reason())
    beam, flags = _beam_reasons(h)
    return reasons + beam, flags


#: Flags that a history rule already states (the rule's reason is kept, the flag's is not repeated).
_SAME_AS_RULE = {"static_limit_exceeded": "dose_above_static_limit", "ga_implantation": "ga_primary_beam",
                 "preferential_sputtering": "monatomic_sputtering",
                 "beam_induced_li_migration": "operando_li_migration"}


def _flag_reason(code: str) -> dict[str, Any]:
    f = FLAGS[code]
    return {"code": code, "tier": f.tier, "message": f.meaning, "reference": f.reference}


def init_hint(looked_up: str | list[str | None] | None) -> str:
    """The ``ionscope sample init`` command(s) that write a template where a history is looked up."""
    import shlex

    given = [looked_up] if isinstance(looked_up, str) or looked_up is None else looked_up
    places = [p for p in dict.fromkeys(given) if p is not None]
    if any(_read_only_folder(p) for p in places):
        return ("the data folder is read-only: `ionscope sample init sample.yaml` writes a template here, "
                "to pass with --sample sample.yaml")
    if len(places) > 3:
        return (f"`ionscope sample init {shlex.quote(places[0])}` writes a template where it is looked up for the "
                f"first of {len(places)} folders, each of which takes its own sample.yaml, or pass one with --sample")
    if len(places) > 1:
        return " and ".join(f"`ionscope sample init {shlex.quote(p)}`" for p in places) + \
            " write templates where they are looked up"
    looked_up = places[0] if places else None
    if looked_up is None or looked_up == "sample.yaml":
        return "`ionscope sample init` writes a template sample.yaml in the current folder"
    return f"`ionscope sample init {shlex.quote(looked_up)}` writes a template where it is looked up"


def _read_only_folder(history_path: str) -> bool:
    """Whether the folder a history file would be written to exists and may not be written
    (:func:`ionscope.model.stores.folder_writable`)."""
    from pathlib import Path

    from ionscope.model.stores import folder_writable

    folder = Path(history_path).parent
    return folder.is_dir() and not folder_writable(folder)


def assess(history: SampleHistory | Mapping[str, Any] | None, flags: Iterable[str] = (),
           sources: Iterable[str] = (), *, looked_up: str | None = None) -> dict[str, Any]:
    """The reliability tier of a result from its sample history and the analysis' artefact flags.

    Parameters
    ----------
    history
        The sample history (model or mapping), ``None`` if none was found.
    flags
        Artefact-flag codes raised by the analysis (:data:`ionscope.model.flags.FLAGS`).
    sources
        Files the history was read from (recorded in the output).
    looked_up
        Where a folder history for the data is looked up (e.g. ``data/run/sample.yaml``): without a
        history, the hint names ``ionscope sample init`` with this path, so the template lands where
        it is found.

    Returns
    -------
    dict
        ``tier`` (A–D or ``"unknown"``), ``at_best`` (best tier still possible), ``reasons`` (each with
        ``code``, ``tier``, ``message``, ``reference``), ``flags``, ``sample`` and ``sample_sources``.
    """
    flag_codes = list(dict.fromkeys(flags))
    if history is None:
        reasons = [{**RULES["no_history"].reason(which="", init=init_hint(looked_up)), "looked_up": looked_up}]
        sample = None
    else:
        h = history if isinstance(history, SampleHistory) else SampleHistory.model_validate(dict(history))
        reasons, implied = _history_reasons(h)
        flag_codes += [f for f in implied if f not in flag_codes]
        sample = h.to_dict()
    fired = {r["code"] for r in reasons}
    for code in flag_codes:
        if _SAME_AS_RULE.get(code) not in fired:
            reasons.append(_flag_reason(code))
    known = worst(r["tier"] for r in reasons)
    undetermined = any(r["tier"] == UNKNOWN for r in reasons)
    tier = UNKNOWN if undetermined and known != "D" else known
    return {"tier": tier, "at_best": known, "reasons": reasons, "flags": flag_codes, "sample": sample,
            "sample_sources": list(sources)}


def combine(assessments: list[dict[str, Any]]) -> dict[str, Any]:
    """One assessment for a result built from several inputs: the worst tier, every distinct reason."""
    if not assessments:
        return assess(None)
    if len(assessments) == 1:
        return assessments[0]
    reasons: list[dict[str, Any]] = []
    for a in assessments:
        reasons += [r for r in a["reasons"] if r not in reasons]
    missing = [r for r in reasons if r["code"] == "no_history"]
    some_have = any(a["sample"] is not None for a in assessments)
    if len(missing) > 1 or (missing and some_have):  # one message naming every place a history is looked up
        # with some inputs' histories, "no sample history" alone read as contradicting what those say
        lacking = sum(a["sample"] is None for a in assessments)
        which = f" for {lacking} of the {len(assessments)} inputs" if some_have else ""
        looked_up = [r.get("looked_up") for r in missing]
        one = {**RULES["no_history"].reason(which=which, init=init_hint(looked_up)), "looked_up": looked_up}
        first = reasons.index(missing[0])
        reasons = [r for r in reasons if r["code"] != "no_history"]
        reasons.insert(first, one)
    known = worst(a["at_best"] for a in assessments)
    undetermined = any(a["tier"] == UNKNOWN for a in assessments)
    samples = [a["sample"] for a in assessments]
    same = all(s == samples[0] for s in samples)
    return {"tier": UNKNOWN if undetermined and known != "D" else known, "at_best": known, "reasons": reasons,
            "flags": list(dict.fromkeys(f for a in assessments for f in a["flags"])),
            "sample": samples[0] if same else None,
            "sample_sources": list(dict.fromkeys(s for a in assessments for s in a["sample_sources"]))}


def tier_line(assessment: Mapping[str, Any]) -> str:
    """One line for people: ``reliability: tier C — reason; reason``."""
    tier = assessment.get("tier", UNKNOWN)
    order = {t: i for i, t in enumerate((UNKNOWN, "D", "C", "B"))}
    limiting = [r for r in assessment.get("reasons", []) if r.get("tier") in order]
    limiting.sort(key=lambda r: order[r["tier"]])
    text = "; ".join(r["message"] for r in limiting[:3]) or "no limiting condition found"
    more = f" (+{len(limiting) - 3} more)" if len(limiting) > 3 else ""
    return f"reliability: tier {tier} — {text}{more}"
