"""Shared fixtures: where the real data lives, and a CLI runner."""

from __future__ import annotations

import os
import shutil
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


#: Headless Chromium flags for the browser tests (no network, no first-run work).
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium_executable() -> str | None:
    """Chromium for the browser tests: ``$IONSCOPE_CHROMIUM``, Debian's, or one on PATH (None if absent)."""
    for candidate in (os.environ.get("IONSCOPE_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium")):
        if candidate and Path(candidate).exists():
            return candidate
    return None


def write_surfacelab_profile(profile, path: Path) -> Path:
    """Write a (scan, peak) profile as an IONTOF SurfaceLab text export (the format the CLI reads)."""
    labels = [str(p) for p in profile.peak.values]
    lines = ["# Profile Smoothing is Disabled", "#\t\t\t\t" + "\t".join(labels) + "\t",
             "#\t\t\t\t" + "\t".join("N/A" for _ in labels) + "\t",
             "#Data Point #\tSputter Time (s)\tDose (ions)\tFluence (ions/cm^2)\t" + "Intensity\t" * len(labels)]
    for i in range(profile.sizes["scan"]):
        row = [str(i + 1), repr(float(profile.sputter_time[i])), repr(float(profile.dose[i])),
               repr(float(profile.fluence[i]))] + [repr(float(v)) for v in profile.values[i]]
        lines.append("\t".join(row) + "\t")
    path.write_text("\r\n".join(lines) + "\r\n")
    return path
