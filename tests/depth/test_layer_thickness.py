"""Layer thickness from declared sputter rates: boundary-time and rate uncertainties kept apart."""

from __future__ import annotations

import numpy as np
import pytest

from ionscope.depth import layer_thickness
from ionscope.model.errors import ValidationError
from ionscope.model.result import Quantity


def test_one_rate_counts_its_uncertainty_once():
    d = layer_thickness(Quantity(10.0, 1.0, "s"), Quantity(70.0, 2.0, "s"), (0.8, 0.05))
    assert d.unit == "nm" and d.value == pytest.approx(48.0)
    assert d.uncertainty == pytest.approx(np.sqrt((0.8 * 1) ** 2 + (0.8 * 2) ** 2 + (60 * 0.05) ** 2))


def test_two_segments_and_monte_carlo():
    rates, switch = [(1.0, 0.1), (2.0, 0.2)], [50.0]
    d = layer_thickness(Quantity(40.0, 0.5, "s"), Quantity(60.0, 0.5, "s"), rates, switch)
    assert d.value == pytest.approx(30.0)
    rng = np.random.default_rng(3)
    n = 200_000
    ta, tb = rng.normal(40, 0.5, n), rng.normal(60, 0.5, n)
    r1, r2 = rng.normal(1, 0.1, n), rng.normal(2, 0.2, n)
    sim = r1 * (50 - ta) + r2 * (tb - 50)
    assert d.uncertainty == pytest.approx(sim.std(), rel=0.01)


def test_rates_and_switches_must_match():
    with pytest.raises(ValidationError, match="switching time"):
        layer_thickness(Quantity(1.0, 0.0, "s"), Quantity(2.0, 0.0, "s"), [(1.0, 0.1), (2.0, 0.1)], [])
