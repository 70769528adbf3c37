"""Shared fixtures: where the real data lives, and a CLI runner; how ``-n N`` shares the tests out."""

from __future__ import annotations

import functools
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


# --------------------------------------------------------------------------- sharing the tests out (xdist)
#
# Under ``-n N`` each worker process builds the session fixtures its tests use. xdist's default
# (``--dist load``) hands out single tests in collection order, so both workers built the demo run
# (~20 s) and the contract outputs, and modules were split between workers, their module fixtures
# built twice. Instead, whole test modules are handed out, every module that uses the demo run as one
# unit, the units estimated longest first (the longest ones must not start last, with the other
# worker idle).

#: Session fixtures slow to build: every test module that names one of them is one unit of work, so
#: that one worker builds it.
ONE_WORKER_FIXTURES = ("demo_output", "demo_report")


@functools.cache
def _unit_of_module(root: Path, module: str) -> str:
    """The unit of work of a test module: the module itself, or one unit for every module that uses one
    of :data:`ONE_WORKER_FIXTURES` (found in its source, which the scheduler, seeing only test ids, can
    read as well as the workers)."""
    try:
        text = (root / module).read_text(encoding="utf-8")
    except (OSError, ValueError):
        return module
    return "modules using the demo run" if any(name in text for name in ONE_WORKER_FIXTURES) else module


def _unit(root: Path, nodeid: str) -> str:
    return _unit_of_module(root, nodeid.split("::", 1)[0])


def _sharing_modules(config: pytest.Config) -> bool:
    return config.pluginmanager.hasplugin("xdist") and config.getoption("dist", None) == "load"


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """``-n N`` with xdist's default distribution: units of whole modules (:func:`_unit`), handed out in the
    workers' collection order, which :func:`pytest_collection_modifyitems` sorts longest first."""
    if not _sharing_modules(config):
        return None
    from xdist.scheduler import LoadScopeScheduling

    class ModuleUnits(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return _unit(config.rootpath, nodeid)

    config.option.loadscopereorder = False  # keep the order of the collection (by number of tests otherwise)
    return ModuleUnits(config, log)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node) -> None:
    """Tell the workers (whose options say ``--dist no``) to order their collection for the module units."""
    if _sharing_modules(node.config):
        node.workerinput["module_units"] = True


#: Estimated cost of a test for ordering the units: marked ``slow`` (more than a few seconds) or not.
SLOW_COST, TEST_COST = 5.0, 0.1


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """In an xdist worker, order the units longest first (estimated from the ``slow`` marks and the number
    of tests); the tests of a unit keep their order."""
    if not getattr(config, "workerinput", {}).get("module_units"):
        return
    cost: dict[str, float] = {}
    for item in items:
        unit = _unit(config.rootpath, item.nodeid)
        cost[unit] = cost.get(unit, 0.0) + (SLOW_COST if item.get_closest_marker("slow") else TEST_COST)
    first = {unit: i for i, unit in enumerate(cost)}
    items.sort(key=lambda item: (-cost[u := _unit(config.rootpath, item.nodeid)], first[u]))
