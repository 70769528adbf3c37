"""Properties of Quantity: propagation against exact linear cases and a Monte Carlo, unit round trips,
text round trips through the parser.

The Monte Carlo tolerance is statistical: with N = 20 000 normal draws the sample standard deviation
has a relative standard error of 1/√(2N) ≈ 0.5 %; with relative input uncertainties ≤ 1 % the
second-order terms first-order propagation leaves out are ≤ ~1e-4 relative. A 4 % band is 8 standard
errors wide, so a correct propagation fails with probability far below 1e-9, and a wrong derivative
(a factor 2 or a missing term, ≥ 30 % off for the draws below) always fails.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from ionscope.model.result import Quantity
from ionscope.model.units import parse_measurement

from .strategies import FAMILIES, FAST, quantities, relative, values

positive = st.floats(min_value=1e-3, max_value=1e3)
small_relative = st.floats(min_value=1e-4, max_value=1e-2)


@FAST
@given(quantities(unit="µm", with_none=False), quantities(unit="µm", with_none=False),
       st.floats(min_value=-1e3, max_value=1e3), st.floats(min_value=-1e3, max_value=1e3))
def test_linear_combinations_are_exact(a, b, ca, cb):
    """For f = ca·a + cb·b first-order propagation is exact: u² = ca²u(a)² + cb²u(b)²."""
    f = ca * a + cb * b
    assert f.unit == "µm"
    assert f.value == pytest.approx(ca * a.value + cb * b.value, rel=1e-12, abs=1e-300 + 1e-12 * (
        abs(ca * a.value) + abs(cb * b.value)))
    assert f.uncertainty == pytest.approx(math.hypot(ca * a.uncertainty, cb * b.uncertainty), rel=1e-9, abs=1e-300)


@FAST
@given(positive, positive, positive, positive, small_relative, small_relative, small_relative, small_relative,
       st.integers(min_value=0, max_value=2**32 - 1))
def test_nonlinear_propagation_matches_a_monte_carlo(x, y, z, w, rx, ry, rz, rw, seed):
    """f = x·y / z**1.5 − w (each input once: they are independent): the propagated 1σ equals the
    spread of f over normal draws of the inputs."""
    a, b, c = Quantity(x, rx * x, "µm"), Quantity(y, ry * y, "µm"), Quantity(z, rz * z, "1")
    d = Quantity(w, rw * w, "1")
    f = a * b / c ** 1.5 / Quantity(1.0, 0.0, "µm^2") - d
    rng = np.random.default_rng(seed)
    n = 20_000
    xs, ys, zs, ws = (rng.normal(v, r * v, n) for v, r in ((x, rx), (y, ry), (z, rz), (w, rw)))
    mc = np.std(xs * ys / zs ** 1.5 - ws, ddof=1)
    assert f.unit == "1"
    assert f.uncertainty == pytest.approx(mc, rel=0.04)


@FAST
@given(st.sampled_from(sorted(FAMILIES)), st.data())
def test_unit_conversion_round_trips(unit, data):
    other = data.draw(st.sampled_from(FAMILIES[unit]))
    q = data.draw(quantities(unit=unit, with_none=False))
    back = q.to(other).to(unit)
    assert back.unit == unit
    assert back.value == pytest.approx(q.value, rel=1e-9, abs=1e-9 * (abs(q.value) + 300))
    assert back.uncertainty == pytest.approx(q.uncertainty, rel=1e-9, abs=1e-12 * (abs(q.value) + 300))


@FAST
@given(st.sampled_from(sorted(set(FAMILIES) - {"K"})), st.data())
def test_sums_across_units_equal_sums_after_conversion(unit, data):
    other = data.draw(st.sampled_from([u for u in FAMILIES[unit] if u != "°C"]))
    a = data.draw(quantities(unit=unit, with_none=False))
    b = data.draw(quantities(unit=other, with_none=False))
    direct = a + b
    converted = a + b.to(unit)
    assert direct.value == pytest.approx(converted.value, rel=1e-9, abs=1e-9 * (abs(a.value) + abs(b.to(unit).value)))
    assert direct.uncertainty == pytest.approx(converted.uncertainty, rel=1e-9)


@FAST
@given(values, relative, st.sampled_from(["µm", "nm/s", "cm^2/s", "ions/cm^2", "eV", "1", "counts"]))
def test_text_reads_back_within_its_rounding(value, rel, unit):
    """``str(q)`` keeps two digits of the uncertainty: reading it back is within half a last digit."""
    sigma = (abs(value) or 1.0) * rel
    q = Quantity(value, sigma, unit)
    back = parse_measurement(str(q), default_unit="1")
    assert back.unit == unit
    last = 10.0 ** (math.floor(math.log10(sigma)) - 1)
    assert abs(back.value - value) <= 0.5 * last * 1.0001 + 1e-12 * abs(value)
    assert back.uncertainty == pytest.approx(sigma, rel=0.05 + 1e-9)


@FAST
@given(quantities(with_none=False),
       st.one_of(st.floats(min_value=0.1, max_value=3), st.floats(min_value=-3, max_value=-0.1)))
def test_power_propagates_the_relative_uncertainty_times_the_exponent(q, p):
    q = Quantity(abs(q.value), q.uncertainty, "1" if q.unit == "m/z" else q.unit)  # a power needs a positive base
    assume(q.value > 0)
    r = q ** p
    assert r.uncertainty / r.value == pytest.approx(abs(p) * q.uncertainty / q.value, rel=1e-9)


@FAST
@given(quantities(), quantities())
def test_ordering_follows_the_values(a, b):
    b = Quantity(b.value, b.uncertainty, a.unit)
    assert (a < b) == (a.value < b.value) and (a >= b) == (a.value >= b.value)
