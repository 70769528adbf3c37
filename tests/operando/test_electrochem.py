"""Capacity bookkeeping, SOC and CC/CV segments on the synthetic log ([001]: 29/25 µAh → 14 %)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ionscope.model.errors import ValidationError
from ionscope.operando.electrochem import capacity_summary, cycle_capacities, segments, state_of_charge
from ionscope.synth.operando import synthetic_cycling_log


@pytest.fixture(scope="module")
def log_truth():
    return synthetic_cycling_log()


def test_capacities_exact(log_truth):
    log, truth = log_truth
    caps = cycle_capacities(log, area_cm2=0.2)
    # the synthetic current is linear between samples, so trapezoid integration is exact
    np.testing.assert_allclose(caps["charge_Ah"] * 1e6, [29.0, 25.0], rtol=1e-12)
    np.testing.assert_allclose(caps["discharge_Ah"] * 1e6, [25.0, 22.0], rtol=1e-12)
    np.testing.assert_allclose(caps["irreversible_fraction"], [4 / 29, 3 / 25], rtol=1e-12)
    assert round(caps["irreversible_fraction"].iloc[0] * 100) == 14
    np.testing.assert_allclose(caps["charge_mAh_cm2"], [0.145, 0.125], rtol=1e-12)


def test_capacity_summary_result(log_truth):
    log, _ = log_truth
    res = capacity_summary(log, area_cm2=0.2, nominal_capacity_Ah=30e-6)
    c1 = res["cycles"][0]
    assert c1["charge_uAh"].unit == "µAh" and c1["charge_uAh"].value == pytest.approx(29.0)
    assert c1["coulombic_efficiency"].value == pytest.approx(25 / 29)
    # the first CV samples are within the 2 % CC tolerance, so the CC mean dips by ~1e-5
    assert res["cc_current_uA"] == pytest.approx(6.0, rel=1e-4)
    assert res["cc_current_density_mA_cm2"] == pytest.approx(0.03, rel=1e-4)
    assert res["c_rate"] == pytest.approx(0.2, rel=1e-4)
    assert res.to_dict()["kind"] == "operando.capacity"


def test_segments_find_cc_cv_rest(log_truth):
    log, _ = log_truth
    seg = segments(log)
    kinds = list(zip(seg["kind"], seg["direction"]))
    assert kinds[:7] == [("rest", "rest"), ("CC", "charge"), ("CV", "charge"), ("rest", "rest"),
                         ("CC", "discharge"), ("CV", "discharge"), ("rest", "rest")]
    cv = seg[(seg.kind == "CV")]
    # CV starts where the decaying current leaves the 2 % CC band: within 2 samples (τ = 900 s, dt = 10 s)
    np.testing.assert_allclose(cv["duration_s"], 3600.0, atol=20.0 + 1e-6)
    # segment charges add up to each cycle's net charge
    assert seg["charge_Ah"].sum() == pytest.approx(log["capacity_Ah"].iloc[-1], abs=1e-15)


def test_state_of_charge(log_truth):
    log, _ = log_truth
    soc = state_of_charge(log)
    assert soc.max() == pytest.approx(1.0)
    end_dis1 = np.flatnonzero(log["cycle"].to_numpy() == 1)[-1]
    assert soc[end_dis1] == pytest.approx(4 / 29)


def test_zero_crossing_is_split():
    log = pd.DataFrame({"time_s": [0.0, 2.0], "voltage_V": [2.0, 2.0], "current_A": [1.0, -1.0],
                        "capacity_Ah": [0.0, 0.0], "cycle": [1, 1], "step": [1, 2]})
    caps = cycle_capacities(log)
    assert caps["charge_Ah"].iloc[0] * 3600 == pytest.approx(0.5)
    assert caps["discharge_Ah"].iloc[0] * 3600 == pytest.approx(0.5)


def test_bad_logs():
    with pytest.raises(ValidationError, match="lacks column"):
        cycle_capacities(pd.DataFrame({"time_s": [0, 1]}))
    log = pd.DataFrame({"time_s": [0.0, 2.0, 1.0], "voltage_V": 2.0, "current_A": 1.0, "capacity_Ah": 0.0,
                        "cycle": 1, "step": 1})
    with pytest.raises(ValidationError, match="strictly increasing"):
        cycle_capacities(log)
    with pytest.raises(ValidationError, match="area"):
        cycle_capacities(synthetic_cycling_log()[0], area_cm2=0)


def test_integration_error_bound(log_truth):
    log, _ = log_truth
    res = capacity_summary(log)
    q = res["cycles"][0]["charge_uAh"]
    # current jumps 0 → 6 µA (and CV tail → 0) within one 10 s sample: bound ≈ 2 × 6 µA·10 s / 2 / 3600
    assert 0.01 < q.uncertainty < 0.05
