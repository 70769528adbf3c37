"""Isotope fractions from counts, with Poisson uncertainty per point and natural-abundance background.

The tracer fraction of a pair of isotopes is ``f = a / (a + b)`` (⁶Li/(⁶Li + ⁷Li), ¹⁸O/(¹⁶O + ¹⁸O), …).
For independent Poisson counts the delta method gives ``σ_f² = (b² σ_a² + a² σ_b²) / (a + b)⁴``, i.e.
``σ_f = √(f (1 − f) / (a + b))`` with ``σ² = counts``. Counts may first be corrected for detector
dead time with :func:`ionscope.kernels.deadtime.correct_dead_time`, whose binomial uncertainty is
then propagated instead.
"""

from __future__ import annotations

import numpy as np

from ionscope.model.errors import ValidationError
from ionscope.model.result import NoUncertainty, Result

#: Natural isotopic abundances (IUPAC 2013, representative values) of common tracer pairs.
NATURAL_ABUNDANCE: dict[str, float] = {
    "Li6": 0.0759, "Li7": 0.9241,
    "O16": 0.99757, "O17": 0.00038, "O18": 0.00205,
    "H1": 0.999885, "H2": 0.000115,
    "Na23": 1.0, "Mg24": 0.7899, "Mg25": 0.1000, "Mg26": 0.1101,
}


def natural_fraction(tracer: str, other: str) -> float:
    """Natural-abundance background of ``tracer/(tracer + other)``, e.g. 0.0759 for Li6/Li7."""
    try:
        a, b = NATURAL_ABUNDANCE[tracer], NATURAL_ABUNDANCE[other]
    except KeyError as exc:
        raise ValidationError(f"no natural abundance known for {exc.args[0]!r}; give the background explicitly "
                              f"(known: {', '.join(sorted(NATURAL_ABUNDANCE))})") from None
    return a / (a + b)


def isotope_fraction(tracer_counts, other_counts, *, shots=None, floor: float = 1.0) -> Result:
    """Tracer fraction ``a/(a+b)`` and its 1σ Poisson uncertainty, point by point.

    Parameters
    ----------
    tracer_counts, other_counts
        Counts of the tracer isotope (e.g. ⁶Li) and of the other isotope (⁷Li); same shape, ≥ 0.
    shots
        If given, the counts are raw and are corrected for dead time first (number of primary
        shots per point, scalar or broadcastable); the binomial uncertainty is propagated.
    floor
        Minimum total counts used in the uncertainty, so points with zero counts get a finite,
        large uncertainty rather than zero.

    Returns
    -------
    Result
        ``diffusion.isotope_fraction``: ``fraction`` and its 1σ ``uncertainty`` (1), arrays of the input
        shape; NaN where both counts are zero.
    """
    a = np.asarray(tracer_counts, dtype=float)
    b = np.asarray(other_counts, dtype=float)
    if a.shape != b.shape:
        raise ValidationError(f"isotope count arrays differ in shape: {a.shape} vs {b.shape}")
    if np.any(a < 0) or np.any(b < 0):
        raise ValidationError("isotope counts must be non-negative")
    if shots is not None:
        from ionscope.kernels.deadtime import correct_dead_time, dead_time_uncertainty

        va, vb = dead_time_uncertainty(a, shots) ** 2, dead_time_uncertainty(b, shots) ** 2
        a, b = correct_dead_time(a, shots), correct_dead_time(b, shots)
    else:
        va, vb = a, b
    total = a + b
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.where(total > 0, a / np.where(total > 0, total, 1.0), np.nan)
        var = (b * b * np.maximum(va, 0) + a * a * np.maximum(vb, 0)) / np.maximum(total, floor) ** 4
        # zero counts in one channel would give σ = 0; use the binomial floor f(1-f)→1/(n+1) instead
        var = np.maximum(var, 1.0 / np.maximum(total + 1.0, floor) ** 2 / 4)
    return Result("diffusion.isotope_fraction", {"fraction": frac, "uncertainty": np.sqrt(var)})


