"""Text for people: measured values rounded to their uncertainty, and ion names as chemists write them.

Rounding follows the rule of the Particle Data Group (Workman et al. 2022, *Prog. Theor. Exp. Phys.*
083C01, doi:10.1093/ptep/ptac097, "Rounding" in the Introduction): take the three leading digits of
the uncertainty; 100–354 keep two significant digits, 355–949 keep one, 950–999 round up to 1000 and
keep two. The value is rounded to the same decimal place as the uncertainty. This matches the
JCGM 100:2008 (GUM) advice that an uncertainty needs at most two significant digits.
"""

from __future__ import annotations

import math
import re

_SUPERSCRIPT = str.maketrans("0123456789+-−", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁻")
_SUBSCRIPT = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")

# an ion token: optional isotope marks, element symbols/groups with counts, a charge at the end
_ION = re.compile(r"(?<![\w^.])((?:\^\d+|\[\d+[A-Z][a-z]?\]|[A-Z][a-z]?|[()]|_?\d+|\.(?=\d*[A-Z(]))+)"
                  r"( ?\d*)([+-]+|[+-]\d)(?![\w])")
_EXPONENT = re.compile(r"\^\(?(-?\d+)\)?")


def uncertainty_digits(uncertainty: float) -> int:
    """Significant digits to keep in ``uncertainty`` by the Particle Data Group rule (1 or 2).

    >>> uncertainty_digits(0.0123), uncertainty_digits(0.0456), uncertainty_digits(0.097)
    (2, 1, 2)
    """
    u = abs(float(uncertainty))
    if not math.isfinite(u) or u == 0:
        raise ValueError("uncertainty must be finite and non-zero")
    exp = math.floor(math.log10(u))
    lead = int(round(u / 10 ** (exp - 2)))
    if lead >= 1000:  # 999.6 rounds to 1000
        lead = 100
    return 2 if lead <= 354 or lead >= 950 else 1


def round_to_uncertainty(value: float, uncertainty: float) -> tuple[float, float, int]:
    """Round ``value`` and ``uncertainty`` to the uncertainty's significant digits.

    Parameters
    ----------
    value, uncertainty
        A measured value and its standard uncertainty (same unit).

    Returns
    -------
    value, uncertainty, decimals
        The rounded numbers and the decimal place they were rounded to (negative: tens, hundreds…).

    >>> round_to_uncertainty(0.58123, 0.0123)
    (0.581, 0.012, 3)
    >>> round_to_uncertainty(12376.0, 2590.0)
    (12400.0, 2600.0, -2)
    >>> round_to_uncertainty(1.0, 0.0996)
    (1.0, 0.1, 2)
    >>> round_to_uncertainty(0.4499, 0.00097)
    (0.4499, 0.001, 4)
    """
    u = abs(float(uncertainty))
    n = uncertainty_digits(u)
    exp = math.floor(math.log10(u))
    if round(u / 10 ** (exp - 2)) >= 950:  # 950–999 round up to 1000, two digits kept: 0.00097 → 0.0010
        return round(float(value), -exp), round(10.0 ** (exp + 1), -exp), -exp
    decimals = n - 1 - exp
    return round(float(value), decimals), round(u, decimals), decimals


def _significant(value: float, digits: int) -> str:
    """``value`` with at most ``digits`` significant digits, positional (20000, not 2e+04)."""
    import numpy as np

    return np.format_float_positional(value, precision=digits, unique=True, fractional=False, trim="-")


def _superscript_exponent(exp: int) -> str:
    return str(exp).translate(_SUPERSCRIPT)


def format_measurement(value: float | None, uncertainty: float | None = None, unit: str = "",
                       *, digits: int = 3) -> str:
    """``value ± uncertainty unit`` rounded to the uncertainty, in scientific notation when needed.

    Without a (finite, non-zero) uncertainty the value keeps ``digits`` significant digits.
    Very large or small numbers share one power of ten: ``(6.0 ± 0.3)×10⁻¹³ cm²/s``, chosen from the
    larger of the value and its uncertainty (``0.0003 ± 0.0098``, not ``(3 ± 98)×10⁻⁵``).

    >>> format_measurement(0.58123, 0.0123, "eV")
    '0.581 ± 0.012 eV'
    >>> format_measurement(6.04e-13, 2.9e-14, "cm^2/s")
    '(6.04 ± 0.29)×10⁻¹³ cm²/s'
    >>> format_measurement(float("nan"), None, "nm")
    'not determined'
    """
    unit_text = f" {pretty_text(unit)}" if unit and unit != "1" else ""
    if value is None or not math.isfinite(float(value)):
        return "not determined"
    value = float(value)
    u = math.nan if uncertainty is None else float(uncertainty)
    has_u = math.isfinite(u) and u != 0
    # a value within its σ of 0 takes the (rounded) σ's scale
    scale_of = max(abs(value), round_to_uncertainty(value, u)[1]) if has_u else abs(value)
    exp = math.floor(math.log10(scale_of)) if scale_of > 0 else 0
    if not -3 <= exp <= 4:
        factor = 10.0 ** exp
        inner = format_measurement(value / factor, u / factor if has_u else None,
                                   digits=digits)
        power = f"×10{_superscript_exponent(exp)}"
        return f"({inner}){power}{unit_text}" if has_u else f"{inner}{power}{unit_text}"
    if not has_u:
        return f"{_significant(value, digits)}{unit_text}"
    v, u_rounded, decimals = round_to_uncertainty(value, u)
    v += 0.0  # a value that rounds to zero is written 0, not -0
    d = max(decimals, 0)
    return f"{v:.{d}f} ± {u_rounded:.{d}f}{unit_text}"


def pretty_ion(name: str) -> str:
    """An ion name as chemists write it: ``^7Li+`` → ⁷Li⁺, ``Li2F+`` → Li₂F⁺, ``C_2H_3O_2-`` → C₂H₃O₂⁻.

    Names that are not ion formulas (``total``, ``Li6``) are returned unchanged. ``Li2+`` reads as
    Li₂⁺ (the IONTOF convention); a charge number needs a space, ``Fe 2+`` → Fe²⁺.

    >>> pretty_ion("^7Li+"), pretty_ion("Li2F+"), pretty_ion("^58Ni+"), pretty_ion("total")
    ('⁷Li⁺', 'Li₂F⁺', '⁵⁸Ni⁺', 'total')
    """
    m = _ION.fullmatch(name.strip())
    return _pretty_match(m) if m else name


def _pretty_match(m: re.Match[str]) -> str:
    body, num, charge = m.group(1), m.group(2), m.group(3)
    if not re.search(r"[A-Z]", body):
        return m.group(0)
    out = re.sub(r"\^(\d+)", lambda g: g.group(1).translate(_SUPERSCRIPT), body)
    out = re.sub(r"\[(\d+)([A-Z][a-z]?)\]", lambda g: g.group(1).translate(_SUPERSCRIPT) + g.group(2), out)
    out = re.sub(r"(?<=[A-Za-z)])_?(\d+)", lambda g: g.group(1).translate(_SUBSCRIPT), out).replace(".", "·")
    if num.startswith(" "):
        charge = num.strip() + charge
    elif num:
        out += num.translate(_SUBSCRIPT)
    if len(charge) > 1 and charge[-1].isdigit():  # "+2" → ²⁺
        charge = charge[1:] + charge[0]
    return out + charge.translate(_SUPERSCRIPT)


def pretty_text(text: str) -> str:
    """Every ion name and unit exponent in free text, written with super- and subscripts.

    >>> pretty_text("^58Ni+ → ^48Ti+ in ions/cm^2, D in cm^2/s, density in µm^-1")
    '⁵⁸Ni⁺ → ⁴⁸Ti⁺ in ions/cm², D in cm²/s, density in µm⁻¹'
    """
    text = _ION.sub(_pretty_match, text)
    return _EXPONENT.sub(lambda g: g.group(1).translate(_SUPERSCRIPT), text)


__all__ = ["format_measurement", "pretty_ion", "pretty_text", "round_to_uncertainty", "uncertainty_digits"]
