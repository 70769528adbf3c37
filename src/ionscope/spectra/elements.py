"""Element identification from isotope patterns, with NNLS decomposition of overlapping patterns.

A species is reported *present* when it passes the tests of :mod:`ionscope.spectra.presence`
(significance, its own isotope pattern, contrast over the local background) in the joint fit of
:mod:`ionscope.spectra.windowfit` over the forms of :mod:`ionscope.spectra.forms`. This module runs
them: named mode and the stages of auto mode.

Named mode runs the same tests as auto mode: naming an element does not make it present.
``z_crit`` comes from counting statistics (:func:`detection_threshold`): the one-sided z that keeps
the false-report probability of the whole run of species tests at that of a single 3σ test
(Bonferroni), e.g. 3.7σ for the 11 positive and 4.0σ for the 41 negative species (chlorides
included) of Ru, Rh, Pd, Ir, Pt. In auto mode the family is every test its stages can make, counted
before any is made (:func:`_auto_test_count`): 4.07σ for the 58 positive tests, 4.29σ for the 154
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
and chloride species; then every other one- and two-isotope metal (:func:`_few_isotope_metals`: Li, Na, K,
Co, Mn, Ni, Cu, Y, Nb …) and the halogens, P and S (:data:`RESOLVED_NONMETALS`) by those of its ions that the
spectrum resolves from every plausible molecular ion of the same nominal mass (:mod:`ionscope.spectra.continuum`)
or that lie where no molecular ion can be, chosen by forward selection against the elements found
(:func:`_forward_selected`); on a spectrum that resolves none of them (the 200-channel exports above m/z 23)
only Li⁺, B⁺ and Na⁺ are tested, and other few-isotope elements must be named. The chloro-complex stage then runs
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
otherwise give Ru a different intensity (or none) than naming all three.

Elements named but absent. The joint fit of every named element decides which are present. The species of
an absent element is fitted with a non-negative coefficient, positive on noise on average, and takes those
counts from the present species it overlaps; so the detected elements are fitted once more without the
others, with the same ``z_crit`` and, as in auto mode's confirmation, with all their dimer ions, and their
records come from that fit (:func:`_found_refit`). With the further forms of a detected element counted at
the single-test level (:func:`~ionscope.spectra.presence._further_forms`), an element's intensity on the real
alloy spectra is the same whether it is named alone or with all five metals (43 of 44 element–spectrum
pairs; the other within 0.2σ), and the same in named and auto mode (42 of 43 pairs where both detect it).

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
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from functools import cache
from typing import TYPE_CHECKING

import numpy as np

from ionscope.library.isotopes import diagnostic_elements, isotope_table
from ionscope.model.errors import ValidationError
from ionscope.spectra.continuum import resolved
from ionscope.spectra.forms import (
    CHLORIDE_FORMERS,
    CHLORIDE_FORMS,
    _candidate_pairs,
    _main_mz,
    _primary_elements,
    _unit_pattern,
    chloride_allowed,
)
from ionscope.spectra.identification import Identification, IdentifyParameters, SpeciesFit
from ionscope.spectra.presence import (
    FORM_Z,
    _assess,
    _clear_of_continuum,
    detection_threshold,
    reportable_count,
    run_threshold,
)
from ionscope.spectra.windowfit import (
    _build_species,
    _fit_windows,
    _prepare,
    _Species,
    _Spectrum,
    _window_counts,
    window_half_width,
)

if TYPE_CHECKING:
    pass


AUTO_NUISANCE = ("Rh", "Au")  #: monoisotopic metals fitted (never reported) in auto mode


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
        :func:`_chloro_complex_stage`; then Rh, Ir and the other one- and two-isotope metals whose ions the
        spectrum resolves from the molecular ions, :func:`_few_isotope_stage`; last the elements found
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
    chlorides = _chlorine_seen(data, polarity, params) if params.chlorides is None else params.chlorides
    if params.screen_unnamed and _candidate_pairs(els, polarity, params.forms, float(data.x.max()), chlorides):
        try:
            screened = _identify_auto(data, polarity, replace(params, contrast_of_failed=False))
        except ValidationError:  # no screened element has an ion inside a short spectrum: none to add
            screened = Identification((), polarity, ())
        background = [e for e in screened.present().keys() if e not in els]
    interferences = True if params.interferences is None else params.interferences
    nuisance = [e for e in _primary_elements(params.primary_ion) if e not in els + background]
    hidden = set(nuisance) | set(background)
    whole, tested_forms = _by_tested_forms(background, screened.species if background else ())
    species = _build_species(els + whole, polarity, params, data, interferences, chlorides, nuisance, tested_forms,
                             shared=els)
    n_tests = 0 if params.min_significance is not None else reportable_count(species, hidden)
    z_crit = run_threshold(species, hidden, params)
    params = replace(params, min_significance=z_crit)
    fits = _assess(species, _fit_windows(species, data, params, robust=True), data, params, hidden)
    found = list(dict.fromkeys(e for f in fits if f.present for e in (f.element, *f.shared_with) if e in els))
    if found:
        species = _build_species(found + whole, polarity, params, data, interferences, chlorides, nuisance,
                                 tested_forms, dimers=interferences, shared=found)
        fits = _found_refit(fits, _assess(species, _fit_windows(species, data, params, robust=True), data, params,
                                          hidden))
    return Identification(tuple(fits), polarity, tuple(els), chlorides, tuple(nuisance), tuple(background),
                          z_crit, n_tests)


def _found_refit(fits: list[SpeciesFit], again: list[SpeciesFit]) -> list[SpeciesFit]:
    """Named mode's records: ``fits`` of the joint fit of every named element, ``again`` of the refit of the
    elements detected there (same ``z_crit``, with their dimer ions as in :func:`_confirmation`).

    The joint fit decides which named elements are present. Their intensities come from the refit: a
    species of an absent element is fitted with a non-negative coefficient, which on noise is positive on
    average and is taken from the present species that overlap it, so naming more absent elements would
    lower the intensities of the present ones (Ru on a Ru-only negative spectrum: 78 900 counts with Ru, Rh,
    Pd, Ir, Pt named, 97 200 with Ru alone). An element whose species still pass in the refit takes its
    records from there, as do the interference species it holds; one that passed only in the joint fit keeps
    those records (the decision is the named test's); the elements not detected keep theirs from the joint fit,
    whose upper limits are taken with every named element fitted, and so do the interference species that only
    the joint fit holds (RuH⁺ on ¹⁰³Rh⁺, which explains the row of an absent Rh)."""
    kept = {f.element for f in again if f.present and not f.interference}
    refitted = {f.formula for f in again}
    out = [f for f in again if f.element in kept or f.interference]
    taken = {f.formula for f in out}  # an ion of two elements (Li₂F⁺) is one record, the refit's
    out += [f for f in fits if f.formula not in taken and ((f.element not in kept and not f.interference)
                                                           or (f.interference and f.formula not in refitted))]
    out.sort(key=lambda f: (f.interference, -f.intensity))
    return out


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
    resolved = _resolved_few_isotope_pairs(polarity, params, data, hidden)
    n_tests = (0 if params.min_significance is not None else
               _auto_test_count(species, hidden, polarity, params, data, resolved))
    z_crit = params.min_significance if params.min_significance is not None else detection_threshold(n_tests)
    params = replace(params, min_significance=z_crit)
    fits = _assess(species, fit, data, params, hidden)
    chloro = _chloro_stage_runs(params, data, polarity)
    if chloro:
        fits = _chloro_complex_stage(fits, polarity, params, data, nuisance)
        chlorides = True
    before = {f.element for f in fits if f.present}
    fits, els = _few_isotope_stage(fits, els, polarity, params, data, nuisance, resolved)
    oxychlorides = _oxide_pattern_seen(fits)
    if chloro and ({f.element for f in fits if f.present} != before or oxychlorides):
        fits = _chloro_complex_stage(fits, polarity, params, data, nuisance, oxychlorides)
    fits = _confirmation(fits, polarity, params, data, nuisance, chlorides)
    return Identification(tuple(fits), polarity, tuple(els), chlorides, tuple(nuisance), (), z_crit, n_tests)


def _chloro_stage_runs(params: IdentifyParameters, data: _Spectrum, polarity: str) -> bool:
    """Whether auto mode runs :func:`_chloro_complex_stage`: chlorine is seen (:func:`_chlorine_seen`),
    the screening fits no chlorides (``chlorides`` left at None) and the default forms are used."""
    return params.chlorides is None and not params.forms and _chlorine_seen(data, polarity, params)


def _auto_test_count(species: _Species, hidden: set[str], polarity: str, params: IdentifyParameters,
                     data: _Spectrum, resolved: dict[str, list[tuple[str, str]]]) -> int:
    """The number of tests whose Bonferroni threshold (:func:`detection_threshold`) is the z of every presence
    test of auto mode: all the tests its stages can make, counted before any is made — the screening's
    reported species (``species`` less the ``hidden`` elements), the ions of every metal
    :func:`_chloro_complex_stage` can test in its two rounds (when that stage runs: the binary chloro-complex
    ions, then every chloride and oxychloride ion) and the forms of :data:`AUTO_FEW_ISOTOPE` with their
    chlorides where chlorine is seen; the confirmation (:func:`_confirmation`) re-tests, it adds no test.
    Fixing the family before the data decide which of the later tests are run keeps the false-report
    probability of the whole run at that of one 3σ test."""
    top = float(data.x.max())
    n = reportable_count(species, hidden)
    chlorine = _chlorine_seen(data, polarity, params) if params.chlorides is None else params.chlorides
    if _chloro_stage_runs(params, data, polarity):
        metals = _chloro_complex_metals()
        n += len(_chloro_complex_pairs(metals, polarity, top))
        n += len(_chloro_complex_pairs(metals, polarity, top, oxychlorides=True))
    n += len(_candidate_pairs(AUTO_FEW_ISOTOPE, polarity, params.forms, top, chlorine))
    n += sum(map(len, resolved.values()))
    return n


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
    """Elements not found one of whose atomic or oxide ions passed tests 1 and 2 (:mod:`ionscope.spectra.presence`:
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
    cannot explain, and must pass the same tests 1–3 (:mod:`ionscope.spectra.presence`) at the auto-mode threshold
    (:func:`_auto_test_count`). The metal's own oxychloride ions (MOCl⁻, MOCl₂⁻, MO₂Cl⁻) are tested only
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
    tested = _tested_alone_then_together(found, pairs, polarity, params, data, nuisance, chlorides=True)
    return _with_records(fits, tested)


def _tested_alone_then_together(found: list[str], pairs: dict[str, list[tuple[str, str]]], polarity: str,
                                params: IdentifyParameters, data: _Spectrum, nuisance: Sequence[str],
                                chlorides: bool) -> dict[str, list[SpeciesFit]]:
    """Records of each element of ``pairs`` (element → its (formula, element) species) not in ``found``,
    tested alone against the ``found`` elements (:func:`_test_added`); the elements that pass alone are
    fitted and tested once more together, so that no two are credited with the same counts."""
    tested = {e: _test_added(found, mine, polarity, params, data, nuisance, chlorides)
              for e, mine in pairs.items() if e not in found and mine}
    passed = [e for e, st in tested.items() if any(f.present for f in st)]
    if len(passed) > 1:
        joint = _test_added(found, [p for e in passed for p in pairs[e]], polarity, params, data, nuisance, chlorides)
        tested.update({e: [f for f in joint if f.element == e] for e in passed})
    return tested


def _with_records(fits: list[SpeciesFit], tested: dict[str, list[SpeciesFit]]) -> list[SpeciesFit]:
    """``fits`` with the records of the species in ``tested`` replacing those of the same ions, sorted."""
    retested = {f.formula for st in tested.values() for f in st}
    out = [f for f in fits if f.formula not in retested] + [f for st in tested.values() for f in st]
    out.sort(key=lambda f: (f.interference, -f.intensity))
    return out


def _test_added(found: list[str], pairs: list[tuple[str, str]], polarity: str, params: IdentifyParameters,
                data: _Spectrum, nuisance: Sequence[str], chlorides: bool = True) -> list[SpeciesFit]:
    """Fit the species ``pairs`` ((formula, element)) jointly with every form (and, with ``chlorides``,
    (oxy)chloride ion) of the ``found`` elements and the primary-ion species of ``nuisance``; the records of
    ``pairs`` (tests 1–3)."""
    species = _build_species(found, polarity, params, data, False, chlorides, nuisance, extra=pairs)
    added = {e for _, e in pairs}
    return _assess(species, _fit_windows(species, data, params), data, params, set(found) | set(nuisance), added)


#: Elements with one or two isotopes tested in the few-isotope stage of auto mode (:func:`_few_isotope_stage`):
#: the platinum-group metals without a diagnostic pattern, ¹⁰³Rh (monoisotopic) and ¹⁹¹Ir/¹⁹³Ir (Meija et
#: al., *Pure Appl. Chem.* 88, 293, 2016, doi:10.1515/pac-2015-0503). Ru, Pd, Os and Pt have ≥ 3 isotopes
#: above 5 % and are screened.
AUTO_FEW_ISOTOPE = ("Rh", "Ir")


def _few_isotope_stage(fits: list[SpeciesFit], els: list[str], polarity: str, params: IdentifyParameters,
                       data: _Spectrum, nuisance: Sequence[str],
                       resolved: dict[str, list[tuple[str, str]]]) -> tuple[list[SpeciesFit], list[str]]:
    """Few-isotope stage of auto mode: the one- or two-isotope elements :data:`AUTO_FEW_ISOTOPE`, tested as
    in named mode against the elements the screening and the chloro-complex stage found; then the other
    one- and two-isotope metals by their resolved ions (:func:`_resolved_few_isotope_pairs`), chosen by
    forward selection against all the elements found (:func:`_forward_selected`).

    A form with one or two isotopologues has no pattern of its own to confirm it, so the evidence is
    what stays at its masses once every ion that the elements *already established by their own
    isotope patterns* can put there is decomposed jointly with it (NNLS): their forms, the hydrides,
    hydroxides and dimers of them landing on the form (:func:`_deciding_interferences`: RuH⁺ on ¹⁰³Rh⁺,
    RuO₂H⁻ on RhO₂⁻) and, when chlorine is seen (:func:`_chlorine_seen`), their (oxy)chloride ions
    (RuCl₃⁻ at m/z 205–213 on IrO⁻). Screened among the ~30 candidates of the screening, the few-isotope
    forms take counts that absent elements' oxides and unmodelled cluster ions leave; against the
    established elements only, the same contrast test as in named mode decides. The threshold is that of
    the whole auto run (:func:`_auto_test_count`, passed as ``params.min_significance``); called without
    one, Bonferroni over the earlier stages' tests plus the few-isotope forms tested here.
    """
    found = [e for e in dict.fromkeys(f.element for f in fits if f.present) if e not in AUTO_FEW_ISOTOPE]
    top = float(data.x.max())
    few = [e for e in AUTO_FEW_ISOTOPE if _candidate_pairs([e], polarity, params.forms, top)]
    chlorides = _chlorine_seen(data, polarity, params) if params.chlorides is None else params.chlorides
    out = fits
    if few:
        interferences = True if params.interferences is None else params.interferences
        species = _build_species(found + few, polarity, params, data, interferences, chlorides, nuisance)
        n_first = sum(1 for f in fits if not f.interference and "not reported" not in f.failed)
        n_few = sum(1 for r in species.reported if r in few)
        z_crit = params.min_significance
        if z_crit is None:
            z_crit = detection_threshold(n_first + n_few)
            params = replace(params, min_significance=z_crit)
        stage2 = _assess(species, _fit_windows(species, data, params), data, params, set(found) | set(nuisance),
                         set(few))
        out = sorted([f for f in fits if f.element not in few] + stage2, key=lambda f: (f.interference, -f.intensity))
    found = list(dict.fromkeys(f.element for f in out if f.present and not f.interference))
    untested = {e: pairs for e, pairs in resolved.items() if e not in found}
    out = _with_records(out, _forward_selected(found, untested, polarity, params, data, nuisance, chlorides))
    return out, list(dict.fromkeys(els + few + list(untested)))


def _forward_selected(found: list[str], pairs: dict[str, list[tuple[str, str]]], polarity: str,
                      params: IdentifyParameters, data: _Spectrum, nuisance: Sequence[str],
                      chlorides: bool) -> dict[str, list[SpeciesFit]]:
    """Records of the elements of ``pairs`` (element → its species), chosen by forward selection against
    the ``found`` elements: each is tested alone (:func:`_test_added`); the one whose present form is most
    significant joins the established elements, and those that passed are tested again against them, until
    none passes. One-isotope ions of two candidates can be isobars (CoO⁺ 74.928 on As⁺ 74.922): tested side
    by side, the element with no other evidence would take the oxide ion of the one established by its
    atomic ion; tested after it, only what that element's forms leave. The selected elements are last fitted
    together, each with its own forms, for their records; the others keep those of their last test."""
    chosen: list[str] = []
    kept: dict[str, list[tuple[str, str]]] = {}
    tested: dict[str, list[SpeciesFit]] = {}
    remaining = list(pairs)
    while remaining:
        own = {e: _apart_from(pairs[e], found + chosen, polarity, params, data, chlorides) for e in remaining}
        remaining = [e for e in remaining if own[e]]
        tested.update({e: _test_added(found + chosen, own[e], polarity, params, data, nuisance, chlorides)
                       for e in remaining})
        best = {e: max(f.significance for f in tested[e] if f.present) for e in remaining
                if any(f.present for f in tested[e]) and _atomic_ion_seen(tested[e], polarity, data)}
        if not best:
            break
        chosen.append(max(best, key=best.__getitem__))
        kept[chosen[-1]] = own[chosen[-1]]
        remaining = [e for e in best if e not in chosen]
    if chosen:
        joint = _test_added(found, [p for e in chosen for p in kept[e]], polarity, params, data, nuisance, chlorides)
        tested.update({e: [f for f in joint if f.element == e] for e in chosen})
    return {e: st if e in chosen else [replace(f, present=False, failed=f.failed + ("atomic ion",)) if f.present else f
                                       for f in st] for e, st in tested.items()}


def _atomic_ion_seen(records: list[SpeciesFit], polarity: str, data: _Spectrum) -> bool:
    """Whether a one- or two-isotope metal found by some form of a positive spectrum shows its atomic ion too:
    the atomic ion's significance, where it was tested, or else the counts over the local background in the
    windows of its main isotopologues (where in range; molecular ions there can only add to them), at least
    the single-test :data:`FORM_Z`. Positive secondary ions of metals and their oxidised surfaces are led by
    M⁺, with MO⁺ beside it (Vickerman & Briggs, *ToF-SIMS: Materials Analysis by Mass Spectrometry*, 2nd ed.,
    2013, ch. 14), so an MO⁺ many σ strong over an empty M⁺ window is another ion at that mass (Ta⁺ 180.948 on
    HoO⁺ 180.925; ¹⁰⁹Ag⁺ 108.905 on NbO⁺ 108.901). Negative metal ions are led by their oxide anions, and
    atomic anions are rare: no condition there."""
    if polarity != "positive" or not records:
        return True
    el = records[0].element
    atomic = [f for f in records if f.formula == f"{el}+"]
    if atomic:
        return atomic[0].significance >= FORM_Z
    excess = _excess_counts(_main_mz(f"{el}+"), data)
    return excess is None or bool(excess[0].sum() >= FORM_Z * np.sqrt(max(excess[1].sum(), 1.0)))


def _excess_counts(mz: np.ndarray, data: _Spectrum) -> tuple[np.ndarray, np.ndarray] | None:
    """Counts over the local background in the fit's window around each of ``mz`` and their variance
    (:func:`~ionscope.spectra.windowfit._window_counts`); None when any lies outside the spectrum."""
    if mz.min() <= data.x[0] or mz.max() >= data.x[-1]:
        return None
    half = window_half_width(mz, data)
    b, var, _ = _window_counts(mz - half, mz + half, data.x, data.cs_raw, data.dx, data.edges)
    return b, var


def _apart_from(pairs: list[tuple[str, str]], established: list[str], polarity: str, params: IdentifyParameters,
                data: _Spectrum, chlorides: bool) -> list[tuple[str, str]]:
    """The species of ``pairs`` whose main isotopologues are resolved (:func:`~ionscope.spectra.continuum.resolved`)
    from every main isotopologue of the forms of the ``established`` elements: a one-isotope ion near another
    element's ion is nearly collinear with it in the fit, and the active set of the NNLS can give all the counts
    to one of the two with a σ that ignores the other (GaO⁺ 84.921 passed 136 counts to ⁸⁵Rb⁺ 84.912 one FWHM
    away at m/Δm 10 000)."""
    taken = [_main_mz(f) for f, _ in _candidate_pairs(established, polarity, params.forms, float(data.x.max()),
                                                     chlorides)]
    if not taken:
        return list(pairs)
    busy = np.sort(np.concatenate(taken))
    out = []
    for formula, e in pairs:
        mz = _main_mz(formula)
        gap = np.min(np.abs(busy[None, :] - mz[:, None]), axis=1)
        if np.all(resolved(gap, window_half_width(mz, data))):
            out.append((formula, e))
    return out


#: Elements that are not metals or metalloids: their atomic and oxide ions are the molecular ions of the
#: continuum itself (O⁻, OH⁻, F⁻, Cl⁻, PO₃⁻ …), not evidence of a metal.
NONMETALS = ("H", "He", "C", "N", "O", "F", "Ne", "P", "S", "Cl", "Ar", "Se", "Br", "Kr", "I", "Xe", "Rn")


#: Non-metals auto mode tests as it tests the one- and two-isotope metals, by their ions resolved from the
#: molecular ions (:func:`_resolved_form_elements`): the halogens, phosphorus and sulfur, whose atomic and oxide
#: anions (F⁻, Cl⁻, PO₂⁻, SO₃⁻) mark electrolyte salts, their decomposition and contamination. H, C, N and O make
#: the molecular ions themselves; Se and Te have a diagnostic pattern and are screened.
RESOLVED_NONMETALS = ("F", "P", "S", "Cl", "Br", "I")


@cache
def _resolved_form_elements() -> tuple[str, ...]:
    """Elements auto mode tests by their resolved ions only (:func:`_resolved_few_isotope_pairs`): the one- and
    two-isotope metals (:func:`_few_isotope_metals`) other than :data:`AUTO_FEW_ISOTOPE` and
    :data:`AUTO_NUISANCE`, and :data:`RESOLVED_NONMETALS`."""
    return tuple(e for e in _few_isotope_metals() if e not in AUTO_FEW_ISOTOPE and e not in AUTO_NUISANCE) \
        + RESOLVED_NONMETALS


@cache
def _few_isotope_metals() -> tuple[str, ...]:
    """Metals and metalloids without a diagnostic isotope pattern (fewer than 3 isotopes above 5 %: Li, B, Na,
    Al, K, Co, Mn, Ni, Cu, Y, Nb, Rh, Ir, Au …; Meija et al., *Pure Appl. Chem.* 88, 293, 2016,
    doi:10.1515/pac-2015-0503)."""
    diagnostic = set(diagnostic_elements())
    return tuple(e for e in isotope_table() if e not in diagnostic and e not in NONMETALS)


def _resolved_few_isotope_pairs(polarity: str, params: IdentifyParameters, data: _Spectrum,
                                exclude: set[str]) -> dict[str, list[tuple[str, str]]]:
    """The forms, per element, by which auto mode tests the one- and two-isotope metals other than
    :data:`AUTO_FEW_ISOTOPE` and the non-metals :data:`RESOLVED_NONMETALS` (:func:`_resolved_form_elements`, less
    ``exclude``): those whose main isotopologues
    (≥ 20 % of the largest, as in the pattern test) lie where no molecular ion can
    (:func:`~ionscope.spectra.continuum.outside_molecular_continuum`: Li⁺, B⁺, Na⁺) or that this spectrum
    resolves from every plausible CHNO ion of the same nominal mass
    (:func:`~ionscope.spectra.continuum.resolved_from_molecular_ions`, with the window half-width of the
    fit, the larger of FWHM/2 = m/(2R) and the bin width, the isotopologues of molecular ions it does not
    resolve holding no more than its counting noise). Without a pattern, a form whose counts a
    molecular ion at the same nominal mass can hold is no evidence of a metal: Co⁺ (58.933) lies 0.044 u from
    the nearest (CH₃SiO⁺ … within the element ratios), resolved at m/Δm ≥ 2 700 but within one bin of a
    200-channel export. An element each of whose resolved forms another element without a pattern can make
    (:func:`_shares_masses`) has no evidence of its own and is not tested; one with an ion of its own is, with
    all its resolved forms, and forward selection (:func:`_forward_selected`) gives a shared ion to the element
    established first."""
    top = float(data.x.max())
    out: dict[str, list[tuple[str, str]]] = {}
    pairs = _candidate_pairs([*_few_isotope_metals(), *RESOLVED_NONMETALS], polarity, params.forms, top)
    masses = [_main_mz(f) for f, _ in pairs]
    sizes = [m.size for m in masses]
    rivals = (np.concatenate(masses), np.repeat([e for _, e in pairs], sizes), np.repeat(np.arange(len(pairs)), sizes))
    for e in _resolved_form_elements():
        if e not in exclude:
            mine = [pair for pair in _candidate_pairs([e], polarity, params.forms, top)
                    if _clear_of_continuum(pair[0], data)]
            if any(not _shares_masses(pair, rivals, data) for pair in mine):
                out[e] = mine
    return out


def _shares_masses(pair: tuple[str, str], rivals: tuple[np.ndarray, np.ndarray, np.ndarray], data: _Spectrum) -> bool:
    """Whether ``pair``'s ion and an ion of another element without a diagnostic pattern (``rivals``: the main
    isotopologues' m/z, their elements and ions) have their main isotopologues (≥ 20 % of the largest) all
    pairwise unresolved (:func:`~ionscope.spectra.continuum.resolved`, windows of the fit): its counts alone are
    then no evidence of either (⁷⁵As⁻ at 74.922 and ⁵⁹Co¹⁶O⁻ at 74.929, 7 mu apart: auto mode had reported As on
    simulated cobalt oxides at m/Δm 3 000, and taken CoO⁻'s counts from a named Co). A rival with an isotope of
    its own elsewhere is told apart by it (⁷¹Ga⁺ on ⁵⁵Mn¹⁶O⁺, with ⁶⁹Ga⁺ at 68.93), as is an element with a
    pattern."""
    mine = _main_mz(pair[0])
    other = rivals[1] != pair[1]
    theirs, ion = rivals[0][other], rivals[2][other]
    if not theirs.size:
        return False
    close = ~resolved(np.abs(mine[:, None] - theirs[None, :]), window_half_width(mine, data)[:, None])
    first = np.unique(ion, return_index=True)[1]
    theirs_covered = np.logical_and.reduceat(close.any(axis=0), first)
    mine_covered = np.logical_or.reduceat(close, first, axis=1).all(axis=0)
    return bool(np.any(theirs_covered & mine_covered))


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
    as well can only lower the false-report probability, so the Bonferroni threshold of :func:`_auto_test_count`
    still bounds the whole run. The confirmed elements' records, and the interference species, are those of this fit
    (the model a user naming these elements would get, with their dimers: the screening splits their ions with the
    absent candidates, which left Ru at 0.25–0.8 and Pt at 0.3 of the named-mode intensity on negative spectra); the
    other elements keep the records of their stage, whose upper limits are taken with every candidate fitted.
    """
    found = list(dict.fromkeys(f.element for f in fits if f.present))
    if not found:
        return fits
    interferences = True if params.interferences is None else params.interferences
    whole, tested_forms = _by_tested_forms(found, fits)
    species = _build_species(whole, polarity, params, data, interferences, chlorides, nuisance, extra=tested_forms,
                             dimers=True)
    again = _assess(species, _fit_windows(species, data, params, robust=True), data, params, set(nuisance))
    kept = {f.element for f in again if f.present}
    out = [f for f in again if f.element in kept or f.interference]
    out += [f if not f.present else replace(f, present=False, failed=("not confirmed",))
            for f in fits if f.element not in kept and not f.interference]
    out.sort(key=lambda f: (f.interference, -f.intensity))
    return out


def _by_tested_forms(elements: Sequence[str], fits: Sequence[SpeciesFit]) -> tuple[list[str], list[tuple[str, str]]]:
    """``elements`` split into those fitted with every form, and the (formula, element) species of those that
    auto mode tests by their resolved forms only (:func:`_resolved_few_isotope_pairs`): the forms of theirs
    in ``fits``. An unresolved form of such an element (BO₃⁻ at m/z 59 of boron found by ¹⁰B⁻/¹¹B⁻) holds the
    molecular ions of its bins (C₂H₃O₂⁻, 4·10⁵ counts on a negative export), which the contrast test does not
    tell from the metal's."""
    restricted = {e for e in elements if e in _resolved_form_elements()}
    forms = list(dict.fromkeys((f.formula, f.element) for f in fits if f.element in restricted and not f.interference))
    return [e for e in elements if e not in restricted], forms


def _auto_candidates() -> list[str]:
    """Elements fitted in auto mode: those with a diagnostic pattern (≥ 3 isotopes above 5 %) and the
    monoisotopic noble metals :data:`AUTO_NUISANCE` (fitted, never reported)."""
    return list(dict.fromkeys(diagnostic_elements() + list(AUTO_NUISANCE)))


#: One-sided z that each chlorine isotope must reach for chlorine to count as seen (:func:`_chlorine_seen`):
#: the 3σ detection convention of counting statistics (Currie, *Anal. Chem.* 1968, doi:10.1021/ac60259a007).
CHLORINE_Z = 3.0


def _chlorine_seen(data: _Spectrum, polarity: str, params: IdentifyParameters) -> bool:
    """Whether the atomic chlorine ion of ``polarity`` is in the spectrum with its isotope pattern.

    Both ³⁵Cl and ³⁷Cl windows (±FWHM/2, background from the flanks, :func:`_window_counts`) must hold
    counts :data:`CHLORINE_Z` σ above their background, and the pair must pass the pattern test of the
    species (:mod:`ionscope.spectra.presence`, test 2: cosine similarity to the natural 75.8 : 24.2
    ratio ≥ ``min_match`` and each isotope ≥ ``min_fraction`` of its predicted share; IUPAC abundances,
    Meija et al., *Pure Appl. Chem.* 88, 293, 2016, doi:10.1515/pac-2015-0503). Counting statistics alone
    would reject the pattern where it is strongest: at 10⁶ counts a dead-time-saturated ³⁵Cl⁻ departs from
    the natural ratio by many Poisson σ.
    """
    p = _unit_pattern("Cl+" if polarity == "positive" else "Cl-")
    ab = p.abundance
    excess = _excess_counts(p.mz, data)
    if excess is None:
        return False
    b, var = excess
    if not np.all(b >= CHLORINE_Z * np.sqrt(np.maximum(var, 1.0))):
        return False
    pred = ab / ab.sum() * b.sum()
    cosine = float(b @ ab / (np.linalg.norm(b) * np.linalg.norm(ab)))
    return bool(cosine >= params.min_match and np.min(b / pred) >= params.min_fraction)
