from pathlib import Path

import pytest

from ionscope.demo import mva as demo
from ionscope.demo.runner import DemoContext
from ionscope.report.html import Report


@pytest.mark.slow
def test_demo_builds_and_recovers(tmp_path: Path):
    ctx = DemoContext(out=tmp_path, report=Report("test"))
    demo.build(ctx)
    res = ctx.results["mva"]
    assert min(res["nmf_spectrum_correlation"]) >= 0.98
    assert res["explained_variance_ratio"][1] > 10 * res["explained_variance_ratio"][2]
