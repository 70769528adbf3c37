"""``float()``, ``repr`` and pickling of Quantity and Result, for any drawn value (the rest of the record's
contract — arithmetic, text, JSON, item and attribute access — is in the neighbouring property tests)."""

from __future__ import annotations

import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ionscope.model.result import Quantity, Result

from .strategies import FAST, quantities

names = st.from_regex(r"[a-z][a-z0-9_]{0,11}", fullmatch=True).filter(lambda n: n not in ("kind", "warnings",
                                                                                          "provenance"))


@FAST
@given(quantities())
def test_float_is_the_value_and_repr_shows_the_measurement(q):
    assert float(q) == q.value
    assert repr(q).startswith(f"Quantity({q}") and repr(q).endswith(")")
    if q.uncertainty is None:
        assert f"no uncertainty: {q.why_no_uncertainty}" in repr(q)
    assert float(q + 0) == float(q) and float(-q) == -q.value


@FAST
@given(st.lists(st.floats(-1e6, 1e6), min_size=2, max_size=6))
def test_an_array_quantity_has_no_single_float(vals):
    q = Quantity(vals, None, "nm", why_no_uncertainty="drawn")
    with pytest.raises(TypeError, match="array quantity"):
        float(q)
    assert repr(q).startswith("Quantity([")


@FAST
@given(st.dictionaries(names, st.one_of(quantities(), st.integers(-10**6, 10**6)), min_size=1, max_size=5),
       st.lists(st.text(min_size=1, max_size=12), max_size=3))
def test_result_pickles_and_keeps_access(values, warnings):
    r = Result("test.property", values, tuple(warnings))
    back = pickle.loads(pickle.dumps(r))
    assert back == r and back.to_dict() == r.to_dict() and repr(back) == repr(r)
    for key in values:
        assert back[key] == getattr(back, key) == values[key] and key in back
    with pytest.raises(AttributeError, match="has no value"):
        _ = back.Missing  # names drawn are lower case
