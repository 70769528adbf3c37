"""Shared fixtures: where the real data lives, and a CLI runner."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = (ROOT / ".." / "shared" / "data").resolve()


def shared_data(*parts: str) -> Path:
    """Path below ``../shared/data``; skips the test cleanly when it is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real data not available: {path} (see ../shared/data/README.md)")
    return path


@pytest.fixture
def cli(capsys):
    """Run the ionscope CLI in-process: returns (exit code, stdout, stderr)."""
    from ionscope.cli.main import main

    def run(*args: str) -> tuple[int, str, str]:
        code = main([str(a) for a in args])
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


@pytest.fixture(scope="session")
def demo_output(tmp_path_factory) -> Path:
    """One ``ionscope demo --out …/demo-output`` run, shared by every test that reads its files."""
    from ionscope.cli.main import main

    out = tmp_path_factory.mktemp("demo") / "demo-output"
    assert main(["--quiet", "demo", "--out", str(out)]) == 0
    return out
