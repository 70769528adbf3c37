"""The molecular quasi-continuum of a TOF-SIMS spectrum: which exact m/z the ions of H, C, N, O (and the Si
and S of common contaminants) can have.

Organic and cluster ions fill every nominal mass above m/z 23 with peaks. An element whose ions have one
or two isotopologues has no isotope pattern to set it apart from them; what can is its mass defect, where
the spectrum resolves it (:func:`resolved_from_molecular_ions`), or a nominal mass no molecular ion can
have (:func:`outside_molecular_continuum`).
"""

from __future__ import annotations

from functools import lru_cache
from itertools import product

import numpy as np

from ionscope.library.isotopes import ELECTRON_MASS, element

#: Largest O/C and N/C ratios of a carbon-bearing molecular ion: the extended ranges of the element-ratio
#: rule of Kind & Fiehn, *BMC Bioinformatics* 8, 105 (2007), doi:10.1186/1471-2105-8-105 (rule 4), which
#: hold every formula of their databases of known compounds (formate CHO₂⁻ and carbonate CO₃⁻ included).
MAX_O_PER_C = 3
MAX_N_PER_C = 4

#: Most N and O atoms of a carbon-free molecular ion (NO₃⁻, HNO₃, O₃ …; Vickerman & Briggs, *ToF-SIMS:
#: Materials Analysis by Mass Spectrometry*, 2nd ed., 2013, ch. 4).
MAX_CARBON_FREE_HEAVY = 4

#: Most Si and S atoms of a molecular ion: the fragment ions of polydimethylsiloxane (SiC₃H₉⁺, Si₂C₅H₁₅O⁺),
#: the commonest surface contaminant, and of sulfur-bearing organics and sulfates (Vickerman & Briggs 2013,
#: ch. 4).
MAX_SI = 2
MAX_S = 1


def outside_molecular_continuum(mz: np.ndarray) -> bool:
    """Whether no molecular ion of H, C, N and O can have the nominal mass of any of ``mz`` (u): the organic
    and cluster quasi-continuum, against which the contrast test judges a species, has no ion there.

    A CcHhNnOo ion of nominal mass ``N = 12c + h + 14n + 16o`` exists when its rings-plus-double-bonds
    ``c − h/2 + n/2 + 1`` is at least −½, the value of the saturated even-electron ions (CH₅⁺, H₃O⁺, NH₄⁺,
    H₃⁺; McLafferty & Tureček, *Interpretation of Mass Spectra*, 4th ed., University Science Books 1993,
    ch. 2). No such ion has N = 4–11 or 20–23 (below m/z 120 no other).
    """
    return bool(len(mz)) and all(_no_molecular_ion(int(n)) for n in np.rint(np.asarray(mz, float)))


def _no_molecular_ion(nominal: int) -> bool:
    c, n, o, h = _chno_formulas(nominal)
    return not np.any(c - h / 2 + n / 2 + 1 >= -0.5)


