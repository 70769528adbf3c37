"""2-D → 3-D generation by simulated annealing (``--method anneal``) validated on the real pairs.

The same pairs, seeds and measures as ``bench_generate.py`` (fractions, marching-cubes surface area and
τ of the pore phase against the real volume), for the pluri-Gaussian volume refined by annealing on
S₂, the lineal path, the surface term and the Euler density (2 sweeps, start temperature measured at
1 % uphill acceptance, :mod:`ionscope.micro.generate_anneal`). The 518² ImageRep image is left out:
it is not a section of the stack (``bench_generate.py``). Times are wall and CPU seconds of one
generation, pluri-Gaussian fit included, on a shared machine (load average printed).
Run: ``python benchmarks/bench_generate_anneal.py``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import tifffile

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_generate import SHARED_DATA, _central, _pair
from harness import record, table
from ionscope.micro.generate import generate, generate_anisotropic


def main() -> None:
    d = SHARED_DATA / "microstructure"
    load0 = os.getloadavg()
    nmc = tifffile.imread(d / "nmc_electrode_3phase_256.tiff")
    ph = {"pore": 0, "nmc": 85, "cbd": 170}
    cube = (128,) * 3
    one, planes = nmc[[128]], _central(nmc)
    rows = _pair("NMC, 1 section → 128³, anneal", nmc,
                 lambda s: generate(one, ph, cube, r_max=64, seed=s, method="anneal")[0], one, ph, 0.39, "pore")
    four = nmc[[32, 96, 160, 224]]
    rows += _pair("NMC, 4 sections → 128³, anneal", nmc,
                  lambda s: generate(four, ph, cube, r_max=64, seed=s, method="anneal")[0], four, ph, 0.39, "pore")
    rows += _pair("NMC, --xy/--xz/--yz → 128³, anneal", nmc,
                  lambda s: generate_anisotropic(planes, ph, cube, r_max=64, seed=s, method="anneal")[0],
                  np.stack(list(planes.values())), ph, 0.39, "pore")
    stack = tifffile.imread(d / "three_phase_stack_100.tiff")
    ph3 = {"phase0": 0, "phase127": 127, "phase254": 254}
    cube3 = (100,) * 3
    secs, planes3 = stack[[12, 37, 62, 87]], _central(stack)
    rows += _pair("ImageRep stack, 4 sections → 100³, anneal", stack,
                  lambda s: generate(secs, ph3, cube3, r_max=50, seed=s, method="anneal")[0], secs, ph3, 1.0,
                  "phase0")
    rows += _pair("ImageRep stack, --xy/--xz/--yz → 100³, anneal", stack,
                  lambda s: generate_anisotropic(planes3, ph3, cube3, r_max=50, seed=s, method="anneal")[0],
                  np.stack(list(planes3.values())), ph3, 1.0, "phase0")
    load1 = os.getloadavg()
    body = ("`--method anneal`: the default pluri-Gaussian volume refined by simulated annealing of interface "
            "voxels on S₂ and the lineal path along z, y, x (r ≤ 16 px), the surface term S₂(0) − S₂(1) and the "
            "4-connected Euler density of each phase on the planes normal to z, y, x; 2 sweeps, start "
            "temperature measured on 2000 trial swaps at 1 % uphill acceptance, falling 10³-fold. Three seeds "
            "per row (mean ± spread). Same measures and targets as the default method's table. Wall and CPU "
            "seconds per generation (fit included) on a shared 2-core machine; load average (1 / 5 / 15 min) "
            f"{load0[0]:.1f} / {load0[1]:.1f} / {load0[2]:.1f} at the start and {load1[0]:.1f} / {load1[1]:.1f} / "
            f"{load1[2]:.1f} at the end, per row in the last column.\n\n" + table(rows))
    record("generate_anneal", "2-D → 3-D generation by annealing against real volumes", body)


if __name__ == "__main__":
    main()
