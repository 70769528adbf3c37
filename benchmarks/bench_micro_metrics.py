"""Whole command: ``ionscope micro metrics`` on the 256³ NMC electrode (README example).

All metrics, three phases, τ in three directions, local thickness of every phase, run as a user
runs it (a fresh process, so import and numba-cache loading count), with the wall time of each
stage read from the command's own progress stages (library call in a second run) and the load
average at the start and end (the machine is shared: figures scale with it).
Run: ``python benchmarks/bench_micro_metrics.py``.
"""

from __future__ import annotations

import contextlib
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import SHARED_DATA, record, table

SHARED_DATA = Path(os.environ.get("IONSCOPE_SHARED_DATA", SHARED_DATA))
VOLUME = SHARED_DATA / "microstructure" / "nmc_electrode_3phase_256.tiff"
ARGS = ["micro", "metrics", str(VOLUME), "--phases", "pore=0,nmc=85,cbd=170", "--spacing", "0.39um", "--json"]


def whole_command() -> dict:
    exe = Path(sys.executable).with_name("ionscope")
    load0 = os.getloadavg()[0]
    t0 = time.perf_counter()
    proc = subprocess.run([str(exe), *ARGS], capture_output=True, text=True, check=True)
    wall = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"run": "ionscope micro metrics (fresh process)", "wall s": wall, "peak MB": peak,
            "load at start": load0, "load at end": os.getloadavg()[0], "json bytes": len(proc.stdout)}


def stages() -> tuple[list[dict], float]:
    import tifffile

    from ionscope.micro.metrics import microstructure_metrics
    from ionscope.micro.phases import label_volume

    rows: list[dict] = []

    class _Task:
        description = ""

        def advance(self, n: float = 1) -> None:
            pass

        def update(self, **kw: object) -> None:
            self.description = str(kw.get("description", self.description))

    @contextlib.contextmanager
    def stage(name: str, total: float | None):
        task, t0 = _Task(), time.perf_counter()
        yield task
        rows.append({"stage": name, "s": time.perf_counter() - t0, "last state": task.description})

    vol = label_volume(tifffile.imread(VOLUME), {"pore": 0, "nmc": 85, "cbd": 170}, 0.39)
    t0 = time.perf_counter()
    microstructure_metrics(vol, stage=stage)
    return rows, time.perf_counter() - t0


def main() -> None:
    whole = whole_command()
    print(whole, flush=True)
    rows, total = stages()
    body = (f"{' '.join(['ionscope', *ARGS[:2], 'nmc_electrode_3phase_256.tiff', *ARGS[3:]])}: τ to a 1 % "
            "accuracy estimate (the default; see `ionscope.micro.tortuosity.DEFAULT_TOL`), fractions and "
            "surfaces with their representativity uncertainty. Before this work: 339 s on an idle machine.\n\n"
            + table([whole]) + f"\n\nStages of a library run in the benchmark process (total {total:.1f} s, load "
            f"average {os.getloadavg()[0]:.1f} at the end):\n\n" + table(rows))
    print(body)
    record("micro_metrics", "micro metrics: the whole README command", body)


if __name__ == "__main__":
    main()
