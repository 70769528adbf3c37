"""Units: parse ↔ format round trips, canonical spellings, conversion factors."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ionscope.model.units import (
    canonical_unit,
    conversion_factor,
    format_quantity,
    parse_measurement,
    parse_quantity,
)

from .strategies import FAMILIES, FAST, UNITS, values

finite = st.floats(allow_nan=False, allow_infinity=False, min_value=-1e300, max_value=1e300)
sigmas = st.floats(min_value=0, max_value=1e300, allow_nan=False, allow_infinity=False)
ALIASES = {"um": "µm", "micron": "µm", "cm2/s": "cm^2/s", "hr": "h", "ions/cm2": "ions/cm^2", "1/um": "µm^-1",
           "sec": "s", "degC": "°C", "cts": "counts", "Th": "m/z"}


@FAST
@given(finite, st.one_of(st.none(), sigmas), st.sampled_from(UNITS))
def test_format_then_parse_is_exact(value, sigma, unit):
    """``format_quantity`` writes repr floats: ``parse_measurement`` reads the very same numbers back."""
    text = format_quantity(value, unit, sigma)
    q = parse_measurement(text, default_unit="1")
    assert (q.value, q.uncertainty, q.unit) == (value, sigma, unit)
    assert parse_quantity(text, default_unit="1") == (value, unit)


@FAST
@given(st.sampled_from(sorted(ALIASES)), values, st.sampled_from(["", " ", "  "]))
def test_aliases_read_as_the_canonical_unit(alias, value, space):
    space = space or (" " if alias[0].isdigit() else "")  # "2.51/um" reads as 2.51 per "/um": a space is needed
    assert canonical_unit(alias) == ALIASES[alias]
    assert parse_quantity(f"{value!r}{space}{alias}")[1] == ALIASES[alias]


@FAST
@given(st.sampled_from(UNITS))
def test_canonical_spelling_is_a_fixed_point(unit):
    assert canonical_unit(canonical_unit(unit)) == canonical_unit(unit) == unit


@FAST
@given(st.sampled_from(sorted(set(FAMILIES) - {"K"})), st.data())
def test_conversion_factors_are_inverse_and_transitive(unit, data):
    a, b = data.draw(st.lists(st.sampled_from(FAMILIES[unit]), min_size=2, max_size=2))
    assert conversion_factor(unit, a) * conversion_factor(a, unit) == pytest.approx(1.0, rel=1e-12)
    assert conversion_factor(unit, a) * conversion_factor(a, b) == pytest.approx(conversion_factor(unit, b), rel=1e-12)


@FAST
@given(st.floats(min_value=-200, max_value=2000), st.floats(min_value=0, max_value=50))
def test_temperatures_convert_with_the_offset_and_keep_the_uncertainty(celsius, sigma):
    q = parse_measurement(f"{celsius!r}±{sigma!r} degC", to_unit="K")
    assert q.unit == "K"
    assert q.value == pytest.approx(celsius + 273.15, abs=1e-9)
    assert q.uncertainty == pytest.approx(sigma, abs=1e-9)
