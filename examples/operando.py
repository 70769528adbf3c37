"""Operando series + cycling log → capacity, per-particle reversibility and classes.

Run:  python examples/operando.py [-] [FIGURE_DIR]
A solid-state cell is simulated (ionscope.synth.operando, after Xing et al. 2026, ACS Energy Lett. 11,
1889, doi:10.1021/acsenergylett.5c03610); its particles are reversible, sluggish or irreversible.
"""

from __future__ import annotations

from _common import figure_dir

from ionscope.model.text import format_measurement
from ionscope.operando.analysis import analyze_operando
from ionscope.operando.figures import region_trajectories
from ionscope.synth.operando import operando_cell

(series, log), truth = operando_cell(seed=0)
result = analyze_operando(series, log, labels=truth.truth["labels"], species=["^58Ni+"], area_cm2=0.2)
values = result.result.values
for c in values["capacity"]["cycles"]:
    print(f"cycle {c['cycle']}: charge {format_measurement(c['charge_uAh'].value, None, 'µAh')}, "
          f"discharge {format_measurement(c['discharge_uAh'].value, None, 'µAh')}")
agree = sum(r["class"] == t for r, t in zip(result.regions, truth.truth["classes"]))
print(f"{agree} of {len(result.regions)} particles classified as simulated")

fig = region_trajectories(result)
fig.savefig(figure_dir() / "operando.png", dpi=90)
