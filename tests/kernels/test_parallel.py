"""Worker processes: how many start, results in input order, errors raised as in a loop."""

from __future__ import annotations

import math

import pytest

from ionscope.kernels.parallel import available_cores, ordered_map, worker_count


def test_worker_count_starts_only_workers_that_pay_for_their_start():
    assert worker_count(1000, None, 10) == min(available_cores(), 50)
    assert worker_count(1000, 2, 10) == 2
    assert worker_count(1000, 1, 10) == 1
    assert worker_count(39, 8, 10) == 1  # under 2 × 10 tasks per worker: run here
    assert worker_count(40, 8, 10) == 2
    assert worker_count(3, 8, 0.1) == 3  # never more workers than tasks


@pytest.mark.parametrize("workers", [1, 2])
def test_ordered_map_keeps_the_input_order_and_reports_each_item(workers):
    items = [9.0, 4.0, 1.0, 16.0, 25.0]
    done: list[float] = []
    assert ordered_map(math.sqrt, items, workers, on_done=done.append) == [3.0, 2.0, 1.0, 4.0, 5.0]
    assert sorted(done) == sorted(items)


@pytest.mark.parametrize("workers", [1, 2])
def test_an_error_in_a_task_is_raised_here(workers):
    with pytest.raises(ValueError, match="math domain error"):
        ordered_map(math.sqrt, [4.0, -1.0, 9.0], workers)
