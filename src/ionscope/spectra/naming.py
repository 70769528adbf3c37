"""Peak naming: the likeliest ion of each peak of a spectrum's peak table.

A peak is named, in order of evidence, by an ion of the elements the spectrum's identification found whose
fitted counts explain it (:func:`_identified_ion_names`), by a library ion or a plausible molecular ion of C, H,
N, O, Si and S whose m/z agrees with the peak's (:func:`_peak_ions`), or as an isotopologue of a stronger peak's
ion (:func:`_isotopologue_names`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache
from itertools import combinations_with_replacement, product
from math import factorial, prod
from typing import TYPE_CHECKING

import numpy as np

from ionscope.library.formula import parse_formula
from ionscope.model.errors import ValidationError
from ionscope.spectra.calibration import REFERENCE_IONS

if TYPE_CHECKING:
    from ionscope.spectra.identification import Identification


@cache
def _peak_candidates(polarity: str):
    """The ions a peak is named by (:func:`_peak_ions`), built once per polarity: the library ions — the battery
    markers of the built-in library, the reference ions and the atomic ion of every isotope of ≥ 1 % natural
    abundance (``^106Pd+``) of the elements that form one in ``polarity``
    (:func:`~ionscope.spectra.forms.form_expected`) — and, apart, the plausible molecular ions of C, H, N, O, Si
    and S (:func:`_molecular_candidates`). Each where no ion before it has its mass (Na⁺, not ²³Na⁺ beside it)."""
    from ionscope.library.isotopes import isotope_table
    from ionscope.library.markers import builtin_library
    from ionscope.spectra.assign import CandidateTable, candidate_table
    from ionscope.spectra.forms import form_expected

    sign = "+" if polarity == "positive" else "-"
    by_mass = {round(parse_formula(f).mz, 5): f
               for f in reversed(builtin_library().formulas(polarity) + list(REFERENCE_IONS[polarity]))}
    named, taken = list(by_mass.values()), set(by_mass)  # one name per ion: ⁷Li⁺ and Li⁺ are one
    isotopes = [f"^{a}{sym}{sign}" for sym, el in isotope_table().items() if form_expected(sym, "{E}", polarity)
                for a, ab in zip(el.mass_numbers, el.abundances) if ab >= 0.01]
    library = candidate_table(named + [f for f in isotopes if round(parse_formula(f).mz, 5) not in taken])
    mz, formulas = _molecular_candidates(sign)
    new = ~np.isin(np.round(mz, 5), np.round(library.mz, 5))
    order = np.argsort(mz[new], kind="stable")
    return library, CandidateTable(mz[new][order], formulas[new][order])


#: Mass accuracy (ppm) of a calibrated TOF-SIMS spectrum, 10–20 ppm (Green, Gilmore & Seah, *J. Am. Soc. Mass
#: Spectrom.* 17, 514, 2006, doi:10.1016/j.jasms.2005.12.005): molecular ions name a peak up to the nominal mass where
#: their formulas lie closer than this (:func:`_molecular_candidates`).
MASS_ACCURACY_PPM = 20.0


def _molecular_candidates(sign: str) -> tuple[np.ndarray, np.ndarray]:
    """m/z and formulas (``CH4N+``) of the plausible molecular ions of C, H, N, O, Si and S
    (:func:`~ionscope.spectra.continuum.molecular_ion_masses`) of every nominal mass up to the first whose
    formulas lie a median :data:`MASS_ACCURACY_PPM` or less apart (m/z ≈ 100): above it a formula cannot be
    told from the others by its mass, and a peak is named only by the library."""
    from ionscope.library.isotopes import ELECTRON_MASS
    from ionscope.spectra.continuum import _ATOMS, _monoisotopic_masses, _plausible_formulas

    charge = 1 if sign == "+" else -1
    masses, names = [], []
    for nominal in range(1, 1000):
        atoms = _plausible_formulas(nominal, charge)
        mono = _monoisotopic_masses(atoms)
        if mono.size > 1 and np.median(np.diff(np.sort(mono))) <= MASS_ACCURACY_PPM * 1e-6 * nominal:
            break
        masses.append(mono - charge * ELECTRON_MASS)
        names += ["".join(a + (str(n) if n > 1 else "") for a, n in zip(_ATOMS, row) if n) + sign for row in atoms]
    return np.concatenate(masses), np.array(names, dtype=object)


def _peak_ions(table, polarity: str | None, mz_sigma: np.ndarray,
               fits: Identification | None = None) -> dict[int, dict]:
    """Peak row → its likeliest ion, with its error (ppm), confidence among the candidates and the ions the
    peak does not resolve from it; peaks without a candidate are absent, and all without a polarity.

    With the spectrum's identification ``fits``, a peak its identified ions explain is named by them first
    (:func:`_identified_ion_names`): ¹⁰¹RuO₂⁻, not ¹³³Cs⁻, where RuO₂⁻ was found; and no library ion of an
    element the identification tested and did not find names a peak (:func:`_rejected_elements`: ¹¹⁴Cd⁺ and
    ¹¹⁹Sn⁺ on the RuO⁺/RuOH⁺ ions of a Ru alloy, ⁷⁶Ge⁺ on ⁶⁰NiO⁺) — such a peak stays unnamed where nothing else
    agrees. Nor does the atomic ion of a minor isotope whose element's main isotope is missing
    (:func:`_main_isotope_missing`: ¹¹³In⁺, 4 % of indium, beside a peak where ¹¹⁵In⁺ would be 22 times higher).

    The candidates (:func:`_peak_candidates`) within max(100 ppm, FWHM/2) are ranked by mass and isotope
    pattern (:func:`~ionscope.spectra.assign.assign_peaks`). A library ion whose m/z the peak's agrees with
    within 3σ (``mz_sigma``: centroid and calibration, u) names it: where the calibration cannot tell the
    candidates apart, a curated marker is likelier than one of the many formulas of its nominal mass (C₃H₇⁺,
    not C₂H₅N⁺). Else the molecular ion within 3σ with the fewest N, O, Si and S atoms (the best ranked of
    those): the ions of adventitious carbon, hydrocarbons and then oxygenated ones, dominate an organic
    surface's spectrum (Vickerman & Briggs, *ToF-SIMS: Materials Analysis by Mass Spectrometry*, 2nd ed.,
    2013, ch. 4) — C₂H₂O⁺, not N₃⁺, at m/z 42.01 where the calibration cannot tell them. Else the best
    candidate: CH₄N⁺ at m/z 30.034 on a spectrum calibrated to 10 ppm, not Li₂O⁺ 250 ppm away. The others
    within the peak's FWHM are listed."""
    from ionscope.spectra.assign import assign_peaks

    if polarity not in REFERENCE_IONS or not len(table):
        return {}
    library, molecular = _peak_candidates(polarity)
    lib = _by_peak(assign_peaks(table, library, max_candidates=3), library=True)
    mol = _by_peak(assign_peaks(table, molecular, max_candidates=30, pattern=False), library=False)
    fwhm = table["fwhm"].to_numpy(float)
    rejected = _rejected_elements(fits) if fits is not None else frozenset()
    mz, area = table["mz"].to_numpy(float), table["area"].to_numpy(float)
    out = {}
    for peak in sorted(set(lib) | set(mol)):
        rows = [r for r in lib.get(peak, []) if not _elements_in(r["formula"]) & rejected
                and not _main_isotope_missing(r["formula"], peak, mz, area)] + mol.get(peak, [])
        if not rows:
            continue
        near = [r for r in rows if abs(r["ion_mz"] - r["peak_mz"]) <= 3 * mz_sigma[peak]]
        agree_lib = [r for r in near if r["library"]]
        if agree_lib:
            best = agree_lib[0]
        elif near:
            best = min(near, key=lambda r: _heteroatoms(r["formula"]))
        else:
            best = rows[0]
        others = sorted((r for r in rows if r["formula"] != best["formula"]
                         and abs(r["ion_mz"] - best["ion_mz"]) < fwhm[peak]),
                        key=lambda r: abs(r["ion_mz"] - best["ion_mz"]))
        out[int(peak)] = {"formula": best["formula"], "error_ppm": float(best["error_ppm"]),
                          "confidence": float(best["confidence"]),
                          "unresolved_with": [r["formula"] for r in others[:5]],
                          "firm": best["library"] and best in near}
    if fits is not None:
        out = _identified_ion_names(out, table, mz_sigma, _explaining_species(fits))
    out = _isotopologue_names(out, table, mz_sigma)
    return {k: {n: v for n, v in ion.items() if n != "firm"} for k, ion in out.items()}


