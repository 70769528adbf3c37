"""The molecular quasi-continuum of a TOF-SIMS spectrum: which exact m/z the ions of H, C, N, O (and the Si
and S of common contaminants) can have.

Organic and cluster ions fill every nominal mass above m/z 23 with peaks. An element whose ions have one
or two isotopologues has no isotope pattern to set it apart from them; what can is its mass defect, where
the spectrum resolves it (:func:`resolved_from_molecular_ions`), or a nominal mass no molecular ion can
have (:func:`outside_molecular_continuum`).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from functools import lru_cache
from itertools import combinations_with_replacement, product

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
#: ch. 4). Never both in one ion: neither family holds the other's element (SiS⁺, 0.019 u from ⁶⁰Ni⁺, had kept
#: nickel untested in auto mode below m/Δm ≈ 7 800).
MAX_SI = 2
MAX_S = 1


def outside_molecular_continuum(mz: np.ndarray) -> bool:
    """Whether no molecular ion of H, C, N and O can have the nominal mass of any of ``mz`` (u): the organic
    and cluster quasi-continuum, against which the contrast test judges a species, has no ion there.

    A CcHhNnOo ion of nominal mass ``N = 12c + h + 14n + 16o`` exists when its rings-plus-double-bonds
    ``c − h/2 + n/2 + 1`` is at least −½, the value of the saturated even-electron ions (CH₅⁺, H₃O⁺, NH₄⁺,
    H₃⁺; McLafferty & Tureček, *Interpretation of Mass Spectra*, 4th ed., University Science Books 1993,
    ch. 2). No such ion has N = 4–11 or 20–23 (below m/z 120 no other; of their isotopologues only
    H₂¹⁸O⁺ and H₃¹⁸O⁺, 0.2 % of H₂O⁺ and H₃O⁺, reach m/z 20–21). These are the masses of neither sign: the
    anions, which lack the −½ ions (:data:`MIN_RDBE`), miss m/z 19 too, where ¹⁸OH⁻ of the strong OH⁻ lands, and
    are left to :func:`resolved_from_molecular_ions`, which weighs it.
    """
    return bool(len(mz)) and all(_plausible_formulas(int(n)).size == 0 for n in np.rint(np.asarray(mz, float)))


@lru_cache(maxsize=1024)
def _chno_formulas(nominal: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Atom counts ``c, n, o, h`` of every non-empty CcHhNnOo formula of a nominal mass."""
    c, n, o = (a.ravel() for a in np.meshgrid(np.arange(nominal // 12 + 1), np.arange(nominal // 14 + 1),
                                                np.arange(nominal // 16 + 1), indexing="ij"))
    h = nominal - 12 * c - 14 * n - 16 * o
    ok = (h >= 0) & (c + n + o + h > 0)
    return c[ok], n[ok], o[ok], h[ok]


FWHM_SIGMA = 2.354820045  #: FWHM of a Gaussian in units of its σ, 2√(2 ln 2)

_erf = np.frompyfunc(math.erf, 1, 1)


def erf(v) -> np.ndarray:
    """Error function, element-wise (``math.erf``; avoids importing ``scipy.special`` at start-up)."""
    return np.asarray(_erf(np.asarray(v, dtype=float)), dtype=float)


def gaussian_share(centre: np.ndarray | float, sigma: np.ndarray | float, lo: np.ndarray | float,
                   hi: np.ndarray | float) -> np.ndarray:
    """Share of a Gaussian peak (centre and σ in m/z) between ``lo`` and ``hi``."""
    z = 1.0 / (sigma * np.sqrt(2))
    return 0.5 * (erf((hi - centre) * z) - erf((lo - centre) * z))


_ATOMS = ("C", "H", "N", "O", "Si", "S")


#: Least rings-plus-double-bonds of a molecular ion's formula, by the sign of its charge. A cation is a closed-shell
#: molecule protonated (one H more: −½ for a saturated one, H₃O⁺, NH₄⁺, CH₅⁺) or ionised (≥ 0); an anion is one
#: deprotonated (≥ +½: OH⁻, CH₃O⁻) or with an electron attached (≥ 0, and bound only where the molecule is
#: unsaturated: O₂⁻). A hydride adduct of a saturated molecule (H₃O⁻, H₃S⁻, NH₄⁻, −½) puts the extra electron in an
#: antibonding orbital and is not bound (McLafferty & Tureček, *Interpretation of Mass Spectra*, 4th ed., 1993,
#: ch. 2; Rienstra-Kiracofe et al., *Chem. Rev.* 102, 231, 2002, doi:10.1021/cr990044u, on which molecules
#: bind an electron).
MIN_RDBE = {1: -0.5, -1: 0.0}


@lru_cache(maxsize=2048)
def _plausible_formulas(nominal: int, charge: int = 1) -> np.ndarray:
    """Atom counts (rows; columns C, H, N, O, Si, S) of the plausible monoisotopic molecular ions of a nominal
    mass and charge sign (``charge`` ±1; the rules of :func:`molecular_ion_masses`)."""
    least = MIN_RDBE[charge]
    parts = [np.zeros((0, len(_ATOMS)), int)]
    for si, su in product(range(MAX_SI + 1), range(MAX_S + 1)):
        if si and su:
            continue
        rest = nominal - 28 * si - 32 * su
        if rest == 0 and si + su:
            parts.append(np.array([[0, 0, 0, 0, si, su]]))
        elif rest > 0:
            c, n, o, h = _chno_formulas(rest)
            carbon_free_heavy = np.where(c > 0, 0, n + o) + si + su
            ok = ((c + si - h / 2 + n / 2 + 1 >= least) & (carbon_free_heavy <= MAX_CARBON_FREE_HEAVY)
                  & ((c == 0) | ((o <= MAX_O_PER_C * c) & (n <= MAX_N_PER_C * c))))
            k = int(ok.sum())
            parts.append(np.column_stack([c[ok], h[ok], n[ok], o[ok], np.full(k, si), np.full(k, su)]))
    return np.concatenate(parts)


@lru_cache(maxsize=1)
def _heavy_isotopes() -> tuple[tuple[int, int, float, float], ...]:
    """(atom column, nominal shift, mass shift in u, abundance relative to the main isotope) of every heavier
    stable isotope of C, H, N, O, Si and S (Meija et al., *Pure Appl. Chem.* 88, 293, 2016,
    doi:10.1515/pac-2015-0503)."""
    out = []
    for col, sym in enumerate(_ATOMS):
        e = element(sym)
        main = int(np.argmax(e.abundances))
        for k in range(e.masses.size):
            if k != main:
                out.append((col, int(e.mass_numbers[k] - e.mass_numbers[main]),
                            float(e.masses[k] - e.masses[main]), float(e.abundances[k] / e.abundances[main])))
    return tuple(out)


#: Most heavier-isotope atoms in an isotopologue counted: four ¹³C in C₁₆ (m/z ≈ 200) are 2·10⁻⁵ of its
#: monoisotopic ion.
MAX_SUBSTITUTED = 3


def _isotopologue_share(atoms: np.ndarray, substitution: tuple[tuple[int, int, float, float], ...]) -> np.ndarray:
    """Abundance of a substituted isotopologue of each formula (rows of ``atoms``) relative to its monoisotopic
    ion: the number of ways to place the heavier atoms among the formula's atoms of their element times their
    abundance ratios (multinomial; Yergey, *Int. J. Mass Spectrom. Ion Phys.* 52, 337, 1983,
    doi:10.1016/0020-7381(83)85053-0)."""
    share = np.ones(len(atoms))
    placed = dict.fromkeys(range(len(_ATOMS)), 0)
    for isotope, times in Counter(substitution).items():
        col, _, _, ratio = isotope
        for _ in range(times):
            share *= np.maximum(atoms[:, col] - placed[col], 0) * ratio
            placed[col] += 1
        share /= math.factorial(times)
    return share


def molecular_ion_masses(nominal: int, charge: int = 1) -> np.ndarray:
    """Exact masses (u, neutral formula) of the plausible monoisotopic CcHhNnOoSiₓSᵧ ions of a nominal mass and
    charge sign.

    Rings-plus-double-bonds ``c + x − h/2 + n/2 + 1`` ≥ −½ for cations, ≥ 0 for anions (:data:`MIN_RDBE`; Si is
    tetravalent as C, S divalent as O); with carbon, at most :data:`MAX_O_PER_C` O and :data:`MAX_N_PER_C` N
    per C (Kind & Fiehn 2007, rule 4, extended ranges); without, at most :data:`MAX_CARBON_FREE_HEAVY` heavy
    atoms; at most :data:`MAX_SI` Si or :data:`MAX_S` S. Sorted; empty where none exists. Their
    isotopologues: :func:`isotopologue_ions`.
    """
    return _sorted_formulas(nominal, charge)[0]


@lru_cache(maxsize=4096)
def isotopologue_ions(neutral: float, reach: float, charge: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The isotopologues with heavier isotopes (¹³C, ¹⁸O, ³⁰Si …) of the plausible molecular ions of a charge sign
    (:func:`molecular_ion_masses`) whose mass lies within ``reach`` (u) of ``neutral`` (u): their exact masses,
    the masses of their monoisotopic ions (u, neutral formulas) and their abundances relative to those
    (:func:`_isotopologue_share`), with up to :data:`MAX_SUBSTITUTED` heavier atoms. ¹⁸OH (19.007) lies 0.009 u
    from F, ²⁸Si³⁰Si (57.951) 0.015 u from ⁵⁸Ni.
    """
    masses, parents, shares = [np.zeros(0)], [np.zeros(0)], [np.zeros(0)]
    for nominal_shift, (subs, mass_shifts) in _substitutions_by_shift().items():
        parent = int(round(neutral)) - nominal_shift
        if parent <= 0:
            continue
        mono, atoms = _sorted_formulas(parent, charge)
        lo = np.searchsorted(mono, neutral - mass_shifts - reach)
        hi = np.searchsorted(mono, neutral - mass_shifts + reach, side="right")
        for j in np.nonzero(hi > lo)[0]:
            share = _isotopologue_share(atoms[lo[j]:hi[j]], subs[j])
            keep = share > 0
            masses.append(mono[lo[j]:hi[j]][keep] + mass_shifts[j])
            parents.append(mono[lo[j]:hi[j]][keep])
            shares.append(share[keep])
    return np.concatenate(masses), np.concatenate(parents), np.concatenate(shares)


@lru_cache(maxsize=1)
def _substitutions_by_shift() -> dict[int, tuple[list, np.ndarray]]:
    """The substitutions of one to :data:`MAX_SUBSTITUTED` atoms by heavier isotopes (each as the isotopes
    substituted, with repetition) by the nominal mass they add, with the exact mass each adds."""
    out: dict[int, tuple[list, list]] = {}
    for sub in (sub for n in range(1, MAX_SUBSTITUTED + 1)
                for sub in combinations_with_replacement(_heavy_isotopes(), n)):
        subs, shifts = out.setdefault(sum(a[1] for a in sub), ([], []))
        subs.append(sub)
        shifts.append(sum(a[2] for a in sub))
    return {k: (subs, np.array(shifts)) for k, (subs, shifts) in out.items()}


@lru_cache(maxsize=2048)
def _sorted_formulas(nominal: int, charge: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Monoisotopic masses (sorted) and atom counts of the plausible molecular ions of a nominal mass and charge
    sign."""
    atoms = _plausible_formulas(nominal, 1 if charge > 0 else -1)
    mono = _monoisotopic_masses(atoms)
    order = np.argsort(mono)
    return mono[order], atoms[order]


def _monoisotopic_masses(atoms: np.ndarray) -> np.ndarray:
    return atoms @ np.array([_MASS[a] for a in _ATOMS])


_MASS = {s: float(element(s).masses[np.argmax(element(s).abundances)]) for s in _ATOMS}


def mass_defect_gap(mz: float, charge: int = 1) -> float:
    """Distance (u) from an ion's m/z to the nearest plausible molecular ion of the same nominal mass and
    charge sign (:func:`molecular_ion_masses`); ``inf`` where there is none."""
    neutral = mz + charge * ELECTRON_MASS
    masses = molecular_ion_masses(int(round(neutral)), charge)
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


#: How many standard deviations of the calibration at a peak an ion may sit off its exact mass in the resolved
#: test (:func:`resolved_from_molecular_ions`): the one-sided 3σ convention of counting statistics (Currie,
#: *Anal. Chem.* 40, 586, 1968, doi:10.1021/ac60259a007).
POSITION_Z = 3.0


def resolved_from_molecular_ions(mz: np.ndarray, half_width: np.ndarray, charge: int = 1,
                                 counts: Callable[[np.ndarray], np.ndarray] | None = None,
                                 position_sigma: np.ndarray | float = 0.0) -> bool:
    """Whether the counts at each of ``mz`` are its own, not a molecular ion's.

    The spectrum must resolve each (:func:`resolved`, with the window ``half_width``, u: the larger of FWHM/2
    and the bin width) from every plausible molecular ion of its nominal mass (:func:`molecular_ion_masses`),
    and the isotopologues of molecular ions it does not resolve from them (:func:`isotopologue_ions`) must
    hold no more than the counting noise of the ion's window: ``Σ share × counts(monoisotopic ion) ≤
    √counts(ion)``, their abundance being fixed by nature relative to ions measured in the same spectrum.
    ``counts`` gives the counts in the window at each of an array of m/z; without it every unresolved
    isotopologue counts as a molecular ion. Each separation is first shortened by :data:`POSITION_Z` ×
    ``position_sigma`` (u), the uncertainty of where the calibration puts a peak: on an axis 150 ppm off, the
    ¹⁸OH⁻ peak 0.009 u from F⁻ can sit in F⁻'s window (a fluorine-free spectrum whose export calibration was
    kept gave fluorine).
    """
    mz, half = np.atleast_1d(np.asarray(mz, float)), np.broadcast_to(np.asarray(half_width, float), np.shape(mz))
    slack = np.broadcast_to(POSITION_Z * np.asarray(position_sigma, float), np.shape(mz))
    gaps = np.array([mass_defect_gap(m, charge) for m in mz])
    if not mz.size or not np.all(resolved(np.maximum(gaps - slack, 0.0), half)):
        return False
    bound = np.array([isotopologue_counts(m, h, charge, counts, d) for m, h, d in zip(mz, half, slack)])
    own = counts(mz) if counts is not None else np.zeros_like(mz)
    return bool(np.all(bound <= np.sqrt(np.maximum(own, 1.0))))


def isotopologue_counts(mz: float, half_width: float, charge: int = 1,
                        counts: Callable[[np.ndarray], np.ndarray] | None = None, slack: float = 0.0) -> float:
    """Most counts the isotopologues of molecular ions (:func:`isotopologue_ions`) that an ion at ``mz`` is not
    resolved from (:func:`resolved`) can put in its window ``mz ± half_width``: their abundances relative to
    their monoisotopic ions, times the counts of those (``counts``: counts in the window at each of an array of
    m/z), times the share of a Gaussian peak of FWHM ``2·half_width`` at the isotopologue's mass, moved ``slack``
    (u) towards the ion, that falls in the window; 0 where none is that close, ``inf`` without ``counts``."""
    neutral = mz + charge * ELECTRON_MASS
    masses, parents, shares = isotopologue_ions(neutral, RESOLVED_HALF_WIDTHS * half_width + slack,
                                                1 if charge > 0 else -1)
    offset = np.maximum(np.abs(masses - neutral) - slack, 0.0)
    near = ~resolved(offset, np.asarray(half_width))
    if not near.any():
        return 0.0
    if counts is None:
        return float("inf")
    inside = gaussian_share(offset[near], 2 * half_width / FWHM_SIGMA, -half_width, half_width)
    return float((shares[near] * inside) @ counts(parents[near] - charge * ELECTRON_MASS))
