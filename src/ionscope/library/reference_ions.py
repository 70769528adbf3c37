"""Common secondary ions present on almost every surface, by polarity: the references of mass calibration.

Hydrocarbon, alkali and halide ions (H⁺, C⁺, CH₃⁺, Na⁺, K⁺, … / H⁻, C⁻, O⁻, OH⁻, Cl⁻, …) come from the
adventitious carbon and salts every sample carries (Vickerman & Briggs, *ToF-SIMS: Materials Analysis
by Mass Spectrometry*, 2nd ed., IM Publications 2013, ch. 3 and 10); spectra are calibrated on them.
"""

from __future__ import annotations

from ionscope.library.formula import parse_formula

#: Common ions used for calibration, by polarity (Vickerman & Briggs 2013).
REFERENCE_IONS: dict[str, tuple[str, ...]] = {
    "positive": ("H+", "H2+", "^6Li+", "Li+", "C+", "CH+", "CH2+", "CH3+", "Na+", "C2H3+", "C2H5+", "K+",
                 "C3H5+", "C3H7+", "C4H7+", "C4H9+", "C5H9+", "C6H5+", "C7H7+"),
    "negative": ("H-", "C-", "CH-", "O-", "OH-", "F-", "C2-", "C2H-", "Cl-", "C3-", "C3H-", "C4-", "C4H-",
                 "PO2-", "PO3-", "C6-", "C6H-"),
}

#: The polarities :data:`REFERENCE_IONS` knows.
POLARITIES = tuple(REFERENCE_IONS)


def reference_ions(polarity: str | None = None) -> tuple[tuple[str, ...], tuple[float, ...]]:
    """Names and exact m/z (u/e) of the common ions of ``polarity``, sorted by m/z.

    Parameters
    ----------
    polarity
        ``"positive"``, ``"negative"`` or None for both lists (when the polarity is not known).

    Returns
    -------
    (names, mz)
        Ion formulas and their m/z (electron mass included), ascending m/z.
    """
    if polarity is not None and polarity not in REFERENCE_IONS:
        raise ValueError(f"polarity must be one of {POLARITIES} or None, got {polarity!r}")
    names = REFERENCE_IONS[polarity] if polarity else REFERENCE_IONS["positive"] + REFERENCE_IONS["negative"]
    pairs = sorted((parse_formula(n).mz, n) for n in names)
    return tuple(n for _, n in pairs), tuple(float(m) for m, _ in pairs)


__all__ = ["POLARITIES", "REFERENCE_IONS", "reference_ions"]