#: Share of a peak an ion must explain to name it — an isotopologue of a stronger peak's ion by its natural
#: abundance, an identified ion by its fitted counts: half, so that no other ion can explain more.
ISOTOPOLOGUE_SHARE = 0.5


def _main_isotope_missing(formula: str, peak: int, mz: np.ndarray, area: np.ndarray) -> bool:
    """Whether ``formula`` is the atomic ion of a minor isotope (``^113In+``) and the peaks (``mz``, ``area`` of
    the peak table) within half a unit of its element's main isotope hold less than :data:`ISOTOPOLOGUE_SHARE` of
    the counts that isotope would have beside this peak (natural abundances; Meija et al., *Pure Appl. Chem.* 88,
    293, 2016, doi:10.1515/pac-2015-0503): more ions at the main isotope's mass do not count against it, too few
    do — unless that is the spectrum's strongest peak, whose counts saturation can cap (Stephan, Zehnpfenning &
    Benninghoven, *J. Vac. Sci. Technol. A* 12, 405, 1994, doi:10.1116/1.579255: ³⁵Cl⁻ at 1.4 times ³⁷Cl⁻, not
    3.1, on a negative export)."""
    from ionscope.library.isotopes import element

    atomic = re.fullmatch(r"\^(\d+)([A-Z][a-z]?)([+-])", formula)
    if atomic is None:
        return False
    el = element(atomic[2])
    main, this = int(np.argmax(el.abundances)), list(el.mass_numbers).index(int(atomic[1]))
    if this == main:
        return False
    expected = area[peak] * el.abundances[main] / el.abundances[this]
    at_main = area[np.abs(mz - mz[peak] - (el.masses[main] - el.masses[this])) < 0.5]
    if at_main.size and at_main.max() >= area.max():
        return False  # the strongest peak, the first whose detector saturates beyond the dead-time correction
    return float(at_main.max(initial=0.0)) < ISOTOPOLOGUE_SHARE * expected