@lru_cache(maxsize=1024)
def _chno_formulas(nominal: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Atom counts ``c, n, o, h`` of every non-empty CcHhNnOo formula of a nominal mass."""
    c, n, o = (a.ravel() for a in np.meshgrid(np.arange(nominal // 12 + 1), np.arange(nominal // 14 + 1),
                                                np.arange(nominal // 16 + 1), indexing="ij"))
    h = nominal - 12 * c - 14 * n - 16 * o
    ok = (h >= 0) & (c + n + o + h > 0)
    return c[ok], n[ok], o[ok], h[ok]


@lru_cache(maxsize=1024)
def molecular_ion_masses(nominal: int) -> np.ndarray:
    """Exact masses (u, neutral formula) of the plausible CcHhNnOoSiₓSᵧ ions of a nominal mass.

    Rings-plus-double-bonds ``c + x − h/2 + n/2 + 1`` ≥ −½ (:func:`outside_molecular_continuum`; Si is
    tetravalent as C, S divalent as O); with carbon, at most :data:`MAX_O_PER_C` O and :data:`MAX_N_PER_C` N
    per C (Kind & Fiehn 2007, rule 4, extended ranges); without, at most :data:`MAX_CARBON_FREE_HEAVY` heavy
    atoms; at most :data:`MAX_SI` Si and :data:`MAX_S` S. Sorted; empty where none exists.
    """
    parts = []
    for si, su in product(range(MAX_SI + 1), range(MAX_S + 1)):
        rest = nominal - 28 * si - 32 * su
        if rest == 0 and si + su:
            parts.append(np.array([si * _MASS["Si"] + su * _MASS["S"]]))
        elif rest > 0:
            c, n, o, h = _chno_formulas(rest)
            carbon_free_heavy = np.where(c > 0, 0, n + o) + si + su
            ok = ((c + si - h / 2 + n / 2 + 1 >= -0.5) & (carbon_free_heavy <= MAX_CARBON_FREE_HEAVY)
                  & ((c == 0) | ((o <= MAX_O_PER_C * c) & (n <= MAX_N_PER_C * c))))
            parts.append(c[ok] * _MASS["C"] + h[ok] * _MASS["H"] + n[ok] * _MASS["N"] + o[ok] * _MASS["O"]
                         + si * _MASS["Si"] + su * _MASS["S"])
    return np.sort(np.concatenate(parts)) if parts else np.array([])


_MASS = {s: float(element(s).masses[np.argmax(element(s).abundances)]) for s in ("C", "H", "N", "O", "Si", "S")}


def mass_defect_gap(mz: float, charge: int = 1) -> float:
    """Distance (u) from an ion's m/z to the nearest plausible molecular ion of the same nominal mass and
    charge sign (:func:`molecular_ion_masses`); ``inf`` where there is none."""
    neutral = mz + charge * ELECTRON_MASS
    masses = molecular_ion_masses(int(round(neutral)))
    return float(np.min(np.abs(masses - neutral))) if masses.size else float("inf")


#: Separation, in window half-widths (FWHM/2, or a bin where that is wider), at which two ions count as
#: resolved: two FWHM. A Gaussian peak's height two FWHM from its centre is exp(−16 ln 2) = 1.5·10⁻⁵ of its
#: apex, so an ion a thousand times weaker than its neighbour still stands out of its tail (at one FWHM, the
#: m/Δm definition of "just resolved" for equal peaks — IUPAC *Gold Book*, "resolution in mass
#: spectrometry", doi:10.1351/goldbook.R05318 — the neighbour's tail is 1/16 of its apex); a peak narrower
#: than its bin is recorded in one bin, so two of them are told apart at four.
RESOLVED_HALF_WIDTHS = 4.0


def resolved(gap: np.ndarray, half_width: np.ndarray) -> np.ndarray:
    """Whether two ions ``gap`` (u) apart are resolved in windows of ``half_width`` (u):
    ``gap ≥`` :data:`RESOLVED_HALF_WIDTHS` ``× half_width``."""
    return np.asarray(gap) >= RESOLVED_HALF_WIDTHS * np.asarray(half_width)


def resolved_from_molecular_ions(mz: np.ndarray, half_width: np.ndarray, charge: int = 1) -> bool:
    """Whether the spectrum resolves every one of ``mz`` (:func:`resolved`, with the window ``half_width``,
    u: the larger of FWHM/2 and the bin width) from each plausible molecular ion of its nominal mass
    (:func:`molecular_ion_masses`): the counts at its exact mass are then its own, not the flank of a
    molecular ion.
    """
    mz, half = np.atleast_1d(np.asarray(mz, float)), np.broadcast_to(np.asarray(half_width, float), np.shape(mz))
    return bool(mz.size) and bool(np.all(resolved(np.array([mass_defect_gap(m, charge) for m in mz]), half)))
