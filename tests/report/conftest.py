"""The demo report, built once for the tests that read it (~20–40 s)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def demo_report(demo_output):
    return demo_output / "report.html"
