"""Peak assignment: candidate ions within a resolution-adapted tolerance, scored by mass and pattern.

For a peak at ``m`` with full width ``FWHM``, candidates are library ions whose exact m/z lies within

    tol(m) = max(tolerance_ppm · m · 10⁻⁶, FWHM/2)

(the tolerance grows where the measured resolution is poor). Each candidate gets

* a mass score ``exp(−½ (Δm / (tol/2))²)``;
* a pattern score comparing its predicted unit-resolution isotope pattern (all isotopologues, scaled
  to the observed height of the assigned peak) with the heights of the peaks found at the other
  isotopologue positions: ``1 − Σ|oᵢ − pᵢ| / Σ(oᵢ + pᵢ)`` over isotopologues predicted above
  ``min_pattern`` of the main one (1 when the pattern has a single visible isotopologue);
* ``error_ppm``: the peak's m/z less the ion's, in ppm of the ion's (the sign of a calibration residual);
* ``score = mass score × pattern score`` and ``confidence = score / Σ scores`` of that peak's
  candidates.

Candidates of one peak whose m/z differ by less than the peak's FWHM are *unresolved*: each such
row lists the others and the resolving power ``m/Δm`` that would separate them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from ionscope.library.formula import parse_formula
from ionscope.library.patterns import isotope_pattern
from ionscope.model.errors import ValidationError

ASSIGN_COLUMNS = ("peak", "peak_mz", "rank", "formula", "ion_mz", "error_ppm", "mass_score", "pattern_score",
                  "score", "confidence", "unresolved_with", "required_resolving_power")


@lru_cache(maxsize=65536)
def _unit_pattern(formula: str) -> tuple[np.ndarray, np.ndarray]:
    p = isotope_pattern(formula, resolution="unit")
    return p.mz, p.relative


@dataclass(frozen=True)
class CandidateTable:
    """Candidate ions sorted by exact m/z: ``mz`` (float array) and ``formulas`` (object array, same order).

    Built once by :func:`candidate_table` and passed to :func:`assign_peaks` for many peak tables.
    """

    mz: np.ndarray
    formulas: np.ndarray

    def __len__(self) -> int:
        return int(self.mz.size)


def candidate_table(formulas: Sequence[str]) -> CandidateTable:
    """Sorted exact m/z and the matching formulas (as an object array) of candidate ions."""
    mz = np.array([parse_formula(f).mz for f in formulas], dtype=float)
    order = np.argsort(mz)
    return CandidateTable(mz[order], np.asarray(formulas, dtype=object)[order])


def assign_peaks(peaks: pd.DataFrame, candidates: Sequence[str] | CandidateTable, *,
                 tolerance_ppm: float = 100.0, max_candidates: int = 5, min_pattern: float = 0.05,
                 pattern: bool = True) -> pd.DataFrame:
    """Rank candidate ions for every peak of a peak table.

    Parameters
    ----------
    peaks
        Table from :func:`ionscope.spectra.peaks.find_spectrum_peaks` (``mz``, ``height``, ``fwhm``).
    candidates
        Ion formulas (with charge), or a precomputed :func:`candidate_table`.
    tolerance_ppm
        Minimum tolerance; widened to FWHM/2 where the resolution is poorer.
    max_candidates
        Keep at most this many candidates per peak (best first).
    min_pattern
        Isotopologues predicted below this fraction of the main one are not compared.
    pattern
        Score isotope patterns (False: mass only, faster).

    Returns
    -------
    pandas.DataFrame with columns :data:`ASSIGN_COLUMNS`, one row per (peak, candidate); peaks without
    a candidate are absent.
    """
    if len(peaks) == 0:
        return pd.DataFrame(columns=list(ASSIGN_COLUMNS))
    for col in ("mz", "height", "fwhm"):
        if col not in peaks:
            raise ValidationError(f"the peak table has no {col!r} column")
    table = candidates if isinstance(candidates, CandidateTable) else candidate_table(candidates)
    cmz, cform = table.mz, table.formulas
    pmz = peaks["mz"].to_numpy(float)
    ph = peaks["height"].to_numpy(float)
    pf = peaks["fwhm"].to_numpy(float)
    order = np.argsort(pmz)
    smz, sh, sf = pmz[order], ph[order], pf[order]
    tol = np.maximum(tolerance_ppm * 1e-6 * pmz, pf / 2)
    lo = np.searchsorted(cmz, pmz - tol, side="left")
    hi = np.searchsorted(cmz, pmz + tol, side="right")
    rows = []
    for i in np.nonzero(hi > lo)[0]:
        m, t = pmz[i], tol[i]
        idx = np.arange(lo[i], hi[i])
        d = cmz[idx] - m
        mass_score = np.exp(-0.5 * (d / (t / 2)) ** 2)
        keep = np.argsort(-mass_score)[: max(max_candidates * 3, max_candidates)]
        idx, d, mass_score = idx[keep], d[keep], mass_score[keep]
        pat = np.ones(idx.size)
        if pattern:
            for j, c in enumerate(idx):
                pat[j] = _pattern_score(str(cform[c]), cmz[c], ph[i], smz, sh, sf, tolerance_ppm, min_pattern)
        score = mass_score * pat
        best = np.argsort(-score)[:max_candidates]
        total = score[best].sum()
        for rank, j in enumerate(best, start=1):
            c = idx[j]
            others = [k for k in best if k != j and abs(cmz[idx[k]] - cmz[c]) < pf[i]]
            rp = [cmz[c] / abs(cmz[idx[k]] - cmz[c]) for k in others if cmz[idx[k]] != cmz[c]]
            rows.append((i, m, rank, str(cform[c]), cmz[c], -d[j] / cmz[c] * 1e6, mass_score[j], pat[j], score[j],
                         score[j] / total if total > 0 else 0.0,
                         ";".join(str(cform[idx[k]]) for k in others),
                         float(max(rp)) if rp else np.nan))
    return pd.DataFrame(rows, columns=list(ASSIGN_COLUMNS))


#: An atomic ion of one isotope, ``^106Pd+``: scored by its element's natural pattern (:func:`_pattern_score`).
_ISOTOPE_ION = re.compile(r"^\^(\d+)([A-Z][a-z]?)([+-])$")


def _pattern_score(formula, main_mz, main_h, smz, sh, sf, tolerance_ppm, min_pattern) -> float:
    """Agreement of the peaks at a candidate's other isotopologues with its pattern scaled to the peak; the atomic
    ion of one isotope (``^106Pd+``) is scored by its element's natural pattern, which its other isotopes must
    show (¹⁰⁶Pd⁺ beside ¹⁰⁵Pd⁺ and ¹⁰⁸Pd⁺, not ¹⁰⁶Cd⁺ without the ¹¹⁴Cd⁺ 23 times larger)."""
    isotope = _ISOTOPE_ION.match(formula)
    mzs, rel = _unit_pattern(f"{isotope[2]}{isotope[3]}" if isotope else formula)
    if mzs.size < 2:
        return 1.0
    k0 = int(np.argmin(np.abs(mzs - main_mz)))
    scale = main_h / rel[k0]
    vis = np.nonzero((rel >= min_pattern * rel[k0]) & (np.arange(mzs.size) != k0))[0]
    if vis.size == 0:
        return 1.0
    pred = rel[vis] * scale
    pos = np.searchsorted(smz, mzs[vis])
    obs = np.zeros(vis.size)
    for n, (q, target) in enumerate(zip(pos, mzs[vis])):
        for cand in (q - 1, q):
            if 0 <= cand < smz.size:
                t = max(tolerance_ppm * 1e-6 * target, sf[cand] / 2)
                if abs(smz[cand] - target) <= t:
                    obs[n] = max(obs[n], sh[cand])
    denom = float(np.sum(obs + pred))
    return float(1 - np.sum(np.abs(obs - pred)) / denom) if denom > 0 else 1.0
