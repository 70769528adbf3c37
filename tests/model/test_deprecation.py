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