def isotope_key(label: str) -> str:
    """``'^6Li+'``, ``'6Li'``, ``'Li6'`` → ``'Li6'`` (the key of :data:`NATURAL_ABUNDANCE`)."""
    import re

    s = label.replace("^", "").replace(" ", "").rstrip("+-")
    m = re.fullmatch(r"(\d+)([A-Z][a-z]?)", s) or re.fullmatch(r"([A-Z][a-z]?)(\d+)", s)
    if not m:
        return s
    a, b = m.groups()
    return f"{b}{a}" if a.isdigit() else f"{a}{b}"


def read_isotope_counts(path, isotopes: tuple[str, str]) -> Result:
    """Depth axis and the two isotopes' counts of a depth profile (CSV with count columns, or any profile file).

    Returns
    -------
    Result
        Kind ``diffusion.isotope_counts``: ``axis`` (depth in nm when the file has one, else sputter time
        in s), ``axis_unit`` (``"nm"`` or ``"s"``), ``tracer_counts`` and ``other_counts`` (counts per
        point) and ``labels`` (the two peak or column names matched), the arguments of
        :func:`fraction_profile`.
    """
    from pathlib import Path

    import ionscope
    from ionscope.diffusion.maps import match_peak
    from ionscope.model.arrays import kind_of
    from ionscope.model.units import convert

    p = Path(path)
    if p.suffix.lower() in (".csv", ".tsv") and p.is_file():
        from ionscope.io.profile_tables import numeric_column as _numeric
        from ionscope.io.profile_tables import read_csv_table as _read_csv
        from ionscope.io.profile_tables import refuse_unitless as _refuse_unitless

        df = _read_csv(p)
        cols = [str(c) for c in df.columns]
        labels = [match_peak(cols, name, "isotope column", p) for name in isotopes]
        if "depth_nm" in cols:
            axis, unit = _numeric(df, "depth_nm", p), "nm"
        elif "depth_um" in cols:
            axis, unit = _numeric(df, "depth_um", p) * 1e3, "nm"
        elif "sputter_time_s" in cols:
            axis, unit = _numeric(df, "sputter_time_s", p), "s"
        else:
            _refuse_unitless(cols, p, "depth_nm, depth_um or sputter_time_s")
        a, b = _numeric(df, labels[0], p), _numeric(df, labels[1], p)
        return _counts(axis, unit, a, b, labels)
    data = ionscope.read(p)
    if hasattr(data, "data_vars"):
        data = data[next(iter(data.data_vars))]
    if kind_of(data) != "depth_profile":
        raise ValidationError(f"expected a depth profile (scan, peak), got a {kind_of(data)}", p)
    peaks = [str(v) for v in data.coords["peak"].values]
    labels = [match_peak(peaks, name, "isotope", p) for name in isotopes]
    if "depth" in data.coords:
        unit = data.coords["depth"].attrs.get("units") or "nm"
        axis, unit = np.asarray(convert(np.asarray(data.coords["depth"].values, float), unit, "nm")), "nm"
    else:
        axis, unit = np.asarray(data.coords["sputter_time"].values, float), "s"
    a = np.asarray(data.sel(peak=labels[0]).values, float)
    b = np.asarray(data.sel(peak=labels[1]).values, float)
    return _counts(axis, unit, a, b, labels)


def _counts(axis: np.ndarray, unit: str, a: np.ndarray, b: np.ndarray, labels: list[str]) -> Result:
    return Result("diffusion.isotope_counts", {"axis": axis, "axis_unit": unit, "tracer_counts": a,
                                               "other_counts": b, "labels": list(labels)})


