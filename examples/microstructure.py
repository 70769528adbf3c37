"""Segmented volume → microstructure metrics: volume fractions, surface areas, TPB density, tortuosity.

Run:  python examples/microstructure.py [VOLUME.tiff|-] [FIGURE_DIR]
Without a file, a three-phase NMC electrode is simulated (ionscope.synth.fibsem); a file must be a
segmented TIFF with pore 0, NMC 85 and carbon-binder 170 at 0.39 µm voxels (as the TauFactor example).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from _common import figure_dir, input_path

import ionscope
from ionscope.micro.metrics import microstructure_metrics
from ionscope.micro.phases import label_volume
from ionscope.model.text import format_measurement
from ionscope.synth.fibsem import PHASES, three_phase_electrode

path = input_path()
if path is None:
    vol, _ = three_phase_electrode((24, 40, 40), seed=0)
    labels, phases, spacing = np.asarray(vol.values), PHASES, 0.1
else:
    labels = np.asarray(ionscope.read(path).values)[:64, :64, :64]
    phases, spacing = {"pore": 0, "nmc": 85, "cbd": 170}, 0.39
volume = label_volume(labels, phases, spacing)
metrics = microstructure_metrics(volume, tortuosity_phases=["pore"], directions=("z",), sizes=False)
for name in phases:
    vf = metrics["phases"][name]["volume_fraction"]
    print(f"{name:>5}: volume fraction {format_measurement(vf.value, vf.uncertainty, vf.unit)}")
tau = metrics["phases"]["pore"]["tortuosity"]["z"]
for key, label in (("tortuosity", "tortuosity"), ("relative_diffusivity", "relative diffusivity D_eff/D")):
    q = tau[key]
    print(f"pore {label} along z: {format_measurement(q.value, q.uncertainty, q.unit)}")
print(f"  (solver: {tau['iterations']} iterations, relative error {tau['solver_relative_error']:.1e})")

fig, ax = plt.subplots(figsize=(3.5, 3.5))
ax.imshow(labels[labels.shape[0] // 2], cmap="viridis", interpolation="nearest")
ax.set_title("middle slice (phases)")
ax.set_axis_off()
fig.tight_layout()
fig.savefig(figure_dir() / "microstructure.png", dpi=90)
