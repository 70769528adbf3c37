"""Which ions an element forms, for each polarity: the species that identification fits.

Each candidate species of :mod:`ionscope.spectra.elements` (an element's atomic ion and its oxides for the
polarity, :data:`FORMS`, less the ions that are not expected (:func:`form_expected`): oxide ions in which
the metal's formal oxidation state would exceed its highest one, the fragment rule of Hirokawa et al. 2003
for cations and its counterpart for anions (no DyO₂⁺, SrO⁺, DyO₃⁻ or SrO₂⁻), atomic anions of elements whose
anion is unbound (no Xe⁻, Zn⁻), noble gases other than as M⁺) has an isotope pattern. Besides these forms,
identification fits the chloride and oxychloride ions of the chloride-forming metals
(:func:`chloride_allowed`), the primary-ion species (:data:`PRIMARY_ION_FORMS`), and the hydrides,
hydroxides and dimers that land on a one- or two-isotope form of another element
(:data:`INTERFERENCE_FORMS`, :func:`_deciding_interferences`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from ionscope.library.isotopes import element
from ionscope.library.patterns import IsotopePattern, isotope_pattern
from ionscope.model.errors import ValidationError

if TYPE_CHECKING:
    import pandas as pd


@lru_cache(maxsize=8192)
def _unit_pattern(formula: str) -> IsotopePattern:
    """Unit-resolution isotope pattern of an ion (:func:`~ionscope.library.patterns.isotope_pattern`),
    computed once per formula: the stages of auto mode ask for the same few hundred ions again and
    again. The arrays are shared and therefore made read-only."""
    p = isotope_pattern(formula, resolution="unit")
    p.mz.flags.writeable = False
    p.abundance.flags.writeable = False
    return p


def _main_mz(formula: str) -> np.ndarray:
    """m/z of an ion's main isotopologues (≥ 20 % of the largest, as in the pattern test)."""
    p = _unit_pattern(formula)
    return p.mz[p.abundance >= 0.2 * p.abundance.max()]


#: Highest oxidation state of each element in its known oxides (Greenwood & Earnshaw, *Chemistry of the
#: Elements*, 2nd ed., Butterworth-Heinemann 1997): the valence ``n`` of the fragment rule of
#: :func:`oxide_fragment_allowed`. Rare earths other than Ce, Pr, Tb form only M₂O₃; Pt, Pd, Rh, Ir at most MO₂
#: (PtO₃, RhO₃, IrO₃ are not established solids); Ru and Os MO₄; fluorine, the most electronegative element, has
#: no positive oxidation state (OF₂ is oxygen difluoride: no FOᵧ± ions), and oxygen has no oxide ions of its own
#: (O₂⁻, O₃⁻ are molecular ions, not "OO", "OO₂"); Ni and Co count with the +4 of delithiated layered oxides
#: (NiO₂, CoO₂); the alkali metals are +1 in every oxide (peroxides and superoxides included). Elements not
#: listed are not restricted.
OXIDE_VALENCE = {
    "Li": 1, "Na": 1, "K": 1, "Rb": 1, "Cs": 1, "Be": 2,
    "Mg": 2, "Ca": 2, "Sr": 2, "Ba": 2, "Zn": 2, "Cd": 2, "Hg": 2, "Ni": 4, "Co": 4, "Cu": 3, "Ag": 3,
    "Ti": 4, "Zr": 4, "Hf": 4, "Ge": 4, "Sn": 4, "Pb": 4, "Si": 4, "Ce": 4, "Pr": 4, "Tb": 4,
    "Sc": 3, "Y": 3, "La": 3, "Nd": 3, "Sm": 3, "Eu": 3, "Gd": 3, "Dy": 3, "Ho": 3, "Er": 3, "Tm": 3,
    "Yb": 3, "Lu": 3, "Ga": 3, "In": 3, "Au": 3, "Al": 3,
    "Pt": 4, "Pd": 4, "Rh": 4, "Ir": 4,
    "V": 5, "Nb": 5, "Ta": 5, "Cr": 6, "Mo": 6, "W": 6, "Se": 6, "Te": 6, "Re": 7, "Mn": 7,
    "Ru": 8, "Os": 8, "Xe": 8, "F": 0, "O": 0,
}


