"""The demo report, built once for the tests that read it (~20–40 s)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def demo_report(tmp_path_factory):
    from ionscope.report.demo_runner import run_demo

    return run_demo(tmp_path_factory.mktemp("demo"))["report"]
