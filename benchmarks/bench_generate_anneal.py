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

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_generate import section_rows
from harness import record, table


def main() -> None:
    load0 = os.getloadavg()
    rows = section_rows("anneal", ", anneal")
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