#: Elements whose atomic anion is unbound (electron affinity ≤ 0; Andersen, Haugen & Hotop, *J. Phys.
#: Chem. Ref. Data* 28, 1511, 1999, doi:10.1063/1.556047): no M⁻ ion, though their oxide anions can form.
UNBOUND_ANION = frozenset({"He", "Be", "N", "Ne", "Mg", "Ar", "Mn", "Zn", "Kr", "Cd", "Xe", "Hg", "Rn"})


#: Noble gases: in a sputtered solid only as implanted atoms (primary or sputter beams), which form no
#: oxides there (the xenon oxides are made from the fluorides by hydrolysis; Greenwood & Earnshaw 1997).
NOBLE_GASES = frozenset({"He", "Ne", "Ar", "Kr", "Xe", "Rn"})


#: Why an element has no expected ion of a polarity (:func:`form_expected`), for messages.
NO_ION_WHY = "noble gases form only cations, elements with an unbound anion no M⁻"


def form_expected(element_symbol: str, template: str, polarity: str) -> bool:
    """Whether the ion ``template`` (``"{E}"``, ``"{E}O2"`` …) of an element is an expected SIMS ion of
    ``polarity``: a noble gas only as M⁺ (:data:`NOBLE_GASES`); no atomic anion M⁻ of an element whose
    anion is unbound (:data:`UNBOUND_ANION`); oxide cations only as :func:`oxide_fragment_allowed`."""
    atomic = template == "{E}"
    if element_symbol in NOBLE_GASES:
        return atomic and polarity == "positive"
    if "Cl" in template:
        return chloride_allowed(element_symbol, template, polarity)
    if atomic and polarity == "negative" and element_symbol in UNBOUND_ANION:
        return False
    return oxide_fragment_allowed(element_symbol, template, polarity)


def oxide_fragment_allowed(element_symbol: str, template: str, polarity: str) -> bool:
    """Whether the oxide ion ``template`` (``"{E}O2"`` …) of an element is an expected SIMS fragment.

    Fragment rule of Hirokawa et al. (*Anal. Sci.* 19, 1231, 2003, doi:10.2116/analsci.19.1231): an
    oxide fragment MₓOᵧ of a cation of valence ``n`` appears as a positive ion when ``n·x ≥ 2y + 1``.
    For the cations MOᵧ⁺ tried here (x = 1) the largest valence the element reaches in an oxide
    (:data:`OXIDE_VALENCE`) must be ≥ 2y + 1, the formal oxidation state of the metal in the ion: a
    rare-earth dioxide cation DyO₂⁺ (needs n ≥ 5, rare earths have 3) is not expected, whereas DyO⁺ is.
    The same bound holds for an anion: the metal in MOᵧ⁻ has the formal oxidation state ``2y − 1``,
    which cannot exceed the highest one the element reaches (:data:`OXIDE_VALENCE`) — PdO₃⁻ (Pd +5),
    DyO₃⁻ (Dy +5) and SrO₂⁻ (Sr +3) are not expected, RuO₃⁻ (Ru +5) is. (Hirokawa's negative-ion
    condition ``n·x ≤ 2y + 1`` is a lower bound, met by every MOᵧ⁻ here.) Atomic ions (y = 0) are always
    allowed; elements without a tabulated valence are not restricted.
    """
    n = OXIDE_VALENCE.get(element_symbol)
    body = template.replace("{E}", "")
    if n is None or not body.startswith("O") or set(body[1:]) - set("0123456789"):
        return True
    y = int(body[1:] or 1)
    return n >= 2 * y + (1 if polarity == "positive" else -1)


#: Species forms tried for each element, by polarity (metal surfaces and their oxides: Laurent et al.,
#: Anal. Chem. 2024).
FORMS = {
    "positive": ("{E}", "{E}O", "{E}O2"),
    "negative": ("{E}", "{E}O", "{E}O2", "{E}O3"),
}


