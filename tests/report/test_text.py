"""Rounding to the uncertainty and chemists' ion names."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ionscope.model.text import format_measurement, pretty_ion, pretty_text, round_to_uncertainty, uncertainty_digits


@pytest.mark.parametrize(("u", "digits"), [(0.0100, 2), (0.0354, 2), (0.0355, 1), (0.0949, 1), (0.0950, 2),
                                           (0.0999, 2), (1.0, 2), (3.5, 2), (3.6, 1), (9.4, 1), (2590, 2)])
def test_particle_data_group_digits(u, digits):
    assert uncertainty_digits(u) == digits


@pytest.mark.parametrize(("value", "u", "expected"), [
    (0.58123, 0.0123, "0.581 ± 0.012"),
    (0.58123, 0.0456, "0.58 ± 0.05"),
    (1.0, 0.0996, "1.00 ± 0.10"),
    (123.456, 0.996, "123.5 ± 1.0"),
    (12376.0, 2590.0, "12400 ± 2600"),
    (500484.0, 5961.0, "(5.00 ± 0.06)×10⁵"),
    (6.04e-13, 2.9e-14, "(6.04 ± 0.29)×10⁻¹³"),
    (-0.0042, 0.0003, "-0.00420 ± 0.00030"),
    (0.0, 0.012, "0.000 ± 0.012"),
    (-0.0012, 0.0399, "0.00 ± 0.04"),  # rounds to zero: no "-0.00"
    (0.0003, 0.0088, "0.000 ± 0.009"),  # within its σ of 0: the σ sets the scale, not (3 ± 88)×10⁻⁴
    (2.7e-6, 9.84e-5, "(0.0 ± 1.0)×10⁻⁴"),  # 984 rounds up to 1000: the power of ten after rounding
    (2.7e-6, 3.1e-5, "(0.3 ± 3.1)×10⁻⁵"),
    (0.4499, 0.00097, "0.4499 ± 0.0010"),  # 970 rounds up to 1000: two digits
    (1391.13, 6.627, "1391 ± 7"),  # 663: one digit
])
def test_format_measurement(value, u, expected):
    assert format_measurement(value, u) == expected


def test_format_without_uncertainty_and_not_determined():
    assert format_measurement(20000.0, None, "counts", digits=4) == "20000 counts"
    assert format_measurement(3.20345, 0.0, digits=4) == "3.203"
    assert format_measurement(float("nan"), 0.1) == "not determined"
    assert format_measurement(None) == "not determined"
    assert format_measurement(2.0, 0.1, "cm^2/s").endswith("cm²/s")


@given(st.floats(-1e6, 1e6, allow_nan=False), st.floats(1e-6, 1e5, allow_nan=False))
def test_rounding_keeps_one_or_two_digits_and_the_value_within_half_a_digit(value, u):
    v, ur, decimals = round_to_uncertainty(value, u)
    step = 10.0 ** -decimals
    assert abs(v - value) <= step / 2 * (1 + 1e-9) + abs(value) * 1e-15
    significant = ur / 10 ** math.floor(math.log10(ur))
    assert round(significant * 10) == pytest.approx(significant * 10, abs=1e-6)  # at most two digits
    assert abs(ur - u) <= step / 2 * (1 + 1e-9) or ur >= u  # rounded, or rounded up to the next decade


@pytest.mark.parametrize(("raw", "pretty"), [
    ("^7Li+", "⁷Li⁺"), ("Li2F+", "Li₂F⁺"), ("^58Ni+", "⁵⁸Ni⁺"), ("PbI_3-", "PbI₃⁻"), ("C_2H_3O_2-", "C₂H₃O₂⁻"),
    ("Fe 2+", "Fe²⁺"), ("(LiF)3Li+", "(LiF)₃Li⁺"), ("Li2O.LiF+", "Li₂O·LiF⁺"), ("[6Li]F2-", "⁶LiF₂⁻"),
    ("total", "total"), ("Li6", "Li6"),
])
def test_pretty_ion(raw, pretty):
    assert pretty_ion(raw) == pretty


def test_pretty_text_leaves_ordinary_words_alone():
    text = "C-rate, x-axis, I-V curve, cycle 1+ and X-ray; ^58Ni+ → ^48Ti+ in ions/cm^2"
    assert pretty_text(text) == "C-rate, x-axis, I-V curve, cycle 1+ and X-ray; ⁵⁸Ni⁺ → ⁴⁸Ti⁺ in ions/cm²"
