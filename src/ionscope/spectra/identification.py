"""The settings of an element identification (:class:`IdentifyParameters`) and its outcome: one
:class:`SpeciesFit` per candidate species, gathered in an :class:`Identification`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ionscope.model.errors import ValidationError
from ionscope.model.result import Quantity, RecordSequence, Result


@dataclass(frozen=True)
class SpeciesFit:
    """One candidate species: fitted intensity (counts), its 1σ, significance, pattern match, presence.

    The 1σ holds counting statistics and the uncertainty of the capture fraction from where the calibration
    puts the species' peaks and how wide they are (:func:`~ionscope.spectra.windowfit._capture_uncertainty`);
    ``significance`` is the intensity over the counting σ alone.

    ``interference`` marks a species fitted only to account for its counts (a hydride or dimer landing
    on a one- or two-isotope form of another element); its ``element`` is then its metal symbols
    joined (``"IrRu"`` for RuIr⁺) and it is never ``present``. ``failed`` names the presence tests
    (:mod:`ionscope.spectra.presence`) the species fails: ``"significance"`` (test 1), ``"pattern"`` (test 2),
    ``"contrast"`` (test 3), ``"mass offset"`` (count centroid farther than ``max_offset`` from the
    exact m/z), ``"not reported"`` (an interference or nuisance species) or ``"not confirmed"`` (auto mode:
    present in the screening but the element failed in the fit of the elements found alone,
    :func:`_confirmation`) or ``"atomic ion"`` (auto mode: a one- or two-isotope metal found only by another form
    of a positive spectrum whose atomic ion is not seen, :func:`~ionscope.spectra.elements._atomic_ion_seen`);
    empty when present. ``shared_with`` names the other element of an ion of two elements reported under
    ``element`` (Li for Li₂F⁺ under F, :func:`~ionscope.spectra.forms._shared_form_species`): the ion is a form
    of both. ``local_intensity`` and ``local_uncertainty`` are the counts
    of the species above the local continuum and their 1σ, from the fit of the contrast test (NaN where that
    fit was not made): with the window fit's, the basis of the upper limit of an element not detected.
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
    shared_with: tuple[str, ...] = ()
    local_intensity: float = float("nan")
    local_uncertainty: float = float("nan")

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass(frozen=True)
class Identification(RecordSequence[SpeciesFit]):
    """The outcome of :func:`identify_elements`: one :class:`SpeciesFit` per candidate species (the reported
    forms by decreasing intensity, then the interference species), the polarity, the candidate
    elements, whether (oxy)chloride forms were fitted, the primary-ion elements fitted as nuisance and,
    in named mode, the elements the auto screening found that were fitted without being named
    (``background``, :attr:`IdentifyParameters.screen_unnamed`), and the z the significance and contrast
    tests required (``z_crit``) with the number of tests it is the Bonferroni threshold of (``n_tests``; 0 when
    ``min_significance`` was given).
    Indexing, ``len`` and iteration go over the species fits; :meth:`present` gives the elements found
    (:func:`elements_present`).
    """

    species: tuple[SpeciesFit, ...]
    polarity: str
    candidates: tuple[str, ...]
    chlorides: bool = False
    nuisance: tuple[str, ...] = ()
    background: tuple[str, ...] = ()
    z_crit: float = float("nan")
    n_tests: int = 0
    items_field: ClassVar[str] = "species"

    def present(self) -> Result:
        """Element → summed intensity of its present species (:func:`elements_present`)."""
        return elements_present(self.species)

    def to_dict(self) -> dict:
        return {"polarity": self.polarity, "candidates": list(self.candidates), "chlorides": self.chlorides,
                "nuisance": list(self.nuisance), "background": list(self.background), "z_crit": self.z_crit,
                "n_tests": self.n_tests, "species": [f.to_dict() for f in self.species]}


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
        species tested (auto mode: of all tests its stages can make, :func:`_auto_test_count`).
    min_match, min_fraction
        Pattern criteria of multi-isotope species (:mod:`ionscope.spectra.presence`, test 2).
    min_abundance
        Isotopologues below this fraction of the largest are left out of the windows.
    max_offset
        Largest offset of the count centroid from the exact m/z in the species' main isotopologue
        windows, in window half-widths (1 = anywhere in the window; a diagnostic on binned data).
    contrast, contrast_pad
        Background-contrast test (:mod:`ionscope.spectra.presence`, test 3): required for presence unless
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


def elements_present(fits: Iterable[SpeciesFit]) -> Result:
    """Element → summed intensity of its present species, an ion of two elements counting for both (a
    :class:`~ionscope.model.result.Quantity` in counts, σ added in quadrature), by decreasing intensity;
    ``keys()`` are the elements found."""
    total: dict[str, float] = {}
    var: dict[str, float] = {}
    for f in fits:
        for e in (f.element, *f.shared_with) if f.present else ():
            total[e] = total.get(e, 0.0) + f.intensity
            var[e] = var.get(e, 0.0) + (f.uncertainty ** 2 if np.isfinite(f.uncertainty) else 0.0)
    order = sorted(total, key=lambda e: -total[e])
    return Result("spectrum.elements_present",
                  {e: Quantity(total[e], float(np.sqrt(var[e])), "counts") for e in order})
