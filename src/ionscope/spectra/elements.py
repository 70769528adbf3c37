"""Element identification from isotope patterns, with NNLS decomposition of overlapping patterns.

Each candidate species (an element's atomic ion and its oxides for the polarity, :data:`FORMS`, less
the ions that are not expected (:func:`form_expected`): oxide ions in which the metal's formal
oxidation state would exceed its highest one, the fragment rule of Hirokawa et al. 2003 for cations
and its counterpart for anions (no DyO₂⁺, SrO⁺, DyO₃⁻ or SrO₂⁻), atomic anions of elements whose anion
is unbound (no Xe⁻, Zn⁻), noble gases other than as M⁺) has an isotope pattern. Around every
isotopologue m/z a window of ±FWHM/2 (``m/2R``, never narrower than one bin) holds the counts of
that isotopologue minus a local background: the mean count per bin of two flanks one FWHM away from
the peak (:func:`_window_counts`), whose Poisson variance is propagated into the window variance.
Windows of different species that overlap are merged. The window intensities ``b`` are modelled as
``A·x`` with ``A[j, s]`` the fraction of species ``s``'s ions falling in window ``j`` and ``x ≥ 0``
the total intensity of each species, solved by variance-weighted non-negative least squares
(Lawson–Hanson 1974; the algorithm of :func:`scipy.optimize.nnls`).

A species is reported *present* when

1. its intensity is significant: ``x_s / σ(x_s) ≥ z_crit`` (σ from the weighted normal equations of
   the active set, scaled by the mean squared weighted residual of the species' own windows when
   that exceeds 1 — misfit elsewhere in the spectrum does not dilute it);
2. for a species with ≥ 2 isotopologues, its own pattern is seen: over its isotopologues with ≥ 20 %
   of its largest abundance, the counts left after removing the other species' fitted share reach at
   least ``min_fraction`` of what it predicts in every one of them, and the cosine similarity of
   observed and predicted pattern is ≥ ``min_match``;
3. its pattern stands out from a smooth local background (``SpeciesFit.contrast``): windows at
   *every* nominal mass from ``contrast_pad`` below to ``contrast_pad`` above the pattern —
   including the masses where the species has no isotopologue — are fitted with the candidate
   species plus a background linear in nominal mass, separately for even and odd masses (organic
   fragment ions alternate in intensity with parity); the species must reach ``z_crit`` σ (σ scaled
   by √(χ²/dof) of this local fit). An organic envelope spread over the same nominal masses as a
   rare-earth or oxide pattern is absorbed by the background; a metal pattern with gaps (Ru⁺ has none
   at 97 and 103, Pd⁺ none at 107 and 109) is not. A pad of 4 gives each parity two masses per side.

Named mode runs the same tests as auto mode: naming an element does not make it present.
``z_crit`` comes from counting statistics (:func:`detection_threshold`): the one-sided z that keeps
the false-report probability of the whole run of species tests at that of a single 3σ test
(Bonferroni), e.g. 3.7σ for the 11 positive and 4.0σ for the 41 negative species (chlorides
included) of Ru, Rh, Pd, Ir, Pt. In auto mode the family is every test its stages can make, counted
before any is made (:func:`_auto_threshold`): 4.07σ for the 58 positive tests, 4.29σ for the 154
negative ones where chlorine is seen (74 screened species, 20 chloro-complex ions in the first round of
the chloride stage and 44 chloride and oxychloride ions in its second, 16 Rh/Ir forms).

A species with a single isotopologue above 1 % of the largest (Rh⁺, RhO⁺, Au⁺, Co⁺ …;
``SpeciesFit.diagnostic`` False) has no pattern to confirm: it is present only when it passes tests 1
and 3, i.e. stands out of the local background at its own mass once the named multi-isotope
elements are fitted jointly (Ru⁺ has no isotope at 103, so the Ru pattern fixes how much of m/z 103
the Ru-bearing ions can explain). Screened among ~35 elements a single-mass excess is what any
organic or cluster ion produces, so auto mode works in stages. The screening fits every element with a
diagnostic pattern plus the monoisotopic noble metals :data:`AUTO_NUISANCE` (Rh⁺ at m/z 103 inside the
Ru and Pd patterns, Au⁺ at 197 inside Pt's) without reporting the latter, so that a major Rh⁺ peak of
an alloy does not spoil the local background of Ru⁺. Where chlorine is seen, the chloro-complex stage
(:func:`_chloro_complex_stage`) tests each chloride-forming metal the screening did not find by its
binary chloro-complex ions (PdCl₂⁻, PdCl₃⁻) against the elements found. The few-isotope stage
(:func:`_few_isotope_stage`) tests the one- and two-isotope platinum-group metals
:data:`AUTO_FEW_ISOTOPE` (Rh, Ir) as named mode does, against the elements found and their interference
and chloride species. Name other few-isotope elements to test them. The chloro-complex stage then runs
once more against everything found so far, and a metal whose oxide ions showed its isotope pattern but
did not stand out of the local continuum is tested there by its oxychloride ions too
(:func:`_oxide_pattern_seen`). Last, the confirmation
(:func:`_confirmation`) fits the elements found alone, as named mode would and with all their dimer
ions and dimer oxides, keeps only those that pass again and reports their species from that fit: an element's intensity
is then close to what named mode gives for the same elements, not a share left by ~30 screened
candidates.

Interferences (named mode and the few-isotope auto stage). A one- or two-isotope form cannot tell itself
apart from another ion of the same nominal mass: RuH⁺ (¹⁰²Ru¹H, m/z 102.912) sits on ¹⁰³Rh⁺ (102.905),
RuOₙH⁻ on RhOₙ⁻, within one bin of these exports. In named mode the window fit therefore also holds
every hydride/hydroxide (:data:`INTERFERENCE_FORMS`) and metal dimer (M₂±, MM'±) of the named elements
that lands on a one- or two-isotope form of *another* named element (:func:`_deciding_interferences`),
so that the form is credited only with what the other elements' ions cannot explain — their share being
fixed by their own isotopologues at the other masses. Interference species are fitted, listed with
``interference=True`` and never reported as present. Hydrides are not fitted elsewhere: an element's
hydride is its own pattern moved by one mass, nearly collinear with it (on synthetic spectra without
hydrides, MH⁺ windows next to the M⁺ ones biased Ru⁺ by +12 %), which leaves the split between them
undetermined and the significance of each form meaningless. The auto screening fits none: over ~30
candidates they add hundreds of columns and let the hydrides of absent elements absorb counts.

Elements not named. Named mode first runs auto mode's stages on the same spectrum and fits the elements
found there that are not named as background species (fitted with all their forms, never reported, not
in the Bonferroni family; ``IdentifyParameters.screen_unnamed``): an isotope pattern left out of the model
is credited to whatever named pattern overlaps it, so naming Ru alone on a Ru–Rh–Pd spectrum would
otherwise give Ru a different intensity (or none) than naming all three. On the real alloy spectra the
named element's intensity is then the same whichever subset is named, within its σ.

Chlorides. Where chlorine is seen (both ³⁵Cl and ³⁷Cl above background in their natural ratio,
:func:`_chlorine_seen`), the chloride and oxychloride ions of the named elements (:data:`CHLORIDE_FORMS`:
MCl₂⁻, MCl₃⁻, MOCl⁻, MOCl₂⁻, MO₂Cl⁻; MCl⁺, MCl₂⁺, MOCl⁺) are fitted as forms of them, limited to the
chloride-forming (soft and borderline) metals and to formal oxidation states between +1 and the
element's highest (:func:`chloride_allowed`). Their counts are then decomposed jointly instead of
leaking into oxide anions of other elements at the same nominal masses, and a metal seen in negative
ions only as chloro-complexes (PdCl₂⁻) is found. The auto screening fits no chlorides unless asked
(``chlorides=True``; see :class:`IdentifyParameters`); where chlorine is seen, the later auto stages fit
those of the elements found, and the chloro-complex stage tests the binary chloro-complex ions of the
chloride-forming metals not found (in its second round also the oxychloride ions of those with an oxide
pattern seen).

Primary ion. The analysis beam's ions (Bi⁺, Bi₃⁺ … and their oxides, :data:`PRIMARY_ION_FORMS`) are
implanted and sputtered back; given ``primary_ion`` they are fitted as nuisance species — never
reported, not counted in the Bonferroni family — so that their counts are not credited to an element
whose pattern overlaps them (Bi⁻ at m/z 209 lies inside the PdCl₃⁻ pattern).

The work is split into named steps: :class:`IdentifyParameters` (settings), ``_prepare`` (arrays,
running sums, resolving power), ``_build_species`` (forms, interferences, isotopologue windows),
``_fit_windows`` (joint NNLS and σ), ``_assess`` (tests 1–3 per species).

Optionally (``max_shift_ppm`` > 0) a residual calibration error is absorbed by a ppm shift of the
windows per 50-m/z band, chosen to maximise the intensity explained by the species (off by default:
the recalibration is kept within a fraction of a bin).
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from ionscope.library.isotopes import diagnostic_elements, element
from ionscope.library.patterns import IsotopePattern, isotope_pattern
from ionscope.model.errors import ValidationError
from ionscope.model.result import Quantity, RecordSequence, Result
from ionscope.spectra import _peakfind

if TYPE_CHECKING:
    import pandas as pd

_erf = np.frompyfunc(math.erf, 1, 1)


def _nnls(a: np.ndarray, b: np.ndarray, maxiter: int) -> tuple[np.ndarray, float]:
    """Lawson–Hanson NNLS: :func:`scipy.optimize.nnls` (compiled) once ``scipy.optimize`` is imported
    (a batch imports it), else the NumPy twin (no import cost for a single spectrum)."""
    if "scipy.optimize" in sys.modules:
        return sys.modules["scipy.optimize"].nnls(a, b, maxiter=maxiter)
    return _peakfind.nnls(a, b, maxiter=maxiter)


@lru_cache(maxsize=8192)
def _unit_pattern(formula: str) -> IsotopePattern:
    """Unit-resolution isotope pattern of an ion (:func:`~ionscope.library.patterns.isotope_pattern`),
    computed once per formula: the stages of auto mode ask for the same few hundred ions again and
    again. The arrays are shared and therefore made read-only."""
    p = isotope_pattern(formula, resolution="unit")
    p.mz.flags.writeable = False
    p.abundance.flags.writeable = False
    return p


def erf(v) -> np.ndarray:
    """Error function, element-wise (``math.erf``; avoids importing ``scipy.special`` at start-up)."""
    return np.asarray(_erf(np.asarray(v, dtype=float)), dtype=float)


AUTO_NUISANCE = ("Rh", "Au")  #: monoisotopic metals fitted (never reported) in auto mode

#: Highest oxidation state of each element in its known oxides (Greenwood & Earnshaw, *Chemistry of the
#: Elements*, 2nd ed., Butterworth-Heinemann 1997): the valence ``n`` of the fragment rule of
#: :func:`oxide_fragment_allowed`. Rare earths other than Ce, Pr, Tb form only M₂O₃; Pt, Pd, Rh, Ir
#: at most MO₂ (PtO₃, RhO₃, IrO₃ are not established solids); Ru and Os MO₄; Ni and Co count with
#: the +4 of delithiated layered oxides (NiO₂, CoO₂). Elements not listed are not restricted.
OXIDE_VALENCE = {
    "Mg": 2, "Ca": 2, "Sr": 2, "Ba": 2, "Zn": 2, "Cd": 2, "Hg": 2, "Ni": 4, "Co": 4, "Cu": 3, "Ag": 3,
    "Ti": 4, "Zr": 4, "Hf": 4, "Ge": 4, "Sn": 4, "Pb": 4, "Si": 4, "Ce": 4, "Pr": 4, "Tb": 4,
    "Sc": 3, "Y": 3, "La": 3, "Nd": 3, "Sm": 3, "Eu": 3, "Gd": 3, "Dy": 3, "Ho": 3, "Er": 3, "Tm": 3,
    "Yb": 3, "Lu": 3, "Ga": 3, "In": 3, "Au": 3, "Al": 3,
    "Pt": 4, "Pd": 4, "Rh": 4, "Ir": 4,
    "V": 5, "Nb": 5, "Ta": 5, "Cr": 6, "Mo": 6, "W": 6, "Se": 6, "Te": 6, "Re": 7, "Mn": 7,
    "Ru": 8, "Os": 8, "Xe": 8,
}


#: Elements whose atomic anion is unbound (electron affinity ≤ 0; Andersen, Haugen & Hotop, *J. Phys.
#: Chem. Ref. Data* 28, 1511, 1999, doi:10.1063/1.556047): no M⁻ ion, though their oxide anions can form.
UNBOUND_ANION = frozenset({"He", "Be", "N", "Ne", "Mg", "Ar", "Mn", "Zn", "Kr", "Cd", "Xe", "Hg", "Rn"})

#: Noble gases: in a sputtered solid only as implanted atoms (primary or sputter beams), which form no
#: oxides there (the xenon oxides are made from the fluorides by hydrolysis; Greenwood & Earnshaw 1997).
NOBLE_GASES = frozenset({"He", "Ne", "Ar", "Kr", "Xe", "Rn"})


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


@dataclass(frozen=True)
class SpeciesFit:
    """One candidate species: fitted intensity (counts), its 1σ, significance, pattern match, presence.

    ``interference`` marks a species fitted only to account for its counts (a hydride or dimer landing
    on a one- or two-isotope form of another element); its ``element`` is then its metal symbols
    joined (``"IrRu"`` for RuIr⁺) and it is never ``present``. ``failed`` names the presence tests
    (module docstring) the species fails: ``"significance"`` (test 1), ``"pattern"`` (test 2),
    ``"contrast"`` (test 3), ``"mass offset"`` (count centroid farther than ``max_offset`` from the
    exact m/z), ``"not reported"`` (an interference or nuisance species) or ``"not confirmed"`` (auto mode:
    present in the screening but the element failed in the fit of the elements found alone,
    :func:`_confirmation`); empty when present.
    """

    formula: str
    element: str
    mz: float
    intensity: float
    uncertainty: float
    significance: float
    score: float
    min_fraction: float
    mass_offset: float
    contrast: float
    diagnostic: bool
    present: bool
    interference: bool = False
    failed: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass(frozen=True)
class Identification(RecordSequence[SpeciesFit]):
    """The outcome of :func:`identify_elements`: one :class:`SpeciesFit` per candidate species (the reported
    forms by decreasing intensity, then the interference species), the polarity, the candidate
    elements, whether (oxy)chloride forms were fitted, the primary-ion elements fitted as nuisance and,
    in named mode, the elements the auto screening found that were fitted without being named
    (``background``, :attr:`IdentifyParameters.screen_unnamed`).
    Indexing, ``len`` and iteration go over the species fits; :meth:`present` gives the elements found
    (:func:`elements_present`).
    """

    species: tuple[SpeciesFit, ...]
    polarity: str
    candidates: tuple[str, ...]
    chlorides: bool = False
    nuisance: tuple[str, ...] = ()
    background: tuple[str, ...] = ()
    items_field: ClassVar[str] = "species"

    def present(self) -> Result:
        """Element → summed intensity of its present species (:func:`elements_present`)."""
        return elements_present(self.species)

    def to_dict(self) -> dict:
        return {"polarity": self.polarity, "candidates": list(self.candidates), "chlorides": self.chlorides,
                "nuisance": list(self.nuisance), "background": list(self.background),
                "species": [f.to_dict() for f in self.species]}


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
        for f in templates:
            if not forms and not form_expected(e, f, polarity):
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


def _dimer_species(elements: Sequence[str], polarity: str, max_mz: float | None = None,
                   oxides: bool = False) -> list[tuple[str, frozenset]]:
    """(formula, metal elements) of the dimer ions M₂, MM' of every pair of ``elements``; with ``oxides`` also
    their oxides with as many oxygen atoms as the monomer forms of the polarity hold (:data:`FORMS`: M₂O⁺,
    M₂O₂⁺; M₂O⁻ … M₂O₃⁻). Metal-oxide cluster ions MₓOᵧ± are among the main secondary ions of oxidised metal
    surfaces (Vickerman & Briggs, *ToF-SIMS: Materials Analysis by Mass Spectrometry*, 2nd ed., 2013, ch. 14);
    Ru₂O⁺ at m/z 208–224 otherwise lands on the oxide patterns of absent heavier metals (WO₂⁺ at 212–218). Only
    for elements known to be present (auto mode's confirmation): the dimer oxides of a named, absent element
    take the counts of present ones (Pd₂O⁻ at m/z 220–236 took PtO₂⁻ on negative Ru–Pt)."""
    sign = "+" if polarity == "positive" else "-"
    oxygens = [t.replace("{E}", "") for t in FORMS[polarity]] if oxides else [""]  # "", "O", "O2" …
    els = list(dict.fromkeys(elements))
    out = [((f"{e}2" if e == f else f"{e}{f}") + o + sign, frozenset((e, f)))
           for i, e in enumerate(els) for f in els[i:] for o in oxygens]
    return _below(out, max_mz)


def _below(pairs: list[tuple[str, frozenset]], max_mz: float | None) -> list[tuple[str, frozenset]]:
    return pairs if max_mz is None else [(f, m) for f, m in pairs if _unit_pattern(f).mz.max() < max_mz]


def _windows(centres: np.ndarray, half: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Merged windows ``[wlo, whi]`` of the intervals ``centres ± half`` that overlap, and the window of
    each interval. In centre order a window ends where an interval starts beyond the upper ends of all
    the intervals before it."""
    order = np.argsort(centres, kind="stable")
    lo, hi = centres[order] - half[order], centres[order] + half[order]
    starts = np.concatenate(([True], lo[1:] > np.maximum.accumulate(hi)[:-1]))
    group = np.cumsum(starts) - 1
    first = np.nonzero(starts)[0]
    wlo, whi = np.minimum.reduceat(lo, first), np.maximum.reduceat(hi, first)
    inv = np.empty_like(group)
    inv[order] = group
    return wlo, whi, inv


@dataclass(frozen=True)
class IdentifyParameters:
    """Settings of :func:`identify_elements` (all optional; the defaults come from counting statistics).

    Attributes
    ----------
    forms
        Species templates reported per element, e.g. ``("{E}", "{E}O")``; default :data:`FORMS`.
    interferences
        Fit jointly the interference species that land on a one- or two-isotope form of another
        candidate element (:func:`_interference_species`, :func:`_deciding_interferences`: RuH⁺ on
        ¹⁰³Rh⁺, RuO₃H⁻ on RhO₃⁻ …). Default (None): in named mode, the few-isotope auto stage
        (:func:`_few_isotope_stage`) and the auto confirmation (:func:`_confirmation`) — over the ~30
        candidates of the auto screening they add hundreds of columns and let hydrides of absent
        elements absorb counts.
    resolving_power
        The instrument's m/Δm, for the window half-width ``m/(2R)`` (never narrower than one bin) and the
        modelled peak width (default: :func:`instrument_resolving_power`).
    min_significance
        z needed in tests 1 and 3; default :func:`detection_threshold` of the number of reported
        species tested (auto mode: of all tests its stages can make, :func:`_auto_threshold`).
    min_match, min_fraction
        Pattern criteria of multi-isotope species (module docstring, test 2).
    min_abundance
        Isotopologues below this fraction of the largest are left out of the windows.
    max_offset
        Largest offset of the count centroid from the exact m/z in the species' main isotopologue
        windows, in window half-widths (1 = anywhere in the window; a diagnostic on binned data).
    contrast, contrast_pad
        Background-contrast test (module docstring, test 3): required for presence unless
        ``contrast=False`` (then only for single-isotopologue species); ``contrast_pad`` nominal masses
        on each side of the pattern give the local background.
    max_shift_ppm, shift_step_ppm, band_width
        Residual calibration error tolerated: in every ``band_width`` (m/z) band the window centres are
        shifted by a ppm offset on this grid chosen to maximise the intensity the species explain
        there; 0 disables.
    chlorides
        Fit the chloride and oxychloride ions of every candidate (:data:`CHLORIDE_FORMS`) as forms of
        it. Default (None): in named mode and the later auto stages when chlorine is seen in the
        spectrum (:func:`_chlorine_seen`); in the auto screening not (over the ~20 chloride-forming auto
        candidates, the chlorides of absent elements took unmodelled oxychloride structure: measured on
        real Ru-alloy spectra, 10 reports of absent elements instead of 3) — there the chloride-forming
        metals not found are tested by their chloro-complex ions (:func:`_chloro_complex_stage`).
        True: in every auto stage, no chloro-complex stage; False: nowhere.
    primary_ion
        The primary ion of the measurement (``"Bi3+"``, ``"Bi"``, ``"Au"`` …): its atomic, cluster and
        oxide ions (:data:`PRIMARY_ION_FORMS`) are fitted as unreported nuisance species, unless its
        element is named. Default None (none fitted).
    screen_unnamed
        Named mode: first screen the spectrum as auto mode does and fit the elements it finds that are
        not named as unreported background species (``Identification.background``), so that their ions
        are not credited to the named elements and a named element's result does not depend on which
        others are named (Ru on a Ru–Pd–Rh spectrum: the Ru pattern at m/z 96–104 overlaps ¹⁰²Pd⁺–¹¹⁰Pd⁺
        and ¹⁰³Rh⁺). Default True; False fits the named elements alone.
    contrast_of_failed
        Compute the contrast (test 3) also for species that already fail test 1 or 2, for the rows of
        elements not detected. False gives the same decisions faster (named mode's screening).
    """

    forms: tuple[str, ...] | None = None
    interferences: bool | None = None
    resolving_power: float | None = None
    min_significance: float | None = None
    min_match: float = 0.9
    min_fraction: float = 0.5
    min_abundance: float = 0.01
    max_offset: float = 1.0
    contrast: bool = True
    contrast_pad: int = 4
    max_shift_ppm: float = 0.0
    shift_step_ppm: float = 50.0
    band_width: float = 50.0
    chlorides: bool | None = None
    primary_ion: str | None = None
    screen_unnamed: bool = True
    contrast_of_failed: bool = True

    @classmethod
    def from_options(cls, base: IdentifyParameters | None = None, **options) -> IdentifyParameters:
        """``base`` (or the defaults) with ``options`` replaced; an unknown name raises ValidationError."""
        from dataclasses import fields, replace

        known = {f.name for f in fields(cls)}
        unknown = sorted(set(options) - known)
        if unknown:
            raise ValidationError(f"unknown identification option(s) {', '.join(unknown)}; "
                                  f"known: {', '.join(sorted(known))}")
        if options.get("contrast") is None:
            options.pop("contrast", None)
        if options.get("forms") is not None:
            options["forms"] = tuple(options["forms"])
        return replace(base or cls(), **options)


@dataclass(frozen=True)
class _Spectrum:
    """Counts, m/z, bin widths, running sums and the resolving power of one calibrated spectrum."""

    y: np.ndarray
    x: np.ndarray
    dx: np.ndarray
    cs: np.ndarray      # running sum of baseline-subtracted counts
    cs_raw: np.ndarray  # running sum of counts
    cs_x: np.ndarray    # running sum of baseline-subtracted counts × m/z
    resolving_power: float


@dataclass(frozen=True)
class _Species:
    """Candidate species: formula, its elements, the element it is reported under (None for an
    interference species), and its isotopologue rows (m/z, capture-weighted abundance, species index,
    window half-width, abundance, bin width of the spectrum there)."""

    formulas: list[str]
    metals: list[frozenset]
    reported: list[str | None]
    patterns: list
    cm: np.ndarray
    ca: np.ndarray
    idx: np.ndarray
    half: np.ndarray
    ab: np.ndarray
    bin_width: np.ndarray


@dataclass(frozen=True)
class _WindowFit:
    """Design ``a`` (windows × species), background-subtracted window counts ``b``, weights ``w``,
    coefficients, per-isotopologue ppm shifts and 1σ of each coefficient."""

    a: np.ndarray
    b: np.ndarray
    w: np.ndarray
    coef: np.ndarray
    shifts: np.ndarray
    sigma: np.ndarray

    @property
    def fitted(self) -> np.ndarray:
        return self.a @ self.coef


def identify_elements(spectrum, mz=None, *, polarity: str, elements: Sequence[str] | str = "auto",
                      parameters: IdentifyParameters | None = None, **options) -> Identification:
    """Which elements are in a calibrated spectrum, and how much of each species.

    Parameters
    ----------
    spectrum, mz
        Counts and m/z (or a ``spectrum`` DataArray); the m/z must already be calibrated.
    polarity
        ``"positive"`` or ``"negative"`` (chooses the species forms).
    elements
        ``"auto"`` (every element with a diagnostic pattern, ≥ 3 isotopes above 5 %, plus the
        monoisotopic noble metals :data:`AUTO_NUISANCE`, fitted but never reported; then, where chlorine
        is seen, the chloride-forming metals not found by their chloro-complex ions,
        :func:`_chloro_complex_stage`; then Rh and Ir, :func:`_few_isotope_stage`; last the elements found
        are confirmed alone, :func:`_confirmation`) or a list such as ``["Ru", "Pt", "Pd"]`` (any
        element).
    parameters, **options
        :class:`IdentifyParameters`, or its fields by name (``min_match=0.8``).

    Returns
    -------
    Identification: its SpeciesFit records (reported forms, then interference species), sorted by
    decreasing intensity.
    """
    params = IdentifyParameters.from_options(parameters, **options)
    data = _prepare(spectrum, mz, params)
    if isinstance(elements, str) and elements == "auto":
        return _identify_auto(data, polarity, params)
    return _identify_named(list(elements), data, polarity, params)


def _identify_named(els: list[str], data: _Spectrum, polarity: str, params: IdentifyParameters) -> Identification:
    """Named mode: the named elements fitted jointly — with every form, their (oxy)chloride ions where
    chlorine is seen, the deciding interference species, the primary-ion species and (``screen_unnamed``)
    the elements auto mode finds that are not named, these last two fitted but never reported."""
    background: list[str] = []
    if params.screen_unnamed:
        screened = _identify_auto(data, polarity, replace(params, contrast_of_failed=False))
        background = [e for e in screened.present().keys() if e not in els]
    chlorides = _chlorine_seen(data, polarity, params) if params.chlorides is None else params.chlorides
    interferences = True if params.interferences is None else params.interferences
    nuisance = [e for e in _primary_elements(params.primary_ion) if e not in els + background]
    species = _build_species(els + background, polarity, params, data, interferences, chlorides, nuisance)
    fits = _assess(species, _fit_windows(species, data, params), data, params, set(nuisance) | set(background))
    return Identification(tuple(fits), polarity, tuple(els), chlorides, tuple(nuisance), tuple(background))


def _identify_auto(data: _Spectrum, polarity: str, params: IdentifyParameters) -> Identification:
    """Auto mode's stages (module docstring): screening, chloro-complex stage, few-isotope stage, second
    chloro-complex round, confirmation."""
    els = _auto_candidates()
    interferences = False if params.interferences is None else params.interferences
    chlorides = bool(params.chlorides)
    nuisance = [e for e in _primary_elements(params.primary_ion) if e not in els]
    species = _build_species(els, polarity, params, data, interferences, chlorides, nuisance)
    fit = _fit_windows(species, data, params)
    hidden = set(AUTO_NUISANCE) | set(nuisance)
    if params.min_significance is None:
        params = replace(params, min_significance=_auto_threshold(species, hidden, polarity, params, data))
    fits = _assess(species, fit, data, params, hidden)
    chloro = _chloro_stage_runs(params, data, polarity)
    if chloro:
        fits = _chloro_complex_stage(fits, polarity, params, data, nuisance)
        chlorides = True
    before = {f.element for f in fits if f.present}
    fits, els = _few_isotope_stage(fits, els, polarity, params, data, nuisance)
    oxychlorides = _oxide_pattern_seen(fits)
    if chloro and ({f.element for f in fits if f.present} != before or oxychlorides):
        fits = _chloro_complex_stage(fits, polarity, params, data, nuisance, oxychlorides)
    fits = _confirmation(fits, polarity, params, data, nuisance, chlorides)
    return Identification(tuple(fits), polarity, tuple(els), chlorides, tuple(nuisance))


def _chloro_stage_runs(params: IdentifyParameters, data: _Spectrum, polarity: str) -> bool:
    """Whether auto mode runs :func:`_chloro_complex_stage`: chlorine is seen (:func:`_chlorine_seen`),
    the screening fits no chlorides (``chlorides`` left at None) and the default forms are used."""
    return params.chlorides is None and not params.forms and _chlorine_seen(data, polarity, params)


def _auto_threshold(species: _Species, hidden: set[str], polarity: str, params: IdentifyParameters,
                    data: _Spectrum) -> float:
    """The z of every presence test of auto mode: Bonferroni (:func:`detection_threshold`) over all the tests
    its stages can make, counted before any is made — the screening's reported species (``species`` less
    the ``hidden`` elements), the ions of every metal :func:`_chloro_complex_stage` can test in its two
    rounds (when that stage runs: the binary chloro-complex ions, then every chloride and oxychloride ion)
    and the forms of :data:`AUTO_FEW_ISOTOPE` with their chlorides where
    chlorine is seen; the confirmation (:func:`_confirmation`) re-tests, it adds no test. Fixing the family
    before the data decide which of the later tests are run keeps the false-report probability of the
    whole run at that of one 3σ test."""
    top = float(data.x.max())
    n = sum(1 for r in species.reported if r is not None and r not in hidden)
    chlorine = _chlorine_seen(data, polarity, params) if params.chlorides is None else params.chlorides
    if _chloro_stage_runs(params, data, polarity):
        metals = _chloro_complex_metals()
        n += len(_chloro_complex_pairs(metals, polarity, top))
        n += len(_chloro_complex_pairs(metals, polarity, top, oxychlorides=True))
    n += len(_candidate_pairs(AUTO_FEW_ISOTOPE, polarity, params.forms, top, chlorine))
    return detection_threshold(n)


def _chloro_complex_metals() -> list[str]:
    """Metals tested by their chloro-complex ions in auto mode (:func:`_chloro_complex_stage`): the
    chloride-forming metals (:data:`CHLORIDE_FORMERS`) with a diagnostic isotope pattern (≥ 3 isotopes
    above 5 %), whose chloro-complex ions carry the metal's own pattern convolved with ³⁵Cl/³⁷Cl."""
    return [e for e in diagnostic_elements() if e in CHLORIDE_FORMERS]


def _chloro_complex_pairs(elements: Sequence[str], polarity: str, max_mz: float,
                          oxychlorides: bool = False) -> list[tuple[str, str]]:
    """(formula, element) of the binary chloro-complex ions (the templates of :data:`CHLORIDE_FORMS`
    without oxygen: MCl₂⁻, MCl₃⁻; MCl⁺, MCl₂⁺) of ``elements`` that :func:`chloride_allowed` admits;
    with ``oxychlorides`` also their oxychloride ions (MOCl⁻, MOCl₂⁻, MO₂Cl⁻; MOCl⁺)."""
    templates = [t for t in CHLORIDE_FORMS[polarity] if oxychlorides or "O" not in t.replace("{E}", "")]
    return [pair for e in elements for t in templates if chloride_allowed(e, t, polarity)
            for pair in _candidate_pairs([e], polarity, (t,), max_mz)]


def _oxide_pattern_seen(fits: Sequence[SpeciesFit]) -> frozenset[str]:
    """Elements not found one of whose atomic or oxide ions passed tests 1 and 2 (module docstring:
    significant, its own isotope pattern seen) and failed only test 3, the contrast over the local
    background — evidence of the metal that the continuum of cluster ions at those masses hides (RuO⁻ at
    6.5σ with pattern cosine 0.95 and no contrast on a negative high-entropy-alloy spectrum). Only these
    are tested by their oxychloride ions in the second round of :func:`_chloro_complex_stage`: an
    oxychloride ion of a metal with no pattern anywhere else lies on the oxychloride anions of the matrix
    metal (RuOₓClᵧ⁻), a continuum richer than any form list, and is no evidence of it."""
    found = {f.element for f in fits if f.present}
    return frozenset(f.element for f in fits if f.element not in found and not f.interference
                     and "Cl" not in f.formula and f.failed == ("contrast",))


def _chloro_complex_stage(fits: list[SpeciesFit], polarity: str, params: IdentifyParameters, data: _Spectrum,
                          nuisance: Sequence[str], oxychlorides: frozenset[str] = frozenset()) -> list[SpeciesFit]:
    """Chloro-complex stage of auto mode, where chlorine is seen: metals found by none of their oxide or
    atomic ions, tested by their chloro-complex ions against the elements the screening found.

    A metal on a surface that held chloride can show in negative ions only as chloro-complex anions
    (PdCl₂⁻, PdCl₃⁻, PtCl₂⁻: Vickerman & Briggs, *ToF-SIMS: Materials Analysis by Mass Spectrometry*, 2nd
    ed., 2013, ch. 14), which the screening does not fit (over its ~30 candidates, chlorides of absent
    elements took unmodelled oxychloride structure). Here each metal of :func:`_chloro_complex_metals` that
    the screening did not find is tested alone: its binary chloro-complex ions
    (:func:`_chloro_complex_pairs`) are fitted jointly with every form and (oxy)chloride ion of the
    established elements and the primary-ion species, so that they are credited only with what those
    cannot explain, and must pass the same tests 1–3 (module docstring) at the auto-mode threshold
    (:func:`_auto_threshold`). The metal's own oxychloride ions (MOCl⁻, MOCl₂⁻, MO₂Cl⁻) are tested only
    for the metals in ``oxychlorides`` (:func:`_oxide_pattern_seen`): they share their nominal masses
    with the oxychloride anions of the matrix metal (RuOₓClᵧ⁻ up to Ru +8), richer than any form list.
    Metals that pass alone are fitted and tested once more together, so that no two are credited with the
    same counts. Their records replace those of the same ions from an earlier round and are added to the
    others.

    Auto mode runs this stage twice: after the screening, and after the few-isotope stage against every
    element found by then — on a negative high-entropy-alloy spectrum Ru is credited with RuO₂Cl⁻ only once
    RhO₂Cl⁻, at the same nominal masses 170/172, is fitted with the Rh found in between. The second round is
    skipped when it would repeat the first (the same elements found, no oxychloride ions to add).
    """
    found = [e for e in dict.fromkeys(f.element for f in fits if f.present)]
    top = float(data.x.max())
    pairs = {e: _chloro_complex_pairs([e], polarity, top, e in oxychlorides) for e in _chloro_complex_metals()}
    tested: dict[str, list[SpeciesFit]] = {}
    for e, mine in pairs.items():
        if e not in found and mine:
            tested[e] = _test_added(found, mine, polarity, params, data, nuisance)
    passed = [e for e, st in tested.items() if any(f.present for f in st)]
    if len(passed) > 1:
        joint = _test_added(found, [p for e in passed for p in pairs[e]], polarity, params, data, nuisance)
        tested.update({e: [f for f in joint if f.element == e] for e in passed})
    retested = {f.formula for st in tested.values() for f in st}
    out = [f for f in fits if f.formula not in retested] + [f for st in tested.values() for f in st]
    out.sort(key=lambda f: (f.interference, -f.intensity))
    return out


def _test_added(found: list[str], pairs: list[tuple[str, str]], polarity: str, params: IdentifyParameters,
                data: _Spectrum, nuisance: Sequence[str]) -> list[SpeciesFit]:
    """Fit the species ``pairs`` ((formula, element)) jointly with every form and (oxy)chloride ion of the
    ``found`` elements and the primary-ion species of ``nuisance``; the records of ``pairs`` (tests 1–3)."""
    species = _build_species(found, polarity, params, data, False, True, nuisance, extra=pairs)
    added = {e for _, e in pairs}
    return _assess(species, _fit_windows(species, data, params), data, params, set(found) | set(nuisance), added)


#: Elements with one or two isotopes tested in the few-isotope stage of auto mode (:func:`_few_isotope_stage`):
#: the platinum-group metals without a diagnostic pattern, ¹⁰³Rh (monoisotopic) and ¹⁹¹Ir/¹⁹³Ir (Meija et
#: al., *Pure Appl. Chem.* 88, 293, 2016, doi:10.1515/pac-2015-0503). Ru, Pd, Os and Pt have ≥ 3 isotopes
#: above 5 % and are screened.
AUTO_FEW_ISOTOPE = ("Rh", "Ir")


def _few_isotope_stage(fits: list[SpeciesFit], els: list[str], polarity: str, params: IdentifyParameters,
                       data: _Spectrum, nuisance: Sequence[str]) -> tuple[list[SpeciesFit], list[str]]:
    """Few-isotope stage of auto mode: the one- or two-isotope elements :data:`AUTO_FEW_ISOTOPE`, tested as
    in named mode against the elements the screening and the chloro-complex stage found.

    A form with one or two isotopologues has no pattern of its own to confirm it, so the evidence is
    what stays at its masses once every ion that the elements *already established by their own
    isotope patterns* can put there is decomposed jointly with it (NNLS): their forms, the hydrides,
    hydroxides and dimers of them landing on the form (:func:`_deciding_interferences`: RuH⁺ on ¹⁰³Rh⁺,
    RuO₂H⁻ on RhO₂⁻) and, when chlorine is seen (:func:`_chlorine_seen`), their (oxy)chloride ions
    (RuCl₃⁻ at m/z 205–213 on IrO⁻). Screened among the ~30 candidates of the screening, the few-isotope
    forms take counts that absent elements' oxides and unmodelled cluster ions leave; against the
    established elements only, the same contrast test as in named mode decides. The threshold is that of
    the whole auto run (:func:`_auto_threshold`, passed as ``params.min_significance``); called without
    one, Bonferroni over the earlier stages' tests plus the few-isotope forms tested here.
    """
    found = [e for e in dict.fromkeys(f.element for f in fits if f.present) if e not in AUTO_FEW_ISOTOPE]
    top = float(data.x.max())
    few = [e for e in AUTO_FEW_ISOTOPE if _candidate_pairs([e], polarity, params.forms, top)]
    if not few:  # no ion of them inside the m/z range
        return fits, els
    stage2_els = found + few
    chlorides = _chlorine_seen(data, polarity, params) if params.chlorides is None else params.chlorides
    interferences = True if params.interferences is None else params.interferences
    species = _build_species(stage2_els, polarity, params, data, interferences, chlorides, nuisance)
    n_first = sum(1 for f in fits if not f.interference and "not reported" not in f.failed)
    n_few = sum(1 for r in species.reported if r in few)
    z_crit = params.min_significance
    if z_crit is None:
        z_crit = detection_threshold(n_first + n_few)
    stage2 = _assess(species, _fit_windows(species, data, params),
                     data, replace(params, min_significance=z_crit), set(found) | set(nuisance), set(few))
    out = [f for f in fits if f.element not in few] + stage2
    out.sort(key=lambda f: (f.interference, -f.intensity))
    return out, list(dict.fromkeys(els + few))


def _confirmation(fits: list[SpeciesFit], polarity: str, params: IdentifyParameters, data: _Spectrum,
                  nuisance: Sequence[str], chlorides: bool) -> list[SpeciesFit]:
    """Last stage of auto mode: the elements found are fitted alone, as in named mode, and each must pass
    again.

    The screening fit holds ~30 candidates; there, the ions of absent elements take
    counts and shape the local background, and a candidate can be credited with the ions of an element
    that only a later stage establishes (DyO₂⁻ at m/z 192–196 on Pt⁻ at 194–198, where Pt is found by
    PtCl₂⁻). The elements found by all stages are therefore fitted together — every form, their (oxy)chloride ions
    where ``chlorides``, the deciding hydride interferences, all their dimer ions and dimer oxides (M₂⁺, MM'⁺, M₂O⁺ …
    at m/z 190–250 for the platinum-group metals, where Pt⁺/PtO⁺ and the oxides of heavier metals would otherwise
    take their counts; :func:`_dimer_species`)
    and the primary-ion species — and an element stays present only if one of its species passes tests 1–3 (module
    docstring) in that fit too; the others' records are marked ``"not confirmed"``. Requiring a second test to pass
    as well can only lower the false-report probability, so the Bonferroni threshold of :func:`_auto_threshold`
    still bounds the whole run. The confirmed elements' records, and the interference species, are those of this fit
    (the model a user naming these elements would get, with their dimers: the screening splits their ions with the
    absent candidates, which left Ru at 0.25–0.8 and Pt at 0.3 of the named-mode intensity on negative spectra); the
    other elements keep the records of their stage, whose upper limits are taken with every candidate fitted.
    """
    found = list(dict.fromkeys(f.element for f in fits if f.present))
    if not found:
        return fits
    interferences = True if params.interferences is None else params.interferences
    species = _build_species(found, polarity, params, data, interferences, chlorides, nuisance, dimers=True)
    again = _assess(species, _fit_windows(species, data, params), data, params, set(nuisance))
    kept = {f.element for f in again if f.present}
    out = [f for f in again if f.element in kept or f.interference]
    out += [f if not f.present else replace(f, present=False, failed=("not confirmed",))
            for f in fits if f.element not in kept and not f.interference]
    out.sort(key=lambda f: (f.interference, -f.intensity))
    return out


def _auto_candidates() -> list[str]:
    """Elements fitted in auto mode: those with a diagnostic pattern (≥ 3 isotopes above 5 %) and the
    monoisotopic noble metals :data:`AUTO_NUISANCE` (fitted, never reported)."""
    return list(dict.fromkeys(diagnostic_elements() + list(AUTO_NUISANCE)))


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


#: One-sided z that each chlorine isotope must reach for chlorine to count as seen (:func:`_chlorine_seen`):
#: the 3σ detection convention of counting statistics (Currie, *Anal. Chem.* 1968, doi:10.1021/ac60259a007).
CHLORINE_Z = 3.0


def _chlorine_seen(data: _Spectrum, polarity: str, params: IdentifyParameters) -> bool:
    """Whether the atomic chlorine ion of ``polarity`` is in the spectrum with its isotope pattern.

    Both ³⁵Cl and ³⁷Cl windows (±FWHM/2, background from the flanks, :func:`_window_counts`) must hold
    counts :data:`CHLORINE_Z` σ above their background, and the pair must pass the pattern test of the
    species (module docstring, test 2: cosine similarity to the natural 75.8 : 24.2 ratio ≥ ``min_match``
    and each isotope ≥ ``min_fraction`` of its predicted share; IUPAC abundances, Meija et al., *Pure
    Appl. Chem.* 88, 293, 2016, doi:10.1515/pac-2015-0503). Counting statistics alone would reject the
    pattern where it is strongest: at 10⁶ counts a dead-time-saturated ³⁵Cl⁻ departs from the natural
    ratio by many Poisson σ.
    """
    p = _unit_pattern("Cl+" if polarity == "positive" else "Cl-")
    mz, ab = p.mz, p.abundance
    if mz.min() <= data.x[0] or mz.max() >= data.x[-1]:
        return False
    half = np.maximum(mz / (2 * data.resolving_power), np.interp(mz, data.x, data.dx))
    b, var, _ = _window_counts(mz - half, mz + half, data.x, data.cs_raw, data.dx)
    if not np.all(b >= CHLORINE_Z * np.sqrt(np.maximum(var, 1.0))):
        return False
    pred = ab / ab.sum() * b.sum()
    cosine = float(b @ ab / (np.linalg.norm(b) * np.linalg.norm(ab)))
    return bool(cosine >= params.min_match and np.min(b / pred) >= params.min_fraction)


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


def instrument_resolving_power(y: np.ndarray, x: np.ndarray, n_peaks: int = 20) -> float:
    """m/Δm (FWHM) of the instrument, the widening by the export's binning removed.

    An export sums many TOF channels per bin, so a peak is observed at least one bin wide. Its width
    read between bin centres is about the quadrature sum ``w_obs² ≈ w² + Δ²`` of its own FWHM ``w`` and
    the bin width ``Δ`` (m/z) — exact in both limits: a peak inside one bin reads one bin wide, a peak
    over many bins its own width. The estimate is the median of ``m/w`` over the ``n_peaks`` strongest
    peaks (10σ), each weighted by its height: the width of a peak is known to ~1/√counts, and at fine
    binning Poisson noise splits weaker peaks into narrow maxima (R = 1500 read as 1900 unweighted on a
    synthetic one-channel export). A peak no wider than its bin gives no finite bound (``w = 0``):
    ``inf`` when those hold most of the weight (true peaks narrower than the binning: windows are then
    one bin and the peak shape is the bin); 1000 when the spectrum has no peak.

    Taking the observed width as the instrument's made the modelled peaks of the Laurent et al. (2024)
    exports, 200 channels per bin, twice as wide as observed at m/z 100–200 (their FWHM is one bin
    there), and the counts of a narrow synthetic Ru⁺ peak came out 11 % (Pt⁺ 36 %) too high.
    """
    from ionscope.spectra.peaks import find_spectrum_peaks

    pk = find_spectrum_peaks(y, x, min_snr=10)
    if not len(pk):
        return 1000.0
    top = pk.nlargest(n_peaks, "height")
    m, w_obs = top["mz"].to_numpy(), top["fwhm"].to_numpy()
    bin_width = np.interp(m, x, np.gradient(x))
    w = np.sqrt(np.clip(w_obs ** 2 - bin_width ** 2, 0.0, None))
    r = np.where(w > 0, m / np.where(w > 0, w, 1.0), np.inf)
    order = np.argsort(r)
    weight = np.cumsum(top["height"].to_numpy()[order])
    return float(r[order][np.searchsorted(weight, weight[-1] / 2)])


def _prepare(spectrum, mz, params: IdentifyParameters) -> _Spectrum:
    """Arrays, running sums and the instrument's resolving power (:func:`instrument_resolving_power`)."""
    from ionscope.spectra.peaks import estimate_baseline

    if mz is None:
        mz = spectrum.coords["mz"].values
        spectrum = spectrum.values
    y = np.asarray(spectrum, dtype=float)
    x = np.asarray(mz, dtype=float)
    rp = params.resolving_power
    if rp is None:
        rp = instrument_resolving_power(y, x)
    yb = np.clip(y - estimate_baseline(y, 101), 0, None)
    zero = np.zeros(1)
    return _Spectrum(y, x, np.gradient(x), np.concatenate((zero, np.cumsum(yb))),
                     np.concatenate((zero, np.cumsum(y))), np.concatenate((zero, np.cumsum(yb * x))), rp)


def _build_species(els: Sequence[str], polarity: str, params: IdentifyParameters, data: _Spectrum,
                   interferences: bool, chlorides: bool = False, nuisance: Sequence[str] = (),
                   extra: Sequence[tuple[str, str]] = (), dimers: bool = False) -> _Species:
    """Reported forms of every element (with ``chlorides`` its (oxy)chloride ions too) and the ``extra``
    (formula, element) species, plus (``interferences``) the deciding interference species — with ``dimers``,
    every dimer ion of ``els`` (no monomer form is collinear with one, and where it is not fitted a
    multi-isotope form at the same masses takes its counts) — and the primary-ion species of the ``nuisance``
    elements; the isotopologues above ``min_abundance`` inside the m/z range, with the fraction of a Gaussian
    peak of FWHM m/R spread over its bin (:func:`_binned_gaussian_share`) captured by a window of half-width
    ``max(m/2R, one bin)``."""
    x, rp = data.x, data.resolving_power
    top = float(x.max())
    candidates = _candidate_pairs(els, polarity, params.forms, top, chlorides)
    pairs: list[tuple[str, frozenset, str | None]] = [(f, frozenset((e,)), e) for f, e in candidates]
    pairs += [(f, frozenset((e,)), e) for f, e in extra if (f, frozenset((e,)), e) not in pairs]
    if not pairs:
        none = _untestable(els, polarity)
        why = (f"; no {polarity} ion of {', '.join(none)} is expected (noble gases form only cations, "
               "elements with an unbound anion no M⁻)") if none else ""
        raise ValidationError("no candidate species fall inside the m/z range of the spectrum" + why)
    if interferences:
        pairs += _deciding_interferences(pairs, _interference_species(els, polarity, top, chlorides))
        if dimers:
            pairs += [(f, m, None) for f, m in _dimer_species(els, polarity, top, oxides=True)
                      if (f, m, None) not in pairs]
    pairs += _primary_ion_species(nuisance, polarity, top)
    pats = [_unit_pattern(f) for f, _, _ in pairs]
    keeps = [p.abundance >= params.min_abundance * p.abundance.max() for p in pats]
    cm = np.concatenate([p.mz[k] for p, k in zip(pats, keeps)])
    ca = np.concatenate([p.abundance[k] for p, k in zip(pats, keeps)])
    idx = np.concatenate([np.full(int(k.sum()), s) for s, k in enumerate(keeps)])
    ok = (cm > x[0]) & (cm < x[-1])
    cm, ca, idx = cm[ok], ca[ok], idx[ok]
    bin_width = np.interp(cm, x, data.dx)
    half = np.maximum(cm / (2 * rp), bin_width)
    captured = ca * _binned_gaussian_share(cm, cm / (rp * FWHM_SIGMA), bin_width, cm - half, cm + half)
    return _Species([f for f, _, _ in pairs], [m for _, m, _ in pairs], [r for _, _, r in pairs], pats,
                    cm, captured, idx, half, ca, bin_width)


def _solve(species: _Species, data: _Spectrum, shift_ppm, rows=None):
    """Variance-weighted NNLS of the window counts on the species' capture fractions.

    A species' column holds, per window, its isotopologues' abundance times the share of their
    Gaussian peak (FWHM m/R), spread over its bin, that the background-subtracted window count keeps
    (:func:`_captured_fraction`).
    """
    n = len(species.formulas)
    sel = np.arange(species.cm.size) if rows is None else rows
    shifts = shift_ppm if np.ndim(shift_ppm) == 0 else np.asarray(shift_ppm)[sel]
    centres = species.cm[sel] * (1 + shifts * 1e-6)
    wlo, whi, win = _windows(centres, species.half[sel])
    b, var, flanks = _window_counts(wlo, whi, data.x, data.cs_raw, data.dx)
    sigma = centres / (data.resolving_power * FWHM_SIGMA)
    kept = _captured_fraction(centres, sigma, species.bin_width[sel], wlo, whi, flanks, win)
    a = np.zeros((wlo.size, n))
    np.add.at(a, (win, species.idx[sel]), species.ab[sel] * kept)
    w = 1.0 / np.sqrt(np.maximum(var, 1.0))
    used = np.nonzero(a.any(axis=0))[0]
    coef = np.zeros(n)
    coef[used], _ = _nnls(a[:, used] * w[:, None], b * w, maxiter=50 * used.size + 50)
    return a, b, w, coef


def _band_shifts(species: _Species, data: _Spectrum, params: IdentifyParameters) -> np.ndarray:
    """Per-isotopologue ppm shift: per ``band_width`` band, the grid value explaining most intensity."""
    shifts = np.zeros(species.cm.size)
    if params.max_shift_ppm <= 0:
        return shifts
    grid = np.arange(-params.max_shift_ppm, params.max_shift_ppm + 1e-9, params.shift_step_ppm)
    band = np.floor(species.cm / params.band_width).astype(int)
    for k in np.unique(band):
        rows = np.nonzero(band == k)[0]
        fits = (_solve(species, data, g, rows) for g in grid)
        explained = [float(np.sum(a @ c)) for a, _, _, c in fits]
        shifts[rows] = grid[int(np.argmax(explained))]
    return shifts


def _fit_windows(species: _Species, data: _Spectrum, params: IdentifyParameters) -> _WindowFit:
    """Joint window fit of all species and the 1σ of each intensity (:func:`_sigmas`)."""
    shifts = _band_shifts(species, data, params)
    a, b, w, coef = _solve(species, data, shifts)
    return _WindowFit(a, b, w, coef, shifts, _sigmas(a, b, w, coef))


def _sigmas(a: np.ndarray, b: np.ndarray, w: np.ndarray, coef: np.ndarray) -> np.ndarray:
    """1σ of each coefficient from the weighted normal equations of the active set, scaled by the mean
    squared weighted residual of the species' own windows when that exceeds 1; a species not fitted
    (x = 0) gets the σ it would have fitted alone."""
    resid = (b - a @ coef) * w
    sigma = np.full(a.shape[1], np.inf)

    def local(s: int | np.integer) -> float:
        rows = a[:, s] > 0
        return max(float(np.mean(resid[rows] ** 2)) if rows.any() else 1.0, 1.0)

    active = np.nonzero(coef > 0)[0]
    if active.size:
        aw = a[:, active] * w[:, None]
        cov = np.linalg.pinv(aw.T @ aw)
        for j, s in enumerate(active):
            sigma[s] = np.sqrt(max(cov[j, j], 0.0) * local(s))
    for s in np.nonzero(~np.isfinite(sigma) & a.any(axis=0))[0]:
        rows = a[:, s] > 0
        sigma[s] = np.sqrt(local(s) / float(np.sum((a[rows, s] * w[rows]) ** 2)))
    return sigma


def _pattern_agreement(s: int, fit: _WindowFit) -> tuple[float, float]:
    """Cosine similarity of observed (the other species' share removed) and predicted counts over the
    species' windows, and the least observed/predicted ratio over its windows with ≥ 20 % of its
    largest."""
    a, b, coef = fit.a, fit.b, fit.coef
    if coef[s] <= 0:
        return 0.0, 0.0
    fitted = fit.fitted
    contrib = a[:, s] * coef[s]
    rows = np.nonzero(contrib >= 0.2 * contrib.max())[0]
    own = np.clip(b[rows] - (fitted[rows] - contrib[rows]), 0, None)
    frac = float(np.min(own / contrib[rows]))
    allrows = np.nonzero(contrib > 0)[0]
    o = np.clip(b[allrows] - (fitted[allrows] - contrib[allrows]), 0, None)
    match = float(o @ contrib[allrows] / (np.linalg.norm(o) * np.linalg.norm(contrib[allrows]) + 1e-300))
    return match, frac


def _centroid_offset(s: int, species: _Species, fit: _WindowFit, data: _Spectrum) -> float:
    """Offset of the count centroid from the exact m/z in the species' main windows (half-widths)."""
    sel = np.nonzero(species.idx == s)[0]
    if not sel.size:
        return float("nan")
    sel = sel[species.ca[sel] >= 0.2 * species.ca[sel].max()]
    half = species.half[sel]
    c = species.cm[sel] * (1 + fit.shifts[sel] * 1e-6)
    lo = np.searchsorted(data.x, c - half, side="left")
    hi = np.searchsorted(data.x, c + half, side="right")
    n = data.cs[hi] - data.cs[lo]
    ok = n > 0
    if not ok.any():
        return float("nan")
    centroid = (data.cs_x[hi[ok]] - data.cs_x[lo[ok]]) / n[ok]
    return float(np.average((centroid - c[ok]) / half[ok], weights=species.ca[sel][ok]))


def _assess(species: _Species, fit: _WindowFit, data: _Spectrum, params: IdentifyParameters,
            hidden: set[str], only: set[str] | None = None) -> list[SpeciesFit]:
    """SpeciesFit records and presence (module docstring, tests 1–3) of the reported species; the
    interference species follow with ``present=False``. Elements in ``hidden`` are never present; given
    ``only``, just the species reported under those elements are assessed. Without
    ``params.contrast_of_failed`` the contrast (the costly test 3) is computed only for species that pass
    the others (0 for the rest): the same decisions."""
    n = len(species.formulas)
    # the Bonferroni family: the tests that can report something (not the hidden nuisance elements)
    tested = [s for s in range(n) if species.reported[s] is not None and species.reported[s] not in hidden]
    z_crit = detection_threshold(len(tested)) if params.min_significance is None else params.min_significance
    out = []
    for s in range(n):
        el = species.reported[s]
        if only is not None and el not in only:
            continue
        z = float(fit.coef[s] / fit.sigma[s]) if np.isfinite(fit.sigma[s]) and fit.sigma[s] > 0 else 0.0
        match, frac = _pattern_agreement(s, fit)
        p = species.patterns[s]
        diagnostic = bool(np.sum(p.abundance >= 0.01 * p.abundance.max()) >= 2)
        offset = _centroid_offset(s, species, fit, data) if fit.coef[s] > 0 else float("nan")
        failed = []
        if el is None or el in hidden:
            failed.append("not reported")
        if not z >= z_crit:
            failed.append("significance")
        if diagnostic and not (match >= params.min_match and frac >= params.min_fraction):
            failed.append("pattern")
        contrast = 0.0
        if el is not None and fit.coef[s] > 0 and (params.contrast_of_failed or not failed):
            contrast = _contrast_significance(s, species.cm, species.ca, species.idx, data.cs, data.x, data.dx,
                                              data.resolving_power, params.contrast_pad)
        if (params.contrast or not diagnostic) and not contrast >= z_crit:
            failed.append("contrast")
        if not abs(offset) <= params.max_offset:
            failed.append("mass offset")
        owner = el if el is not None else "".join(sorted(species.metals[s]))
        out.append(SpeciesFit(species.formulas[s], owner, p.base_mz, float(fit.coef[s]), float(fit.sigma[s]), z,
                              match, frac, float(offset), contrast, diagnostic, not failed, interference=el is None,
                              failed=tuple(failed)))
    out.sort(key=lambda f: (f.interference, -f.intensity))
    return out


def _contrast_significance(s: int, cm: np.ndarray, ca: np.ndarray, cs_idx: np.ndarray, cs: np.ndarray,
                           x: np.ndarray, dx: np.ndarray, resolving_power: float, pad: int) -> float:
    """Significance of species ``s`` over a smooth local background (module docstring, test 3).

    Windows at every nominal mass ``N`` from ``pad`` below to ``pad`` above the species' pattern, at
    ``N`` + the species' mean mass defect, including the masses where the species has no
    isotopologue. Model: every candidate species with an isotopologue in a window (capture fractions
    ``ca``) plus a background linear in ``N``, separately for even and odd ``N`` (organic ions
    alternate in intensity with the parity of their nominal mass), written as four non-negative
    ramps. Poisson-weighted NNLS; σ of the species from the active set, scaled by √(χ²/dof) when > 1.
    """
    mine = cs_idx == s
    if not mine.any():
        return 0.0
    nom = np.rint(cm[mine]).astype(int)
    defect = float(np.average(cm[mine] - nom, weights=ca[mine]))
    grid = np.arange(nom.min() - pad, nom.max() + pad + 1)
    centres = grid + defect
    ok = (centres > x[0]) & (centres < x[-1])
    grid, centres = grid[ok], centres[ok]
    if grid.size < 3:
        return 0.0
    half = np.maximum(centres / (2 * resolving_power), np.interp(centres, x, dx))
    b = cs[np.searchsorted(x, centres + half, side="right")] - cs[np.searchsorted(x, centres - half, side="left")]
    var = b
    j = np.rint(cm - defect).astype(int) - grid[0]
    inside = (j >= 0) & (j < grid.size)
    inside[inside] &= np.abs(cm[inside] - centres[j[inside]]) <= half[j[inside]]
    used = np.unique(cs_idx[inside])
    if s not in used:
        return 0.0
    k = int(np.searchsorted(used, s))
    a = np.zeros((grid.size, used.size))
    np.add.at(a, (j[inside], np.searchsorted(used, cs_idx[inside])), ca[inside])
    t = (grid - grid[0]) / max(grid[-1] - grid[0], 1)
    even = (grid % 2 == 0).astype(float)
    ramps = np.column_stack([even * t, even * (1 - t), (1 - even) * t, (1 - even) * (1 - t)])
    design = np.column_stack([a, ramps])
    w = 1.0 / np.sqrt(np.maximum(var, 1.0))
    coef, _ = _nnls(design * w[:, None], b * w, maxiter=50 * design.shape[1] + 50)
    if coef[k] <= 0:
        return 0.0
    active = np.nonzero(coef > 0)[0]
    resid = (b - design @ coef) * w
    dof = max(grid.size - active.size, 1)
    aw = design[:, active] * w[:, None]
    cov = np.linalg.pinv(aw.T @ aw) * max(float(resid @ resid) / dof, 1.0)
    j = int(np.searchsorted(active, k))
    var = cov[j, j]
    return float(coef[k] / np.sqrt(var)) if var > 0 else 0.0


def detection_threshold(n_tests: int, family_sigma: float = 3.0) -> float:
    """One-sided z needed per species so that a whole run of ``n_tests`` species tests has at most the
    false-report probability of a single ``family_sigma`` test (Bonferroni: ``p = Φ(−3)/n``; 3σ one-sided
    is p = 1.35·10⁻³). E.g. 20 species → 3.82σ, 150 species → 4.32σ."""
    from statistics import NormalDist

    nd = NormalDist()
    return float(-nd.inv_cdf(nd.cdf(-family_sigma) / max(int(n_tests), 1)))


def elements_present(fits: Iterable[SpeciesFit]) -> Result:
    """Element → summed intensity of its present species (a :class:`~ionscope.model.result.Quantity` in
    counts, σ added in quadrature), by decreasing intensity; ``keys()`` are the elements found."""
    total: dict[str, float] = {}
    var: dict[str, float] = {}
    for f in fits:
        if f.present:
            total[f.element] = total.get(f.element, 0.0) + f.intensity
            var[f.element] = var.get(f.element, 0.0) + (f.uncertainty ** 2 if np.isfinite(f.uncertainty) else 0.0)
    order = sorted(total, key=lambda e: -total[e])
    return Result("spectrum.elements_present",
                  {e: Quantity(total[e], float(np.sqrt(var[e])), "counts") for e in order})


#: z beyond which the two flanks of a window are taken to disagree (:func:`_window_counts`): a 3σ test
#: of the difference of two Poisson rates (normal approximation, variance ``F_l/n_l² + F_r/n_r²``), the
#: same 3σ convention as a detection limit (Currie, *Anal. Chem.* 1968, doi:10.1021/ac60259a007).
FLANK_Z = 3.0


def _window_counts(wlo: np.ndarray, whi: np.ndarray, x: np.ndarray, cs_raw: np.ndarray,
                   dx: np.ndarray) -> tuple[np.ndarray, np.ndarray, _Flanks]:
    """Background-subtracted counts in each window, their Poisson variance, and the flanks used.

    Counts are taken over the exact m/z interval of a window, not over the bins whose centres fall in
    it: the running sum is interpolated linearly between bin edges (half a bin either side of each
    centre), i.e. counts are spread evenly over a bin. Otherwise the counted interval jumps by up to a
    bin at each edge with the bin phase — a 10 % swing of a single-isotope species when the window
    spans eight bins — while the capture fraction assumes the nominal window.

    The local background of a window ``[lo, hi]`` of width ``W`` is the count rate per unit m/z in two
    flanks ``[lo − W, lo − W/2]`` and ``[hi + W/2, hi + W]`` (at least one bin wide each). A window is
    ±FWHM/2 around the exact mass, so the flanks start one FWHM from the peak centre, where a
    Gaussian peak has fallen to 6 % of its height, and end before the next nominal mass. With ``S``
    counts in the window and ``F`` counts over flank width ``W_f``:
    ``b = S − W·F/W_f`` and ``var(b) = S + W²·F/W_f²`` (both sums Poisson).

    When the two flanks disagree beyond counting statistics — their rates differ by more than
    :data:`FLANK_Z` standard deviations of the difference — another peak sits in one of them (at high
    resolving power a hydrocarbon ion of the same nominal mass lies 0.1–0.2 m/z above a metal ion,
    i.e. in its upper flank), and the lower flank alone gives the background. Pooling them would
    subtract that peak from the window: ¹⁹⁵Pt⁺ next to C₁₅H₁₅⁺ came out as zero.
    """
    edges = np.concatenate((x - dx / 2, [x[-1] + dx[-1] / 2]))

    def counts(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.interp(b, edges, cs_raw) - np.interp(a, edges, cs_raw)

    width = np.maximum(whi - wlo, 0.0)
    s = counts(wlo, whi)
    gap, wf = _flank_geometry(width, np.interp(wlo, x, dx))
    left = (wlo - gap - wf, wlo - gap)
    right = (whi + gap, whi + gap + wf)
    fl, fr = counts(*left), counts(*right)
    has = wf > 0
    wfs = np.where(has, wf, 1.0)
    rate_l, rate_r = fl / wfs, fr / wfs
    sd = np.sqrt(np.maximum(fl, 1) + np.maximum(fr, 1)) / wfs
    discordant = np.abs(rate_l - rate_r) > FLANK_Z * sd
    use_l = has & (~discordant | (rate_l <= rate_r))
    use_r = has & (~discordant | (rate_r < rate_l))
    f = fl * use_l + fr * use_r
    wsum = wfs * (use_l.astype(float) + use_r)
    weight = np.where(has, width / np.where(has, wsum, 1.0), 0.0)
    flanks = _Flanks(left, right, weight * use_l, weight * use_r)
    return s - weight * f, s + weight * weight * f, flanks


def _flank_geometry(width: np.ndarray, bin_width: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Gap between a window and each of its flanks, and the flank width (m/z), for windows of ``width``.

    Wanted: a gap of ``width/2`` (one FWHM from the peak centre for a ±FWHM/2 window) and a flank of
    ``max(width/2, one bin)``. Singly charged ions of neighbouring nominal masses lie 1 m/z apart, so
    their windows (about as wide) start ``1 − width`` beyond this one's edge; a flank reaching further
    would count their peaks as background. Coarse binning (windows are never narrower than a bin: at
    400 channels per bin in an IONTOF export, 0.3 m/z at m/z 180) makes that happen, so the flank is
    kept inside that gap — the gap to the window shrinks first, then the flank; where no room is left
    (windows ≥ 0.5 m/z wide) the window gets no flank and no background is subtracted.
    """
    room = np.clip(1.0 - width, 0.0, None)
    wf = np.minimum(np.maximum(width / 2, bin_width), room)
    gap = np.minimum(width / 2, room - wf)
    return gap, wf


@dataclass(frozen=True)
class _Flanks:
    """m/z intervals ``(start, stop)`` of each window's two flanks and the weight with which each
    flank's counts were subtracted (0 for a flank left out)."""

    left: tuple[np.ndarray, np.ndarray]
    right: tuple[np.ndarray, np.ndarray]
    left_weight: np.ndarray
    right_weight: np.ndarray


def _gaussian_share(centre: np.ndarray, sigma: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Share of a Gaussian peak (centre and σ in m/z) between ``lo`` and ``hi``."""
    z = 1.0 / (sigma * np.sqrt(2))
    return 0.5 * (erf((hi - centre) * z) - erf((lo - centre) * z))


FWHM_SIGMA = 2.354820045  #: FWHM of a Gaussian in units of its σ, 2√(2 ln 2)


def _binned_gaussian_share(centre: np.ndarray, sigma: np.ndarray, bin_width: np.ndarray, lo: np.ndarray,
                           hi: np.ndarray) -> np.ndarray:
    """Share between ``lo`` and ``hi`` of a Gaussian peak (centre, σ) whose counts are spread evenly over
    a bin of ``bin_width`` (m/z), as :func:`_window_counts` spreads each bin's counts.

    The Gaussian convolved with the bin's box, integrated in closed form with the antiderivative of erf,
    ``F(z) = z·erf(z) + exp(−z²)/√π``: ``∫₋ₕʰ erf((e − c − u)/κ) du = κ[F((e − c + h)/κ) − F((e − c − h)/κ)]``,
    ``κ = σ√2``, ``h = Δ/2``. A peak narrower than its bin (σ → 0) is the box itself.
    """
    kappa = np.maximum(sigma, 1e-6 * bin_width) * np.sqrt(2)
    h = bin_width / 2

    def antiderivative(z):
        return z * erf(z) + np.exp(-z * z) / np.sqrt(np.pi)

    def integral(edge):
        return kappa * (antiderivative((edge - centre + h) / kappa) - antiderivative((edge - centre - h) / kappa))

    return (integral(hi) - integral(lo)) / (2 * bin_width)


def _captured_fraction(centre: np.ndarray, sigma: np.ndarray, bin_width: np.ndarray, wlo: np.ndarray,
                       whi: np.ndarray, flanks: _Flanks, win: np.ndarray) -> np.ndarray:
    """Expected share of each isotopologue's counts in its window's background-subtracted count: the
    integral of its peak spread over its bin (:func:`_binned_gaussian_share`) over its window — wider
    than its own ±FWHM/2 when windows of neighbouring isotopologues merged — minus the flank weights
    times the integrals over the flanks, where the peak's own tail lies partly."""
    inside = _binned_gaussian_share(centre, sigma, bin_width, wlo[win], whi[win])
    left = _binned_gaussian_share(centre, sigma, bin_width, flanks.left[0][win], flanks.left[1][win])
    right = _binned_gaussian_share(centre, sigma, bin_width, flanks.right[0][win], flanks.right[1][win])
    return inside - flanks.left_weight[win] * left - flanks.right_weight[win] * right
