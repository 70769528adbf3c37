"""A layer that none of the chosen species marks (a substrate) still has its upper interface."""

import numpy as np
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
    # Poisson noise on 3000 counts moves a 50 % point of a 20 s wide edge by far less than 2 s; the position
    # also carries the MRI-shift correction (zero for this symmetric edge) and its systematic 1σ: within 2σ
    for q, true in zip([i["position"] for i in res["interfaces"]], [300.0, 700.0], strict=True):
        assert abs(q.value - true) <= 2 * q.uncertainty, (q, true)
        assert q.uncertainty < 3.0  # ln 2·σ_g/√12 = 2.0 s for σ_g = 10 s, plus noise
    assert res["interfaces"][-1]["lower"] is None
    assert [lay["dominant_species"] for lay in res["layers"]] == ["A", "B", None]
    assert any("no chosen species marks" in w for w in res.warnings)


def test_a_drop_to_a_lower_plateau_is_not_a_new_layer():
    # B falls to 30 % of its level and stays there (charging, matrix effect): still the same layer
    res = find_layers(_profile(0.3), ["A", "B"])
    (q,) = [i["position"] for i in res["interfaces"]]
    assert abs(q.value - 300.0) <= 2 * q.uncertainty, q
    assert [lay["dominant_species"] for lay in res["layers"]] == ["A", "B"]