def fraction_profile(axis, axis_unit: str, tracer_counts, other_counts, isotopes: tuple[str, str], *,
                     shots=None, background=None, source: float = 1.0, inputs=()) -> Result:
    """Tracer isotope fraction of a depth profile with its natural-abundance background, point by point.

    ``f = a/(a + b)`` with Poisson (or, with ``shots``, dead-time binomial) 1σ; the background ``f_bg``
    is the natural abundance ratio of the pair (IUPAC: Meija et al. 2016, Pure Appl. Chem. 88, 293,
    doi:10.1515/pac-2015-0503) unless given; the normalised fraction is
    ``f′ = (f − f_bg)/(f_s − f_bg)`` with the source (enrichment) fraction ``f_s`` (Sharma, Hasegawa,
    Xing & Kuwata 2025, doi:10.1080/14686996.2025.2580917, eq. 3 is written in f′).

    Parameters
    ----------
    axis, axis_unit
        Depth (nm) or sputter time (s) of each point.
    tracer_counts, other_counts
        Counts of the tracer (e.g. ⁶Li⁺) and the other isotope (⁷Li⁺).
    shots
        Primary shots per point for the dead-time correction (``None``: counts already corrected).
    background
        ``(value, uncertainty)`` of f_bg, or ``None`` for the natural abundance.
    source
        Tracer fraction of the source, f_s (1 for a pure tracer).

    Returns
    -------
    Result
        Kind ``diffusion.fraction``: ``background``, ``fraction``, ``normalised_fraction`` (arrays with
        1σ), the axis, the mean fraction of the deepest tenth (a check of the background).
    """
    from ionscope.model.provenance import make_provenance
    from ionscope.model.result import Quantity, Result

    iso = isotope_fraction(tracer_counts, other_counts, shots=shots)
    f, s = iso.fraction, iso.uncertainty
    warnings = []
    if background is None:
        bg = natural_fraction(isotope_key(isotopes[0]), isotope_key(isotopes[1]))
        bg_q = Quantity(bg, None, "1", why_no_uncertainty="representative natural abundance (IUPAC); its natural "
                        "variation is not propagated — give --background with ± to include it")
        bg_err = 0.0
    else:
        bg, bg_err = float(background[0]), float(background[1] or 0.0)
        bg_q = Quantity(bg, background[1], "1", why_no_uncertainty="no uncertainty given with --background")
    if not 0 <= bg < source <= 1:
        raise ValidationError(f"need 0 ≤ background ({bg:g}) < source fraction ({source:g}) ≤ 1")
    span = source - bg
    norm = (f - bg) / span
    # ∂f′/∂f_bg = (f − f_s)/span²
    norm_err = np.sqrt((s / span) ** 2 + ((f - source) / span ** 2 * bg_err) ** 2)
    n = f.size
    tail = slice(n - max(n // 10, 2), n)
    tail_f = f[tail][np.isfinite(f[tail])]
    tail_mean = float(np.mean(tail_f)) if tail_f.size else float("nan")
    tail_err = float(np.sqrt(np.sum(s[tail][np.isfinite(f[tail])] ** 2)) / max(tail_f.size, 1))
    if tail_f.size and abs(tail_mean - bg) > 3 * np.hypot(tail_err, bg_err) and tail_mean > bg:
        warnings.append(f"the deepest points have f = {tail_mean:.4g} ± {tail_err:.2g}, above the background "
                        f"{bg:.4g}: the tracer has not died out (profile too short) or the background is wrong")
    elif tail_f.size and abs(tail_mean - bg) > 3 * np.hypot(tail_err, bg_err):
        warnings.append(f"the deepest points have f = {tail_mean:.4g} ± {tail_err:.2g}, below the natural "
                        f"background {bg:.4g}: check the isotope order (tracer first) or a depleted material")
    values = {"isotopes": list(isotopes), "axis": Quantity(axis, None, axis_unit, NoUncertainty.given(
                  "the depth/time scale of the file; its calibration uncertainty is not known here")),
              "background": bg_q, "source": source, "dead_time_corrected": shots is not None,
              "fraction": Quantity(f, s, "1"), "normalised_fraction": Quantity(norm, norm_err, "1"),
              "deep_fraction": Quantity(tail_mean, tail_err, "1")}
    prov = make_provenance("ionscope.diffusion.fraction_profile", inputs=inputs,
                           parameters={"isotopes": list(isotopes), "shots": shots, "background": bg,
                                       "source": source})
    return Result("diffusion.fraction", values, warnings=tuple(warnings), provenance=prov)
