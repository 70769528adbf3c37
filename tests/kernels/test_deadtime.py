import numpy as np
import pytest

from ionscope.kernels.deadtime import DeadTimeWarning, correct_dead_time, dead_time_uncertainty
from ionscope.model import ValidationError
from ionscope.synth import dead_time_counts


def test_correction_recovers_the_true_mean_of_simulated_dead_time():
    # 400 shots, true mean 150 ions: recorded mean 400(1 - e^-0.375) ≈ 125.7, i.e. 16 % loss.
    shots, lam, n = 400, 150.0, 200_000
    recorded = dead_time_counts(np.full(n, lam), shots, rng=1)
    corrected = correct_dead_time(recorded.mean(), shots)
    # standard error of the mean of corrected counts, from the binomial variance
    sem = dead_time_uncertainty(recorded.mean(), shots) / np.sqrt(n)
    assert abs(corrected - lam) < 4 * sem


def test_small_counts_are_unchanged_and_uncertainty_tends_to_poisson():
    assert correct_dead_time(3.0, 1e6) == pytest.approx(3.0, rel=1e-5)
    assert dead_time_uncertainty(3.0, 1e6) == pytest.approx(np.sqrt(3.0), rel=1e-5)


def test_saturation_is_nan_and_warned():
    with pytest.warns(DeadTimeWarning, match="saturated"):
        out = correct_dead_time(np.array([10, 100]), 100)
    assert np.isfinite(out[0]) and np.isnan(out[1])


def test_bad_inputs():
    with pytest.raises(ValidationError, match="exceed"):
        correct_dead_time(np.array([5, 20]), 10)
    with pytest.raises(ValidationError, match="positive"):
        correct_dead_time(np.array([5]), 0)
    with pytest.raises(ValidationError, match="non-negative"):
        correct_dead_time(np.array([-1]), 10)
