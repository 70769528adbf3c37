"""Quantity, Result and the envelope survive JSON and validate against the pydantic contract."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ionscope.model.contract import EnvelopeBase, QuantitySchema
from ionscope.model.result import Quantity, Result, envelope

from .strategies import FAST, quantities

names = st.from_regex(r"[a-z][a-z0-9_]{0,11}", fullmatch=True).filter(lambda n: n not in ("kind", "warnings",
                                                                                          "provenance"))


def _back(d: dict) -> Quantity:
    return Quantity(d["value"], d["uncertainty"], d["unit"])


@FAST
@given(quantities())
def test_quantity_json_round_trip_is_exact(q):
    """JSON floats are written with repr, so value and uncertainty come back bit for bit."""
    d = json.loads(json.dumps(q.to_dict()))
    assert set(d) == {"value", "uncertainty", "unit"}
    QuantitySchema.model_validate(d)
    assert _back(d) == q


@FAST
@given(st.lists(st.floats(allow_nan=True, allow_infinity=True, width=64), min_size=1, max_size=5), st.booleans())
def test_array_and_non_finite_quantities_serialise_to_valid_json(vals, scalar):
    """Non-finite numbers become ``null`` (JSON has no NaN); arrays stay nested lists."""
    q = Quantity(vals[0] if scalar else vals, None, "µm", why_no_uncertainty="x")
    text = json.dumps(q.to_dict(), allow_nan=False)
    d = json.loads(text)
    QuantitySchema.model_validate(d)
    expected = [v if math.isfinite(v) else None for v in vals]
    assert d["value"] == (expected[0] if scalar else expected)


@FAST
@given(st.dictionaries(names, st.one_of(quantities(), st.integers(-10**6, 10**6), st.text(max_size=8)),
                       min_size=1, max_size=6),
       st.lists(st.text(min_size=1, max_size=20), max_size=3))
@pytest.mark.slow
def test_result_envelope_round_trips_and_validates(values, warnings):
    r = Result("test.property", values, warnings)
    doc = json.loads(json.dumps(envelope("test.property", r), allow_nan=False))
    EnvelopeBase.model_validate(doc)
    assert doc["kind"] == "test.property"
    for key, v in values.items():
        if isinstance(v, Quantity):
            assert _back(doc["results"][key]) == v
        else:
            assert doc["results"][key] == v
    assert set(warnings) <= set(doc["warnings"])
    missing = [k for k, v in values.items() if isinstance(v, Quantity) and v.uncertainty is None]
    # each missing uncertainty is explained by a note, and a stated reason is not a warning
    assert {k: n["reason"] for k, n in doc["uncertainty_notes"].items()} == {k: values[k].why_no_uncertainty
                                                                              for k in missing}
    assert not any(w.startswith("no uncertainty for") for w in doc["warnings"])
    assert json.loads(r.to_json())["kind"] == "test.property"


@FAST
@given(st.dictionaries(names, quantities(with_none=False), min_size=1, max_size=5))
def test_result_access_agrees_with_to_dict(values):
    r = Result("test.property", values)
    d = r.to_dict()
    for key, q in values.items():
        assert r[key] == getattr(r, key) == q
        assert d[key] == q.to_dict()
    assert "".join(repr(r).split()).startswith("Result('test.property',")
    assert all(f"{k}={q}" in repr(r) for k, q in values.items())
