"""SIGKILL ``ionscope convert`` and ``ionscope image bin-events`` at random points of their run.

After every kill: no valid-looking partial output (the target is either absent or a complete
output equal to the reference), an existing output is never changed (byte for byte, unless the
complete new one replaced it), and the next write to the same target removes the temporaries the
killed process left and says so on stderr.
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import ionscope

pytestmark = pytest.mark.slow
#: Kills per command; each waits for a fresh process (~1–2 s of start-up on a loaded machine).
KILLS = int(os.environ.get("IONSCOPE_CRASH_KILLS", "3"))


def _tree_hash(path: Path) -> str | None:
    if not (path.exists() or path.is_symlink()):
        return None
    h = hashlib.sha256()
    files = sorted(f for f in path.rglob("*") if f.is_file()) if path.is_dir() else [path]
    for f in files:
        h.update(str(f.relative_to(path) if path.is_dir() else f.name).encode())
        h.update(f.read_bytes())
    return h.hexdigest()


def _leftovers(target: Path) -> list[str]:
    return sorted(p.name for p in target.parent.iterdir() if p.name.startswith(f".{target.name}."))


def _run(args: list[str], kill_after: float | None, *, watch: Path | None = None
         ) -> subprocess.CompletedProcess | None:
    """Run the CLI; with ``kill_after``, SIGKILL it that many seconds after start, or (with ``watch``)
    after the first temporary beside ``watch`` appears, i.e. inside the write."""
    cmd = [sys.executable, "-m", "ionscope", *args]
    if kill_after is None:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if watch is not None:
        while proc.poll() is None and not any(".tmp-" in n for n in _leftovers(watch)):
            time.sleep(0.002)
    time.sleep(kill_after)
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    return None


def _values(path: Path) -> np.ndarray:
    return np.asarray(ionscope.read(path).values)


def _kill_cycle(tmp_path: Path, make_args, name: str) -> None:
    rng = random.Random(f"crash-{name}")  # seeded: the same kill times on every run
    target = tmp_path / f"{name}.zarr"
    t0 = time.perf_counter()
    done = _run(make_args(target, force=False), None)
    total = time.perf_counter() - t0
    assert done.returncode == 0, done.stderr
    reference = _values(target)
    old = tmp_path / f"{name}-old.zarr"
    target.rename(old)
    for k in range(KILLS):
        existed = k % 2 == 1  # alternate: a fresh target, then an existing one to be replaced
        if target.exists():
            shutil.rmtree(target)
        if existed:
            shutil.copytree(old, target)
        before = _tree_hash(target)
        if k % 3 == 2:  # anywhere in the run (start-up, reading, writing, after the rename)
            _run(make_args(target, force=True), kill_after=rng.uniform(0.2, 1.0) * total)
        else:  # inside the write: after the temporary output appeared
            _run(make_args(target, force=True), kill_after=rng.uniform(0.0, 0.25), watch=target)
        after = _tree_hash(target)
        if after is not None and after != before:  # the complete new output replaced the target
            np.testing.assert_array_equal(_values(target), reference)
        elif existed:
            assert after == before, "an existing output was changed by a killed write"
        else:
            assert after is None
        stale = [n for n in _leftovers(target) if ".tmp-" in n or ".old-" in n]
        print(f"{name} kill {k}: existed={existed} replaced={after not in (None, before)} leftovers={stale}")
        if stale:  # the next write cleans what the killed process left, and reports it
            res = _run(make_args(target, force=True), None)
            assert res.returncode == 0, res.stderr
            assert not [n for n in _leftovers(target) if ".tmp-" in n or ".old-" in n]
            assert "left by interrupted process" in res.stderr or "restored" in res.stderr
            np.testing.assert_array_equal(_values(target), reference)


def test_kill_convert(tmp_path: Path) -> None:
    import tifffile

    src = tmp_path / "stack.tif"
    tifffile.imwrite(src, np.random.default_rng(0).integers(0, 255, (64, 256, 256), dtype=np.uint8))

    def args(target: Path, force: bool) -> list[str]:
        return ["convert", str(src), str(target), *(["--force"] if force else [])]

    _kill_cycle(tmp_path, args, "convert")


def test_kill_bin_events(tmp_path: Path) -> None:
    from ionscope.io.grd import write_grd

    rng = np.random.default_rng(1)
    n = 1_000_000
    rec = np.stack([np.sort(rng.integers(0, 120, n)), rng.integers(0, 50, n), rng.integers(0, 64, n),
                    rng.integers(0, 64, n), rng.integers(2000, 20000, n)], axis=1)
    grd = write_grd(rec, tmp_path / "run.grd")

    def args(target: Path, force: bool) -> list[str]:
        return ["image", "bin-events", str(grd), "--nx", "64", "--ny", "64", "--k0", "0", "--sf", "1000",
                "--peaks", "7,58,100", "--tolerance", "0.5", "--keep-scans", "--pixel-size", "1um",
                "--out", str(target),
                *(["--force"] if force else [])]

    _kill_cycle(tmp_path, args, "bin_events")
