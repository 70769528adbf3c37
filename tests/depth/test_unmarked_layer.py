"""A layer that none of the chosen species marks (a substrate) still has its upper interface."""

import numpy as np
import pytest
from scipy.special import erf

from ionscope.depth import find_layers
from ionscope.model import make_depth_profile


def _profile(tail_level: float, seed: int = 0):
    t = np.arange(0.0, 1000.0, 2.0)
    step = lambda c: 0.5 * (1 + erf((t - c) / (np.sqrt(2) * 10.0)))  # noqa: E731
    a = 2000 * (1 - step(300)) + 5
    b = 3000 * step(300) * (1 - step(700)) + 3000 * tail_level * step(700) + 5
    rng = np.random.default_rng(seed)
    return make_depth_profile(rng.poisson(np.stack([a, b], axis=1)), ["A", "B"], sputter_time_s=t)


def test_interface_into_an_unmarked_substrate():
    res = find_layers(_profile(0.0), ["A", "B"])
    pos = [i["position"].value for i in res["interfaces"]]
    # Poisson noise on 3000 counts moves a 50 % point of a 20 s wide edge by far less than 2 s
    assert pos == pytest.approx([300.0, 700.0], abs=2.0)
    assert res["interfaces"][-1]["lower"] is None
    assert [lay["dominant_species"] for lay in res["layers"]] == ["A", "B", None]
    assert any("no chosen species marks" in w for w in res.warnings)


def test_a_drop_to_a_lower_plateau_is_not_a_new_layer():
    # B falls to 30 % of its level and stays there (charging, matrix effect): still the same layer
    res = find_layers(_profile(0.3), ["A", "B"])
    assert [i["position"].value for i in res["interfaces"]] == pytest.approx([300.0], abs=2.0)
    assert [lay["dominant_species"] for lay in res["layers"]] == ["A", "B"]