#: Chloride and oxychloride ions tried for each element when chlorine is seen in the spectrum
#: (:func:`_chlorine_seen`): metal chloro-complex anions MClₙ⁻ and oxychloride anions are among the
#: strongest metal-bearing negative ions of surfaces that held chloride (precursor salts, HCl etching;
#: e.g. PdCl₂⁻/PdCl₃⁻ and PtCl₃⁻ in Pd and Pt catalysts: Vickerman & Briggs, *ToF-SIMS: Materials
#: Analysis by Mass Spectrometry*, 2nd ed., 2013, ch. 14). Fitted as forms of the element, so that their
#: counts are decomposed jointly instead of being taken by oxide anions of other elements at the same
#: nominal masses; limited by :func:`chloride_allowed`.
CHLORIDE_FORMS = {
    "positive": ("{E}Cl", "{E}Cl2", "{E}OCl"),
    "negative": ("{E}Cl", "{E}Cl2", "{E}Cl3", "{E}OCl", "{E}OCl2", "{E}O2Cl"),
}


#: Soft and borderline Lewis acids among the metals (Pearson, *J. Am. Chem. Soc.* 85, 3533, 1963,
#: doi:10.1021/ja00905a001, Table I; class (b) acceptors of Ahrland, Chatt & Davies, *Q. Rev. Chem. Soc.*
#: 12, 265, 1958, doi:10.1039/QR9581200265): the metals that bind chloride in preference to oxygen and
#: form chloro-complex anions. Hard acids (alkaline earths, rare earths, Ti, Zr, Hf, Mo, W …) bind the
#: harder base oxygen, so their negative ions on an oxidised surface are oxides: no chloride forms.
CHLORIDE_FORMERS = frozenset({"Cu", "Ag", "Au", "Tl", "Hg", "Pd", "Cd", "Pt", "Te", "Fe", "Co", "Ni", "Zn", "Pb",
                              "Sn", "Sb", "Bi", "Rh", "Ir", "Ru", "Os"})


def chloride_allowed(element_symbol: str, template: str, polarity: str) -> bool:
    """Whether the (oxy)chloride ion ``template`` (``"{E}Cl2"``, ``"{E}OCl"`` …) of an element is expected:
    the formal oxidation state of the metal in the ion, ``2·(O atoms) + (Cl atoms) + q`` for charge ``q``
    (+1 for a cation, −1 for an anion), must lie between 0 and the highest oxidation state the element
    reaches in its oxides (:data:`OXIDE_VALENCE`; Greenwood & Earnshaw 1997) — e.g. SrCl₃⁻ (Sr +2) is
    allowed, SrOCl₂⁻ (+3) is not. Elements without a tabulated valence are not restricted."""
    if element_symbol not in CHLORIDE_FORMERS:
        return False
    n = OXIDE_VALENCE.get(element_symbol)
    if n is None:
        return True
    counts = {"O": 0, "Cl": 0, "H": 0}
    for atom, k in re.findall(r"(Cl|O|H)(\d*)", template.replace("{E}", "")):
        counts[atom] += int(k or 1)
    state = 2 * counts["O"] + counts["Cl"] - counts["H"] + (1 if polarity == "positive" else -1)
    return 1 <= state <= n


#: Interference species of each candidate element, by polarity: hydrides and hydroxides of its forms
#: (RuH⁺ on ¹⁰³Rh⁺, RuO₃H⁻ on RhO₃⁻) — the dimers M₂± and MM'± are added by :func:`_interference_species`.
INTERFERENCE_FORMS = {
    "positive": ("{E}H", "{E}OH", "{E}O2H"),
    "negative": ("{E}H", "{E}OH", "{E}O2H", "{E}O3H"),
}


#: Alkali metals: on a surface as salts, oxides and hydroxides (the LiF, Li₂O, LiOH and Li₂CO₃ of a battery's
#: interphases; NaCl), which sputter as the cluster ions of the series Mₙ₊₁Xₙ⁺ and MₙXₙ₊₁⁻ (Vickerman & Briggs,
#: *ToF-SIMS: Materials Analysis by Mass Spectrometry*, 2nd ed., 2013, ch. 14).
ALKALI_METALS = ("Li", "Na", "K", "Rb", "Cs")

#: Halogens: the anions of the alkali-halide cluster ions (:data:`SALT_CLUSTER_FORMS`).
HALOGENS = ("F", "Cl", "Br", "I")

