"""Unit parsing and conversion: round trips (hypothesis), refusals, canonical spellings."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ionscope.model.errors import UnitError
from ionscope.model.units import (
    canonical_unit,
    convert,
    format_quantity,
    parse_measurement,
    parse_quantity,
)

UNITS = ["µm", "nm", "mm", "Å", "s", "min", "h", "d", "nm/s", "µm/h", "pA", "nA", "ions/cm^2", "cm^2/s",
         "cm/s", "K", "eV", "µm^-1", "counts", "m/z"]
finite = st.floats(min_value=-1e12, max_value=1e12, allow_nan=False, allow_infinity=False)
positive = st.floats(min_value=0, max_value=1e9, allow_nan=False, allow_infinity=False)


@settings(max_examples=150, deadline=None)
@given(value=finite, unc=st.one_of(st.none(), positive), unit=st.sampled_from(UNITS))
def test_format_then_parse_round_trips(value, unc, unit):
    q = parse_measurement(format_quantity(value, unit, unc))
    assert q.value == value and q.uncertainty == unc and q.unit == unit


@settings(max_examples=100, deadline=None)
@given(value=st.floats(min_value=1e-9, max_value=1e9), pair=st.sampled_from(
    [("µm", "nm"), ("nm", "Å"), ("h", "s"), ("d", "min"), ("nm/s", "µm/h"), ("pA", "nA"), ("cm^2/s", "m^2/s"),
     ("ions/cm^2", "ions/m^2"), ("°C", "K")]))
def test_conversion_round_trips(value, pair):
    a, b = pair
    assert convert(convert(value, a, b), b, a) == pytest.approx(value, rel=1e-12, abs=1e-9)


@settings(max_examples=100, deadline=None)
@given(value=st.floats(min_value=1e-6, max_value=1e6), unc=st.floats(min_value=0, max_value=1e3))
def test_uncertainty_converts_with_the_value(value, unc):
    q = parse_measurement(f"{value!r}±{unc!r} nm/s", to_unit="µm/h")
    assert q.unit == "µm/h"
    assert q.value == pytest.approx(value * 3.6, rel=1e-12)
    assert q.uncertainty == pytest.approx(unc * 3.6, rel=1e-12, abs=1e-300)


@pytest.mark.parametrize(("text", "expected"), [
    ("0.39um", (0.39, None, "µm")), ("390nm", (390.0, None, "nm")), ("0.8nm/s", (0.8, None, "nm/s")),
    ("0.8±0.05 nm/s", (0.8, 0.05, "nm/s")), ("(0.8 +- 0.05) nm/s", (0.8, 0.05, "nm/s")),
    ("0.8+/-0.05nm/s", (0.8, 0.05, "nm/s")), ("1.2pA", (1.2, None, "pA")), ("24h", (24.0, None, "h")),
    ("59 hours", (59.0, None, "h")), ("2 cm2/s", (2.0, None, "cm^2/s")), ("1e13 ions/cm2", (1e13, None, "ions/cm^2")),
    ("3 um^-1", (3.0, None, "µm^-1")), ("5 nanometer", (5.0, None, "nm")),
])
def test_accepted_forms(text, expected):
    q = parse_measurement(text)
    assert (q.value, q.uncertainty, q.unit) == expected


def test_backward_compatible_parse_quantity():
    assert parse_quantity("0.39um") == (0.39, "µm")
    assert parse_quantity("24 h") == (24.0, "h")
    assert parse_quantity("5e-3", default_unit="s") == (0.005, "s")
    assert parse_quantity("390 nm", to_unit="µm") == (pytest.approx(0.39), "µm")


@pytest.mark.parametrize("text", ["nan", "NaN nm", "inf um", "-Infinity", "1±inf nm", "1e999 um", "1±nan nm"])
def test_non_finite_values_are_refused(text):
    with pytest.raises(UnitError, match="finite"):
        parse_measurement(text, default_unit="nm")


def test_lengths_need_a_unit_and_the_error_shows_the_forms():
    with pytest.raises(UnitError, match=r"--spacing: '0.39' has no unit.*0\.39um"):
        parse_measurement("0.39", default_unit="µm", require_unit=True, what="--spacing")
    with pytest.raises(UnitError, match="has no unit"):
        parse_quantity("0.39")


@pytest.mark.parametrize(("text", "target"), [("3 s", "nm"), ("1.2pA", "nm/s"), ("4 furlongs_per_nothing", "nm"),
                                              ("fast", "nm"), ("1 ±-2 nm", "nm")])
def test_wrong_dimension_unknown_or_malformed_is_an_error(text, target):
    with pytest.raises(UnitError):
        parse_measurement(text, to_unit=target)


def test_canonical_vocabulary():
    for alias, canon in [("um", "µm"), ("μm", "µm"), ("micron", "µm"), ("cm2/s", "cm^2/s"), ("hr", "h"),
                         ("ions/cm²", "ions/cm^2"), ("1/um", "µm^-1"), ("degC", "°C"), ("count", "counts"),
                         ("um/s", "µm/s"), ("m/z", "m/z")]:
        assert canonical_unit(alias) == canon, alias
    assert math.isclose(convert(25.0, "°C", "K"), 298.15)
    with pytest.raises(UnitError):
        convert(1.0, "nm", "s")


def test_the_vocabulary_is_what_pint_spells_back():
    """Every glossary unit is known to pint and canonicalises to itself through pint's formatting."""
    from ionscope.model.units import DIMENSIONLESS, VOCABULARY, _format, _pint_unit

    for unit in sorted(VOCABULARY - DIMENSIONLESS - {"°C", "ppm"}):
        assert _format(_pint_unit(unit)) == unit, unit
