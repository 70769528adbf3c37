"""TOF calibration: channel → m/z → channel round trips and exact recovery from noise-free references.

``Calibration.mz`` inverts ``t = t0 + k√m (+ c·m)``; both are closed forms, so a round trip agrees
to float64 rounding amplified by the square root (relative 1e-9 is ~10⁶ ulp of margin).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ionscope.spectra.calibration import Calibration, fit_calibration

from .strategies import FAST

t0s = st.floats(min_value=-5000, max_value=5000)
ks = st.floats(min_value=100, max_value=1e5)
mzs = st.lists(st.floats(min_value=1.0, max_value=2000.0), min_size=4, max_size=12, unique=True)


@st.composite
def calibrations(draw) -> Calibration:
    t0, k = draw(t0s), draw(ks)
    if draw(st.booleans()):
        return Calibration("sqrt", (t0, k))
    # keep t(m) increasing over 0 < m ≤ 2000: dt/d√m = k + 2c√m > 0
    c = draw(st.floats(min_value=-0.2, max_value=0.2)) * k / np.sqrt(2000)
    return Calibration("sqrt-quadratic", (t0, k, c))


@FAST
@given(calibrations(), mzs)
def test_mz_to_channel_to_mz(cal, mz):
    mz = np.asarray(mz)
    np.testing.assert_allclose(cal.mz(cal.tof(mz)), mz, rtol=1e-9)


@FAST
@given(calibrations(), mzs)
def test_channel_to_mz_to_channel(cal, mz):
    t = cal.tof(np.asarray(mz))  # channels that lie on the calibrated branch
    np.testing.assert_allclose(cal.tof(cal.mz(t)), t, rtol=1e-9, atol=1e-9 * abs(cal.params[1]))


@FAST
@given(calibrations(), mzs)
def test_fit_recovers_the_calibration_from_exact_references(cal, mz):
    mz = np.asarray(mz)
    fit = fit_calibration(cal.tof(mz), mz, model=cal.model)
    np.testing.assert_allclose(fit.mz(cal.tof(mz)), mz, rtol=1e-7)
    assert max(abs(r["residual_ppm"]) for r in fit.references) < 0.1
    assert fit.tof(1000.0) == pytest.approx(cal.tof(1000.0), rel=1e-7, abs=1e-6 * cal.params[1])
