"""Segmented volume → microstructure metrics: volume fractions, surface areas, TPB density, tortuosity.

Run:  python examples/microstructure.py [VOLUME.tiff|-] [FIGURE_DIR]
Without a file, a three-phase NMC electrode is simulated (ionscope.synth.fibsem). A file must be a
segmented TIFF (one value per phase, at most 8): pore 0, NMC 85 and carbon-binder 170 are named as in the
TauFactor example; other values are named by their label, and the tortuosity is solved for the phase of the
lowest value (the pore phase of most segmentations). Only fractions and tortuosity are printed, which do not
depend on the voxel size. Volume fractions are measured on the whole file; the tortuosity solver runs on its
central sub-volume of at most 64³ voxels (stated in the output), which the example's run time allows:
`ionscope micro metrics` solves the whole volume.
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

#: Edge of the central cube the tortuosity is solved on (voxels): the solver's work grows faster than the
#: voxel count, and 64³ keeps the example to seconds.
TAU_EDGE = 64

#: Phase names of the TauFactor NMC example's labels.
NMC_PHASES = {"pore": 0, "nmc": 85, "cbd": 170}


def phases_of(labels: np.ndarray) -> dict[str, int]:
    """Phase name → label value: the NMC names for the TauFactor labels, else ``phase <value>``."""
    values = np.unique(labels)
    if set(values.tolist()) == set(NMC_PHASES.values()):
        return NMC_PHASES
    if values.size > 8:
        raise SystemExit(f"error: {values.size} distinct values: this example needs a segmented volume "
                         "(one value per phase, at most 8)")
    return {f"phase {v}": int(v) for v in values}


def central(labels: np.ndarray, edge: int) -> tuple[np.ndarray, str]:
    """The central sub-volume of at most ``edge`` voxels per side, and a description of it."""
    if all(n <= edge for n in labels.shape):
        return labels, f"the whole {' × '.join(map(str, labels.shape))} volume"
    sl = tuple(slice((n - min(n, edge)) // 2, (n - min(n, edge)) // 2 + min(n, edge)) for n in labels.shape)
    where = ", ".join(f"{s.start}–{s.stop - 1}" for s in sl)
    return labels[sl], (f"the central {' × '.join(str(s.stop - s.start) for s in sl)} voxels (z, y, x = {where}) of "
                        f"the {' × '.join(map(str, labels.shape))} volume")


path = input_path()
if path is None:
    vol, _ = three_phase_electrode((24, 40, 40), seed=0)
    labels, phases, spacing = np.asarray(vol.values), PHASES, 0.1
else:
    labels = np.asarray(ionscope.read(path).values)
    phases, spacing = phases_of(labels), 0.39
whole = microstructure_metrics(label_volume(labels, phases, spacing), metrics=["fractions"], sizes=False)
print(f"volume fractions of the whole {' × '.join(map(str, labels.shape))} volume:")
for name in phases:
    vf = whole["phases"][name]["volume_fraction"]
    print(f"{name:>9}: volume fraction {format_measurement(vf.value, vf.uncertainty, vf.unit)}")
pore = min(phases, key=phases.get)
sub, where = central(labels, TAU_EDGE)
metrics = microstructure_metrics(label_volume(sub, phases, spacing), metrics=["fractions", "tortuosity"],
                                 tortuosity_phases=[pore], directions=("z",), sizes=False)
print(f"tortuosity solved on {where}"
      + ("" if sub is labels else f" ({pore} fraction there {metrics['phases'][pore]['volume_fraction'].value:.3f})"))
tau = metrics["phases"][pore]["tortuosity"]["z"]
for key, label in (("tortuosity", "tortuosity"), ("relative_diffusivity", "relative diffusivity D_eff/D")):
    q = tau[key]
    print(f"{pore} {label} along z: {format_measurement(q.value, q.uncertainty, q.unit)}")
print(f"  (solver: {tau['iterations']} iterations, relative error {tau['solver_relative_error']:.1e})")

fig, ax = plt.subplots(figsize=(3.5, 3.5))
ax.imshow(labels[labels.shape[0] // 2], cmap="viridis", interpolation="nearest")
ax.set_title("middle slice (phases)")
ax.set_axis_off()
fig.tight_layout()
fig.savefig(figure_dir() / "microstructure.png", dpi=90)