#: Oxide and hydroxide cluster cations of the alkali metals, fitted as forms of the metal: Li₂O⁺ (m/z 30),
#: Li₃O⁺ (37) and Li₂OH⁺ (31) are among the strongest positive ions of lithium oxide and hydroxide in battery
#: interphases (Sharma, Hasegawa, Xing & Kuwata, *Sci. Technol. Adv. Mater.* 26, 2580917, 2025,
#: doi:10.1080/14686996.2025.2580917); the fragment rule of :func:`oxide_fragment_allowed` (MOᵧ ions with one
#: metal atom) does not apply to them.
ALKALI_OXIDE_FORMS = {"positive": ("{E}2O", "{E}3O", "{E}2OH"), "negative": ()}

#: Ions of two elements fitted as forms of both where both are named (:func:`_shared_form_species`): the first
#: two members of the alkali-halide cluster series, M₂X⁺ and M₃X₂⁺, MX₂⁻ and M₂X₃⁻ (Li₂F⁺ and LiF₂⁻ are the
#: markers of LiF in a solid-electrolyte interphase; Sharma et al. 2025) …
SALT_CLUSTER_FORMS = {"positive": ("{M}2{X}", "{M}3{X}2"), "negative": ("{M}{X}2", "{M}2{X}3")}

#: … and the complex anions of battery electrolyte salts, their hydrolysis and the corrosion they cause: PF₆⁻
#: and PO₂F₂⁻ of LiPF₆, BF₄⁻ of LiBF₄, AlF₄⁻ of a corroded aluminium current collector (Sharma et al. 2025).
COMPLEX_ANIONS = {("P", "F"): ("PF6", "PO2F2"), ("B", "F"): ("BF4",), ("Al", "F"): ("AlF4",)}


#: The partners tried for a named element without being named themselves: the halide ions of battery
#: electrolytes and interphases (LiF, LiCl of Li₂OHCl-type electrolytes; NaCl and KCl contamination), the alkali
#: metals every surface carries, and P and F of LiPF₆, the common electrolyte salt (BF₄⁻ and AlF₄⁻ need B or
#: Al named or found: tried with every fluorine they took counts of the continuum, AlF₄⁻ 49 counts at 5σ).
COMMON_PARTNERS = {"alkali": ("Li", "Na", "K"), "halogen": ("F", "Cl"), "central": ("P", "F")}


def _shared_form_species(named: Sequence[str], polarity: str, max_mz: float | None = None,
                         found: Sequence[str] = ()) -> list[tuple[str, frozenset, str]]:
    """(formula, its two elements, the element it is reported under) of the ions of two elements
    (:data:`SALT_CLUSTER_FORMS`, :data:`COMPLEX_ANIONS`) of which one is ``named`` and the other named, ``found``
    (by the auto screening) or a common partner (:data:`COMMON_PARTNERS`): an element's total is then the same
    whichever others are named (fluorine with and without phosphorus named, PF₆⁻ and PO₂F₂⁻ in both). Each is
    reported under its named anion-forming element (the halogen), else under the other, and counts as a form of
    both: Li₂F⁺ is evidence of fluorine as much as of lithium, and on a positive spectrum the only one of
    fluorine."""
    sign = "+" if polarity == "positive" else "-"
    named_set, seen = set(named), set(named) | set(found)
    out = []
    for m in ALKALI_METALS:
        for x in HALOGENS:
            if (m in named_set and (x in seen or x in COMMON_PARTNERS["halogen"])) or \
                    (x in named_set and (m in seen or m in COMMON_PARTNERS["alkali"])):
                owner = x if x in named_set else m
                out += [(t.format(M=m, X=x) + sign, frozenset((m, x)), owner) for t in SALT_CLUSTER_FORMS[polarity]]
    if polarity == "negative":
        out += [(f + sign, frozenset(pair), pair[1] if pair[1] in named_set else pair[0])
                for pair, formulas in COMPLEX_ANIONS.items()
                if named_set & set(pair) and set(pair) <= seen | set(COMMON_PARTNERS["central"]) for f in formulas]
    return out if max_mz is None else [t for t in out if _unit_pattern(t[0]).mz.max() < max_mz]


def candidate_species(elements: Sequence[str], polarity: str, forms: Sequence[str] | None = None,
                      max_mz: float | None = None, chlorides: bool = False) -> pd.DataFrame:
    """The species tried for ``elements`` in the forms of ``polarity``: given ``forms`` all of them, else
    the default :data:`FORMS` (and, with ``chlorides``, :data:`CHLORIDE_FORMS`) that the expected-ion
    rules allow (:func:`form_expected`).

    Returns
    -------
    pandas.DataFrame with columns ``formula`` (ion, with charge) and ``element``, one row per species.
    """
    import pandas as pd

    return pd.DataFrame(_candidate_pairs(elements, polarity, forms, max_mz, chlorides),
                        columns=["formula", "element"])


