"""2-D → 3-D generation with the SliceGAN-style generator (``--method slicegan``, ``ml`` extra) on the NMC pair.

The NMC electrode's central xy section (z = 128) trains the generator once (WGAN-GP on 32 px crops, the
CPU-sized network of :mod:`ionscope.micro.generate_slicegan`; ``IONSCOPE_SLICEGAN_ITERATIONS`` generator
steps, default 1500, each after five critic steps); three 128³ volumes are then drawn from it (latent
seeds 0, 1, 2) and measured as in ``bench_generate.py``: fractions, marching-cubes surface area and τ of
the pore phase against the whole 256³ volume. The spread is therefore between realisations of one
trained generator, not between trainings. Times: training (wall and CPU s) on the shared 2-core machine,
with the load average. Run: ``python benchmarks/bench_generate_slicegan.py`` (needs PyTorch).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np
import tifffile

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_generate import SHARED_DATA, _pair
from harness import record, table
from ionscope.micro.generate_slicegan import sample_volume, train_slicegan

ITERATIONS = int(os.environ.get("IONSCOPE_SLICEGAN_ITERATIONS", "1500"))


def main() -> None:
    nmc = tifffile.imread(SHARED_DATA / "microstructure" / "nmc_electrode_3phase_256.tiff")
    ph = {"pore": 0, "nmc": 85, "cbd": 170}
    section = nmc[[128]]
    load0 = os.getloadavg()
    t0, c0 = time.perf_counter(), time.process_time()
    gen, log = train_slicegan(section, list(ph.values()), iterations=ITERATIONS, seed=0)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    history = np.asarray(log["wasserstein_history"])
    rows = _pair(f"NMC, 1 section → 128³, slicegan ({ITERATIONS} steps)", nmc,
                 lambda s: sample_volume(gen, list(ph.values()), (128,) * 3, seed=s), section, ph, 0.39, "pore")
    tail = max(1, ITERATIONS // 10)
    body = (f"`--method slicegan`, trained once on the central xy section of the NMC electrode ({ITERATIONS} "
            f"generator steps, 5 critic steps each, 32 px crops, batch 1, generator width 16): {wall:.0f} s wall / "
            f"{cpu:.0f} s CPU of training, load average {load0[0]:.1f} at the start and {os.getloadavg()[0]:.1f} at "
            f"the end. Critic's Wasserstein estimate: {history[:tail].mean():.3g} over the first and "
            f"{history[-tail:].mean():.3g} over the last {tail} steps. Three 128³ volumes drawn from the trained "
            "generator (mean ± spread between draws); the wall / CPU column here is the drawing only. Same "
            "measures and targets as the default method's table.\n\n" + table(rows))
    record("generate_slicegan", "2-D → 3-D generation by the SliceGAN-style generator (CPU)", body)


if __name__ == "__main__":
    main()