def _rejected_elements(fits: Identification) -> frozenset[str]:
    """The elements of a diagnostic isotope pattern (≥ 3 isotopes above 5 %) an identification tested and did not
    find (the species it fitted, less those of the elements present, of the primary ion and of the background),
    and the noble gases it did not find: in a sputtered solid they are implanted atoms of a beam, not ions of the
    sample (Greenwood & Earnshaw, *Chemistry of the Elements*, 2nd ed., 1997, ch. 18). An element of one or two
    isotopes that was not found may be there unresolved from the molecular ions (Cl⁻ on a 200-channel export):
    its ions keep naming peaks."""
    from ionscope.library.isotopes import diagnostic_elements
    from ionscope.spectra.forms import NOBLE_GASES

    found = set(fits.present().keys()) | set(fits.nuisance) | set(fits.background)
    tested = {e for f in fits if not f.interference for e in _owner_elements(f.element)}
    return frozenset(((tested & set(diagnostic_elements())) | NOBLE_GASES) - found)


def _owner_elements(owner: str) -> frozenset[str]:
    """The elements a species is recorded under: one, or the symbols of an ion of several run together ("IrRu" of
    RuIrO₃⁻)."""
    return frozenset(re.findall(r"[A-Z][a-z]?", owner))


def _elements_in(formula: str) -> frozenset[str]:
    """The elements of an ion's formula (``^106Pd+`` → Pd)."""
    return frozenset(sym for (sym, _), _ in parse_formula(formula).counts)


def _explaining_species(fits: Identification) -> list[tuple[str, frozenset[str], float]]:
    """(formula, elements, fitted counts) of the ions of ``fits`` whose counts may name peaks: those found, and
    those of an element found or of the primary ion whose fit is significant with the isotope pattern of the ion
    (it failed at most the contrast test, or was fitted beside the reported ones: BiO⁻, Ru₂O₃⁻)."""
    found = set(fits.present().keys()) | set(fits.nuisance)
    out = []
    for f in fits:
        elements = _owner_elements(f.element) | set(f.shared_with)
        if f.present or (elements <= found and not {"significance", "pattern"} & set(f.failed)):
            out.append((f.formula, elements, float(f.intensity)))
    return out