def _candidate_pairs(elements: Sequence[str], polarity: str, forms: Sequence[str] | None = None,
                     max_mz: float | None = None, chlorides: bool = False) -> list[tuple[str, str]]:
    """(formula, element) pairs of :func:`candidate_species`."""
    if polarity not in FORMS:
        raise ValidationError(f"polarity must be 'positive' or 'negative', got {polarity!r}")
    sign = "+" if polarity == "positive" else "-"
    templates = forms or FORMS[polarity] + (CHLORIDE_FORMS[polarity] if chlorides else ())
    out = []
    for e in elements:
        element(e)
        for f in (*templates, *(ALKALI_OXIDE_FORMS[polarity] if not forms and e in ALKALI_METALS else ())):
            if not forms and f not in ALKALI_OXIDE_FORMS[polarity] and not form_expected(e, f, polarity):
                continue
            formula = f.format(E=e) + sign
            if max_mz is None or _unit_pattern(formula).mz.max() < max_mz:
                out.append((formula, e))
    return out


def _untestable(elements: Sequence[str], polarity: str) -> list[str]:
    """The elements of which no ion of the default :data:`FORMS` is expected in ``polarity``
    (:func:`form_expected`), e.g. Xe in negative spectra: they cannot be tested there."""
    return [e for e in elements if not any(form_expected(e, f, polarity) for f in FORMS[polarity])]


def _interference_species(elements: Sequence[str], polarity: str, max_mz: float | None = None,
                          chlorides: bool = False) -> list[tuple[str, frozenset]]:
    """(formula, metal elements) of the interference species of ``elements``: hydrides/hydroxides
    (:data:`INTERFERENCE_FORMS`) of each — with ``chlorides``, also of each (oxy)chloride ion that
    :func:`chloride_allowed` admits (RuO₂ClH⁻ at m/z 170 on ¹⁰³RhO₂³⁵Cl⁻) — and the dimers M₂ and MM' of
    every pair (metal dimer ions are among the strongest cluster ions of metal surfaces; Laurent et al.,
    *Anal. Chem.* 2024)."""
    sign = "+" if polarity == "positive" else "-"
    out = [(f.format(E=e) + sign, frozenset((e,))) for e in elements for f in INTERFERENCE_FORMS[polarity]]
    if chlorides:
        out += [(t.format(E=e) + "H" + sign, frozenset((e,))) for e in elements for t in CHLORIDE_FORMS[polarity]
                if chloride_allowed(e, t + "H", polarity)]
    return _below(out, max_mz) + _dimer_species(elements, polarity, max_mz)


#: Elements without metal dimer ions: the alkali and alkaline-earth metals, boron and silicon sit on a surface
#: as salts, oxides and glass (ionic or covalent networks) and give M⁺ and salt cluster ions (Na₂Cl⁺, Na₂OH⁺),
#: not the intermetallic M₂⁺, MM'⁺ of an alloy (Vickerman & Briggs, *ToF-SIMS: Materials Analysis by Mass
#: Spectrometry*, 2nd ed., 2013, ch. 14).
NO_DIMERS = frozenset(("Li", "Be", "Na", "Mg", "K", "Ca", "Rb", "Sr", "Cs", "Ba", "Fr", "Ra", "B", "Si"))


