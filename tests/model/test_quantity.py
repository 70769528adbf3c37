"""Quantity and Result: text, float(), conversion, arithmetic with units and uncertainty propagation."""

import math
import pickle

import numpy as np
import pytest

from ionscope.model import Quantity, Result, UnitError
from ionscope.model.units import parse_measurement


def test_text_rounds_to_two_digits_of_the_uncertainty_and_reads_back():
    d = Quantity(1.2341e-12, 4.5e-14, "cm^2/s")
    assert str(d) == "1.234e-12 ± 4.5e-14 cm^2/s"
    assert repr(d) == "Quantity(1.234e-12 ± 4.5e-14 cm^2/s)"
    assert str(Quantity(0.8123, 0.0512, "nm/s")) == "0.812 ± 0.051 nm/s"
    assert str(Quantity(1000.0, 141.4, "1")) == "1000 ± 140"
    assert str(Quantity(3.2, None, "nm")) == "3.2 nm"
    assert repr(Quantity(3.2, None, "nm", why_no_uncertainty="single scan")) == \
        "Quantity(3.2 nm; no uncertainty: single scan)"
    back = parse_measurement(str(d))
    assert back.unit == "cm^2/s" and back.value == pytest.approx(1.234e-12) and back.uncertainty == 4.5e-14


def test_array_quantity_text_and_float():
    q = Quantity(np.arange(6.0), np.full(6, 0.5), "µm")
    assert str(q) == "[0, 1, 2, 3, …] ± [0.5, 0.5, 0.5, 0.5, …] µm"
    with pytest.raises(TypeError, match="array quantity"):
        float(q)
    assert float(Quantity(2.5, 0.1, "µm")) == 2.5


def test_format_spec_is_kept_for_existing_callers():
    assert f"{Quantity(0.8, 0.05, 'nm/s'):.3g}" == "(0.8 ± 0.05) nm/s"
    assert f"{Quantity(0.8, 0.05, 'nm/s')}" == "0.800 ± 0.050 nm/s"


def test_a_dimensionless_quantity_formats_without_a_trailing_unit():
    assert f"{Quantity(0.467, 0.020, '1'):.3f}" == "(0.467 ± 0.020)"
    assert f"{Quantity(0.467, None, '1'):.3f}" == "0.467"


def test_sum_converts_into_the_left_unit_and_adds_variances():
    q = Quantity(1.0, 0.03, "µm") + Quantity(500.0, 40.0, "nm")
    assert q.unit == "µm" and q.value == pytest.approx(1.5) and q.uncertainty == pytest.approx(0.05)
    assert (Quantity(1.0, 0.1, "µm") - Quantity(1.0, 0.1, "µm")).uncertainty == pytest.approx(math.sqrt(2) * 0.1)
    assert sum([Quantity(1.0, 0.3, "s"), Quantity(2.0, 0.4, "s")]) == Quantity(3.0, 0.5, "s")


def test_sum_refuses_mismatched_dimensions_and_bare_numbers():
    with pytest.raises(UnitError, match="cannot convert"):
        Quantity(1.0, 0.1, "µm") + Quantity(1.0, 0.1, "s")
    with pytest.raises(UnitError, match="give it a unit"):
        Quantity(1.0, 0.1, "µm") + 1.0
    assert (Quantity(0.5, 0.1, "1") + 1).value == 1.5
    assert (1 - Quantity(0.25, 0.1, "fraction")).value == 0.75


def test_products_multiply_units_and_relative_uncertainties():
    area = Quantity(3.0, 0.3, "µm") * Quantity(2.0, 0.4, "µm")
    assert area.unit == "µm^2" and area.value == 6.0
    assert area.uncertainty == pytest.approx(6.0 * math.hypot(0.1, 0.2))
    length = Quantity(1e-12, 1e-13, "cm^2/s") * Quantity(3600.0, 0.0, "s")
    assert length.unit == "cm^2" and length.value == pytest.approx(3.6e-9)
    ratio = Quantity(1.0, 0.01, "µm") / Quantity(1.0, 0.01, "nm")
    assert ratio.unit == "1" and ratio.value == pytest.approx(1000.0)
    assert ratio.uncertainty == pytest.approx(1000.0 * math.hypot(0.01, 0.01))
    inv = 2.0 / Quantity(4.0, 0.4, "µm")
    assert inv.unit == "µm^-1" and inv.value == 0.5 and inv.uncertainty == pytest.approx(0.05)
    assert (Quantity(2.0, 0.1, "m/z") * 3).unit == "m/z"
    assert (Quantity(2.0, 0.1, "m/z") / Quantity(1.0, 0.0, "m/z")).unit == "1"
    with pytest.raises(UnitError, match="label"):
        Quantity(2.0, 0.1, "m/z") * Quantity(1.0, 0.0, "µm")