def _identified_ion_names(ions: dict[int, dict], table, mz_sigma: np.ndarray,
                          species: Iterable[tuple[str, frozenset[str], float]]) -> dict[int, dict]:
    """Peaks named by the identified ion whose fitted counts there explain the most of them, at least
    :data:`ISOTOPOLOGUE_SHARE` of the peak's area: its counts times the abundance of its isotopologues of that
    nominal mass (its unit-mass isotope pattern) within 3σ or FWHM/2 of the peak's m/z. The name is the
    isotopologue most abundant there (:func:`_likeliest_isotopologue`: ¹⁰¹RuO₂⁻ at m/z 133); the confidence is
    the share explained, the ion the peak was named by before is listed as unresolved. The identification
    weighs each ion's whole isotope pattern against the spectrum jointly (a non-negative least-squares
    decomposition), so an atomic ion of one isotope whose mass agrees (¹³³Cs⁻, one isotope, whose pattern
    nothing can contradict) no longer names a peak of the oxide ions of the alloy's metal."""
    from ionscope.spectra.forms import _unit_pattern

    mz, area = table["mz"].to_numpy(float), table["area"].to_numpy(float)
    reach = np.maximum(3 * mz_sigma, table["fwhm"].to_numpy(float) / 2)
    best: dict[int, tuple[float, str, frozenset[str], float]] = {}
    for formula, elements, counts in species:
        pattern = _unit_pattern(formula)
        for iso_mz, abundance in zip(pattern.mz, pattern.abundance):
            explained = counts * abundance
            for p in map(int, np.nonzero(np.abs(mz - iso_mz) <= reach)[0]):
                if explained >= ISOTOPOLOGUE_SHARE * area[p] and explained > best.get(p, (0.0,))[0]:
                    best[p] = (explained, formula, elements, float(iso_mz))
    out = dict(ions)
    for p, (explained, formula, elements, iso_mz) in best.items():
        name = _likeliest_isotopologue(formula, elements, iso_mz)
        exact = parse_formula(name).mz
        before = out.get(p, {}).get("formula")
        out[p] = {"formula": name, "error_ppm": float((mz[p] - exact) / exact * 1e6),
                  "confidence": float(min(explained / max(area[p], 1.0), 1.0)),
                  "unresolved_with": [before] if before and before != name else [], "firm": True}
    return out


@cache
def _likeliest_isotopologue(formula: str, marked: frozenset[str], mz: float) -> str:
    """The most abundant isotopologue of ``formula`` whose nominal mass is that of ``mz`` (natural abundances,
    multinomial over the atoms of each element; Meija et al., *Pure Appl. Chem.* 88, 293, 2016,
    doi:10.1515/pac-2015-0503), written with the mass numbers of the ``marked`` elements' atoms and of each other
    atom not of its element's main isotope (:func:`_written_atoms`): ``^101RuO2-``, ``^102RuO2^37Cl-``."""
    from ionscope.library.isotopes import element

    ion = parse_formula(formula)
    sign = formula[len(formula.rstrip("+-")):]
    choices: list[list[tuple[str, tuple[tuple[int, int], ...], float, int]]] = []
    for (sym, a), n in ion.counts:
        el = element(sym)
        isotopes = [(int(m), float(ab)) for m, ab in zip(el.mass_numbers, el.abundances) if ab > 0]
        if a is not None:
            choices.append([(sym, ((a, n),), 1.0, a * n)])
            continue
        options = []
        for combo in combinations_with_replacement(isotopes, n):
            counts = {m: combo.count((m, ab)) for m, ab in set(combo)}
            share = factorial(n) / prod(factorial(c) for c in counts.values()) * prod(ab for _, ab in combo)
            options.append((sym, tuple(sorted(counts.items())), share, sum(m for m, _ in combo)))
        choices.append(options)
    nominal = round(mz)
    pick = max((c for c in product(*choices) if sum(o[3] for o in c) == nominal),
               key=lambda c: prod(o[2] for o in c), default=None)
    if pick is None:
        return formula
    return "".join(_written_atoms(sym, counts, sym in marked) for sym, counts, _, _ in pick) + sign