def _dimer_species(elements: Sequence[str], polarity: str, max_mz: float | None = None,
                   oxides: bool = False) -> list[tuple[str, frozenset]]:
    """(formula, metal elements) of the dimer ions M₂, MM' of every pair of ``elements`` (not of
    :data:`NO_DIMERS`); with ``oxides`` also
    their oxides with as many oxygen atoms as the monomer forms of the polarity hold (:data:`FORMS`: M₂O⁺,
    M₂O₂⁺; M₂O⁻ … M₂O₃⁻). Metal-oxide cluster ions MₓOᵧ± are among the main secondary ions of oxidised metal
    surfaces (Vickerman & Briggs, *ToF-SIMS: Materials Analysis by Mass Spectrometry*, 2nd ed., 2013, ch. 14);
    Ru₂O⁺ at m/z 208–224 otherwise lands on the oxide patterns of absent heavier metals (WO₂⁺ at 212–218). Only
    for elements known to be present (auto mode's confirmation): the dimer oxides of a named, absent element
    take the counts of present ones (Pd₂O⁻ at m/z 220–236 took PtO₂⁻ on negative Ru–Pt)."""
    sign = "+" if polarity == "positive" else "-"
    oxygens = [t.replace("{E}", "") for t in FORMS[polarity]] if oxides else [""]  # "", "O", "O2" …
    els = [e for e in dict.fromkeys(elements) if e not in NO_DIMERS]
    out = [((f"{e}2" if e == f else f"{e}{f}") + o + sign, frozenset((e, f)))
           for i, e in enumerate(els) for f in els[i:] for o in oxygens]
    return _below(out, max_mz)


def _below(pairs: list[tuple[str, frozenset]], max_mz: float | None) -> list[tuple[str, frozenset]]:
    return pairs if max_mz is None else [(f, m) for f, m in pairs if _unit_pattern(f).mz.max() < max_mz]


#: Ions of the primary-ion element fitted as nuisance species (:func:`_primary_ion_species`): the atomic
#: ion, the clusters that a cluster source (Bi₃⁺, Au₃⁺) implants and sputters back, and the oxide ions
#: the implanted atoms form with the sample's oxygen (Bi₂O₃: BiO⁺, BiO₂⁻, BiO₃⁻).
PRIMARY_ION_FORMS = {
    "positive": ("{E}", "{E}2", "{E}3", "{E}O", "{E}2O"),
    "negative": ("{E}", "{E}2", "{E}O", "{E}O2", "{E}O3"),
}


def _primary_elements(primary_ion: str | None) -> list[str]:
    """Element symbols of a primary ion given as ``"Bi3+"``, ``"Bi3"``, ``"Bi"`` or ``"C60"`` (unknown
    symbols raise ValidationError)."""
    if not primary_ion:
        return []
    symbols = re.findall(r"[A-Z][a-z]?", primary_ion)
    if not symbols:
        raise ValidationError(f"primary ion {primary_ion!r} names no element (e.g. Bi3+, Au, Ga)")
    for e in symbols:
        element(e)
    return list(dict.fromkeys(symbols))


def _primary_ion_species(elements: Sequence[str], polarity: str, max_mz: float) -> list:
    """(formula, elements, element) triples of the primary-ion nuisance species inside the m/z range."""
    sign = "+" if polarity == "positive" else "-"
    out = []
    for e in elements:
        for t in PRIMARY_ION_FORMS[polarity]:
            f = t.format(E=e) + sign
            if _unit_pattern(f).mz.max() < max_mz:
                out.append((f, frozenset((e,)), e))
    return out


def _few_isotope_masses(formula: str) -> set[int]:
    """Nominal masses of a species with at most two isotopologues ≥ 1 % (empty for richer patterns)."""
    p = _unit_pattern(formula)
    main = p.mz[p.abundance >= 0.01 * p.abundance.max()]
    return set(np.rint(main).astype(int).tolist()) if main.size <= 2 else set()


def _deciding_interferences(forms: list, candidates: list[tuple[str, frozenset]]) -> list:
    """Of ``candidates`` ((formula, elements) pairs), those landing with an isotopologue of ≥ 5 % of their
    largest on a nominal mass of a one- or two-isotope form (``forms``: (formula, elements, element)
    triples) of another element (RuH⁺ on
    ¹⁰³Rh⁺, RuO₃H⁻ on RhO₃⁻), where no isotope pattern can tell them apart. Elsewhere hydrides are left
    out: an element's hydride is its own pattern moved by one mass, nearly collinear with it, which leaves
    the split between the two undetermined and the significance of each form meaningless."""
    targets: dict[int, set[str]] = {}
    for f, _, el in forms:
        for m in _few_isotope_masses(f):
            targets.setdefault(m, set()).add(el)
    out = []
    for f, metals in candidates:
        p = _unit_pattern(f)
        masses = np.rint(p.mz[p.abundance >= 0.05 * p.abundance.max()]).astype(int)
        if any(targets.get(int(m), set()) - metals for m in masses):
            out.append((f, metals, None))
    return out
