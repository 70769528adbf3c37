"""Renamed keywords keep working with a DeprecationWarning."""

import numpy as np
import pytest

from ionscope.model.arrays import make_volume
from ionscope.model.deprecation import renamed_parameters
from ionscope.model.result import Quantity


def test_old_keyword_warns_and_is_passed_on():
    @renamed_parameters(old="new")
    def f(*, new=0):
        return new

    with pytest.warns(DeprecationWarning, match="'old' is now called 'new'"):
        assert f(old=3) == 3
    with pytest.raises(TypeError, match="both"):
        f(old=1, new=2)
    with pytest.raises(TypeError, match="no parameter"):
        renamed_parameters(a="missing")(lambda b: b)


def test_make_volume_spacing_takes_lengths_with_units():
    a = make_volume(np.zeros((2, 2, 2)), "20 nm")
    b = make_volume(np.zeros((2, 2, 2)), (Quantity(0.02, None, "µm"), 0.02, "0.02um"))
    assert a.attrs["spacing_um"] == pytest.approx([0.02] * 3) == b.attrs["spacing_um"]
    with pytest.warns(DeprecationWarning):
        c = make_volume(np.zeros((2, 2, 2)), spacing_um=0.02)
    assert c.attrs["spacing_um"] == pytest.approx([0.02] * 3)


def test_grouped_keywords_warn_and_merge_into_the_mapping():
    from ionscope.model.deprecation import grouped_parameters

    @grouped_parameters(bounds={"D_bounds": "D", "k_bounds": "k"})
    def f(*, bounds=None):
        return bounds

    assert f() is None
    assert f(bounds={"D": (1, 2)}) == {"D": (1, 2)}
    with pytest.warns(DeprecationWarning, match=r"'k_bounds' is now bounds\['k'\]"):
        assert f(bounds={"D": (1, 2)}, k_bounds=(3, 4)) == {"D": (1, 2), "k": (3, 4)}
    with pytest.raises(TypeError, match="got .D_bounds. and bounds"):
        f(bounds={"D": (1, 2)}, D_bounds=(1, 2))
    with pytest.raises(TypeError, match="must be a mapping"):
        f(bounds=(1, 2), D_bounds=(1, 2))
    with pytest.raises(TypeError, match="no parameter"):
        grouped_parameters(bounds={"a": "b"})(lambda c: c)
    with pytest.raises(TypeError, match="still has"):
        grouped_parameters(bounds={"a": "b"})(lambda bounds, a: a)