def _written_atoms(sym: str, counts: tuple[tuple[int, int], ...], marked: bool) -> str:
    """Atoms of one element in an isotopologue's name: ``O2``, ``^18OO``, ``^102Ru`` (``marked``). An atom of its
    element's main isotope is written bare when the element is not ``marked`` or that isotope holds
    :data:`DOMINANT_ISOTOPE` of it (Li, Na, Si, Fe …: ⁶LiLiO⁺, as ¹³C is written and ¹²C not)."""
    from ionscope.library.isotopes import element

    el = element(sym)
    main = int(np.argmax(el.abundances))
    marked = marked and float(el.abundances[main]) < DOMINANT_ISOTOPE
    return "".join(("" if a == int(el.mass_numbers[main]) and not marked else f"^{a}") + sym + (str(c) if c > 1 else "")
                   for a, c in sorted(counts, key=lambda t: (t[0] == int(el.mass_numbers[main]), t[0])))


#: Abundance above which an element's main isotope is implied by its symbol in an ion's name.
DOMINANT_ISOTOPE = 0.9


def _isotopologue_names(ions: dict[int, dict], table, mz_sigma: np.ndarray) -> dict[int, dict]:
    """Peaks that are a heavier (or lighter) isotopologue of the ion a stronger peak is named by — ¹³CCH₃O⁺
    beside C₂H₃O⁺, ⁶Li⁷LiO⁺ beside Li₂O⁺ — named so, unless a library ion within 3σ names them: within 3σ or
    FWHM/2 of the isotopologue's m/z and at most 1/:data:`ISOTOPOLOGUE_SHARE` times the height its natural
    abundance predicts (so it explains at least half the peak; its confidence is the share it explains). The
    molecular formulas of a nominal mass otherwise name the ¹³C peak of every strong ion (H₂N₃⁺ for that of
    C₂H₃O⁺)."""
    mz, height = table["mz"].to_numpy(float), table["height"].to_numpy(float)
    reach = np.maximum(3 * mz_sigma, table["fwhm"].to_numpy(float) / 2)
    out = dict(ions)
    for q in sorted(ions, key=lambda i: -height[i]):
        for name, iso_mz, ratio in _single_isotopologues(out[q]["formula"]):
            near = np.nonzero(np.abs(mz - iso_mz) <= reach)[0]
            for p in map(int, near):
                if p == q or out.get(p, {}).get("firm") or height[p] * ISOTOPOLOGUE_SHARE > ratio * height[q]:
                    continue
                before = out.get(p)
                out[p] = {"formula": name, "error_ppm": float((mz[p] - iso_mz) / iso_mz * 1e6),
                          "confidence": float(min(ratio * height[q] / max(height[p], 1.0), 1.0)),
                          "unresolved_with": ([before["formula"]] if before else []), "firm": True}
    return out


@cache
def _single_isotopologues(formula: str) -> tuple[tuple[str, float, float], ...]:
    """(name, m/z, abundance relative to the ion) of an ion's isotopologues with one atom of another stable
    isotope (``^13CCH3O+``; Meija et al., *Pure Appl. Chem.* 88, 293, 2016, doi:10.1515/pac-2015-0503); none for
    an ion already written with isotopes."""
    from ionscope.library.isotopes import element

    if "^" in formula:
        return ()
    try:
        ion = parse_formula(formula)
    except ValidationError:
        return ()
    sign = formula[len(formula.rstrip("+-")):]
    out = []
    for (sym, _), n in ion.counts:
        el = element(sym)
        main = int(np.argmax(el.abundances))
        for k in range(el.masses.size):
            ratio = n * el.abundances[k] / el.abundances[main]
            if k == main or ratio <= 0:
                continue
            rest = "".join(s + (str(c - (s == sym)) if c - (s == sym) > 1 else "")
                           for (s, _), c in ion.counts if c - (s == sym) > 0)
            name = f"^{el.mass_numbers[k]}{sym}{rest}{sign}"
            out.append((name, parse_formula(name).mz, float(ratio)))
    return tuple(out)


def _by_peak(ranked, library: bool) -> dict[int, list[dict]]:
    """Rows of an :func:`~ionscope.spectra.assign.assign_peaks` table by peak, best first, each marked as a
    ``library`` ion or not."""
    out: dict[int, list[dict]] = {}
    for r in ranked.to_dict("records"):
        out.setdefault(int(r["peak"]), []).append({**r, "library": library})
    return out


def _heteroatoms(formula: str) -> int:
    """Number of N, O, Si and S atoms of a molecular-ion formula (``C2H2O+`` → 1)."""
    return sum(int(n or 1) for _, n in re.findall(r"(Si|N|O|S)(\d*)", formula))
