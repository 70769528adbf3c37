"""Hostile query strings and ROI bodies: every answer is a JSON error or data, never a 500.

Hypothesis draws parameters from the names the routes read (``peak``, ``scan``, ``state``, ``lo``,
``hi``, ``axis``, ``index``, ``max``) plus unknown ones, with values that stress parsing: huge and
negative integers, non-finite and overflowing floats, words, Unicode and percent-escapes. ROI bodies
mix well-formed rectangles and polygons with wrong types, non-finite and overflowing numbers,
deep nesting and non-JSON constants.
"""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ROUTES = ("image", "labels", "spectrum", "profile", "operando")
DATASETS = ("cross_section", "cube", "operando", "volume", "depth_profile", "spectrum", "hyperspectral", "broken")
KEYS = ("peak", "scan", "state", "lo", "hi", "axis", "index", "max", "what", "x", "")
FUZZ = settings(max_examples=200, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

numbers = st.one_of(st.integers(-10**30, 10**30), st.floats(allow_nan=True, allow_infinity=True),
                    st.sampled_from(["1e309", "-1e309", "nan", "inf", "-0", "0x10", "1_000", "9" * 5000, "sum",
                                     "z", "y", "x", "w", " 3", "3 ", "", "%00", "é", "\u202e"]))
values = st.one_of(numbers.map(str), st.text(max_size=20))
queries = st.lists(st.tuples(st.sampled_from(KEYS), values), max_size=6)


def _strict(body: bytes) -> object:
    """Parse JSON rejecting NaN and infinities (RFC 8259)."""
    def refuse(name: str) -> object:
        raise ValueError(f"non-standard JSON constant {name}")
    return json.loads(body, parse_constant=refuse)


def _check(status: int, headers: dict, body: bytes) -> None:
    assert status != 500, body[:300]
    if status >= 400 or headers.get("Content-Type") == "application/json":
        doc = _strict(body)
        if status >= 400:
            assert set(doc["error"]) == {"type", "message", "path"}, doc


@FUZZ
@given(dataset=st.sampled_from(DATASETS), route=st.sampled_from(ROUTES), query=queries)
@pytest.mark.slow
def test_fuzzed_query_strings_never_500(client, dataset, route, query):
    q = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in query)
    _check(*client.request(f"/api/datasets/{client.ids[dataset]}/{route}?{q}"))


num = st.one_of(st.integers(-10**400, 10**400), st.floats(allow_nan=False, allow_infinity=False),
                st.integers(-5, 40))
junk = st.one_of(st.none(), st.booleans(), st.text(max_size=5), st.lists(st.integers(), max_size=3),
                 st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))
point = st.one_of(st.lists(num, min_size=2, max_size=2), st.lists(num, max_size=3), junk)
rects = st.fixed_dictionaries({"type": st.just("rect")},
                              optional={k: st.one_of(num, junk) for k in ("x0", "y0", "x1", "y1")})
polygons = st.fixed_dictionaries({"type": st.just("polygon")},
                                 optional={"points": st.one_of(st.lists(point, max_size=8), junk)})
rois = st.one_of(rects, polygons, junk, st.fixed_dictionaries({"type": st.text(max_size=8)}))
#: Bodies that broke parsers elsewhere: non-JSON constants, numbers beyond float64, deep nesting, bad UTF-8.
FIXED_BODIES = [
    b'{"roi": {"type": "rect", "x0": NaN, "y0": 0, "x1": 3, "y1": 3}}',
    b'{"roi": {"type": "rect", "x0": Infinity, "y0": 0, "x1": 3, "y1": 3}}',
    b'{"roi": {"type": "rect", "x0": 1e999, "y0": 0, "x1": 3, "y1": 3}}',
    b'{"roi": {"type": "rect", "x0": 1' + b"0" * 400 + b', "y0": 0, "x1": 3, "y1": 3}}',
    b'{"roi": {"type": "polygon", "points": [[1' + b"0" * 400 + b', 0], [1, 1], [2, 0]]}}',
    b"[" * 100_000, b'{"roi": ' * 5000, b"\xff\xfe", b'{"roi": 1}',
]

bodies = st.one_of(
    st.fixed_dictionaries({"roi": rois}, optional={"what": st.one_of(
        st.sampled_from(["spectrum", "profile", "trajectory"]), junk)}).map(lambda d: json.dumps(d).encode()),
    st.sampled_from(FIXED_BODIES),
    st.binary(min_size=1, max_size=40))


@FUZZ
@given(dataset=st.sampled_from(DATASETS), body=bodies)
def test_fuzzed_roi_bodies_never_500(client, dataset, body):
    _check(*client.request(f"/api/datasets/{client.ids[dataset]}/roi", method="POST", body=body,
                           headers={"Content-Type": "application/json"}))


@pytest.mark.parametrize("body", FIXED_BODIES)
@pytest.mark.parametrize("dataset", ["cross_section", "cube", "hyperspectral"])
def test_known_hostile_roi_bodies_are_422(client, dataset, body):
    status, headers, raw = client.request(f"/api/datasets/{client.ids[dataset]}/roi", method="POST", body=body,
                                          headers={"Content-Type": "application/json"})
    assert status == 422
    _check(status, headers, raw)


@pytest.mark.parametrize("path", ["/api/datasets/" + "a" * 5000, "/api/datasets/d0/image?" + "a=1&" * 2000,
                                  "/%00", "/api/datasets/%ff%fe", "/static/%2e%2e%2fserver.py"])
def test_odd_paths_are_json_errors(client, path):
    status, headers, body = client.request(path)
    assert 400 <= status < 500
    _check(status, headers, body)