def test_powers():
    sq = Quantity(3.0, 0.3, "µm") ** 2
    assert sq.unit == "µm^2" and sq.value == 9.0 and sq.uncertainty == pytest.approx(2 * 3.0 * 0.3)
    root = Quantity(4.0, 0.4, "µm^2") ** 0.5
    assert root.unit == "µm" and root.value == 2.0 and root.uncertainty == pytest.approx(0.1)
    e = Quantity(2.0, 0.0, "1") ** Quantity(3.0, 0.1, "1")
    assert e.value == 8.0 and e.uncertainty == pytest.approx(8.0 * math.log(2.0) * 0.1)
    assert (10 ** Quantity(-1.0, 0.01, "1")).uncertainty == pytest.approx(0.1 * math.log(10) * 0.01)
    with pytest.raises(UnitError, match="dimensionless"):
        Quantity(3.0, 0.3, "µm") ** Quantity(2.0, 0.1, "s")


def test_unknown_uncertainty_propagates_with_its_reason():
    q = Quantity(2.0, None, "nm", why_no_uncertainty="single scan") * Quantity(3.0, 0.1, "1")
    assert q.uncertainty is None and q.why_no_uncertainty == "single scan"


def test_comparison_is_by_value_after_conversion():
    assert Quantity(1.0, 0.5, "µm") > Quantity(900.0, 1.0, "nm")
    assert Quantity(1.0, 0.5, "µm") <= Quantity(1000.0, 1.0, "nm")
    assert Quantity(-1.0, 0.1, "µm") < 0
    assert max([Quantity(2.0, 0.1, "s"), Quantity(1.0, 0.1, "min")]).unit == "min"
    with pytest.raises(UnitError):
        _ = Quantity(1.0, 0.1, "µm") < 5
    assert Quantity(1.0, 0.1, "µm") != Quantity(1000.0, 100.0, "nm")  # == compares the records


def test_numpy_scalars_and_arrays():
    q = np.float64(2.0) * Quantity(3.0, 0.3, "µm")
    assert isinstance(q, Quantity) and q.value == 6.0
    curve = Quantity([1.0, 2.0], [0.1, 0.2], "µm") * 2
    assert curve.value == [2.0, 4.0] and curve.uncertainty == pytest.approx([0.2, 0.4])
    assert (Quantity([1.0, 2.0], [0.1, 0.2], "µm") * np.array([1.0, 3.0])).value == [1.0, 6.0]


def test_to_converts_value_and_uncertainty():
    nm = Quantity(1.5, 0.1, "µm").to("nm")
    assert nm.unit == "nm" and nm.value == pytest.approx(1500.0) and nm.uncertainty == pytest.approx(100.0)
    kelvin = Quantity(25.0, 0.5, "°C").to("K")
    assert kelvin.value == pytest.approx(298.15) and kelvin.uncertainty == pytest.approx(0.5)
    with pytest.raises(UnitError):
        Quantity(1.0, 0.1, "µm").to("s")


def test_json_layout_is_unchanged():
    q = Quantity(1.0, None, "µm", why_no_uncertainty="x") + Quantity(1.0, 0.1, "µm")
    assert q.to_dict() == {"value": 2.0, "uncertainty": None, "unit": "µm"}


def test_result_access_repr_and_pickle():
    r = Result("diffusion.fit", {"D": Quantity(1.2e-12, 4e-14, "cm^2/s"), "n_points": 40}, ["at bound"])
    assert r.D is r["D"] and "n_points" in r and r.get("missing", 1) == 1 and list(r.keys()) == ["D", "n_points"]
    assert repr(r) == "Result('diffusion.fit', D=1.200e-12 ± 4.0e-14 cm^2/s, n_points=40, warnings=['at bound'])"
    with pytest.raises(AttributeError, match="has D, n_points"):
        _ = r.E
    assert "D" in dir(r)
    assert pickle.loads(pickle.dumps(r)) == r
    assert r.to_dict()["D"] == {"value": 1.2e-12, "uncertainty": 4e-14, "unit": "cm^2/s"}


def test_a_reason_names_its_kind_and_keeps_it_through_conversion_arithmetic_and_pickle():
    from ionscope.model.result import NoUncertainty, no_uncertainty_kind

    given = NoUncertainty.given("the voxel size as given")
    q = Quantity(0.5, None, "µm", given)
    assert q.why_no_uncertainty == "the voxel size as given" and no_uncertainty_kind(q.why_no_uncertainty) == "input"
    for derived in (q.to("nm"), q * 2, -q, abs(q), q * Quantity(3.0, 0.1, "1")):
        assert derived.uncertainty is None and no_uncertainty_kind(derived.why_no_uncertainty) == "input"
    back = pickle.loads(pickle.dumps(q))
    assert back == q and back.why_no_uncertainty.kind == "input"
    assert no_uncertainty_kind(NoUncertainty.exact("x")) == "exact"
    assert no_uncertainty_kind(NoUncertainty.bound("x")) == "bound"
    assert no_uncertainty_kind("a plain text") == "not_estimated" and no_uncertainty_kind(None) == "unstated"
    with pytest.raises(ValueError, match="unknown kind"):
        NoUncertainty("x", "unstated")
    with pytest.raises(ValueError, match="say something"):
        NoUncertainty.exact("")


def test_repr_shows_the_reason_only_without_an_uncertainty():
    assert repr(Quantity(3.2, 0.1, "nm", why_no_uncertainty="unused")) == "Quantity(3.20 ± 0.10 nm)"
